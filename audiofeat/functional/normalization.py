"""Mapping spectrogram features to [-1, 1] for a tanh generator, and back.

Three schemes, two from the reference systems:

- **Fixed affine per channel** (GANSynth): ``clip(scale * x + shift, -1, 1)``, inverted by
  ``(y - shift) / scale``. GANSynth's constants are :data:`GANSYNTH_LOG_MAG_AFFINE`
  (``scale=0.06614, shift=0.11372`` for the log-magnitude) and :data:`GANSYNTH_IF_AFFINE`
  (``scale=0.8, shift=0`` for the instantaneous frequency).
- **Per-frequency-bin standardisation** (SpecGAN): ``clip((x - mean_f) / (3 std_f), -1, 1)`` with
  the mean and standard deviation of each bin over a whole dataset. :class:`BinStatistics`
  accumulates them in one streaming pass (batch by batch, or merged from several workers), and
  :func:`standardize` / :func:`destandardize` apply them.
- **Signed power law** for signed amplitudes such as MDCT coefficients: ``sign(x) |x|^p``, clipped
  to [-1, 1] (:func:`compand`, inverted by :func:`expand`). With ``p = 1/3`` (Stevens' exponent for
  loudness) a generator's small errors near zero stay near zero after expansion (0.02 becomes
  8e-6), so quiet bins stay quiet and tonal spectra stay sparse; linear amplitudes (MP3net) make
  every error in a quiet bin audible as a noise floor.

Storing statistics (for example as HDF5 datasets next to the features)::

    stats = BinStatistics()
    for batch in loader:                       # (..., freq, frames) log-magnitudes
        stats.update(batch)
    for name, array in stats.to_dict().items():
        group.create_dataset(name, data=array)  # "count" (int64 scalar), "mean", "std" (float64, (freq,))
    stats = BinStatistics.from_dict({name: group[name][()] for name in ("count", "mean", "std")})
    y = standardize(x, mean=stats.mean, std=stats.std)

References:
    J. Engel et al., "GANSynth: adversarial neural audio synthesis", ICLR 2019.

    C. Donahue, J. McAuley and M. Puckette, "Adversarial audio synthesis", ICLR 2019.

    T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample variance:
    analysis and recommendations", The American Statistician 37(3), 1983 (pairwise update).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from audiofeat._checks import check_positive, check_range, check_tensor
from audiofeat.exceptions import ParameterError

__all__ = [
    "GANSYNTH_IF_AFFINE",
    "GANSYNTH_LOG_MAG_AFFINE",
    "AffineNorm",
    "BinStatistics",
    "affine_denormalize",
    "affine_normalize",
    "compand",
    "destandardize",
    "expand",
    "standardize",
]


def _check_scale(scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale == 0 or not np.isfinite(scale):
        raise ParameterError(f"scale must be a finite non-zero number, got {scale!r}")
    return float(scale)


@dataclass(frozen=True)
class AffineNorm:
    """Constants of :func:`affine_normalize`; ``norm.as_kwargs()`` unpacks into both directions.

    Attributes:
        scale: multiplier (non-zero).
        shift: offset added after scaling.
    """

    scale: float
    shift: float

    def __post_init__(self) -> None:
        _check_scale(self.scale)

    def as_kwargs(self) -> dict[str, Any]:
        """``{"scale": ..., "shift": ...}``."""
        return asdict(self)


#: GANSynth's prespecified normaliser of the log-magnitude channel.
GANSYNTH_LOG_MAG_AFFINE = AffineNorm(scale=0.06614, shift=0.11372)
#: GANSynth's prespecified normaliser of the instantaneous-frequency (or phase) channel.
GANSYNTH_IF_AFFINE = AffineNorm(scale=0.8, shift=0.0)


def affine_normalize(x: torch.Tensor, *, scale: float, shift: float, clip: bool = True) -> torch.Tensor:
    """``scale * x + shift``, clipped to [-1, 1] unless ``clip=False``.

    Args:
        x: any real tensor, e.g. ``(..., freq, frames)`` log-magnitudes.
        scale: non-zero multiplier.
        shift: offset.
        clip: clip to [-1, 1] (GANSynth does).

    Returns:
        Tensor of the same shape.

    Raises:
        ParameterError: ``scale`` is zero or not finite.
    """
    check_tensor("x", x, min_dim=0)
    y = x * _check_scale(scale) + float(shift)
    return y.clamp(-1.0, 1.0) if clip else y


def affine_denormalize(y: torch.Tensor, *, scale: float, shift: float) -> torch.Tensor:
    """Inverse of :func:`affine_normalize` (before clipping): ``(y - shift) / scale``."""
    check_tensor("y", y, min_dim=0)
    return (y - float(shift)) / _check_scale(scale)


def compand(x: torch.Tensor, *, power: float = 1 / 3, clip: bool = True, smooth: float = 0.0) -> torch.Tensor:
    """``sign(x) |x|^power``, clipped to [-1, 1] when ``clip`` (module docstring).

    For ``power < 1`` the slope at 0 is infinite, and autograd gives NaN there. Code that
    differentiates through it passes ``smooth > 0``: ``x (x^2 + smooth^2)^((power - 1) / 2)``, equal
    to the exact curve where ``|x| >> smooth`` and with slope ``smooth^(power - 1)`` at 0."""
    check_positive("power", power)
    check_range("smooth", smooth, 0.0, math.inf)
    y = x * (x.square() + smooth ** 2).pow((power - 1) / 2) if smooth else x.sign() * x.abs().pow(power)
    return y.clamp(-1.0, 1.0) if clip else y


def expand(y: torch.Tensor, *, power: float = 1 / 3) -> torch.Tensor:
    """The inverse of :func:`compand`: ``sign(y) |y|^(1 / power)``."""
    check_positive("power", power)
    return y.sign() * y.abs().pow(1.0 / power)


def _bin_vector(name: str, value: Any, x: torch.Tensor) -> torch.Tensor:
    """A per-bin ``(freq,)`` statistic as a ``(freq, 1)`` tensor on ``x``'s device and dtype."""
    value = torch.as_tensor(value)
    if value.dim() != 1 or value.shape[0] != x.shape[-2]:
        raise ParameterError(f"{name} must have shape ({x.shape[-2]},) (one value per frequency bin of x), "
                             f"got {tuple(value.shape)}")
    return value.to(dtype=x.dtype, device=x.device).unsqueeze(-1)


