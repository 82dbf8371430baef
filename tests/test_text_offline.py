"""Text encoders leave the process environment alone: MiniLM loads with local_files_only, Hub
encoders follow HF_HUB_OFFLINE and fail offline with a message naming a local folder."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from easytune_core.text import encoders

ROOT = Path(__file__).resolve().parent.parent


def test_uncached_hub_encoder_offline_says_how_to_provide_the_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(encoders._HUB_MODELS, "test-st", ("st", "easytune-test/no-such-encoder", 8))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # conftest: tests never reach a hub
    with pytest.raises(FileNotFoundError) as err:
        encoders._load("test-st", "cpu", None)
    msg = str(err.value)
    assert "easytune-test/no-such-encoder" in msg and "path=" in msg and "HF_HUB_OFFLINE" in msg
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        encoders._load("test-st", "cpu", str(tmp_path / "missing"))


@pytest.mark.slow
def test_minilm_loads_without_network_or_offline_flag(tmp_path):
    script = textwrap.dedent("""
        import os, socket
        assert "HF_HUB_OFFLINE" not in os.environ
        def no_network(*args, **kwargs):
            raise OSError("network access in a test")
        socket.socket.connect = no_network
        socket.create_connection = no_network
        from easytune_core.text import get_text_encoder
        enc = get_text_encoder("minilm", device="cpu")
        assert enc.encode(["a person walks"]).shape == (1, 384)
        assert "HF_HUB_OFFLINE" not in os.environ, "the encoder changed the process environment"
        print("OK")
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_CACHE=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-2000:]
