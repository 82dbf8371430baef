"""Which EasyTune settings improve the shipped base model? A sweep judged on the val split.

Each setting fine-tunes the shipped base model against the shipped reward (train-split prompts)
and is scored at several optimiser-step counts on the **val** split, never the reward's own
opinion alone: the independent evaluator's R-Precision / FID / MM-Dist on every val pair
(``--repeats`` replications with fixed seeds, so every setting sees the same prompts and noise
as the base model), the rule checks of ``easytune_core.eval.rules`` on every checkable val
caption, and the mean reward of those samples. Test-split prompts are not touched: pick a
setting here, then report it on test (``finetune_efficiency.py --compare``).

A second part measures every fine-tuning method's additional memory over inference and its
seconds per optimiser step on the same device (on CUDA, ``max_memory_allocated``).

    python benchmarks/easytune_sweep.py --configs b8,b32,b64 --eval-at 500,1000
    # a GPU machine without the dataset or the text-encoder weights:
    python benchmarks/easytune_sweep.py --export-payload sweep_inputs      # here
    python benchmarks/easytune_sweep.py --payload sweep_inputs             # there

The payload holds what the sweep reads from the dataset and the text encoder: train prompts with
lengths, val/test captions and lengths, the evaluator's embeddings of the real motions and of
the captions, the rule-check cases, and the text encoder's embeddings of every caption used.
Writes ``--out``.json and ``--out``.md (default benchmarks/results/easytune_sweep).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from finetune_efficiency import METHODS as EFF_METHODS  # noqa: E402  (the efficiency benchmark's methods)
from finetune_efficiency import inference_trajectory  # noqa: E402

COMMON = dict(sampler_steps=50, guidance=2.5, batch_size=8, max_frames=120, precision="bf16", warmup=20, seed=0,
              lr=1e-5, select="last:10", reg_weight=0.0)
"""Shared by every setting (a setting overrides some of these)."""
CONFIGS = {
    "b8": dict(),
    "b8-all": dict(select="all"),
    "b32": dict(batch_size=32),
    "b8-noisy": dict(reward_target="noisy"),
    "b64": dict(batch_size=64),
    "b32-lr2e-5": dict(batch_size=32, lr=2e-5),
    "b8-lr2e-5-reg1": dict(lr=2e-5, reg_weight=1.0),
    "b8-lr5e-5": dict(lr=5e-5),
    "b8-chain": dict(method="easytune-chain"),
    "b8-all-lindown": dict(select="all", weighting="linear-down"),
    "b32-lr5e-6-all": dict(lr=5e-6, batch_size=32, select="all"),
}


# ---------------------------------------------------------------------------------------- inputs
def build_inputs(data: str, train_prompts: int, seed: int = 0):
    """(payload dict, tensors dict) from the dataset, the evaluator and the text encoder."""
    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.eval.model import load_evaluator
    from easytune_core.eval.protocol import _pad, load_eval_pairs
    from easytune_core.eval.rules import load_rule_cases
    from easytune_core.finetune.prompts import SplitPrompts
    from easytune_core.data.loader import CaptionEmbeddings
    from easytune_core.text import get_text_encoder

    root = resolve_dataset(data)
    te = get_text_encoder("minilm", "cpu")
    CaptionEmbeddings(te).warm(root, encode_all=False)  # the disk cache of train-base, if any
    ev = load_evaluator(device="cpu")
    sp = SplitPrompts(root, "train", max_frames=196)
    idx = np.random.default_rng(seed).permutation(len(sp.captions))[:train_prompts]
    payload = {"train": [[sp.captions[i], int(sp.frames[i])] for i in idx]}
    tensors = {}
    for split in ("val", "test"):
        pairs = load_eval_pairs(MotionTextDataset(root, split=split, random_crop=False), None, seed=seed)
        tensors[f"{split}_real"] = torch.tensor(ev.embed_motions(_pad(pairs["features"]), pairs["lengths"]))
        tensors[f"{split}_text"] = torch.tensor(ev.embed_texts(pairs["captions"]))
        payload[split] = {"captions": pairs["captions"], "lengths": pairs["lengths"].tolist()}
        payload[f"{split}_rules"] = load_rule_cases(root, split)
    caps = sorted({c for c, _ in payload["train"]} | set(payload["val"]["captions"]) | set(payload["test"]["captions"])
                  | {c["caption"] for s in ("val", "test") for c in payload[f"{s}_rules"]} | {""})
    tensors["text_emb"] = te.encode(caps).float()
    payload["text_captions"] = caps
    return payload, tensors


def save_inputs(folder: Path, payload: dict, tensors: dict) -> None:
    from safetensors.torch import save_file
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "payload.safetensors"))
    (folder / "payload.json").write_text(json.dumps(payload))


def load_inputs(folder: Path):
    from safetensors.torch import load_file
    return json.loads((folder / "payload.json").read_text()), load_file(str(folder / "payload.safetensors"))


def install_text_cache(payload: dict, tensors: dict, device: str):
    """Serve the denoiser's text encoder from the payload's embeddings (no weights needed).

    Replaces this process's shared "minilm" encoder for ``device``; the benchmark runs in its own
    process, tests restore ``encoders._ENCODERS`` afterwards."""
    from easytune_core.text import encoders

    class PayloadEncoder(encoders.TextEncoder):
        def _embed(self, texts):
            raise KeyError(f"caption not in the sweep payload: {texts[0]!r}")

    enc = PayloadEncoder("minilm", int(tensors["text_emb"].shape[1]), "st", model=None, device=device)
    enc._cache = {c: tensors["text_emb"][i] for i, c in enumerate(payload["text_captions"])}
    encoders._ENCODERS[("minilm", device, "")] = enc
    return enc


class Prompts:
    """Prompt source over the payload's train prompts (captions with their dataset lengths)."""

    def __init__(self, items):
        self.caps = [c for c, _ in items]
        self.frames = [f for _, f in items]

    def __call__(self, bs, gen=None):
        import torch
        idx = torch.randint(0, len(self.caps), (bs,), generator=gen).tolist()
        return [self.caps[i] for i in idx], [self.frames[i] for i in idx]


