"""Evaluate tab: a quick evaluator run on one checkpoint, beside the shipped base model's numbers."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from .checks import check_choice, check_steps, user_errors

METRIC_COLUMNS = ["model", "R-Precision top-1", "top-2", "top-3", "FID", "MM-Dist", "Diversity"]


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """Rows of {model, r_precision [3], fid, mm_dist, diversity} as one HumanML3D-style table."""
    out = []
    for r in rows:
        rp = list(r.get("r_precision") or [None, None, None])
        fmt = lambda v: None if v is None else round(float(v), 3)  # noqa: E731
        out.append([r["model"], *[fmt(v) for v in rp[:3]], fmt(r.get("fid")), fmt(r.get("mm_dist")), fmt(r.get("diversity"))])
    return pd.DataFrame(out, columns=METRIC_COLUMNS)


def build_evaluate_tab(backend, config):
    choices = backend.checkpoint_choices()
    gr.Markdown("Quick evaluation with the separately trained evaluator (never the reward model): a small set of "
                "held-out test captions, a few repeats. Use `python -m easytune_core evaluate` for the full protocol.")
    with gr.Row():
        ckpt = gr.Dropdown(choices, value=choices[-1] if choices else None, label="Checkpoint", allow_custom_value=True)
        samples = gr.Number(value=64, label="Test captions (multiple of 32)", precision=None)
        repeats = gr.Number(value=2, label="Repeats", precision=None)
    run = gr.Button("Evaluate", variant="primary", elem_id="eval_run")
    table = gr.Dataframe(headers=METRIC_COLUMNS, label="Metrics (base model beside the chosen checkpoint)", interactive=False)
    note = gr.Markdown("")

    @user_errors
    def evaluate(name, samples, repeats, request: gr.Request, progress=gr.Progress()):
        """A quick run of the evaluator protocol on one checkpoint, beside the shipped base model and the real
        test motions (indicative; `easytune evaluate` runs the full protocol).

        Args:
            name: the checkpoint, e.g. "easytune (shipped)".
            samples: test captions, a multiple of 32 (R-Precision uses groups of 32), at most 1024.
            repeats: replications, 1 to 20.
        Returns:
            a metrics table (R-Precision top-1/2/3, FID, MM-Dist, Diversity per model) and a note.
        """
        session = getattr(request, "session_hash", None)
        check_choice(name, backend.checkpoint_choices(session), "checkpoint")
        samples = check_steps(samples, "test captions", 1024)
        if samples % 32:
            raise ValueError(f"test captions must be a multiple of 32 (R-Precision uses groups of 32), got {samples}")
        repeats = check_steps(repeats, "repeats", 20)
        result = backend.evaluate(name, repeats=repeats, samples=samples, session=session,
                                  progress=lambda frac, msg: progress(frac, desc=msg))
        return metrics_table(result["rows"]), result.get("note", "")

    # Its own queue lane: a minute-long evaluation must not hold up Compare requests.
    run.click(evaluate, inputs=[ckpt, samples, repeats], outputs=[table, note], api_name="evaluate",
              concurrency_limit=1)
    def refresh(request: gr.Request):
        return gr.Dropdown(choices=backend.checkpoint_choices(getattr(request, "session_hash", None)))

    ckpt.focus(refresh, outputs=[ckpt], api_visibility="private", queue=False)
