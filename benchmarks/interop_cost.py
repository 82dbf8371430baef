"""What the published-setting workflow costs: a denoiser call at MDM's HumanML3D size and the T2M
evaluator at its published size, timed on this machine (random weights; speed does not depend on them).

Measures (seconds, median of ``--repeats``):
  * one guided denoiser call of a 512-wide, 8-layer, 4-head, ff-1024 transformer with 512-d text
    embeddings (MDM's HumanML3D size) on ``batch`` motions x 196 frames (cond + uncond = 2 x batch
    sequences), fp32 and bf16 autocast; and one forward + backward at batch ``batch`` (what one
    EasyTune optimiser step adds to the trajectory);
  * the T2M evaluator (movement 512/512, motion GRU 1024, text GRU 512, 300-d GloVe): embedding
    ``batch`` motions of 196 frames and ``batch`` captions.
Also counts the multiply-adds of one denoiser call to report the achieved GFLOP/s. Writes
benchmarks/results/interop_cost.{json,md}; docs/bring_your_own.md turns these into estimates.

    nice .venv/bin/python benchmarks/interop_cost.py --threads 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results, stamp  # noqa: E402  (also puts the repository root on sys.path)

MDM = dict(width=512, layers=8, heads=4, ff=1024, text_dim=512, max_frames=196)


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def denoiser_flops(batch: int, frames: int = 196, **c) -> float:
    """Floating-point operations (2 per multiply-add) of one call on ``batch`` sequences."""
    L, d, ff, n = frames + 1, c["width"], c["ff"], c["layers"]
    per_token = n * (4 * d * d + 2 * d * ff)           # q, k, v, out projections + feed-forward
    attention = n * 2 * L * L * d                      # scores + weighted sum
    return 2.0 * batch * (L * per_token + attention)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32, help="motions per call (guided calls run 2 x batch sequences)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "interop_cost"))
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
    from easytune_core.eval.glove import WordVectors
    from easytune_core.eval.t2m import T2MConfig, T2MEvaluator

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    B, T = args.batch, 196
    model = MotionDenoiser(DenoiserConfig(**MDM)).eval()
    x = torch.randn(2 * B, T, 263)
    t = torch.randint(0, 1000, (2 * B,))
    emb = torch.randn(2 * B, 512)
    mask = torch.ones(2 * B, T, dtype=torch.bool)

    def call(dtype=None):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
            model(x, t, emb, mask)

    def train_step():
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x[:B], t[:B], emb[:B], mask[:B])
        out.float().square().mean().backward()

    rows = {"denoiser_guided_call_fp32_s": _time(call, args.repeats),
            "denoiser_guided_call_bf16_s": _time(lambda: call(torch.bfloat16), args.repeats),
            "denoiser_forward_backward_bf16_s": _time(train_step, args.repeats)}
    flops = denoiser_flops(2 * B, T, **MDM)
    rows["denoiser_guided_call_gflop"] = flops / 1e9
    rows["achieved_gflops_fp32"] = flops / rows["denoiser_guided_call_fp32_s"] / 1e9
    rows["achieved_gflops_bf16"] = flops / rows["denoiser_guided_call_bf16_s"] / 1e9

    ev = T2MEvaluator(T2MConfig(), WordVectors(np.random.default_rng(0).standard_normal((3, 300)).astype(np.float32),
                                               {"unk": 0, "a": 1, "person": 2}), tagger="lexicon").eval()
    feats = np.random.default_rng(1).standard_normal((B, T, 263)).astype(np.float32)
    lengths = np.full(B, T)
    caps = ["a person walks forward and then turns around to the left"] * B
    toks = ["a/DET person/NOUN walk/VERB forward/ADV and/CCONJ then/ADV turn/VERB around/ADV to/ADP the/DET left/ADV"] * B
    rows["t2m_embed_motions_s"] = _time(lambda: ev.embed_motions(feats, lengths), args.repeats)
    rows["t2m_embed_texts_s"] = _time(lambda: ev.embed_texts(caps, toks), args.repeats)

    st = stamp("cpu")
    commit = st["commit"]
    res = {"stamp": st, "commit": commit, "date": st["date"], "device": "cpu",
           "cpu": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__,
           "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
           "batch": B, "frames": T, "denoiser": MDM, **{k: round(v, 4) for k, v in rows.items()}}
    md = [f"# Published-setting cost on this CPU ({args.threads} threads, torch {torch.__version__}, "
          f"commit {commit}, {res['date']})", "",
          f"1-minute load average {res['load_average_1min'][0]} before, {res['load_average_1min'][1]} after "
          f"(the machine is shared: above {args.threads}, other jobs took part of the CPU).", "",
          "| measurement | seconds |", "|---|---|",
          f"| MDM-size denoiser, one guided call, {B} motions x {T} frames ({2 * B} sequences), fp32 | "
          f"{rows['denoiser_guided_call_fp32_s']:.3f} |",
          f"| the same, bf16 autocast | {rows['denoiser_guided_call_bf16_s']:.3f} |",
          f"| MDM-size denoiser, forward + backward, {B} motions, bf16 | {rows['denoiser_forward_backward_bf16_s']:.3f} |",
          f"| T2M evaluator (published size): embed {B} motions of {T} frames | {rows['t2m_embed_motions_s']:.3f} |",
          f"| T2M evaluator: embed {B} captions | {rows['t2m_embed_texts_s']:.3f} |", "",
          f"One guided call is {rows['denoiser_guided_call_gflop']:.0f} GFLOP: "
          f"{rows['achieved_gflops_fp32']:.0f} GFLOP/s achieved in fp32, {rows['achieved_gflops_bf16']:.0f} in bf16."]
    write_results(args.out, res, "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
