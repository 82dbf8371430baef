"""Takes, edits and timelines through the library and the CLI on a tiny random checkpoint: exact kept
parts, the guide hook's no-op, takes equal to single samples, timeline layout, files and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import save_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.diffusion import DDIMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule
from easytune_core.edit import EditSpec, make_edit, path_spec
from easytune_core.edit.inpaint import InpaintGuide
from easytune_core.motion.features import joints_to_features
from easytune_core.pipeline import MotionPipeline

from _render_helpers import walk_joints


class HashEncoder:
    """A fixed random unit vector per prompt (fast, deterministic)."""

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
    mean = np.zeros(263, np.float32)
    mean[3] = 0.9
    save_checkpoint(folder, MotionDenoiser(cfg), cfg, "denoiser", mean, np.full(263, 0.05, np.float32))
    return folder


@pytest.fixture(scope="module")
def pipe(ckpt):
    return MotionPipeline.from_checkpoint(ckpt, device="cpu", text_encoder=HashEncoder())


@pytest.fixture(scope="module")
def source():
    return joints_to_features(walk_joints(81), fix_yaw_wrap=True)  # (80, 263)


def test_a_guide_that_keeps_nothing_changes_nothing(pipe):
    """The hook is bit-identical to plain sampling when it keeps nothing (and so is no guide at all)."""
    m = pipe.model
    sampler = DDIMSampler(NoiseSchedule(), 6)
    emb = pipe.encode(["a person walks"])
    mask = torch.ones(1, 30, dtype=torch.bool)
    noise = pipe.make_noise(1, 30, 4)
    with torch.no_grad():
        plain = sampler.sample(m, emb, mask, init_noise=noise)
        zero = InpaintGuide(torch.randn(1, 30, 263), torch.zeros(1, 30, 263), noise, clean=True)
        guided = sampler.sample(m, emb, mask, init_noise=noise, guide=zero)
    assert torch.equal(plain, guided)


def test_every_preset_keeps_its_part_exactly(pipe, source):
    for preset, kw in [("in-between", {}), ("prefix", dict(keep=30, frames=70)), ("suffix", dict(keep=20)),
                       ("frames", dict(start=20, end=50)), ("upper body", {}), ("lower body", {}), ("root path", {})]:
        spec = make_edit(preset, source, **kw)
        res = pipe.edit(spec, "a person jumps", seed=1, steps=4, takes=2)
        assert res.features.shape == (2, spec.frames, 263) and res.joints.shape == (2, spec.frames, 22, 3)
        for f in res.features:
            np.testing.assert_array_equal(f[spec.keep], spec.known[spec.keep])
        assert not np.array_equal(res.features[0], res.features[1])  # two takes, two seeds
        assert res.seeds == [1, 2]


def test_edit_is_deterministic_shares_noise_and_checks_input(pipe, source):
    spec = make_edit("in-between", source, keep=10)
    a = pipe.edit(spec, "a person jumps", seed=7, steps=3)
    b = pipe.edit(spec, "a person jumps", seed=7, steps=3, init_noise=pipe.takes_noise([80], [7]))
    np.testing.assert_array_equal(a.features, b.features)
    c = pipe.edit(spec, "", seed=7, steps=3)  # no text: the unconditional model fills in
    assert c.prompts == [""] and not np.array_equal(a.features, c.features)
    with pytest.raises(ValueError, match="at most 196"):
        pipe.edit(EditSpec(np.zeros((250, 263)), np.zeros((250, 263))), "walk", steps=2)
    with pytest.raises(ValueError, match="between 1 and 16"):
        pipe.edit(spec, "walk", steps=2, takes=17)
    with pytest.raises(ValueError, match="init_noise must have shape"):
        pipe.edit(spec, "walk", steps=2, init_noise=torch.zeros(1, 5, 263))
    with pytest.raises(ValueError, match="EditSpec"):
        pipe.edit("in-between", "walk")


def test_path_edit_places_the_body_on_the_path(pipe):
    spec = path_spec([(0, 2.0, 1.0), (2, 2.0, 3.0), (4, 0.0, 3.0)])
    res = pipe.edit(spec, "a person walks", steps=3)
    root = res.joints[0, :, 0]
    assert np.allclose(root[0, [0, 2]], [2.0, 1.0], atol=1e-5) and np.allclose(root[40, [0, 2]], [2.0, 3.0], atol=0.06)
    assert np.allclose(root[-1, [0, 2]], [0.0, 3.0], atol=1e-4)


def test_takes_are_the_samples_of_their_seeds(pipe):
    res = pipe.takes(["a person walks", "a person jumps"], 3, seconds=[2.0, 1.5], seed=5, steps=4)
    assert res.features.shape == (6, 40, 263) and res.lengths == [40, 40, 40, 30, 30, 30]
    assert res.seeds == [5, 6, 7, 5, 6, 7] and res.prompts[3] == "a person jumps"
    alone = pipe.generate("a person jumps", seconds=1.5, seed=6, steps=4)
    np.testing.assert_allclose(res.features[4, :30], alone.features[0], atol=1e-5)
    with pytest.raises(ValueError, match="between 1 and 16"):
        pipe.takes("walk", 0)


@pytest.mark.parametrize("strategy", ["prefix", "blend"])
def test_timeline_layout_and_continuity(pipe, strategy):
    segs = [("a person walks forward", 4), ("a person turns left", 2.5), ("a person sits down", 12)]
    res = pipe.compose(segs, seed=2, steps=3, strategy=strategy)
    assert res.features.shape == (370, 263) and res.joints.shape == (370, 22, 3) and np.isfinite(res.joints).all()
    assert [(s["start"], s["end"]) for s in res.segments] == [(0, 80), (80, 130), (130, 370)]
    again = pipe.compose(segs, seed=2, steps=3, strategy=strategy)
    np.testing.assert_array_equal(res.features, again.features)
    if strategy == "prefix":
        assert res.seams[:2] == [80, 130] and len(res.seams) == 3  # the 12 s segment takes two windows


def test_a_60_s_timeline_is_one_continuous_motion(pipe):
    segs = [("a person walks forward", 12), ("a person jumps", 3)] * 4
    res = pipe.compose(segs, seed=0, steps=2)
    assert res.features.shape == (1200, 263) and res.joints.shape == (1200, 22, 3) and res.seconds == 60.0
    assert res.segments[-1]["end"] == 1200 and np.isfinite(res.joints).all()
    # a new sampling window starts at every segment and inside the 12 s segments (196 frames at most each)
    assert {s["start"] for s in res.segments[1:]} <= set(res.seams) and 196 in res.seams
    assert len(res.seams) > len(segs) - 1 and all(np.diff(res.seams) > 0)
    step = np.linalg.norm(np.diff(res.joints[:, 0, [0, 2]], axis=0), axis=1)
    assert step.max() < 0.5  # no jump of the root anywhere (velocities integrate across windows)


@pytest.mark.parametrize("segments, message", [
    ([], "the timeline is empty"),
    ([("walk", 0)], "segment 1 lasts 0"),
    ([("walk", 2)] * 33, "33 segments; at most 32"),
    ([("walk", 30), ("run", 31)], "lasts 61 s"),
    ([("", 2)], "segment 1: the prompt is empty"),
    (["walk 3"], "'prompt | seconds'"),
])
def test_bad_timelines(pipe, segments, message):
    with pytest.raises(ValueError, match=message):
        pipe.compose(segments, steps=2)


def test_sample_cli_repetitions_and_prompts_file(ckpt, tmp_path, capsys, monkeypatch):
    import easytune_core.text as text

    monkeypatch.setattr(text, "get_text_encoder", lambda *a, **k: HashEncoder())
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# two prompts\na person walks forward | 2\n\na person jumps\n")
    out = tmp_path / "takes" / "m.npy"
    rc = cli_main(["sample", "--prompts-file", str(prompts), "--repetitions", "3", "--seconds", "1.5", "--seed", "4",
                   "--checkpoint", str(ckpt), "--steps", "3", "--out", str(out), "--quiet"])
    assert rc == 0
    index = json.loads((tmp_path / "takes" / "m_index.json").read_text())
    assert len(index["motions"]) == 6 and index["repetitions"] == 3
    first = index["motions"][0]
    assert first["prompt"] == "a person walks forward" and first["take"] == 0 and first["seed"] == 4
    assert np.load(first["joints"]).shape == (40, 22, 3)  # "| 2" seconds
    last = index["motions"][-1]
    assert last["prompt"] == "a person jumps" and last["seed"] == 6 and last["frames"] == 30
    assert (tmp_path / "takes" / "m_1_take2.npy").exists() and (tmp_path / "takes" / "m_1_take2_features.npy").exists()


@pytest.mark.parametrize("lines, match", [
    ("a person walks | 20\n", "line 1: length must be between"),
    ("\n# nothing\n", "holds no prompts"),
    ("a person walks\n" + "x" * 401 + "\n", "line 2: prompt is"),
])
def test_sample_cli_bad_prompts_file(ckpt, tmp_path, capsys, lines, match):
    f = tmp_path / "p.txt"
    f.write_text(lines)
    rc = cli_main(["sample", "--prompts-file", str(f), "--checkpoint", str(ckpt), "--out", str(tmp_path / "x.npy")])
    assert rc == 2 and match in capsys.readouterr().err
    rc = cli_main(["sample", "--prompt", "walk", "--repetitions", "40", "--checkpoint", str(ckpt),
                   "--out", str(tmp_path / "x.npy")])
    assert rc == 2 and "between 1 and 16" in capsys.readouterr().err


def test_edit_and_compose_cli(ckpt, tmp_path, capsys, monkeypatch):
    import easytune_core.text as text

    monkeypatch.setattr(text, "get_text_encoder", lambda *a, **k: HashEncoder())
    src = tmp_path / "walk.npy"
    np.save(src, walk_joints(61))
    out = tmp_path / "e.npy"
    rc = cli_main(["edit", "--source", str(src), "--preset", "in-between", "--keep", "15", "--prompt", "a person jumps",
                   "--checkpoint", str(ckpt), "--steps", "3", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seams"] == [15, 45] and np.load(out).shape == (60, 22, 3)
    feats = np.load(tmp_path / "e_features.npy")
    np.testing.assert_array_equal(feats[:15], joints_to_features(walk_joints(61), fix_yaw_wrap=True)[:15])
    rc = cli_main(["edit", "--path", "0,0,0; 2,0,2; 3,1,2", "--prompt", "a person walks", "--takes", "2",
                   "--checkpoint", str(ckpt), "--steps", "2", "--out", str(tmp_path / "p.npy")])
    assert rc == 0 and np.load(tmp_path / "p.npy").shape == (2, 61, 22, 3)
    capsys.readouterr()
    rc = cli_main(["compose", "--segment", "a person walks forward | 3", "--segment", "a person sits down | 2",
                   "--checkpoint", str(ckpt), "--steps", "2", "--out", str(tmp_path / "t.npy"), "--quiet",
                   "--glb", str(tmp_path / "t.glb")])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 100 and summary["segments"][1]["start"] == 60
    assert np.load(tmp_path / "t.npy").shape == (100, 22, 3) and (tmp_path / "t.glb").stat().st_size > 1000
    # one sentence of actions in order: one segment per clause, sharing the seconds
    rc = cli_main(["compose", "--sentence", "A man walks forward, then sits down.", "--seconds", "4",
                   "--checkpoint", str(ckpt), "--steps", "2", "--out", str(tmp_path / "s.npy"), "--quiet"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert [s["prompt"] for s in summary["segments"]] == ["a man walks forward", "a person sits down"]
    assert summary["frames"] == 80 and summary["segments"][1]["start"] == 40


@pytest.mark.parametrize("argv, match", [
    (["edit", "--preset", "in-between"], "exactly one source"),
    (["edit", "--source", "nope.bvh", "--preset", "in-between"], "does not exist"),
    (["edit", "--path", "0,0,0; 1,nan,0"], "NaN"),
    (["edit", "--path", "0,0,0"], "at least 2 points"),
    (["compose"], "--segment"),
    (["compose", "--segment", "walk | 0"], "segment 1 lasts 0"),
    (["compose", "--sentence", "a person jumps, then waves"], "needs --seconds"),
    (["compose", "--sentence", "a person jumps, then waves", "--seconds", "1.5"], "at least 2 s"),
    (["compose", "--sentence", "a person jumps", "--segment", "walk | 2", "--seconds", "3"], "one of them"),
    (["compose", "--segment", "walk | 2", "--seconds", "3"], "--seconds goes with --sentence"),
])
def test_edit_and_compose_cli_errors(ckpt, tmp_path, capsys, argv, match):
    rc = cli_main(argv + ["--checkpoint", str(ckpt), "--out", str(tmp_path / "x.npy")])
    assert rc == 2 and match in capsys.readouterr().err


def test_a_few_step_model_edits_without_a_prompt_at_its_own_guidance(tmp_path, source):
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, sampler="consistency", guidance_embed=True,
                         guidance_range=[1.5, 4.0], default_steps=2, default_guidance=2.5)
    save_checkpoint(tmp_path / "few", MotionDenoiser(cfg), cfg, "denoiser", np.zeros(263, np.float32),
                    np.ones(263, np.float32))
    few = MotionPipeline.from_checkpoint(tmp_path / "few", device="cpu", text_encoder=HashEncoder())
    spec = make_edit("in-between", source, start=20, end=60)
    res = few.edit(spec, "", seed=3)  # guidance 0 would be outside the range it was distilled for
    assert res.features.shape == (1, 80, 263) and np.isfinite(res.features).all()


def test_edit_and_compose_cli_default_to_the_models_guidance_and_steps(pipe, tmp_path, capsys, monkeypatch):
    import easytune_core.text as text

    monkeypatch.setattr(text, "get_text_encoder", lambda *a, **k: HashEncoder())
    own = tmp_path / "own"
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, default_guidance=1.0, default_steps=3)
    save_checkpoint(own, pipe.model, cfg, "denoiser", pipe.mean, pipe.std)
    src = tmp_path / "walk.npy"
    np.save(src, walk_joints(61))

    def features(cmd, name, *extra):
        head = (["edit", "--source", str(src), "--preset", "in-between", "--keep", "15"] if cmd == "edit" else
                ["compose", "--segment", "a person walks forward | 2", "--segment", "a person sits down | 2", "--quiet"])
        assert cli_main(head + ["--prompt", "a person jumps"] * (cmd == "edit") + ["--checkpoint", str(own), *extra,
                                                                                  "--out", str(tmp_path / f"{name}.npy")]) == 0
        capsys.readouterr()
        return np.load(tmp_path / f"{name}_features.npy")
    for cmd in ("edit", "compose"):
        default = features(cmd, f"{cmd}_default")
        np.testing.assert_allclose(default, features(cmd, f"{cmd}_named", "--guidance", "1", "--steps", "3"), atol=1e-6)
        assert not np.allclose(default, features(cmd, f"{cmd}_other", "--guidance", "2.5", "--steps", "3"))
