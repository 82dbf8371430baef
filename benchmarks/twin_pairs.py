"""Do the reward models and the evaluator tell a motion from its near twin, attribute by attribute?

The built-in world makes a third of its motions as near twins that differ in one attribute (side,
count, direction, clause order, pace, angle, ...; ``synth_actions.jsonl``). For every twin pair of
the split (originals, not their mirror images), each motion's first caption is scored against both
motions; a caption "prefers its own motion" when the reward is higher (reward models) or the
embedding distance smaller (the evaluator). Chance is 50%. This is the pairwise core of the
hard-negative R-Precision, broken down by the attribute the twins differ in.

    python benchmarks/twin_pairs.py --data data/everyday --rewards runs/everyday/reward_pretrain runs/everyday/reward \\
        --evaluator runs/everyday/evaluator --out benchmarks/results/twin_pairs_everyday
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, first_caption, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def twin_pairs(root: Path, split: str) -> list[tuple[str, str, str]]:
    """(name, twin name, attribute) once per original twin pair of ``split``."""
    from easytune_core.data.twins import load_twin_attributes, load_twins

    twins, attrs = load_twins(root, split), load_twin_attributes(root)
    out = []
    for a in sorted(twins):
        for b in twins[a]:
            if not a.startswith("M") and a < b:
                out.append((a, b, str((attrs.get(a) or attrs.get(b) or {}).get("attribute", "?"))))
    return out


def rates(wins: dict[str, list[bool]]) -> dict:
    every = [w for ws in wins.values() for w in ws]
    return {"all": {"n": len(every), "own_preferred": float(np.mean(every)) if every else None},
            **{k: {"n": len(v), "own_preferred": float(np.mean(v))} for k, v in sorted(wins.items())}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/builtin")
    p.add_argument("--split", default="test")
    p.add_argument("--rewards", nargs="*", default=["assets/checkpoints/reward"], help="reward checkpoints")
    p.add_argument("--evaluator", default="assets/checkpoints/evaluator", help="evaluator checkpoint ('' to skip)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "twin_pairs"))
    args = p.parse_args(argv)

    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.loader import CaptionEmbeddings
    from easytune_core.eval.model import load_evaluator
    from easytune_core.reward import load_reward_model
    from easytune_core.text import get_text_encoder

    torch.set_num_threads(args.threads)
    root = resolve_dataset(args.data, create=False)
    pairs = twin_pairs(root, args.split)
    if not pairs:
        print(f"error: the {args.split} split of {root} has no near-twin pairs", file=sys.stderr)
        return 1
    caps = {n: first_caption(root, n) for a, b, _ in pairs for n in (a, b)}
    feats = {n: np.load(root / "new_joint_vecs" / f"{n}.npy").astype(np.float32) for n in caps}
    te = get_text_encoder("minilm", "cpu")
    CaptionEmbeddings(te).warm(root, encode_all=False)
    models = {}
    for folder in args.rewards:
        rm = load_reward_model(folder, "cpu").eval()
        wins = defaultdict(list)
        for a, b, attr in pairs:
            emb = te.encode([caps[a], caps[b]])
            with torch.no_grad():
                s = {}
                for m in (a, b):
                    x = rm.normalize(torch.from_numpy(feats[m][:rm.config.max_frames])[None]).expand(2, -1, -1)
                    s[m] = rm.reward(x, None, emb).tolist()  # [caption a, caption b] against motion m
            wins[attr] += [s[a][0] > s[b][0], s[b][1] > s[a][1]]
        models[f"reward `{folder}`"] = rates(wins)
    if args.evaluator:
        ev = load_evaluator(args.evaluator, device="cpu")
        wins = defaultdict(list)
        for a, b, attr in pairs:
            m = np.concatenate([ev.embed_motions(feats[n][None], [len(feats[n])]) for n in (a, b)])
            t = ev.embed_texts([caps[a], caps[b]])
            d = np.linalg.norm(t[:, None, :] - m[None, :, :], axis=-1)  # d[caption, motion]
            wins[attr] += [d[0, 0] < d[0, 1], d[1, 1] < d[1, 0]]
        models[f"evaluator `{args.evaluator}`"] = rates(wins)

    count = defaultdict(int)
    for _, _, attr in pairs:
        count[attr] += 2  # two captions per pair
    attrs = sorted(count, key=lambda k: (-count[k], k))
    head = "| model | all | " + " | ".join(f"{k} ({count[k]})" for k in attrs) + " |"
    md = [f"Near twins, {args.split} split of `{root}`: {len(pairs)} twin pairs, each caption scored against its own motion "
          "and its twin's; share of captions that prefer their own motion (chance 50%), per attribute the twins differ "
          "in (captions per attribute in brackets).", "", head, "|---|---|" + "---|" * len(attrs)]
    for name, r in models.items():
        md.append(f"| {name} | **{100 * r['all']['own_preferred']:.1f}%** | "
                  + " | ".join(f"{100 * r[k]['own_preferred']:.0f}%" if k in r else "" for k in attrs) + " |")
    write_results(args.out, {"split": args.split, "pairs": len(pairs), "models": models, "chance": 0.5},
                  "\n".join(md) + "\n", device="cpu")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
