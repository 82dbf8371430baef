"""EasyTune Studio core library: text-to-motion diffusion with efficient step-aware reward fine-tuning.

Importable without Gradio. Subpackages: ``motion``, ``data``, ``text``, ``diffusion``,
``reward``, ``finetune``, ``eval``, ``render``; single modules ``checkpoints`` and ``pipeline``.
"""

__version__ = "0.1.0"
