"""The Fine-tune tab through gradio_client: a tiny job on stand-in checkpoints starts, reports
progress, refuses a second job, is cancelled, and its checkpoint becomes selectable and downloadable."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gradio_client")
import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from app.finetune_tab import _curve  # noqa: E402

pytestmark = pytest.mark.slow  # serves the app over HTTP and runs fine-tuning jobs through it

BASE = "base (shipped)"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("app_ft")
    with serve(root, default_steps=4, timer_s=0.5) as (url, demo):
        yield {"url": url, "root": root, "demo": demo}


@pytest.fixture(scope="module")
def client(served):
    return Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads"))


def compare(client, b):
    return client.predict("a person walks", 2.0, 1, 2.5, 4, BASE, b, api_name="/compare")


def _is_glb(path) -> bool:
    return Path(path).read_bytes()[:4] == b"glTF"


FT_ARGS = dict(kind="Fine-tune the generator", method="easytune", init=BASE, source="My prompts (one per line)",
               lines="a person walks forward\na person jumps", steps=400, lr=1e-4, k=2, weighting="uniform",
               adapter="LoRA", rank=4, sample_steps=4, run_name="")


def ft_start(client, **change):
    args = {**FT_ARGS, **change}
    return client.predict(*args.values(), api_name="/finetune_start")


def test_finetune_job_starts_reports_progress_is_cancelled_and_registers_its_checkpoint(client, served):
    job, text = ft_start(client, run_name="tiny-run")
    assert job and ("running" in text or "queued" in text)
    # One job at a time, for every user: a second start is refused with a message.
    with pytest.raises(AppError, match="already"):
        ft_start(Client(served["url"], verbose=False), run_name="second")
    deadline, st = time.time() + 60, {}
    while time.time() < deadline:
        st = client.predict(job, api_name="/finetune_status")
        if st["step"] >= 2:
            break
        time.sleep(0.3)
    assert st["state"] == "running" and st["step"] >= 2 and len(st["events"]) >= 2
    assert all(np.isfinite(e["reward"]) for e in st["events"])
    assert st["elapsed_s"] > 0 and st["peak_memory_mb"] is not None
    client.predict(job, api_name="/finetune_cancel")
    while time.time() < deadline + 30:
        st = client.predict("", api_name="/finetune_status")  # "" = the current job
        if st["state"] not in ("running", "queued"):
            break
        time.sleep(0.3)
    assert st["state"] == "cancelled", st
    assert st["checkpoint"] == "tiny-run" and "tiny-run" in st["text"]
    assert len(_curve(st["events"], "reward")) == 2 * len(st["events"])  # the tab's plot: per step + running mean
    assert st["files"] and st["files"][0].endswith("tiny-run.zip")
    zipped = httpx.get(f"{served['url'].rstrip('/')}/gradio_api/file={st['files'][0]}", timeout=30)
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"  # the run's zip is downloadable
    # The cancelled run is now a checkpoint for A/B, from the API and for new visitors.
    glb_a, glb_b, scores, *_ = compare(client, "tiny-run")
    assert scores["data"][1][1] == "tiny-run" and _is_glb(glb_b)


def test_finetune_bad_inputs(client):
    with pytest.raises(AppError, match="learning rate"):
        ft_start(client, lr=5.0)
    with pytest.raises(AppError, match="no prompts given"):
        ft_start(client, lines="  \n ")
    with pytest.raises(AppError, match="K must be"):
        ft_start(client, k=10, sample_steps=4)
    with pytest.raises(AppError, match="prepare-data"):
        ft_start(client, source="Train split of the built-in dataset")


def test_a_failed_job_shows_its_error_and_the_app_keeps_serving(client, served):
    # A dataset folder that looks valid from outside (Mean.npy) but has no train split: the job
    # fails inside the worker thread.
    data = served["root"] / "no-data"
    data.mkdir(exist_ok=True)
    np.save(data / "Mean.npy", np.zeros(263, np.float32))
    job, _ = ft_start(client, source="Train split of the built-in dataset", run_name="doomed")
    deadline, st = time.time() + 60, {"state": "queued"}
    while time.time() < deadline and st["state"] in ("queued", "running"):
        st = client.predict(job, api_name="/finetune_status")
        time.sleep(0.3)
    assert st["state"] == "failed" and st["error"]
    assert "Error:" in st["text"]
    glb_a, glb_b, *_ = compare(client, BASE)  # still serving
    assert _is_glb(glb_a)
    job2, _ = ft_start(client, run_name="after-failure", steps=2)  # the engine takes new jobs
    assert job2 != job
