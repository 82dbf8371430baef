"""Edit tab: keep part of a motion (frames, body parts, the root path) or follow a drawn root path, and let
checkpoints A and B regenerate the rest to a prompt from the same noise (API name `/edit`)."""

from __future__ import annotations

import os
import time

import gradio as gr
import numpy as np

from .compare import LooseSlider
from .checks import MAX_PROMPT_CHARS, check_choice, check_guidance, check_seed, check_steps, user_errors
from .edit_service import PATH_PRESET, SOURCE_KINDS, edit_pair, parse_edit, path_rows

DEFAULT_PATH = [[0.0, 0.0, 0.0], [2.0, 0.0, 2.0], [4.0, -1.5, 3.0], [6.0, -3.0, 2.5]]
HELP = """Pick a **source** (the last motion generated in Compare or picked among the takes, a BVH / `.npy`
file, or a dataset example) and **what to keep**; the rest is regenerated to the prompt by checkpoints A and B
from the same noise. Frames are at 20 per second; kept frames stay exactly as they were (in feature space).
**path** needs no source: give ground points `t (s), x (m), z (m)` (first at t = 0; the body starts on the first
point facing +z) and the body walks that path doing what the prompt says."""


def _session(request) -> str | None:
    return getattr(request, "session_hash", None)


def _examples(config) -> list[str]:
    from easytune_core.edit.source import dataset_examples

    try:
        return [f"{name}: {caption}" for name, caption in dataset_examples(config.data_dir, "test", 12)]
    except OSError:
        return []


def _path_image(rows, roots=None):
    from easytune_core.edit.path import check_path

    from .pathplot import draw_paths

    try:
        pts = check_path(path_rows(rows))[:, 1:]
    except ValueError:
        pts = None
    return draw_paths(pts, roots)


