"""MotionPipeline and the `sample` CLI with a tiny random checkpoint."""

import contextlib
import json
import math

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import save_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
from easytune_core.pipeline import GenerationResult, MotionPipeline


class HashEncoder:
    """Stand-in text encoder: a fixed random vector per prompt (fast, deterministic)."""

    name, dim = "hash", 384

    def encode(self, texts):
        out = []
        for t in texts:
            g = torch.Generator().manual_seed(sum(map(ord, t)) * 7919 % (2 ** 31))
            out.append(torch.nn.functional.normalize(torch.randn(384, generator=g), dim=0))
        return torch.stack(out)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0)
    folder = tmp_path_factory.mktemp("ck")
    rng = np.random.default_rng(0)
    mean = rng.normal(size=263).astype(np.float32) * 0.1
    std = (0.05 + rng.random(263)).astype(np.float32) * 0.1
    save_checkpoint(folder, MotionDenoiser(cfg), cfg, "denoiser", mean, std)
    return folder


@pytest.fixture(scope="module")
def pipe(ckpt):
    return MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder())


def test_generate_shapes_and_lengths(pipe):
    r = pipe.generate(["a person walks forward", "a person jumps"], seconds=[2.0, 1.5], seed=0, steps=5)
    assert isinstance(r, GenerationResult)
    assert r.features.shape == (2, 40, 263) and r.joints.shape == (2, 40, 22, 3)
    assert r.lengths == [40, 30] and r.seed == 0 and r.prompts[1] == "a person jumps"
    assert np.isfinite(r.joints).all()
    assert np.all(r.features[1, 30:] == 0)
    np.testing.assert_array_equal(r.joints[1, 30:], np.repeat(r.joints[1, 29:30], 10, axis=0))
    r2 = pipe.generate("wave", frames=25, steps=2)
    assert r2.features.shape == (1, 25, 263)


def test_same_seed_same_motion_and_shared_noise(pipe):
    a = pipe.generate(["walk"], seconds=1.5, seed=11, steps=4)
    b = pipe.generate(["walk"], seconds=1.5, seed=11, steps=4)
    c = pipe.generate(["walk"], seconds=1.5, seed=12, steps=4)
    np.testing.assert_array_equal(a.joints, b.joints)
    assert not np.allclose(a.features, c.features)
    noise = pipe.make_noise(1, 30, 11)
    d = pipe.generate(["walk"], seconds=1.5, steps=4, init_noise=noise, seed=99)
    np.testing.assert_array_equal(a.features, d.features)
    seen = []
    pipe.generate(["walk"], seconds=1.5, steps=3, on_step=lambda i, t, x, x0: seen.append((i, t)))
    assert [s[0] for s in seen] == [0, 1, 2] and seen[0][1] == 999


@pytest.mark.parametrize("kwargs, match", [
    (dict(prompts=""), "prompt is empty"),
    (dict(prompts=["   \n"]), "prompt is empty"),
    (dict(prompts=["x" * 401]), "401 characters"),
    (dict(prompts=[]), "at least one prompt"),
    (dict(seconds=0.5), "between 1.0 and 9.8 seconds, got 0.5"),
    (dict(seconds=12), "between 1.0 and 9.8 seconds, got 12"),
    (dict(seconds=float("nan")), "between 1.0 and 9.8"),
    (dict(frames=500), "frames must be"),
    (dict(steps=0), "steps must be"),
    (dict(guidance=float("nan")), "guidance"),
    (dict(guidance_interval=[0.9, 0.1]), "0 <= lo <= hi <= 1"),
    (dict(guidance_interval=[0.0]), "two numbers"),
    (dict(init_noise=torch.zeros(1, 39, 263)), r"init_noise must have shape \(1, 40, 263\)"),
    (dict(init_noise=torch.full((1, 40, 263), math.nan)), "NaN"),
])
def test_bad_inputs(pipe, kwargs, match):
    args = dict(prompts=["a person walks"], seconds=2.0, steps=2)
    args.update(kwargs)
    if "frames" in kwargs:
        args.pop("seconds")
    with pytest.raises(ValueError, match=match):
        pipe.generate(**args)


