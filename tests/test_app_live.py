"""The Compare tab with latent and few-step models, through gradio_client: the first view (both
GLBs) comes before the downloads and scores (a chained event), and the live mode regenerates only
when both sides are few-step models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # serves the app over HTTP and drives it with gradio_client

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

BASE = "base (shipped)"
LATENT, FEW, FEW_TUNED = "latent (shipped)", "few-step (shipped)", "few-step easytune (shipped)"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.support.standins import build_tiny_assets, build_tiny_latent
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("live")
    assets = build_tiny_assets(root / "assets")
    build_tiny_latent(assets / "checkpoints" / "latent", seed=1)
    build_tiny_latent(assets / "checkpoints" / "fewstep", seed=2, few_step=True)
    build_tiny_latent(assets / "checkpoints" / "fewstep_easytune", seed=3, few_step=True)
    with serve(root, assets_dir=assets, default_steps=10, data_dir=root / "data") as (url, demo):
        yield {"url": url, "root": root, "demo": demo}


@pytest.fixture()
def client(served):
    return Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads"))


def _glb(path) -> bool:
    return Path(path).read_bytes()[:4] == b"glTF"


def _skipped(value) -> bool:
    """gradio_client's view of gr.skip(): no new value for that output."""
    return value is None or value == {"__type__": "update"}


def test_new_checkpoints_are_listed(served):
    names = served["demo"].easytune_backend.checkpoint_choices()
    assert {BASE, LATENT, FEW, FEW_TUNED} <= set(names)
    backend = served["demo"].easytune_backend
    assert backend.is_few_step(FEW) and not backend.is_few_step(LATENT) and not backend.is_few_step(BASE)


def test_first_view_comes_before_the_downloads_and_scores(client):
    glb_a, glb_b, status, scores, files_a, files_b = client.predict(
        "a person walks forward", 3.0, 5, 2.5, 10, FEW, FEW_TUNED, api_name="/compare_view")
    assert _glb(glb_a) and _glb(glb_b)
    assert "4 steps" in status and "Scores and downloads follow" in status and "same noise" in status
    assert not files_a and not files_b and not (scores or {}).get("data")
    rows, files_a, files_b, status = client.predict(api_name="/compare_details")  # same client = same session
    names = sorted(Path(p).name for p in files_a)
    assert names == ["motion_A.bvh", "motion_A.glb", "motion_A_features.npy", "motion_A_joints.npy",
                     "motion_A_smpl.npz"]
    assert Path(next(p for p in files_b if p.endswith(".bvh"))).read_text().startswith("HIERARCHY")
    assert [r[:2] for r in rows["data"]] == [["A", FEW], ["B", FEW_TUNED]]
    assert "ready" in status


def test_the_one_call_api_still_returns_everything(client):
    glb_a, glb_b, scores, files_a, files_b, status = client.predict(
        "a person jumps", 2.0, 3, 2.5, 10, LATENT, FEW, api_name="/compare")
    assert _glb(glb_a) and _glb(glb_b) and len(files_a) == 5 and len(files_b) == 5
    assert "A: 10 steps" in status and "B: 4 steps" in status  # a few-step side uses its own step count
    joints = np.load(next(p for p in files_a if p.endswith("_joints.npy")))
    assert joints.shape == (40, 22, 3) and np.isfinite(joints).all()


def test_frame_space_against_latent_draws_noise_per_side(client):
    *_, status = client.predict("a person jumps", 2.0, 3, 2.5, 10, BASE, LATENT, api_name="/compare")
    assert "own initial noise" in status


def test_live_mode_regenerates_only_for_few_step_models(client):
    # live off: nothing happens (the views keep what they show)
    out = client.predict(False, "a person waves", 2.0, 1, 2.5, 4, FEW, FEW_TUNED, api_name="/compare_live")
    assert _skipped(out[0]) and _skipped(out[1])
    # live on with few-step models on both sides: both bodies, no downloads yet
    glb_a, glb_b, status = client.predict(True, "a person waves", 2.0, 1, 2.5, 4, FEW, FEW_TUNED,
                                          api_name="/compare_live")
    assert _glb(glb_a) and _glb(glb_b) and status.startswith("Live:")
    # a 50-step model on one side: refused with a note, views untouched
    out = client.predict(True, "a person waves", 2.0, 1, 2.5, 4, FEW, BASE, api_name="/compare_live")
    assert _skipped(out[0]) and "few-step models on both sides" in out[2]
    # half-typed input is skipped silently instead of raising an error while the user types
    out = client.predict(True, "   ", 2.0, 1, 2.5, 4, FEW, FEW_TUNED, api_name="/compare_live")
    assert _skipped(out[0]) and _skipped(out[2])


def test_live_events_are_wired_with_always_last(served):
    demo = served["demo"]
    fns = [d for d in demo.fns.values() if getattr(d, "name", "") == "compare_live"]
    assert len(fns) == 6  # prompt, length, guidance, steps, seed, the live box itself
    assert all(d.trigger_mode == "always_last" and d.concurrency_limit == 1 for d in fns)
    events = sorted(t[1] for d in fns for t in d.targets)
    assert events == ["change", "change", "input", "release", "release", "release"]
    assert {(demo.blocks[t[0]].elem_id, t[1]) for d in fns for t in d.targets} >= {("prompt", "input"), ("live", "change")}
    # the scores follow each live update in their own chained event
    ids = {k for k, d in demo.fns.items() if d in fns}
    scores = [d for d in demo.fns.values() if d.name == "live_scores"]
    assert sorted(d.trigger_after for d in scores) == sorted(ids)


def test_finetune_form_uses_short_trajectories_for_a_few_step_start(tmp_path):
    """A few-step start checkpoint trains on its own <= 4-step trajectories, every step selected."""
    from types import SimpleNamespace

    from app.jobs import AppJobs
    from tests.support.standins import build_tiny_latent

    jobs = []
    engine = SimpleNamespace(submit=lambda job: jobs.append(job) or "1")
    backend = SimpleNamespace(config=SimpleNamespace(checkpoints_dir=tmp_path, data_dir=tmp_path / "none"))
    few, latent = build_tiny_latent(tmp_path / "few", few_step=True), build_tiny_latent(tmp_path / "lat")
    request = dict(kind="generator", method="easytune", prompts=["a person walks"], steps=10, lr=1e-4, k=5,
                   weighting="uniform", lora=False, rank=8, sample_steps=20)
    AppJobs(engine, backend).start({**request, "init": few, "init_name": "few"})
    AppJobs(engine, backend).start({**request, "init": latent, "init_name": "lat"})
    assert (jobs[0].config.sampler_steps, jobs[0].config.select, jobs[0].config.k) == (4, "all", 4)
    assert (jobs[1].config.sampler_steps, jobs[1].config.select) == (20, "last:5")
