"""`convert mld` end to end on a small random MLD checkpoint saved as PyTorch Lightning saves it
(weights under "state_dict", other objects beside them), with the tiny CLIP in tests/data."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.cli import main as cli_main
from easytune_core.diffusion.latent import LatentDenoiser, LatentDenoiserConfig, MotionVAE, VAEConfig
from easytune_core.interop.safe_load import UnsafePickleError, load_state_dict

TINY_CLIP = Path(__file__).parent / "data" / "tiny_clip"
OURS_TO_MLD = [(r"\.down\.", ".input_blocks."), (r"\.mid\.", ".middle_block."), (r"\.up\.", ".output_blocks."),
               (r"\.merge\.", ".linear_blocks."), (r"\.cross_attn\.", ".multihead_attn."), (r"^in_proj\.", "skel_embedding."),
               (r"^dist_tokens$", "global_motion_token"), (r"^enc_pos$", "query_pos_encoder.pe"),
               (r"^dec_pos$", "query_pos_decoder.pe"), (r"^out_proj\.", "final_layer."), (r"^time_mlp\.", "time_embedding."),
               (r"^text_proj\.", "emb_proj."), (r"^pos$", "query_pos.pe")]


class TrainingConfig:
    """A configuration object saved beside the weights (as Lightning saves hyper-parameters);
    loading must not run its code."""

    def __init__(self):
        self.lr = 1e-4

    def __setstate__(self, state):
        Path(os.environ["MLD_TEST_MARK"]).touch()
        self.__dict__.update(state)


class Payload:
    """A pickle that would run a shell command while loading."""

    def __reduce__(self):
        return (os.system, ("touch " + str(Path(os.environ["MLD_TEST_MARK"])),))


def mld_names(sd: dict, prefix: str) -> dict:
    out = {}
    for k, v in sd.items():
        if k == "null_text":
            continue
        for pat, rep in OURS_TO_MLD:
            k = re.sub(pat, rep, k)
        if k.endswith(".pe"):
            v = v[:, None]  # MLD keeps positions as (N, 1, W)
        out[prefix + k] = v
    return out


@pytest.fixture()
def mld_file(tmp_path):
    torch.manual_seed(0)
    vae = MotionVAE(VAEConfig(latent_tokens=1, width=16, layers=3, heads=4, ff=32)).eval()
    den = LatentDenoiser(LatentDenoiserConfig(latent_tokens=1, latent_dim=16, width=16, text_dim=512, layers=3,
                                              heads=4, ff=32)).eval()
    state = {**mld_names(vae.state_dict(), "vae."), **mld_names(den.state_dict(), "denoiser.")}
    state["denoiser.mem_pos.pe"] = torch.zeros(500, 1, 16)
    state["t2m_textencoder.weight"] = torch.zeros(3)  # the evaluator networks MLD saves alongside
    os.environ["MLD_TEST_MARK"] = str(tmp_path / "executed")
    ckpt = {"state_dict": state, "epoch": 3, "pytorch-lightning_version": "1.8.0",
            "hyper_parameters": {"cfg": TrainingConfig()}}
    torch.save(ckpt, tmp_path / "mld.ckpt")
    data = tmp_path / "hml"
    data.mkdir()
    np.save(data / "Mean.npy", np.zeros(263, np.float32))
    np.save(data / "Std.npy", np.ones(263, np.float32))
    return tmp_path / "mld.ckpt", data, vae, den


def test_convert_mld_gives_a_latent_folder_that_reproduces_the_modules(mld_file, tmp_path, capsys):
    ckpt, data, vae, den = mld_file
    out = tmp_path / "converted"
    assert cli_main(["convert", "mld", "--checkpoint", str(ckpt), "--out", str(out), "--data", str(data),
                     "--clip-path", str(TINY_CLIP), "--heads", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["latent"] is True
    assert not (tmp_path / "executed").exists(), "loading ran code the checkpoint named"
    from easytune_core.pipeline import MotionPipeline
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.latent and pipe.default_guidance == 7.5 and pipe.text_encoder.name == "clip-vit-l-14"
    assert pipe.sampler(50).timesteps[:2].tolist() == [981, 961]
    z = torch.randn(2, 1, 16)
    mask = torch.ones(2, 30, dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(pipe.vae.decode(z, mask), vae.decode(z, mask))
        text = pipe.encode(["a person walks", "a person jumps"])
        t = torch.tensor([10, 900])
        torch.testing.assert_close(pipe.model(z, t, text), den(z, t, text))
        # the unconditional text is the encoder's embedding of "", as MLD's classifier-free guidance
        torch.testing.assert_close(pipe.model.null_text[0], pipe.encode([""])[0])
    r = pipe.generate(["a person waves"], seconds=1.5, steps=5)
    assert r.joints.shape == (1, 30, 22, 3) and np.isfinite(r.joints).all()


def test_convert_mld_refuses_what_it_cannot_read(mld_file, tmp_path, capsys):
    ckpt, data, _, _ = mld_file
    assert cli_main(["convert", "mld", "--checkpoint", str(ckpt), "--out", str(tmp_path / "o"),
                     "--clip-path", str(TINY_CLIP)]) == 2
    assert "hold no feature statistics" in capsys.readouterr().err
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {"vae.x": torch.zeros(1), "denoiser.y": [1, 2]}}, bad)
    with pytest.raises(UnsafePickleError, match="not tensors"):
        load_state_dict(bad)
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"vae.x": torch.zeros(1)}, "callbacks": Payload()}, evil)
    with pytest.raises(UnsafePickleError, match="nothing was executed"):
        load_state_dict(evil)
    assert not (tmp_path / "executed").exists()
    mdm_like = tmp_path / "frame.ckpt"
    torch.save({"state_dict": {"denoiser.pose_embd.weight": torch.zeros(2, 2), "denoiser.x": torch.zeros(1),
                               "vae.y": torch.zeros(1)}}, mdm_like)
    assert cli_main(["convert", "mld", "--checkpoint", str(mdm_like), "--out", str(tmp_path / "o2"), "--data", str(data),
                     "--clip-path", str(TINY_CLIP)]) == 2
    assert "only latent MLD models" in capsys.readouterr().err
    assert cli_main(["convert", "mld", "--checkpoint", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "o3"),
                     "--data", str(data)]) == 2
    assert "no such file" in capsys.readouterr().err
    for name, std in (("short", np.ones(200, np.float32)), ("zero", np.zeros(263, np.float32))):
        np.save(tmp_path / f"std_{name}.npy", std)
        assert cli_main(["convert", "mld", "--checkpoint", str(ckpt), "--out", str(tmp_path / f"o_{name}"),
                         "--mean", str(data / "Mean.npy"), "--std", str(tmp_path / f"std_{name}.npy"),
                         "--clip-path", str(TINY_CLIP), "--heads", "4"]) == 2
        assert ("expects 263 of each" if name == "short" else "every std above 0") in capsys.readouterr().err
        assert not (tmp_path / f"o_{name}").exists()
