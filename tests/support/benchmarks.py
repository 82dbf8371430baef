"""Loading a script of benchmarks/ as a module in tests (the folder is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(script: str, name: str | None = None):
    """The module ``benchmarks/<script>``, freshly executed under ``name`` (default: the file's stem)."""
    path = BENCHMARKS / script
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
