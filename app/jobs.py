"""The Fine-tune tab's view of the core's background engine (one job at a time for all users).

Translates the form into a `FinetuneJob`, and the engine's status and events into what the tab
shows: state, step counter, elapsed time, peak memory, the curves, and a zip of the result."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

RUN_FILES = ("model.safetensors", "config.json", "stats.safetensors")


class AppJobs:
    """Wraps `easytune_core.finetune.engine.FinetuneEngine` for the UI and the API."""

    def __init__(self, engine, backend, batch_size: int = 4, frames: int = 60):
        self.engine = engine
        self.backend = backend
        self.batch_size = batch_size
        self.frames = frames
        self._zip_lock = threading.Lock()

    def start(self, request: dict) -> str:
        """Submit a job from the Fine-tune form (already checked by the tab); returns its id.
        A second job while one runs is refused with the engine's message (ValueError for the UI)."""
        from easytune_core.finetune.config import FinetuneConfig
        from easytune_core.finetune.engine import EngineBusy, FinetuneJob

        cfg = self.backend.config
        k, sample_steps, select = request["k"], request["sample_steps"], f"last:{request['k']}"
        if request.get("init") and _few_step(request["init"]):
            # a few-step model trains on its own short trajectories, every step selected
            sample_steps = min(sample_steps, 4)
            k, select = min(k, sample_steps), "all"
        fc = FinetuneConfig(
            method=request["method"], sampler_steps=sample_steps, select=select, k=k,
            m=min(k, sample_steps), weighting=request["weighting"], lr=request["lr"],
            warmup=min(10, max(0, request["steps"] // 10)), max_steps=request["steps"],
            lora_rank=request["rank"] if request["lora"] else 0, batch_size=self.batch_size,
            frames=self.frames, max_frames=max(self.frames, 40), save_every=max(1, request["steps"] // 4),
            extra={"started_from": "app", "init": request.get("init_name")})
        kind = {"generator": "finetune", "spl": "spl", "spl+generator": "spl+finetune"}[request["kind"]]
        job = FinetuneJob(kind=kind, config=fc, name=request.get("name"),
                          base=str(request["init"]) if request.get("init") else "base",
                          reward=str(cfg.checkpoints_dir / "reward"), prompts=request.get("prompts"),
                          data_root=str(cfg.data_dir), spl_steps=max(1, min(request["steps"], 200)))
        if request.get("prompts") is None and not (cfg.data_dir / "Mean.npy").exists():
            raise ValueError(f"the train split needs the built-in dataset at {cfg.data_dir} (a first start prepares it in the background within a few minutes), or create it with "
                             f"`python -m easytune_core prepare-data --out {cfg.data_dir}`, or choose 'My prompts'")
        if kind != "finetune" and not (cfg.data_dir / "Mean.npy").exists():
            raise ValueError(f"SPL trains on the dataset at {cfg.data_dir} (a first start prepares it in the background within a few minutes), or create it with "
                             f"`python -m easytune_core prepare-data --out {cfg.data_dir}`")
        try:
            return self.engine.submit(job)
        except EngineBusy as exc:
            raise ValueError(str(exc)) from None

    def status(self, job_id: str | None = None) -> dict:
        """Everything the tab shows about a job (default: the latest one, whoever started it)."""
        try:
            st = self.engine.status(job_id)
        except KeyError as exc:
            if job_id is None:
                return {"state": "idle"}
            raise ValueError(f"{exc.args[0]}: leave the job id empty to see the current job") from None
        events = [e for e in self.engine.events(st["id"]) if "step" in e]
        now = st["finished"] or time.time()
        last = events[-1] if events else {}
        out = {
            "id": st["id"], "name": st["name"], "kind": st["kind"], "method": st["method"], "state": st["state"],
            "step": st["step"], "total_steps": st["max_steps"],
            "elapsed_s": round(now - st["started"], 1) if st["started"] else 0.0,
            "peak_memory_mb": last.get("peak_memory"), "reward": st["reward"],
            "error": st["message"] if st["state"] == "failed" else None, "message": st["message"],
            "checkpoint": _generator_name(st), "registered": st["registered"],
            "events": [{"step": e["step"], "reward": e.get("reward"), "loss": e.get("loss")} for e in events],
        }
        if st["state"] in ("finished", "cancelled") and st["checkpoint"]:
            out["files"] = self._download(Path(st["checkpoint"]), st["name"])
        return out

    def cancel(self, job_id: str | None = None) -> dict:
        """Ask the job to stop after its current optimiser step; it keeps a valid checkpoint."""
        try:
            self.engine.cancel(job_id)
        except KeyError:
            raise ValueError("no fine-tuning job to cancel") from None
        return self.status(job_id)

    def _download(self, folder: Path, name: str) -> list[Path]:
        """A zip of the run's checkpoint folder (re-uploadable in the Compare tab), made once."""
        target = folder.parent / f"{name}.zip"
        with self._zip_lock:
            if not target.exists() and folder.exists():
                tmp = shutil.make_archive(str(folder.parent / f".{name}"), "zip", root_dir=folder.parent,
                                          base_dir=folder.name)
                Path(tmp).rename(target)
        return [target] if target.exists() else []


def _few_step(folder) -> bool:
    """Whether a checkpoint folder holds a few-step (consistency) model."""
    from easytune_core.checkpoints import read_config

    try:
        return read_config(folder)["config"].get("sampler") == "consistency"
    except Exception:  # the engine reports a broken folder itself
        return False


def _generator_name(st: dict) -> str | None:
    """The registered generator checkpoint's name (SPL-only jobs register a reward model instead)."""
    if st["kind"] == "spl" or st["state"] not in ("finished", "cancelled"):
        return None
    return st["name"] if st["name"] in st.get("registered", []) else None


def make_engine(backend) -> AppJobs:
    """The engine registers results in the app's registry (runs_dir/registry.json). On ZeroGPU (or
    with EASYTUNE_CHUNK_STEPS set) generator fine-tuning runs in save-and-resume chunks."""
    from easytune_core.finetune.engine import FinetuneEngine

    from .zerogpu import chunk_steps_from_env, chunked_finetune_runner

    cfg = backend.config
    chunk = chunk_steps_from_env()
    runners = {"finetune": chunked_finetune_runner(chunk)} if chunk else None
    engine = FinetuneEngine(backend.registry, runs_root=cfg.runs_dir / "finetune", device=backend.device,
                            runners=runners)
    return AppJobs(engine, backend)
