"""Fine-tune tab: start one background job (shared by all users), watch its curves, cancel it."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from easytune_core.limits import MAX_STEPS

from .checks import check_choice, check_learning_rate, check_steps, parse_prompt_lines, user_errors
from .compare import LooseSlider

JOB_KINDS = {
    "Fine-tune the generator": "generator",
    "Refine the reward model with SPL": "spl",
    "SPL, then EasyTune with the refined reward": "spl+generator",
}
METHODS = ["easytune", "easytune-chain", "draft", "draft-lv", "refl", "alignprop", "drtune"]
WEIGHTINGS = ["uniform", "linear-up", "linear-down"]
PROMPT_SOURCES = ["Train split of the built-in dataset", "My prompts (one per line)"]
SMOOTH = 10
"""Steps in the running mean drawn over the per-step values (each step sees other prompts and noise)."""
SERIES = ["per step", f"mean of last {SMOOTH}"]
# No points, but both series named: gradio's line plot fixes its colour legend from the first value
# it shows, and a plot that started truly empty never draws the series that arrive later.
EMPTY_CURVE = pd.DataFrame({"step": [0.0, 0.0], "value": [float("nan")] * 2, "series": SERIES})


def _curve(events: list[dict], key: str) -> pd.DataFrame:
    """Per-step values and their running mean, as long-form rows (step, value, series)."""
    rows = [(e["step"], float(e[key])) for e in events if e.get(key) is not None]
    if not rows:
        return EMPTY_CURVE
    per_step = pd.DataFrame(rows, columns=["step", "value"])
    mean = per_step.assign(value=per_step["value"].rolling(SMOOTH, min_periods=1).mean())
    return pd.concat([per_step.assign(series=SERIES[0]), mean.assign(series=SERIES[1])], ignore_index=True)


def status_markdown(st: dict) -> str:
    """One glance at the shared job: who is running what, how far, how long, how much memory."""
    state = st.get("state", "idle")
    if state == "idle":
        return "**No fine-tuning job yet.** Start one below; it runs in the background and everyone sees it here."
    parts = [f"**Job {st['id']}** ({st.get('kind', '')}, {st.get('method', '')}): **{state}**",
             f"step **{st.get('step', 0)} / {st.get('total_steps', '?')}**",
             f"elapsed **{st.get('elapsed_s', 0.0):.0f} s**"]
    if st.get("peak_memory_mb") is not None:
        parts.append(f"peak memory **{st['peak_memory_mb']:.0f} MB**")
    if st.get("reward") is not None:
        parts.append(f"reward **{st['reward']:.3f}**")
    text = " · ".join(parts)
    if st.get("error"):
        text += f"\n\n**Error:** {st['error']}"
    if st.get("checkpoint"):
        text += f"\n\nSaved as checkpoint **{st['checkpoint']}**: pick it as A or B in the Compare tab, or download it below."
    if state in ("running", "queued"):
        text += "\n\nOne job runs at a time for all users; the Compare and Evaluate tabs stay usable meanwhile."
    return text


def build_finetune_tab(backend, config, ckpt_a, ckpt_b):
    """Lay out the Fine-tune tab; a gr.Timer polls the shared job's status for every visitor."""
    with gr.Row():
        with gr.Column():
            kind = gr.Radio(list(JOB_KINDS), value=list(JOB_KINDS)[0], label="What to run")
            method = gr.Dropdown(METHODS, value="easytune", label="Method (EasyTune, or a baseline)")
            init = gr.Dropdown(backend.checkpoint_choices(), value=(backend.checkpoint_choices() or [None])[0],
                               label="Start from checkpoint", allow_custom_value=True)
            source = gr.Radio(PROMPT_SOURCES, value=PROMPT_SOURCES[0], label="Prompts")
            lines = gr.Textbox(label="My prompts", lines=4, placeholder="a person walks forward\na person waves with the left hand")
        with gr.Column():
            steps = gr.Number(value=20, label="Optimiser steps", precision=None)
            lr = gr.Number(value=1e-5, label="Learning rate", precision=None)
            k = gr.Number(value=5, label="K (trained diffusion steps: last K for EasyTune/DRaFT/DRTune)", precision=None)
            weighting = gr.Dropdown(WEIGHTINGS, value="uniform", label="Step weighting")
            with gr.Row():
                adapter = gr.Radio(["LoRA", "Full"], value="LoRA", label="Parameters")
                rank = gr.Number(value=8, label="LoRA rank", precision=None)
            sample_steps = LooseSlider(2, 100, value=20, step=1, label="Diffusion steps per trajectory")
            run_name = gr.Textbox(label="Run name (optional)", placeholder="my-easytune-run")
    with gr.Row():
        start = gr.Button("Start", variant="primary", elem_id="ft_start")
        cancel = gr.Button("Cancel", variant="stop", elem_id="ft_cancel")
    job_id = gr.Textbox(label="Job id (your last start; Cancel stops the current job when empty)", elem_id="ft_job")
    status = gr.Markdown(status_markdown({"state": "idle"}), elem_id="ft_status")
    with gr.Row():
        reward_plot = gr.LinePlot(EMPTY_CURVE, x="step", y="value", color="series", title="Reward", elem_id="ft_reward",
                                  y_title="batch mean reward", height=260)
        loss_plot = gr.LinePlot(EMPTY_CURVE, x="step", y="value", color="series", title="Loss", elem_id="ft_loss",
                                y_title="loss", height=260)
    run_files = gr.File(label="Download the run's checkpoint", file_count="multiple", interactive=False)
    timer = gr.Timer(config.timer_s)
    seen = gr.State(None)

    @user_errors
    def finetune_start(kind, method, init, source, lines, steps, lr, k, weighting, adapter, rank, sample_steps, run_name,
                       request: gr.Request):
        """Start the app's one fine-tuning job (refused while another job runs; cancel it or wait).

        Args:
            kind: "Fine-tune the generator", "Refine the reward model with SPL" or "SPL, then EasyTune with the refined reward".
            method: easytune, easytune-chain, draft, draft-lv, refl, alignprop or drtune.
            init: the checkpoint to start from, e.g. "base (shipped)".
            source: "Train split of the built-in dataset" or "My prompts (one per line)".
            lines: the prompts, one per line (with "My prompts").
            steps: optimiser steps.
            lr: learning rate, above 0 and at most 0.1.
            k: trained diffusion steps (the last K for EasyTune, DRaFT and DRTune).
            weighting: uniform, linear-up or linear-down.
            adapter: "LoRA" or "Full".
            rank: LoRA rank.
            sample_steps: diffusion steps per trajectory.
            run_name: name of the resulting checkpoint (optional).
        Returns:
            the job id (for finetune_status and finetune_cancel) and a status line.
        """
        kind = JOB_KINDS[check_choice(kind, list(JOB_KINDS), "what to run")]
        check_choice(method, METHODS, "method")
        check_choice(weighting, WEIGHTINGS, "step weighting")
        check_choice(adapter, ["LoRA", "Full"], "parameters")
        check_choice(source, PROMPT_SOURCES, "prompts")
        sample_steps = check_steps(sample_steps, "diffusion steps per trajectory", MAX_STEPS)
        request = {
            "kind": kind,
            "method": method,
            "init": backend.resolve(init, getattr(request, "session_hash", None)) if kind != "spl" else None,
            "init_name": init,
            "prompts": parse_prompt_lines(lines) if source == PROMPT_SOURCES[1] else None,
            "steps": check_steps(steps, "optimiser steps", 100_000),
            "lr": check_learning_rate(lr),
            "k": check_steps(k, "K", sample_steps),
            "weighting": weighting,
            "lora": adapter == "LoRA",
            "rank": check_steps(rank, "LoRA rank", 256),
            "sample_steps": sample_steps,
            "name": (run_name or "").strip() or None,
        }
        new_id = backend.engine.start(request)
        st = backend.engine.status(new_id)
        return new_id, status_markdown(st)

    start.click(finetune_start, inputs=[kind, method, init, source, lines, steps, lr, k, weighting, adapter, rank,
                                        sample_steps, run_name],
                outputs=[job_id, status], api_name="finetune_start", concurrency_limit=1, concurrency_id="finetune")

    def view(st: dict) -> tuple:
        """The tab's components for one status: text, reward and loss curves, run files."""
        files = [str(p) for p in st.get("files", [])] or None
        return (status_markdown(st), _curve(st.get("events", []), "reward"), _curve(st.get("events", []), "loss"),
                files)

    @user_errors
    def finetune_status(job_id: str = "") -> dict:
        """State of a fine-tuning job: the one whose id is given, or the current (latest) job of the app. Besides
        the fields below, the dict holds id, name, kind, method, elapsed_s, peak_memory_mb, error, message,
        checkpoint (the run's name in the A/B lists once finished or cancelled) and registered; events are per
        optimiser step (step, reward, loss); files are server paths of the run's zip, downloadable at
        /gradio_api/file=<path>.

        Args:
            job_id: a job id returned by finetune_start; empty for the current job, whoever started it.
        Returns:
            a dict: state (idle/queued/running/finished/cancelled/failed), step, total_steps, reward, events, files, text.
        """
        st = backend.engine.status((job_id or "").strip() or None)
        return {**st, "files": [str(p) for p in st.get("files", [])], "text": status_markdown(st)}

    gr.api(finetune_status, api_name="finetune_status", concurrency_limit=None)
    status_outputs = [status, reward_plot, loss_plot, run_files]

    def tick(seen_state, request: gr.Request):
        # Every visitor watches the latest job, whoever started it (one job at a time for everyone);
        # checkpoint lists refresh only when they change.
        try:
            out = view(backend.engine.status(None))
        except ValueError:
            out = (gr.skip(),) * len(status_outputs)
        names = tuple(backend.checkpoint_choices(getattr(request, "session_hash", None)))
        if names == seen_state:
            return (*out, gr.skip(), gr.skip(), gr.skip(), seen_state)
        lst = list(names)
        return (*out, gr.Dropdown(choices=lst), gr.Dropdown(choices=lst), gr.Dropdown(choices=lst), names)

    timer.tick(tick, inputs=[seen], outputs=[*status_outputs, ckpt_a, ckpt_b, init, seen],
               api_visibility="private", concurrency_limit=None, show_progress="hidden")

    @user_errors
    def finetune_cancel(job):
        """Stop a fine-tuning job after its current optimiser step; it keeps a valid checkpoint under its name.

        Args:
            job: the job id; empty for the current job.
        Returns:
            a status line.
        """
        st = backend.engine.cancel((job or "").strip() or None)
        return status_markdown(st)

    cancel.click(finetune_cancel, inputs=[job_id], outputs=[status], api_name="finetune_cancel", concurrency_limit=None)
