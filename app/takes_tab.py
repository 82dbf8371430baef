"""Compare tab, Takes: several samples of one prompt with checkpoint A in one batched call, shown side by
side as one row of bodies; pick one to download it or to edit it (API name `/takes`)."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import numpy as np

from .backend import SideResult
from .compare import LooseSlider
from .checks import check_choice, check_guidance, check_prompt, check_seconds, check_seed, check_steps, user_errors
from . import edit_service
from .edit_service import MAX_APP_TAKES, export_takes


def _session(request) -> str | None:
    return getattr(request, "session_hash", None)


def build_takes(backend, folders, compare, edit_source):
    """The Takes accordion. Picking a take makes it the Edit tab's "last generated" source."""
    with gr.Accordion("Takes: several samples of the prompt with checkpoint A", open=False):
        with gr.Row():
            count = LooseSlider(1, MAX_APP_TAKES, value=4, step=1, label="Takes (seeds seed, seed+1, ...)")
            run = gr.Button("Generate takes", variant="primary", elem_id="takes_generate")
        view = gr.Model3D(label="Takes 1..n, left to right", height=360, elem_id="takes_view",
                          clear_color=(0.96, 0.96, 0.97, 1.0))
        with gr.Row():
            pick = gr.Radio([], label="Pick a take (to download it or to edit it in the Edit tab)", elem_id="takes_pick")
            picked_files = gr.File(label="Picked take (GLB, BVH, SMPL NPZ, joints, features)", file_count="multiple",
                                   interactive=False)
        files = gr.File(label="All takes (joints and features .npy)", file_count="multiple", interactive=False)
        note = gr.Markdown("")
        state = gr.State(None)

    @user_errors
    def takes(prompt, seconds, seed, guidance, steps, ckpt, n, request: gr.Request):
        """Several takes of one prompt with one checkpoint, sampled in one batch; take i starts from the
        noise of seed + i - 1 (the motion that seed gives alone).

        Args:
            prompt: what the person does (max 400 characters).
            seconds: motion length in seconds, 1 to 9.8.
            seed: whole number 0 to 2147483647, the seed of take 1.
            guidance: classifier-free guidance weight, 0 to 20.
            steps: DDIM steps, 1 to 1000.
            ckpt: the checkpoint, e.g. "base (shipped)".
            n: number of takes, 1 to 8.
        Returns:
            one GLB with the takes side by side (labelled 1..n); the takes' joints and features (.npy); the
            choices to pick a take from; status text.
        """
        session = _session(request)
        prompt = check_prompt(prompt)
        seconds = check_seconds(seconds)
        seed = check_seed(seed)
        guidance = check_guidance(guidance)
        steps = check_steps(steps)
        check_choice(ckpt, backend.checkpoint_choices(session), "checkpoint")
        start = time.perf_counter()
        res = edit_service.takes(backend, prompt, seconds, seed, n, guidance, steps, ckpt, session)
        folder = folders.new(session)
        out = export_takes(res, folder)
        k = len(res.prompts)
        st = {"folder": str(folder), "checkpoint": ckpt, "prompt": prompt, "seeds": res.seeds, "fps": float(res.fps),
              "features": [str(folder / f"take{i + 1}_features.npy") for i in range(k)],
              "joints": [str(folder / f"take{i + 1}_joints.npy") for i in range(k)]}
        took = time.perf_counter() - start
        rewards, distances = edit_service.score_takes(backend, prompt, res, ckpt, session)
        st.update(rewards=rewards, matching_distances=distances)
        msg = (f"{k} takes of {prompt!r} with {ckpt}, seeds {res.seeds[0]}..{res.seeds[-1]} (take i = seed + i - 1), "
               f"sampled in one batch: {took:.1f} s.")
        labels = [str(i + 1) for i in range(k)]
        if k > 1 and all(r is not None for r in rewards):
            best = int(np.argmax(rewards))
            labels[best] += " (highest reward)"
            msg += " Reward per take (text-motion cosine of the reward model; higher follows the prompt better by " \
                   "its judgement): " + ", ".join(f"{i + 1}: {r:.3f}" for i, r in enumerate(rewards)) + "."
        return (str(out["glb"]), [str(p) for p in out["files"]],
                gr.Radio(choices=[(label, str(i + 1)) for i, label in enumerate(labels)], value=None), st, msg)

    run.click(takes, inputs=[compare.prompt, compare.seconds, compare.seed, compare.guidance, compare.steps,
                                  compare.ckpt_a, count],
              outputs=[view, files, pick, state, note], api_name="takes",
              concurrency_limit=backend.config.compare_concurrency)

    @user_errors
    def pick_take(choice, st, request: gr.Request):
        if not choice:
            return gr.skip(), gr.skip()
        if not st:
            raise ValueError("generate takes first")
        i = int(choice) - 1
        if not 0 <= i < len(st["features"]) or not Path(st["features"][i]).exists():
            raise ValueError("these takes were cleaned up: generate them again")
        side = SideResult("A", st["checkpoint"], np.load(st["joints"][i]), np.load(st["features"][i]),
                          fps=float(st.get("fps", 20.0)))
        folder = folders.new(_session(request))
        files = backend.export(side, folder)
        source = {"features": str(files["features"]), "time": time.time(),
                  "label": f"take {i + 1} of {st['prompt']!r} (seed {st['seeds'][i]}), {len(side.features)} frames"}
        return [str(p) for p in files.values()], source

    pick.change(pick_take, inputs=[pick, state], outputs=[picked_files, edit_source], api_visibility="private")
