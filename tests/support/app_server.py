"""Serve the app in-process on a free local port (tests, benchmarks, screenshots), on tiny stand-in
checkpoints unless an assets folder is given."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(root: Path, assets_dir: Path | None = None, **config):
    """Launch the app on 127.0.0.1:<free port> without blocking; yields (url, demo); closes on exit.

    root: scratch folder for runs/outputs (and tiny assets unless `assets_dir` is given)."""
    from app import create_app, launch

    from .standins import build_tiny_assets

    root = Path(root)
    assets = Path(assets_dir) if assets_dir else build_tiny_assets(root / "assets")
    config.setdefault("runs_dir", root / "runs")
    config.setdefault("outputs_dir", root / "outputs")
    config.setdefault("data_dir", root / "no-data")
    demo = create_app(assets_dir=assets, **config)
    _, url, _ = launch(demo, prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        yield url, demo
    finally:
        demo.close()
        demo.easytune_folders.stop()
