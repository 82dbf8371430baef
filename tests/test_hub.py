"""Hugging Face conventions: from_pretrained (folder, shipped name, Hub cache), save_pretrained,
push_to_hub (a fake HfApi: no network), model cards; reward and evaluator alike."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import CheckpointError
from easytune_core.eval.model import Evaluator
from easytune_core.hub import is_repo_id, model_card, read_metrics, resolve_pretrained
from easytune_core.pipeline import MotionPipeline
from easytune_core.reward.model import RewardModel
from easytune_core.shipped import shipped_checkpoint

FILES = {"config.json", "model.safetensors", "stats.safetensors", "README.md", "metrics.json"}


def _front_matter(text):
    yaml = pytest.importorskip("yaml")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _fake_hub_cache(cache: Path, repo_id: str, folder: Path, revision: str = "main") -> Path:
    """The layout huggingface_hub writes: models--org--name/{blobs,refs,snapshots/<commit>}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snap = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copy(f, repo / "blobs" / digest)
        link = snap / f.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(repo / "blobs" / digest, link.parent), link)
    (repo / "refs").mkdir()
    (repo / "refs" / revision).write_text(commit)
    return snap


@pytest.fixture(scope="module")
def base():
    return MotionPipeline.from_pretrained("base", device="cpu")


def _sample(pipe):
    return pipe.generate(["a person jumps"], seconds=1, seed=2, steps=3).joints


def test_names_resolve_to_folders_shipped_names_or_repo_ids(tmp_path):
    assert resolve_pretrained("easytune", kind="denoiser") == shipped_checkpoint("easytune")
    assert resolve_pretrained(shipped_checkpoint("reward")) == shipped_checkpoint("reward")
    assert is_repo_id("org/name") and is_repo_id("Org-1/my.model_2")
    assert not is_repo_id("base") and not is_repo_id("./a/b") and not is_repo_id("a/b/c")
    with pytest.raises(CheckpointError, match="holds a 'reward' checkpoint, expected 'denoiser'"):
        resolve_pretrained("reward", kind="denoiser")
    with pytest.raises(FileNotFoundError, match="does not exist, and it is neither a shipped model"):
        resolve_pretrained("no such thing")


def test_save_pretrained_round_trip_and_card(base, tmp_path):
    out = base.save_pretrained(tmp_path / "mine", dtype=torch.float16)
    assert {p.name for p in out.iterdir()} == FILES
    again = MotionPipeline.from_pretrained(str(out), device="cpu")
    np.testing.assert_allclose(_sample(again), _sample(base), atol=2e-2)  # fp16 storage
    assert again.metrics == base.metrics == read_metrics(shipped_checkpoint("base"))
    card = (out / "README.md").read_text()
    front = _front_matter(card)
    assert front["license"] == "mit" and "text-to-motion" in front["tags"]
    metrics = {m["type"]: m["value"] for m in front["model-index"][0]["results"][0]["metrics"]}
    assert metrics["r_precision_top1"] == pytest.approx(0.411) and metrics["fid"] == pytest.approx(4.6483)
    assert "python -m easytune_core train-base --data builtin" in card  # the exact training command
    assert "MotionPipeline.from_pretrained(" in card


def test_card_without_metrics_or_command_says_so():
    card = model_card("reward", {"width": 8}, meta={}, metrics=None, name="r")
    assert "None recorded" in card and "was not recorded" in card and "model-index" not in card


def test_card_lists_the_runs_a_model_was_trained_on_top_of():
    meta = {"command": "python -m easytune_core train-base --out c --init b",
            "init": {"checkpoint": "b", "step": 20, "data": "d2", "command": "python -m easytune_core train-base --out b",
                     "init": {"checkpoint": "a", "step": 10, "data": "d1"}}}
    card = model_card("denoiser", {"width": 8}, meta=meta, metrics=None, name="c")
    training = card.split("## Training")[1].split("## Configuration")[0]
    lines = [l for l in training.splitlines() if l.startswith(("python", "#"))]
    assert lines == ["# (this stage's command was not recorded)", "# -> a: step 10 on d1",
                     "python -m easytune_core train-base --out b", "# -> b: step 20 on d2",
                     "python -m easytune_core train-base --out c --init b"]


def test_card_names_how_the_weights_were_compacted():
    meta = {"command": "python -m easytune_core train-base --out b", "storage": {"dtype": "int8", "source": "runs/b"}}
    card = model_card("denoiser", {"width": 8}, meta=meta, metrics=None, name="c")
    training = card.split("## Training")[1].split("## Configuration")[0]
    assert "python -m easytune_core compact runs/b --out <folder> --dtype int8" in training
    assert "8-bit rows" in training
    assert "compact" not in model_card("denoiser", {"width": 8}, meta={}, metrics=None, name="c")


