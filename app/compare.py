"""Compare tab: one prompt, checkpoints A and B, same seed and same initial noise, side by side."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from easytune_core.limits import (APP_DEFAULT_SECONDS, APP_MAX_GUIDANCE_SLIDER, DEFAULT_GUIDANCE, MAX_SECONDS,
                                  MAX_SEED, MIN_SECONDS)

from .backend import SHIPPED
from .checks import check_choice, check_guidance, check_prompt, check_seconds, check_seed, check_steps, user_errors

log = logging.getLogger(__name__)

SCORE_HEADERS = ["side", "checkpoint", "reward (higher = closer to the text)", "evaluator matching distance (lower = better)"]
EXAMPLES = [
    "a person walks forward and waves with the right hand",
    "a person jumps up high twice",
    "a person turns left and then walks back",
    "a person sits down slowly",
    "someone runs forward quickly",
]
# Everyday-world prompts (actions outside the default models' vocabulary); clicking one also puts the
# everyday base on A and, on B, its EasyTune model (or, without one, the default base, so the two worlds
# are compared on the same seed).
EVERYDAY_EXAMPLES = [
    "a person lies down on the floor",
    "someone crawls forward on hands and knees",
    "a person does push-ups",
    "a man bows to the audience",
    "she kneels on one knee",
    "a person stands on the left foot",
    "someone does lunges",
    "a person stretches both arms up over the head",
]
_SHIPPED_NAME = {folder: name for name, folder in SHIPPED.items()}
EVERYDAY_PAIRS = ((_SHIPPED_NAME["everyday_base"], _SHIPPED_NAME["everyday_easytune"],
                   "A: the everyday base, B: its EasyTune model"),
                  (_SHIPPED_NAME["everyday_base"], _SHIPPED_NAME["base"], "A: the everyday base, B: the default base"))
"""The dropdown names of A and B the everyday examples set, with their label: the first pair whose two
models are installed (the everyday EasyTune model beside its base, else the default base)."""


def everyday_pair(choices) -> tuple[str, str, str] | None:
    """The everyday examples' (A, B, label) for these dropdown choices, or None without an everyday base."""
    return next((pair for pair in EVERYDAY_PAIRS if pair[0] in choices and pair[1] in choices), None)


def LooseSlider(*args, **kwargs) -> gr.Slider:
    """A stock slider whose range is checked by our own handlers, so API callers get a message that
    names the field and the fix instead of gradio's generic bounds error. (An instance override, not
    a subclass: gradio writes a .pyi stub next to every module that subclasses a component.)"""
    slider = gr.Slider(*args, **kwargs)
    slider.preprocess = lambda payload: payload
    return slider


def load_examples(assets_dir) -> list[str]:
    """Example prompts from `assets/examples.txt` (one per line) or a built-in list."""
    path = assets_dir / "examples.txt"
    if path.exists():
        lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
        if lines:
            return lines[:20]
    return EXAMPLES


def _session(request) -> str | None:
    return getattr(request, "session_hash", None)