def standardize(
    x: torch.Tensor,
    *,
    mean: torch.Tensor | np.ndarray,
    std: torch.Tensor | np.ndarray,
    n_sigma: float = 3.0,
    clip: bool = True,
    min_std: float = 1e-6,
) -> torch.Tensor:
    """Per-frequency-bin standardisation: ``(x - mean_f) / (n_sigma * max(std_f, min_std))``, clipped.

    With the defaults this is SpecGAN's normalisation: values within 3 standard deviations of the
    bin mean map into [-1, 1] and the rest are clipped. ``n_sigma=1, clip=False`` is a plain z-score.

    Args:
        x: real ``(..., freq, frames)``.
        mean: ``(freq,)`` per-bin mean (e.g. :attr:`BinStatistics.mean`).
        std: ``(freq,)`` per-bin standard deviation.
        n_sigma: number of standard deviations mapped to 1 (> 0).
        clip: clip the result to [-1, 1].
        min_std: floor of ``std``, so that a constant bin does not divide by zero (> 0).

    Returns:
        ``(..., freq, frames)`` in ``x``'s dtype.

    Raises:
        ParameterError: statistics of the wrong length or a non-positive ``n_sigma``/``min_std``.
    """
    check_tensor("x", x, min_dim=2)
    check_positive("n_sigma", n_sigma)
    check_positive("min_std", min_std)
    mean_t = _bin_vector("mean", mean, x)
    std_t = _bin_vector("std", std, x).clamp_min(min_std)
    y = (x - mean_t) / (n_sigma * std_t)
    return y.clamp(-1.0, 1.0) if clip else y


def destandardize(
    y: torch.Tensor,
    *,
    mean: torch.Tensor | np.ndarray,
    std: torch.Tensor | np.ndarray,
    n_sigma: float = 3.0,
    min_std: float = 1e-6,
) -> torch.Tensor:
    """Inverse of :func:`standardize` (before clipping): ``y * n_sigma * max(std_f, min_std) + mean_f``.

    Args:
        y: real ``(..., freq, frames)``, e.g. a tanh generator output.
        mean, std, n_sigma, min_std: as given to :func:`standardize`.

    Returns:
        ``(..., freq, frames)``.
    """
    check_tensor("y", y, min_dim=2)
    check_positive("n_sigma", n_sigma)
    check_positive("min_std", min_std)
    mean_t = _bin_vector("mean", mean, y)
    std_t = _bin_vector("std", std, y).clamp_min(min_std)
    return y * (n_sigma * std_t) + mean_t