# ---------------------------------------------------------------------------------------- sweep
class Sweep:
    def __init__(self, args, payload, tensors, device):
        from easytune_core.eval.model import load_evaluator
        self.args, self.payload, self.tensors, self.dev = args, payload, tensors, device
        self.t0 = time.time()
        self.enc = install_text_cache(payload, tensors, device)
        self.ev = load_evaluator(args.evaluator, device=device)
        self.prompts = Prompts(payload["train"])
        import torch
        self.results = {"device": device, "device_name": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                        "torch": torch.__version__, "common": COMMON, "repeats": args.repeats,
                        "val_pairs": len(payload["val"]["captions"]), "val_rule_cases": len(payload["val_rules"]),
                        "base": None, "configs": {}, "efficiency": {}}
        self.out = Path(args.out)
        self.out.parent.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.args.budget - (time.time() - self.t0) if self.args.budget else float("inf")

    def log(self, *parts) -> None:
        print(f"[{time.time() - self.t0:6.1f}s] " + " ".join(str(p) for p in parts), flush=True)

    def flush(self) -> None:
        write_results(self.out, self.results, markdown(self.results), device=self.dev)

    def evaluate(self, pipe, rm, split="val"):
        """Evaluator metrics (mean over replications), mean reward and rule checks on ``split``."""
        import torch

        from easytune_core.eval.metrics import frechet_distance, mm_dist, r_precision
        from easytune_core.eval.rules import judge_generated, summarize
        caps = self.payload[split]["captions"]
        lens = np.asarray(self.payload[split]["lengths"])
        n = len(caps)
        text_all = self.tensors[f"{split}_text"].numpy()[:n]
        real = self.tensors[f"{split}_real"].numpy()
        rows, t0, dev, batch = [], time.time(), self.dev, self.args.eval_batch
        was_training = pipe.model.training
        pipe.model.eval()
        with torch.no_grad():
            for r in range(self.args.repeats):
                perm = np.random.default_rng([0, r]).permutation(n)
                gen, rew = [], []
                for s in range(0, n, batch):
                    ids = perm[s:s + batch]
                    frames = [int(min(max(lens[i], 20), pipe.max_frames)) for i in ids]
                    res = pipe.generate([caps[i] for i in ids], frames=frames, seed=r * 100003 + s, guidance=2.5,
                                        steps=50, return_joints=False)
                    gen.append(self.ev.embed_motions(res.features, res.lengths))
                    f = torch.as_tensor(res.features, device=dev)
                    mask = torch.arange(f.shape[1], device=dev)[None] < torch.as_tensor(res.lengths, device=dev)[:, None]
                    rew.append(rm.reward(rm.normalize(f), mask, self.enc.encode([caps[i] for i in ids]).to(dev))
                               .float().cpu())
                gen = np.concatenate(gen)
                rp = r_precision(text_all[perm], gen)
                rows.append({"top1": float(rp[0]), "top3": float(rp[2]), "fid": float(frechet_distance(real, gen)),
                             "mm_dist": float(mm_dist(text_all[perm], gen)), "reward": float(torch.cat(rew).mean())})
        out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        out["top1_each"] = [r["top1"] for r in rows]
        cases = [dict(c) for c in self.payload[f"{split}_rules"]]
        judge_generated(pipe, cases, steps=50, guidance=2.5, seed=0, batch=max(32, batch))
        s = summarize(cases)
        out["rules"] = s["pass_fraction"]
        out["rules_per"] = {k: round(v["pass_fraction"], 3) for k, v in s["per_check"].items()}
        out["eval_seconds"] = round(time.time() - t0, 1)
        pipe.model.train(was_training)
        return out

    def run_configs(self, names, eval_at, reserve):
        import torch

        from easytune_core.finetune import FinetuneConfig, build_trainer
        for name in names:
            if self.left() < reserve + 40:
                self.log("skip", name, "(time budget)")
                continue
            try:
                cfg = FinetuneConfig(**{**COMMON, **CONFIGS[name], "max_steps": eval_at[0]})
                trainer = build_trainer(cfg, self.args.base, self.args.reward, self.prompts, run_dir=None,
                                        device=self.dev)
                if self.results["base"] is None:
                    self.results["base"] = self.evaluate(trainer.pipeline, trainer.reward_model)
                    self.log("base", _brief(self.results["base"]))
                    self.flush()
                rec = {"config": cfg.to_dict(), "points": []}
                self.results["configs"][name] = rec
                train_s = 0.0
                for target in eval_at:
                    trainer.cfg.max_steps = target
                    t0 = time.time()
                    res = trainer.train()
                    if self.dev == "cuda":
                        torch.cuda.synchronize()
                    train_s += time.time() - t0
                    rewards = [e["reward"] for e in trainer.history[-100:]]
                    point = {"step": trainer.optim.steps, "train_seconds": round(train_s, 1), "status": res.status,
                             "message": res.message,
                             "train_reward_last100": float(np.mean(rewards)) if rewards else None}
                    if res.status == "failed":
                        rec["points"].append(point)
                        break
                    point.update(self.evaluate(trainer.pipeline, trainer.reward_model))
                    rec["points"].append(point)
                    self.log(name, _brief(point))
                    self.flush()
                    if self.left() < reserve + 15:
                        break
                del trainer
            except Exception:
                self.results["configs"].setdefault(name, {})["error"] = traceback.format_exc()[-2000:]
                self.log("ERROR", name, traceback.format_exc()[-1500:])
                self.flush()
            gc.collect()
            if self.dev == "cuda":
                torch.cuda.empty_cache()

    def efficiency(self, seconds_each):
        """Per method: additional memory over loaded models + one no-grad trajectory, s/step."""
        import torch

        from easytune_core.finetune import FinetuneConfig, build_trainer
        cuda = self.dev == "cuda"
        for name, kw in EFF_METHODS.items():
            try:
                gc.collect()
                if cuda:
                    torch.cuda.empty_cache()
                cfg = FinetuneConfig(**{**COMMON, **kw, "lr": 1e-5, "max_steps": 10 ** 6, "max_seconds": seconds_each})
                trainer = build_trainer(cfg, self.args.base, self.args.reward, self.prompts, run_dir=None,
                                        device=self.dev)
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                inference_trajectory(trainer, self.prompts.caps[:1], trainer.autocast())
                base_mem = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                res = trainer.train()
                peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None
                row = {"steps": res.steps, "seconds": round(res.seconds, 2),
                       "s_per_step": res.seconds / max(1, res.steps), "status": res.status,
                       "rewards": [round(e["reward"], 4) for e in res.history],
                       "times": [round(e["seconds"], 3) for e in res.history]}
                if cuda:
                    row.update(baseline_mb=round(base_mem, 1), peak_mb=round(peak, 1),
                               additional_mb=round(peak - base_mem, 1))
                self.results["efficiency"][name] = row
                self.log("efficiency", name, res.steps, "steps", f"{row['s_per_step']:.4f} s/step",
                         f"+{row.get('additional_mb', float('nan')):.1f} MB")
                del trainer
            except Exception:
                self.results["efficiency"][name] = {"error": traceback.format_exc()[-1500:]}
                self.log("ERROR efficiency", name, traceback.format_exc()[-1000:])
            self.flush()


