"""EasyTune Studio: `python app.py` serves the app on 127.0.0.1:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT override). Also the Hugging Face Spaces entry point."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from app import create_app, launch  # noqa: E402  (the app/ package, not this file)

demo = create_app(warm_up=True)

if __name__ == "__main__":
    launch(demo)
