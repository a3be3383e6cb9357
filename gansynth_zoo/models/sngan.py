"""A small conditional GAN for spectrograms in the SNGAN recipe (Miyato et al. 2018), sized for CPUs.

A DCGAN-shaped network with the training recipe that small-data GANs rely on; it learns the
conditioning on two CPU cores, where :mod:`gansynth_zoo.models.gansynth` is made for accelerators.

Generator: ``[z, c]`` -> linear -> a ``channels[0] x start`` map -> batch norm, ReLU; then each
further width is nearest x2 upsampling -> 3x3 conv -> batch norm -> ReLU (resize-convolution;
Odena et al. 2016), and a final 3x3 conv with tanh. ``shape[1:] == start * 2**(len(channels) - 1)``.
``padding = "reflect"`` pads the convolutions with the map's own edge instead of zeros (for windows
cut from a longer signal). ``output_root = r`` follows the tanh by the signed ``r``-th root,
``sign(t) |t|^(1/r)`` (smoothed at 0), which moves the output's mass away from 0 (for cube-root
MDCTs). ``output_gain = "free"`` multiplies the output by a learned gain ``exp(g)`` per channel and
frequency row, ``g`` starting at 0 and stored divided by :data:`GAIN_RATE`; ``"tilt"`` removes the
mean over rows from ``g`` per channel, so that the gain shapes the spectrum and the level stays
with the network. ``level_head = true`` multiplies each output by ``exp(w . z + b)``, a loudness
that a linear map of the latent sets directly, past the batch norms; ``b`` starts at 0 and ``w`` at a
random direction of norm ``level_init`` (0: at 0, where the spread ``|w|`` has no gradient direction).
``level_quantiles`` instead sets each output's level from the latent: ``z[:, 0]`` is mapped through
the normal CDF to a probability and then through the given quantiles of the real examples' levels
(an inverse CDF, linear between quantiles), and the output is scaled to exactly that level, where the
level of ``x`` is ``0.5 log mean |x|^(2 e)`` with ``e = level_exponent`` (3 for cube-root MDCTs: the
level of the linear signal). The generated levels then follow the real distribution by construction,
and the critic judges whether a quiet example looks like a real quiet one.

Discriminator: ``c`` appended to the input as constant maps (Mirza and Osindero), then one
spectrally normalised 4x4 stride-2 conv with LeakyReLU(0.2) per width, flattened into a spectrally
normalised linear score; with ``conditioning = "projection"`` the score also gets
``<embed(c), h>`` with ``h`` the spatially summed last features (Miyato and Koyama 2018), and
``"both"`` uses maps and projection together. ``mbstd_group = g`` appends, before the score, the
standard deviation over groups of ``g`` examples (ProGAN's minibatch-std channel), so that the critic
sees how varied a batch is and a generator that gives every latent the same clip is told apart.
Use it with the hinge loss and Adam betas (0, 0.9).

Design notes and the history of the output options: docs/models.md; the conditioning trials:
docs/conditioning.md.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from audiofeat.exceptions import ParameterError
from gansynth_zoo.nn.layers import (
    Critique,
    MinibatchStd,
    append_condition_maps,
    assert_shape,
    check_choice,
    check_geometry,
)

__all__ = ["Discriminator", "Generator", "level", "level_quantiles"]

# The learned output gain's parameter is ``g / GAIN_RATE`` (an equalised learning rate for it alone).
GAIN_RATE = 16.0


class Generator(nn.Module):
    """``G(z, c)`` -> spectrograms ``(batch, *shape)`` in [-1, 1].

    Args:
        z_dim: latent size.
        c_dim: size of the conditioning vector (0: unconditional).
        shape: output ``(channels, freq, frames)``.
        channels: width at the start resolution and after each upsampling.
        start: ``(freq, frames)`` of the first map.
        padding: ``"zeros"`` or ``"reflect"``, the padding of every 3x3 conv.
        output_root: ``r >= 1``; the output is ``sign(t) |t|^(1/r)`` of the tanh's ``t`` (1: ``t``).
        output_gain: ``"none"``; ``"free"``: multiply the output by a learned ``exp(g)`` per channel and
            frequency row; ``"tilt"``: the same with ``g`` of mean 0 over the rows of each channel.
        level_head: multiply each output by ``exp(w . z + b)``, a per-example gain set by the latent.
        level_init: the norm of ``w`` at initialisation, in a random direction (``b`` starts at 0).
        level_quantiles: increasing quantiles, at evenly spaced probabilities from 0 to 1, of the real
            examples' levels (:func:`level_quantiles`); empty: the network sets the level.
        level_exponent: ``e`` of the level (module docstring).

    Shape:
        ``z`` ``(batch, z_dim)``, ``c`` ``(batch, c_dim)`` -> ``(batch, *shape)``.
    """

    quantiles: torch.Tensor  # a buffer: the real levels' quantiles (empty: none)

    def __init__(self, *, z_dim: int = 128, c_dim: int = 0, shape: Sequence[int] = (1, 64, 64),
                 channels: Sequence[int] = (256, 128, 64, 32, 16), start: Sequence[int] = (4, 4),
                 padding: Literal["zeros", "reflect"] = "zeros", output_root: float = 1.0,
                 output_gain: Literal["none", "free", "tilt"] = "none", level_head: bool = False,
                 level_init: float = 0.0, level_quantiles: Sequence[float] = (), level_exponent: float = 1.0):
        super().__init__()
        check_choice("padding", padding, ("zeros", "reflect"))
        if isinstance(output_gain, bool):  # runs made before "tilt" existed stored true / false
            output_gain = "free" if output_gain else "none"
        check_choice("output_gain", output_gain, ("none", "free", "tilt"))
        if level_quantiles and (len(level_quantiles) < 2 or level_head):
            raise ParameterError("level_quantiles needs at least 2 quantiles and excludes level_head (both set the "
                                 f"level); got {len(level_quantiles)} quantiles, level_head={level_head}")
        if level_init < 0:
            raise ParameterError(f"level_init must be >= 0, got {level_init}")
        if output_root < 1:
            raise ParameterError(f"output_root must be >= 1, got {output_root}")
        self.shape, ch, self.start = check_geometry(shape, channels, start)
        if z_dim < 1 or c_dim < 0:
            raise ParameterError(f"z_dim > 0 and c_dim >= 0 are required; got {z_dim}, {c_dim}")
        self.z_dim, self.c_dim = z_dim, c_dim
        self.project = nn.Linear(z_dim + c_dim, ch[0] * self.start[0] * self.start[1], bias=False)
        layers: list[nn.Module] = [nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True)]
        for i in range(1, len(ch)):
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"),
                       nn.Conv2d(ch[i - 1], ch[i], 3, padding=1, padding_mode=padding, bias=False),
                       nn.BatchNorm2d(ch[i]), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(ch[-1], self.shape[0], 3, padding=1, padding_mode=padding), nn.Tanh()]
        if output_root != 1:
            layers.append(SignedRoot(output_root))
        self.body = nn.Sequential(*layers)
        self.width = ch[0]
        self.log_gain = None if output_gain == "none" else nn.Parameter(torch.zeros(1, *self.shape[:2], 1))
        self.centre_gain = output_gain == "tilt"
        self.level = nn.Linear(z_dim, 1) if level_head else None
        if self.level is not None:
            nn.init.zeros_(self.level.weight)
            nn.init.zeros_(self.level.bias)
            if level_init:  # drawn only then, so that runs at 0 keep the random stream they had
                with torch.no_grad():
                    w = torch.randn_like(self.level.weight)
                    self.level.weight.copy_(w * (level_init / w.norm()))
        self.level_exponent = level_exponent
        self.register_buffer("quantiles", torch.tensor(list(level_quantiles), dtype=torch.float32), persistent=False)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        assert_shape(z, [None, self.z_dim])
        assert_shape(c, [z.shape[0], self.c_dim])
        h = self.project(torch.cat([z, c.to(z.dtype)], dim=1))
        x = self.body(h.view(-1, self.width, *self.start))
        if self.level is not None:
            x = x * self.level(z).exp()[:, :, None, None]
        if self.log_gain is not None:
            g = self.log_gain - self.log_gain.mean(dim=2, keepdim=True) if self.centre_gain else self.log_gain
            x = x * (g * GAIN_RATE).exp()
        if len(self.quantiles):
            shift = (self._drawn_level(z) - level(x, self.level_exponent)) / self.level_exponent
            x = x * shift.exp()[:, None, None, None]
        return x

    def _drawn_level(self, z: torch.Tensor) -> torch.Tensor:
        """The level that ``z[:, 0]`` picks from the real distribution (inverse CDF of the quantiles)."""
        position = torch.special.ndtr(z[:, 0].float()) * (len(self.quantiles) - 1)
        below = position.floor().clamp(0, len(self.quantiles) - 2)
        low, high = self.quantiles[below.long()], self.quantiles[below.long() + 1]
        return low + (position - below) * (high - low)


def level(x: torch.Tensor, exponent: float = 1.0) -> torch.Tensor:
    """``0.5 log mean |x|^(2 exponent)`` per example, over every other dimension: the natural log of
    the RMS of ``sign(x) |x|^exponent`` (with ``exponent = 3``, of the linear MDCT of a cube-root one)."""
    return 0.5 * torch.log(x.float().abs().pow(2 * exponent).flatten(1).mean(dim=1) + 1e-12)


def level_quantiles(x: torch.Tensor, exponent: float = 1.0, n: int = 65, chunk: int = 256) -> list[float]:
    """The levels (:func:`level`) of the examples ``x`` at ``n`` evenly spaced probabilities from 0 to 1,
    computed ``chunk`` examples at a time, for ``Generator(level_quantiles=...)``."""
    levels = torch.cat([level(x[i:i + chunk], exponent) for i in range(0, len(x), chunk)])
    return torch.quantile(levels.double(), torch.linspace(0, 1, n, dtype=torch.float64)).tolist()


class SignedRoot(nn.Module):
    """``sign(t) |t|^(1/r)``, computed as ``t (t^2 + eps)^((1/r - 1) / 2)`` so that its slope at 0 is
    finite (``eps^((1/r - 1) / 2)``, 10 for ``r = 2`` and the default ``eps``); it maps [-1, 1] onto
    itself up to ``eps``."""

    def __init__(self, r: float, eps: float = 1e-4):
        super().__init__()
        self.exponent, self.eps = (1.0 / r - 1.0) / 2.0, eps

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return t * (t.square() + self.eps).pow(self.exponent)


class Discriminator(nn.Module):
    """``D(x, c)`` -> :class:`Critique`: scores ``(batch,)``, and class logits with an auxiliary classifier.

    Args:
        c_dim: size of the conditioning vector (0: unconditional, whatever ``conditioning`` says).
        shape: input ``(channels, freq, frames)``; both sides must halve ``len(channels)`` times.
        channels: width of each strided conv.
        conditioning: ``"concat"`` (input maps), ``"projection"``, ``"both"`` or ``"none"``.
        n_classes_aux: logits of an auxiliary-classifier head on the summed features (0: none).
        mbstd_group: group size of a minibatch-std channel before the score (0: none).
        level_features: also score each input's level per channel (half the log of its mean square)
            and the spread of that level within its minibatch-std group, so that a critic can tell a
            generator whose clips are all equally loud (needs ``mbstd_group``).

    Shape:
        ``x`` ``(batch, *shape)``, ``c`` ``(batch, c_dim)`` -> ``(batch,)`` [and ``(batch, n_classes_aux)``].
    """

    def __init__(self, *, c_dim: int = 0, shape: Sequence[int] = (1, 64, 64),
                 channels: Sequence[int] = (16, 32, 64, 128),
                 conditioning: Literal["concat", "projection", "both", "none"] = "concat", n_classes_aux: int = 0,
                 mbstd_group: int = 0, level_features: bool = False):
        super().__init__()
        check_choice("conditioning", conditioning, ("concat", "projection", "both", "none"))
        factor = 2 ** len(channels)
        self.shape = tuple(int(v) for v in shape)
        if len(self.shape) != 3 or not channels or self.shape[1] % factor or self.shape[2] % factor:
            raise ParameterError(f"shape {list(shape)} must be (channels, freq, frames) with freq and frames "
                             f"multiples of 2**len(channels) = {factor}")
        if c_dim < 0 or n_classes_aux < 0 or mbstd_group < 0:
            raise ParameterError(f"c_dim, n_classes_aux and mbstd_group must be >= 0; got {c_dim}, "
                             f"{n_classes_aux}, {mbstd_group}")
        if level_features and not mbstd_group:
            raise ParameterError("level_features needs mbstd_group >= 1: the level's spread is taken over those groups")
        self.c_dim = c_dim
        self.conditioning = conditioning if c_dim else "none"
        maps = c_dim if self.conditioning in ("concat", "both") else 0
        layers: list[nn.Module] = []
        ch_in = self.shape[0] + maps
        for ch in channels:
            layers += [spectral_norm(nn.Conv2d(ch_in, ch, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True)]
            ch_in = ch
        self.body = nn.Sequential(*layers)
        self.minibatch_std = MinibatchStd(mbstd_group) if mbstd_group else None
        cells = (self.shape[1] // factor) * (self.shape[2] // factor)
        self.level_std = MinibatchStd(mbstd_group) if level_features else None
        levels = self.shape[0] + 1 if level_features else 0  # a level per channel, and their spread
        self.score = spectral_norm(nn.Linear((ch_in + bool(mbstd_group)) * cells + levels, 1))
        self.embed = spectral_norm(nn.Linear(c_dim, ch_in, bias=False)) if self.conditioning in (
            "projection", "both") else None
        self.classifier = nn.Linear(ch_in, n_classes_aux) if n_classes_aux else None

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> Critique:
        assert_shape(x, [None, *self.shape])
        assert_shape(c, [x.shape[0], self.c_dim])
        inputs = append_condition_maps(x, c) if self.conditioning in ("concat", "both") else x
        h = self.body(inputs)
        scored = (self.minibatch_std(h) if self.minibatch_std is not None else h).flatten(1)
        if self.level_std is not None:
            level = 0.5 * torch.log(x.float().square().mean(dim=(2, 3)) + 1e-6)  # (batch, channels)
            scored = torch.cat([scored, self.level_std(level).to(scored.dtype)], dim=1)
        score = self.score(scored).squeeze(1)
        pooled = h.sum(dim=(2, 3))
        if self.embed is not None:
            score = score + (self.embed(c.to(x.dtype)) * pooled).sum(dim=1)
        if self.classifier is not None:
            return Critique(score, self.classifier(pooled))
        return Critique(score)
