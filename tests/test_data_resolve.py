"""`resolve_dataset`: the folder every training / evaluation command works on."""

import pytest

from easytune_core.data import builtin


def test_builtin_dataset_is_generated_once_when_missing(tmp_path, monkeypatch):
    target = tmp_path / "data" / "builtin"
    monkeypatch.setattr(builtin, "BUILTIN_DIR", target)
    monkeypatch.setattr(builtin, "DEFAULT_SIZE", 6)
    real = builtin.generate_builtin
    calls = []

    def small(out_dir, **kw):
        calls.append(out_dir)
        return real(out_dir, size=6, **{k: v for k, v in kw.items() if k != "size"})

    monkeypatch.setattr(builtin, "generate_builtin", small)
    root = builtin.resolve_dataset("builtin", workers=1)
    assert root == target and (root / "Mean.npy").exists() and (root / "train.txt").exists()
    assert not (tmp_path / "data" / "builtin.partial").exists()
    assert len(list((root / "new_joint_vecs").glob("*.npy"))) == 12  # 6 motions + mirrored copies
    assert builtin.resolve_dataset("builtin") == target and len(calls) == 1  # the second call reuses it


def test_missing_user_folder_or_no_create_says_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="HumanML3D-layout folder"):
        builtin.resolve_dataset(tmp_path / "mine")
    monkeypatch.setattr(builtin, "BUILTIN_DIR", tmp_path / "builtin")
    with pytest.raises(FileNotFoundError, match="prepare-data"):
        builtin.resolve_dataset("builtin", create=False)
