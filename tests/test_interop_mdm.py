"""`convert mdm`: MDM checkpoints saved as MDM saves them -> checkpoint folders the rest of the project uses."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from _mdm_helpers import TINY_CLIP, mdm_shapes, mdm_state_dict, write_mdm_run

from easytune_core.checkpoints import load_checkpoint
from easytune_core.cli import main
from easytune_core.interop.mdm import MDMConversionError, convert_mdm
from easytune_core.interop.safe_load import UnsafePickleError
from easytune_core.pipeline import MotionPipeline

DATA = Path(__file__).resolve().parent / "data"


def test_helper_names_match_the_published_parameter_list():
    fx = np.load(DATA / "mdm_parity_small.npz")
    published = {n: tuple(s) for n, s in json.loads(str(fx["mdm_params"]))}
    assert published == mdm_shapes(251, 64, 2)


def test_convert_cli_gives_a_folder_that_loads_and_samples(tmp_path, capsys):
    pt = write_mdm_run(tmp_path / "mdm")
    out = tmp_path / "converted"
    rc = main(["convert", "mdm", "--checkpoint", str(pt), "--out", str(out), "--data", str(tmp_path / "mdm" / "data"),
               "--clip-path", str(TINY_CLIP), "--register", "mdm-humanml", "--runs-dir", str(tmp_path / "runs")])
    assert rc == 0, capsys.readouterr().err
    from easytune_core.checkpoints import CheckpointRegistry
    assert CheckpointRegistry(tmp_path / "runs").get("mdm-humanml") == out.resolve()  # listed in the app's menus
    printed = json.loads(capsys.readouterr().out)
    assert printed["text_encoder"] == "clip-mdm" and printed["diffusion_steps"] == 50
    ck = load_checkpoint(out, expected_kind="denoiser")
    assert ck.config["norm_first"] is False and ck.config["sinusoid"] == "interleaved" and ck.config["mask_frames"]
    sd = mdm_state_dict(263, 32, 2, 0)
    assert torch.equal(ck.state_dict["encoder.layers.1.linear1.weight"], sd["seqTransEncoder.layers.1.linear1.weight"])
    assert torch.equal(ck.state_dict["text_proj.bias"], sd["embed_text.bias"])
    np.testing.assert_allclose(ck.std, 0.05)
    assert ck.meta["source"] == "mdm" and ck.meta["mdm_args"]["latent_dim"] == 32

    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.text_encoder.name == "clip-mdm" and pipe.schedule.num_steps == 50
    a = pipe.generate(["a person walks forward"], frames=24, seed=1, steps=50, sampler="ddpm")
    b = pipe.generate(["a person walks forward"], frames=24, seed=1, steps=50, sampler="ddpm")
    assert a.joints.shape == (1, 24, 22, 3) and np.isfinite(a.joints).all()
    np.testing.assert_array_equal(a.features, b.features)
    # precomputed text embeddings reproduce the run that encoded the prompt
    emb = pipe.encode(["a person walks forward"])
    c = pipe.generate(["(label only)"], frames=24, seed=1, steps=5, text_emb=emb)
    d = pipe.generate(["a person walks forward"], frames=24, seed=1, steps=5)
    np.testing.assert_array_equal(c.features, d.features)
    with pytest.raises(ValueError, match="text_emb must have shape"):
        pipe.generate(["x"], frames=24, steps=2, text_emb=torch.zeros(1, 384))

    # the sample command uses the recorded CLIP folder
    motion = tmp_path / "m.npy"
    assert main(["sample", "--checkpoint", str(out), "--prompt", "a person jumps", "--seconds", "1.5",
                 "--sampler", "ddpm", "--steps", "10", "--out", str(motion), "--quiet", "--device", "cpu"]) == 0
    assert np.load(motion).shape == (30, 22, 3)


def test_kit_1000_step_model_without_frame_masking(tmp_path):
    pt = write_mdm_run(tmp_path / "kit", dataset="kit", diffusion_steps=1000, mask_frames=None)  # older args.json
    out = convert_mdm(pt, tmp_path / "out", data=tmp_path / "kit" / "data", clip_path=TINY_CLIP)
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.config.feature_dim == 251 and pipe.fps == 12.5 and not pipe.config.mask_frames
    res = pipe.generate(["a person waves", "a person sits down"], seconds=[2.0, 1.2], seed=0, steps=4)
    assert res.joints.shape == (2, 25, 21, 3) and np.isfinite(res.joints).all()
    assert (res.features[1, 15:] == 0).all()  # padded frames are zeroed in the result all the same


def test_ema_checkpoints_take_the_averaged_weights(tmp_path):
    pt = write_mdm_run(tmp_path / "ema", ema=True)
    avg = convert_mdm(pt, tmp_path / "avg", data=tmp_path / "ema" / "data")
    raw = convert_mdm(pt, tmp_path / "raw", data=tmp_path / "ema" / "data", ema=False)
    w = "encoder.layers.0.linear2.bias"
    diff = load_checkpoint(avg).state_dict[w] - load_checkpoint(raw).state_dict[w]
    assert torch.allclose(diff, torch.full_like(diff, 0.01))


def _resave(pt, sd):
    torch.save(sd, pt)
    return pt


def test_unknown_missing_and_mismatched_weights_are_named(tmp_path):
    pt = write_mdm_run(tmp_path / "m")
    data = tmp_path / "m" / "data"
    sd = mdm_state_dict(263, 32, 2, 0)
    with pytest.raises(MDMConversionError, match="unknown MDM weight 'seqTransDecoder.layers.0.foo'"):
        convert_mdm(_resave(pt, {**sd, "seqTransDecoder.layers.0.foo": torch.zeros(3)}), tmp_path / "o1", data=data)
    sd2 = dict(sd)
    del sd2["seqTransEncoder.layers.1.norm2.bias"]
    with pytest.raises(MDMConversionError, match="'seqTransEncoder.layers.1.norm2.bias' is missing"):
        convert_mdm(_resave(pt, sd2), tmp_path / "o2", data=data)
    sd3 = {**sd, "embed_text.weight": torch.zeros(32, 768)}
    with pytest.raises(MDMConversionError, match=r"'embed_text.weight' has shape \(32, 768\).*\(32, 512\)"):
        convert_mdm(_resave(pt, sd3), tmp_path / "o3", data=data)
    # weights of a wider model than args.json says
    _resave(pt, mdm_state_dict(263, 64, 2, 0))
    with pytest.raises(MDMConversionError, match="do not belong together"):
        convert_mdm(pt, tmp_path / "o4", data=data)
    # clip_model.* weights (if a file kept them) are skipped like MDM skips them
    _resave(pt, {**sd, "clip_model.token_embedding.weight": torch.zeros(4, 4)})
    convert_mdm(pt, tmp_path / "o5", data=data)
    assert not any(k.startswith("clip") for k in load_checkpoint(tmp_path / "o5").state_dict)


class Payload:
    """Any class: unpickling it would import and call code."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_holding_more_than_weights_is_refused(tmp_path, capsys):
    pt = write_mdm_run(tmp_path / "m")
    sd = mdm_state_dict(263, 32, 2, 0)
    torch.save({**sd, "extra": Payload()}, pt)
    with pytest.raises(UnsafePickleError, match="refused.*only weights"):
        convert_mdm(pt, tmp_path / "o", data=tmp_path / "m" / "data")
    assert "this must never run" not in capsys.readouterr().out
    # a plain pickle (not a torch save) is not a checkpoint either
    bad = tmp_path / "m" / "model000000200.pt"
    bad.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError):
        convert_mdm(bad, tmp_path / "o2", data=tmp_path / "m" / "data")


