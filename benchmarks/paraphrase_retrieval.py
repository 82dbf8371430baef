"""Benchmark: how well reward models and evaluators retrieve motions from free phrasing.

    python benchmarks/paraphrase_retrieval.py --reward assets/checkpoints/reward runs/everyday/reward \
        --evaluator assets/checkpoints/evaluator runs/everyday/evaluator --split test

For every entry of the paraphrase set (hand-written prompts in phrasings no built-in caption uses) a
built-in motion that does what the prompt asks is synthesised (``synthesize_entry``). Each model then
ranks, for each text, the motions of random groups of 32 (text->motion Recall@1/3, averaged over
``--rounds`` shuffles), once with the hand-written prompts and once with the same motions' own
built-in (template) captions. The gap between the two rows is what free phrasing costs the model.
Writes benchmarks/results/<out>.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402


def motions_for(entries, seed: int):
    """(features list of (T, 263) de-normalised arrays, template captions) of one motion per entry."""
    from easytune_core.data.builtin import builtin_feature_fns
    from easytune_core.data.paraphrase import synthesize_entry
    fns = builtin_feature_fns()
    feats, templates = [], []
    for e in entries:
        s = synthesize_entry(e, seed)
        feats.append(np.asarray(fns.joints_to_features(s.joints, "humanml3d"), np.float32)[:196])
        templates.append(s.captions[0])
    return feats, templates


def recall_groups(text: np.ndarray, motion: np.ndarray, rounds: int, seed: int) -> dict:
    """Text->motion Recall@1/3 (%) in random groups of 32, averaged over ``rounds`` shuffles: the
    evaluation protocol's R-Precision (Euclidean distance; the reward's embeddings are unit vectors,
    so for them this is the cosine ranking) on each shuffle."""
    from easytune_core.eval.metrics import r_precision
    n = len(text)
    hits = np.mean([r_precision(text[order], motion[order], top_k=3)
                    for order in (np.random.default_rng([seed, r]).permutation(n) for r in range(rounds))], axis=0)
    return {"r1": round(100.0 * float(hits[0]), 6), "r3": round(100.0 * float(hits[2]), 6),
            "queries": rounds * (n // 32) * 32}


@torch.no_grad()
def reward_embed(folder, captions, feats):
    from easytune_core.reward import load_reward_model
    from easytune_core.text import get_text_encoder
    rm = load_reward_model(folder, device="cpu")
    enc = get_text_encoder(getattr(rm.config, "text_encoder", "minilm"))
    t = torch.nn.functional.normalize(rm.encode_text(enc.encode(list(captions)).float()), dim=-1).numpy()
    T = max(len(f) for f in feats)
    x = torch.zeros(len(feats), T, feats[0].shape[1])
    mask = torch.zeros(len(feats), T, dtype=torch.bool)
    for i, f in enumerate(feats):
        x[i, :len(f)] = torch.as_tensor(f)
        mask[i, :len(f)] = True
    x = rm.normalize(x) * mask[..., None]
    m = torch.nn.functional.normalize(rm.encode_motion(x, mask, None), dim=-1).numpy()
    return t, m


def evaluator_embed(folder, captions, feats):
    from easytune_core.eval import load_evaluator
    ev = load_evaluator(folder, device="cpu")
    T = max(len(f) for f in feats)
    x = np.zeros((len(feats), T, feats[0].shape[1]), np.float32)
    for i, f in enumerate(feats):
        x[i, :len(f)] = f
    return ev.embed_texts(list(captions)), ev.embed_motions(x, [len(f) for f in feats])


def main() -> int:
    from easytune_core.data.paraphrase import load_paraphrase_set
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reward", nargs="*", default=["assets/checkpoints/reward"])
    p.add_argument("--evaluator", nargs="*", default=["assets/checkpoints/evaluator"])
    p.add_argument("--split", default="test", choices=("val", "test", "all"))
    p.add_argument("--rounds", type=int, default=50, help="random groupings averaged")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "paraphrase_retrieval"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    entries = load_paraphrase_set(None if args.split == "all" else args.split)
    if len(entries) < 32:
        raise SystemExit(f"need at least 32 paraphrase entries, got {len(entries)}")
    feats, templates = motions_for(entries, args.seed)
    prompts = [e["caption"] for e in entries]
    rows = []
    for kind, folders in (("reward", args.reward), ("evaluator", args.evaluator)):
        for folder in folders:
            embed = reward_embed if kind == "reward" else evaluator_embed
            row = {"model": str(folder), "kind": kind}
            for label, caps in (("paraphrase", prompts), ("template", templates)):
                t, m = embed(folder, caps, feats)
                row[label] = recall_groups(t, m, args.rounds, args.seed)
            rows.append(row)
            print(row, flush=True)
    data = {"split": args.split, "entries": len(entries), "rounds": args.rounds, "seed": args.seed, "rows": rows}
    md = [f"# Retrieval from free phrasing (paraphrase set, {args.split}: {len(entries)} prompts)", "",
          "Text->motion Recall in random groups of 32 (chance 3.1% / 9.4%), averaged over "
          f"{args.rounds} groupings; the motions are built-in motions doing what each prompt asks, scored "
          "once with the hand-written prompt and once with the motion's own built-in caption.", "",
          "| model | kind | paraphrase R@1 | R@3 | template R@1 | R@3 |", "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| `{r['model']}` | {r['kind']} | {r['paraphrase']['r1']:.1f} | {r['paraphrase']['r3']:.1f} | "
                  f"{r['template']['r1']:.1f} | {r['template']['r3']:.1f} |")
    write_results(args.out, data, "\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
