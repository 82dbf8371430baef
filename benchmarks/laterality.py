"""Do the reward model and the evaluator tell "left" from "right"?

The built-in dataset keeps every motion's mirror image (``M<name>``) with its captions mirrored
("left" <-> "right"). For real test motions whose caption names a side, each model scores the
motion against its own caption and against its mirror's caption; we report how often the own
caption wins (chance 50%). The reward model reads MiniLM's pooled sentence embedding (the same
one the denoiser is conditioned on), the evaluator per-token static embeddings.

    python benchmarks/laterality.py [--pairs 300]     # ~10 s; writes benchmarks/results/laterality.{json,md}
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, first_caption, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/builtin")
    p.add_argument("--split", default="test")
    p.add_argument("--pairs", type=int, default=300)
    p.add_argument("--reward", default="assets/checkpoints/reward")
    p.add_argument("--evaluator", default="assets/checkpoints/evaluator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "laterality"))
    args = p.parse_args(argv)

    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.eval.model import load_evaluator
    from easytune_core.reward import load_reward_model
    from easytune_core.data.loader import CaptionEmbeddings
    from easytune_core.text import get_text_encoder

    torch.set_num_threads(args.threads)
    root = resolve_dataset(args.data)
    names = [n.strip() for n in (root / f"{args.split}.txt").read_text().splitlines() if n.strip()]
    present = set(names)
    originals = [n for n in names if not n.startswith("M") and f"M{n}" in present]
    np.random.default_rng(args.seed).shuffle(originals)
    rm = load_reward_model(args.reward, "cpu")
    ev = load_evaluator(args.evaluator, device="cpu")
    te = get_text_encoder("minilm", "cpu")
    CaptionEmbeddings(te).warm(root, encode_all=False)  # the disk cache of train-base, if any
    reward_wins, eval_wins, examples = [], [], []
    for name in originals:
        own, mirrored = first_caption(root, name), first_caption(root, f"M{name}")
        if own == mirrored or not ({"left", "right"} & set(own.replace(",", " ").replace(".", " ").split())):
            continue
        feats = np.load(root / "new_joint_vecs" / f"{name}.npy")[:rm.config.max_frames].astype(np.float32)
        f = torch.from_numpy(feats)[None]
        with torch.no_grad():
            r = rm.reward(rm.normalize(f).expand(2, -1, -1), None, te.encode([own, mirrored]))
        m = ev.embed_motions(f, [f.shape[1]])
        d = np.linalg.norm(ev.embed_texts([own, mirrored]) - m, axis=1)
        reward_wins.append(bool(r[0] > r[1]))
        eval_wins.append(bool(d[0] < d[1]))
        if len(examples) < 5:
            examples.append({"motion": name, "caption": own, "mirrored_caption": mirrored,
                             "reward": [round(float(x), 4) for x in r], "evaluator_distance": [round(float(x), 4) for x in d]})
        if len(reward_wins) >= args.pairs:
            break
    if not reward_wins:
        print("error: no motion with a side-naming caption and a mirrored twin in this split", file=sys.stderr)
        return 1
    res = {"split": args.split, "pairs": len(reward_wins), "reward_prefers_own_caption": float(np.mean(reward_wins)),
           "evaluator_prefers_own_caption": float(np.mean(eval_wins)), "chance": 0.5, "examples": examples}
    md = (f"Left/right: real {args.split}-split motions whose caption names a side, scored against their own caption "
          f"and against their mirror's caption (left <-> right), {res['pairs']} motions, chance 50%.\n\n"
          "| model | text side | own caption preferred |\n|---|---|---|\n"
          f"| reward (`{args.reward}`) | MiniLM pooled sentence embedding | {100 * res['reward_prefers_own_caption']:.1f}% |\n"
          f"| evaluator (`{args.evaluator}`) | MiniLM static token embeddings | "
          f"{100 * res['evaluator_prefers_own_caption']:.1f}% |\n")
    write_results(args.out, res, md, device="cpu")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
