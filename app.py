"""EasyTune Studio: `python app.py` serves the app on 127.0.0.1:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT override). Also the Hugging Face Spaces entry point."""

import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import torch  # noqa: E402

from app import create_app, launch  # noqa: E402  (the app/ package, not this file)

# A and B are sampled in two parallel threads: give each half the cores. (With more torch threads
# than free cores, OpenMP threads spin against each other and sampling gets many times slower.)
torch.set_num_threads(int(os.environ.get("EASYTUNE_TORCH_THREADS", 0)) or max(1, (os.cpu_count() or 2) // 2))

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
logging.getLogger("easytune").setLevel(logging.INFO)  # the app's own events; libraries stay at WARNING

demo = create_app(warm_up=True)

if __name__ == "__main__":
    launch(demo)
