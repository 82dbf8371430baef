"""Report: the SPL ablation of one reward training (`scripts/train_shipped.sh` stages 2-4).

    python benchmarks/reward_spl.py --runs runs/everyday --out benchmarks/results/reward_spl_everyday

Reads the retrieval scores each stage wrote into its checkpoint (``meta.retrieval``: the eval split,
clean and forward-noised inputs, protocols batch32 / full / hard32) for the retrieval pre-training,
the SPL stage (``reward``) and its retrieval-only control (``reward_control``: the same steps, seed
and batches without the SPL term), and the share of texts SPL mined a "prefer the ground truth"
target for. Where the runs folder also holds them, the other recipes tried from the same pre-trained
model: SPL at the released code's temperature (``reward_spl_tau0.01``, ``--spl-tau 0.01``), random
batches at lr 1e-5 for 200 steps (``reward_random_control``, ``reward_random_spl``,
``reward_random_spl_tau0.01``) and twin batches at lr 3e-5 (``reward_twin_control_lr3e-5``,
``reward_twin_spl_lr3e-5``). Each row's label says its recipe, read from the checkpoint. Writes
<out>.{json,md}.

``--rescore`` recomputes those scores with this version's retrieval code from the saved checkpoints
(the same noise levels and seed as training used, on the split training scored or ``--split``; a few
minutes per run on a 2-core CPU) instead of reading them, and caches them under
``<runs>/<stage>/retrieval_rescored_<split>.json``. ``--split val`` gives the table the recipe of
stages 3-4 is chosen on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results  # noqa: E402

STAGES = ("reward_pretrain", "reward_control", "reward")
OPTIONAL_STAGES = ("reward_spl_tau0.01", "reward_random_control", "reward_random_spl", "reward_random_spl_tau0.01",
                   "reward_twin_control_lr3e-5", "reward_twin_spl_lr3e-5")
INPUTS = (("clean", "clean"), ("t100", "noised, t=100"), ("t250", "noised, t=250"), ("t500", "noised, t=500"))
PROTOCOLS = (("batch32", "groups of 32 (random)"), ("hard32", "hard negatives (groups of 32 holding the near twins)"),
             ("full", "the whole split"))


def recipe_label(meta: dict, tau) -> str:
    """Row label of a stage from its checkpoint's meta: batches, learning rate, SPL settings."""
    if meta.get("stage") == "pretrain":
        return "retrieval pre-training"
    batches = "twin batches" if meta.get("twin_share") else "random batches"
    loss = f"SPL (k = {meta['spl_k']}, tau {tau:g})" if meta.get("spl_k") is not None else "retrieval only"
    return f"+ {meta['steps']} steps, {batches}, lr {meta['lr']:g}, {loss}"


