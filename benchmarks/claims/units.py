"""Units of work of the paper-claims experiment and the runner that saves each one as it ends.

A unit (the base model's scores, one memory measurement, the gradient-norm part, one fine-tuning
run) runs in this process or, for CPU memory measurements, in a fresh one (``paper_claims.py
--unit SPEC``); its result, stamped with scale, device, torch version, precision and times, is
written to ``<work>/units/<part>/<name>.json`` at once, so a killed experiment loses at most the
unit it was running.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .scales import Scale

SCRIPT = Path(__file__).resolve().parent.parent / "paper_claims.py"


def device_info(device: str) -> dict:
    import torch
    from common import device_description
    name = device_description(device)
    return {"device": device, "device_name": name, "torch": torch.__version__, "threads": torch.get_num_threads()}


def make_env(spec: dict):
    import torch

    from . import payload as pl
    from .runs import Env
    torch.set_num_threads(spec["scale"]["threads"])
    scale = Scale(**{**spec["scale"], "seeds": tuple(spec["scale"]["seeds"])})
    payload, tensors, manifest, ckpts = pl.load(Path(spec["payload"]))
    return Env(scale, payload, tensors, manifest, ckpts, spec["device"])


def execute(spec: dict, env=None, log=print) -> dict:
    """Run one unit in this process; returns its stamped result."""
    from . import efficiency, runs
    t0, c0 = time.time(), time.process_time()
    env = env or make_env(spec)
    kind = spec["kind"]
    if kind == "base":
        result = runs.base_scores(env)
    elif kind == "memory":
        result = efficiency.memory_unit(env, spec["method"], spec["steps"])
    elif kind == "gradnorm":
        result = efficiency.gradnorm_unit(env)
    elif kind == "run":
        result = runs.train_run(env, spec["run"], log=log)
    else:
        raise ValueError(f"unknown unit kind {kind!r}")
    return {"unit": spec["id"], "scale": env.scale.name, **device_info(env.device), "precision": env.precision,
            "payload_digest": env.manifest.get("digest"),
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "wall_seconds": round(time.time() - t0, 1),
            "cpu_seconds": round(time.process_time() - c0, 1),
            "result": result}


class OutOfTime(Exception):
    """Raised instead of starting a unit once the run's ``minutes`` are spent."""


class Runner:
    """Runs units in order, in this process or each in a fresh one, saving each result as it ends.

    ``minutes``: start no unit after this many minutes (a unit that has started runs to its end)."""

    def __init__(self, work: Path, scale: Scale, payload: Path, device: str, resume: bool, stop_after: int = 0,
                 minutes: float = 0.0):
        self.work, self.scale, self.payload, self.device = work, scale, payload, device
        self.resume, self.stop_after, self.done = resume, stop_after, 0
        self.deadline = time.time() + 60.0 * minutes if minutes else None
        self.env = None
        self.ablations = ""
        self.t0 = time.time()

    def log(self, *parts) -> None:
        print(f"[{time.time() - self.t0:7.1f}s] " + " ".join(str(p) for p in parts), flush=True)

    def path(self, uid: str) -> Path:
        return self.work / "units" / f"{uid.replace(' ', '_').replace('(', '').replace(')', '').replace(',', '')}.json"

    def load(self, uid: str):
        p = self.path(uid)
        return json.loads(p.read_text()) if p.is_file() else None

    def __call__(self, uid: str, kind: str, isolate: bool = False, **params) -> dict:
        have = self.load(uid)
        # a failed unit runs again on --resume, and so does one saved with other inputs (e.g. a learning
        # rate chosen again after a trial was rerun); units saved before they recorded theirs are kept
        same = json.loads(json.dumps(params))  # what a saved unit's params look like after JSON
        if have is not None and "error" not in have and have.get("params", same) == same:
            return have
        if have is not None and "error" not in have:
            self.log(f"{uid}: its inputs changed ({have.get('params')} -> {params}); running it again")
        if self.deadline is not None and time.time() >= self.deadline:
            raise OutOfTime(f"--minutes spent: {uid} and the units after it are left for --resume")
        spec = {"id": uid, "kind": kind, "scale": self.scale.to_dict(), "payload": str(self.payload),
                "device": self.device, **params}
        self.log(f"{uid} ...")
        try:
            if isolate:
                res = self._subprocess(spec)
            else:
                if self.env is None:
                    self.env = make_env(spec)
                res = execute(spec, self.env, log=self.log)
        except Exception as err:  # one failed unit is recorded, the experiment goes on
            self.log(f"{uid} FAILED: {err}")
            res = {"unit": uid, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()[-3000:]}
        res["params"] = same
        res["commit"] = _commit()  # units of one result may come from runs days apart
        p = self.path(uid)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(res))
        tmp.rename(p)
        self.log(f"{uid} done ({res.get('wall_seconds', '?')} s)")
        self.done += 1
        if self.stop_after and self.done >= self.stop_after:
            self.log(f"stopping after {self.done} units (--stop-after)")
            raise SystemExit(3)
        return res

    def _subprocess(self, spec: dict) -> dict:
        # the spec and result files live in a temporary folder: --work holds only scale.json and the
        # units, so it can be kept (or committed) as the experiment's record
        with tempfile.TemporaryDirectory(prefix="paper_claims_unit_") as tmp:
            spec_file, out_file = Path(tmp) / "spec.json", Path(tmp) / "result.json"
            spec_file.write_text(json.dumps(spec))
            proc = subprocess.run([sys.executable, str(SCRIPT), "--unit", str(spec_file), "--unit-out", str(out_file)],
                                  cwd=SCRIPT.parent.parent, text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            for line in proc.stdout.splitlines()[-40:]:
                if line.strip():
                    print("    " + line, flush=True)
            if proc.returncode != 0 or not out_file.is_file():
                raise RuntimeError(f"unit process exited with {proc.returncode}: {proc.stdout.strip()[-600:]}")
            return json.loads(out_file.read_text())


def _commit() -> str:
    from common import git_commit  # benchmarks/common.py (paper_claims.py puts benchmarks/ on the path)

    return git_commit()


def saved_units(run: Runner) -> dict:
    out = {}
    for p in sorted((run.work / "units").rglob("*.json")):
        r = json.loads(p.read_text())
        if "error" not in r:
            out[r["unit"]] = r
    return out
