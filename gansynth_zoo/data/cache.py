"""Audio features from an audiofeat cache as model tensors, and generated tensors back to audio.

A :class:`Representation` says which cache features the model sees (stacked along channels, each
with the cache's audio channels), how they are scaled into [-1, 1] and how a generated tensor
becomes a waveform:

=============== ================================================ =============================
features        scaling (``normalization``)                      inversion
=============== ================================================ =============================
log_mag         ``"gansynth"``: fixed affine 0.06614 x + 0.11372 Griffin-Lim (``n_iter`` iterations,
                (GANSynth 1.3), ``"bins"``: per-bin (x - mean) / 3 std PGHI start by default)
                (SpecGAN), clipped to [-1, 1]
log_mag, if     log_mag as above; IF x 0.8 (GANSynth)           exact: IF -> phase -> ISTFT
mdct            ``"none"`` (MP3net: linear amplitudes, tanh output) IMDCT
                or ``"cbrt"``: signed cube root, clipped to [-1, 1]
=============== ================================================ =============================

The representation is stored in every ``generator.pt`` (:meth:`Representation.to_dict`), so a
trained model turns its output into audio without the cache.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
import torch

from audiofeat.cache import open_cache
from audiofeat.config import config_from_dict, config_to_dict
from audiofeat.exceptions import ConfigError, ParameterError
from audiofeat.features import FEATURES, FeatureConfig
from audiofeat.functional.normalization import (GANSYNTH_IF_AFFINE, GANSYNTH_LOG_MAG_AFFINE, affine_denormalize,
                                                affine_normalize, compand, destandardize, expand, standardize)
from audiofeat.functional.mdct import imdct
from audiofeat.functional.phase import PhaseInit, griffinlim
from audiofeat.functional.spectral import log_mag_if_to_waveform, mel_to_magnitude
from audiofeat.labels import LabelVocabulary
from gansynth_zoo.data.dataset import TrainingData

__all__ = ["Representation", "load_cache_data"]

Normalization = Literal["gansynth", "bins", "cbrt", "none"]


@dataclass
class Representation:
    """Attributes:
        features: cache features the model sees, in channel order.
        normalization: how ``log_mag`` (and ``mel``) or ``mdct`` are scaled (module docstring).
        feature_config: the cache's :class:`audiofeat.features.FeatureConfig`.
        stats: per-bin ``{"mean": [...], "std": [...]}`` of each feature (``"bins"`` scaling).
    """

    features: tuple[str, ...]
    normalization: Normalization
    feature_config: FeatureConfig
    stats: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.normalization not in ("gansynth", "bins", "cbrt", "none"):
            raise ConfigError(f"normalization must be gansynth, bins, cbrt or none; got {self.normalization!r}")
        if self.normalization == "cbrt" and tuple(self.features) != ("mdct",):
            raise ConfigError(f"normalization 'cbrt' is for the MDCT alone, not {list(self.features)}")
        if "if" in self.features and "log_mag" not in self.features:
            raise ConfigError("the 'if' feature needs 'log_mag' beside it to be inverted")

    @property
    def audio_channels(self) -> int:
        return self.feature_config.audio.channels

    def channels_of(self, feature: str) -> slice:
        """The channels of ``feature`` in the model tensor."""
        start = self.features.index(feature) * self.audio_channels
        return slice(start, start + self.audio_channels)

    def _scale(self, name: str, x: torch.Tensor, inverse: bool) -> torch.Tensor:
        if name == "if":
            a = GANSYNTH_IF_AFFINE
            return affine_denormalize(x, scale=a.scale, shift=a.shift) if inverse else \
                affine_normalize(x, scale=a.scale, shift=a.shift)
        if name in ("log_mag", "mel") and self.normalization == "gansynth":
            a = GANSYNTH_LOG_MAG_AFFINE
            return affine_denormalize(x, scale=a.scale, shift=a.shift) if inverse else \
                affine_normalize(x, scale=a.scale, shift=a.shift)
        if name in ("log_mag", "mel") and self.normalization == "bins":
            mean = torch.tensor(self.stats[name]["mean"], dtype=x.dtype, device=x.device)
            std = torch.tensor(self.stats[name]["std"], dtype=x.dtype, device=x.device)
            return destandardize(x, mean=mean, std=std, n_sigma=3.0) if inverse else \
                standardize(x, mean=mean, std=std, n_sigma=3.0, clip=True)
        if name == "mdct" and self.normalization == "cbrt":
            return expand(x) if inverse else compand(x)
        return x

    def encode(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Cache features ``{name: (N, channels, freq, frames)}`` -> model tensor ``(N, C, freq, frames)``."""
        return torch.cat([self._scale(name, features[name], inverse=False) for name in self.features], dim=1)

    def decode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Model tensor -> unscaled features, each ``(N, channels, freq, frames)``."""
        parts = x.split(self.audio_channels, dim=1)
        if len(parts) != len(self.features):
            raise ParameterError(f"expected {len(self.features) * self.audio_channels} channels, got {x.shape[1]}")
        return {name: self._scale(name, part, inverse=True) for name, part in zip(self.features, parts)}

    def to_audio(self, x: torch.Tensor, *, n_iter: int = 32, init: PhaseInit = "pghi",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Generated ``(N, C, freq, frames)`` -> waveforms ``(N, channels, samples)`` in [-1, 1].

        Args:
            n_iter: Griffin-Lim iterations (magnitude-only representations).
            init: Griffin-Lim's initial phase (``"pghi"``, ``"random"`` or ``"zeros"``).
        """

        cfg = self.feature_config
        parts = self.decode(x)
        length = cfg.audio.length
        if "mdct" in parts:
            audio = imdct(parts["mdct"], window=cfg.mdct.window, norm=cfg.mdct.norm)
        elif "if" in parts:
            audio = log_mag_if_to_waveform(parts["log_mag"], parts["if"], length=length, eps=cfg.stft.eps,
                                           **cfg.stft.layout().as_kwargs())
        elif "log_mag" in parts or "mel" in parts:
            audio = griffinlim(self.linear_magnitude(parts), length=length, n_iter=n_iter, init=init,
                               generator=generator, **cfg.stft.layout().as_kwargs())
        else:
            raise ConfigError(f"features {list(self.features)} cannot be turned into audio")
        return audio.clamp(-1.0, 1.0)

    def linear_magnitude(self, parts: dict[str, torch.Tensor], *, mel_fbank: torch.Tensor | None = None,
                         mel_inverse: torch.Tensor | None = None) -> torch.Tensor:
        """The linear STFT magnitude of decoded features (:meth:`decode`): ``exp(log_mag) - eps``, or
        else the log-mel through the filterbank's pseudo-inverse. ``mel_fbank`` and ``mel_inverse``
        are the filterbank and its pseudo-inverse when the caller holds them (an exported graph, which
        can compute neither)."""
        cfg = self.feature_config
        if "log_mag" in parts:
            return (parts["log_mag"].exp() - cfg.stft.eps).clamp_min(0.0)
        return mel_to_magnitude(parts["mel"], fbank=cfg.mel_filterbank() if mel_fbank is None else mel_fbank,
                                power=cfg.mel.power, eps=cfg.stft.eps, inverse=mel_inverse)

    @property
    def magnitude_feature(self) -> str:
        """The magnitude-like feature the model sees (``log_mag`` or ``mel``): what evaluation
        classifiers and spectrogram plots read."""
        for name in ("log_mag", "mel"):
            if name in self.features:
                return name
        raise ConfigError(f"features {list(self.features)} have no log_mag or mel channels")

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "normalization": self.normalization,
                "feature_config": config_to_dict(self.feature_config), "stats": self.stats}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Representation:
        return cls(tuple(data["features"]), data["normalization"],
                   config_from_dict(FeatureConfig, data["feature_config"], source="representation"), data["stats"])


