"""How much of a caption's action plan the denoiser's text conditioning carries: probes on the pooled
sentence embeddings a built-in dataset's captions get (the vector the base denoiser and the reward
read), trained on the train split's captions and scored on val.

For captions of motions with one action, a linear and a small MLP probe predict the action's type;
for motions of two and three actions, an MLP probe per position predicts the type of the first,
second (and third) action, and the result also counts how often the prediction is the type of
*another* action of the same motion (the probe found the action but not its place in the order).
The nearest training caption by cosine similarity is scored the same way (does the closest caption
describe the same action sequence?).

A high single-action accuracy says the embedding names the action; lower per-position accuracies on
multi-action captions say the order of clauses is partly lost in the pooling, which no denoiser
reading only this vector can recover.

    .venv/bin/python benchmarks/text_probe.py --data data/everyday --threads 2

Needs a built-in dataset (``synth_actions.jsonl`` beside the splits); only the original motions are
used (mirror images repeat their actions). Writes benchmarks/results/text_probe.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_plans(root: Path) -> dict[str, tuple[str, ...]]:
    """Action types in order, per motion name, from ``synth_actions.jsonl``."""
    from easytune_core.data.builtin import ACTIONS_FILE

    path = root / ACTIONS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the probes need a built-in dataset (prepare-data), whose "
                                "motions record their actions")
    plans = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                plans[rec["name"]] = tuple(a["type"] for a in rec["actions"])
    return plans


def split_pairs(root: Path, split: str, plans: dict) -> list[tuple[str, tuple]]:
    """(caption, action types) of every caption of the split's original motions."""
    out = []
    for name in (root / f"{split}.txt").read_text().split():
        if name.startswith("M") or name not in plans:
            continue
        for line in (root / "texts" / f"{name}.txt").read_text(encoding="utf-8").splitlines():
            caption = line.split("#")[0].strip()
            if caption:
                out.append((caption, plans[name]))
    return out


def fit_probe(x, y, classes: int, hidden: int, epochs: int, seed: int):
    """A linear (hidden 0) or one-hidden-layer MLP classifier fitted with AdamW on (x, y)."""
    import torch

    torch.manual_seed(seed)
    dim = x.shape[1]
    net = (torch.nn.Linear(dim, classes) if hidden == 0 else
           torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, classes)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=gen).split(256):
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="builtin", help="a built-in dataset folder (or 'builtin')")
    ap.add_argument("--text-encoder", default="minilm", help="the encoder whose pooled embeddings are probed")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=512, help="hidden units of the MLP probes")
    ap.add_argument("--max-actions", type=int, default=3, help="probe motions of 1 .. this many actions")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS / "text_probe"))
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.hidden < 1 or args.max_actions < 1:
        ap.error("--epochs, --hidden and --max-actions must be positive")
    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.loader import CaptionEmbeddings
    from easytune_core.text import get_text_encoder

    torch.set_num_threads(args.threads)
    root = resolve_dataset(args.data)
    plans = load_plans(root)
    train, val = split_pairs(root, "train", plans), split_pairs(root, "val", plans)
    if not train or not val:
        raise SystemExit(f"{root} has no captions of original motions in its train or val split")
    captions = CaptionEmbeddings(get_text_encoder(args.text_encoder), "cpu")
    captions.warm(root, ("train", "val"))

    def embed(pairs):
        vecs = torch.cat([captions([c for c, _ in pairs[i:i + 1024]]) for i in range(0, len(pairs), 1024)])
        return torch.nn.functional.normalize(vecs, dim=-1)

    xtr, xva = embed(train), embed(val)
    # probes train on unit vectors scaled up, so that AdamW's default step size suits their logits
    scale = 5.0
    rows = []
    with torch.no_grad():
        nearest = (xva @ xtr.T).argmax(dim=1).tolist()
    for n in range(1, args.max_actions + 1):
        tr_idx = [i for i, (_, p) in enumerate(train) if len(p) == n]
        va_idx = [i for i, (_, p) in enumerate(val) if len(p) == n]
        if not tr_idx or not va_idx:
            continue
        knn = sum(train[nearest[i]][1] == val[i][1] for i in va_idx) / len(va_idx)
        rows.append({"actions": n, "position": "all", "probe": "nearest training caption", "train": len(tr_idx),
                     "val": len(va_idx), "val_accuracy": round(knn, 4)})
        types = sorted({t for i in tr_idx for t in train[i][1]})
        tid = {t: k for k, t in enumerate(types)}
        for pos in range(n):
            ytr = torch.tensor([tid[train[i][1][pos]] for i in tr_idx])
            keep = [i for i in va_idx if val[i][1][pos] in tid]  # a type the probe never saw cannot be named
            if not keep:
                continue
            yva = torch.tensor([tid[val[i][1][pos]] for i in keep])
            majority = Counter(ytr.tolist()).most_common(1)[0][0]
            for probe, hidden in ((("linear", 0),) if n == 1 else ()) + (("MLP", args.hidden),):
                net = fit_probe(xtr[tr_idx] * scale, ytr, len(types), hidden, args.epochs, args.seed)
                with torch.no_grad():
                    pred = net(xva[keep] * scale).argmax(dim=1)
                row = {"actions": n, "position": pos + 1, "probe": probe, "train": len(tr_idx), "val": len(keep),
                       "classes": len(types), "val_accuracy": round(float((pred == yva).float().mean()), 4),
                       "majority_baseline": round(float((yva == majority).float().mean()), 4)}
                if n > 1:  # predicted the type of another action of the same motion (and not this one's)
                    other = [types[int(p)] in val[i][1][:pos] + val[i][1][pos + 1:] and types[int(p)] != val[i][1][pos]
                             for p, i in zip(pred, keep)]
                    row["another_position"] = round(sum(other) / len(keep), 4)
                rows.append(row)
                print(f"{n} action(s), position {pos + 1}, {probe}: {row['val_accuracy']:.3f}", flush=True)
    data = {"data": str(root), "text_encoder": args.text_encoder, "epochs": args.epochs, "hidden": args.hidden,
            "train_captions": len(train), "val_captions": len(val), "rows": rows}
    md = [f"What a probe reads from the pooled `{args.text_encoder}` embedding of a caption of `{root.name}`: "
          f"the type of each action, in order (probes fitted on {len(train):,} train captions, scored on "
          f"{len(val):,} val captions of original motions; MLP: one hidden layer of {args.hidden}, "
          f"{args.epochs} epochs):", "",
          "| actions in the motion | position | probe | val captions | val accuracy | majority class | "
          "named another position's action |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['actions']} | {r['position']} | {r['probe']} | {r['val']:,} | {100 * r['val_accuracy']:.1f}% | "
                  + (f"{100 * r['majority_baseline']:.1f}%" if "majority_baseline" in r else "") + " | "
                  + (f"{100 * r['another_position']:.1f}%" if "another_position" in r else "") + " |")
    md += ["", "Nearest training caption: the val caption's closest train caption (cosine) describes the same "
           "action sequence."]
    write_results(args.out, data, "\n".join(md) + "\n", device="cpu")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
