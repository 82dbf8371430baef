"""The experiment's self-contained inputs: one folder that a GPU host without the dataset or the
text-encoder weights can run from.

    <payload>/payload.json          train prompts (+ lengths), val/test captions and lengths, rule cases
    <payload>/payload.safetensors   text-encoder embeddings of every caption used, the evaluator's
                                    embeddings of the real val/test motions and of their captions
    <payload>/checkpoints/{base,reward,reward_nospl[,reward_spl],evaluator}/
    <payload>/manifest.json         where each checkpoint came from, what the no-SPL reward is

The prompt and evaluator parts are ``benchmarks/easytune_sweep.py``'s payload (its ``build_inputs``);
this module adds the checkpoints and the reward without SPL.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import easytune_sweep  # noqa: E402  (its payload code: build_inputs / save_inputs / load_inputs / install_text_cache)

CHECKPOINT_NAMES = ("base", "reward", "reward_nospl", "reward_spl", "evaluator")


def _meta(folder: Path) -> dict:
    return (json.loads((Path(folder) / "config.json").read_text()).get("meta") or {})


def _train_reward(args: list[str], log: Path) -> None:
    """``python -m easytune_core train-reward ARGS``, logged; raises with the log's tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ train-reward {' '.join(args)}\n")
        fh.flush()
        proc = subprocess.run([sys.executable, "-m", "easytune_core", "train-reward", *args], cwd=ROOT,
                              stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8").splitlines()[-15:]
        raise RuntimeError(f"train-reward failed (see {log}):\n" + "\n".join(tail))


def reward_without_spl(reward: Path, data: str, work: Path, threads: int, explicit: str | None = None) -> dict:
    """The reward checkpoints of the SPL ablation.

    Returns ``{"reward_nospl": folder, "reward_spl": folder | None, "note": str}``:

    - ``explicit`` given: that folder is the reward without SPL, the shipped one is "with SPL";
    - the shipped reward is an SPL stage and its pre-SPL stage (``meta.init``) is on disk: the
      reward without SPL continues that pre-SPL stage with the SPL stage's recipe (steps, lr, seed,
      batch) and the retrieval loss only, the control of docs/reward_eval.md;
    - otherwise the pre-SPL stage is trained again with its recorded recipe, and both arms are
      trained from it (SPL stage and control), so they differ only in SPL;
    - the shipped reward has no SPL stage: it is the arm without SPL; an SPL stage is trained on it.
    """
    if explicit:
        return {"reward_nospl": Path(explicit), "reward_spl": None,
                "note": f"reward without SPL given on the command line: {explicit}"}
    meta = _meta(reward)
    logs = work / "logs" / "rewards.log"
    common = ["--data", str(data), "--threads", str(threads), "--eval-split", ""]

    def stage_args(m: dict) -> list[str]:
        return ["--steps", str(m.get("steps", 150)), "--lr", str(m.get("lr", 1e-5)), "--seed", str(m.get("seed", 1)),
                "--batch-size", str(m.get("batch_size", 64))]

    if meta.get("stage") != "spl":
        out = work / "rewards" / "spl"
        if not (out / "config.json").is_file():
            _train_reward(["--spl", "--init", str(reward), "--out", str(out), "--steps", "150", "--lr", "1e-5",
                           "--seed", "1", *common], logs)
        return {"reward_nospl": reward, "reward_spl": out,
                "note": "the shipped reward has no SPL stage; the arm with SPL is 150 SPL steps on top of it "
                        "(lr 1e-5, seed 1)"}
    init = Path(meta["init"]) if meta.get("init") else None
    if init is not None and not init.is_absolute():
        init = ROOT / init
    control = work / "rewards" / "nospl"
    if init is not None and (init / "config.json").is_file():
        if not (control / "config.json").is_file():
            _train_reward(["--init", str(init), "--out", str(control), *stage_args(meta), *common], logs)
        return {"reward_nospl": control, "reward_spl": None,
                "note": f"pre-SPL stage {meta['init']} continued with the SPL stage's recipe "
                        f"({meta.get('steps')} steps, lr {meta.get('lr')}, seed {meta.get('seed')}) and the "
                        "retrieval loss only; the arm with SPL is the shipped reward"}
    pre_meta = meta.get("init_meta") or {}
    pretrain = work / "rewards" / "pretrain"
    if not (pretrain / "config.json").is_file():
        _train_reward(["--out", str(pretrain), "--steps", str(pre_meta.get("steps", 865)),
                       "--lr", str(pre_meta.get("lr", 2e-4)), "--seed", str(pre_meta.get("seed", 0)),
                       "--batch-size", str(pre_meta.get("batch_size", 64)), *common], logs)
    spl = work / "rewards" / "spl"
    if not (control / "config.json").is_file():
        _train_reward(["--init", str(pretrain), "--out", str(control), *stage_args(meta), *common], logs)
    if not (spl / "config.json").is_file():
        _train_reward(["--spl", "--init", str(pretrain), "--out", str(spl), *stage_args(meta), *common], logs)
    return {"reward_nospl": control, "reward_spl": spl,
            "note": f"the shipped reward's pre-SPL stage ({meta.get('init')}) was not on disk: it was trained again "
                    f"with its recorded recipe ({pre_meta.get('steps')} steps, lr {pre_meta.get('lr')}, seed "
                    f"{pre_meta.get('seed')}), then both arms from it with the SPL stage's recipe: with SPL "
                    "(reward_spl) and retrieval loss only (reward_nospl)"}


def export(folder: Path, data: str, checkpoints: dict, train_prompts: int, work: Path, threads: int,
           nospl: str | None = None, log=print) -> Path:
    """Write the payload folder from the dataset, the text encoder and the checkpoints.

    ``checkpoints``: {"base", "reward", "evaluator"} -> folders."""
    folder = Path(folder)
    t0 = time.time()
    arms = reward_without_spl(Path(checkpoints["reward"]), data, work, threads, nospl)
    log(f"rewards for the SPL ablation ready ({time.time() - t0:.0f} s): {arms['note']}")
    payload, tensors = easytune_sweep.build_inputs(data, train_prompts, evaluator=str(checkpoints["evaluator"]))
    log(f"prompt and evaluator embeddings ready ({time.time() - t0:.0f} s)")
    sources = {**checkpoints, "reward_nospl": arms["reward_nospl"], "reward_spl": arms["reward_spl"]}
    save(folder, payload, tensors, sources, {"spl_note": arms["note"], "data": str(data)})
    return folder


def save(folder: Path, payload: dict, tensors: dict, sources: dict, info: dict) -> None:
    """Write payload.json/.safetensors, copy the checkpoints, write manifest.json (last: a folder with a
    manifest is complete)."""
    folder = Path(folder)
    easytune_sweep.save_inputs(folder, payload, tensors)
    manifest = {"checkpoints": {}, **info}
    for name in CHECKPOINT_NAMES:
        src = sources.get(name)
        if not src:
            continue
        dst = folder / "checkpoints" / name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        manifest["checkpoints"][name] = {"source": str(src), "meta_stage": _meta(dst).get("stage")}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def digest(folder: Path) -> str:
    """SHA-256 (first 16 hex digits) over every file of a payload folder but its manifest: units record
    it, so results put together from several exports (e.g. a payload built again on another machine,
    where float arithmetic may differ in the last bits) say so."""
    folder = Path(folder)
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file() and q.name != "manifest.json"):
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def load(folder: Path):
    """(payload, tensors, manifest, checkpoint folders) of a complete payload folder; the manifest
    carries the folder's :func:`digest`."""
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{folder} is not a complete payload (no manifest.json); export one with "
                                "`python benchmarks/paper_claims.py --export-payload DIR`")
    payload, tensors = easytune_sweep.load_inputs(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["digest"] = digest(folder)
    ckpts = {name: folder / "checkpoints" / name for name in manifest["checkpoints"]}
    return payload, tensors, manifest, ckpts


install_text_cache = easytune_sweep.install_text_cache
