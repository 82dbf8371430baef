"""The app launched in-process on tiny stand-in checkpoints and driven through gradio_client,
as an API user would: comparisons, downloads, errors, uploads."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

pytestmark = pytest.mark.slow  # serves the app over HTTP and drives it with gradio_client

BASE, TUNED = "base (shipped)", "easytune (shipped)"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("app")
    with serve(root, default_steps=10, data_dir=root / "data", mcp_server=True) as (url, demo):
        yield {"url": url, "root": root, "demo": demo}


@pytest.fixture(scope="module")
def client(served):
    """One API user for the module (a Client costs a round of API discovery); tests that need a fresh
    session make their own."""
    return Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads"))


def compare(client, prompt="a person walks forward", seconds=3.0, seed=7, guidance=2.5, steps=10, a=BASE, b=TUNED):
    return client.predict(prompt, seconds, seed, guidance, steps, a, b, api_name="/compare")


def _is_glb(path) -> bool:
    head = Path(path).read_bytes()[:12]
    return head[:4] == b"glTF" and int.from_bytes(head[4:8], "little") == 2


def test_compare_returns_two_animated_glbs_scores_and_downloads(client):
    glb_a, glb_b, scores, files_a, files_b, status = compare(client)
    assert _is_glb(glb_a) and _is_glb(glb_b)
    gltf = json.loads(Path(glb_a).read_bytes()[20:20 + int.from_bytes(Path(glb_a).read_bytes()[12:16], "little")])
    assert gltf.get("animations"), "the GLB must be animated for gr.Model3D to play it"
    rows = scores["data"]
    assert [r[:2] for r in rows] == [["A", BASE], ["B", TUNED]]
    for row in rows:
        reward, distance = row[2], row[3]
        assert -1.0 <= float(reward) <= 1.0 and float(distance) >= 0.0
    names_a = sorted(Path(p).name for p in files_a)
    assert names_a == ["motion_A.bvh", "motion_A.glb", "motion_A_features.npy", "motion_A_joints.npy",
                       "motion_A_smpl.npz"]
    bvh = Path(next(p for p in files_a if p.endswith(".bvh"))).read_text()
    assert bvh.startswith("HIERARCHY") and "Frames: 60" in bvh
    npz = np.load(next(p for p in files_a if p.endswith(".npz")))
    assert npz["poses"].shape[0] == 60 and float(npz["mocap_framerate"]) == 20.0
    joints = np.load(next(p for p in files_a if p.endswith("_joints.npy")))
    feats = np.load(next(p for p in files_a if p.endswith("_features.npy")))
    assert joints.shape == (60, 22, 3) and feats.shape == (60, 263) and np.isfinite(joints).all()
    assert "Seed 7" in status and "same noise" in status


def test_same_checkpoint_on_both_sides_gives_identical_motions_and_seed_matters(client):
    # Both sides start from the same initial noise: the same model on A and B must agree exactly.
    _, _, _, files_a, files_b, _ = compare(client, seed=11, a=BASE, b=BASE)
    ja = np.load(next(p for p in files_a if p.endswith("_joints.npy")))
    jb = np.load(next(p for p in files_b if p.endswith("_joints.npy")))
    np.testing.assert_array_equal(ja, jb)
    _, _, _, files_c, _, _ = compare(client, seed=12, a=BASE, b=BASE)
    jc = np.load(next(p for p in files_c if p.endswith("_joints.npy")))
    assert not np.allclose(ja, jc)


@pytest.mark.parametrize("change, message", [
    ({"prompt": ""}, "prompt is empty"),
    ({"prompt": "   "}, "prompt is empty"),
    ({"prompt": "x" * 401}, "at most 400"),
    ({"seconds": 0.5}, "between 1.0 and 9.8 seconds"),
    ({"seconds": 12}, "between 1.0 and 9.8 seconds"),
    ({"seed": -1}, "seed must be between 0"),
    ({"seed": 1.5}, "whole number"),
    ({"steps": 0}, "diffusion steps must be"),
    ({"guidance": -1}, "guidance must be"),
    ({"a": "no-such-model"}, "checkpoint A must be one of"),
])
def test_bad_inputs_are_answered_with_what_to_fix(client, change, message):
    with pytest.raises(AppError, match=message):
        compare(client, **change)


def test_video_before_any_comparison_says_generate_first(served):
    newcomer = Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads_new"))
    with pytest.raises(AppError, match="Generate"):
        newcomer.predict(api_name="/render_video")


def test_video_of_both_bodies_after_a_comparison(client):
    import imageio

    compare(client, seconds=1.0)
    video = client.predict(api_name="/render_video")
    path = video["video"] if isinstance(video, dict) else video
    assert Path(path).suffix == ".mp4"
    reader = imageio.get_reader(path)
    n = sum(1 for _ in reader)
    width, height = reader.get_meta_data()["size"]
    assert n == 20 and width > height  # 1 s at 20 fps; two panels side by side


def _tiny_checkpoint(folder: Path) -> Path:
    from tests.support.standins import build_tiny_assets

    build_tiny_assets(folder, seed=5)
    return folder / "checkpoints" / "base"


def test_uploaded_zip_checkpoint_becomes_selectable(client, served, tmp_path):
    ckpt = _tiny_checkpoint(tmp_path / "mine")
    zpath = tmp_path / "mine.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in ckpt.iterdir():
            z.write(f, f"my_run/{f.name}")
    _, _, note = client.predict([handle_file(str(zpath))], api_name="/upload_checkpoint")
    name = note.split("**")[1]
    assert name.startswith("upload: ")
    glb_a, glb_b, scores, *_ = compare(client, a=BASE, b=name)
    assert _is_glb(glb_b) and scores["data"][1][1] == name
    # An upload belongs to the session that made it: another user cannot pick it.
    stranger = Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads2"))
    with pytest.raises(AppError, match="checkpoint B must be one of"):
        compare(stranger, a=BASE, b=name)


@pytest.mark.parametrize("files, message", [
    ({"weights.pt": b"\x80\x04pickle"}, "only as an MDM checkpoint with its args.json"),
    ({"weights.bin": b"\x80\x04pickle"}, "formats"),  # gradio's file-type gate names the accepted ones
    ({"model.safetensors": b"garbage-bytes-here", "config.json": b'{"kind": "denoiser", "config": {}}'}, "not a safetensors file"),
    ({"model.safetensors": None, "config.json": b"{not json"}, "not valid JSON"),
    ({"model.safetensors": None, "config.json": b'{"kind": "reward", "config": {}}'}, "upload a motion generator"),
    ({"model.safetensors": None}, "config.json is missing"),
])
def test_foreign_or_corrupt_uploads_are_refused(client, tmp_path, files, message):
    good = _tiny_checkpoint(tmp_path / "ref")
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes((good / "model.safetensors").read_bytes() if data is None else data)
        paths.append(handle_file(str(path)))
    with pytest.raises(AppError, match=message):
        client.predict(paths, api_name="/upload_checkpoint")


def test_zip_with_pickled_weights_is_refused_without_unpickling(client, tmp_path):
    buf = tmp_path / "pickled.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("run/model.pt", b"\x80\x04not really a pickle")
        z.writestr("run/config.json", "{}")
    with pytest.raises(AppError, match="pickled.*not accepted.*safetensors"):
        client.predict([handle_file(str(buf))], api_name="/upload_checkpoint")


def test_zip_with_mismatched_weights_is_refused(client, tmp_path):
    ckpt = _tiny_checkpoint(tmp_path / "bad")
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["config"]["width"] = 64  # weights were saved for width 32
    buf = tmp_path / "bad.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.write(ckpt / "model.safetensors", "model.safetensors")
        z.write(ckpt / "stats.safetensors", "stats.safetensors")
        z.writestr("config.json", json.dumps(cfg))
    with pytest.raises(AppError):
        client.predict([handle_file(str(buf))], api_name="/upload_checkpoint")


def _tiny_dataset(folder: Path) -> None:
    """42 test + 28 train motions (a rest pose sliding forward, with jitter) in HumanML3D layout."""
    from easytune_core.data.layout import write_humanml3d_folder
    from easytune_core.motion import HUMANML3D

    rng = np.random.default_rng(0)
    rest = np.asarray(HUMANML3D.rest_joints(), np.float32)

    def samples():
        for i in range(70):
            joints = np.repeat(rest[None], 60, axis=0)
            joints[:, :, 2] += np.linspace(0.0, 1.0 + i % 3, 60)[:, None]
            yield f"m{i:03d}", joints + rng.normal(0, 0.01, joints.shape).astype(np.float32), [f"a person walks {i % 5}"]

    write_humanml3d_folder(folder, samples(), split_fracs=(0.4, 0.0, 0.6), mirror=False)


def test_evaluate_needs_data_then_shows_base_beside_the_checkpoint(client, served):
    with pytest.raises(AppError, match="prepare-data"):
        client.predict(TUNED, 32, 1, api_name="/evaluate")
    with pytest.raises(AppError, match="multiple of 32"):
        client.predict(TUNED, 40, 1, api_name="/evaluate")
    _tiny_dataset(served["root"] / "data")
    table, note = client.predict(TUNED, 32, 1, api_name="/evaluate")
    assert table["headers"][:2] == ["model", "R-Precision top-1"]
    models = [row[0] for row in table["data"]]
    assert models == ["real motion (test split)", BASE, TUNED]
    for row in table["data"]:
        top1, top2, top3 = (float(v) for v in row[1:4])
        assert 0.0 <= top1 <= top2 <= top3 <= 1.0
        assert float(row[5]) >= 0.0  # MM-Dist
    assert "32 test captions" in note


API_NAMES = ("compare", "compare_view", "compare_details", "compare_live", "render_video", "upload_checkpoint",
             "finetune_start", "finetune_status", "finetune_cancel", "evaluate", "edit", "compose", "takes")


def test_the_api_is_exactly_the_documented_names(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names == {f"/{api}" for api in API_NAMES}  # UI plumbing (timer, dice, refreshes) stays private
    for source in Path(__file__).resolve().parent.parent.joinpath("app").glob("*.py"):
        assert "api_name=False" not in source.read_text(), f"{source.name}: use api_visibility='private'"


def test_finetune_status_is_a_typed_api_endpoint(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/finetune_status"]
    assert [p["parameter_name"] for p in info["parameters"]] == ["job_id"]
    assert info["parameters"][0]["parameter_has_default"] and info["parameters"][0]["python_type"]["type"] == "str"
    st = client.predict("", api_name="/finetune_status")  # no job yet: the idle state, as a plain dict
    assert st["state"] == "idle" and st["files"] == [] and "No fine-tuning job yet" in st["text"]
    with pytest.raises(AppError, match="no job with id 'job999'"):
        client.predict("job999", api_name="/finetune_status")


def test_the_api_is_also_an_mcp_server_with_tools_named_after_it(served):
    import httpx

    response = httpx.get(served["url"].rstrip("/") + "/gradio_api/mcp/schema", timeout=30)
    assert response.status_code == 200
    tools = {t["name"]: t for t in response.json()}
    assert set(tools) == set(API_NAMES)
    assert set(tools["compare"]["inputSchema"]["properties"]) == {"prompt", "seconds", "seed", "guidance", "steps",
                                                                  "ckpt_a", "ckpt_b"}
    assert "job_id" in tools["finetune_status"]["inputSchema"]["properties"]
    assert tools["finetune_status"]["description"].startswith("State of a fine-tuning job")



def test_two_users_comparing_at_once_get_their_own_files(served):
    users = [Client(served["url"], verbose=False, download_files=str(served["root"] / f"dl_{i}")) for i in range(2)]
    jobs = [u.submit("a person walks forward", 2.0, seed, 2.5, 5, BASE, TUNED, api_name="/compare")
            for u, seed in zip(users, (21, 22))]
    results = [j.result(timeout=120) for j in jobs]
    joints = [np.load(next(p for p in r[3] if p.endswith("_joints.npy"))) for r in results]
    assert results[0][5].startswith("Seed 21") and results[1][5].startswith("Seed 22")
    assert not np.allclose(joints[0], joints[1])
    # Each request wrote into its own folder under its own session.
    folders = [p.parent for p in (served["root"] / "outputs").glob("*/*/motion_A.glb")]
    assert len(set(folders)) == len(folders) >= 2