def _bin_stats(stats: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Per-bin mean and std over all channels from per-(channel, bin) statistics of equal counts."""
    mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
    pooled_mean = mean.mean(axis=0)
    pooled_var = (std ** 2 + mean ** 2).mean(axis=0) - pooled_mean ** 2
    return {"mean": pooled_mean.tolist(), "std": np.sqrt(np.maximum(pooled_var, 0.0)).tolist()}


def load_cache_data(path: str, *, features: tuple[str, ...] = (), normalization: Normalization = "gansynth",
                    aux_feature: str = "threshold", frames: int = 0, genres: bool = False):
    """Loads a whole cache into memory as :class:`gansynth_zoo.data.dataset.TrainingData`.

    Args:
        path: the HDF5 cache.
        features: the features the model sees, in channel order (default: all of the cache's except
            ``aux_feature``, in the order of :data:`audiofeat.features.FEATURES`: log_mag first).
        normalization: see :class:`Representation`.
        aux_feature: a feature loaded beside ``x`` rather than into it, when the cache has it and
            it is not listed in ``features`` (MP3Net's masking threshold).
        frames: keep the first ``frames`` frames of every feature (0: all); MP3Net drops the
            MDCT's extra frame this way.
        genres: give ``c`` the genre part of the cache's vocabulary (the cache must have genres);
            without it ``c`` has the class and subclass parts only.
    """

    if not Path(path).is_file():
        raise ConfigError(f"data.path {path} does not exist: build the cache first (`make features`)")
    try:
        with h5py.File(path, "r") as f:
            available = list(f["features"])
        chosen = tuple(features) or tuple(f for f in FEATURES if f in available and f != aux_feature)
        missing = [f for f in chosen if f not in available]
        if missing:
            raise ConfigError(f"{path} has no feature(s) {missing}; it has {available}")
        cache = open_cache(path, features=chosen[:1])
        cut = slice(None, frames or None)
        with h5py.File(cache.path, "r") as f:
            arrays = {name: torch.from_numpy(f[f"features/{name}"][()][..., cut]) for name in chosen}
            aux = torch.from_numpy(f[f"features/{aux_feature}"][()][..., cut]) if (
                aux_feature in available and aux_feature not in chosen) else None
    except (OSError, KeyError) as error:  # not HDF5, truncated, or HDF5 without a cache's layout
        raise ConfigError(f"{path} is not a readable audiofeat cache: {str(error).splitlines()[0]}") from None
    representation = Representation(chosen, normalization, cache.config,
                                    {name: _bin_stats(cache.stats(name)) for name in chosen})
    x = representation.encode(arrays)
    labels = torch.from_numpy(cache.subclass_index.astype(np.int64))
    vocabulary = cache.vocabulary
    if not genres:
        vocabulary = LabelVocabulary(vocabulary.classes, vocabulary.subclasses)
    elif not vocabulary.genres:
        raise ConfigError(f"data.genres: {path} has no genres; relabel its manifest with a taxonomy that has "
                          "[genres] (audiofeat relabel) and extract it again")
    c = vocabulary.one_hot(cache.class_index, cache.subclass_index, cache.genre_index if genres else None)
    info = {"source": "cache", "path": str(path), "shape": list(x.shape[1:]),
            "vocabulary": vocabulary.to_dict(), "representation": representation.to_dict()}
    return TrainingData(x, labels, c, vocabulary.subclasses, info, aux, vocabulary.genres)
