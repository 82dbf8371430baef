"""The app's only door into `easytune_core`: checkpoints by name, cached pipelines, paired sampling
with shared noise, scores, exports, video, fine-tuning jobs and evaluation.

Imports of the core (torch models, renderers) happen on first use, so `python app.py` serves the
page within seconds and loads models while the first request runs."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from easytune_core.limits import FPS
from easytune_core.shipped import world_of

from .config import AppConfig
from .uploads import stage_upload

log = logging.getLogger("easytune.app")

SHIPPED = {"base (shipped)": "base", "easytune (shipped)": "easytune",
           "everyday base (shipped)": "everyday_base", "everyday easytune (shipped)": "everyday_easytune",
           "latent (shipped)": "latent", "latent easytune (shipped)": "latent_easytune",
           "few-step (shipped)": "fewstep", "few-step easytune (shipped)": "fewstep_easytune"}
SIDE_COLORS = {"A": "#3b73d9", "B": "#e6731f"}  # the same blue/orange in the 3D views and the mp4


def pick_device(requested: str | None = None) -> str:
    """`requested`, else CUDA when present, else CPU."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class SideResult:
    """One side of a comparison: the motion, its scores and its downloadable files."""

    side: str
    checkpoint: str
    joints: np.ndarray  # (T, 22, 3) metres, Y up (KIT-ML models: (T, 21, 3))
    features: np.ndarray  # (T, 263) de-normalised HumanML3D features (KIT-ML: 251)
    reward: float | None = None
    matching_distance: float | None = None
    files: dict[str, Path] = field(default_factory=dict)
    steps: int | None = None  # sampler steps this side used
    guidance: float | None = None  # guidance this side used
    seconds: float | None = None  # sampling time of this side
    shared_noise: bool = True  # started from the same initial noise as the other side
    fps: float = FPS  # the model's frame rate (20 HumanML3D, 12.5 KIT-ML)
    world: str = "classic"  # built-in world the model was trained on (scored by that world's models)