def _brief(point: dict) -> str:
    keys = ("step", "train_seconds", "reward", "top1", "top3", "fid", "mm_dist", "rules", "eval_seconds")
    return json.dumps({k: round(point[k], 4) if isinstance(point.get(k), float) else point.get(k)
                       for k in keys if k in point})


# ------------------------------------------------------------------------------------- reporting
def markdown(res: dict) -> str:
    base = res.get("base")
    lines = [f"EasyTune settings on the shipped base model, scored on the **val** split "
             f"({res.get('val_pairs', '?')} pairs x {res.get('repeats', '?')} replications with fixed seeds, "
             f"{res.get('val_rule_cases', '?')} rule-check captions; 50-step DDIM, guidance 2.5). "
             f"Device: {res.get('device_name', res.get('device'))}, torch {res.get('torch')}. "
             f"Shared settings: {json.dumps(res.get('common', COMMON))}.", "",
             "| setting | optimiser steps | train s | val reward | R@1 ↑ | R@3 ↑ | FID ↓ | MM-Dist ↓ | rule checks ↑ |",
             "|---|---|---|---|---|---|---|---|---|"]

    def row(label, steps, secs, p):
        return (f"| {label} | {steps} | {secs} | {p['reward']:.3f} | {p['top1']:.3f} | {p['top3']:.3f} | "
                f"{p['fid']:.2f} | {p['mm_dist']:.2f} | {100 * p['rules']:.1f}% |")
    if base:
        lines.append(row("base model", 0, "–", base))
    for name, rec in res.get("configs", {}).items():
        if "error" in rec:
            lines.append(f"| {name} | failed: {rec['error'].strip().splitlines()[-1]} |||||||| ")
            continue
        diff = {k: v for k, v in rec["config"].items() if k in COMMON and v != COMMON[k]}
        if rec["config"].get("reward_target", "x0") != "x0":
            diff["reward_target"] = rec["config"]["reward_target"]
        if rec["config"].get("weighting", "uniform") != "uniform":
            diff["weighting"] = rec["config"]["weighting"]
        if rec["config"].get("method", "easytune") != "easytune":
            diff["method"] = rec["config"]["method"]
        label = f"`{name}` ({', '.join(f'{k}={v}' for k, v in diff.items()) or 'shared settings'})"
        for p in rec["points"]:
            if "top1" in p:
                lines.append(row(label, p["step"], f"{p['train_seconds']:.0f}", p))
            else:
                lines.append(f"| {label} | {p['step']} | {p['train_seconds']:.0f} | {p['status']}: {p['message']} |||||| ")
    eff = res.get("efficiency") or {}
    if eff:
        lines += ["", f"Every method for a few seconds on the same device (batch {COMMON['batch_size']}, "
                  f"{COMMON['max_frames']} frames, 50-step DDIM, {COMMON['precision']} autocast): additional memory "
                  "over the loaded models plus one no-grad sampling trajectory of the same batch"
                  + (" (CUDA max_memory_allocated)" if res.get("device") == "cuda" else " (not measured off CUDA)")
                  + ", and seconds per optimiser step.", "",
                  "| method | optimiser steps | s / step | additional memory (MB) | vs DRaFT-50 |", "|---|---|---|---|---|"]
        d50 = (eff.get("DRaFT-50") or {}).get("additional_mb")
        for name, r in eff.items():
            if "error" in r:
                lines.append(f"| {name} | failed |||| ")
                continue
            add = r.get("additional_mb")
            ratio = f"{100 * add / d50:.1f}%" if add is not None and d50 else "–"
            lines.append(f"| {name} | {r['steps']} | {r['s_per_step']:.3f} | "
                         f"{'–' if add is None else f'{add:.1f}'} | {ratio} |")
    return "\n".join(lines)


