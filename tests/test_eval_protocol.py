"""Evaluation protocol: a generator that returns the real motions scores like the real row."""

import json
import types

import numpy as np
import pytest
import torch

from easytune_core.eval.protocol import evaluate_pipeline, format_table, load_eval_pairs
from tests.support.fakes import make_tiny_dataset, tiny_evaluator


class CopyPipeline:
    """Returns, for each caption, the real motion it belongs to (plus optional noise)."""

    max_frames = 196

    def __init__(self, pairs, noise=0.0):
        self.lookup = {c: f for c, f in zip(pairs["captions"], pairs["features"])}
        self.noise, self.calls = noise, []

    def generate(self, prompts, frames, seed, guidance, steps, return_joints):
        self.calls.append((len(prompts), seed, steps, sorted(set(frames))))
        rng = np.random.default_rng(seed)
        feats = [self.lookup[p][:n] + self.noise * rng.normal(size=(n, 263)) for p, n in zip(prompts, frames)]
        out = np.zeros((len(feats), max(frames), 263), np.float32)
        for i, f in enumerate(feats):
            out[i, :len(f)] = f
        return types.SimpleNamespace(features=out, lengths=list(frames))


def test_copy_generator_matches_real_row(tmp_path, fake_text):
    from easytune_core.data.dataset import MotionTextDataset
    data = make_tiny_dataset(tmp_path / "data", n_test=64, unique_captions=True)
    ds = MotionTextDataset(data, split="test", random_crop=False)
    pairs = load_eval_pairs(ds)
    assert len(set(pairs["captions"])) == 64  # the copy generator looks motions up by caption
    pipe = CopyPipeline(pairs)
    res = evaluate_pipeline(pipe, tiny_evaluator(fake_text, data), ds, repeats=3, mm_prompts=4, mm_repeats=3,
                            batch_size=32)
    real, gen = res["real"], res["generated"]
    assert res["settings"]["pairs"] == 64 and res["settings"]["r_precision_groups"] == 2
    assert res["settings"]["diversity_times"] == 63
    np.testing.assert_allclose(gen["fid"]["mean"], 0.0, atol=1e-3)
    np.testing.assert_allclose(gen["mm_dist"]["mean"], real["mm_dist"]["mean"], rtol=1e-5)
    assert gen["multimodality"]["mean"] == pytest.approx(0.0, abs=1e-5)  # same motion every time
    assert len(gen["r_precision"]["mean"]) == 3
    table = format_table(res, "copy")
    assert "| Real motion |" in table and "| copy |" in table
    # 3 replications x 64 + MultiModality 4 x 3 generations, in batches of at most 32 of one length each
    assert sum(c[0] for c in pipe.calls) == 3 * 64 + 4 * 3
    assert all(c[0] <= 32 and len(c[3]) == 1 for c in pipe.calls)
    assert "r_precision_hard" not in gen and res["settings"]["hard_negative_queries"] == 0  # no twin records


def test_hard_negative_protocol_uses_the_recorded_twins(tmp_path, fake_text):
    from easytune_core.data.builtin import ACTIONS_FILE
    from easytune_core.data.dataset import MotionTextDataset
    data = make_tiny_dataset(tmp_path / "data", n_test=64, unique_captions=True)
    (data / "all.txt").write_text((data / "train.txt").read_text() + (data / "test.txt").read_text())
    with open(data / ACTIONS_FILE, "w") as fh:  # test000-test001, ..., test018-test019 are near twins
        for i in range(20):
            twin = {"name": f"test{i ^ 1:03d}", "attribute": "side", "values": ["left", "right"]}
            fh.write(json.dumps({"name": f"test{i:03d}", "actions": [], "twin": twin}) + "\n")
    ds = MotionTextDataset(data, split="test", random_crop=False)
    pipe = CopyPipeline(load_eval_pairs(ds))
    res = evaluate_pipeline(pipe, tiny_evaluator(fake_text, data), ds, repeats=2, mm_prompts=0, batch_size=32)
    assert res["settings"]["hard_negative_queries"] == 20
    real, gen = res["real"]["r_precision_hard"]["mean"], res["generated"]["r_precision_hard"]["mean"]
    np.testing.assert_allclose(gen, real, atol=1e-6)  # the copy generator returns the real motions
    assert len(gen) == 3 and 0.0 <= gen[0] <= gen[2] <= 1.0
    assert "Hard-negative Top1" in format_table(res, "copy")