class BinStatistics:
    """Streaming mean and standard deviation of each frequency bin over a dataset.

    Every frame of every example counts once per bin: a batch ``(..., freq, frames)`` adds
    ``prod(...) * frames`` observations to each of the ``freq`` bins. Batches are reduced on their
    own device in float64 and combined with Chan et al.'s pairwise update, so the result does not
    depend on how the data was batched or split between workers (up to rounding) and does not lose
    precision over millions of frames. The state lives on the CPU in float64.

    Attributes:
        count: observations per bin so far.
        mean: ``(freq,)`` float64 CPU tensor (``None`` before the first update).
        std: ``(freq,)`` float64 population standard deviation (``ddof=0``).
    """

    def __init__(self) -> None:
        self.count = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None

    @property
    def n_freq(self) -> int | None:
        """Number of bins, fixed by the first update (``None`` before it)."""
        return None if self._mean is None else self._mean.shape[0]

    @property
    def mean(self) -> torch.Tensor | None:
        return None if self._mean is None else self._mean.clone()

    @property
    def std(self) -> torch.Tensor | None:
        if self._m2 is None:
            return None
        return (self._m2 / self.count).sqrt()

    def update(self, batch: torch.Tensor) -> BinStatistics:
        """Adds a batch ``(..., freq, frames)`` of real features; returns ``self``.

        Raises:
            ParameterError: not a real tensor with at least 2 dims, a different number of bins
                than earlier batches, or non-finite values.
        """
        check_tensor("batch", batch, min_dim=2)
        x = batch.detach().to(torch.float64).transpose(-1, -2).reshape(-1, batch.shape[-2])
        if x.shape[0] == 0:
            return self
        if not bool(torch.isfinite(x).all()):
            raise ParameterError("batch holds NaN or Inf values")
        mean = x.mean(dim=0)
        m2 = (x - mean).square().sum(dim=0)
        return self._combine(x.shape[0], mean.cpu(), m2.cpu())

    def merge(self, other: BinStatistics) -> BinStatistics:
        """Adds the observations summarised by ``other`` (e.g. from another worker); returns ``self``."""
        if not isinstance(other, BinStatistics):
            raise ParameterError(f"other must be a BinStatistics, got {type(other).__name__}")
        if other._mean is None or other._m2 is None:
            return self
        return self._combine(other.count, other._mean.clone(), other._m2.clone())

    def _combine(self, count: int, mean: torch.Tensor, m2: torch.Tensor) -> BinStatistics:
        if self._mean is None or self._m2 is None:
            self.count, self._mean, self._m2 = count, mean, m2
            return self
        if mean.shape != self._mean.shape:
            raise ParameterError(f"the batch has {mean.shape[0]} frequency bins, earlier batches had "
                                 f"{self._mean.shape[0]}")
        total = self.count + count
        delta = mean - self._mean
        self._mean = self._mean + delta * (count / total)
        self._m2 = self._m2 + m2 + delta.square() * (self.count * count / total)
        self.count = total
        return self

    def to_dict(self) -> dict[str, np.ndarray]:
        """Plain arrays to store: ``count`` (int64, shape ``()``), ``mean``, ``std`` (float64, ``(freq,)``).

        Raises:
            ParameterError: nothing was accumulated yet.
        """
        if self._mean is None or self._m2 is None:
            raise ParameterError("BinStatistics is empty: call update() before to_dict()")
        return {"count": np.asarray(self.count, dtype=np.int64), "mean": self._mean.numpy().copy(),
                "std": (self._m2 / self.count).sqrt().numpy()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BinStatistics:
        """Rebuilds the accumulator from :meth:`to_dict`'s arrays (it can keep accumulating).

        Raises:
            ParameterError: missing keys, mismatched shapes, or a non-positive count.
        """
        missing = {"count", "mean", "std"} - set(data)
        if missing:
            raise ParameterError(f"data lacks key(s) {', '.join(sorted(missing))} (needs count, mean, std)")
        count = int(np.asarray(data["count"]))
        mean = torch.as_tensor(np.asarray(data["mean"], dtype=np.float64))
        std = torch.as_tensor(np.asarray(data["std"], dtype=np.float64))
        if count <= 0:
            raise ParameterError(f"count must be positive, got {count}")
        if mean.dim() != 1 or mean.shape != std.shape:
            raise ParameterError(f"mean and std must be 1-D of equal length, got {tuple(mean.shape)} "
                                 f"and {tuple(std.shape)}")
        stats = cls()
        return stats._combine(count, mean.clone(), std.square() * count)
