"""Background fine-tuning engine: one worker thread owns the training copy of the model.

Jobs: ``finetune`` (any method), ``spl`` (a short SPL stage on the reward model, registered as a new
reward checkpoint) and ``spl+finetune`` (SPL, then fine-tuning with the refined reward).

Policy: **one job at a time, no queue.** ``submit`` while a job is queued or running raises
:class:`EngineBusy` naming the running job, so a user never waits on an invisible queue; cancel it
or wait for it. The worker loads its own copy of the base model from disk, so sampling other
checkpoints (the app's Compare tab) keeps working while a job runs; only the registry file is
shared, and it has its own lock. An exception inside a job marks it ``failed`` with the message
and leaves the engine usable. A finished or cancelled job registers its checkpoint by name.

    engine = FinetuneEngine(runs_root="runs/finetune")   # registry: runs/finetune/registry.json + shipped
    job_id = engine.submit(FinetuneJob(name="my-run", config=FinetuneConfig(max_steps=50), prompts=[...]))
    engine.status(job_id); engine.events(job_id, since=0); engine.cancel(job_id)
"""

from __future__ import annotations

import dataclasses
import itertools
import queue
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..checkpoints import CheckpointError, CheckpointRegistry
from .config import FinetuneConfig

JOB_KINDS = ("finetune", "spl", "spl+finetune")
STATES = ("queued", "running", "finished", "cancelled", "failed")


class EngineBusy(RuntimeError):
    """A job is already queued or running."""


@dataclass
class FinetuneJob:
    """What to run. ``base`` and ``reward`` are registry names or checkpoint folders."""

    kind: str = "finetune"
    """finetune | spl | spl+finetune"""
    config: FinetuneConfig = field(default_factory=FinetuneConfig)
    """The fine-tuning run (ignored by ``spl``)."""
    name: Optional[str] = None
    """Registry name of the result (default: '<method>-<job id>'); letters, digits, - _ . only."""
    base: str = "base"
    reward: str = "reward"
    prompts: Optional[list] = None
    """A user's prompt list; None = captions of the dataset's train split."""
    data_root: str = "data/builtin"
    """HumanML3D-layout dataset (train split prompts; SPL training data)."""
    spl_steps: int = 200
    """Optimiser steps of the SPL stage."""
    spl_lr: float = 1e-5
    spl_batch_size: int = 64
    """Batch of the SPL stage (SPL mines pairs within a batch: keep it large)."""

    def __post_init__(self):
        if self.kind not in JOB_KINDS:
            raise ValueError(f"job kind must be one of {', '.join(JOB_KINDS)}, got {self.kind!r}")
        if isinstance(self.config, dict):
            self.config = FinetuneConfig.from_dict(self.config)
        if self.name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", self.name):
            raise ValueError(f"job name may use letters, digits, '-', '_' and '.' (max 64), got {self.name!r}")
        if self.prompts is not None:
            from .prompts import ListPrompts
            ListPrompts(self.prompts)  # raises on an empty or over-long list
        if self.spl_steps < 1:
            raise ValueError(f"spl_steps must be at least 1, got {self.spl_steps}")
        if self.spl_batch_size < 2:
            raise ValueError(f"spl_batch_size must be at least 2, got {self.spl_batch_size}")
        if not 0 < self.spl_lr <= 0.1:
            raise ValueError(f"spl_lr must be in (0, 0.1], got {self.spl_lr}")


@dataclass
class _Record:
    id: str
    job: FinetuneJob
    state: str = "queued"
    message: str = ""
    events: list = field(default_factory=list)
    checkpoint: Optional[str] = None
    reward_checkpoint: Optional[str] = None
    registered: list = field(default_factory=list)
    run_dir: Optional[str] = None
    created: float = field(default_factory=time.time)
    started: Optional[float] = None
    finished: Optional[float] = None
    cancel: threading.Event = field(default_factory=threading.Event)


class JobContext:
    """Handed to a job runner: the job, its run folder, the cancel flag and the event sink."""

    def __init__(self, engine: "FinetuneEngine", record: _Record):
        self.engine, self.record, self.job = engine, record, record.job
        self.run_dir = Path(record.run_dir)
        self.cancel = record.cancel

    def emit(self, event: dict) -> None:
        self.engine._add_event(self.record, dict(event))

    def resolve(self, name_or_folder: str, kind: str) -> Path:
        return self.engine.resolve(name_or_folder, kind)