def test_from_pretrained_reads_a_prepopulated_hub_cache_offline(base, tmp_path, monkeypatch):
    import huggingface_hub.constants as hf

    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "easytune-test/base-copy", shipped_checkpoint("base"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(cache))  # read once at import by huggingface_hub
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    pipe = MotionPipeline.from_pretrained("easytune-test/base-copy", device="cpu")
    assert Path(pipe.folder).is_relative_to(cache)
    np.testing.assert_array_equal(_sample(pipe), _sample(base))
    # explicit cache_dir + local_files_only, and a repo that is not cached: a clear error, no download
    assert resolve_pretrained("easytune-test/base-copy", cache_dir=cache, local_files_only=True).name == \
        Path(pipe.folder).name
    with pytest.raises(FileNotFoundError, match="not a local folder.*not in the local Hugging Face cache.*local folder"):
        MotionPipeline.from_pretrained("easytune-test/missing", local_files_only=True)


class FakeApi:
    """Records what push_to_hub sends; copies the uploaded folder (it is a temporary one)."""

    calls = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, **kw):
        FakeApi.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, repo_id, folder_path, **kw):
        from huggingface_hub.utils import filter_repo_objects

        dest = Path(FakeApi.dest) / repo_id.replace("/", "--")
        files = [p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file()]
        for rel in filter_repo_objects(files, allow_patterns=kw.get("allow_patterns")):  # what the Hub gets
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder_path) / rel, dest / rel)
        FakeApi.calls.append(("upload_folder", repo_id, kw))
        return type("Info", (), {"commit_url": f"https://hub.invalid/{repo_id}/commit/1"})()


def test_push_to_hub_uploads_the_save_pretrained_layout(base, tmp_path, monkeypatch):
    import huggingface_hub

    FakeApi.calls, FakeApi.dest = [], tmp_path
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = base.push_to_hub("someone/easytune-base", private=True, commit_message="add model")
    assert url.endswith("someone/easytune-base/commit/1")
    (kind, repo, kw), (kind2, _, up) = FakeApi.calls
    assert (kind, repo, kw["private"], kw["exist_ok"], kind2) == ("create_repo", "someone/easytune-base", True, True,
                                                                  "upload_folder")
    assert up["commit_message"] == "add model"
    sent = tmp_path / "someone--easytune-base"
    assert {p.name for p in sent.iterdir()} == FILES
    assert "MotionPipeline.from_pretrained('someone/easytune-base')" in (sent / "README.md").read_text()
    np.testing.assert_array_equal(_sample(MotionPipeline.from_pretrained(str(sent), device="cpu")), _sample(base))
    with pytest.raises(ValueError, match="org/name"):
        base.push_to_hub("not a repo id")


@pytest.mark.parametrize("cls,name", [(RewardModel, "reward"), (Evaluator, "evaluator")])
def test_reward_and_evaluator_get_the_same_treatment(cls, name, tmp_path, monkeypatch):
    import huggingface_hub

    model = cls.from_pretrained(name, device="cpu")
    assert model.metrics == read_metrics(shipped_checkpoint(name))
    out = model.save_pretrained(tmp_path / name)
    assert {p.name for p in out.iterdir()} == FILES
    assert _front_matter((out / "README.md").read_text())["tags"][-1] == name
    again = cls.from_pretrained(str(out), device="cpu")
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)
    torch.testing.assert_close(again.mean, model.mean)
    FakeApi.calls, FakeApi.dest = [], tmp_path / "pushed"
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    model.push_to_hub(f"someone/{name}")
    assert {p.name for p in (tmp_path / "pushed" / f"someone--{name}").iterdir()} == FILES
    with pytest.raises(CheckpointError, match="expected"):
        cls.from_pretrained("base")


def test_metrics_json_is_validated(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"fid": 1.0}))
    with pytest.raises(CheckpointError, match="metrics"):
        read_metrics(tmp_path)
    assert read_metrics(tmp_path / "nothing") is None


def test_a_latent_model_goes_to_the_hub_and_back_with_its_vae(tmp_path, monkeypatch):
    import huggingface_hub

    from tests.support.standins import build_tiny_latent

    pipe = MotionPipeline.from_pretrained(str(build_tiny_latent(tmp_path / "latent")), device="cpu")
    FakeApi.calls, FakeApi.dest = [], tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    pipe.push_to_hub("someone/latent")
    sent = tmp_path / "hub" / "someone--latent"
    assert {"config.json", "model.safetensors", "vae/config.json", "vae/model.safetensors"} <= \
        {p.relative_to(sent).as_posix() for p in sent.rglob("*") if p.is_file()}
    _fake_hub_cache(tmp_path / "cache", "someone/latent", sent)
    again = MotionPipeline.from_pretrained("someone/latent", device="cpu", cache_dir=tmp_path / "cache",
                                           local_files_only=True)
    np.testing.assert_array_equal(_sample(again), _sample(pipe))
