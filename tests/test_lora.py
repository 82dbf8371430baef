"""LoRA adapters on the denoiser: zero-init, merge equivalence, save-alone round trip, base view."""

import torch

from easytune_core.finetune.lora import (BaseView, add_lora, has_lora, load_lora_state_dict, lora_disabled,
                                         lora_state_dict, merge_lora, merged_state_dict)
from test_finetune_helpers import batch, tiny_denoiser


def _out(model, x, text, mask):
    t = torch.tensor([5, 50, 90])
    with torch.no_grad():
        return model(x, t, text, mask)


def _perturb(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def test_fresh_adapter_changes_nothing_and_only_adapters_train():
    text, mask, x = batch()
    model = tiny_denoiser()
    before = _out(model, x, text, mask)
    names = add_lora(model, rank=2)
    assert any("in_proj_weight" in n for n in names) and any("linear1" in n for n in names)
    assert any("out_proj" in n for n in names)
    assert not any("input_proj" in n or "time_mlp" in n for n in names)  # not attention / feed-forward
    torch.testing.assert_close(_out(model, x, text, mask), before)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_merged_and_unmerged_give_the_same_outputs():
    text, mask, x = batch()
    model = tiny_denoiser()
    add_lora(model, rank=3, alpha=6.0)
    _perturb(model)
    unmerged = _out(model, x, text, mask)
    assert not torch.allclose(unmerged, _out(tiny_denoiser(), x, text, mask))  # the adapter does something
    # merged weights into a plain, un-adapted model
    plain = tiny_denoiser(seed=123)
    plain.load_state_dict(merged_state_dict(model))
    torch.testing.assert_close(_out(plain, x, text, mask), unmerged, rtol=1e-5, atol=1e-6)
    # merging in place
    merge_lora(model)
    assert not has_lora(model)
    torch.testing.assert_close(_out(model, x, text, mask), unmerged, rtol=1e-5, atol=1e-6)


def test_adapters_save_alone_and_load_back():
    text, mask, x = batch()
    a = tiny_denoiser()
    add_lora(a, rank=2)
    _perturb(a, seed=4)
    state = lora_state_dict(a)
    assert state and all(".lora_" in k for k in state)
    b = tiny_denoiser()
    add_lora(b, rank=2)
    load_lora_state_dict(b, state)
    torch.testing.assert_close(_out(b, x, text, mask), _out(a, x, text, mask))
    c = tiny_denoiser()
    add_lora(c, rank=4)
    try:
        load_lora_state_dict(c, {k + "x": v for k, v in state.items()})
    except ValueError as err:
        assert "do not match" in str(err)
    else:
        raise AssertionError("mismatched adapters must be refused")


def test_base_view_is_the_frozen_base():
    text, mask, x = batch()
    model = tiny_denoiser()
    base_out = _out(model, x, text, mask)
    add_lora(model, rank=2)
    _perturb(model)
    view = BaseView(model)
    torch.testing.assert_close(_out(view, x, text, mask), base_out)
    assert view.config is model.config
    with lora_disabled(model):
        torch.testing.assert_close(_out(model, x, text, mask), base_out)
    assert not torch.allclose(_out(model, x, text, mask), base_out)