class Backend:
    """Shared by every session; safe to call from gradio's worker threads."""

    def __init__(self, config: AppConfig):
        self.config = config
        self.device = pick_device(config.device)
        self._pipelines: OrderedDict[tuple, object] = OrderedDict()
        self._pipelines_lock = threading.Lock()
        # Sampling on one device from several threads is fine for inference, but a GPU has one
        # memory pool shared with the fine-tuning thread: serialise sampling there, not on CPU.
        self._sample_lock = threading.Lock() if self.device.startswith("cuda") else None
        self._uploads: dict[str, dict[str, Path]] = {}  # session -> {name: folder}: uploads stay private
        self._upload_notes: dict[tuple[str, str], str | None] = {}
        self._scorers: dict[str, object] = {}  # "" (default world) / "everyday_" -> Scorer
        self._scorer_lock = threading.Lock()
        self._registry = None
        self._engine = None
        self._engine_lock = threading.Lock()
        self._base_metrics: dict | None = None

    # ---- checkpoints ------------------------------------------------------------------------
    @property
    def registry(self):
        if self._registry is None:
            from easytune_core.checkpoints import CheckpointRegistry

            self.config.runs_dir.mkdir(parents=True, exist_ok=True)
            self._registry = CheckpointRegistry(self.config.runs_dir)
        return self._registry

    def _registered(self) -> dict[str, Path]:
        """Registered generator checkpoints (fine-tuning runs), name -> folder."""
        try:
            names = self.registry.list(kind="denoiser") + self.registry.list(kind="lora")
        except Exception:  # a broken registry must not hide the shipped models
            log.exception("could not read the checkpoint registry")
            return {}
        out = {}
        for name in names:
            try:
                folder = Path(self.registry.get(name))
            except KeyError:
                continue
            if folder.exists():
                out[name] = folder
        return out

    def checkpoint_choices(self, session: str | None = None) -> list[str]:
        """Names for the A/B dropdowns: shipped ones present on disk, registered runs (shared by all
        users), and the checkpoints this session uploaded."""
        names = [n for n, d in SHIPPED.items() if (self.config.checkpoints_dir / d).exists()]
        names += [n for n in self._registered() if n not in names]
        names += list(self._uploads.get(session or "", {}))
        return names

    def resolve(self, name: str, session: str | None = None) -> Path:
        """Checkpoint folder for a dropdown name; ValueError names the fix when unknown."""
        if name in SHIPPED:
            folder = self.config.checkpoints_dir / SHIPPED[name]
            if folder.exists():
                return folder
        uploads = self._uploads.get(session or "", {})
        if name in uploads:
            return uploads[name]
        registered = self._registered()
        if name in registered:
            return registered[name]
        raise ValueError(f"unknown checkpoint {name!r}: pick one from the list or upload one")

    def add_upload(self, files, session: str | None = None, label: str | None = None) -> str:
        """Validate an uploaded checkpoint, load it once, and make it selectable; returns its name."""
        folder = stage_upload(files, self.config.uploads_dir, self.config.max_upload_mb)
        note = None
        try:
            try:
                self._load_pipeline(folder)  # deep check: shapes, kinds, stats (CheckpointError is a ValueError)
            except Exception as exc:
                from easytune_core.text import TextEncoderUnavailable

                if not isinstance(exc, TextEncoderUnavailable):
                    raise
                # The weights are fine but their text encoder (e.g. CLIP) is not on this machine: keep the
                # model, check it without the encoder, and say what selecting it needs.
                from easytune_core.checkpoints import load_checkpoint, load_into
                from easytune_core.diffusion import DenoiserConfig, MotionDenoiser

                ckpt = load_checkpoint(folder, expected_kind="denoiser")
                if ckpt.config.get("space") == "latent":  # e.g. a converted MLD without CLIP ViT-L/14 here
                    from easytune_core.diffusion.latent.io import load_latent_model
                    load_latent_model(ckpt, "cpu")
                else:
                    load_into(MotionDenoiser(DenoiserConfig.from_dict(ckpt.config)), ckpt)
                note = f"It cannot sample here yet: {exc}"
        except Exception as exc:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, ValueError):
                raise
            raise ValueError(f"the uploaded checkpoint could not be loaded ({type(exc).__name__}: {exc})") from None
        name = f"upload: {label or folder.name}"
        self._uploads.setdefault(session or "", {})[name] = folder
        self._upload_notes[(session or "", name)] = note
        return name

    def upload_note(self, name: str, session: str | None = None) -> str | None:
        """What an uploaded checkpoint still needs before it can sample (None when nothing)."""
        return self._upload_notes.get((session or "", name))

    def drop_session(self, session: str | None) -> None:
        """Forget and delete the checkpoints a closed session uploaded."""
        import shutil

        for name, folder in self._uploads.pop(session or "", {}).items():
            self._upload_notes.pop((session or "", name), None)
            shutil.rmtree(folder, ignore_errors=True)

    def sweep_uploads(self, max_age_s: float, now: float | None = None) -> int:
        """Delete upload folders that no live session holds and that are older than ``max_age_s``
        (left by a session that never closed, or by an earlier run of the app); returns the count."""
        import shutil
        import time

        root = self.config.uploads_dir
        if not root.is_dir():
            return 0
        now = time.time() if now is None else now
        live = {Path(f).resolve() for uploads in list(self._uploads.values()) for f in list(uploads.values())}
        removed = 0
        for folder in root.iterdir():
            try:
                old = now - folder.stat().st_mtime > max_age_s
            except FileNotFoundError:
                continue
            if old and folder.is_dir() and folder.resolve() not in live:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def _load_pipeline(self, folder: Path):
        """Cached MotionPipeline for a folder; reloaded when its files change (a run saving again)."""
        from easytune_core.pipeline import MotionPipeline

        folder = Path(folder)
        stamp = max((p.stat().st_mtime_ns for p in folder.glob("*") if p.is_file()), default=0)
        key = (str(folder.resolve()), stamp)
        with self._pipelines_lock:
            if key in self._pipelines:
                self._pipelines.move_to_end(key)
                return self._pipelines[key]
            pipe = MotionPipeline.from_checkpoint(folder, device=self.device)
            self._pipelines[key] = pipe
            while len(self._pipelines) > 4:  # a few models fit; the least recently used goes
                self._pipelines.popitem(last=False)
            return pipe

    def pipeline(self, name: str, session: str | None = None):
        return self._load_pipeline(self.resolve(name, session))

    def is_few_step(self, name: str, session: str | None = None) -> bool:
        """Whether a checkpoint is a few-step (consistency) model; reads only its config.json."""
        from easytune_core.checkpoints import read_config

        try:
            return read_config(self.resolve(name, session))["config"].get("sampler") == "consistency"
        except Exception:  # unknown names and broken folders are reported by the request itself
            return False

    def warm_up(self) -> None:
        """Load the text encoder, the first two generators and the scorers ahead of the first request."""
        try:
            import time

            t0 = time.perf_counter()
            for name in self.checkpoint_choices()[:2]:
                self.pipeline(name)
            self._get_scorer()
            log.info("models loaded in %.1f s", time.perf_counter() - t0)
        except Exception:  # the first request will show the real error to the user
            log.exception("warm-up failed")

    # ---- compare ------------------------------------------------------------------------------
    def compare(self, prompt: str, seconds: float, seed: int, guidance: float, steps: int,
                name_a: str, name_b: str, session: str | None = None) -> list[SideResult]:
        """Sample `prompt` with checkpoints A and B from the same seed (and the same initial noise
        when both sample in the same space), then score both sides."""
        sides = self.sample(prompt, seconds, seed, guidance, steps, name_a, name_b, session)
        self.score(prompt, sides)
        return sides

    def sample(self, prompt: str, seconds: float, seed: int, guidance: float, steps: int,
               name_a: str, name_b: str, session: str | None = None) -> list[SideResult]:
        """Both sides' motions, without scores or files."""
        import torch

        from .zerogpu import gpu

        try:
            return gpu(self._sample_pair, duration=60)(prompt, seconds, seed, guidance, steps, name_a, name_b, session)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise ValueError("the GPU ran out of memory (a fine-tuning job may be using it): try a shorter motion "
                             "or again when the job ends") from None

    def _sample_pair(self, prompt, seconds, seed, guidance, steps, name_a, name_b, session=None) -> list[SideResult]:
        import time

        import torch

        pipe_a, pipe_b = self.pipeline(name_a, session), self.pipeline(name_b, session)
        fps = float(getattr(pipe_a, "fps", FPS))
        frames = int(round(seconds * fps))
        if pipe_a.feature_dim != pipe_b.feature_dim:
            raise ValueError(f"{name_a} and {name_b} use different motion formats ({pipe_a.feature_dim} vs "
                             f"{pipe_b.feature_dim} features): compare two checkpoints of one format")
        # the same initial noise when both sample in the same space; a frame-space model against a
        # latent one each draw their own from the seed
        shared = pipe_a.noise_shape(1, frames) == pipe_b.noise_shape(1, frames)
        noise = pipe_a.make_noise(1, frames, seed) if shared else None
        for pipe in (pipe_a, pipe_b):
            pipe.encode([prompt])  # fills the (shared) text cache before the two threads read it

        def one(side: str, name: str, pipe) -> SideResult:
            n_steps, w = side_settings(pipe, steps, guidance)
            t0 = time.perf_counter()
            with self._sampling(), torch.inference_mode():
                res = pipe.generate([prompt], frames=frames, seed=seed, guidance=w, steps=n_steps,
                                    init_noise=noise.clone() if noise is not None else None)
            n = int(res.lengths[0])
            return SideResult(side, name, np.asarray(res.joints[0][:n], np.float32),
                              np.asarray(res.features[0][:n], np.float32), steps=n_steps, guidance=w,
                              seconds=time.perf_counter() - t0, shared_noise=shared,
                              fps=float(getattr(pipe, "fps", FPS)), world=world_of(getattr(pipe, "meta", None)))

        # A and B are independent given the shared noise: on CPU they run side by side, which keeps
        # both cores busy with small single-motion batches; on CUDA the sampling lock orders them.
        return _both(lambda: one("A", name_a, pipe_a), lambda: one("B", name_b, pipe_b))

    def _sampling(self):
        return self._sample_lock if self._sample_lock is not None else _NullLock()

    def score(self, prompt: str, sides: list[SideResult]) -> None:
        """Fill each side's reward and evaluator matching distance (None when a model is missing).

        All sides are scored by one reward model and one evaluator, so their scores compare: the
        everyday world's (``everyday_reward``, ``everyday_evaluator``) when any side was trained on
        that world and they are shipped (its actions include every classic one, while the classic
        models know about thirty and would score an everyday prompt blindly), else the default
        (classic) ones."""
        everyday = any(getattr(s, "world", "classic") == "everyday" for s in sides)
        scorer = self._get_scorer("everyday_" if everyday else "")
        if scorer is None and everyday:
            scorer = self._get_scorer("")
        if scorer is None:
            return
        try:
            rewards, distances = scorer(prompt, [s.features for s in sides])
        except Exception:
            log.exception("scoring failed; showing motions without scores")
            return
        for s, r, d in zip(sides, rewards, distances):
            s.reward, s.matching_distance = r, d

    def _get_scorer(self, prefix: str = ""):
        """The scorer of the shipped ``<prefix>reward`` and ``<prefix>evaluator`` (None when neither is there)."""
        with self._scorer_lock:
            if prefix not in self._scorers:
                from .scoring import Scorer

                self._scorers[prefix] = Scorer(self.config.checkpoints_dir, self.device, prefix=prefix)
            scorer = self._scorers[prefix]
            return scorer if scorer.available else None

    def export(self, side: SideResult, folder: Path) -> dict[str, Path]:
        """Write GLB, BVH, SMPL-style NPZ, joints and features of one side into `folder`."""
        from easytune_core.render import export as ex
        from easytune_core.render.glb import write_glb

        stem = f"motion_{side.side}"
        files = {"glb": folder / f"{stem}.glb"}
        color = SIDE_COLORS[side.side]
        write_glb(files["glb"], [side.joints], colors=[color], fps=side.fps, labels=[side.side])
        files["bvh"] = ex.save_bvh(folder / f"{stem}.bvh", side.joints, fps=side.fps)
        files["npz"] = ex.save_smpl_npz(folder / f"{stem}_smpl.npz", side.joints, fps=side.fps)
        files["joints"] = folder / f"{stem}_joints.npy"
        np.save(files["joints"], side.joints)
        files["features"] = folder / f"{stem}_features.npy"
        np.save(files["features"], side.features)
        side.files = files
        return files

    def export_both(self, sides: list[SideResult], folder: Path) -> None:
        """`export` for both sides at once (parallel threads: GLB skinning, IK and file writing)."""
        _both(lambda: self.export(sides[0], folder), lambda: self.export(sides[1], folder))

    def export_view(self, side: SideResult, folder: Path) -> dict[str, Path]:
        """What the first view needs (the GLB) plus the raw arrays (cheap), for the deferred exports."""
        from easytune_core.render.glb import write_glb

        stem = f"motion_{side.side}"
        files = {"glb": folder / f"{stem}.glb", "joints": folder / f"{stem}_joints.npy",
                 "features": folder / f"{stem}_features.npy"}
        write_glb(files["glb"], [side.joints], colors=[SIDE_COLORS[side.side]], fps=side.fps, labels=[side.side])
        np.save(files["joints"], side.joints)
        np.save(files["features"], side.features)
        side.files = dict(files)
        return files

    def export_view_both(self, sides: list[SideResult], folder: Path) -> None:
        if len(sides) == 2:
            _both(lambda: self.export_view(sides[0], folder), lambda: self.export_view(sides[1], folder))
        else:
            for side in sides:
                self.export_view(side, folder)

    def export_rest(self, side: SideResult, folder: Path) -> dict[str, Path]:
        """The downloads that may follow the first view: BVH and SMPL NPZ (both run IK)."""
        from easytune_core.render import export as ex

        stem = f"motion_{side.side}"
        side.files["bvh"] = ex.save_bvh(folder / f"{stem}.bvh", side.joints, fps=side.fps)
        side.files["npz"] = ex.save_smpl_npz(folder / f"{stem}_smpl.npz", side.joints, fps=side.fps)
        return side.files

    def render_video(self, path: Path, sides: list[dict], prompt: str) -> Path:
        """mp4 of both bodies side by side with their labels and the prompt."""
        from easytune_core.render.video import render_video

        render_video(path, [np.asarray(s["joints"]) for s in sides],
                     [f"{s['side']}: {s['checkpoint']}" for s in sides], prompt, fps=float(sides[0].get("fps", FPS)),
                     colors=[SIDE_COLORS.get(s["side"], "#888888") for s in sides])
        return Path(path)

    # ---- fine-tuning --------------------------------------------------------------------------
    @property
    def engine(self):
        with self._engine_lock:
            if self._engine is None:
                from .jobs import make_engine

                self._engine = make_engine(self)
            return self._engine

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluate(self, name: str, repeats: int = 2, samples: int = 64, session: str | None = None,
                 progress=None) -> dict:
        """Quick evaluator metrics for a checkpoint (see app.evaluation)."""
        from .evaluation import quick_evaluate

        return quick_evaluate(self, name, self.resolve(name, session), repeats=repeats, samples=samples,
                              progress=progress)


def side_settings(pipe, steps: int, guidance: float) -> tuple[int, float]:
    """(steps, guidance) one side samples with: few-step models use at most their own step count
    (4) and a guidance inside the range they were distilled for; other models use the request's."""
    if not getattr(pipe, "few_step", False):
        return int(steps), float(guidance)
    lo, hi = pipe.config.guidance_range
    return min(int(steps), int(pipe.default_steps)), float(min(max(guidance, lo), hi))


def _both(first, second) -> list:
    """Run two callables in parallel threads; results in order, the first error re-raised."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="easytune-ab") as pool:
        futures = [pool.submit(first), pool.submit(second)]
        return [f.result() for f in futures]


class _NullLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
