"""`train-base` end to end on a tiny HumanML3D-layout folder: checkpoint, losses, resume."""

import json

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import load_checkpoint
from easytune_core.cli import main as cli_main
from easytune_core.pipeline import MotionPipeline


def make_folder(root, n=24):
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    names = [f"{i:06d}" for i in range(n)]
    for i, name in enumerate(names):
        T = int(rng.integers(40, 80))
        np.save(root / "new_joint_vecs" / f"{name}.npy", rng.normal(size=(T, 263)).astype(np.float32))
        verb = ("walks forward", "jumps", "waves")[i % 3]
        (root / "texts" / f"{name}.txt").write_text(f"a person {verb}#a/DET#0.0#0.0\n")
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    (root / "train.txt").write_text("\n".join(names[:18]))
    (root / "val.txt").write_text("\n".join(names[18:21]))
    (root / "test.txt").write_text("\n".join(names[21:]))
    return root


TINY = ["--width", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--batch-size", "6", "--val-every", "5",
        "--ckpt-every", "5", "--warmup", "2", "--quiet", "--max-frames", "80"]


def test_train_base_checkpoint_and_resume(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    out = tmp_path / "ck"
    assert cli_main(["train-base", "--data", str(data), "--out", str(out), "--steps", "6", *TINY]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 6 and summary["val_loss"] > 0 and summary["train_loss"] > 0
    ck = load_checkpoint(out, expected_kind="denoiser")
    assert ck.meta["step"] == 6 and ck.meta["final"] and ck.config["width"] == 32 and ck.config["max_frames"] == 80
    assert "train-base" in ck.meta["command"]
    assert (out / "resume" / "state.safetensors").exists()
    assert cli_main(["train-base", "--data", str(data), "--out", str(out), "--steps", "10", "--resume", *TINY]) == 0
    assert "resumed from" in capsys.readouterr().err
    assert load_checkpoint(out).meta["step"] == 10
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    r = pipe.generate(["a person jumps"], seconds=2, steps=3)
    assert r.joints.shape == (1, 40, 22, 3)


def test_train_base_saves_int8_weights_and_resumes_from_float32(tmp_path):
    from safetensors.torch import load_file
    data = make_folder(tmp_path / "data")
    out = tmp_path / "ck"
    args = ["train-base", "--data", str(data), "--out", str(out), "--save-dtype", "int8", *TINY]
    assert cli_main([*args, "--steps", "3"]) == 0
    raw = load_file(str(out / "model.safetensors"))
    assert raw["input_proj.weight"].dtype == torch.int8 and raw["input_proj.weight.int8_row_scale"].shape == (32,)
    assert load_file(str(out / "resume" / "state.safetensors"))["ema.input_proj.weight"].dtype == torch.float32
    assert cli_main([*args, "--steps", "5", "--resume"]) == 0
    pipe = MotionPipeline.from_checkpoint(out, device="cpu")
    assert pipe.generate(["a person jumps"], seconds=1, steps=2).joints.shape == (1, 20, 22, 3)


def test_train_base_missing_data_is_clear(tmp_path, capsys):
    assert cli_main(["train-base", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), *TINY]) == 2
    assert "no dataset at" in capsys.readouterr().err
    with pytest.raises(ValueError, match="steps must be at least 1"):
        from easytune_core.diffusion.train import TrainConfig
        TrainConfig(steps=0)


def test_train_base_init_starts_from_a_checkpoint(tmp_path, capsys, monkeypatch):
    import torch

    data = make_folder(tmp_path / "data")
    first = tmp_path / "first"
    assert cli_main(["train-base", "--data", str(data), "--out", str(first), "--steps", "3", *TINY]) == 0
    start = load_checkpoint(first).state_dict
    # lr 1e-12: one step barely moves the weights, so the result shows where training started
    second = tmp_path / "second"
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "1", "--lr", "1e-12",
                     "--init", str(first), *TINY]) == 0
    after = load_checkpoint(second).state_dict
    assert max(float((after[k] - start[k]).abs().max()) for k in start) < 1e-4
    assert f"--init {first}" in load_checkpoint(second).meta["command"]
    # a shipped name resolves through the assets lookup
    monkeypatch.setenv("EASYTUNE_ASSETS", str(tmp_path / "assets"))
    (tmp_path / "assets" / "checkpoints").mkdir(parents=True)
    import shutil
    shutil.copytree(first, tmp_path / "assets" / "checkpoints" / "base")
    third = tmp_path / "third"
    assert cli_main(["train-base", "--data", str(data), "--out", str(third), "--steps", "1", "--lr", "1e-12",
                     "--init", "base", *TINY]) == 0
    assert max(float((load_checkpoint(third).state_dict[k] - start[k]).abs().max()) for k in start) < 1e-4
    capsys.readouterr()
    assert cli_main(["train-base", "--data", str(data), "--out", str(tmp_path / "x"), "--init", "no_such", *TINY]) == 2
    assert "neither a folder nor a shipped model" in capsys.readouterr().err


