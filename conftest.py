import os

# Tests run on small CPU budgets: keep torch to one thread per process and never touch a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import torch  # noqa: E402

torch.set_num_threads(1)
