"""The restricted loaders refuse anything but plain data / weights, and never run pickled code."""

import os
import pickle

import numpy as np
import pytest
import torch

from easytune_core.interop.safe_load import (UnsafePickleError, load_plain_pickle, load_torch_weights,
                                             loads_plain_pickle)


class _RunsCommand:
    """A malicious-style object: unpickling it with the standard loader would run a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Custom:
    pass


def test_plain_pickle_round_trip(tmp_path):
    data = {"words": ["walk", "unk", "sos"], "idx": {"walk": 0, "unk": 1}, "t": (1, 2.5, None, True),
            "nested": [[{"a": -3}]]}
    for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"p{proto}.pkl"
        path.write_bytes(pickle.dumps(data, protocol=proto))
        assert load_plain_pickle(path) == data


def test_plain_pickle_refuses_reduce_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "our_vab_idx.pkl"
    path.write_bytes(pickle.dumps({"walk": 0, "x": _RunsCommand(marker)}))
    with pytest.raises(UnsafePickleError, match=r"(posix|nt|os)\.system"):
        load_plain_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("obj, name", [(np.arange(3), "numpy"), (_Custom(), "_Custom"), ({1, 2}, "set"),
                                       (b"bytes", "bytes"), (complex(1, 2), "complex")])
def test_plain_pickle_refuses_non_plain_types(obj, name):
    with pytest.raises(UnsafePickleError, match=name):
        loads_plain_pickle(pickle.dumps({"k": [obj]}))


def test_plain_pickle_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_plain_pickle(tmp_path / "missing.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_plain_pickle(tmp_path / "junk.pkl")
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps(list(range(100)))[:20])
    with pytest.raises(ValueError):
        load_plain_pickle(tmp_path / "cut.pkl")


def test_torch_weights_loads_state_dicts(tmp_path):
    state = {"text_encoder": {"w": torch.randn(3, 2)}, "epoch": 7, "iter": 10}
    torch.save(state, tmp_path / "finest.tar")
    out = load_torch_weights(tmp_path / "finest.tar")
    assert out["epoch"] == 7 and torch.equal(out["text_encoder"]["w"], state["text_encoder"]["w"])


def test_torch_weights_refuses_code_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"w": torch.zeros(2), "evil": _RunsCommand(marker)}, tmp_path / "evil.tar")
    with pytest.raises(UnsafePickleError, match=r"refused.*(posix|nt|os)\.system"):
        load_torch_weights(tmp_path / "evil.tar")
    assert not marker.exists()


def test_torch_weights_refuses_numpy_and_names_it(tmp_path):
    torch.save({"mean": np.zeros(3)}, tmp_path / "np.pt")
    with pytest.raises(UnsafePickleError, match="numpy"):
        load_torch_weights(tmp_path / "np.pt")


def test_torch_weights_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_torch_weights(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a readable torch weights file"):
        load_torch_weights(tmp_path / "junk.pt")


def test_dict_subclasses_beside_the_weights_are_read_as_plain_dicts(tmp_path, monkeypatch):
    import collections
    import sys
    import types

    import torch

    from easytune_core.interop.safe_load import load_state_dict

    module = types.ModuleType("fake_lightning_data")  # where Lightning keeps its AttributeDict

    class AttributeDict(dict):
        pass

    AttributeDict.__module__ = module.__name__
    AttributeDict.__qualname__ = "AttributeDict"
    module.AttributeDict = AttributeDict
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": AttributeDict(lr=1e-4, sizes=[1, 2]),
                "loops": collections.defaultdict(list, a=[1])}, path)
    monkeypatch.delitem(sys.modules, module.__name__)  # the class is not importable where the file is read
    sd = load_state_dict(path)
    assert list(sd) == ["w"] and torch.equal(sd["w"], torch.ones(2))