Runner = Callable[[JobContext], dict]
"""runner(ctx) -> {"status": finished|cancelled|failed, "message": str, "checkpoint": folder|None,
"reward_checkpoint": folder|None}."""


class FinetuneEngine:
    """Runs fine-tuning jobs one at a time on a background worker thread.

    Args:
        registry: a CheckpointRegistry or its root folder (where results are registered); default
            ``<runs_root>/registry.json``, listing the shipped models wherever they are installed.
        runs_root: parent folder of the jobs' run folders.
        device: torch device for training (default CUDA when present).
        runners: override the job runners per kind (tests use tiny ones).
    """

    def __init__(self, registry=None, runs_root="runs/finetune", device: Optional[str] = None,
                 runners: Optional[dict] = None):
        if registry is None:  # results registered beside the runs; the shipped models wherever installed
            from ..shipped import assets_dir
            shipped = assets_dir(required=False)
            registry = CheckpointRegistry(runs_root, shipped_root=shipped / "checkpoints" if shipped else None)
        self.registry = registry if isinstance(registry, CheckpointRegistry) else CheckpointRegistry(registry)
        self.runs_root = Path(runs_root)
        self.device = device
        self.runners = {"finetune": run_finetune_job, "spl": run_spl_job, "spl+finetune": run_spl_then_finetune}
        self.runners.update(runners or {})
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()
        self._queue: "queue.Queue[Optional[_Record]]" = queue.Queue()
        self._ids = itertools.count(_first_free_id(self.runs_root))
        self._worker = threading.Thread(target=self._work, name="finetune-engine", daemon=True)
        self._worker.start()

    # -- public API -------------------------------------------------------------------------------
    def submit(self, job: FinetuneJob) -> str:
        """Start ``job``; returns its id. Raises EngineBusy if a job is queued or running, and
        ValueError / FileNotFoundError for a job that cannot run (unknown checkpoint, no prompts)."""
        if not isinstance(job, FinetuneJob):
            raise ValueError(f"submit expects a FinetuneJob, got {type(job).__name__}")
        if job.kind != "spl":
            self.resolve(job.base, "denoiser")
        self.resolve(job.reward, "reward")
        with self._lock:
            active = [r for r in self._records.values() if r.state in ("queued", "running")]
            if active:
                r = active[0]
                raise EngineBusy(f"a fine-tuning job is already {r.state} (id {r.id}, {r.job.name!r}); "
                                 "cancel it or wait until it ends, then submit again")
            job_id = f"job{next(self._ids)}"
            while any(self.runs_root.glob(f"{job_id}-*")):  # a folder made by another process meanwhile
                job_id = f"job{next(self._ids)}"
            if job.name is None:
                job = dataclasses.replace(job, name=f"{job.config.method if job.kind != 'spl' else 'spl'}-{job_id}")
            self._check_name_is_free(job)
            rec = _Record(job_id, job, run_dir=str(self.runs_root / f"{job_id}-{job.name}"))
            self._records[job_id] = rec
        self._queue.put(rec)
        return job_id

    def _check_name_is_free(self, job: "FinetuneJob") -> None:
        """A job never replaces a registered checkpoint or another job's result: its names must be new."""
        def names_of(j):
            return [j.name] + ([f"{j.name}-reward"] if j.kind == "spl+finetune" else [])

        taken = set(self.registry.list())
        for r in self._records.values():
            if r.state != "failed":  # a failed job registered nothing: its name may be used again
                taken.update(names_of(r.job))
        names = names_of(job)
        clash = [n for n in names if n in taken]
        if clash:
            raise ValueError(f"a checkpoint named {clash[0]!r} already exists; choose another name for this run")

    def status(self, job_id: Optional[str] = None) -> dict:
        """State of a job (default: the latest): id, name, kind, state, message, step, max_steps,
        reward, checkpoint, registered names, run_dir, times, num_events."""
        rec = self._get(job_id)
        with self._lock:
            last = rec.events[-1] if rec.events else {}
            steps = [e for e in rec.events if "step" in e]
            return {"id": rec.id, "name": rec.job.name, "kind": rec.job.kind, "method": rec.job.config.method,
                    "state": rec.state, "message": rec.message,
                    "step": steps[-1]["step"] if steps else 0, "max_steps": rec.job.config.max_steps,
                    "reward": steps[-1].get("reward") if steps else None, "last_event": last,
                    "checkpoint": rec.checkpoint, "reward_checkpoint": rec.reward_checkpoint,
                    "registered": list(rec.registered), "run_dir": rec.run_dir, "created": rec.created,
                    "started": rec.started, "finished": rec.finished, "num_events": len(rec.events)}

    def events(self, job_id: Optional[str] = None, since: int = 0) -> list[dict]:
        """Events of a job from index ``since`` on (poll with since = number already seen)."""
        rec = self._get(job_id)
        with self._lock:
            return [dict(e) for e in rec.events[max(0, int(since)):]]

    def cancel(self, job_id: Optional[str] = None) -> dict:
        """Ask a job to stop after its current optimiser step (a queued job never starts)."""
        rec = self._get(job_id)
        rec.cancel.set()
        return self.status(rec.id)

    def jobs(self) -> list[dict]:
        return [self.status(i) for i in list(self._records)]

    def busy(self) -> bool:
        with self._lock:
            return any(r.state in ("queued", "running") for r in self._records.values())

    def wait(self, job_id: Optional[str] = None, timeout: float = 60.0) -> dict:
        """Block until the job ends (or ``timeout`` seconds pass); returns its status."""
        rec = self._get(job_id)
        end = time.time() + timeout
        while time.time() < end and rec.state in ("queued", "running"):
            time.sleep(0.02)
        return self.status(rec.id)

    def shutdown(self) -> None:
        """Cancel whatever runs and stop the worker thread."""
        for rec in list(self._records.values()):
            rec.cancel.set()
        self._queue.put(None)
        self._worker.join(timeout=30)

    def resolve(self, name_or_folder: str, kind: str) -> Path:
        """Registry name or folder -> checkpoint folder; unknown ones raise ValueError."""
        try:
            return Path(self.registry.get(str(name_or_folder)))
        except KeyError:
            pass
        folder = Path(str(name_or_folder))
        if (folder / "config.json").is_file():
            return folder
        raise ValueError(f"no {kind} checkpoint named or found at {name_or_folder!r}; "
                         f"registered: {', '.join(self.registry.list(kind)) or 'none'}")

    # -- worker -----------------------------------------------------------------------------------
    def _get(self, job_id: Optional[str]) -> _Record:
        with self._lock:
            if job_id is None:
                if not self._records:
                    raise KeyError("no jobs yet")
                return self._records[list(self._records)[-1]]
            if job_id not in self._records:
                raise KeyError(f"no job with id {job_id!r}")
            return self._records[job_id]

    def _add_event(self, rec: _Record, event: dict) -> None:
        with self._lock:
            rec.events.append(event)

    def _set(self, rec: _Record, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(rec, k, v)

    def _work(self) -> None:
        while True:
            rec = self._queue.get()
            if rec is None:
                return
            if rec.cancel.is_set():
                self._set(rec, state="cancelled", message="cancelled before it started", finished=time.time())
                continue
            self._set(rec, state="running", started=time.time())
            try:
                Path(rec.run_dir).mkdir(parents=True, exist_ok=False)  # never into an earlier run's folder
                out = self.runners[rec.job.kind](JobContext(self, rec))
                state = out.get("status", "finished")
                self._set(rec, checkpoint=_str(out.get("checkpoint")),
                          reward_checkpoint=_str(out.get("reward_checkpoint")), message=out.get("message", ""))
                if state in ("finished", "cancelled"):
                    self._register(rec)
                self._set(rec, state=state, finished=time.time())
            except Exception as err:  # noqa: BLE001 - a job's failure must never kill the engine
                self._add_event(rec, {"error": str(err), "traceback": traceback.format_exc(limit=5)})
                self._set(rec, state="failed", message=f"{type(err).__name__}: {err}", finished=time.time())

    def _register(self, rec: _Record) -> None:
        names = []
        todo = []
        if rec.reward_checkpoint:
            todo.append((rec.job.name if rec.job.kind == "spl" else f"{rec.job.name}-reward", rec.reward_checkpoint,
                         "reward"))
        if rec.checkpoint:
            todo.append((rec.job.name, rec.checkpoint, "denoiser"))
        for name, folder, kind in todo:
            try:
                self.registry.register(name, folder, kind)
            except CheckpointError as err:
                raise CheckpointError(f"{err}. The run's {kind} checkpoint is saved in {folder}: load it from "
                                      "there") from err
            names.append(name)
        self._set(rec, registered=names)


def _first_free_id(runs_root: Path) -> int:
    """One more than the highest job number of the run folders (``job<N>-<name>``) already in
    ``runs_root``, so that a restarted engine never reuses an earlier run's folder or name."""
    highest = 0
    if runs_root.is_dir():
        for p in runs_root.iterdir():
            m = re.match(r"job(\d+)-", p.name)
            if m:
                highest = max(highest, int(m.group(1)))
    return highest + 1


def _str(x) -> Optional[str]:
    return None if x is None else str(x)


# -- default runners --------------------------------------------------------------------------------
def _prompts_for(job: FinetuneJob):
    from .prompts import ListPrompts, SplitPrompts
    if job.prompts is not None:
        return ListPrompts(job.prompts, frames=job.config.frames or 120)
    return SplitPrompts(job.data_root, "train", max_frames=job.config.max_frames)


def run_finetune_job(ctx: JobContext, reward_folder: Optional[Path] = None) -> dict:
    """Fine-tune the job's base model; events are the trainer's."""
    from .build import build_trainer
    job = ctx.job
    reward = reward_folder or ctx.resolve(job.reward, "reward")
    trainer = build_trainer(job.config, ctx.resolve(job.base, "denoiser"), reward, _prompts_for(job),
                            run_dir=ctx.run_dir, device=ctx.engine.device,
                            callbacks=[lambda e: ctx.emit({"stage": "finetune", **e})], cancel=ctx.cancel)
    result = trainer.train()
    return {"status": result.status, "message": result.message,
            "checkpoint": result.checkpoint if result.status != "failed" else None}


def run_spl_job(ctx: JobContext) -> dict:
    """A short SPL stage on the reward model (:func:`easytune_core.reward.train.train_reward` with
    ``spl=True``, docs/reward_eval.md); its events are ``{stage: "spl", spl_step, loss, spl, lr,
    seconds}``; cancel stops it early and keeps the model."""
    from ..reward.train import RewardTrainConfig, train_reward
    job = ctx.job
    out = ctx.run_dir / "reward"
    cfg = RewardTrainConfig(spl=True, init=str(ctx.resolve(job.reward, "reward")), out=str(out), data=job.data_root,
                            steps=job.spl_steps, lr=job.spl_lr, batch_size=job.spl_batch_size, eval_split="",
                            device=ctx.engine.device)
    ctx.emit({"stage": "spl", "message": f"SPL: {job.spl_steps} steps on {job.data_root}"})
    t0 = time.time()

    def on_step(e: dict) -> None:  # SPL steps are "spl_step": "step" stays the generator's optimiser step
        ctx.emit({"stage": "spl", "spl_step": e.get("step"), **{k: v for k, v in e.items() if k != "step"}})

    train_reward(cfg, on_step=on_step, cancel=ctx.cancel)
    ctx.emit({"stage": "spl", "message": "SPL done", "seconds": round(time.time() - t0, 2)})
    status = "cancelled" if ctx.cancel.is_set() else "finished"
    return {"status": status, "message": f"SPL reward saved in {out}", "reward_checkpoint": out}


def run_spl_then_finetune(ctx: JobContext) -> dict:
    """SPL on the reward, then fine-tuning with the refined reward."""
    spl = run_spl_job(ctx)
    if ctx.cancel.is_set():
        return {**spl, "status": "cancelled", "message": "cancelled during the SPL stage; the refined reward is kept"}
    out = run_finetune_job(ctx, reward_folder=Path(spl["reward_checkpoint"]))
    out["reward_checkpoint"] = spl["reward_checkpoint"]
    return out
