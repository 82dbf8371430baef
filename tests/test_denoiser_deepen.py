"""Deepening a denoiser: ``train-base --init`` from a checkpoint with fewer encoder layers places its
layers among the new ones, which start as the identity, so the deeper model computes what the start
computed and training grows the new layers from there."""

import dataclasses

import pytest
import torch

from easytune_core.checkpoints import CheckpointError, Checkpoint, load_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.diffusion.denoiser import DenoiserConfig, MotionDenoiser, deepened_positions, load_start

from test_diffusion_train import TINY, make_folder

SMALL = DenoiserConfig(feature_dim=12, text_dim=8, width=16, layers=2, heads=2, ff=32, dropout=0.0, max_frames=40)


def checkpoint_of(model: MotionDenoiser) -> Checkpoint:
    return Checkpoint(kind="denoiser", config=model.config.to_dict(), state_dict=dict(model.state_dict()),
                      folder="start")


def inputs(text_dim=8, tokens=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, t = torch.randn(3, 20, 12, generator=g), torch.tensor([5, 400, 999])
    text = torch.randn(3, 1 + tokens, text_dim, generator=g) if tokens else torch.randn(3, text_dim, generator=g)
    mask = torch.ones(3, 20, dtype=torch.bool)
    mask[1, 12:] = False
    return x, t, text, mask


def test_positions_spread_the_old_layers_in_order():
    assert deepened_positions(4, 6) == [0, 1, 3, 4]
    assert deepened_positions(2, 4) == [0, 2]
    assert deepened_positions(3, 3) == [0, 1, 2]
    assert deepened_positions(1, 5) == [0]
    with pytest.raises(ValueError, match="at least as many layers"):
        deepened_positions(4, 3)


@pytest.mark.parametrize("tokens", [0, 5])
def test_a_deepened_model_computes_what_its_start_computed(tokens):
    torch.manual_seed(0)
    start = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=tokens)).eval()
    if tokens:  # a start whose token path is live, so the moved cross-attentions matter
        for attn in start.cross_attn:
            torch.nn.init.normal_(attn.out_proj.weight, std=0.3)
    deep = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=tokens, layers=5))
    assert load_start(deep, checkpoint_of(start)) == [1, 3, 4]
    deep.eval()
    x, t, text, mask = inputs(tokens=tokens)
    with torch.no_grad():
        a, b = start(x, t, text, mask), deep(x, t, text, mask)
        assert torch.allclose(a, b, atol=1e-6)
        assert torch.allclose(start(x, t, text, mask, uncond=True), deep(x, t, text, mask, uncond=True), atol=1e-6)
    # the start's layers sit at 0 and 2, unchanged
    for old, new in zip(range(2), deepened_positions(2, 5)):
        for (name, p), q in zip(start.encoder.layers[old].named_parameters(), deep.encoder.layers[new].parameters()):
            assert torch.equal(p, q), name
    # an added layer learns: its zeroed output projections get gradients
    deep.train()
    deep(x, t, text, mask).square().mean().backward()
    for j in (1, 3, 4):
        assert deep.encoder.layers[j].linear2.weight.grad.abs().sum() > 0


def test_a_pooled_start_can_gain_tokens_and_depth_together():
    torch.manual_seed(0)
    start = MotionDenoiser(SMALL).eval()
    deep = MotionDenoiser(dataclasses.replace(SMALL, text_tokens=4, layers=3))
    assert load_start(deep, checkpoint_of(start)) == [2]
    deep.eval()
    x, t, pooled, mask = inputs()
    text = torch.cat([pooled[:, None], torch.randn(3, 4, 8)], 1)
    with torch.no_grad():
        assert torch.allclose(start(x, t, pooled, mask), deep(x, t, text, mask), atol=1e-6)


def test_what_cannot_be_deepened_is_refused():
    start = MotionDenoiser(dataclasses.replace(SMALL, layers=3))
    with pytest.raises(CheckpointError, match="add layers to its start, not remove them"):
        load_start(MotionDenoiser(SMALL), checkpoint_of(start))
    post = dataclasses.replace(SMALL, norm_first=False)
    with pytest.raises(CheckpointError, match="only pre-norm"):
        load_start(MotionDenoiser(dataclasses.replace(post, layers=3)), checkpoint_of(MotionDenoiser(post)))
    with pytest.raises(CheckpointError, match="shape"):
        load_start(MotionDenoiser(dataclasses.replace(SMALL, ff=64, layers=3)), checkpoint_of(MotionDenoiser(SMALL)))
    # a checkpoint whose weights name a layer its config does not have
    bad = checkpoint_of(MotionDenoiser(SMALL))
    bad.config["layers"] = 1
    with pytest.raises(CheckpointError, match="belongs to a layer"):
        load_start(MotionDenoiser(dataclasses.replace(SMALL, layers=3)), bad)


def test_train_base_deepens_its_init_and_records_the_added_layers(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    first, second = tmp_path / "first", tmp_path / "second"
    assert cli_main(["train-base", "--data", str(data), "--out", str(first), "--steps", "3", *TINY]) == 0
    tiny = list(TINY)
    tiny[tiny.index("--layers") + 1] = "3"
    capsys.readouterr()
    # lr 1e-12: one step barely moves the weights, so the result shows where training started
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "1", "--lr", "1e-12",
                     "--init", str(first), *tiny]) == 0
    assert "encoder layers [1, 2] added" in capsys.readouterr().err
    ck = load_checkpoint(second)
    assert ck.config["layers"] == 3 and ck.meta["init"]["added_layers"] == [1, 2]
    start = load_checkpoint(first).state_dict
    for name, v in start.items():  # one layer deepened to three: it stays at 0 (deepened_positions(1, 3))
        assert float((ck.state_dict[name] - v).abs().max()) < 1e-4, name
    for j in (1, 2):
        assert float(ck.state_dict[f"encoder.layers.{j}.linear2.weight"].abs().max()) < 1e-4
    # fewer layers than the start: a clear error, nothing written
    tiny[tiny.index("--layers") + 1] = "1"
    assert cli_main(["train-base", "--data", str(data), "--out", str(tmp_path / "x"), "--init", str(second),
                     "--steps", "1", *tiny]) == 2
    assert "not remove them" in capsys.readouterr().err
    assert not (tmp_path / "x" / "config.json").exists()
