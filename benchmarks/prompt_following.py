"""Does a model follow its text? Rule checks on held-out captions (easytune_core.eval.rules).

Template split: for every checkable caption of the split (default test; one caption per clip),
the model samples a motion at the clip's length and joint-space rules judge it (walk direction,
pace, turns by an angle, jumps and their count, lying down, push-ups, the named hand, ...); the
same rules run on the ground-truth motions as a check of the rules; results are given per check
and per action family (from ``synth_actions.jsonl``). Paraphrase set (``--paraphrase val|test``):
the hand-written prompts of ``easytune_core/data/paraphrase_set.jsonl``, each sampled with
``--seeds`` seeds and judged by its own checks, per action family and subset. Sequence captions
(``--sequences N``): N captions of the split that describe 2-4 actions in order, each clause judged
on its own segment of the motion in the caption's order (``easytune_core.eval.rules.sequence``), by
number of clauses; with ``--timeline prefix|blend`` the same captions are also generated as timelines
of their clauses (``easytune_core.text.sequence.sequence_timeline`` + ``compose``) and judged the
same way. Best-of-N (``--best-of N --reward CKPT``): every template caption and paraphrase prompt
is also sampled N times (take k with seed + 1000 k), the reward model scores the takes and the
highest-scoring one is judged; the report gives take 1 (the plain run), the reward's pick, the mean
over takes and the best take by the rules (an upper bound no scorer can pass). Writes
``--out``.json/.md (default benchmarks/results/prompt_following).

    python benchmarks/prompt_following.py --checkpoint assets/checkpoints/base --data data/builtin
    python benchmarks/prompt_following.py --paraphrase test --seeds 3 --out benchmarks/results/paraphrase_base
    python benchmarks/prompt_following.py --no-template --sequences 200 --timeline prefix --out seq_timelines
    python benchmarks/prompt_following.py --best-of 4 --reward assets/checkpoints/everyday_reward ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)

from easytune_core.eval.rules import (judge_best_of, judge_case, judge_generated, judge_timelines,  # noqa: E402
                                      load_rule_cases, summarize)  # noqa: E402
from easytune_core.diffusion.sampler import check_guidance_interval  # noqa: E402


def families_of(root: Path) -> dict:
    """Clip name -> action family of its (first) action, from the dataset's ``synth_actions.jsonl``."""
    from easytune_core.data.builtin import ACTIONS_FILE
    from easytune_core.data.synth.registry import REGISTRY

    path = root / ACTIONS_FILE
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        kinds = [a.get("kind") for a in r["actions"]]
        fam = REGISTRY[kinds[0]].family if kinds and kinds[0] in REGISTRY else "other"
        out[r["name"]] = out["M" + r["name"]] = fam
    return out


def paraphrase_section(pipe, args) -> tuple[dict, list[str]]:
    from easytune_core.eval.paraphrase import paraphrase_cases, score_paraphrase

    cases = paraphrase_cases(args.paraphrase, tuple(args.subsets.split(",")))
    res = score_paraphrase(pipe, cases, seeds=args.seeds, steps=args.steps, guidance=args.guidance, batch=args.batch,
                           log=lambda m: print(m, file=sys.stderr))
    lines = ["", f"Paraphrase set, {args.paraphrase} split: {len(cases)} prompts x {args.seeds} seeds "
             f"(a prompt passes on a seed when all its checks pass):", "",
             "| family / subset | prompt-seeds | prompts passing | checks passing |", "|---|---|---|---|"]
    for group in ("families", "subsets"):
        for k, v in res[group].items():
            lines.append(f"| {k} | {v['prompt_seeds']} | {v['prompt_pass']:.0%} | {v['check_pass']:.0%} |")
    o = res["overall"]
    lines.append(f"| **all** | {o['prompt_seeds']} | **{o['prompt_pass']:.0%}** | {o['check_pass']:.0%} |")
    return res, lines


