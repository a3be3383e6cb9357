"""MP3net's psychoacoustic noise as a critic transform (:data:`gansynth_zoo.training.loop.CriticTransform`).

MP3net (van den Broek 2021, sections 2 and 6.4) adds Gaussian noise of
standard deviation ``T / 6`` to real and generated MDCTs before every discriminator call, ``T`` the
masking threshold of the clean MDCT, so that the critic cannot see what the ear would not hear.
For real data ``T`` is precomputed from the clean audio (the feature cache's ``threshold``); for
generated data it is computed on the fly from the generator's output, and gradients flow both
through the MDCT and through ``T(MDCT)``.

Two options: ``shape="white"`` replaces the noise by white Gaussian noise of the same power per
example (the psychoacoustic shaping removed), and ``scale="cbrt"`` applies the noise to the linear
amplitudes of models that see the signed cube root of the MDCT
(:func:`audiofeat.functional.normalization.compand`): expand, add noise, compand.
Design notes: docs/models.md.
"""
from __future__ import annotations

import torch
from torch import nn

from audiofeat.exceptions import ParameterError
from audiofeat.functional.normalization import compand, expand
from audiofeat.functional.psychoacoustic import psychoacoustic_noise
from audiofeat.transforms import PsychoacousticFilter

__all__ = ["PsychoacousticNoise"]

# Below any audible MDCT amplitude (thresholds are 1e-6 and up): keeps the cube root's gradient finite.
_SMOOTH = 1e-8


class PsychoacousticNoise(nn.Module):
    """``x + T n / 6`` with ``n`` standard normal: MP3net's noise on every discriminator input.

    Called by the trainer as ``transform(x, aux)``: ``aux`` is the batch's precomputed threshold
    for real data and ``None`` for generated data, whose threshold is then computed from ``x``
    (differentiably). Everything runs in float32 with autocast disabled, because the model's
    intensity floor of 1e-14 needs float32's range and the threshold's geometric means need its
    precision. The noise comes from torch's default generator of ``x``'s device, whose state the
    trainer's checkpoints store, so a resumed run draws the same noise.

    Args:
        sample_rate: of the audio the MDCTs come from, in Hz (default 22,016, MP3net's).
        n_bins: MDCT bins per frame (default 128).
        n_bark_bands: Bark bands of the model (default 24).
        alpha: non-linear superposition exponent in (0, 1] (default 0.6).
        shape: ``"masking"`` (MP3net) or ``"white"`` (same power per example, flat).
        scale: ``"linear"`` (MP3net) or ``"cbrt"``: ``x`` is the signed cube root of the MDCT.

    Shape:
        - x: ``(batch, channels, n_bins, frames)`` MDCT amplitudes in MP3net's scale (or their cube roots).
        - threshold: ``None`` or the same shape.
        - output: same shape, float32.
    """

    def __init__(self, *, sample_rate: int = 22016, n_bins: int = 128, n_bark_bands: int = 24,
                 alpha: float = 0.6, shape: str = "masking", scale: str = "linear"):
        super().__init__()
        if shape not in ("masking", "white") or scale not in ("linear", "cbrt"):
            raise ParameterError(f"shape must be masking or white and scale linear or cbrt; got {shape!r}, {scale!r}")
        self.shape, self.scale = shape, scale
        self.model = PsychoacousticFilter(sample_rate=sample_rate, n_bins=n_bins, n_bark_bands=n_bark_bands,
                                          alpha=alpha, mode="noise")

    def forward(self, x: torch.Tensor, threshold: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            if self.scale == "cbrt":
                x = expand(x)
            threshold = self.model.masking_threshold(x) if threshold is None else threshold.float()
            if self.shape == "white":  # the same power per example, spread evenly
                threshold = threshold.square().mean(dim=(1, 2, 3), keepdim=True).sqrt().expand_as(x)
            noisy = psychoacoustic_noise(x, threshold)
            return compand(noisy, smooth=_SMOOTH) if self.scale == "cbrt" else noisy