def test_a_run_records_the_chain_it_started_from(tmp_path):
    """meta["init"] names the --init folder with the command, data and step that made it, nested
    along a chain of runs; a resumed run keeps the start it recorded, not what the folder holds later."""
    import shutil

    data = make_folder(tmp_path / "data")
    first, second, third = (tmp_path / n for n in ("first", "second", "third"))
    assert cli_main(["train-base", "--data", str(data), "--out", str(first), "--steps", "3", *TINY]) == 0
    assert "init" not in load_checkpoint(first).meta
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "2", "--init", str(first),
                     *TINY]) == 0
    rec = load_checkpoint(second).meta["init"]
    assert rec["checkpoint"] == str(first) and rec["step"] == 3 and rec["data"] == str(data)
    assert "--out " + str(first) in rec["command"] and "init" not in rec
    assert cli_main(["train-base", "--data", str(data), "--out", str(third), "--steps", "2", "--init", str(second),
                     *TINY]) == 0
    chain = load_checkpoint(third).meta["init"]
    assert chain["checkpoint"] == str(second) and chain["step"] == 2 and chain["init"] == rec
    # the folder a run started from is replaced (say, by the run's own result); resuming keeps the record
    shutil.rmtree(first)
    shutil.copytree(third, first)
    assert cli_main(["train-base", "--data", str(data), "--out", str(second), "--steps", "4", "--init", str(first),
                     "--resume", *TINY]) == 0
    again = load_checkpoint(second).meta
    assert again["step"] == 4 and again["init"] == rec


def test_a_resumed_run_continues_exactly_where_it_stopped(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    import easytune_core.diffusion.train as train_module

    data = make_folder(tmp_path / "data")  # 18 train motions: 3 batches of 6 per epoch
    args = ["--data", str(data), "--steps", "7", "--save-dtype", "float16", *TINY, "--ckpt-every", "4"]
    straight, parts = tmp_path / "straight", tmp_path / "parts"
    assert cli_main(["train-base", "--out", str(straight), *args]) == 0

    class Crash(Exception):
        pass

    save = train_module.save_resume

    def save_then_crash(folder, model, opt, step, *a, **k):
        save(folder, model, opt, step, *a, **k)
        if step == 4:  # the process dies right after its step-4 save, in the middle of epoch 1
            raise Crash

    monkeypatch.setattr(train_module, "save_resume", save_then_crash)
    with pytest.raises(Crash):
        cli_main(["train-base", "--out", str(parts), *args])
    monkeypatch.setattr(train_module, "save_resume", save)
    assert cli_main(["train-base", "--out", str(parts), "--resume", *args]) == 0
    a, b = (load_file(str(p / "resume" / "state.safetensors")) for p in (straight, parts))
    assert any(k.startswith("ema.") for k in a)  # the EMA is resumed in float32, not from the float16 export
    for k in a:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-6, atol=1e-7, err_msg=k)


def test_resume_state_keeps_the_cuda_generator_when_cuda_is_in_use(tmp_path, monkeypatch):
    """On CUDA, dropout draws from the device's generator: its state is saved and restored with the rest
    (torch.cuda stubbed here, so this runs on a CPU-only machine)."""
    import torch

    import easytune_core.diffusion.train as train_module
    from easytune_core.diffusion.denoiser import DenoiserConfig, MotionDenoiser

    device_state = {"now": torch.arange(16, dtype=torch.uint8)}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda *a: device_state["now"].clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, *a: device_state.__setitem__("now", s.clone()))
    model = MotionDenoiser(DenoiserConfig(width=16, layers=1, heads=2, ff=32))
    opt = torch.optim.AdamW(model.parameters())
    train_module.save_resume(tmp_path / "resume", model, opt, 3, torch.Generator().get_state(), {"seconds": 1.0})
    saved = device_state["now"].clone()
    device_state["now"] = torch.zeros(16, dtype=torch.uint8)  # the generator moved on before the crash
    step, _, _ = train_module.load_resume(tmp_path / "resume", model, opt)
    assert step == 3 and torch.equal(device_state["now"], saved)


def test_stop_after_pauses_a_run_that_resume_finishes_exactly(tmp_path, capsys):
    """--stop-after ends one sitting (checkpoint and resume state saved, schedule untouched); --resume
    finishes the run with the weights an uninterrupted run gets."""
    from safetensors.torch import load_file

    data = make_folder(tmp_path / "data")
    args = ["--data", str(data), "--steps", "5", *TINY]
    straight, parts = tmp_path / "straight", tmp_path / "parts"
    assert cli_main(["train-base", "--out", str(straight), *args]) == 0
    assert cli_main(["train-base", "--out", str(parts), "--stop-after", "1e-9", *args]) == 0  # one step, then stop
    paused = load_checkpoint(parts).meta
    assert paused["step"] == 1 and paused["final"] is False
    assert "continue with --resume" in capsys.readouterr().err
    assert cli_main(["train-base", "--out", str(parts), "--resume", *args]) == 0
    assert load_checkpoint(parts).meta["step"] == 5 and load_checkpoint(parts).meta["final"] is True
    a, b = (load_file(str(p / "resume" / "state.safetensors")) for p in (straight, parts))
    for k in a:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-6, atol=1e-7, err_msg=k)
    assert cli_main(["train-base", "--out", str(tmp_path / "bad"), "--stop-after", "-1", *args]) == 2
