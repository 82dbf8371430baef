"""Settings of the web app: where models, runs and per-user outputs live, and the limits it enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from easytune_core.limits import DEFAULT_STEPS, MAX_STEPS

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


def _default_assets() -> Path:
    """$EASYTUNE_ASSETS, the installed package data or this checkout's assets/ (the first that
    holds checkpoints/); this checkout's assets/ when none does (the app then says so)."""
    from easytune_core.shipped import assets_dir

    return assets_dir(required=False) or REPO_ROOT / "assets"


def _env_flag(*names: str) -> bool:
    """True when the first of ``names`` that is set says so (1, true, yes, on)."""
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() in ("1", "true", "yes", "on")
    return False


@dataclass
class AppConfig:
    """Everything `create_app` needs; every path can be pointed elsewhere (tests use temp dirs)."""

    assets_dir: Path = field(default_factory=_default_assets)
    """Folder holding `checkpoints/{base,reward,evaluator,easytune}` and `examples.txt`."""

    runs_dir: Path = field(default_factory=lambda: _env_path("EASYTUNE_RUNS", REPO_ROOT / "runs"))
    """Where fine-tuning runs, uploads and the checkpoint registry are written."""

    outputs_dir: Path = field(default_factory=lambda: _env_path("EASYTUNE_OUTPUTS", REPO_ROOT / "outputs"))
    """Per-session output folders (GLB, BVH, NPZ, npy, mp4) live under here."""

    data_dir: Path = field(default_factory=lambda: _env_path("EASYTUNE_DATA", REPO_ROOT / "data" / "builtin"))
    """HumanML3D-layout dataset: its train split feeds fine-tuning, its test split the Evaluate tab."""

    device: str | None = None
    """torch device for sampling and fine-tuning; None picks CUDA when present, else CPU."""

    output_max_age_s: float = 2 * 3600.0
    """Per-session output folders older than this are deleted by the janitor."""

    cleanup_every_s: float = 600.0
    """How often the janitor sweeps `outputs_dir`."""

    max_queue: int = 64
    """Requests waiting in the queue beyond this are refused (the user is told to retry)."""

    compare_concurrency: int = 2
    """Compare requests served at once (each has its own output folder)."""

    max_upload_mb: float = 200.0
    """Largest accepted uploaded checkpoint (zip or files), in megabytes."""

    default_steps: int = DEFAULT_STEPS
    """Diffusion steps pre-selected in the Compare tab."""

    warm_up: bool = False
    """Load the shipped models in a background thread right after start-up (app.py turns it on)."""

    timer_s: float = 1.0
    """Polling interval of the fine-tuning status timer, in seconds."""

    mcp_server: bool = field(default_factory=lambda: _env_flag("EASYTUNE_MCP_SERVER", "GRADIO_MCP_SERVER"))
    """Also serve the API as an MCP server (tools named after the API endpoints) at /gradio_api/mcp/;
    needs the `mcp` package. Set EASYTUNE_MCP_SERVER=1 (or gradio's GRADIO_MCP_SERVER=true)."""

    def __post_init__(self) -> None:
        self.assets_dir = Path(self.assets_dir)
        self.runs_dir = Path(self.runs_dir)
        self.outputs_dir = Path(self.outputs_dir)
        self.data_dir = Path(self.data_dir)
        if self.output_max_age_s <= 0:
            raise ValueError(f"output_max_age_s must be positive, got {self.output_max_age_s}")
        if self.cleanup_every_s <= 0:
            raise ValueError(f"cleanup_every_s must be positive, got {self.cleanup_every_s}")
        if self.compare_concurrency < 1:
            raise ValueError(f"compare_concurrency must be at least 1, got {self.compare_concurrency}")
        if self.max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {self.max_queue}")
        if not 1 <= self.default_steps <= MAX_STEPS:
            raise ValueError(f"default_steps must be between 1 and {MAX_STEPS}, got {self.default_steps}")
        if self.timer_s <= 0:
            raise ValueError(f"timer_s must be positive, got {self.timer_s}")

    @property
    def checkpoints_dir(self) -> Path:
        """Shipped checkpoints: `base`, `reward`, `evaluator`, `easytune`."""
        return self.assets_dir / "checkpoints"

    @property
    def uploads_dir(self) -> Path:
        """Validated user uploads, unpacked into one folder each."""
        return self.runs_dir / "uploads"