def test_bad_inputs_say_what_to_fix(tmp_path, capsys):
    pt = write_mdm_run(tmp_path / "m")
    data = tmp_path / "m" / "data"
    with pytest.raises(ValueError, match="Mean.npy and Std.npy.*--data"):
        convert_mdm(pt, tmp_path / "o")
    with pytest.raises(FileNotFoundError, match="args.json not found"):
        convert_mdm(pt, tmp_path / "o", args=tmp_path / "nope.json", data=data)
    for extra, msg in [({"arch": "gru"}, "arch 'gru'"), ({"dataset": "humanact12"}, "dataset 'humanact12'"),
                       ({"text_encoder_type": "bert"}, "text_encoder_type 'bert'"),
                       ({"context_len": 20}, "prefix completion"), ({"noise_schedule": "linear"}, "noise_schedule")]:
        write_mdm_run(tmp_path / "m", extra_args=extra)
        with pytest.raises(MDMConversionError, match=msg):
            convert_mdm(pt, tmp_path / "o", data=data)
    write_mdm_run(tmp_path / "m")
    np.save(data / "Std.npy", np.ones(251, np.float32))
    with pytest.raises(ValueError, match="251 values.*263 features"):
        convert_mdm(pt, tmp_path / "o", data=data)
    np.save(data / "Std.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a plain .npy"):
        convert_mdm(pt, tmp_path / "o", data=data)
    write_mdm_run(tmp_path / "m")
    convert_mdm(pt, tmp_path / "o", data=data)
    with pytest.raises(ValueError, match="not empty.*--overwrite"):
        convert_mdm(pt, tmp_path / "o", data=data)
    convert_mdm(pt, tmp_path / "o", data=data, overwrite=True)
    assert main(["convert", "mdm", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x")]) == 2
    assert "no such MDM checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("cond_mask_prob, guidance", [(0.1, 2.5), (0.0, 1.0)])
def test_a_model_trained_without_text_dropout_samples_without_guidance(tmp_path, cond_mask_prob, guidance):
    pt = write_mdm_run(tmp_path / "run", extra_args={"cond_mask_prob": cond_mask_prob})
    out = convert_mdm(pt, tmp_path / "out", data=tmp_path / "run" / "data", clip_path=TINY_CLIP)
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.config.default_guidance == guidance  # MDM itself uses 1 when no text was ever dropped
