"""``python -m easytune_core sample``: text -> motion .npy files.

Writes the joints (T, 22, 3) to --out and the HumanML3D features (T, 263) beside it
(``<out stem>_features.npy``). With several --prompt flags, files get a ``_<i>`` suffix.
With ``--repetitions N`` every prompt gets N takes (seeds seed .. seed+N-1, sampled in batches),
written as ``<out stem>_<i>_take<k>.npy``; ``--prompts-file FILE`` reads one prompt per line,
optionally ``prompt | seconds``. Whenever several motions are written, ``<out stem>_index.json``
lists them (prompt, take, seed, frames, files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .limits import DEFAULT_GUIDANCE, DEFAULT_SECONDS, DEFAULT_STEPS, MAX_SECONDS, MAX_STEPS, MIN_SECONDS

MAX_FILE_PROMPTS = 1000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt", action="append", default=None, help="text description (repeat for a batch)")
    p.add_argument("--prompts-file", default=None,
                   help="text file, one prompt per line, optionally 'prompt | seconds' (# starts a comment)")
    p.add_argument("--repetitions", type=int, default=1, help="takes per prompt (1-16), seeds seed, seed+1, ...")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                   help=f"motion length, {MIN_SECONDS:g}-{MAX_SECONDS:g} s (default {DEFAULT_SECONDS:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    p.add_argument("--checkpoint", default=None,
                   help="denoiser: a checkpoint folder, a shipped name (base, easytune) or a Hugging Face Hub "
                        "repo id (default: the shipped base model)")
    p.add_argument("--guidance", type=float, default=None,
                   help=f"classifier-free guidance weight (default: the model's, {DEFAULT_GUIDANCE:g} for models "
                        "trained here, 7.5 for converted MLD checkpoints)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"sampler steps, 1-{MAX_STEPS} (default: the model's, {DEFAULT_STEPS} or 4 for few-step "
                        "models; DDPM: fewer than the model's run on its respaced process)")
    p.add_argument("--sampler", default="ddim", choices=("ddim", "ddpm"),
                   help="ddim (default) or ddpm (ancestral, as MDM samples; e.g. --steps 1000 for its 1,000-step models)")
    p.add_argument("--spacing", default=None, choices=("trailing", "even", "strided"),
                   help="which timesteps the sampler visits (default: trailing for DDIM, even for DDPM)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta (0 = deterministic)")
    p.add_argument("--guidance-interval", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="guide only the DDIM steps whose timestep / training steps lies in [LO, HI]; the others run "
                        "the conditional model alone, one pass instead of two (default: the model's, [0, 1] unless "
                        "its config sets another)")
    p.add_argument("--batch-size", type=int, default=32, help="motions sampled per batched call (with takes)")
    p.add_argument("--reward", default=None,
                   help="reward model checkpoint (e.g. assets/checkpoints/everyday_reward) that scores every motion; "
                        "with --repetitions the index names each prompt's highest-scoring take (best_take)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"),
                   help="denoiser arithmetic (auto: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32)")
    p.add_argument("--out", default="motion.npy", help="joints .npy path (features go beside it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def read_prompts_file(path) -> list[tuple[str, float | None]]:
    """[(prompt, seconds or None)] from a text file: one prompt per line, optional '| seconds'."""
    from .pipeline import check_prompts, seconds_to_frames

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prompts file {path} does not exist")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        prompt, bar, seconds = line.rpartition("|")
        if not bar:
            prompt, seconds = line, None
        try:
            prompt = check_prompts(prompt)[0]
            if seconds is not None:
                seconds = float(seconds)
                seconds_to_frames(seconds)
        except ValueError as err:
            raise ValueError(f"{path.name} line {number}: {err}") from None
        out.append((prompt, seconds))
    if not out:
        raise ValueError(f"{path.name} holds no prompts: write one per line, optionally 'prompt | seconds'")
    if len(out) > MAX_FILE_PROMPTS:
        raise ValueError(f"{path.name} holds {len(out)} prompts; at most {MAX_FILE_PROMPTS} per run")
    return out


def run(args) -> int:
    from .diffusion.sampler import check_guidance_interval
    from .edit.takes import check_repetitions
    from .pipeline import MotionPipeline, check_prompts, seconds_to_frames
    # Validate cheap things before loading any model.
    if args.prompts_file and args.prompt:
        raise ValueError("give --prompt or --prompts-file, not both")
    if args.prompts_file:
        items = read_prompts_file(args.prompts_file)
    elif args.prompt:
        items = [(p, None) for p in check_prompts(args.prompt)]
    else:
        raise ValueError("give a --prompt (or a --prompts-file)")
    seconds_to_frames(args.seconds)
    reps = check_repetitions(args.repetitions)
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {args.steps}")
    if args.batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {args.batch_size}")
    if args.guidance_interval is not None:
        check_guidance_interval(args.guidance_interval)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out}")
    from tqdm import tqdm
    from .shipped import shipped_checkpoint
    source = args.checkpoint if args.checkpoint is not None else shipped_checkpoint("base")
    pipe = MotionPipeline.from_pretrained(source, device=args.device, precision=args.precision)
    reward = None
    if args.reward is not None:
        from .reward import load_reward_model
        from .reward.rank import check_pair
        reward = load_reward_model(args.reward, device=pipe.device)
        check_pair(pipe, reward)
    if args.guidance_interval is not None:
        pipe.guidance_interval = check_guidance_interval(args.guidance_interval)
    out.parent.mkdir(parents=True, exist_ok=True)
    prompts = [p for p, _ in items]
    seconds = [args.seconds if s is None else s for _, s in items]
    steps = pipe.default_steps if args.steps is None else args.steps
    total = min(steps, pipe.schedule.num_steps) if args.sampler == "ddpm" and not pipe.few_step else steps
    how = dict(guidance=args.guidance, steps=steps, eta=args.eta, sampler=args.sampler, spacing=args.spacing)
    if reps == 1 and not args.prompts_file:
        # The plain path: one batch, as before (seed gives the batch's noise).
        bar = tqdm(total=total, desc="sampling", disable=args.quiet, dynamic_ncols=True)
        res = pipe.generate(prompts, seconds=seconds, seed=args.seed, on_step=lambda i, t, x, x0: bar.update(1), **how)
        bar.close()
        motions = [(b, 0, b, args.seed) for b in range(len(prompts))]
        results = [(res, motions)]
    else:
        per = max(1, args.batch_size // reps)
        chunks = [list(range(i, min(i + per, len(prompts)))) for i in range(0, len(prompts), per)]
        bar = tqdm(total=total * len(chunks), desc="sampling", disable=args.quiet, dynamic_ncols=True)
        results = []
        for idx in chunks:
            res = pipe.takes([prompts[i] for i in idx], reps, seconds=[seconds[i] for i in idx], seed=args.seed,
                             on_step=lambda i, t, x, x0: bar.update(1), **how)
            results.append((res, [(b, b % reps, idx[b // reps], res.seeds[b]) for b in range(len(res.prompts))]))
        bar.close()
    single = len(prompts) == 1 and reps == 1
    written = []
    for res, motions in results:
        for b, take, p_index, seed in motions:
            if single:
                stem = out.with_suffix("")
            elif reps == 1:
                stem = out.with_name(f"{out.stem}_{p_index}")
            else:
                stem = out.with_name(f"{out.stem}_{p_index}_take{take}")
            n = res.lengths[b]
            jp, fp = Path(f"{stem}.npy"), Path(f"{stem}_features.npy")
            np.save(jp, res.joints[b, :n])
            np.save(fp, res.features[b, :n])
            written.append({"prompt": res.prompts[b], "prompt_index": p_index, "take": take, "seed": seed,
                            "frames": n, "seconds": n / res.fps, "joints": str(jp), "features": str(fp)})
        if reward is not None:
            from .reward.rank import reward_scores
            scores = reward_scores(reward, pipe.encode_pooled(res.prompts).cpu(), res.features, res.lengths)
            for entry, value in zip(written[-len(motions):], scores):
                entry["reward"] = round(float(value), 6)
    summary = {"seed": args.seed, "fps": pipe.fps, "repetitions": reps, "motions": written}
    if reward is not None:
        summary["reward"] = args.reward
        if reps > 1:  # per prompt, the take the reward scores highest (the earlier one on ties); prompt-major
            from .reward.rank import best_takes
            summary["best_take"] = [int(i) % reps for i in best_takes([m["reward"] for m in written], reps)]
    if not single:
        index = out.with_name(f"{out.stem}_index.json")
        index.write_text(json.dumps(summary, indent=1), encoding="utf-8")
        summary["index"] = str(index)
    print(json.dumps(summary, indent=1))
    return 0
