"""benchmarks/: one shared module writes every result, and every result file says where it came from
(commit, device, torch version, date); superseded results are archived under their date and commit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.benchmarks import load_benchmark

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
STAMP_FIELDS = {"commit", "date", "device", "torch"}


def _common():
    return load_benchmark("common.py", "benchmarks_common")


def test_write_results_stamps_json_and_markdown(tmp_path):
    common = _common()
    json_path, md_path = common.write_results(tmp_path / "sub" / "bench", {"value": 1.5}, "| a |\n|---|\n| 1 |",
                                              device="cpu")
    data = json.loads(json_path.read_text())
    assert data["value"] == 1.5 and STAMP_FIELDS <= set(data["stamp"])
    assert re.fullmatch(r"[0-9a-f]{7,}(-dirty)?|unknown", data["stamp"]["commit"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["stamp"]["date"]) and data["stamp"]["device"].startswith("cpu (")
    assert md_path.read_text().splitlines()[-1] == common.stamp_line(data["stamp"])
    # re-rendering a result keeps its original stamp
    common.write_results(tmp_path / "again", data, "text")
    assert json.loads((tmp_path / "again.json").read_text())["stamp"] == data["stamp"]


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "common.py"))
def test_every_benchmark_writes_through_the_shared_module(script):
    source = (ROOT / "benchmarks" / script).read_text(encoding="utf-8")
    assert "from common import" in source and "write_results(" in source, script


def _unit_record(path: Path) -> bool:
    """Inside a ``<name>_units`` folder: the saved units of a resumable experiment (paper_claims.py
    --work), each stamped on its own, plus the ``scale.json`` they were run at."""
    return any(part.endswith("_units") for part in path.relative_to(RESULTS).parts[:-1])


@pytest.mark.parametrize("path", sorted(p for p in RESULTS.rglob("*.json") if not _unit_record(p)),
                         ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_result_file_is_stamped(path):
    stamp = json.loads(path.read_text())["stamp"]
    assert STAMP_FIELDS <= set(stamp) and all(stamp[k] for k in STAMP_FIELDS)
    md = path.with_suffix(".md")
    assert md.exists() and f"commit {stamp['commit']}" in md.read_text().splitlines()[-1]
    if path.parent.name == "archive":
        date, commit, _ = path.stem.split("_", 2)
        assert (date, commit) == (stamp["date"], stamp["commit"])


@pytest.mark.parametrize("path", sorted(p for p in RESULTS.rglob("*.json") if _unit_record(p)),
                         ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_saved_unit_is_stamped(path):
    data = json.loads(path.read_text())
    folder = next(parent for parent in path.parents if parent.name.endswith("_units"))
    if path.name == "scale.json":
        assert path.parent == folder and data["name"] and data["seeds"]
        return
    assert "error" not in data, f"{path.name}: a failed unit is not a result; run it again with --resume"
    assert data["commit"] and data["device_name"] and data["torch"] and data["finished"] and data["scale"]
    assert (folder / "scale.json").is_file() and json.loads((folder / "scale.json").read_text())["name"] == data["scale"]