def rescored(folder: Path, data: str, split: str, threads: int) -> dict:
    """Retrieval scores of the checkpoint in ``folder``, recomputed (cached next to it)."""
    cache = folder / f"retrieval_rescored_{split}.json"
    stamp = {"model": (folder / "model.safetensors").stat().st_mtime_ns, "data": str(data), "split": split}
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("stamp") == stamp:
            return saved["scores"]
    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.diffusion.schedule import NoiseSchedule
    from easytune_core.reward import load_reward_model
    from easytune_core.reward.retrieval import evaluate_retrieval
    from easytune_core.text import get_text_encoder

    torch.set_num_threads(threads)
    meta = json.loads((folder / "config.json").read_text())["meta"]
    model = load_reward_model(folder, device="cpu")
    schedule = NoiseSchedule(**meta.get("schedule", {}))
    text_encoder = get_text_encoder(meta.get("text_encoder", "minilm"), "cpu")
    scores = evaluate_retrieval(model, resolve_dataset(data, create=False), split, text_encoder, schedule=schedule,
                                seed=0)
    scores = json.loads(json.dumps(scores))  # integer Recall@k keys become strings, as in config.json
    cache.write_text(json.dumps({"stamp": stamp, "scores": scores}, indent=1))
    return scores


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="runs/everyday", help="folder holding reward_pretrain, reward_control, reward")
    p.add_argument("--out", default=str(RESULTS / "reward_spl"))
    p.add_argument("--rescore", action="store_true",
                   help="recompute the retrieval scores from the checkpoints instead of reading them")
    p.add_argument("--data", default=None,
                   help="with --rescore: the dataset folder (default: the one each run records)")
    p.add_argument("--split", default=None, help="with --rescore: score this split (default: the one each run scored)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if args.split and not args.rescore:
        p.error("--split needs --rescore (the recorded scores are on the split training scored)")
    rows = {}
    stages = STAGES + tuple(s for s in OPTIONAL_STAGES if (Path(args.runs) / s / "config.json").is_file())
    for folder in stages:
        cfg = Path(args.runs) / folder / "config.json"
        if not cfg.is_file():
            raise SystemExit(f"{cfg} missing: run scripts/train_shipped.sh stages 2-4 first")
        saved = json.loads(cfg.read_text())
        meta = saved["meta"]
        if not meta.get("retrieval"):
            raise SystemExit(f"{cfg} has no retrieval scores (trained with --eval-split '')")
        # runs saved before spl_tau was recorded used the model's temperature
        tau = meta.get("spl_tau") or (saved["config"].get("temperature") if meta.get("spl_k") else None)
        rows[folder] = {"label": recipe_label(meta, tau), "steps": meta["steps"], "seconds": meta["seconds"],
                        "stage": meta["stage"], "lr": meta.get("lr"), "twin_share": meta.get("twin_share", 0.0),
                        "spl_k": meta.get("spl_k"), "spl_tau": tau, "split": meta["retrieval"]["split"],
                        "scores": meta["retrieval"]["scores"],
                        "spl_prefer_gt_share": meta.get("spl_prefer_gt_share")}
        if args.rescore:
            print(f"rescoring {folder} ...", flush=True)
            rows[folder]["split"] = args.split or meta["retrieval"]["split"]
            rows[folder]["scores"] = rescored(Path(args.runs) / folder, args.data or meta["data"],
                                              rows[folder]["split"], args.threads)
    split = rows["reward"]["split"]
    md = [f"# Reward model: SPL vs its retrieval-only control (`{args.runs}`, {split} split)", "",
          "Scores recomputed from the saved checkpoints (`--rescore`)." if args.rescore else
          "Scores as each run recorded them at the end of training.", ""]
    for folder in stages:
        r = rows[folder]
        extra = (f"; SPL mined a 'prefer the ground truth' target for {100 * r['spl_prefer_gt_share']:.2f}% of the texts"
                 if r["spl_prefer_gt_share"] is not None else "")
        how = f"lr {r['lr']:g}" if r["lr"] else ""
        if r["twin_share"]:
            how += f", {r['twin_share']:.0%} of each batch in near-twin pairs"
        if r["spl_k"] is not None:
            how += f", SPL k {r['spl_k']}" + (f", tau {r['spl_tau']:g}" if r["spl_tau"] is not None else "")
        md.append(f"- `{folder}`: {r['steps']} steps ({how}), {r['seconds']:.0f} s{extra}")
    for proto, title in PROTOCOLS:
        if not all(proto in rows[f]["scores"]["clean"] for f in stages):
            continue
        n = rows["reward"]["scores"]["clean"][proto]["n"]
        md += ["", f"**{proto}**: {title}; {n} queries; Recall@k in %", "",
               "| model | input | T→M R@1 | R@3 | M→T R@1 | R@3 |", "|---|---|---|---|---|---|"]
        for folder in stages:
            label = rows[folder]["label"]
            for key, inp in INPUTS:
                s = rows[folder]["scores"].get(key, {}).get(proto)
                if s:
                    md.append(f"| {label} | {inp} | {s['t2m']['1']:.2f} | {s['t2m']['3']:.2f} | "
                              f"{s['m2t']['1']:.2f} | {s['m2t']['3']:.2f} |")
    write_results(args.out, {"runs": args.runs, "rescored": args.rescore, "stages": rows}, "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
