"""Layers shared by the models: conditioning maps, minibatch standard deviation, pixel norm and
equalised-learning-rate convolutions (Karras et al. 2018)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from audiofeat.exceptions import ParameterError

__all__ = ["Critique", "EqualizedConv2d", "EqualizedLinear", "MinibatchStd", "PixelNorm", "append_condition_maps"]


class Critique(NamedTuple):
    """What every discriminator returns: scores ``(batch,)`` and, with an auxiliary classifier head,
    class logits ``(batch, n_classes)`` (else ``None``)."""

    score: torch.Tensor
    logits: torch.Tensor | None = None


def append_condition_maps(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Concatenates ``c`` ``(batch, c_dim)`` to ``x`` ``(batch, ch, h, w)`` as ``c_dim`` constant maps."""
    if c.shape[1] == 0:
        return x
    maps = c[:, :, None, None].to(x.dtype).expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, maps], dim=1)


class PixelNorm(nn.Module):
    """Normalises each position's feature vector to unit RMS over channels (dim 1)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


class MinibatchStd(nn.Module):
    """Appends one channel: the standard deviation across a group of the batch, averaged over
    features and positions (ProGAN). Groups of ``group_size`` examples (or the whole batch when it is
    not divisible) keep the statistic meaningful on one device, unlike MP3net's cross-TPU version."""

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g = self.group_size if b % self.group_size == 0 else b
        y = x.float().reshape(g, -1, *x.shape[1:])                       # (g, b/g, ...)
        std = (y.var(dim=0, unbiased=False) + self.eps).sqrt()          # (b/g, ...)
        std = std.flatten(1).mean(dim=1)                                 # (b/g,)
        std = std.repeat(g).to(x.dtype)                                  # (b,) matching reshape order
        maps = std[:, None, None, None].expand(b, 1, *x.shape[2:]) if x.dim() == 4 else std[:, None]
        return torch.cat([x, maps], dim=1)


class EqualizedConv2d(nn.Module):
    """Conv2d whose weights are N(0, 1) and scaled at run time by He's constant sqrt(2 / fan_in)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 padding: int | tuple[int, int] | str = 0, gain: float = math.sqrt(2)):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kh, kw))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kh * kw)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear layer with run-time He scaling (see :class:`EqualizedConv2d`)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


__all__ += ["LabelEmbedding", "embed_labels"]


def embed_labels(c: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Maps label vectors ``c`` ``(batch, c_dim)`` to ``c @ weight`` ``(batch, embed_dim)``.

    With ``weight`` ``(c_dim, embed_dim)``, a one-hot ``c`` selects one row (an ``nn.Embedding``
    lookup) and a multi-hot ``c`` sums the selected rows.
    """
    return torch.matmul(c.to(weight.dtype), weight)


class LabelEmbedding(nn.Module):
    """Bias-free learned embedding of label vectors (:func:`embed_labels`), rows drawn from N(0, 1)
    like ``nn.Embedding``.

    When ``c`` is the concatenation of a class one-hot and a subclass one-hot, the output is exactly
    the sum of a class embedding and a subclass embedding.

    Shape:
        ``(batch, c_dim)`` -> ``(batch, embed_dim)``.
    """

    def __init__(self, c_dim: int, embed_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_dim, embed_dim))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return embed_labels(c, self.weight)


__all__ += ["assert_shape"]


def assert_shape(tensor: torch.Tensor, shape: Sequence[int | None]) -> None:
    """Checks ``tensor.shape`` against ``shape``, where ``None`` matches any size (StyleGAN's
    ``misc.assert_shape``); used at the block edges of the models.

    Raises:
        AssertionError: the number of dimensions or a size differs; the message gives both shapes.
    """
    mismatch = any(want is not None and have != want for have, want in zip(tensor.shape, shape))
    if tensor.dim() != len(shape) or mismatch:
        expected = ", ".join("*" if want is None else str(want) for want in shape)
        raise AssertionError(f"expected shape ({expected}), got {tuple(tensor.shape)}")


__all__ += ["check_choice", "check_geometry"]


def check_geometry(shape: Sequence[int], channels: Sequence[int], start: Sequence[int]
                   ) -> tuple[tuple[int, int, int], tuple[int, ...], tuple[int, int]]:
    """Checks that ``shape[1:] == start * 2**(len(channels) - 1)`` (networks that double both sides per
    width); returns the three as int tuples.

    Raises:
        ValueError: the sizes do not fit; the message proposes a ``start`` when one would.
    """
    shape_t = tuple(int(v) for v in shape)
    channels_t = tuple(int(v) for v in channels)
    start_t = tuple(int(v) for v in start)
    if len(shape_t) != 3 or min(shape_t) < 1:
        raise ParameterError(f"shape must be (channels, freq, frames) with positive sizes, got {list(shape)}")
    if not channels_t or min(channels_t) < 1:
        raise ParameterError(f"channels must list at least one positive width, got {list(channels)}")
    if len(start_t) != 2 or min(start_t) < 1:
        raise ParameterError(f"start must be (freq, frames) with positive sizes, got {list(start)}")
    factor = 2 ** (len(channels_t) - 1)
    if shape_t[1:] != (start_t[0] * factor, start_t[1] * factor):
        hint = ""
        if shape_t[1] % factor == 0 and shape_t[2] % factor == 0:
            hint = f"; with these channels use start = [{shape_t[1] // factor}, {shape_t[2] // factor}]"
        raise ParameterError(f"shape {list(shape_t)} does not match start {list(start_t)} and {len(channels_t)} "
                         f"resolutions: (freq, frames) must be start * 2**(len(channels) - 1) = "
                         f"({start_t[0] * factor}, {start_t[1] * factor}){hint}")
    return shape_t, channels_t, start_t  # type: ignore[return-value]


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raises ValueError naming ``name`` when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