def sequence_section(seq: list[dict], key: str = "gen") -> tuple[dict, list[str]]:
    """Ordered checks of multi-action captions, by the number of clauses; with ``key`` "timeline"
    the motions are the captions generated as timelines of their clauses (``--timeline``)."""
    how = ("generated as one motion" if key == "gen" else
           "each generated as a timeline of its clauses (`sequence_timeline` + `compose`)")
    out, lines = {}, ["", f"Captions that describe actions in order ({len(seq)} captions, {how}; a caption passes "
                          "when the motion can be cut, in order, into segments on which each clause's checks pass):",
                      "", "| clauses | captions | model: captions passing | model: checks passing | "
                      "ground truth: captions passing |", "|---|---|---|---|---|"]
    groups = {}
    for c in seq:
        groups.setdefault(str(len(c["clauses"])), []).append(c)
    groups["all"] = seq
    for k, group in sorted(groups.items()):
        gen, gt = summarize(group, key), summarize(group, "gt")
        out[k] = {"captions": gen["captions"], "caption_pass": gen["caption_pass_fraction"],
                  "checks": gen["checks"], "check_pass": gen["pass_fraction"],
                  "gt_caption_pass": gt["caption_pass_fraction"]}
        name = "**all**" if k == "all" else k
        lines.append(f"| {name} | {gen['captions']} | {gen['caption_pass_fraction']:.1%} | {gen['pass_fraction']:.1%} "
                     f"| {gt['caption_pass_fraction']:.1%} |")
    # which clause fails: the checks of the k-th clause passing, over captions with that clause
    pos = {}
    for c in seq:
        results = iter(c[key])
        for k, clause in enumerate(c["clauses"], 1):
            got = [ok for _, (ok, _) in zip(clause, results)]
            p = pos.setdefault(k, [0, 0])
            p[0] += sum(map(bool, got))
            p[1] += len(got)
    out["by_position"] = {str(k): {"checks": n, "check_pass": p / n} for k, (p, n) in sorted(pos.items())}
    lines += ["", "Checks passing by the clause's position: " +
              ", ".join(f"clause {k} {v['check_pass']:.1%} of {v['checks']}" for k, v in out["by_position"].items()) + "."]
    out["examples"] = [{"caption": c["caption"], "clauses": c["clauses"], key: c[key]} for c in seq[:10]]
    return out, lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"))
    ap.add_argument("--data", default=str(ROOT / "data/builtin"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=200, help="captions to check (0 = all checkable ones)")
    ap.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's own, config default_steps)")
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--guidance-interval", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="guide only the DDIM steps whose timestep / training steps lies in [LO, HI] "
                         "(default: the model's config, [0, 1] unless it sets another)")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "prompt_following"))
    ap.add_argument("--gt-only", action="store_true", help="only run the rules on the ground-truth motions")
    ap.add_argument("--paraphrase", choices=("val", "test"), default=None,
                    help="also score the paraphrase set's split (see easytune_core.eval.paraphrase)")
    ap.add_argument("--subsets", default="paraphrase,probe_known,probe_everyday",
                    help="paraphrase subsets, comma-separated")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per paraphrase prompt")
    ap.add_argument("--no-template", action="store_true", help="skip the template split (paraphrase set only)")
    ap.add_argument("--sequences", type=int, default=0,
                    help="also check this many captions that describe 2-4 actions in order, each clause on its "
                         "own segment (easytune_core.eval.rules.sequence; 0 = none)")
    ap.add_argument("--timeline", choices=("prefix", "blend"), default=None,
                    help="also generate each sequence caption as a timeline of its clauses with this compose "
                         "strategy (easytune_core.text.sequence.sequence_timeline) and check it the same way")
    ap.add_argument("--no-whole", action="store_true",
                    help="with --timeline: skip generating the sequence captions as one motion")
    ap.add_argument("--best-of", type=int, default=1,
                    help="also sample every template caption and paraphrase prompt this many times and judge the "
                         "take the --reward model scores highest (1 = off)")
    ap.add_argument("--reward", default=None, help="reward model checkpoint that ranks the takes (with --best-of)")
    args = ap.parse_args(argv)
    if args.best_of < 1:
        ap.error("--best-of must be at least 1")
    if (args.best_of > 1) != bool(args.reward):
        ap.error("--best-of N (N > 1) and --reward CKPT go together")
    if args.sequences < 0:
        ap.error("--sequences must be 0 (none) or a positive number of captions")
    if args.timeline and not args.sequences:
        ap.error("--timeline needs --sequences N (the captions it generates as timelines)")
    if args.no_whole and not args.timeline:
        ap.error("--no-whole needs --timeline")
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.pipeline import MotionPipeline
    root = Path(args.data)
    if args.no_template and not (args.paraphrase or args.sequences):
        raise SystemExit("--no-template needs --paraphrase val|test or --sequences N")
    cases = [] if args.no_template else load_rule_cases(root, args.split, args.limit or None, args.seed)
    if not args.no_template and not cases:
        raise SystemExit(f"no checkable captions in {root}/{args.split}.txt")
    seq = load_rule_cases(root, args.split, args.sequences, args.seed, sequences=True) if args.sequences else []
    if args.sequences and not seq:
        raise SystemExit(f"no checkable sequence captions in {root}/{args.split}.txt")
    if args.gt_only:
        for c in cases + seq:
            c["gt"] = judge_case(c, np.load(root / "new_joints" / f"{c['name']}.npy"))
            for (cat, arg), (ok, v) in zip(c["checks"], c["gt"]):
                if not ok:
                    print("GT FAIL", c["name"], c["caption"], cat, arg, v)
        for label, group in (("whole-clip captions", cases), ("sequence captions", seq)):
            if not group:
                continue
            s = summarize(group, "gt")
            print(f"{label}: {s['passed']}/{s['checks']} checks, {s['caption_pass_fraction']:.1%} of "
                  f"{s['captions']} captions")
            for k, v in s["per_check"].items():
                print(f"  {k}: {v['pass']}/{v['n']}")
        return 0
    pipe = MotionPipeline.from_checkpoint(args.checkpoint, precision=args.precision)
    if args.steps is None:
        args.steps = pipe.default_steps
    if args.guidance_interval is not None:
        pipe.guidance_interval = check_guidance_interval(args.guidance_interval)
    interval = "" if pipe.guidance_interval == [0.0, 1.0] else \
        f" on the steps with t / T in [{pipe.guidance_interval[0]:g}, {pipe.guidance_interval[1]:g}]"
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    t0 = time.time()
    summary = {"checkpoint": args.checkpoint, "split": args.split, "seed": args.seed, "steps": args.steps,
               "guidance": args.guidance, "guidance_interval": pipe.guidance_interval, "precision": pipe.precision}
    lines = [f"Prompt following of `{args.checkpoint}` ({args.steps} DDIM steps, guidance {args.guidance}{interval}, "
             f"{pipe.precision}):"]
    scorer = None
    if args.best_of > 1:
        from easytune_core.reward import load_reward_model
        from easytune_core.reward.rank import reward_scores
        reward = load_reward_model(args.reward, device=pipe.device)
        summary["best_of"] = {"takes": args.best_of, "reward": args.reward}

        def scorer(captions, features, lengths):
            return reward_scores(reward, pipe.encode_pooled(captions).cpu(), features, lengths)
    if cases:
        lines += template_section(pipe, cases, root, args, summary, log, scorer)
    if seq:
        if not args.no_whole:
            judge_generated(pipe, seq, args.steps, args.guidance, args.seed, args.batch, gt_root=root, log=log)
            summary["sequences"], extra = sequence_section(seq)
            lines += extra
        if args.timeline:
            t1 = time.time()  # the ground truth is judged once: here only when the one-motion pass did not run
            judge_timelines(pipe, seq, args.steps, args.guidance, args.seed, args.timeline,
                            gt_root=root if args.no_whole else None, log=log)
            summary["sequences_timeline"], extra = sequence_section(seq, "timeline")
            summary["sequences_timeline"].update(strategy=args.timeline, seconds=round(time.time() - t1, 1))
            lines += extra
    if args.paraphrase:
        res, extra = paraphrase_section(pipe, args)
        summary["paraphrase"] = {"split": args.paraphrase, "seeds": args.seeds, **res}
        lines += extra
        if scorer is not None:
            from easytune_core.eval.paraphrase import paraphrase_cases
            pcases = paraphrase_cases(args.paraphrase, tuple(args.subsets.split(",")))
            judge_best_of(pipe, pcases, args.best_of, scorer, args.steps, args.guidance, 0, args.batch, log=log)
            summary["best_of"]["paraphrase"], extra = best_of_lines(pcases, f"Paraphrase set, {args.paraphrase} split",
                                                                    "family")
            lines += extra
    summary["seconds"] = round(time.time() - t0, 1)
    write_results(args.out, summary, "\n".join(lines), device=pipe.device)
    print("\n".join(lines))
    return 0


