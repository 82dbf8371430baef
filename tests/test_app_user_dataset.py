"""The app on a user's HumanML3D / KIT-ML folder (tests/data/tiny_*): models of that format in
Compare (GLB, BVH, NPZ at the folder's frame rate), the Evaluate tab on the folder, and a
fine-tuning job on its train split."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

DATA = Path(__file__).parent / "data"
BASE, TUNED = "base (shipped)", "easytune (shipped)"


def _assets(root: Path, data: Path, fps: float) -> Path:
    """Tiny random checkpoints of the folder's format (feature size, frame rate, its own stats)."""
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
    from easytune_core.eval.model import Evaluator, EvaluatorConfig
    from easytune_core.reward import RewardConfig, RewardModel

    mean, std = np.load(data / "Mean.npy"), np.load(data / "Std.npy") * 0.1
    dim = int(mean.shape[0])
    ck = root / "checkpoints"
    for i, name in enumerate(("base", "easytune")):
        torch.manual_seed(i)
        cfg = DenoiserConfig(feature_dim=dim, width=32, layers=1, heads=2, ff=64, fps=fps)
        save_checkpoint(ck / name, MotionDenoiser(cfg), cfg, "denoiser", mean, std)
    rcfg = RewardConfig(feature_dim=dim, width=32, layers=1, heads=2, ff=64, embed_dim=16)
    save_checkpoint(ck / "reward", RewardModel(rcfg), rcfg, "reward", mean, std)
    ecfg = EvaluatorConfig(feature_dim=dim, movement_dim=16, hidden=16, embed_dim=16)
    save_checkpoint(ck / "evaluator", Evaluator(ecfg), ecfg, "evaluator", mean, std)
    (root / "examples.txt").write_text("a person walks forward\n", encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name, fps, joints", [("tiny_humanml3d", 20.0, 22), ("tiny_kitml", 12.5, 21)])
def test_app_on_a_user_folder(tmp_path, name, fps, joints):
    from tests.support.app_server import serve

    data = tmp_path / "data"
    shutil.copytree(DATA / name, data)
    # the Evaluate tab scores the test split in groups of 32: hold every clip out in this copy
    shutil.copy(data / "all.txt", data / "test.txt")
    assets = _assets(tmp_path / "assets", data, fps)
    with serve(tmp_path, assets_dir=assets, data_dir=data, default_steps=4, timer_s=0.5) as (url, _):
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        glb_a, glb_b, scores, files_a, files_b, status = client.predict(
            "a person walks forward", 2.4, 0, 2.5, 4, BASE, TUNED, api_name="/compare")
        assert Path(glb_a).read_bytes()[:4] == b"glTF"
        npz = np.load(next(p for p in files_a if p.endswith(".npz")))
        n = round(2.4 * fps)
        assert npz["poses"].shape[0] == n and float(npz["mocap_framerate"]) == fps
        assert np.load(next(p for p in files_a if p.endswith("_joints.npy"))).shape == (n, joints, 3)
        assert f"Frame Time: {1 / fps:.6f}" in Path(next(p for p in files_a if p.endswith(".bvh"))).read_text()
        for row in scores["data"]:
            assert row[2] not in (None, "", "-")  # reward and evaluator of this format scored it

        # takes count frames at the model's own rate too
        glb, files, pick, status = client.predict("a person walks forward", 2.4, 0, 2.5, 4, BASE, 2, api_name="/takes")
        assert Path(glb).read_bytes()[:4] == b"glTF"
        assert np.load(next(p for p in files if p.endswith("take1_joints.npy"))).shape == (n, joints, 3)

        table, note = client.predict(TUNED, 32, 1, api_name="/evaluate")
        assert [r[0] for r in table["data"]] == ["real motion (test split)", BASE, TUNED]

        job, text = client.predict("Fine-tune the generator", "easytune", BASE, "Train split of the built-in dataset",
                                   "", 2, 1e-4, 2, "uniform", "LoRA", 4, 4, "user-data", api_name="/finetune_start")
        deadline, st = time.time() + 120, {"state": "queued"}
        while time.time() < deadline and st["state"] in ("queued", "running"):
            st = client.predict(job, api_name="/finetune_status")
            time.sleep(0.5)
        assert st["state"] == "finished", st
        assert all(np.isfinite(e["reward"]) for e in st["events"])
