"""The app's /edit, /compose and /takes through gradio_client on tiny stand-in checkpoints: results,
exports, shared noise, and bad inputs answered with what to fix while the app keeps serving."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

pytestmark = pytest.mark.slow  # serves the app over HTTP and drives it with gradio_client

BASE, TUNED = "base (shipped)", "easytune (shipped)"
PATH = [[0, 0, 0], [2, 0, 2], [4, -1.5, 3]]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("app_edit")
    _tiny_dataset(root / "data")
    with serve(root, default_steps=4, data_dir=root / "data") as (url, demo):
        yield {"url": url, "root": root, "demo": demo}


@pytest.fixture(scope="module")
def client(served):
    return Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads"))


def _tiny_dataset(folder: Path) -> None:
    from easytune_core.data.layout import write_humanml3d_folder

    from _render_helpers import walk_joints

    def samples():
        for i in range(6):
            yield f"m{i:03d}", walk_joints(61 + 5 * i), [f"a person walks forward {i}"]

    write_humanml3d_folder(folder, samples(), split_fracs=(0.5, 0.0, 0.5), mirror=False)


def _source_file(tmp_path: Path, frames: int = 61) -> Path:
    from _render_helpers import walk_joints

    path = tmp_path / "walk.npy"
    np.save(path, walk_joints(frames))
    return path


def edit(client, source="file upload", upload=None, example=None, src_start=None, src_end=None, preset="in-between",
         keep=None, out_frames=None, range_start=None, range_end=None, path=PATH, prompt="a person jumps", seed=3,
         guidance=2.5, steps=4, a=BASE, b=TUNED):
    return client.predict(source, upload, example, src_start, src_end, preset, keep, out_frames, range_start, range_end,
                          {"headers": ["t (s)", "x (m)", "z (m)"], "data": path}, prompt, seed, guidance, steps, a, b,
                          api_name="/edit")


def _feats(files):
    return np.load(next(p for p in files if p.endswith("_features.npy")))


def test_in_between_keeps_both_ends_exactly_with_both_checkpoints(client, tmp_path):
    from easytune_core.edit.source import load_source

    src_file = _source_file(tmp_path)
    src = load_source(src_file)  # (60, 263)
    glb_a, glb_b, files_a, files_b, _, status = edit(client, upload=handle_file(str(src_file)), keep=12)
    assert Path(glb_a).read_bytes()[:4] == b"glTF" and Path(glb_b).read_bytes()[:4] == b"glTF"
    for files in (files_a, files_b):
        f = _feats(files)
        assert f.shape == (60, 263)
        np.testing.assert_array_equal(f[:12], src[:12])
        np.testing.assert_array_equal(f[48:], src[48:])
        assert sorted(Path(p).suffix for p in files) == [".bvh", ".glb", ".npy", ".npy", ".npz"]
    assert "in-between: 60 frames, 24 kept" in status and "Seams at frames 12, 48" in status
    # the same checkpoint on both sides: the same noise gives the same edit
    _, _, fa, fb, _, _ = edit(client, upload=handle_file(str(src_file)), keep=12, a=BASE, b=BASE)
    np.testing.assert_array_equal(_feats(fa), _feats(fb))


def test_upper_body_edit_of_a_dataset_example_and_of_the_last_comparison(client, served):
    from easytune_core.edit.masks import lower_body_channels, upper_body_channels, upper_body_pose_channels
    from easytune_core.edit.source import dataset_source

    _, _, files_a, _, _, status = edit(client, source="dataset example", example="m001: a person walks forward 1",
                                       preset="upper body")
    src = dataset_source(served["root"] / "data", "m001")
    f = _feats(files_a)
    assert "upper body" in status and f.shape == src.shape
    np.testing.assert_array_equal(f[:, lower_body_channels()], src[:, lower_body_channels()])  # legs kept
    assert not np.allclose(f[:, upper_body_channels()], src[:, upper_body_channels()])
    # last generated: after a comparison in this session, the Edit tab takes its side A
    _, _, _, cmp_a, _, _ = client.predict("a person walks forward", 2.0, 1, 2.5, 4, BASE, TUNED, api_name="/compare")
    _, _, files_a, _, _, status = edit(client, source="last generated", preset="lower body", prompt="")
    f, src = _feats(files_a), _feats(cmp_a)
    assert f.shape == (40, 263) and "without text" in status
    np.testing.assert_array_equal(f[:, upper_body_pose_channels()], src[:, upper_body_pose_channels()])


def test_path_edit_follows_the_path_and_draws_it(client):
    glb_a, _, files_a, _, image, status = edit(client, source="last generated", preset="path (draw a root path)",
                                              prompt="a person walks")
    joints = np.load(next(p for p in files_a if p.endswith("_joints.npy")))
    assert joints.shape == (81, 22, 3)  # 4 s path, 20 fps, both ends
    assert np.allclose(joints[0, 0, [0, 2]], 0, atol=1e-5) and np.allclose(joints[-1, 0, [0, 2]], [-1.5, 3], atol=0.05)
    assert image and Path(image if isinstance(image, str) else image["path"]).exists()
    assert "path: 81 frames" in status


@pytest.mark.parametrize("change, message", [
    (dict(source="file upload", upload=None), "no file uploaded"),
    (dict(preset="frames", range_start=50, range_end=90), "between 1 and 60 frames, got 90"),
    (dict(preset="frames", range_start=None, range_end=None), "needs a frame range"),
    (dict(src_start=70, src_end=90), "outside walk.npy"),
    (dict(preset="path (draw a root path)", path=[[0, 0, 0], [1, "nan", 1]]), "NaN"),
    (dict(preset="path (draw a root path)", path=[[0, 0, 0]]), "at least 2 points"),
    (dict(preset="path (draw a root path)", path=[[0, 0, 0], [30, 0, 20]]), "shorten the path"),
    (dict(preset="sideways"), "choose what to keep"),
    (dict(prompt="x" * 401), "at most 400"),
    (dict(seed=-4), "seed must be between 0"),
    (dict(a="nope"), "checkpoint A must be one of"),
])
def test_bad_edits_are_answered_with_what_to_fix(client, tmp_path, change, message):
    args = dict(upload=handle_file(str(_source_file(tmp_path))))
    args.update(change)
    if args.get("upload") is None:
        args.pop("upload")
    with pytest.raises(AppError, match=message):
        edit(client, **args)


def test_corrupt_bvh_is_refused_and_the_app_keeps_serving(client, tmp_path):
    bad = tmp_path / "broken.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition\n")
    with pytest.raises(AppError, match="broken.bvh could not be read as BVH"):
        edit(client, upload=handle_file(str(bad)))
    good = _source_file(tmp_path)
    assert edit(client, upload=handle_file(str(good)))[0]


def timeline(client, rows, seed=5, steps=4, a=BASE, b=TUNED):
    return client.predict({"headers": ["prompt", "seconds"], "data": rows}, seed, 2.5, steps, a, b,
                          api_name="/compose")


def test_compose_a_timeline_longer_than_one_window(client):
    rows = [["a person walks forward", 4], ["a person turns left", 2], ["a person sits down", 8]]
    glb_a, glb_b, files_a, files_b, status = timeline(client, rows)
    for files in (files_a, files_b):
        j = np.load(next(p for p in files if p.endswith("_joints.npy")))
        assert j.shape == (280, 22, 3) and np.isfinite(j).all()
        bvh = Path(next(p for p in files if p.endswith(".bvh"))).read_text()
        assert "Frames: 280" in bvh
    assert "3 segments, 14 s" in status and "'a person sits down' frames 120-280" in status
    # the mp4 of the last result covers the timeline
    video = client.predict(api_name="/render_video")
    assert Path(video["video"] if isinstance(video, dict) else video).stat().st_size > 1000


@pytest.mark.parametrize("rows, message", [
    ([], "the timeline is empty"),
    ([["", None]], "the timeline is empty"),
    ([["a person walks", 0]], "segment 1 lasts 0"),
    ([["a person walks", 2], ["", 3]], "segment 2: the prompt is empty"),
    ([["a person walks", 1]] * 200, "200 segments; at most 32"),
    ([["a person walks", 9]] * 7, "lasts 63 s; at most 60 s"),
    ([["a person walks", "abc"]], "seconds must be a number"),
])
def test_bad_timelines_are_answered_with_what_to_fix(client, rows, message):
    with pytest.raises(AppError, match=message):
        timeline(client, rows)


def test_takes_one_batched_call_each_take_is_its_seed(client, served):
    glb, files, pick, status = client.predict("a person jumps", 2.0, 10, 2.5, 4, BASE, 3, api_name="/takes")
    from easytune_core.render.glb import read_glb

    gltf, _ = read_glb(glb)
    assert len(gltf["skins"]) == 3  # three bodies in one row
    feats = [np.load(p) for p in sorted((f for f in files if f.endswith("_features.npy")), key=lambda f: Path(f).name)]
    assert len(feats) == 3 and all(f.shape == (40, 263) for f in feats)
    assert not np.allclose(feats[0], feats[1])
    assert "seeds 10..12" in status
    # each take scored by the reward model, as the Compare tab scores its sides
    scores = re.search(r"Reward per take \(.*\): 1: (-?[\d.]+), 2: (-?[\d.]+), 3: (-?[\d.]+)\.", status)
    assert scores and all(-1.0 <= float(v) <= 1.0 for v in scores.groups())
    # take 2 is what seed 11 gives alone (same noise; batched arithmetic may differ in the last bits)
    _, _, _, files_a, _, _ = client.predict("a person jumps", 2.0, 11, 2.5, 4, BASE, BASE, api_name="/compare")
    np.testing.assert_allclose(_feats(files_a), feats[1], atol=1e-4)
    with pytest.raises(AppError, match="at most 8 per request"):
        client.predict("a person jumps", 2.0, 10, 2.5, 4, BASE, 50, api_name="/takes")


def test_new_api_names_are_listed(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/edit", "/compose", "/takes", "/compare"} <= names