def best_of_lines(cases: list[dict], what: str, group: str | None = None) -> tuple[dict, list[str]]:
    """Take 1, the scorer's pick, the mean over takes and the rules' own best take (captions whose
    checks all pass, and checks passing), overall and per ``case[group]``; cases from judge_best_of."""
    def rates(group_cases):
        out = {}
        for name, pick in (("take1", lambda c: [c["takes"][0]]), ("reward_pick", lambda c: [c["best"]]),
                           ("mean_over_takes", lambda c: c["takes"]),
                           ("best_by_rules", lambda c: [max(c["takes"], key=lambda t: sum(ok for ok, _ in t))])):
            whole = checks = passed = 0.0
            for c in group_cases:
                chosen = pick(c)
                whole += sum(all(ok for ok, _ in t) for t in chosen) / len(chosen)
                checks += len(c["checks"])
                passed += sum(sum(bool(ok) for ok, _ in t) for t in chosen) / len(chosen)
            out[name] = {"caption_pass": whole / len(group_cases), "check_pass": passed / checks if checks else 0.0}
        out["captions"] = len(group_cases)
        out["pick_is_take1"] = sum(c["pick"] == 0 for c in group_cases) / len(group_cases)
        return out
    res = {"overall": rates(cases)}
    if group:
        groups = {}
        for c in cases:
            groups.setdefault(c.get(group, "other"), []).append(c)
        res["groups"] = {k: rates(v) for k, v in sorted(groups.items())}
    n = len(cases[0]["takes"])
    lines = ["", f"{what}, best of {n} takes ranked by the reward model (captions whose checks all pass / checks "
             "passing):", "", "| group | captions | take 1 | reward's pick | mean over takes | best take by the rules |",
             "|---|---|---|---|---|---|"]
    rows = [("**all**", res["overall"])] + list(res.get("groups", {}).items())
    for name, r in rows:
        cells = " | ".join(f"{r[k]['caption_pass']:.1%} / {r[k]['check_pass']:.1%}"
                           for k in ("take1", "reward_pick", "mean_over_takes", "best_by_rules"))
        lines.append(f"| {name} | {r['captions']} | {cells} |")
    return res, lines


