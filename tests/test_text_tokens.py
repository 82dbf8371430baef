"""Token-conditioned denoisers (``text_tokens`` > 0): the text input, the silent start from a pooled
checkpoint, condition dropout, the token-state cache, training, sampling and fine-tuning through them."""

import dataclasses
import json

import pytest
import torch

from easytune_core.checkpoints import CheckpointError, load_checkpoint, load_into, save_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.diffusion.denoiser import TOKEN_MODULES, DenoiserConfig, MotionDenoiser
from easytune_core.pipeline import MotionPipeline
from easytune_core.text import get_text_encoder

from test_diffusion_train import TINY, make_folder

SMALL = DenoiserConfig(feature_dim=12, text_dim=8, width=16, layers=2, heads=2, ff=32, dropout=0.0, max_frames=40)


@pytest.fixture(scope="module")
def enc():
    return get_text_encoder("minilm", device="cpu")


def text_input(pooled, lengths, dim=8, seed=0):
    """(B, 1 + L, dim): pooled rows, then random token states of the given lengths, zero padding."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(len(lengths), 1 + max(lengths), dim)
    out[:, 0] = pooled
    for i, n in enumerate(lengths):
        out[i, 1:1 + n] = torch.randn(n, dim, generator=g)
    return out


def test_condition_rows_are_pooled_then_tokens_then_zero_padding(enc):
    caps = ["a person walks forward then sits down", "someone waves", ""]
    c = enc.condition(caps, 64)
    tok, mask = enc.encode_tokens(caps[:2])
    assert c.shape == (3, 1 + int(mask.sum(1).max()), 384) and c.dtype == torch.float32
    assert torch.equal(c[:, 0], enc.encode(caps))
    real = c[:, 1:].abs().amax(-1) > 0
    assert real.sum(1).tolist() == [int(mask[0].sum()), int(mask[1].sum()), 0]  # the empty text has no tokens
    torch.testing.assert_close(c[0, 1:1 + int(mask[0].sum())], tok[0][mask[0]], atol=2e-3, rtol=2e-3)  # float16 store
    assert enc.condition(caps, 3).shape == (3, 4, 384)  # cut at max_tokens
    assert torch.equal(enc.condition([caps[1]], 64)[0, :1 + int(mask[1].sum())], c[1, :1 + int(mask[1].sum())])
    with pytest.raises(ValueError, match="max_tokens"):
        enc.condition(caps, 0)
    with pytest.raises(ValueError, match="list of strings"):
        enc.condition("a person", 4)


def test_token_cache_round_trip_and_bad_files(enc, tmp_path):
    c = enc.condition(["a person crawls", "a person sits down"], 64)
    assert enc.save_token_cache(tmp_path / "t.safetensors") >= 2
    fresh = type(enc)(enc.name, enc.dim, enc.kind, None, device="cpu")  # no model: must hit the caches
    fresh.load_cache(tmp_path / "none.safetensors")
    enc.save_cache(tmp_path / "p.safetensors")
    assert fresh.load_cache(tmp_path / "p.safetensors") >= 2
    assert fresh.load_token_cache(tmp_path / "t.safetensors") >= 2
    assert torch.equal(fresh.condition(["a person crawls", "a person sits down"], 64), c)
    assert fresh.load_token_cache(tmp_path / "missing.safetensors") == 0
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    assert fresh.load_token_cache(tmp_path / "bad.safetensors") == 0
    other = type(enc)("other", enc.dim, enc.kind, None)
    assert other.load_token_cache(tmp_path / "t.safetensors") == 0  # another encoder's cache is not read


def test_a_pooled_checkpoint_loads_into_a_token_model_and_computes_the_same():
    torch.manual_seed(0)
    pooled = MotionDenoiser(SMALL).eval()
    tokens = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=6)).eval()
    state = pooled.state_dict()
    with pytest.raises(RuntimeError):
        tokens.load_state_dict(state)
    tokens.load_state_dict(state, strict=False)
    p = torch.randn(3, 8)
    c = text_input(p, [4, 9, 1])
    x, t = torch.randn(3, 20, 12), torch.tensor([5, 400, 999])
    mask = torch.ones(3, 20, dtype=torch.bool)
    mask[1, 12:] = False
    with torch.no_grad():
        assert torch.equal(tokens(x, t, c, mask), pooled(x, t, p, mask))  # the token path starts silent
        assert torch.equal(pooled(x, t, c, mask), pooled(x, t, p, mask))  # a pooled model reads row 0


def test_token_path_reads_the_tokens_and_is_silenced_when_the_text_is_dropped():
    torch.manual_seed(0)
    model = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=6)).eval()
    for attn in model.cross_attn:
        torch.nn.init.normal_(attn.out_proj.weight, std=0.3)
    p = torch.randn(2, 8)
    a, b = text_input(p, [3, 5], seed=1), text_input(p, [3, 5], seed=2)
    x, t = torch.randn(2, 16, 12), torch.tensor([100, 100])
    with torch.no_grad():
        ya, yb = model(x, t, a), model(x, t, b)
        assert (ya - yb).abs().max() > 1e-3  # same pooled vector, other tokens: another prediction
        assert torch.equal(model(x, t, a, uncond=True), model(x, t, b, uncond=True))  # dropped: tokens unseen
        # padding rows beyond a sample's tokens and beyond text_tokens change nothing
        longer = torch.cat([a, torch.zeros(2, 4, 8)], dim=1)
        torch.testing.assert_close(model(x, t, longer), ya)
        cut = text_input(p, [3, 9], seed=1)
        cut6 = cut.clone()
        cut6[:, 7:] = 0
        torch.testing.assert_close(model(x, t, cut), model(x, t, cut6))
        # a text with no tokens at all (the empty prompt) gets no cross-attention and no NaN
        none = text_input(p, [0, 0])
        out = model(x, t, none)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, model(x, t, none[:, :1]))
        # the inference fast path (padded batch) agrees with torch's layers
        mask = torch.ones(2, 16, dtype=torch.bool)
        mask[0, 10:] = False
        fast = model(x, t, a, mask)
    with torch.enable_grad():
        slow = model(x, t, a, mask)
    torch.testing.assert_close(fast, slow.detach(), atol=1e-5, rtol=1e-5)


def test_token_model_refuses_pooled_input_and_bad_shapes():
    model = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=4)).eval()
    x, t = torch.randn(1, 8, 12), torch.tensor([3])
    with pytest.raises(ValueError, match="token states"):
        model(x, t, torch.randn(1, 8))
    with pytest.raises(ValueError, match="text input must be"):
        model(x, t, torch.randn(1, 3, 5))
    with pytest.raises(ValueError, match="text_tokens"):
        DenoiserConfig(text_tokens=-1)


def test_load_into_allows_only_the_named_new_modules(tmp_path):
    pooled = MotionDenoiser(SMALL)
    save_checkpoint(tmp_path / "p", pooled, SMALL, "denoiser")
    ck = load_checkpoint(tmp_path / "p", expected_kind="denoiser")
    tokens = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=4))
    with pytest.raises(CheckpointError, match="missing"):
        load_into(tokens, ck)
    load_into(tokens, ck, new_modules=TOKEN_MODULES)
    assert torch.equal(tokens.input_proj.weight, pooled.input_proj.weight)
    wider = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=4, ff=48))
    with pytest.raises(CheckpointError, match="shape"):
        load_into(wider, ck, new_modules=TOKEN_MODULES)


def test_train_base_grows_a_token_path_from_a_pooled_model(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    first = tmp_path / "pooled"
    assert cli_main(["train-base", "--data", str(data), "--out", str(first), "--steps", "3", *TINY]) == 0
    second = tmp_path / "tokens"
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "4", "--lr", "1e-3",
                     "--init", str(first), "--text-tokens", "8", *TINY]) == 0
    ck = load_checkpoint(second, expected_kind="denoiser")
    assert ck.config["text_tokens"] == 8 and "--text-tokens 8" in ck.meta["command"]
    assert any(k.startswith("cross_attn.") for k in ck.state_dict)
    assert float(ck.state_dict["cross_attn.0.out_proj.weight"].abs().max()) > 0  # the token path trained
    assert (data / ".cache" / "tokens_minilm.safetensors").exists()
    capsys.readouterr()
    # it samples, and the pipeline hands it pooled embeddings plus token states
    pipe = MotionPipeline.from_checkpoint(second, device="cpu")
    assert pipe.text_tokens == 8
    emb = pipe.encode(["a person jumps", "a person waves both hands"])
    assert emb.dim() == 3 and emb.shape[0] == 2 and emb.shape[1] <= 9
    assert pipe.encode_pooled(["a person jumps"]).shape == (1, 384)
    r = pipe.generate(["a person jumps", "a person waves"], seconds=2, steps=3, seed=1)
    again = pipe.generate(["a person jumps", "a person waves"], seconds=2, steps=3, seed=1, text_emb=emb)
    assert r.joints.shape == (2, 40, 22, 3)
    assert again.features.shape == r.features.shape
    with pytest.raises(ValueError, match="text_emb must have shape"):
        pipe.generate(["a person jumps"], seconds=2, steps=2, text_emb=torch.zeros(1, 384))
    # resuming keeps the token path
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "5", "--resume",
                     "--init", str(first), "--text-tokens", "8", *TINY]) == 0
    assert load_checkpoint(second).meta["step"] == 5
    json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_finetuning_a_token_model_scores_the_pooled_text(tmp_path, capsys, monkeypatch):
    """EasyTune on a token model: the denoiser gets token states, the reward the pooled embeddings."""
    import numpy as np

    from easytune_core.reward import RewardConfig, RewardModel
    from easytune_core.reward.model import RewardModel as RM

    F = 263
    torch.manual_seed(0)
    den = MotionDenoiser(DenoiserConfig(feature_dim=F, width=16, layers=1, heads=2, ff=32, max_frames=40,
                                        text_tokens=8))
    save_checkpoint(tmp_path / "base", den, den.config, "denoiser", np.zeros(F), np.ones(F))
    rm = RewardModel(RewardConfig(feature_dim=F, width=16, layers=1, heads=2, ff=32, embed_dim=8, max_frames=40))
    save_checkpoint(tmp_path / "reward", rm, rm.config, "reward", np.zeros(F), np.ones(F), meta={"max_t": 500})
    seen = []
    original = RM.reward

    def spy(self, features, mask, text_emb, t=None):
        seen.append(tuple(text_emb.shape))
        return original(self, features, mask, text_emb, t)

    monkeypatch.setattr(RM, "reward", spy)
    out = tmp_path / "run"
    assert cli_main(["finetune", "--base", str(tmp_path / "base"), "--reward", str(tmp_path / "reward"),
                     "--out", str(out), "--prompt", "a person walks forward", "--prompt", "a person jumps",
                     "--sampler-steps", "4", "--batch-size", "2", "--frames", "12", "--lr", "1e-3",
                     "--warmup", "0", "--steps", "2", "--select", "last:1"]) == 0
    assert "finished: 2 optimiser steps" in capsys.readouterr().out
    assert seen and all(s == (2, 384) for s in seen)
    tuned = MotionPipeline.from_checkpoint(out / "checkpoint", device="cpu")
    assert tuned.text_tokens == 8
    assert np.isfinite(tuned.generate(["a person jumps"], frames=20, steps=2).features).all()
    # LoRA adapts the cross-attention blocks too (they are attention layers like the others)
    from easytune_core.finetune.lora import add_lora
    names = add_lora(MotionDenoiser(den.config), 2)
    assert any(n.startswith("cross_attn.") for n in names)
    lora_out = tmp_path / "lora"
    assert cli_main(["finetune", "--base", str(tmp_path / "base"), "--reward", str(tmp_path / "reward"),
                     "--out", str(lora_out), "--prompt", "a person walks forward", "--sampler-steps", "3",
                     "--batch-size", "2", "--frames", "12", "--lr", "1e-3", "--warmup", "0", "--steps", "1",
                     "--select", "last:1", "--lora-rank", "2"]) == 0
    assert np.isfinite(MotionPipeline.from_checkpoint(lora_out / "checkpoint", device="cpu")
                       .generate(["a person jumps"], frames=20, steps=2).features).all()


def test_cross_attention_fast_path_matches_torch_attention_with_and_without_lora():
    """The blocks run through scaled_dot_product_attention unless hooked or wrapped; both ways agree,
    also with LoRA parametrisations on the attention weights."""
    from easytune_core.finetune.lora import add_lora

    torch.manual_seed(0)
    model = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=6)).eval()
    for attn in model.cross_attn:
        torch.nn.init.normal_(attn.out_proj.weight, std=0.3)
    c = text_input(torch.randn(3, 8), [2, 6, 0], seed=3)
    x, t = torch.randn(3, 12, 12), torch.tensor([7, 70, 700])

    def both():
        with torch.no_grad():
            fast = model(x, t, c)
            hooks = [attn.register_forward_hook(lambda *a: None) for attn in model.cross_attn]
            slow = model(x, t, c)
            for h in hooks:
                h.remove()
        return fast, slow

    fast, slow = both()
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    add_lora(model, 2)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.2)
    adapted, adapted_slow = both()
    torch.testing.assert_close(adapted, adapted_slow, atol=1e-5, rtol=1e-5)
    assert (adapted - fast).abs().max() > 1e-4  # the adapters are read on the fast path


def test_inference_skips_dropped_rows_and_reuses_the_text_projections_within_a_run(monkeypatch):
    """At inference the cross-attention reads only the rows whose text is kept, and inside
    ``reuse_text`` the projections of the same token states are computed once: both give what the
    full computation gives, a changed text is projected again, and the memo ends with the block."""
    import contextlib

    from easytune_core.diffusion.sampler import DDIMSampler
    from easytune_core.diffusion.schedule import NoiseSchedule

    torch.manual_seed(0)
    model = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=6, diffusion_steps=100)).eval()
    for attn in model.cross_attn:
        torch.nn.init.normal_(attn.out_proj.weight, std=0.3)
    c = text_input(torch.randn(4, 8), [2, 6, 0, 4], seed=4)
    x, t = torch.randn(4, 12, 12), torch.tensor([7, 30, 50, 90])
    flags = torch.tensor([False, True, False, True])
    with torch.enable_grad():  # every row computed and multiplied by its gate
        full = model(x, t, c, uncond=flags).detach()
        none = model(x, t, c, uncond=True).detach()
    with torch.no_grad():
        torch.testing.assert_close(model(x, t, c, uncond=flags), full, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(x, t, c, uncond=True), none, atol=1e-5, rtol=1e-5)
        mask = torch.ones(4, 12, dtype=torch.bool)
        mask[0, 8:] = False
        for m in (None, mask):  # bf16 autocast: the blocks' bf16 output joins the stream as base + a does
            with torch.autocast("cpu", dtype=torch.bfloat16):
                fast = model(x, t, c, m, uncond=flags)
                model.text_reuse = False
                slow = model(x, t, c, m, uncond=flags)
                model.text_reuse = True
            assert fast.dtype == slow.dtype
            torch.testing.assert_close(fast.float(), slow.float(), atol=0.05, rtol=0.05)

    calls = []
    model.token_proj.register_forward_hook(lambda *a: calls.append(1))
    other = text_input(torch.randn(4, 8), [3, 1, 5, 2], seed=5)
    with torch.no_grad():
        fresh = [model(x + step, t, c, uncond=flags) for step in range(3)] + [model(x, t, other)]
    calls.clear()
    with torch.no_grad(), model.reuse_text():
        for step in range(3):  # a new tensor with the same values at every step, as a sampler passes
            torch.testing.assert_close(model(x + step, t, c.clone(), uncond=flags), fresh[step])
        assert len(calls) == 1  # one projection for three steps
        torch.testing.assert_close(model(x, t, other), fresh[3])
        assert len(calls) == 2  # another text is projected again
    assert model._text_memo() is None
    seen = {}

    def other_thread():  # another thread's calls are not served from this thread's memo
        with torch.no_grad():
            seen["out"] = model(x, t, other)
            seen["memo"] = model._text_memo()

    import threading
    with torch.no_grad(), model.reuse_text():
        model(x, t, c)
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert torch.equal(model._text_memo()["last"][0], c[[0, 1, 3], 1:7])  # the text-less row is skipped
    torch.testing.assert_close(seen["out"], fresh[3])
    assert seen["memo"] is None
    calls.clear()
    with torch.enable_grad(), model.reuse_text():  # with autograd nothing is kept
        model(x, t, c)
        model(x, t, c)
    assert len(calls) == 2

    # a guided DDIM run gives the same motion with and without the reuse
    sampler = DDIMSampler(NoiseSchedule("cosine", 100), steps=5)
    mask = torch.ones(4, 12, dtype=torch.bool)
    mask[1, 8:] = False
    noise = torch.randn(4, 12, 12, generator=torch.Generator().manual_seed(1))
    calls.clear()
    reused = sampler.sample(model, c, mask, guidance=2.5, init_noise=noise)
    assert len(calls) == 1  # the sampler opens reuse_text: one projection for five steps
    monkeypatch.setattr(model, "reuse_text", contextlib.nullcontext)
    plain = sampler.sample(model, c, mask, guidance=2.5, init_noise=noise)
    torch.testing.assert_close(reused, plain, atol=1e-5, rtol=1e-5)
    model.text_reuse = False  # the reference: every row and every projection computed at every step
    calls.clear()
    reference = sampler.sample(model, c, mask, guidance=2.5, init_noise=noise)
    torch.testing.assert_close(reused, reference, atol=1e-5, rtol=1e-5)
    assert len(calls) == 5
