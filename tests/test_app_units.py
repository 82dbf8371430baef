"""Pieces of the app that need no server: input checks, per-session folders and their clean-up,
upload staging (no unpickling, no zip path escapes), and chunked save-and-resume fine-tuning."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from app.checks import (check_guidance, check_learning_rate, check_prompt, check_seconds, check_seed, check_steps,
                        parse_prompt_lines)
from app.sessions import OutputFolders
from app.uploads import stage_upload


@pytest.mark.parametrize("fn, value, expected", [
    (check_prompt, "  a person waves  ", "a person waves"),
    (check_prompt, "x" * 400, "x" * 400),
    (check_seconds, "9.8", 9.8),
    (check_seconds, 1, 1.0),
    (check_seed, 42.0, 42),
    (check_seed, 2**31 - 1, 2**31 - 1),
    (check_guidance, 0, 0.0),
    (check_steps, 50.0, 50),
    (check_learning_rate, "1e-5", 1e-5),
])
def test_valid_inputs_are_normalised(fn, value, expected):
    assert fn(value) == expected


@pytest.mark.parametrize("fn, value, message", [
    (check_prompt, None, "prompt is empty"),
    (check_prompt, "x" * 401, "401 characters"),
    (check_seconds, None, "length is empty"),
    (check_seconds, "abc", "length must be a number"),
    (check_seconds, float("nan"), "finite"),
    (check_seconds, 9.81, "between 1.0 and 9.8 seconds, got 9.81"),
    (check_seed, 2**31, "seed must be between 0 and 2147483647"),
    (check_seed, "", "seed is empty"),
    (check_steps, 2.5, "whole number"),
    (check_learning_rate, 0, "above 0"),
])
def test_bad_inputs_say_what_to_fix(fn, value, message):
    with pytest.raises(ValueError, match=message):
        fn(value)


def test_prompt_lines_name_the_bad_line():
    assert parse_prompt_lines("a person walks\n\n  a person jumps \n") == ["a person walks", "a person jumps"]
    with pytest.raises(ValueError, match="prompt line 2"):
        parse_prompt_lines("a person walks\n" + "y" * 401)


def test_each_request_gets_its_own_folder_and_old_ones_are_swept(tmp_path):
    folders = OutputFolders(tmp_path, max_age_s=60, sweep_every_s=3600)
    a1, a2, b1 = folders.new("sessA"), folders.new("sessA"), folders.new("../../etc")
    assert len({a1, a2, b1}) == 3 and all(p.is_dir() for p in (a1, a2, b1))
    assert b1.parent.parent == tmp_path  # a hostile session name cannot escape the root
    (a1 / "motion.glb").write_bytes(b"glTF")
    old = time.time() - 120
    os.utime(a1, (old, old))
    assert folders.sweep() == 1
    assert not a1.exists() and a2.exists() and b1.exists()
    folders.drop_session("sessA")
    assert not a2.exists()
    assert folders.sweep(now=time.time() + 3600) == 1 and not any(tmp_path.iterdir())


def build_assets(tmp_path: Path) -> Path:
    from tests.support.standins import build_tiny_assets

    return build_tiny_assets(tmp_path / "assets")


def _tiny_ckpt(tmp_path: Path) -> Path:
    return build_assets(tmp_path) / "checkpoints" / "base"


def test_zip_members_are_extracted_by_known_name_only(tmp_path):
    ckpt = _tiny_ckpt(tmp_path)
    zpath = tmp_path / "evil.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.write(ckpt / "model.safetensors", "../../escaped/model.safetensors")
        z.write(ckpt / "config.json", "/abs/config.json")
        z.write(ckpt / "stats.safetensors", "x/stats.safetensors")
        z.writestr("notes.txt", "ignored")
    folder = stage_upload([str(zpath)], tmp_path / "uploads")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "stats.safetensors"]
    assert not (tmp_path / "escaped").exists()


def test_loose_files_are_renamed_into_a_checkpoint_folder(tmp_path):
    ckpt = _tiny_ckpt(tmp_path)
    weights = tmp_path / "my_weights.safetensors"
    weights.write_bytes((ckpt / "model.safetensors").read_bytes())
    folder = stage_upload([str(weights), str(ckpt / "config.json"), str(ckpt / "stats.safetensors")],
                          tmp_path / "uploads")
    assert (folder / "model.safetensors").read_bytes() == weights.read_bytes()


def test_oversized_upload_is_refused_before_reading(tmp_path):
    big = tmp_path / "model.safetensors"
    big.write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(ValueError, match="MB"):
        stage_upload([str(big)], tmp_path / "uploads", max_mb=1)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_chunked_fine_tuning_saves_and_resumes_between_chunks(tmp_path):
    from easytune_core.finetune.config import FinetuneConfig
    from easytune_core.finetune.engine import FinetuneEngine, FinetuneJob

    from app.zerogpu import chunked_finetune_runner

    assets = _tiny_ckpt(tmp_path).parent
    engine = FinetuneEngine(tmp_path / "registry", runs_root=tmp_path / "runs",
                            runners={"finetune": chunked_finetune_runner(2)})
    cfg = FinetuneConfig(method="easytune", sampler_steps=3, select="last:2", max_steps=5, batch_size=2, frames=20,
                         max_frames=40, lora_rank=2, lr=1e-3, warmup=0)
    job = engine.submit(FinetuneJob(config=cfg, name="chunky", base=str(assets / "base"),
                                    reward=str(assets / "reward"), prompts=["a person walks", "a person jumps"]))
    st = engine.wait(job, timeout=120)
    engine.shutdown()
    assert st["state"] == "finished", st["message"]
    events = engine.events(job)
    chunks = [e for e in events if e.get("stage") == "chunk"]
    assert [c["saved_at_step"] for c in chunks] == [2, 4, 5]
    assert [e["step"] for e in events if "step" in e] == [1, 2, 3, 4, 5]  # resumed, never restarted
    assert "chunky" in engine.registry.list("denoiser")


def test_on_zerogpu_work_runs_inside_spaces_gpu(monkeypatch):
    import sys
    import types

    import app.zerogpu as zg

    leases = []
    fake = types.ModuleType("spaces")

    def GPU(fn, duration=60):  # noqa: N802 - the real decorator's name
        def leased(*args, **kwargs):
            leases.append(duration)
            return fn(*args, **kwargs)
        return leased

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setattr(zg, "ON_ZEROGPU", True)
    monkeypatch.delenv("EASYTUNE_CHUNK_STEPS", raising=False)
    assert zg.gpu(lambda x: x + 1, duration=30)(1) == 2 and leases == [30]
    assert zg.chunk_steps_from_env() == zg.ZEROGPU_CHUNK_STEPS
    monkeypatch.setattr(zg, "ON_ZEROGPU", False)
    assert zg.gpu(len)([1, 2]) == 2 and leases == [30]  # off ZeroGPU: called directly
    assert zg.chunk_steps_from_env() == 0
    monkeypatch.setenv("EASYTUNE_CHUNK_STEPS", "0")
    with pytest.raises(ValueError, match="EASYTUNE_CHUNK_STEPS"):
        zg.chunk_steps_from_env()


@pytest.mark.parametrize("n, message", [("16", "at most 8 per request"), (9, "at most 8 per request"),
                                        ("inf", "between 1 and 16, got inf"), (float("nan"), "between 1 and 16"),
                                        ("x", "whole number, got 'x'"), (2.5, "between 1 and 16")])
def test_takes_count_is_checked_before_any_sampling(n, message):
    from app.edit_service import takes

    class NoBackend:  # the check comes first: nothing is loaded or sampled
        def pipeline(self, *a, **k):
            raise AssertionError("sampled despite a bad number of takes")

    with pytest.raises(ValueError, match=message):
        takes(NoBackend(), "a person jumps", 2.0, 0, n, 2.5, 4, "base")


@pytest.mark.parametrize("config", [{"kind": "denoiser", "config": [1]}, {"kind": "denoiser"}, ["kind", "config"]])
def test_an_uploaded_config_of_the_wrong_shape_is_refused_clearly(tmp_path, config):
    ckpt = _tiny_ckpt(tmp_path)
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not an EasyTune checkpoint config"):
        stage_upload([str(ckpt / "model.safetensors"), str(ckpt / "config.json")], tmp_path / "uploads")
    assert not any((tmp_path / "uploads").iterdir())  # nothing half-staged is left


def test_old_uploads_no_session_holds_are_swept_with_the_outputs(tmp_path):
    from app.backend import Backend
    from app.config import AppConfig

    backend = Backend(AppConfig(assets_dir=build_assets(tmp_path), runs_dir=tmp_path / "runs"))
    root = backend.config.uploads_dir
    stale, held, fresh = (root / n for n in ("stale", "held", "fresh"))
    for folder in (stale, held, fresh):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x")
    old = time.time() - 3 * 3600
    for folder in (stale, held):
        os.utime(folder, (old, old))
    backend._uploads["a-live-session"] = {"upload: mine": held}
    folders = OutputFolders(tmp_path / "outputs", max_age_s=3600, sweep_every_s=3600, also=[backend.sweep_uploads])
    assert folders.sweep() == 1
    assert not stale.exists() and held.exists() and fresh.exists()  # a live session's upload stays, however old


def test_launch_never_shares_and_caps_uploads_at_the_servers_door(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from app import ui
    from app.config import AppConfig

    class Demo:
        easytune_backend = SimpleNamespace(config=AppConfig(assets_dir=tmp_path / "assets", runs_dir=tmp_path / "runs",
                                                            mcp_server=False, max_upload_mb=50))

        def launch(self, **kwargs):
            return kwargs

    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    got = ui.launch(Demo())
    assert got["share"] is False and got["max_file_size"] == "50mb" and got["server_port"] == 7860


def test_comparisons_with_an_everyday_side_are_scored_by_its_reward_and_evaluator(tmp_path):
    import numpy as np
    import torch

    from app.backend import Backend, SideResult
    from app.config import AppConfig
    from app.scoring import Scorer
    from easytune_core.checkpoints import load_checkpoint, save_checkpoint
    from easytune_core.eval.model import Evaluator, EvaluatorConfig
    from easytune_core.reward import RewardConfig, RewardModel
    from easytune_core.shipped import world_of

    assets = build_assets(tmp_path)
    ckpts = assets / "checkpoints"
    base = load_checkpoint(ckpts / "base")
    assert world_of(base.meta) == "classic" and world_of({"data": "data/everyday/"}) == "everyday"
    assert world_of({"base_meta": {"data": "/x/everyday"}}) == "everyday" and world_of({"data": "data/builtin"}) == "classic"
    assert world_of({"data": "data/everyday_v2"}) == world_of({"data": "/d/everyday-smoothed/"}) == "everyday"
    assert world_of({"data": "data/everydayish"}) == world_of({"data": "data/my_everyday"}) == "classic"
    torch.manual_seed(7)
    rcfg = RewardConfig(width=32, layers=1, heads=2, ff=64, embed_dim=16)
    save_checkpoint(ckpts / "everyday_reward", RewardModel(rcfg), rcfg, "reward", base.mean, base.std)
    ecfg = EvaluatorConfig(movement_dim=16, hidden=16, embed_dim=16)
    save_checkpoint(ckpts / "everyday_evaluator", Evaluator(ecfg), ecfg, "evaluator", base.mean, base.std)
    backend = Backend(AppConfig(assets_dir=assets, runs_dir=tmp_path / "runs", outputs_dir=tmp_path / "out"))
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(40, 263)).astype(np.float32) * base.std + base.mean for _ in range(2)]

    def sides(worlds):
        return [SideResult(s, s, np.zeros((40, 22, 3), np.float32), f, world=w)
                for s, f, w in zip("AB", feats, worlds)]

    prompt = "a person crawls forward"
    expected = {p: Scorer(ckpts, prefix=p)(prompt, feats) for p in ("", "everyday_")}
    assert expected[""][0] != pytest.approx(expected["everyday_"][0])
    for worlds, prefix in ((("everyday", "everyday"), "everyday_"), (("everyday", "classic"), "everyday_"),
                           (("classic", "everyday"), "everyday_"), (("classic", "classic"), "")):
        scored = sides(worlds)
        backend.score(prompt, scored)
        assert [s.reward for s in scored] == pytest.approx(expected[prefix][0], abs=1e-5)
        assert [s.matching_distance for s in scored] == pytest.approx(expected[prefix][1], abs=1e-4)


def test_prompts_of_actions_in_order_point_to_the_timeline_split():
    from app.compare import sequence_hint

    assert sequence_hint("a person walks forward and waves") == ""
    assert sequence_hint("a person walks while waving") == ""
    hint = sequence_hint("a person walks forward, then sits down, and finally waves")
    assert "3 actions in order" in hint and "Split the prompt" in hint
