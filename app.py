"""EasyTune Studio: `python app.py` serves the app on 127.0.0.1:7860 (GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT override). Also the Hugging Face Spaces entry point."""

import logging
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# The app serves only the shipped checkpoints and uploads, so by default it never reaches a hub;
# HF_HUB_OFFLINE=0 lets it load Hub-named models (docs/hub.md).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import torch  # noqa: E402

from app import create_app, launch  # noqa: E402  (the app/ package, not this file)

# A and B are sampled in two parallel threads: give each half the cores. (With more torch threads
# than free cores, OpenMP threads spin against each other and sampling gets many times slower.)
torch.set_num_threads(int(os.environ.get("EASYTUNE_TORCH_THREADS", 0)) or max(1, (os.cpu_count() or 2) // 2))

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
logging.getLogger("easytune").setLevel(logging.INFO)  # the app's own events; libraries stay at WARNING



def prepare_builtin_dataset_in_background() -> None:
    """A fresh clone has no ``data/builtin`` (it is generated, not shipped). The Fine-tune tab's
    train-split prompts and the Evaluate tab need it, so the first start generates it in a
    low-priority child process (one worker, a few minutes) while the app already serves; the
    folder appears atomically when complete. Comparing checkpoints never needs it."""
    root = Path(__file__).resolve().parent
    if os.environ.get("EASYTUNE_DATA") or (root / "data" / "builtin" / "Mean.npy").exists():
        return
    logging.getLogger("easytune").info("preparing the built-in dataset in the background (data/builtin)")
    subprocess.Popen([sys.executable, "-c", "from easytune_core.data import resolve_dataset; "
                      "resolve_dataset('builtin', workers=1)"], cwd=root, preexec_fn=lambda: os.nice(10))


demo = create_app(warm_up=True)

if __name__ == "__main__":
    prepare_builtin_dataset_in_background()
    launch(demo)
