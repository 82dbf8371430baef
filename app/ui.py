"""Builds the Blocks app: Compare (with Timeline and Takes), Edit, Fine-tune and Evaluate tabs over one shared Backend."""

from __future__ import annotations

import logging
import os

import gradio as gr

from .backend import Backend
from .compare import build_compare_tab
from .config import AppConfig
from .edit_tab import build_edit_tab
from .evaluate_tab import build_evaluate_tab
from .finetune_tab import build_finetune_tab
from .sessions import OutputFolders
from .takes_tab import build_takes
from .timeline import build_timeline

log = logging.getLogger("easytune.app")

INTRO = """# EasyTune Studio
Text-to-motion diffusion with step-aware reward fine-tuning
([EasyTune](https://arxiv.org/abs/2602.07967)). **Compare** two checkpoints on one prompt from the same
seed and noise (or on a timeline of prompts, or as several takes), **edit** a motion, **fine-tune** a new
checkpoint while you watch its reward climb, and **evaluate** it."""

# gr.Model3D's Babylon viewer picks WebGPU whenever `navigator.gpu` exists, and on browsers whose
# WebGPU has no adapter (headless Chromium, many Linux desktops) it logs a fatal error before falling
# back. A few animated bodies need nothing WebGL lacks, so the viewer is steered to WebGL up front.
HEAD = "<script>try { delete Navigator.prototype.gpu; } catch (e) {}</script>"

CSS = """
#generate {min-height: 48px}
footer {display: none !important}
"""


def create_app(config: AppConfig | None = None, backend: Backend | None = None, **overrides) -> gr.Blocks:
    """The app as a `gr.Blocks` (not launched). `overrides` set AppConfig fields, e.g.
    `create_app(assets_dir=tmp / "assets", runs_dir=tmp / "runs")` for tests with tiny models."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if config is None:
        config = AppConfig(**overrides)
    elif overrides:
        raise ValueError("pass either a config or keyword overrides, not both")
    backend = backend or Backend(config)
    folders = OutputFolders(config.outputs_dir, config.output_max_age_s, config.cleanup_every_s,
                            also=[backend.sweep_uploads])
    folders.sweep()  # what an earlier run of the app left behind
    folders.start()

    if config.warm_up:
        import threading

        threading.Thread(target=backend.warm_up, name="easytune-warm-up", daemon=True).start()

    with gr.Blocks(title="EasyTune Studio", delete_cache=(3600, 3 * 3600)) as demo:
        gr.Markdown(INTRO)
        if not backend.checkpoint_choices():
            gr.Markdown(f"**No generator checkpoints found** in `{config.checkpoints_dir}`. Train the base model "
                        "(`python -m easytune_core train-base ...`) or upload a checkpoint in the Compare tab.")
        picked_take = gr.State(None)  # the take picked last: a source for the Edit tab
        with gr.Tabs():
            with gr.Tab("Compare", id="compare"):
                compare = build_compare_tab(backend, folders, config)
                ckpt_a, ckpt_b = compare.ckpt_a, compare.ckpt_b
                build_timeline(backend, folders, compare)
                build_takes(backend, folders, compare, picked_take)
            with gr.Tab("Edit", id="edit"):
                edit_a, edit_b = build_edit_tab(backend, folders, config, compare.last, picked_take)
            with gr.Tab("Fine-tune", id="finetune"):
                build_finetune_tab(backend, config, ckpt_a, ckpt_b)
            with gr.Tab("Evaluate", id="evaluate"):
                build_evaluate_tab(backend, config)

        def refresh_choices(request: gr.Request):
            names = backend.checkpoint_choices(getattr(request, "session_hash", None))
            return [gr.Dropdown(choices=names) for _ in range(4)]

        demo.load(refresh_choices, outputs=[ckpt_a, ckpt_b, edit_a, edit_b], api_visibility="private", queue=False)

        def drop_session(request: gr.Request):
            session = getattr(request, "session_hash", None)
            folders.drop_session(session)
            backend.drop_session(session)

        demo.unload(drop_session)  # plus the janitor's sweep by age for sessions that never say goodbye

    demo.queue(max_size=config.max_queue, default_concurrency_limit=1)
    demo.easytune_backend = backend  # for tests and the benchmark
    demo.easytune_folders = folders
    return demo


def launch(demo: gr.Blocks | None = None, **kwargs):
    """Serve on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860); never a share link. With
    ``AppConfig.mcp_server`` the same API is offered as an MCP server too (docs/app.md)."""
    demo = demo or create_app()
    cfg = demo.easytune_backend.config
    kwargs.setdefault("mcp_server", cfg.mcp_server)
    if kwargs["mcp_server"]:
        try:
            import mcp  # noqa: F401  (gradio's MCP server is built on it)
        except ImportError:
            log.warning("the MCP server needs the `mcp` package (pip install \"mcp>=1.21,<2\"); serving without it")
            kwargs["mcp_server"] = False
    config_dirs = [str(cfg.outputs_dir), str(cfg.runs_dir / "finetune")]  # per-request files, run zips
    kwargs.setdefault("server_name", os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    kwargs.setdefault("server_port", int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    kwargs.setdefault("allowed_paths", config_dirs)
    kwargs.setdefault("max_file_size", f"{cfg.max_upload_mb:g}mb")  # refused by the server before it is stored
    kwargs.setdefault("css", CSS)
    kwargs.setdefault("head", HEAD)
    kwargs.setdefault("footer_links", ["api"])
    return demo.launch(share=False, show_error=True, **kwargs)