def template_section(pipe, cases: list[dict], root: Path, args, summary: dict, log, scorer=None) -> list[str]:
    """Whole-clip rule checks of the template captions; fills ``summary`` and returns the markdown lines.
    With ``scorer`` (``--best-of``) the captions are sampled ``args.best_of`` times and the reward's
    pick is reported too; the main table stays take 1, the plain run."""
    if scorer is None:
        judge_generated(pipe, cases, args.steps, args.guidance, args.seed, args.batch, gt_root=root, log=log)
    else:
        judge_best_of(pipe, cases, args.best_of, scorer, args.steps, args.guidance, args.seed, args.batch,
                      gt_root=root, log=log)
    gen, gt = summarize(cases, "gen"), summarize(cases, "gt")
    summary.update({"captions": len(cases), "checks": gen["checks"],
                    "pass_fraction": gen["pass_fraction"], "gt_pass_fraction": gt["pass_fraction"],
                    "per_check": {k: {"n": v["n"], "gen_pass": v["pass"],
                                      "gt_pass": gt["per_check"].get(k, {}).get("pass", 0),
                                      "gt_n": gt["per_check"].get(k, {}).get("n", 0)}
                                  for k, v in gen["per_check"].items()},
                    "examples": [{"caption": c["caption"], "checks": c["checks"], "gen": c["gen"]} for c in cases[:20]]})
    fams = families_of(root)
    per_family = {}
    for c in cases:
        f = per_family.setdefault(fams.get(c["name"], "other"), [0, 0])
        f[0] += sum(bool(ok) for ok, _ in c["gen"])
        f[1] += len(c["gen"])
    summary["per_family"] = {k: {"n": n, "gen_pass": p} for k, (p, n) in sorted(per_family.items())}
    lines = ["", f"{len(cases)} {args.split}-split captions, whole-clip checks:", "",
             "| check | captions | model pass | ground-truth pass |", "|---|---|---|---|"]
    for k, v in summary["per_check"].items():
        gt_frac = f"{v['gt_pass'] / v['gt_n']:.0%}" if v["gt_n"] else "-"
        lines.append(f"| {k} | {v['n']} | {v['gen_pass'] / v['n']:.0%} | {gt_frac} |")
    lines.append(f"| **all** | {gen['checks']} | **{gen['pass_fraction']:.0%}** | {gt['pass_fraction']:.0%} |")
    lines += ["", "| family | checks | model pass |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {v['gen_pass'] / v['n']:.0%} |" for k, v in summary["per_family"].items()]
    if scorer is not None:
        for c in cases:
            c["family"] = fams.get(c["name"], "other")
        summary["best_of"]["template"], extra = best_of_lines(cases, f"{args.split}-split captions", "family")
        lines += extra
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