def merge(files) -> dict:
    """Several result files of the same base and inputs -> one (configs and efficiency joined)."""
    out = None
    for f in files:
        r = json.loads(Path(f).read_text())
        if out is None:
            out = r
            continue
        out["configs"].update(r.get("configs", {}))
        out["efficiency"].update(r.get("efficiency", {}))
    return out


# ------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/builtin")
    p.add_argument("--base", default="assets/checkpoints/base")
    p.add_argument("--reward", default="assets/checkpoints/reward")
    p.add_argument("--evaluator", default="assets/checkpoints/evaluator")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of: " + ", ".join(CONFIGS))
    p.add_argument("--eval-at", default="500,1000,2000", help="optimiser-step counts at which each setting is scored")
    p.add_argument("--repeats", type=int, default=2, help="replications of the val evaluation (fixed seeds)")
    p.add_argument("--eval-batch", type=int, default=500)
    p.add_argument("--train-prompts", type=int, default=8000, help="train-split captions the settings draw from")
    p.add_argument("--budget", type=float, default=0, help="stop starting new work after this many seconds (0 = none)")
    p.add_argument("--efficiency-seconds", type=float, default=5.0, help="training seconds per method (0 = skip)")
    p.add_argument("--export-payload", default=None, help="only write the inputs to this folder, then exit")
    p.add_argument("--payload", default=None, help="read the inputs from this folder instead of the dataset")
    p.add_argument("--render", nargs="+", default=None, help="only re-render (and merge) result JSON files to --out.md")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "easytune_sweep"))
    args = p.parse_args(argv)

    if args.render:
        res = merge(args.render)
        write_results(args.out, res, markdown(res))  # keeps the merged runs' stamp
        print(markdown(res))
        return 0
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        p.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    eval_at = sorted({int(s) for s in args.eval_at.split(",") if s.strip()})
    if not eval_at or eval_at[0] < 1:
        p.error("--eval-at needs positive step counts")
    if args.payload:
        payload, tensors = load_inputs(Path(args.payload))
    else:
        payload, tensors = build_inputs(args.data, args.train_prompts)
        if args.export_payload:
            save_inputs(Path(args.export_payload), payload, tensors)
            print(f"wrote the sweep inputs to {args.export_payload}")
            return 0
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    sweep = Sweep(args, payload, tensors, device)
    reserve = (len(EFF_METHODS) * (args.efficiency_seconds + 5)) if args.efficiency_seconds else 0
    sweep.run_configs(names, eval_at, reserve)
    if args.efficiency_seconds:
        sweep.efficiency(args.efficiency_seconds)
    sweep.flush()
    print(markdown(sweep.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