def test_sample_cli_writes_joints_and_features(ckpt, tmp_path, capsys):
    out = tmp_path / "m.npy"
    rc = cli_main(["sample", "--prompt", "a person walks forward", "--seconds", "1.5", "--seed", "0",
                   "--checkpoint", str(ckpt), "--steps", "3", "--out", str(out), "--quiet"])
    assert rc == 0
    j, f = np.load(out), np.load(tmp_path / "m_features.npy")
    assert j.shape == (30, 22, 3) and f.shape == (30, 263)
    rc = cli_main(["sample", "--prompt", "a person walks forward", "--seconds", "1.5", "--seed", "0",
                   "--checkpoint", str(ckpt), "--steps", "3", "--out", str(tmp_path / "n.npy"), "--quiet"])
    np.testing.assert_array_equal(np.load(tmp_path / "n.npy"), j)  # deterministic by seed


@pytest.mark.parametrize("extra, match", [
    (["--prompt", "  "], "prompt is empty"),
    (["--prompt", "walk", "--seconds", "10"], "between 1.0 and 9.8 seconds"),
    (["--prompt", "walk", "--steps", "0"], "steps must be between 1 and 1000"),
    (["--prompt", "walk", "--guidance-interval", "0.5", "2"], "0 <= lo <= hi <= 1"),
])
def test_sample_cli_bad_input_exit_2(ckpt, tmp_path, capsys, extra, match):
    rc = cli_main(["sample", *extra, "--checkpoint", str(ckpt), "--out", str(tmp_path / "x.npy"), "--quiet"])
    assert rc == 2
    assert match in capsys.readouterr().err


def test_guidance_interval_from_config_call_and_cli(ckpt, pipe, tmp_path):
    assert pipe.guidance_interval == [0.0, 1.0]
    kw = dict(prompts=["a person waves"], seconds=1.5, seed=3, steps=10)
    full = pipe.generate(**kw)
    # trailing 10-step grid: the last timestep is 99, so [0, 0.05] guides no step: conditional only
    np.testing.assert_allclose(pipe.generate(**kw, guidance_interval=[0.0, 0.05]).features,
                               pipe.generate(**kw, guidance=1.0).features, atol=1e-6)
    half = pipe.generate(**kw, guidance_interval=[0.5, 1.0])
    assert not np.allclose(half.features, full.features)
    # a model's config can set it: its pipeline then samples that way by default
    folder = tmp_path / "gi"
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, guidance_interval=[0.5, 1.0])
    mean, std = pipe.mean, pipe.std
    save_checkpoint(folder, pipe.model, cfg, "denoiser", mean, std)
    other = MotionPipeline.from_checkpoint(folder, device="cpu", text_encoder=HashEncoder())
    assert other.guidance_interval == [0.5, 1.0]
    np.testing.assert_allclose(other.generate(**kw).features, half.features, atol=1e-6)
    np.testing.assert_allclose(other.generate(**kw, guidance_interval=[0, 1]).features, full.features, atol=1e-6)
    # the command line (its own text encoder): an interval guiding no step = guidance 1
    def cli(name, *extra):
        assert cli_main(["sample", "--prompt", "a person waves", "--seconds", "1.5", "--seed", "3", "--steps", "10",
                         "--checkpoint", str(ckpt), *extra, "--out", str(tmp_path / f"{name}.npy"), "--quiet"]) == 0
        return np.load(tmp_path / f"{name}_features.npy")
    none, cond, guided = cli("none", "--guidance-interval", "0", "0.05"), cli("cond", "--guidance", "1"), cli("all")
    np.testing.assert_allclose(none, cond, atol=1e-5)
    assert not np.allclose(none, guided)


