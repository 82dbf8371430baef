"""train-reward end to end on a tiny HumanML3D-layout folder with a stand-in text encoder."""

import argparse
import shlex
import json

import numpy as np
import pytest
import torch

from tests.support.fakes import make_tiny_dataset


def _args(module, argv):
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    return p.parse_args(argv)


def test_train_reward_then_spl_round_trip(tmp_path, fake_text):
    from easytune_core.reward import load_reward_model
    from easytune_core.reward import train as rtrain

    data = make_tiny_dataset(tmp_path / "data")
    out = tmp_path / "reward"
    common = ["--data", str(data), "--batch-size", "8", "--width", "16", "--layers", "1", "--embed-dim", "8",
              "--log-every", "1", "--threads", "1"]
    assert rtrain.run(_args(rtrain, common + ["--out", str(out), "--steps", "4"])) == 0
    model = load_reward_model(out, device="cpu")
    assert model.config.text_dim == 16 and not model.training
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["stage"] == "pretrain" and meta["steps"] == 4
    scores = meta["retrieval"]["scores"]
    assert set(scores) == {"clean", "t100", "t250", "t500"}
    for key in scores:
        for proto in ("batch32", "full"):
            r = scores[key][proto]
            assert 0 <= r["t2m"]["1"] <= r["t2m"]["3"] <= 100 and 0 <= r["m2t"]["1"] <= 100
    np.testing.assert_allclose(model.mean.numpy(), np.load(data / "Mean.npy"), rtol=1e-6)

    spl_out = tmp_path / "reward_spl"
    with pytest.raises(ValueError, match="--init"):
        rtrain.run(_args(rtrain, common + ["--out", str(spl_out), "--spl"]))
    assert rtrain.run(_args(rtrain, common + ["--out", str(spl_out), "--spl", "--init", str(out),
                                              "--steps", "3", "--eval-split", ""])) == 0
    spl_model = load_reward_model(spl_out, device="cpu")
    meta2 = json.loads((spl_out / "config.json").read_text())["meta"]
    assert meta2["stage"] == "spl" and meta2["lr"] == 1e-5 and meta2["spl_weight"] == 1e-2
    # the recorded command is the run's configuration as flags: it parses back to the same config
    from easytune_core.cli_config import config_from_args
    prog = "python -m easytune_core train-reward "
    assert meta2["command"].startswith(prog) and "--spl" in meta2["command"] and f"--init {out}" in meta2["command"]
    again = config_from_args(rtrain.RewardTrainConfig, _args(rtrain, shlex.split(meta2["command"][len(prog):])))
    assert again == config_from_args(rtrain.RewardTrainConfig, _args(rtrain, common + [
        "--out", str(spl_out), "--spl", "--init", str(out), "--steps", "3", "--eval-split", ""]))
    assert 0.0 <= meta2["spl_prefer_gt_share"] <= 1.0  # the share of mined "prefer the ground truth" targets
    changed = any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), spl_model.state_dict().values()))
    assert changed