def test_evaluation_reads_the_twin_records_once(tmp_path, fake_text, monkeypatch):
    """The twin-closed prompt subset and the hard-negative groups share one read of the records."""
    import easytune_core.data.twins as twins_mod
    from easytune_core.data.builtin import ACTIONS_FILE
    from easytune_core.data.dataset import MotionTextDataset
    data = make_tiny_dataset(tmp_path / "data", n_test=64, unique_captions=True)
    (data / "all.txt").write_text((data / "train.txt").read_text() + (data / "test.txt").read_text())
    with open(data / ACTIONS_FILE, "w") as fh:
        for i in range(20):
            twin = {"name": f"test{i ^ 1:03d}", "attribute": "side", "values": ["left", "right"]}
            fh.write(json.dumps({"name": f"test{i:03d}", "actions": [], "twin": twin}) + "\n")
    ds = MotionTextDataset(data, split="test", random_crop=False)
    pipe = CopyPipeline(load_eval_pairs(ds))
    calls = []
    real_load = twins_mod.load_twins
    monkeypatch.setattr(twins_mod, "load_twins", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    res = evaluate_pipeline(pipe, tiny_evaluator(fake_text, data), ds, repeats=1, max_prompts=40, mm_prompts=0,
                            batch_size=32)
    assert len(calls) == 1
    hard = res["settings"]["hard_negative_queries"]
    assert hard > 0 and hard % 2 == 0  # the subset keeps each pair of twins together


def test_noisier_generator_has_larger_fid(tmp_path, fake_text):
    from easytune_core.data.dataset import MotionTextDataset
    data = make_tiny_dataset(tmp_path / "data", n_test=64, unique_captions=True)
    ds = MotionTextDataset(data, split="test", random_crop=False)
    pairs = load_eval_pairs(ds)
    ev = tiny_evaluator(fake_text, data)
    fids = [evaluate_pipeline(CopyPipeline(pairs, noise), ev, ds, repeats=1, mm_prompts=0)["generated"]["fid"]["mean"]
            for noise in (0.0, 2.0)]
    assert fids[0] < 1e-6 and fids[1] > 1e-4 and fids[1] > 100 * fids[0]


def test_protocol_bad_inputs(tmp_path, fake_text):
    data = make_tiny_dataset(tmp_path / "data", n_test=20)
    ev = tiny_evaluator(fake_text, data)
    with pytest.raises(ValueError, match="at least 32"):
        evaluate_pipeline(None, ev, str(data), repeats=1)
    with pytest.raises(ValueError, match="at least 32 prompts"):
        evaluate_pipeline(None, ev, str(data), repeats=1, max_prompts=10)
    with pytest.raises(ValueError, match="repeats"):
        evaluate_pipeline(None, ev, str(data), repeats=0)


def test_evaluate_cli_end_to_end(tmp_path, fake_text, capsys):
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.cli import main
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser

    data = make_tiny_dataset(tmp_path / "data", n_test=40)
    cfg = DenoiserConfig(text_dim=16, width=16, layers=1, heads=2, ff=32)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "base", MotionDenoiser(cfg), cfg, "denoiser",
                    np.load(data / "Mean.npy"), np.load(data / "Std.npy"))
    ev = tiny_evaluator(fake_text, data)
    save_checkpoint(tmp_path / "ev", ev, ev.config, "evaluator", ev.mean.numpy(), ev.std.numpy())
    out = tmp_path / "res.json"
    rc = main(["evaluate", "--checkpoint", str(tmp_path / "base"), "--evaluator", str(tmp_path / "ev"),
               "--data", str(data), "--repeats", "2", "--steps", "2", "--mm-prompts", "2", "--mm-repeats", "3",
               "--json", str(out), "--device", "cpu"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Real motion" in printed and "R-Precision Top1" in printed
    res = json.loads(out.read_text())
    assert res["settings"]["repeats"] == 2 and res["split"] == "test"
    assert np.isfinite(res["generated"]["fid"]["mean"])
    rc = main(["evaluate", "--checkpoint", str(tmp_path / "missing"), "--data", str(data)])
    assert rc == 2 and "error:" in capsys.readouterr().err


def test_generated_samples_do_not_depend_on_the_batch(tiny_assets):
    """Protocol generations: caption i's noise comes from (seed, i), batches hold one length each."""
    from easytune_core.eval.protocol import _generate
    from easytune_core.pipeline import MotionPipeline
    from tests.support.fakes import FakeTextEncoder

    text = FakeTextEncoder()
    text.dim = 384
    pipe = MotionPipeline.from_checkpoint(tiny_assets / "checkpoints" / "base", device="cpu", text_encoder=text)

    class MeanPose:  # an "evaluator" that embeds a motion as its mean feature vector
        def embed_motions(self, feats, lengths):
            return np.stack([np.asarray(f[:n]).mean(0) for f, n in zip(feats, lengths)])

    caps = ["a person walks forward", "a person jumps", "a person sits down", "a person kicks", "a person waves"]
    lens = np.array([40, 44, 40, 48, 44])
    one = _generate(pipe, MeanPose(), caps, lens, seed=3, steps=3, guidance=2.5, batch_size=1)
    many = _generate(pipe, MeanPose(), caps, lens, seed=3, steps=3, guidance=2.5, batch_size=64)
    np.testing.assert_allclose(one, many, atol=1e-5)
    alone = _generate(pipe, MeanPose(), caps[:2], lens[:2], seed=3, steps=3, guidance=2.5, batch_size=64)
    np.testing.assert_allclose(alone, one[:2], atol=1e-5)
    assert not np.allclose(_generate(pipe, MeanPose(), caps, lens, seed=4, steps=3, guidance=2.5, batch_size=64), one)