def test_sample_cli_defaults_to_the_models_guidance_and_steps(pipe, tmp_path):
    """Without --guidance / --steps the command line samples with the model's own defaults (the config's
    default_guidance and default_steps), like MotionPipeline.generate."""
    folder = tmp_path / "own"
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, default_guidance=1.0, default_steps=7)
    save_checkpoint(folder, pipe.model, cfg, "denoiser", pipe.mean, pipe.std)

    def cli(name, *extra):
        assert cli_main(["sample", "--prompt", "a person waves", "--seconds", "1.5", "--seed", "3",
                         "--checkpoint", str(folder), *extra, "--out", str(tmp_path / f"{name}.npy"), "--quiet"]) == 0
        return np.load(tmp_path / f"{name}_features.npy")
    own = cli("own")
    np.testing.assert_allclose(own, cli("named", "--guidance", "1", "--steps", "7"), atol=1e-6)
    assert not np.allclose(own, cli("other", "--guidance", "2.5", "--steps", "7"))


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    rc = cli_main(["sample", "--prompt", "walk", "--checkpoint", str(tmp_path / "none"), "--out", str(tmp_path / "x.npy")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_auto_precision_is_bf16_only_on_cpus_with_native_bf16(ckpt, monkeypatch):
    import easytune_core.data.loader as loader

    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(loader, "cpu_has_bf16", lambda native=native: native)
        pipe = MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder(), precision="auto")
        assert pipe.precision == expected
        assert loader.mixed_precision_pays("cpu") is native and loader.mixed_precision_pays("cuda:0")
    from easytune_core.finetune.trainer import autocast_factory
    assert isinstance(autocast_factory("auto", "cpu")(), contextlib.nullcontext)  # patched: no native bf16


def test_bf16_precision_is_close_to_fp32_and_deterministic(ckpt):
    fp32 = MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder())
    bf16 = MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder(), precision="bf16")
    assert fp32.precision == "fp32" and bf16.precision == "bf16"
    kw = dict(seconds=2.0, seed=3, steps=5)
    a, b, c = (p.generate(["a person walks forward"], **kw) for p in (fp32, bf16, bf16))
    assert np.array_equal(b.features, c.features)
    assert not np.array_equal(a.features, b.features)
    scale = np.abs(a.features).mean()
    assert np.abs(a.features - b.features).mean() < 0.1 * scale
    with pytest.raises(ValueError, match="precision must be one of"):
        MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder(), precision="int8")


def test_sample_cli_scores_takes_with_a_reward_model(ckpt, tmp_path, capsys):
    from easytune_core.reward import RewardConfig, RewardModel

    torch.manual_seed(2)
    rcfg = RewardConfig(width=16, layers=1, heads=2, ff=32, embed_dim=8, dropout=0.0)
    save_checkpoint(tmp_path / "reward", RewardModel(rcfg), rcfg, "reward", np.zeros(263, np.float32),
                    np.ones(263, np.float32))
    out = tmp_path / "t.npy"
    args = ["sample", "--prompt", "a person waves", "--prompt", "a person jumps", "--seconds", "1.5", "--steps", "3",
            "--checkpoint", str(ckpt), "--out", str(out), "--quiet", "--repetitions", "3"]
    assert cli_main(args + ["--reward", str(tmp_path / "reward")]) == 0
    summary = json.loads(capsys.readouterr().out)
    rewards = [[m["reward"] for m in summary["motions"] if m["prompt_index"] == p] for p in (0, 1)]
    assert all(len(r) == 3 and all(-1 <= v <= 1 for v in r) for r in rewards)
    assert summary["best_take"] == [int(np.argmax(r)) for r in rewards]
    assert cli_main(args) == 0  # without a reward: no scores
    plain = json.loads(capsys.readouterr().out)
    assert "best_take" not in plain and all("reward" not in m for m in plain["motions"])
    assert cli_main(args + ["--reward", str(tmp_path / "missing")]) == 2
