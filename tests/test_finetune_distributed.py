"""Data-parallel fine-tuning with 2 CPU processes on gloo: own prompts, averaged gradients, rank 0 writes."""

import pytest
import json

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from easytune_core.finetune.distributed import DistInfo
from easytune_core.finetune.io import CheckpointIO
from test_finetune_helpers import D, small_config, tiny_denoiser, tiny_trainer

pytestmark = pytest.mark.slow  # two torchrun processes on gloo


def _worker(rank, world, root):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{root}/store", rank=rank, world_size=world)
    model = tiny_denoiser(seed=rank)  # different inits: the trainer must broadcast rank 0's
    seen = []

    def prompts(n, generator):
        batch = [f"prompt {i}" for i in torch.randint(0, 99, (n,), generator=generator).tolist()]
        seen.extend(batch)
        return batch, [8] * n

    trainer = tiny_trainer(small_config(max_steps=3), model=model, run_dir=f"{root}/run",
                           io=CheckpointIO(model.config, np.zeros(D), np.ones(D)), dist_info=DistInfo(rank, world),
                           prompts=prompts)
    result = trainer.train()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{root}/rank{rank}.safetensors")
    with open(f"{root}/rank{rank}.json", "w") as fh:
        json.dump({"steps": result.steps, "prompts": seen, "rewards": [e["reward"] for e in result.history]}, fh)
    dist.barrier()  # tearing gloo down while the other rank still uses it aborts (SIGABRT) now and then
    dist.destroy_process_group()


def test_two_gloo_ranks_stay_in_sync_and_rank0_writes(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k])  # same optimiser steps on every rank
    init = tiny_denoiser(seed=0).state_dict()
    assert any(not torch.equal(a[k], init[k]) for k in a)  # and it trained
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["steps"] == r1["steps"] == 3
    assert r0["prompts"] != r1["prompts"]  # each rank draws its own prompts
    assert r0["rewards"] == r1["rewards"]  # logged reward is the cross-rank mean
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3  # written once, by rank 0
    assert (tmp_path / "run" / "checkpoint" / "model.safetensors").exists()
