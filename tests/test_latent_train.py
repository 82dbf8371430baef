"""train-vae -> train-latent -> distill end to end on a tiny dataset: checkpoints, resume, and
the pipeline serving the latent model and its few-step student."""

import json

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import load_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.pipeline import MotionPipeline

from test_diffusion_train import make_folder

pytestmark = pytest.mark.slow  # three small trainings (a VAE, a latent denoiser, a student)

VAE = ["--width", "16", "--layers", "1", "--heads", "2", "--ff", "32", "--latent-tokens", "2", "--batch-size", "6",
       "--val-every", "3", "--ckpt-every", "3", "--warmup", "1", "--max-frames", "80", "--max-positions", "90"]
LATENT = ["--width", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--batch-size", "8", "--val-every", "3",
          "--ckpt-every", "3", "--warmup", "1", "--views", "2"]
DISTILL = ["--batch-size", "8", "--val-every", "2", "--ckpt-every", "2", "--warmup", "1", "--views", "2",
           "--val-prompts", "3", "--original-steps", "10"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("latent")
    data = make_folder(tmp / "data")
    vae, latent, student = tmp / "vae", tmp / "latent", tmp / "fewstep"
    assert cli_main(["train-vae", "--data", str(data), "--out", str(vae), "--steps", "4", *VAE]) == 0
    assert cli_main(["train-latent", "--vae", str(vae), "--data", str(data), "--out", str(latent), "--steps", "4",
                     *LATENT]) == 0
    assert cli_main(["distill", "--teacher", str(latent), "--data", str(data), "--out", str(student), "--steps", "3",
                     *DISTILL]) == 0
    return data, vae, latent, student


def test_vae_checkpoint_reports_reconstruction_error_and_resumes(trained, capsys):
    data, vae, _, _ = trained
    ck = load_checkpoint(vae, expected_kind="vae")
    assert ck.meta["step"] == 4 and ck.meta["final"] and ck.config["latent_tokens"] == 2
    assert ck.meta["val_joint_error_cm"] > 0 and ck.meta["val_feature_loss"] > 0 and ck.mean.shape == (263,)
    assert cli_main(["train-vae", "--data", str(data), "--out", str(vae), "--steps", "6", "--resume", *VAE]) == 0
    assert "resumed from" in capsys.readouterr().err
    assert load_checkpoint(vae).meta["step"] == 6


def test_latent_checkpoint_holds_its_vae_and_generates(trained):
    _, vae, latent, _ = trained
    ck = load_checkpoint(latent, expected_kind="denoiser")
    assert ck.config["space"] == "latent" and ck.config["latent_tokens"] == 2 and ck.config["latent_dim"] == 16
    assert ck.config["latent_scale"] > 0 and ck.meta["val_loss"] > 0
    assert load_checkpoint(latent / "vae", expected_kind="vae").config == load_checkpoint(vae).config
    pipe = MotionPipeline.from_checkpoint(latent, device="cpu")
    assert pipe.latent and not pipe.few_step and pipe.default_steps == 50
    assert pipe.make_noise(3, 40, 0).shape == (3, 2, 16)
    r = pipe.generate(["a person jumps", "a person waves"], seconds=[2, 3], steps=4, seed=1)
    assert r.features.shape == (2, 60, 263) and r.joints.shape == (2, 60, 22, 3)
    assert np.all(r.features[0, 40:] == 0) and np.isfinite(r.joints).all()
    again = pipe.generate(["a person jumps", "a person waves"], seconds=[2, 3], steps=4, seed=1)
    np.testing.assert_array_equal(r.features, again.features)
    with pytest.raises(ValueError, match=r"init_noise must have shape \(1, 2, 16\)"):
        pipe.generate(["a person jumps"], seconds=2, init_noise=torch.zeros(1, 40, 263))


def test_latent_training_resumes_with_the_same_scale(trained, capsys):
    data, _, latent, _ = trained
    scale = load_checkpoint(latent).config["latent_scale"]
    assert cli_main(["train-latent", "--vae", str(trained[1]), "--data", str(data), "--out", str(latent),
                     "--steps", "6", "--resume", *LATENT]) == 0
    ck = load_checkpoint(latent)
    assert "resumed from" in capsys.readouterr().err and ck.meta["step"] == 6 and ck.config["latent_scale"] == scale


def test_few_step_student_samples_in_one_to_four_steps(trained):
    _, _, latent, student = trained
    ck = load_checkpoint(student, expected_kind="denoiser")
    assert ck.config["sampler"] == "consistency" and ck.config["guidance_embed"] and ck.config["default_steps"] == 4
    assert {"ode_mse_1step", "ode_mse_4step", "val_loss", "start_ode_mse_1step"} <= set(ck.meta)
    pipe = MotionPipeline.from_checkpoint(student, device="cpu")
    assert pipe.few_step and pipe.default_steps == 4
    calls = []
    for steps in (1, 2, 4):
        r = pipe.generate(["a person walks forward"], seconds=2, steps=steps, seed=3, guidance=2.5,
                          on_step=lambda i, t, x, x0: calls.append(t))
        assert r.joints.shape == (1, 40, 22, 3) and np.isfinite(r.features).all()
    assert calls == [999, 999, 499, 999, 799, 599, 399]  # distilled on a 10-step grid (k = 100)
    lo, hi = ck.config["guidance_range"]
    with pytest.raises(ValueError, match="distilled for guidance"):
        pipe.generate(["a person walks forward"], seconds=2, guidance=hi + 1)


def test_distill_a_frame_space_teacher_and_refuse_a_student(trained, tmp_path, capsys):
    data, _, _, student = trained
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
    cfg = DenoiserConfig(width=16, layers=1, heads=2, ff=32, max_frames=80)
    save_checkpoint(tmp_path / "frame", MotionDenoiser(cfg), cfg, "denoiser", np.zeros(263), np.ones(263))
    out = tmp_path / "frame_fewstep"
    assert cli_main(["distill", "--teacher", str(tmp_path / "frame"), "--data", str(data), "--out", str(out),
                     "--steps", "2", *DISTILL]) == 0
    ck = load_checkpoint(out, expected_kind="denoiser")
    assert ck.config["sampler"] == "consistency" and "space" not in ck.config and not (out / "vae").exists()
    assert ck.meta["ode_mse_4step"] >= 0 and ck.meta["start_ode_mse_1step"] >= 0
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.few_step and not pipe.latent
    r = pipe.generate(["a person jumps", "a person waves"], seconds=[2, 3], guidance=2.5)
    assert r.joints.shape == (2, 60, 22, 3) and np.all(r.features[0, 40:] == 0)
    assert cli_main(["distill", "--teacher", str(student), "--data", str(data), "--out", str(tmp_path / "o"),
                     "--steps", "1", *DISTILL]) == 2
    assert "already a few-step student" in capsys.readouterr().err


def test_train_summary_lines_are_json(trained, tmp_path, capsys):
    data, vae, _, _ = trained
    assert cli_main(["train-latent", "--vae", str(vae), "--data", str(data), "--out", str(tmp_path / "l"), "--steps", "2",
                     *LATENT]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 2 and summary["latent_scale"] > 0


def test_takes_work_on_latent_and_few_step_models_and_edits_are_refused(trained):
    from easytune_core.edit.presets import make_edit

    _, _, latent, student = trained
    for folder in (latent, student):
        pipe = MotionPipeline.from_checkpoint(folder, device="cpu")
        takes = pipe.takes(["a person jumps"], repetitions=3, seconds=2, seed=4, steps=2)
        assert takes.features.shape == (3, 40, 263) and takes.seeds == [4, 5, 6]
        if not pipe.few_step:  # DDIM: each take is what its seed gives alone
            alone = pipe.generate(["a person jumps"], seconds=2, seed=5, steps=2)
            np.testing.assert_allclose(takes.features[1], alone.features[0], atol=1e-4)
        again = pipe.takes(["a person jumps"], repetitions=3, seconds=2, seed=4, steps=2)
        np.testing.assert_array_equal(takes.features, again.features)
        source = np.asarray(takes.features[0], np.float32)
        spec = make_edit("in-between", source, keep=10)
        with pytest.raises(ValueError, match="frame-space model"):
            pipe.edit(spec, "a person waves", steps=2)
        with pytest.raises(ValueError, match="frame-space model"):
            pipe.compose([("a person walks", 2.0), ("a person jumps", 2.0)], steps=2)


def test_the_latent_cache_is_tied_to_the_data_it_encoded(tmp_path):
    from easytune_core.diffusion.latent.common import cache_key
    from tests.support.fakes import make_tiny_dataset

    vae = tmp_path / "vae"
    vae.mkdir()
    (vae / "model.safetensors").write_bytes(b"weights")
    data = make_tiny_dataset(tmp_path / "data")
    key = cache_key(vae, data, "train", 4, 0)
    assert cache_key(vae, data, "train", 4, 0) == key
    (data / "train.txt").write_text((data / "train.txt").read_text() + "extra\n")  # the folder generated again
    assert cache_key(vae, data, "train", 4, 0) != key
