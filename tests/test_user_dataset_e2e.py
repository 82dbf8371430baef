"""Every command on a user's HumanML3D / KIT-ML folder: the tiny published-layout folders in
tests/data (tiny_humanml3d: 263-d, 22 joints, 20 fps; tiny_kitml: 251-d, 21 joints, 12.5 fps)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.cli import main

DATA = Path(__file__).parent / "data"
T2M = DATA / "t2m"


def _copy(name: str, tmp_path: Path) -> Path:
    # commands write caches into the data folder (<data>/.cache): never into tests/data
    dst = tmp_path / name
    shutil.copytree(DATA / name, dst)
    return dst


def _kit_t2m_evaluator(root: Path) -> Path:
    """A random-weight KIT-ML T2M evaluator saved in the published layout (checkpoints/kit)."""
    from easytune_core.eval.t2m import T2MConfig, T2MEvaluator
    torch.manual_seed(0)
    ev = T2MEvaluator(T2MConfig(feature_dim=251, movement_hidden=16, movement_latent=8, motion_hidden=16,
                                text_hidden=16, embed_dim=8))
    folder = root / "checkpoints" / "kit"
    (folder / "text_mot_match" / "model").mkdir(parents=True)
    (folder / "Comp_v6_KLD005" / "meta").mkdir(parents=True)
    torch.save({p: getattr(ev, p).state_dict() for p in ("movement_encoder", "text_encoder", "motion_encoder")}
               | {"epoch": 1}, folder / "text_mot_match" / "model" / "finest.tar")
    np.save(folder / "Comp_v6_KLD005" / "meta" / "mean.npy", np.zeros(251, np.float32))
    np.save(folder / "Comp_v6_KLD005" / "meta" / "std.npy", np.ones(251, np.float32))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name, dim, joints, fps", [("tiny_humanml3d", 263, 22, 20.0), ("tiny_kitml", 251, 21, 12.5)])
def test_every_command_on_a_user_folder(tmp_path, capsys, name, dim, joints, fps):
    data = _copy(name, tmp_path)
    r = tmp_path / "runs"
    run = lambda *argv: main([str(a) for a in argv])  # noqa: E731

    # train-base: the model takes the folder's feature size and frame rate
    assert run("train-base", "--data", data, "--out", r / "base", "--steps", 4, "--width", 32, "--layers", 1,
               "--heads", 2, "--ff", 64, "--batch-size", 8, "--val-every", 2, "--ckpt-every", 4, "--warmup", 1,
               "--quiet", "--threads", 1) == 0
    cfg = json.loads((r / "base" / "config.json").read_text())["config"]
    assert cfg["feature_dim"] == dim and cfg["fps"] == fps

    # train-reward, then SPL on top of it
    common = ["--data", data, "--batch-size", 8, "--width", 16, "--layers", 1, "--embed-dim", 8, "--threads", 1,
              "--log-every", 1, "--eval-split", "test"]
    assert run("train-reward", *common, "--out", r / "reward0", "--steps", 3) == 0
    assert run("train-reward", *common, "--spl", "--init", r / "reward0", "--out", r / "reward", "--steps", 2,
               "--spl-k", 3) == 0

    # train-evaluator
    assert run("train-evaluator", "--data", data, "--out", r / "evaluator", "--steps", 3, "--batch-size", 8,
               "--hidden", 16, "--movement-dim", 16, "--embed-dim", 8, "--threads", 1, "--log-every", 1) == 0

    # sample: joints (T, J, 3) in metres at the folder's frame rate
    out = tmp_path / "motion.npy"
    assert run("sample", "--prompt", "a person walks forward", "--seconds", 2.4, "--checkpoint", r / "base",
               "--steps", 3, "--out", out, "--quiet", "--device", "cpu") == 0
    j = np.load(out)
    assert j.shape == (round(2.4 * fps), joints, 3) and np.abs(j).max() < 20  # metres, not millimetres
    assert np.load(tmp_path / "motion_features.npy").shape == (round(2.4 * fps), dim)

    # render/export the generated motion: GLB, BVH, SMPL NPZ (mp4 in the render tests)
    for ext in (".glb", ".bvh", ".npz"):
        assert run("render", "--input", out, "--out", tmp_path / f"motion{ext}") == 0
    assert f"Frame Time: {1 / fps:.6f}" in (tmp_path / "motion.bvh").read_text()

    # finetune (EasyTune) from the folder's train prompts
    assert run("finetune", "--method", "easytune", "--base", r / "base", "--reward", r / "reward", "--data", data,
               "--out", r / "ft", "--steps", 2, "--batch-size", 2, "--sampler-steps", 4, "--select", "last:2",
               "--max-frames", 40, "--keep-every", 1, "--precision", "fp32", "--device", "cpu", "--threads", 1) == 0
    assert (r / "ft" / "checkpoint" / "model.safetensors").is_file()

    # evaluate with the project's evaluator (split 'all': the folder is too small for 32 test pairs)
    js = tmp_path / "eval.json"
    assert run("evaluate", "--checkpoint", r / "ft" / "checkpoint", "--evaluator", r / "evaluator", "--data", data,
               "--split", "all", "--repeats", 1, "--steps", 2, "--mm-prompts", 0, "--json", js, "--device", "cpu") == 0
    res = json.loads(js.read_text())
    assert res["settings"]["pairs"] == 35 and res["evaluator_info"]["kind"] == "easytune"
    assert not res["evaluator_info"]["comparable_with_published"]

    # evaluate with the T2M evaluator (random weights of the published architecture)
    t2m_dir = T2M / "t2m_eval" / "t2m" if dim == 263 else _kit_t2m_evaluator(tmp_path)
    assert run("evaluate", "--checkpoint", r / "base", "--evaluator", f"t2m:{t2m_dir}", "--glove", T2M / "glove",
               "--data", data, "--split", "all", "--repeats", 1, "--steps", 2, "--mm-prompts", 2, "--mm-repeats", 3,
               "--json", js, "--device", "cpu") == 0
    res = json.loads(js.read_text())
    info = res["evaluator_info"]
    assert info["kind"] == "t2m" and info["token_sources"] == {"dataset": 35}
    # the evaluator and tokens are the published ones, but a run on split 'all' is not the published protocol
    assert not info["comparable_with_published"] and "not this run, though: the split is not test" in info["note"]
    assert np.isfinite(res["generated"]["fid"]["mean"]) and 0 <= res["real"]["r_precision"]["mean"][2] <= 1

    # select among the fine-tuning snapshots (rules + evaluator on held-out captions)
    assert run("select", r / "ft", "--base", r / "base", "--evaluator", r / "evaluator", "--data", data,
               "--split", "all", "--rule-captions", 4, "--eval-prompts", 32, "--steps", 2, "--precision", "fp32",
               "--device", "cpu", "--fid-tolerance", 100, "--rule-tolerance", 1) == 0
    assert json.loads((r / "ft" / "selection.json").read_text())["chosen"]
    # ... or with the T2M evaluator
    assert run("select", r / "ft", "--base", r / "base", "--evaluator", f"t2m:{t2m_dir}", "--glove", T2M / "glove",
               "--data", data, "--split", "all", "--rule-captions", 4, "--eval-prompts", 32, "--steps", 2,
               "--precision", "fp32", "--device", "cpu", "--fid-tolerance", 100, "--rule-tolerance", 1,
               "--out", tmp_path / "sel_t2m") == 0
    assert json.loads((tmp_path / "sel_t2m.json").read_text())["chosen"]
    capsys.readouterr()


def test_t2m_evaluate_refuses_mismatched_data(tmp_path, capsys):
    data = _copy("tiny_kitml", tmp_path)
    assert main(["evaluate", "--checkpoint", "assets/checkpoints/base", "--evaluator", f"t2m:{T2M / 't2m_eval' / 't2m'}",
                 "--glove", str(T2M / "glove"), "--data", str(data)]) == 2
    assert "251-d" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", "assets/checkpoints/base", "--evaluator", f"t2m:{T2M / 't2m_eval' / 't2m'}",
                 "--data", str(_copy("tiny_humanml3d", tmp_path))]) == 2
    assert "--glove" in capsys.readouterr().err
