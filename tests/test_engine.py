"""The background engine: finish + register, cancel, failure, refusal of a second job, bad jobs."""

import threading
import time

import numpy as np
import pytest

from easytune_core.checkpoints import CheckpointRegistry, load_checkpoint, save_checkpoint
from easytune_core.finetune.engine import EngineBusy, FinetuneEngine, FinetuneJob
from easytune_core.finetune.io import CheckpointIO
import torch

from test_finetune_helpers import D, batch, sampler, small_config, tiny_denoiser, tiny_reward, tiny_trainer


@pytest.fixture
def registry(tmp_path):
    root = tmp_path / "ckpts"
    model = tiny_denoiser()
    save_checkpoint(root / "base", model, model.config, "denoiser", np.zeros(D), np.ones(D))
    rm = tiny_reward()
    save_checkpoint(root / "reward", rm, rm.config, "reward", np.zeros(D), np.ones(D))
    return CheckpointRegistry(root)


def tiny_runner(gate: threading.Event = None, fail_at: int = 0):
    """A finetune runner on tiny models; optionally blocks on ``gate`` or raises at a step."""

    def run(ctx):
        model = tiny_denoiser()

        def on_event(e):
            ctx.emit(e)
            if gate is not None:
                gate.wait(5)
            if fail_at and e["step"] == fail_at:
                raise RuntimeError("reward server exploded")

        result = tiny_trainer(ctx.job.config, model=model, run_dir=ctx.run_dir, cancel=ctx.cancel,
                              io=CheckpointIO(model.config, np.zeros(D), np.ones(D)), callbacks=[on_event]).train()
        return {"status": result.status, "message": result.message, "checkpoint": result.checkpoint}

    return run


def test_finished_job_registers_its_checkpoint(registry, tmp_path):
    engine = FinetuneEngine(registry, tmp_path / "runs", runners={"finetune": tiny_runner()})
    job_id = engine.submit(FinetuneJob(name="tiny-run", config=small_config(max_steps=3)))
    st = engine.wait(job_id, 30)
    assert st["state"] == "finished" and st["step"] == 3 and st["registered"] == ["tiny-run"]
    assert "tiny-run" in registry.list("denoiser")
    load_checkpoint(registry.get("tiny-run"), expected_kind="denoiser")
    assert [e["step"] for e in engine.events(job_id)] == [1, 2, 3]
    assert [e["step"] for e in engine.events(job_id, since=2)] == [3]
    engine.shutdown()


def test_second_submit_is_refused_while_one_runs_then_cancel_registers(registry, tmp_path):
    gate = threading.Event()
    engine = FinetuneEngine(registry, tmp_path / "runs", runners={"finetune": tiny_runner(gate)})
    first = engine.submit(FinetuneJob(name="long", config=small_config(max_steps=1000)))
    with pytest.raises(EngineBusy, match="already"):
        engine.submit(FinetuneJob(name="other", config=small_config(max_steps=2)))
    while engine.status(first)["step"] < 1:
        time.sleep(0.01)
    # sampling another checkpoint keeps working while the job runs (the job trains its own copy)
    other = tiny_denoiser(seed=5)
    x0 = sampler(4).sample(other, *batch()[:2], guidance=2.0, init_noise=batch()[2])
    assert engine.status(first)["state"] == "running" and torch.isfinite(x0).all()
    engine.cancel(first)
    gate.set()
    st = engine.wait(first, 30)
    assert st["state"] == "cancelled" and 1 <= st["step"] < 1000
    assert "long" in registry.list("denoiser")  # a cancelled job still leaves its checkpoint
    ckpt = load_checkpoint(registry.get("long"), expected_kind="denoiser")
    assert ckpt.meta["optimiser_steps"] == st["step"]
    # and the engine takes the next job
    nxt = engine.submit(FinetuneJob(name="after", config=small_config(max_steps=2)))
    assert engine.wait(nxt, 30)["state"] == "finished"
    engine.shutdown()


