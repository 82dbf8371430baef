"""Compare tab: one prompt, checkpoints A and B, same seed and same initial noise, side by side."""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

import gradio as gr

from easytune_core.limits import (APP_DEFAULT_SECONDS, APP_MAX_GUIDANCE_SLIDER, DEFAULT_GUIDANCE, MAX_SECONDS,
                                  MAX_SEED, MIN_SECONDS)

from .checks import check_choice, check_guidance, check_prompt, check_seconds, check_seed, check_steps, user_errors

SCORE_HEADERS = ["side", "checkpoint", "reward (higher = closer to the text)", "evaluator matching distance (lower = better)"]
EXAMPLES = [
    "a person walks forward and waves with the right hand",
    "a person jumps up high twice",
    "a person turns left and then walks back",
    "a person sits down slowly",
    "someone runs forward quickly",
]


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


def build_compare_tab(backend, folders, config):
    """Lay out the Compare tab and wire its events. Returns its components (a namespace): the A/B
    dropdowns (other tabs refresh them), the generation settings, the A/B views and downloads, the
    status line and the session's last comparison (the timeline and the Edit tab use them)."""
    choices = backend.checkpoint_choices()
    default_a = choices[0] if choices else None
    default_b = choices[1] if len(choices) > 1 else default_a
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="Prompt", lines=2, max_lines=4, placeholder="a person walks forward and waves with the right hand",
                                value=EXAMPLES[0], elem_id="prompt")
            gr.Examples([[e] for e in load_examples(config.assets_dir)], inputs=[prompt], label="Examples")
        with gr.Column(scale=2):
            seconds = LooseSlider(MIN_SECONDS, MAX_SECONDS, value=APP_DEFAULT_SECONDS, step=0.1, label="Length (seconds)")
            with gr.Row():
                seed = gr.Number(value=0, label="Seed", precision=None, min_width=120)
                dice = gr.Button("Random seed", size="sm", min_width=80)
            guidance = LooseSlider(0.0, APP_MAX_GUIDANCE_SLIDER, value=DEFAULT_GUIDANCE, step=0.1, label="Guidance scale")
            steps = LooseSlider(1, 200, value=config.default_steps, step=1, label="Diffusion steps (DDIM)")
    with gr.Row():
        # allow_custom_value: the list grows at run time (fine-tuning runs, uploads) while gradio's own
        # check would use the list from start-up; the handler checks against the live list instead.
        ckpt_a = gr.Dropdown(choices, value=default_a, label="Checkpoint A", elem_id="ckpt_a", allow_custom_value=True)
        ckpt_b = gr.Dropdown(choices, value=default_b, label="Checkpoint B", elem_id="ckpt_b", allow_custom_value=True)
    with gr.Accordion("Upload a checkpoint (zip of a checkpoint folder, model .safetensors + config.json, "
                      "or an MDM model .pt + args.json + Mean.npy + Std.npy)", open=False):
        upload = gr.File(file_count="multiple", file_types=[".zip", ".safetensors", ".json", ".pt", ".pth", ".npy"],
                         label="Checkpoint files")
        add_btn = gr.Button("Add uploaded checkpoint")
    generate = gr.Button("Generate A and B", variant="primary", elem_id="generate")
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

    dice.click(lambda: random.randint(0, MAX_SEED), outputs=seed, api_visibility="private", queue=False)

    @user_errors
    def compare(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, request: gr.Request):
        """Generate one motion from a prompt with two checkpoints, from the same seed and initial noise.

        Args:
            prompt: what the person does, e.g. "a person walks forward and waves with the right hand" (max 300 characters).
            seconds: motion length in seconds, 1 to 9.8.
            seed: whole number 0 to 2147483647; the same seed gives the same initial noise.
            guidance: classifier-free guidance weight, 0 to 20 (2.5 is the default).
            steps: DDIM steps, 1 to 1000 (50 is the default).
            ckpt_a: checkpoint A, e.g. "base (shipped)", a fine-tuning run's name or an upload.
            ckpt_b: checkpoint B, e.g. "easytune (shipped)".
        Returns:
            GLB of A and of B (animated bodies); scores (reward, evaluator matching distance); files of A and B; status.
        """
        session = _session(request)
        prompt = check_prompt(prompt)
        seconds = check_seconds(seconds)
        seed = check_seed(seed)
        guidance = check_guidance(guidance)
        steps = check_steps(steps)
        names = backend.checkpoint_choices(session)
        check_choice(ckpt_a, names, "checkpoint A")
        check_choice(ckpt_b, names, "checkpoint B")
        start = time.perf_counter()
        sides = backend.compare(prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b, session)
        folder = folders.new(session)
        backend.export_both(sides, folder)
        took = time.perf_counter() - start
        table = [[s.side, s.checkpoint, _fmt(s.reward), _fmt(s.matching_distance)] for s in sides]
        state = {"prompt": prompt, "folder": str(folder), "time": time.time(),
                 "sides": [{"side": s.side, "checkpoint": s.checkpoint, "joints": str(s.files["joints"]),
                            "features": str(s.files["features"]), "fps": s.fps} for s in sides]}
        a, b = sides
        note = (f"Seed {seed}, {seconds:g} s ({a.joints.shape[0]} frames), {steps} steps, guidance {guidance:g}; "
                f"both sides started from the same noise. Took {took:.1f} s.")
        return (str(a.files["glb"]), str(b.files["glb"]), table,
                [str(p) for p in a.files.values()], [str(p) for p in b.files.values()], state, note)

    generate.click(compare, inputs=[prompt, seconds, seed, guidance, steps, ckpt_a, ckpt_b],
                   outputs=[view_a, view_b, scores, files_a, files_b, last, status],
                   api_name="compare", concurrency_limit=config.compare_concurrency)

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
