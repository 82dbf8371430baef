"""The engine's default runners on tiny real checkpoints and a tiny synthetic dataset: SPL, then EasyTune."""

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import CheckpointRegistry, load_checkpoint, save_checkpoint
from easytune_core.data.layout import write_humanml3d_folder
from easytune_core.data.synth import synthesize_sample
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
from easytune_core.finetune import FinetuneConfig
from easytune_core.finetune.engine import FinetuneEngine, FinetuneJob
from easytune_core.reward import RewardConfig, RewardModel


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine_real")
    samples = []
    for i in range(20):
        s = synthesize_sample(i)
        samples.append((f"{i:04d}", s.joints, s.captions))
    write_humanml3d_folder(root / "data", samples, split_fracs=(0.6, 0.2, 0.2), mirror=False)
    mean, std = np.load(root / "data" / "Mean.npy"), np.load(root / "data" / "Std.npy")
    torch.manual_seed(0)
    den = MotionDenoiser(DenoiserConfig(width=16, layers=1, heads=2, ff=32))
    save_checkpoint(root / "ckpts" / "base", den, den.config, "denoiser", mean, std)
    rm = RewardModel(RewardConfig(width=16, layers=1, heads=2, ff=32, embed_dim=8))
    save_checkpoint(root / "ckpts" / "reward", rm, rm.config, "reward", mean, std, meta={"max_t": 500})
    return root


@pytest.mark.slow
def test_spl_then_easytune_registers_both_checkpoints(setup):
    registry = CheckpointRegistry(setup / "ckpts")
    engine = FinetuneEngine(registry, setup / "runs", device="cpu")
    cfg = FinetuneConfig(sampler_steps=3, select="last:2", max_steps=2, batch_size=2, max_frames=24, lr=1e-3,
                         warmup=0, precision="fp32")
    job = engine.submit(FinetuneJob(kind="spl+finetune", name="spl-et", config=cfg, data_root=str(setup / "data"),
                                    spl_steps=2, spl_batch_size=4))
    st = engine.wait(job, 240)
    assert st["state"] == "finished", st["message"]
    assert st["registered"] == ["spl-et-reward", "spl-et"]
    load_checkpoint(registry.get("spl-et-reward"), expected_kind="reward")
    ckpt = load_checkpoint(registry.get("spl-et"), expected_kind="denoiser")
    assert ckpt.meta["reward"] == st["reward_checkpoint"]  # fine-tuned against the refined reward
    stages = [e.get("stage") for e in engine.events(job)]
    assert stages[0] == "spl" and stages.count("finetune") == 2
    assert [e["spl_step"] for e in engine.events(job) if "spl_step" in e] == [1, 2]
    engine.shutdown()
