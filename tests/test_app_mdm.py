"""MDM checkpoints in the app: uploaded as MDM saves them (.pt + args.json + Mean.npy + Std.npy), converted,
compared against a model with another text encoder; without CLIP the app says what to do and keeps serving."""

from __future__ import annotations

import pytest
import torch
from _mdm_helpers import TINY_CLIP, mdm_state_dict, write_mdm_run

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

BASE, TUNED = "base (shipped)", "easytune (shipped)"

pytestmark = pytest.mark.slow  # its own app server, MDM conversion and comparisons end to end


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("app_mdm")
    with serve(root, default_steps=5, data_dir=root / "data") as (url, demo):
        yield {"url": url, "root": root, "demo": demo}


@pytest.fixture()
def client(served):
    return Client(served["url"], verbose=False, download_files=str(served["root"] / "downloads"))


def mdm_files(folder, **kw):
    pt = write_mdm_run(folder, **kw)
    return [handle_file(str(p)) for p in (pt, folder / "args.json", folder / "data" / "Mean.npy", folder / "data" / "Std.npy")]


def compare(client, a, b, steps=4):
    return client.predict("a person walks forward", 2.0, 3, 2.5, steps, a, b, api_name="/compare")


def test_uploaded_mdm_compares_against_a_minilm_model(client, tmp_path, monkeypatch):
    monkeypatch.setenv("EASYTUNE_CLIP_PATH", str(TINY_CLIP))
    _, _, note = client.predict(mdm_files(tmp_path / "mdm"), api_name="/upload_checkpoint")
    name = note.split("**")[1]
    assert name.startswith("upload: ") and "cannot sample" not in note
    glb_a, glb_b, scores, *_ = compare(client, name, BASE)  # A: MDM's CLIP features, B: MiniLM's
    assert [row[1] for row in scores["data"]] == [name, BASE]
    assert open(glb_a, "rb").read(4) == b"glTF" and open(glb_b, "rb").read(4) == b"glTF"


def test_without_clip_selecting_it_says_how_to_provide_it_and_the_app_keeps_serving(client, tmp_path, monkeypatch):
    monkeypatch.delenv("EASYTUNE_CLIP_PATH", raising=False)
    _, _, note = client.predict(mdm_files(tmp_path / "mdm", seed=3), api_name="/upload_checkpoint")
    name = note.split("**")[1]
    assert "cannot sample here yet" in note and "EASYTUNE_CLIP_PATH" in note
    with pytest.raises(AppError, match="CLIP ViT-B/32.*EASYTUNE_CLIP_PATH"):
        compare(client, BASE, name)
    _, _, scores, *_ = compare(client, BASE, TUNED)  # still serving
    assert len(scores["data"]) == 2


class Payload:
    def __reduce__(self):
        return (print, ("never runs",))


def test_foreign_or_incomplete_mdm_uploads_are_refused(client, tmp_path):
    files = mdm_files(tmp_path / "m")
    with pytest.raises(AppError, match="Mean.npy and Std.npy are missing"):
        client.predict(files[:2], api_name="/upload_checkpoint")
    with pytest.raises(AppError, match="only as an MDM checkpoint with its args.json"):
        client.predict([files[0], files[2], files[3]], api_name="/upload_checkpoint")
    torch.save({**mdm_state_dict(), "x": Payload()}, tmp_path / "m" / "model000000100.pt")
    with pytest.raises(AppError, match="refused.*nothing was executed"):
        client.predict(files, api_name="/upload_checkpoint")
    (tmp_path / "m" / "args.json").write_text('{"dataset": "humanml", "arch": "gru", "latent_dim": 32, "layers": 2}')
    with pytest.raises(AppError, match="arch 'gru'"):
        client.predict(files, api_name="/upload_checkpoint")


def test_mdm_upload_is_size_capped(tmp_path):
    from app.uploads import stage_upload

    write_mdm_run(tmp_path / "m")
    paths = [str(p) for p in (tmp_path / "m").rglob("*") if p.is_file()]
    with pytest.raises(ValueError, match="checkpoints up to 0 MB"):
        stage_upload(paths, tmp_path / "uploads", max_mb=0.1)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())
