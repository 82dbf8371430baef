"""Hugging Face ZeroGPU support (optional). On ZeroGPU a GPU is attached only while a function
decorated with `spaces.GPU` runs, for a limited duration. So sampling runs inside such a function,
and fine-tuning runs in short chunks: each chunk trains a few optimiser steps, saves the run folder
(weights, optimiser state, step) and returns the GPU; the next chunk resumes from that folder.

Chunking also works without ZeroGPU (set EASYTUNE_CHUNK_STEPS), which is how it is tested."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable

ON_ZEROGPU = "SPACES_ZERO_GPU" in os.environ
ZEROGPU_CHUNK_STEPS = 20
"""Optimiser steps per GPU lease on ZeroGPU (a few seconds each with the shipped model)."""


def gpu(fn: Callable, duration: int = 60) -> Callable:
    """`spaces.GPU(fn, duration=...)` on ZeroGPU when the `spaces` package is importable, else `fn`."""
    if not ON_ZEROGPU:
        return fn
    try:
        import spaces  # type: ignore
    except ImportError:
        return fn
    return spaces.GPU(fn, duration=duration)


def chunk_steps_from_env() -> int:
    """Steps per chunk: EASYTUNE_CHUNK_STEPS if set, ZEROGPU_CHUNK_STEPS on ZeroGPU, else 0 (no chunks)."""
    value = os.environ.get("EASYTUNE_CHUNK_STEPS")
    if value:
        steps = int(value)
        if steps < 1:
            raise ValueError(f"EASYTUNE_CHUNK_STEPS must be a positive whole number, got {value}")
        return steps
    return ZEROGPU_CHUNK_STEPS if ON_ZEROGPU else 0


def chunked_finetune_runner(chunk_steps: int, duration: int = 120) -> Callable:
    """An engine runner for `finetune` jobs that trains `chunk_steps` optimiser steps per call of a
    (ZeroGPU-leased) function, saving and resuming the run folder between chunks."""
    if chunk_steps < 1:
        raise ValueError(f"chunk_steps must be at least 1, got {chunk_steps}")

    def run(ctx) -> dict:
        from easytune_core.finetune.build import build_trainer
        from easytune_core.finetune.prompts import ListPrompts, SplitPrompts

        job = ctx.job
        total = job.config.max_steps
        base, reward = ctx.resolve(job.base, "denoiser"), ctx.resolve(job.reward, "reward")
        if job.prompts is not None:
            prompts = ListPrompts(job.prompts, frames=job.config.frames or 120)
        else:
            prompts = SplitPrompts(job.data_root, "train", max_frames=job.config.max_frames)
        done, chunk = 0, 0

        def one_chunk(steps_so_far: int):
            cfg = dataclasses.replace(job.config, max_steps=min(total, steps_so_far + chunk_steps))
            trainer = build_trainer(cfg, base, reward, prompts, run_dir=ctx.run_dir, device=ctx.engine.device,
                                    callbacks=[lambda e: ctx.emit({"stage": "finetune", **e})],
                                    cancel=ctx.cancel, resume=steps_so_far > 0)
            return trainer.train()

        leased = gpu(one_chunk, duration=duration)
        while True:
            chunk += 1
            t0 = time.time()
            result = leased(done)
            done = result.steps
            ctx.emit({"stage": "chunk", "chunk": chunk, "saved_at_step": done, "seconds": round(time.time() - t0, 2)})
            if result.status != "finished" or done >= total:
                break
        message = result.message if result.status != "finished" else f"{done} steps in {chunk} chunks"
        return {"status": result.status, "message": message,
                "checkpoint": result.checkpoint if result.status != "failed" else None}

    return run
