"""Through the served app: a comparison with an everyday-world model on either side is scored, after
the bodies are shown, by the everyday reward and evaluator; one of two classic models by the default ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

pytestmark = pytest.mark.slow  # serves the app over HTTP

BASE, EVERYDAY, EVERYDAY_TUNED = "base (shipped)", "everyday base (shipped)", "everyday easytune (shipped)"


def _everyday_assets(root: Path, easytune: bool = False) -> Path:
    import torch

    from easytune_core.checkpoints import load_checkpoint, save_checkpoint
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
    from easytune_core.eval.model import Evaluator, EvaluatorConfig
    from easytune_core.reward import RewardConfig, RewardModel
    from tests.support.standins import build_tiny_assets

    assets = build_tiny_assets(root)
    ckpts = assets / "checkpoints"
    base = load_checkpoint(ckpts / "base")
    torch.manual_seed(3)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, max_frames=196)
    save_checkpoint(ckpts / "everyday_base", MotionDenoiser(cfg), cfg, "denoiser", base.mean, base.std,
                    meta={"standin": True, "data": "data/everyday"})
    if easytune:
        torch.manual_seed(5)
        save_checkpoint(ckpts / "everyday_easytune", MotionDenoiser(cfg), cfg, "denoiser", base.mean, base.std,
                        meta={"standin": True, "data": "data/everyday"})
    torch.manual_seed(4)
    rcfg = RewardConfig(width=32, layers=1, heads=2, ff=64, embed_dim=16)
    save_checkpoint(ckpts / "everyday_reward", RewardModel(rcfg), rcfg, "reward", base.mean, base.std)
    ecfg = EvaluatorConfig(movement_dim=16, hidden=16, embed_dim=16)
    save_checkpoint(ckpts / "everyday_evaluator", Evaluator(ecfg), ecfg, "evaluator", base.mean, base.std)
    return assets


def test_comparisons_with_an_everyday_model_are_scored_by_the_everyday_models(tmp_path):
    from app.scoring import Scorer
    from tests.support.app_server import serve

    assets = _everyday_assets(tmp_path / "assets")
    ckpts = assets / "checkpoints"
    prompt = "a person crawls forward on hands and knees"
    with serve(tmp_path, assets_dir=assets, default_steps=4) as (url, _):
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        for a, b, prefix in ((EVERYDAY, EVERYDAY, "everyday_"), (EVERYDAY, BASE, "everyday_"), (BASE, EVERYDAY, "everyday_"),
                             (BASE, BASE, "")):
            *_, scores, files_a, files_b, status = client.predict(prompt, 2.0, 5, 2.5, 4, a, b, api_name="/compare")
            feats = [np.load(next(p for p in files if p.endswith("_features.npy"))) for files in (files_a, files_b)]
            rewards, distances = Scorer(ckpts, prefix=prefix)(prompt, feats)
            other = Scorer(ckpts, prefix="" if prefix else "everyday_")(prompt, feats)[0]
            rows = scores["data"]
            assert [r[2] for r in rows] == pytest.approx(rewards, abs=1e-4), (a, b)
            assert [r[3] for r in rows] == pytest.approx(distances, abs=1e-3), (a, b)
            assert [r[2] for r in rows] != pytest.approx(other, abs=1e-4)  # the other world's reward differs


def test_everyday_examples_set_the_prompt_and_the_two_worlds(tmp_path):
    """An everyday example puts its prompt in the box, the everyday base on A and the default base on
    B (its EasyTune model when that is installed); the app without an everyday base shows only the
    default examples."""
    from app.compare import EVERYDAY_EXAMPLES
    from tests.support.app_server import serve

    def example_endpoints(demo):
        return sorted(d["api_name"] for d in demo.config["dependencies"] if str(d.get("api_name")).startswith("load_example"))

    with serve(tmp_path / "plain") as (_, demo):
        assert example_endpoints(demo) == ["load_example"]
    with serve(tmp_path, assets_dir=_everyday_assets(tmp_path / "assets"), default_steps=4) as (url, demo):
        assert example_endpoints(demo) == ["load_example", "load_example_1"]
        client = Client(url, verbose=False)
        for i in (0, len(EVERYDAY_EXAMPLES) - 1):
            prompt, a, b = client.predict(i, api_name="/load_example_1")
            assert (prompt["value"], a["value"], b["value"]) == (EVERYDAY_EXAMPLES[i], EVERYDAY, BASE)
    with serve(tmp_path / "tuned", assets_dir=_everyday_assets(tmp_path / "assets_tuned", easytune=True),
               default_steps=4) as (url, demo):
        assert example_endpoints(demo) == ["load_example", "load_example_1"]
        prompt, a, b = Client(url, verbose=False).predict(0, api_name="/load_example_1")
        assert (prompt["value"], a["value"], b["value"]) == (EVERYDAY_EXAMPLES[0], EVERYDAY, EVERYDAY_TUNED)
