"""Which package may import which: the evaluator never reaches the reward model's code, the core library
never reaches the app or gradio, and every module of the app is part of the app (none is only test
scaffolding). Imports are read from the source (module level and inside
functions alike) and followed through the package, so a lazy import deep in a helper counts too."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "easytune_core"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):  # a package wins, as in Python
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=None)
def imports_of(path: Path) -> frozenset[str]:
    """Absolute names of every module ``path`` imports, anywhere in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return frozenset(found)


def reachable(start: list[Path]) -> dict[str, str]:
    """Every module reachable from ``start`` by imports -> the module that first imported it."""
    seen: dict[str, str] = {}
    todo = [(_module_name(p), "<start>") for p in start]
    while todo:
        name, parent = todo.pop()
        if name in seen:
            continue
        seen[name] = parent
        path = _path_of(name)
        if path is None or name.split(".")[0] not in ("easytune_core", "app"):
            continue
        # importing a.b.c runs a/__init__ and a/b/__init__ too
        parts = name.split(".")
        todo += [(".".join(parts[:i]), name) for i in range(1, len(parts))]
        todo += [(m, name) for m in imports_of(path)]
    return seen


def _chain(seen: dict[str, str], name: str) -> str:
    chain = [name]
    while seen.get(chain[-1], "<start>") != "<start>":
        chain.append(seen[chain[-1]])
    return " <- ".join(chain)


def test_the_walker_sees_lazy_relative_imports():
    seen = reachable([PACKAGE / "finetune" / "engine.py"])
    assert "easytune_core.reward.train" in seen  # imported inside run_spl_job, relatively


@pytest.mark.parametrize("path", sorted((PACKAGE / "eval").glob("*.py")), ids=lambda p: p.name)
def test_no_evaluator_module_reaches_the_reward_package(path):
    seen = reachable([path])
    bad = sorted(m for m in seen if m == "easytune_core.reward" or m.startswith("easytune_core.reward."))
    assert not bad, "the evaluator must stay independent of the reward model: " + "; ".join(_chain(seen, m) for m in bad)


def test_the_core_library_never_reaches_the_app_or_gradio():
    seen = reachable(sorted(PACKAGE.rglob("*.py")))
    bad = sorted(m for m in seen if m.split(".")[0] in ("app", "gradio", "gradio_client"))
    assert not bad, "; ".join(_chain(seen, m) for m in bad)


def test_every_app_module_is_used_by_the_app():
    seen = reachable([ROOT / "app.py"])
    app_modules = {_module_name(p) for p in (ROOT / "app").glob("*.py")}
    unused = sorted(app_modules - set(seen))
    assert not unused, f"app modules the app never imports (test scaffolding belongs in tests/support/): {unused}"