def test_train_reward_missing_data_says_how_to_fix(tmp_path):
    from easytune_core.reward import train as rtrain
    with pytest.raises(FileNotFoundError, match="prepare-data"):
        rtrain.run(_args(rtrain, ["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]))


def test_retrieval_loss_masks_near_duplicates():
    from easytune_core.reward.train import retrieval_loss
    sim = torch.tensor([[0.9, 0.8], [0.8, 0.9]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # identical captions: no negatives left
    assert retrieval_loss(sim, text, 0.1, 0.8).item() == pytest.approx(0.0, abs=1e-6)
    text2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = -torch.log_softmax(torch.tensor([9.0, 8.0]), 0)[0].item()
    assert retrieval_loss(sim, text2, 0.1, 0.8).item() == pytest.approx(expected, rel=1e-5)


def test_retrieval_loss_keeps_near_twins_as_negatives():
    from easytune_core.reward.train import retrieval_loss
    sim = torch.tensor([[0.9, 0.8], [0.8, 0.9]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # captions alike, motions known to differ
    distinct = torch.tensor([[False, True], [True, False]])
    expected = -torch.log_softmax(torch.tensor([9.0, 8.0]), 0)[0].item()
    assert retrieval_loss(sim, text, 0.1, 0.8, distinct).item() == pytest.approx(expected, rel=1e-5)


def test_train_reward_with_twin_batches(tmp_path, fake_text):
    from easytune_core.data.builtin import generate_builtin
    from easytune_core.reward import train as rtrain

    data = tmp_path / "everyday"
    generate_builtin(data, size=40, seed=5, workers=1, world="everyday")
    out = tmp_path / "reward"
    argv = ["--data", str(data), "--batch-size", "8", "--width", "16", "--layers", "1", "--embed-dim", "8",
            "--threads", "1", "--steps", "2", "--eval-split", "", "--twin-share", "0.5"]
    assert rtrain.run(_args(rtrain, argv + ["--out", str(out)])) == 0
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["twin_share"] == 0.5 and meta["steps"] == 2
    assert rtrain.run(_args(rtrain, argv + ["--out", str(tmp_path / "spl"), "--init", str(out), "--spl",
                                            "--spl-k", "1", "--spl-tau", "0.01"])) == 0
    spl_meta = json.loads((tmp_path / "spl" / "config.json").read_text())["meta"]
    assert spl_meta["spl_k"] == 1 and spl_meta["spl_tau"] == 0.01 and spl_meta["spl_threshold"] == 0.8
    # SPL's confidence threshold is its own setting, not the caption-duplicate filter's
    assert rtrain.run(_args(rtrain, argv + ["--out", str(tmp_path / "spl_all_confident"), "--init", str(out),
                                            "--spl", "--spl-threshold", "-1", "--dup-threshold", "0.95"])) == 0
    confident = json.loads((tmp_path / "spl_all_confident" / "config.json").read_text())["meta"]
    assert confident["spl_threshold"] == -1 and confident["spl_prefer_gt_share"] == 0.0  # nothing mined
    with pytest.raises(ValueError, match="spl-threshold"):
        rtrain.RewardTrainConfig(data=str(data), spl_threshold=2.0)
    with pytest.raises(ValueError, match="spl-tau"):
        rtrain.RewardTrainConfig(data=str(data), spl_tau=0.0)
    with pytest.raises(ValueError, match="twin-share"):
        rtrain.RewardTrainConfig(data=str(data), twin_share=2.0)
    plain = make_tiny_dataset(tmp_path / "plain")  # no twin records
    with pytest.raises(ValueError, match="near-twin records"):
        rtrain.run(_args(rtrain, ["--data", str(plain), "--out", str(tmp_path / "x"), "--batch-size", "8",
                                  "--twin-share", "0.5", "--steps", "1", "--width", "16", "--layers", "1"]))


def test_recall_at_k_and_protocols():
    from easytune_core.reward.retrieval import recall_at_k, retrieval_scores
    sim = np.array([[0.9, 0.1, 0.0], [0.5, 0.4, 0.0], [0.1, 0.2, 0.3]])
    r = recall_at_k(sim, ks=(1, 2))
    assert r[1] == pytest.approx(200 / 3) and r[2] == pytest.approx(100.0)
    e = np.eye(64, dtype=np.float32)
    s = retrieval_scores(e, e, "batch32")
    assert s["t2m"][1] == 100.0 and s["m2t"][1] == 100.0 and s["n"] == 64
    with pytest.raises(ValueError, match="at least 32"):
        retrieval_scores(e[:10], e[:10], "batch32")
    # hard32: the first index of each group is the query; its twin (second) is the hard negative
    text, motion = e.copy(), e.copy()
    motion[0] = 0.6 * e[0] + 0.8 * e[5]   # text 0 . motion 0 = 0.6
    motion[1] = 0.6 * e[0] + 0.8 * e[1]   # text 0 . twin's motion = 0.6: a tie counts for the ground truth
    groups = [np.array([0, 1, *range(6, 36)]), np.array([2, 3, *range(34, 64)])]
    h = retrieval_scores(text, motion, "hard32", groups=groups, ks=(1, 2))
    assert h["n"] == 2 and h["t2m"] == {1: 100.0, 2: 100.0}
    motion[1] = 0.8 * e[0] + 0.6 * e[1]   # the twin's motion now matches text 0 better than its own
    h = retrieval_scores(text, motion, "hard32", groups=groups, ks=(1, 2))
    assert h["t2m"] == {1: 50.0, 2: 100.0}
    with pytest.raises(ValueError, match="hard-negative groups"):
        retrieval_scores(text, motion, "hard32", groups=[])


def test_hard32_ranks_the_ground_truth_with_the_same_arithmetic_as_its_rivals():
    """Near-exact float32 matches: every query's own motion is its nearest, as the batch32 protocol
    also finds (a ground-truth score computed apart from its rivals' loses about a fifth of them to
    last-bit rounding)."""
    from easytune_core.reward.retrieval import retrieval_scores
    rng = np.random.default_rng(0)
    text = rng.normal(size=(300, 256)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    motion = (text + 0.05 * rng.normal(size=text.shape)).astype(np.float32)
    motion /= np.linalg.norm(motion, axis=1, keepdims=True)
    groups = [np.concatenate([[i], rng.choice(np.setdiff1d(np.arange(300), [i]), 31, replace=False)])
              for i in range(300)]
    h = retrieval_scores(text, motion, "hard32", groups=groups)
    assert retrieval_scores(text, motion, "batch32")["t2m"][1] == 100.0
    assert h["t2m"][1] == 100.0 and h["m2t"][1] == 100.0


def test_train_reward_hooks_report_steps_and_cancel(tmp_path, fake_text):
    import threading

    from easytune_core.reward import train as rtrain
    data = make_tiny_dataset(tmp_path / "data")
    cancel, events = threading.Event(), []

    def on_step(e):
        events.append(e)
        if e["step"] == 2:
            cancel.set()

    cfg = rtrain.RewardTrainConfig(data=str(data), out=str(tmp_path / "r"), batch_size=8, width=16, layers=1,
                                   embed_dim=8, steps=50, eval_split="")
    returned = rtrain.train_reward(cfg, on_step=on_step, cancel=cancel)
    assert returned["steps"] == 2 and returned["cancelled"]
    assert [e["step"] for e in events] == [1, 2]
    assert set(events[0]) == {"step", "loss", "spl", "lr", "seconds"}
    meta = json.loads((tmp_path / "r" / "config.json").read_text())["meta"]
    assert meta["cancelled"] and meta["steps"] == 2