def test_exception_marks_the_job_failed_and_the_engine_stays_usable(registry, tmp_path):
    engine = FinetuneEngine(registry, tmp_path / "runs", runners={"finetune": tiny_runner(fail_at=2)})
    bad = engine.submit(FinetuneJob(name="bad", config=small_config(max_steps=5)))
    st = engine.wait(bad, 30)
    assert st["state"] == "failed" and "reward server exploded" in st["message"]
    assert "bad" not in registry.list()
    engine.runners["finetune"] = tiny_runner()
    good = engine.submit(FinetuneJob(name="good", config=small_config(max_steps=2)))
    assert engine.wait(good, 30)["state"] == "finished"
    engine.shutdown()


def test_bad_jobs_are_refused_at_submit(registry, tmp_path):
    engine = FinetuneEngine(registry, tmp_path / "runs", runners={"finetune": tiny_runner()})
    with pytest.raises(ValueError, match="no denoiser checkpoint"):
        engine.submit(FinetuneJob(base="nope", config=small_config()))
    with pytest.raises(ValueError, match="prompt list is empty"):
        FinetuneJob(prompts=["  ", ""])
    with pytest.raises(ValueError, match="job kind"):
        FinetuneJob(kind="dance")
    with pytest.raises(ValueError, match="unknown method"):
        FinetuneJob(config={"method": "ppo"})
    with pytest.raises(KeyError):
        engine.status("job999")
    assert not engine.busy()
    engine.shutdown()


def test_a_restarted_engine_never_reuses_an_earlier_run_or_name(registry, tmp_path):
    runs = tmp_path / "runs"
    first = FinetuneEngine(registry, runs, runners={"finetune": tiny_runner()})
    st = first.wait(first.submit(FinetuneJob(config=small_config(max_steps=2))), 30)
    assert st["state"] == "finished" and st["name"] == "easytune-job1"
    kept = (runs / "job1-easytune-job1" / "metrics.jsonl").read_text()
    first.shutdown()

    again = FinetuneEngine(registry, runs, runners={"finetune": tiny_runner()})  # e.g. after an app restart
    st2 = again.wait(again.submit(FinetuneJob(config=small_config(max_steps=2))), 30)
    assert st2["state"] == "finished" and st2["id"] == "job2" and st2["name"] == "easytune-job2"
    assert (runs / "job1-easytune-job1" / "metrics.jsonl").read_text() == kept  # the earlier run is untouched
    assert {"easytune-job1", "easytune-job2"} <= set(registry.list("denoiser"))
    # a name that is registered already (a run's, or a shipped model's) is refused, not replaced
    for taken in ("easytune-job1", "base"):
        with pytest.raises(ValueError, match=f"named '{taken}' already exists"):
            again.submit(FinetuneJob(name=taken, config=small_config(max_steps=2)))
    assert registry.get("easytune-job1") == runs / "job1-easytune-job1" / "checkpoint"
    again.shutdown()


def test_a_run_whose_registration_fails_says_where_its_checkpoint_is(registry, tmp_path):
    gate = threading.Event()
    engine = FinetuneEngine(registry, tmp_path / "runs", runners={"finetune": tiny_runner(gate)})
    job_id = engine.submit(FinetuneJob(name="kept", config=small_config(max_steps=2)))
    registry._file.parent.mkdir(parents=True, exist_ok=True)
    registry._file.write_text("[]")  # damaged while the job runs (it waits on the gate at each step)
    gate.set()
    st = engine.wait(job_id, 30)
    assert st["state"] == "failed" and "registry.json" in st["message"]
    assert str(tmp_path / "runs" / "job1-kept" / "checkpoint") in st["message"]
    load_checkpoint(tmp_path / "runs" / "job1-kept" / "checkpoint", expected_kind="denoiser")  # nothing is lost
    assert registry._file.read_text() == "[]"
    engine.shutdown()
