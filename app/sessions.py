"""Per-user output folders and their clean-up.

Every request writes into its own fresh folder `outputs/<session>/<request>/`, so two users (or two
tabs of one user) never overwrite each other's files. A janitor thread deletes folders older than a
maximum age, and a session's folder goes when its browser tab closes."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
import uuid
from pathlib import Path

log = logging.getLogger("easytune.app")

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _safe_name(text: str | None) -> str:
    name = _SAFE.sub("", text or "")[:64]
    return name or "anonymous"


class OutputFolders:
    """Hands out fresh per-request folders under `root` and removes old ones."""

    def __init__(self, root: Path, max_age_s: float, sweep_every_s: float, also=()):
        self.root = Path(root)
        self.max_age_s = float(max_age_s)
        self.sweep_every_s = float(sweep_every_s)
        self.also = list(also)  # more sweeps run with this one: callables (max_age_s, now) -> removed count
        self.root.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def new(self, session: str | None) -> Path:
        """A new empty folder for one request of `session` (the gradio session hash)."""
        folder = self.root / _safe_name(session) / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=False)
        return folder

    def drop_session(self, session: str | None) -> None:
        """Delete everything a session wrote (called when its tab closes)."""
        shutil.rmtree(self.root / _safe_name(session), ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete request folders older than `max_age_s` and empty session folders, then run the `also`
        sweeps; returns the count removed."""
        now = time.time() if now is None else now
        removed = 0
        for session in list(self.root.glob("*")):
            if not session.is_dir():
                continue
            for request in list(session.glob("*")):
                try:
                    age = now - request.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age > self.max_age_s:
                    shutil.rmtree(request, ignore_errors=True) if request.is_dir() else request.unlink(missing_ok=True)
                    removed += 1
            try:
                session.rmdir()  # only succeeds when empty
            except OSError:
                pass
        for extra in self.also:
            removed += extra(self.max_age_s, now)
        return removed

    def start(self) -> None:
        """Start the background janitor (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="easytune-janitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.sweep_every_s):
            try:
                removed = self.sweep()
                if removed:
                    log.info("janitor removed %d old output folders", removed)
            except Exception:  # the janitor must never take the app down
                log.exception("output sweep failed")
