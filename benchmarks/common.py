"""What every benchmark shares: the repository paths, and writing a result as JSON + markdown
stamped with the git commit, the device, the torch version and the date.

    from common import RESULTS, write_results          # benchmarks/ is on sys.path when run as a script
    write_results(RESULTS / "sampling", data, markdown, device="cpu")

Importing this module puts the repository root on ``sys.path`` so a benchmark run as
``python benchmarks/x.py`` from anywhere imports ``easytune_core`` (and ``tests.support`` for the
smoke modes) from this checkout.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""
RESULTS = ROOT / "benchmarks" / "results"
"""Current results; superseded ones move to RESULTS / "archive" as <date>_<commit>_<name>.{json,md}."""
ASSETS = ROOT / "assets"
"""Shipped checkpoints (assets/checkpoints/{base,reward,evaluator,easytune})."""

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = ["ROOT", "RESULTS", "ASSETS", "git_commit", "device_description", "stamp", "stamp_line", "write_results",
           "first_caption"]


def git_commit(root: Path = ROOT) -> str:
    """Short hash of HEAD, with ``-dirty`` when tracked files differ from it ("unknown" outside git)."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_description(device: Optional[str] = None) -> str:
    """"cpu (x86_64, AMD EPYC, 2 cores, no native bf16)" or "cuda (NVIDIA H100 80GB HBM3)": what the
    numbers were measured on. CPU timings differ a lot between CPU models and with native bf16
    (AVX512-BF16 / AMX), so both are part of the description where the system reports them."""
    import torch

    device = str(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        return f"cuda ({torch.cuda.get_device_name(index)})"
    parts = [platform.machine() or "unknown"]
    model, flags = _cpuinfo()
    if model:
        parts.append(model)
    parts.append(f"{os.cpu_count()} cores")
    if flags is not None:
        parts.append("native bf16" if flags & {"avx512_bf16", "amx_bf16"} else "no native bf16")
    return f"cpu ({', '.join(parts)})"


def _cpuinfo() -> tuple[str, set[str] | None]:
    """(model name, flags) from /proc/cpuinfo; ("", None) where it cannot be read (not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return "", None
    model, flags = "", None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = " ".join(value.split())
        elif key == "flags" and flags is None:
            flags = set(value.split())
    return model, flags


def stamp(device: Optional[str] = None) -> dict:
    """The provenance of a result: commit, device, torch and Python versions, UTC date and time."""
    import torch

    now = _dt.datetime.now(_dt.timezone.utc)
    return {"commit": git_commit(), "date": now.strftime("%Y-%m-%d"), "time_utc": now.strftime("%H:%M:%S"),
            "device": device_description(device), "torch": torch.__version__, "python": platform.python_version()}


def stamp_line(s: dict) -> str:
    """The stamp as the last line of a markdown result."""
    return f"_Stamp: commit {s.get('commit', '?')}, {s.get('date', '?')}, {s.get('device', '?')}, torch {s.get('torch', '?')}._"


def write_results(out: Path | str, data: dict, markdown: str, device: Optional[str] = None,
                  stamp_override: Optional[dict] = None) -> tuple[Path, Path]:
    """Write ``<out>.json`` (``data`` plus a ``stamp``) and ``<out>.md`` (``markdown`` plus the stamp line).

    Args:
        out: path without suffix, e.g. ``RESULTS / "sampling"``; its folder is created.
        device: the device the numbers were measured on (default: CUDA when present, else CPU).
        stamp_override: a stamp to use instead of a new one (re-rendering old results keeps theirs).
    Returns: the two paths written.
    """
    out = Path(out)
    if out.suffix in (".json", ".md"):
        out = out.with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    s = dict(stamp_override or data.get("stamp") or stamp(device))
    payload: dict[str, Any] = {"stamp": s, **{k: v for k, v in data.items() if k != "stamp"}}
    json_path, md_path = Path(f"{out}.json"), Path(f"{out}.md")
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown.rstrip("\n") + "\n\n" + stamp_line(s) + "\n")
    return json_path, md_path


def first_caption(root: Path, name: str) -> str:
    """The first caption of motion ``name`` in a HumanML3D-layout folder (``texts/<name>.txt``)."""
    return (Path(root) / "texts" / f"{name}.txt").read_text(encoding="utf-8").splitlines()[0].split("#")[0].strip()