def _fmt(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _both_calls(*calls) -> list:
    """Run callables in parallel threads; results in order, the first error re-raised."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls), thread_name_prefix="easytune-details") as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def sequence_hint(prompt: str) -> str:
    """A pointer to the Timeline's split for a prompt of several actions in order, else ''."""
    from easytune_core.text.sequence import clauses_of

    n = len(clauses_of(prompt))
    if n < 2:
        return ""
    return (f" This prompt names {n} actions in order: generated as one motion, they are seldom all done in order; "
            "the Timeline below can split it into one segment per action (Split the prompt above into segments).")


def build_compare_tab(backend, folders, config):
    """Lay out the Compare tab and wire its events. Returns its components (a namespace): the A/B
    dropdowns (other tabs refresh them), the generation settings, the A/B views and downloads, the
    status line and the session's last comparison (the timeline and the Edit tab use them)."""
    choices = backend.checkpoint_choices()
    default_a = choices[0] if choices else None
    default_b = choices[1] if len(choices) > 1 else default_a
    # allow_custom_value: the list grows at run time (fine-tuning runs, uploads) while gradio's own
    # check would use the list from start-up; the handler checks against the live list instead.
    # Made here and placed further down, so the examples under the prompt can set them.
    ckpt_a = gr.Dropdown(choices, value=default_a, label="Checkpoint A", elem_id="ckpt_a", allow_custom_value=True,
                         render=False)
    ckpt_b = gr.Dropdown(choices, value=default_b, label="Checkpoint B", elem_id="ckpt_b", allow_custom_value=True,
                         render=False)
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="Prompt", lines=2, max_lines=4, placeholder="a person walks forward and waves with the right hand",
                                value=EXAMPLES[0], elem_id="prompt")
            gr.Examples([[e] for e in load_examples(config.assets_dir)], inputs=[prompt], label="Examples")
            pair = everyday_pair(choices)
            if pair:
                gr.Examples([[e, *pair[:2]] for e in EVERYDAY_EXAMPLES], inputs=[prompt, ckpt_a, ckpt_b],
                            label=f"Everyday actions ({pair[2]})",
                            visible_columns=[0], elem_id="everyday_examples")
        with gr.Column(scale=2):
            seconds = LooseSlider(MIN_SECONDS, MAX_SECONDS, value=APP_DEFAULT_SECONDS, step=0.1, label="Length (seconds)")
            with gr.Row():
                seed = gr.Number(value=0, label="Seed", precision=None, min_width=120)
                dice = gr.Button("Random seed", size="sm", min_width=80)
            guidance = LooseSlider(0.0, APP_MAX_GUIDANCE_SLIDER, value=DEFAULT_GUIDANCE, step=0.1, label="Guidance scale")
            steps = LooseSlider(1, 200, value=config.default_steps, step=1, label="Diffusion steps (DDIM)")
    with gr.Row():
        ckpt_a.render()
        ckpt_b.render()
    with gr.Accordion("Upload a checkpoint (zip of a checkpoint folder, model .safetensors + config.json, "
                      "or an MDM model .pt + args.json + Mean.npy + Std.npy)", open=False):
        upload = gr.File(file_count="multiple", file_types=[".zip", ".safetensors", ".json", ".pt", ".pth", ".npy"],
                         label="Checkpoint files")
        add_btn = gr.Button("Add uploaded checkpoint")
    with gr.Row():
        generate = gr.Button("Generate A and B", variant="primary", elem_id="generate", scale=4)
        live = gr.Checkbox(False, label="Live (few-step models on both sides): regenerate as you type or move a slider",
                           interactive=backend.is_few_step(default_a) and backend.is_few_step(default_b),
                           elem_id="live", scale=3)
    status = gr.Markdown("")
    with gr.Row(equal_height=True):
        with gr.Column():
            view_a = gr.Model3D(label="A", height=420, elem_id="view_a", clear_color=(0.96, 0.96, 0.97, 1.0))
            files_a = gr.File(label="Downloads A (GLB, BVH, SMPL NPZ, joints, features)", file_count="multiple", interactive=False)
        with gr.Column():
            view_b = gr.Model3D(label="B", height=420, elem_id="view_b", clear_color=(0.96, 0.96, 0.97, 1.0))
            files_b = gr.File(label="Downloads B (GLB, BVH, SMPL NPZ, joints, features)", file_count="multiple", interactive=False)
    scores = gr.Dataframe(headers=SCORE_HEADERS, label="Scores", interactive=False, elem_id="scores")
    with gr.Row():
        video_btn = gr.Button("Render mp4 of both")
    video = gr.Video(label="A and B side by side", interactive=False, height=360)
    last = gr.State(None)
    full = gr.Button(visible=False)  # the one-call /compare endpoint for API users

    dice.click(lambda: random.randint(0, MAX_SEED), outputs=seed, api_visibility="private", queue=False)

    def checked(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session):
        names = backend.checkpoint_choices(session)
        check_choice(ckpt_a, names, "checkpoint A")
        check_choice(ckpt_b, names, "checkpoint B")
        return (check_prompt(prompt), check_seconds(seconds), check_seed(seed), check_guidance(guidance),
                check_steps(steps), ckpt_a, ckpt_b)

    def first_view(args, session):
        """Sample both sides and write what the 3D views need; the rest follows in compare_details."""
        prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b = args
        start = time.perf_counter()
        sides = backend.sample(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session)
        folder = folders.new(session)
        backend.export_view_both(sides, folder)
        took = time.perf_counter() - start
        state = {"prompt": prompt, "folder": str(folder), "time": time.time(),
                 "sides": [{"side": s.side, "checkpoint": s.checkpoint, "joints": str(s.files["joints"]),
                            "features": str(s.files["features"]), "glb": str(s.files["glb"]), "fps": s.fps,
                            "world": s.world}
                           for s in sides]}
        text = note(sides, seed, seconds, took, sequence_hint(prompt))
        state["note"] = text  # the details keep the seed and noise line in the status
        return sides, state, text

    def note(sides, seed, seconds, took, extra=""):
        a, b = sides
        setting = (f"{a.steps} steps, guidance {a.guidance:g}" if (a.steps, a.guidance) == (b.steps, b.guidance)
                   else f"A: {a.steps} steps, guidance {a.guidance:g}; B: {b.steps} steps, guidance {b.guidance:g}")
        start = ("both sides started from the same noise" if a.shared_noise else
                 "each side drew its own initial noise from the seed (frame-space and latent models sample in different spaces)")
        return f"Seed {seed}, {seconds:g} s ({a.joints.shape[0]} frames), {setting}; {start}. Took {took:.2f} s.{extra}"

    @user_errors
    def compare_view(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, request: gr.Request):
        """Generate one motion from a prompt with two checkpoints and return what the 3D views need first;
        call compare_details next (same client) for the scores and downloads.

        Args:
            prompt: what the person does, e.g. "a person walks forward and waves with the right hand" (max 400 characters).
            seconds: motion length in seconds, 1 to 9.8.
            seed: whole number 0 to 2147483647; the same seed gives the same initial noise.
            guidance: classifier-free guidance weight, 0 to 20 (2.5 is the default; few-step models fold it in).
            steps: sampling steps, 1 to 1000 (50 is the default; few-step models use 1 to 4).
            ckpt_a: checkpoint A, e.g. "base (shipped)", a fine-tuning run's name or an upload.
            ckpt_b: checkpoint B, e.g. "easytune (shipped)".
        Returns:
            GLB of A and of B (animated bodies); the comparison's state; status.
        """
        session = _session(request)
        sides, state, text = first_view(checked(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session), session)
        a, b = sides
        return str(a.files["glb"]), str(b.files["glb"]), state, text + " Scores and downloads follow.", None, None, None

    @user_errors
    def compare_details(state):
        """Scores (reward, evaluator matching distance) and downloads (BVH, SMPL NPZ, joints, features) of this
        session's last comparison (call compare_view first, from the same client).

        Returns:
            scores; files of A and B; status.
        """
        if not state:
            raise ValueError("nothing to finish yet: press 'Generate A and B' first")
        sides = load_sides(state)
        start = time.perf_counter()
        table = exports_and_scores(sides, state)
        return (table, [str(p) for p in sides[0].files.values()], [str(p) for p in sides[1].files.values()],
                f"{state.get('note', '')} Downloads and scores ready ({time.perf_counter() - start:.2f} s).".strip())

    def exports_and_scores(sides, state):
        """Write both sides' BVH / SMPL NPZ downloads and score them (in parallel); the scores table."""
        folder = Path(state["folder"])
        _both_calls(lambda: backend.export_rest(sides[0], folder), lambda: backend.export_rest(sides[1], folder),
                    lambda: backend.score(state["prompt"], sides))
        return [[s.side, s.checkpoint, _fmt(s.reward), _fmt(s.matching_distance)] for s in sides]

    def load_sides(state):
        import numpy as np
        from .backend import SideResult

        folder = Path(state["folder"])
        if not folder.exists():
            raise ValueError("this comparison's files were cleaned up: generate it again")
        out = []
        for s in state["sides"]:
            side = SideResult(s["side"], s["checkpoint"], np.load(s["joints"]), np.load(s["features"]),
                              fps=float(s.get("fps", 20.0)), world=str(s.get("world", "classic")))
            side.files = {"glb": Path(s["glb"]), "joints": Path(s["joints"]), "features": Path(s["features"])}
            out.append(side)
        return out

    view_outputs = [view_a, view_b, last, status, scores, files_a, files_b]
    compare_inputs = [prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b]
    generate.click(compare_view, inputs=compare_inputs, outputs=view_outputs, api_name="compare_view",
                   concurrency_limit=config.compare_concurrency, concurrency_id="compare").then(
        compare_details, inputs=[last], outputs=[scores, files_a, files_b, status], api_name="compare_details",
        concurrency_limit=config.compare_concurrency, concurrency_id="details")

    @user_errors
    def compare(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, request: gr.Request):
        """Generate one motion from a prompt with two checkpoints, from the same seed (and the same initial
        noise when both sample in the same space), with scores and every download in one call.

        Args:
            prompt: what the person does, e.g. "a person walks forward and waves with the right hand" (max 400 characters).
            seconds: motion length in seconds, 1 to 9.8.
            seed: whole number 0 to 2147483647; the same seed gives the same initial noise.
            guidance: classifier-free guidance weight, 0 to 20 (2.5 is the default; few-step models fold it in).
            steps: sampling steps, 1 to 1000 (50 is the default; few-step models use 1 to 4).
            ckpt_a: checkpoint A, e.g. "base (shipped)", a fine-tuning run's name or an upload.
            ckpt_b: checkpoint B, e.g. "easytune (shipped)".
        Returns:
            GLB of A and of B (animated bodies); scores (reward, evaluator matching distance); files of A and B; status.
        """
        session = _session(request)
        start = time.perf_counter()
        sides, state, _ = first_view(checked(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session), session)
        table = exports_and_scores(sides, state)
        a, b = sides
        return (str(a.files["glb"]), str(b.files["glb"]), table, [str(p) for p in a.files.values()],
                [str(p) for p in b.files.values()], state,
                note(sides, state_seed(seed), float(seconds), time.perf_counter() - start))

    def state_seed(seed):
        return check_seed(seed)

    full.click(compare, inputs=compare_inputs, outputs=[view_a, view_b, scores, files_a, files_b, last, status],
               api_name="compare", concurrency_limit=config.compare_concurrency, concurrency_id="compare")

    # ---- live mode: few-step models on both sides make a comparison cheap enough to redo per edit
    def live_allowed(ckpt_a, ckpt_b, request: gr.Request):
        ok = backend.is_few_step(ckpt_a, _session(request)) and backend.is_few_step(ckpt_b, _session(request))
        return gr.Checkbox(interactive=ok, value=False) if not ok else gr.Checkbox(interactive=True)

    for dd in (ckpt_a, ckpt_b):
        dd.change(live_allowed, inputs=[ckpt_a, ckpt_b], outputs=[live], api_visibility="private", queue=False)

    def compare_live(is_live, prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, request: gr.Request):
        """A live update of the comparison (few-step models on both sides): the bodies only; scores follow,
        downloads wait for 'Generate'. Incomplete input while typing is skipped silently rather than reported.

        Args:
            is_live: whether live mode is on; when off nothing is generated.
            prompt: what the person does, e.g. "a person walks forward and waves with the right hand" (max 400 characters).
            seconds: motion length in seconds, 1 to 9.8.
            seed: whole number 0 to 2147483647; the same seed gives the same initial noise.
            guidance: classifier-free guidance weight, 0 to 20 (2.5 is the default; few-step models fold it in).
            steps: sampling steps, 1 to 1000 (50 is the default; few-step models use 1 to 4).
            ckpt_a: checkpoint A, e.g. "base (shipped)", a fine-tuning run's name or an upload.
            ckpt_b: checkpoint B, e.g. "easytune (shipped)".
        Returns:
            GLB of A and of B; the comparison's state; status.
        """
        session = _session(request)
        if not is_live:
            return (gr.skip(),) * 4
        try:
            args = checked(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session)
        except ValueError:
            return (gr.skip(),) * 4
        if not (backend.is_few_step(ckpt_a, session) and backend.is_few_step(ckpt_b, session)):
            return (gr.skip(),) * 3 + ("Live mode needs few-step models on both sides.",)
        try:
            sides, state, text = first_view(args, session)
        except ValueError as exc:
            return (gr.skip(),) * 3 + (f"**{exc}**",)
        except Exception as exc:  # noqa: BLE001 - a live update must never surface as a raw error
            log.exception("live comparison failed")
            return (gr.skip(),) * 3 + (f"**Live update failed ({type(exc).__name__}: {exc})**",)
        a, b = sides
        return str(a.files["glb"]), str(b.files["glb"]), state, "Live: " + text + " Press Generate for downloads."

    @user_errors
    def live_scores(is_live, state):
        if not is_live or not state:
            return gr.skip()
        sides = load_sides(state)
        backend.score(state["prompt"], sides)
        return [[s.side, s.checkpoint, _fmt(s.reward), _fmt(s.matching_distance)] for s in sides]

    live_inputs = [live, *compare_inputs]
    live_outputs = [view_a, view_b, last, status]
    # always_last: while one update runs, further edits collapse into a single follow-up request,
    # which is the debounce: the views trail the typing by at most one generation
    for component, event in ((prompt, "input"), (seconds, "release"), (guidance, "release"), (steps, "release"),
                             (seed, "change"), (live, "change")):
        # one public name for the live update; the other triggers stay private
        api = {"api_name": "compare_live"} if component is prompt else {"api_visibility": "private"}
        getattr(component, event)(compare_live, inputs=live_inputs, outputs=live_outputs, **api,
                                  trigger_mode="always_last", show_progress="hidden", concurrency_limit=1,
                                  concurrency_id="live").then(
            live_scores, inputs=[live, last], outputs=[scores], api_visibility="private", show_progress="hidden",
            trigger_mode="always_last", concurrency_limit=1, concurrency_id="live_scores")

    @user_errors
    def render_video(state, request: gr.Request):
        """Render an mp4 of both bodies of this session's last comparison side by side (call compare first,
        from the same client).

        Returns:
            the mp4 file.
        """
        if not state:
            raise ValueError("nothing to render yet: press 'Generate A and B' first")
        import numpy as np
        from pathlib import Path

        folder = Path(state["folder"])
        if not folder.exists():
            raise ValueError("this comparison's files were cleaned up: generate it again")
        sides = [{**s, "joints": np.load(s["joints"])} for s in state["sides"]]
        out = folders.new(_session(request)) / "compare.mp4"
        return str(backend.render_video(out, sides, state["prompt"]))

    video_btn.click(render_video, inputs=[last], outputs=[video], api_name="render_video", concurrency_limit=1)

    @user_errors
    def upload_checkpoint(files, request: gr.Request):
        """Add a checkpoint for this session: a .zip of a checkpoint folder, model.safetensors + config.json
        (+ stats.safetensors), or an MDM model (.pt + args.json + Mean.npy + Std.npy, converted on arrival).
        It is validated (never unpickled) and becomes checkpoint B.

        Args:
            files: the uploaded files.
        Returns:
            the A and B choices, and a status line naming the new checkpoint.
        """
        session = _session(request)
        name = backend.add_upload(files, session)
        names = backend.checkpoint_choices(session)
        note = backend.upload_note(name, session)
        return (gr.Dropdown(choices=names), gr.Dropdown(choices=names, value=name),
                f"Added **{name}** as checkpoint B." + (f" {note}" if note else ""))

    add_btn.click(upload_checkpoint, inputs=[upload], outputs=[ckpt_a, ckpt_b, status], api_name="upload_checkpoint",
                  concurrency_limit=1)
    return SimpleNamespace(ckpt_a=ckpt_a, ckpt_b=ckpt_b, prompt=prompt, seconds=seconds, seed=seed, guidance=guidance,
                           steps=steps, view_a=view_a, view_b=view_b, files_a=files_a, files_b=files_b, status=status,
                           last=last)