def build_edit_tab(backend, folders, config, compare_last, picked_take):
    """Lay out the Edit tab. Its "last generated" source is the newer of the Compare tab's last result
    (side A; a comparison or a timeline) and the take picked last (both session states)."""
    from easytune_core.edit.presets import PRESET_HELP, PRESETS

    choices = backend.checkpoint_choices()
    gr.Markdown(HELP)
    with gr.Row():
        with gr.Column():
            source = gr.Radio(list(SOURCE_KINDS), value="last generated", label="Source motion", elem_id="edit_source")
            source_note = gr.Markdown("No motion generated in this session yet.", elem_id="edit_source_note")
            upload = gr.File(file_types=[".bvh", ".npy"], label="Source file (.bvh, or .npy joints (T, 22, 3) / features (T, 263))")
            example = gr.Dropdown(_examples(config), label="Dataset example (test split)", allow_custom_value=True)
            with gr.Row():
                src_start = gr.Number(0, label="use source from frame", precision=0)
                src_end = gr.Number(0, label="to frame (exclusive; 0 = its end)", precision=0)
        with gr.Column():
            preset = gr.Dropdown(list(PRESETS) + [PATH_PRESET], value="in-between", label="What to keep",
                                 elem_id="edit_preset", allow_custom_value=True)  # checked by parse_edit
            preset_note = gr.Markdown(PRESET_HELP["in-between"])
            with gr.Row():
                keep = gr.Number(0, label="keep (frames; 0 = the preset's default)", precision=0)
                out_frames = gr.Number(0, label="output frames (prefix / suffix; 0 = default)", precision=0)
            with gr.Row():
                range_start = gr.Number(0, label="regenerate from frame ('frames')", precision=0)
                range_end = gr.Number(0, label="to frame (exclusive)", precision=0)
            with gr.Accordion("Root path (for 'path')", open=False) as path_box:
                with gr.Row():
                    path = gr.Dataframe(value=DEFAULT_PATH, headers=["t (s)", "x (m)", "z (m)"], datatype="number",
                                        type="array", interactive=True, column_count=3, label="Path points",
                                        elem_id="edit_path")
                    path_img = gr.Image(value=_path_image(DEFAULT_PATH), label="Path, top view", interactive=False,
                                        height=300, elem_id="edit_path_image")
    prompt = gr.Textbox(label="Prompt for the regenerated part (empty: fill in without text)", lines=1,
                        value="a person jumps", elem_id="edit_prompt")
    with gr.Row():
        seed = gr.Number(value=0, label="Seed", precision=None, min_width=120)
        guidance = LooseSlider(0.0, 10.0, value=2.5, step=0.1, label="Guidance scale")
        steps = LooseSlider(1, 200, value=config.default_steps, step=1, label="Diffusion steps (DDIM)")
    with gr.Row():
        ckpt_a = gr.Dropdown(choices, value=choices[0] if choices else None, label="Checkpoint A", allow_custom_value=True)
        ckpt_b = gr.Dropdown(choices, value=choices[min(1, len(choices) - 1)] if choices else None, label="Checkpoint B",
                             allow_custom_value=True)
    run = gr.Button("Edit with A and B", variant="primary", elem_id="edit_generate")
    status = gr.Markdown("", elem_id="edit_status")
    with gr.Row(equal_height=True):
        with gr.Column():
            view_a = gr.Model3D(label="A", height=420, elem_id="edit_view_a", clear_color=(0.96, 0.96, 0.97, 1.0))
            files_a = gr.File(label="Downloads A", file_count="multiple", interactive=False)
        with gr.Column():
            view_b = gr.Model3D(label="B", height=420, elem_id="edit_view_b", clear_color=(0.96, 0.96, 0.97, 1.0))
            files_b = gr.File(label="Downloads B", file_count="multiple", interactive=False)

    def on_preset(p):
        note = PRESET_HELP.get(p, "walk a root path given as (t, x, z) points; no source needed")
        return note, gr.Accordion(open=p == PATH_PRESET)

    preset.change(on_preset, inputs=[preset], outputs=[preset_note, path_box], api_visibility="private", queue=False)
    path.change(_path_image, inputs=[path], outputs=[path_img], api_visibility="private", queue=False)
    def describe(last, picked):
        src = last_generated(last, picked)
        return f"Last generated: {src['label']}" if src else "No motion generated in this session yet."

    for state in (compare_last, picked_take):
        state.change(describe, inputs=[compare_last, picked_take], outputs=[source_note], api_visibility="private", queue=False)

    @user_errors
    def edit(kind, upload, example, src_start, src_end, preset, keep, out_frames, range_start, range_end, path_table,
             prompt, seed, guidance, steps, ckpt_a, ckpt_b, last, picked, request: gr.Request):
        """Keep part of a motion and regenerate the rest to a prompt with checkpoints A and B from the same noise.

        Args:
            kind: the source: "last generated" (this session's last comparison, side A, or picked take),
                "file upload" or "dataset example" (ignored for the "path" preset).
            upload: a .bvh, or a .npy of joints (T, 22, 3) or HumanML3D features (T, 263).
            example: a dataset example, "name" or "name: caption" (test split of the app's dataset).
            src_start: first source frame to use (20 frames per second; 0 = from the start).
            src_end: source frame to stop before (0 = its end).
            preset: what to keep: "in-between", "prefix", "suffix", "frames", "upper body", "lower body",
                "root path", or "path (draw a root path)".
            keep: frames kept (in-between: at each end; prefix / suffix); 0 = the preset's default.
            out_frames: output frames for prefix / suffix (at most 196); 0 = kept frames + 80.
            range_start: "frames": first regenerated frame.
            range_end: "frames": regenerated frames stop before this one.
            path_table: "path": rows of (t seconds, x metres, z metres), the first at t = 0.
            prompt: text for the regenerated part; empty = no text.
            seed: whole number 0 to 2147483647 (the initial noise, shared by A and B).
            guidance: classifier-free guidance weight, 0 to 20.
            steps: DDIM steps, 1 to 1000.
            ckpt_a: checkpoint A, e.g. "base (shipped)".
            ckpt_b: checkpoint B, e.g. "easytune (shipped)".
        Returns:
            GLB of A and of B; files of A and B (GLB, BVH, SMPL NPZ, joints, features); a top view of the path
            with the generated roots (path edits); status text (frames kept, seams).
        """
        session = _session(request)
        prompt = (prompt or "").strip()
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValueError(f"the prompt has {len(prompt)} characters: shorten it to at most {MAX_PROMPT_CHARS}")
        seed = check_seed(seed)
        guidance = check_guidance(guidance)
        steps = check_steps(steps)
        names = backend.checkpoint_choices(session)
        check_choice(ckpt_a, names, "checkpoint A")
        check_choice(ckpt_b, names, "checkpoint B")
        spec = parse_edit(kind, upload, example, last_generated(last, picked), config.data_dir, src_start, src_end, preset, keep,
                          range_start, range_end, out_frames, path_table)
        start = time.perf_counter()
        sides = edit_pair(backend, spec, prompt, seed, guidance, steps, ckpt_a, ckpt_b, session)
        folder = folders.new(session)
        backend.export_both(sides, folder)
        image = gr.skip()
        if spec.name == "path":
            roots = {s.side: s.joints[:, 0][:, [0, 2]] for s in sides}
            image = _path_image(path_table, roots)
        a, b = sides
        text = f"to {prompt!r}" if prompt else "without text"
        note = (f"{spec.summary()}; regenerated {text}, seed {seed}, {steps} steps; A and B from the same noise. "
                f"Took {time.perf_counter() - start:.1f} s.")
        if spec.seams:
            note += f" Seams at frames {', '.join(map(str, spec.seams))}."
        return (str(a.files["glb"]), str(b.files["glb"]), [str(p) for p in a.files.values()],
                [str(p) for p in b.files.values()], image, note)

    run.click(edit, inputs=[source, upload, example, src_start, src_end, preset, keep, out_frames, range_start,
                            range_end, path, prompt, seed, guidance, steps, ckpt_a, ckpt_b, compare_last, picked_take],
              outputs=[view_a, view_b, files_a, files_b, path_img, status], api_name="edit",
              concurrency_limit=config.compare_concurrency)
    return ckpt_a, ckpt_b


def last_generated(last, picked=None) -> dict | None:
    """The Edit tab's "last generated" source: the newer of the Compare tab's last result (its side A)
    and the picked take; ``{"features": path, "label": text}`` or None."""
    options = []
    if last and last.get("sides") and "features" in last["sides"][0]:
        side = last["sides"][0]
        frames = int(np.load(side["features"], mmap_mode="r").shape[0]) if os.path.exists(side["features"]) else 0
        options.append((last.get("time", 0.0), {"features": side["features"], "label":
                        f"{last['prompt']!r}, checkpoint A ({side['checkpoint']}), {frames} frames"}))
    if picked and picked.get("features"):
        options.append((picked.get("time", 0.0), picked))
    return max(options, key=lambda o: o[0])[1] if options else None
