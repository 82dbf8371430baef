"""The Gradio front end of EasyTune Studio: layout, event wiring, input checks, per-session files."""

from .config import AppConfig
from .ui import create_app, launch

__all__ = ["AppConfig", "create_app", "launch"]
