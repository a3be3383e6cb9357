"""Where training sets come from: MNIST, scikit-learn's 8x8 digits (tests) or an audiofeat cache."""
from __future__ import annotations

import numpy as np
import torch

from audiofeat.exceptions import ConfigError
from gansynth_zoo.data.cache import Normalization, load_cache_data
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.data.mnist import MnistSplit, load_mnist

__all__ = ["load_training_data"]


def _one_hot_digits(images: np.ndarray, labels: np.ndarray, source: str) -> TrainingData:
    x = torch.from_numpy(images.astype(np.float32))[:, None] / 127.5 - 1.0
    y = torch.from_numpy(labels.astype(np.int64))
    return TrainingData(x, y, torch.nn.functional.one_hot(y, 10).float(), tuple(str(d) for d in range(10)),
                        {"source": source, "shape": list(x.shape[1:]), "range": [-1.0, 1.0]})


def load_training_data(source: str, *, split: MnistSplit = "train", limit: int = 0, path: str = "",
                       features: tuple[str, ...] = (), normalization: Normalization = "gansynth", frames: int = 0,
                       genres: bool = False) -> TrainingData:
    """Loads a training set (see :class:`gansynth_zoo.config.DataConfig`).

    Args:
        source: ``"mnist"``, ``"digits"`` or ``"cache"``.
        split: ``"train"`` or ``"test"`` (digit sources; a cache holds one split).
        limit: keep the first ``limit`` examples (0: all).
        path, features, normalization, frames, genres: cache source only
            (:func:`gansynth_zoo.data.cache.load_cache_data`).
    """
    if genres and source != "cache":
        raise ConfigError(f"data.genres needs data.source = 'cache', not {source!r}")
    if source == "mnist":
        images, labels = load_mnist(split)
        data = _one_hot_digits(images, labels, "mnist")
    elif source == "digits":
        from sklearn.datasets import load_digits  # a test dependency, imported only when asked for

        digits = load_digits()
        images = np.round(digits.images * (255 / 16)).astype(np.uint8)
        cut = int(len(images) * 0.8)
        part = slice(0, cut) if split == "train" else slice(cut, None)
        data = _one_hot_digits(images[part], digits.target[part], "sklearn-digits")
    elif source == "cache":
        data = load_cache_data(path, features=features, normalization=normalization, frames=frames, genres=genres)
    else:
        raise ConfigError(f"unknown data.source {source!r}; use mnist, digits or cache")
    return data.subset(limit) if limit else data
