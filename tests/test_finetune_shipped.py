"""The shipped EasyTune checkpoint: loads like the base, differs from it, and records how it was made."""

from pathlib import Path

import torch

from easytune_core.checkpoints import load_checkpoint

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "checkpoints"


def test_shipped_easytune_is_the_base_model_fine_tuned_with_easytune():
    et = load_checkpoint(ASSETS / "easytune", expected_kind="denoiser")
    base = load_checkpoint(ASSETS / "base", expected_kind="denoiser")
    assert et.config == base.config and set(et.state_dict) == set(base.state_dict)
    assert (et.mean == base.mean).all() and (et.std == base.std).all()
    changed = [k for k in et.state_dict if not torch.equal(et.state_dict[k], base.state_dict[k])]
    assert len(changed) > len(et.state_dict) // 2
    ft = et.meta["finetune"]
    assert ft["method"] == "easytune" and ft["select"] == "last:10" and et.meta["optimiser_steps"] > 100
    assert "python -m easytune_core finetune" in ft["extra"]["command"]
