"""MP3net (van den Broek 2021): a plain convolutional WGAN-GP on MP3net-scale MDCT frames.

Both networks work on ``(batch, channels, n_bins, frames)`` MDCT amplitudes (audiofeat's
``(..., freq, frames)`` layout; ``channels = 2`` for stereo), written after the MP3net paper
(van den Broek 2021), section 3. Every block changes time by 4 and frequency by an octave:

- **Generator.** ``Dense(z_dim -> C0 * F0 * T0)``, reshape to ``(C0, F0, T0)``, LeakyReLU, then
  ``n_blocks`` G-blocks (frames x4, bins x2), a 1x1 convolution to ``channels`` and a float32 tanh.
  A G-block with ``(in, mid, out)`` channels takes the *high path* on the top half of the bins
  (ConvT(mid, stride 2 in time and frequency), ConvT(mid), 1x1) and the *low path* on all bins
  (ConvT(mid, stride 2 in time), ConvT(mid), 1x1), concatenates them along frequency (low bins
  first: the high path has become the new top octave), then applies ConvT(out, stride 2 in time)
  and ConvT(out). The 1x1 layers without activation are the octave-balancing layers.
- **Discriminator.** A 1x1 "from input" convolution and LeakyReLU, ``n_blocks`` D-blocks (frames
  /4, bins /2), then a minibatch standard deviation channel, flatten, Dense(C0), LeakyReLU and a
  float32 Dense(1): a linear critic. A D-block with ``(in, mid, out)`` channels applies Conv(in),
  Conv(mid, stride 2 in time), splits the bins in halves, takes the *high* half through Conv(mid),
  Conv(out, stride 2 in time and frequency), 1x1 and the *low* half through Conv(mid),
  Conv(out, stride 2 in time), 1x1, and adds the high result onto the upper half of the low result
  (the top octave is folded back, zero-padded on its low side).

All kernels are 3x3 except the 1x1 layers; every activation is LeakyReLU(0.2); there is no
normalisation layer; weights are Glorot-uniform with zero biases (Keras' defaults).

Channels (:func:`channel_schedule`). Generator block ``i = 0 .. n_blocks - 1`` (deep to shallow) has
``(in, mid, out) = (4 b, 2 b, b)`` with ``b = channels_base * 4^(n_blocks - 1 - i)``, each capped at
``channels_max``; the discriminator's blocks mirror them, shallow to deep, with ``(out, mid, in)``.
``C0`` is the deepest width (512). The start grid is ``F0 = n_bins / 2^n_blocks`` bins by
``T0 = frames / 4^n_blocks`` frames, so the geometry follows from ``shape`` and ``n_blocks``:

- 95 s model (paper): ``shape = (2, 128, 16384)``, 6 blocks, ``channels_base = 16``, start ``(512, 2, 4)``.
- 5 s model (paper): ``shape = (2, 128, 1024)``, 5 blocks, ``channels_base = 128``, start ``(512, 4, 1)``.

Shapes are asserted at every block edge (:func:`assert_shape`); the expected ones are in the
``edges`` attribute of both networks.

Data. A cache window of ``L = 128 * frames`` samples has ``frames + 1`` MDCT frames
(``mdct(..., norm="mp3net")``); the run configs keep the first ``frames`` (``data.frames``).
Training adds MP3net's psychoacoustic noise to every critic input
(:class:`gansynth_zoo.nn.psychoacoustic.PsychoacousticNoise`, ``loss.psychoacoustic_noise``).

Unlike the paper, tensors are NCHW and padding is PyTorch's symmetric padding; the minibatch
standard deviation is ProGAN's grouped version (:class:`MinibatchStd`) after the last block;
``checkpoint=True`` recomputes each block's activations in the backward pass to save memory.
Unconditional only, like MP3net: ``c_dim`` must be 0 (``c`` is the empty ``(batch, 0)`` tensor).
Parameter counts, design notes and deviations from the paper: docs/models.md.

References:
    K. van den Broek, "MP3net: coherent, minute-long music generation from raw audio with a simple
    convolutional GAN", arXiv:2101.04785, 2021.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint as _checkpoint

from audiofeat.exceptions import ParameterError
from gansynth_zoo.nn.layers import Critique, MinibatchStd, assert_shape

__all__ = ["Discriminator", "DiscriminatorBlock", "Generator", "GeneratorBlock", "channel_schedule"]

_SLOPE = 0.2


def channel_schedule(n_blocks: int = 6, channels_base: int = 16,
                     channels_max: int = 512) -> list[tuple[int, int, int]]:
    """The generator's ``(in, mid, out)`` channels per block, deepest first.

    Block ``i`` has ``(4 b, 2 b, b)`` with ``b = channels_base * 4^(n_blocks - 1 - i)``, each capped
    at ``channels_max``; the discriminator uses the blocks in reverse order as ``(out, mid, in)``.

    Args:
        n_blocks: number of blocks (default 6, the 95 s model).
        channels_base: ``out`` of the shallowest block (default 16).
        channels_max: cap on every width (default 512).

    Returns:
        ``n_blocks`` triples; block ``i``'s ``in`` is block ``i - 1``'s ``out``.

    Raises:
        ValueError: a non-positive argument.
    """
    if n_blocks < 1 or channels_base < 1 or channels_max < 1:
        raise ParameterError(f"n_blocks, channels_base and channels_max must be positive, got "
                         f"{n_blocks}, {channels_base}, {channels_max}")
    schedule = []
    for i in range(n_blocks):
        b = channels_base * 4 ** (n_blocks - 1 - i)
        schedule.append((min(4 * b, channels_max), min(2 * b, channels_max), min(b, channels_max)))
    return schedule


def _geometry(shape: Sequence[int], n_blocks: int) -> tuple[tuple[int, int, int], int, int]:
    """``(channels, n_bins, frames)`` and the start grid ``(F0, T0)``, validated."""
    if len(shape) != 3 or any(int(s) != s or s < 1 for s in shape):
        raise ParameterError(f"shape must be (channels, n_bins, frames) of positive integers, got {tuple(shape)}")
    channels, n_bins, frames = (int(s) for s in shape)
    if n_blocks < 1:
        raise ParameterError(f"n_blocks must be positive, got {n_blocks}")
    if n_bins % 2 ** (n_blocks + 1):
        raise ParameterError(f"shape {tuple(shape)}: n_bins = {n_bins} must be a multiple of 2^(n_blocks + 1) = "
                         f"{2 ** (n_blocks + 1)} for n_blocks = {n_blocks} (every block adds an octave and "
                         f"splits an even number of bins)")
    if frames % 4 ** n_blocks:
        raise ParameterError(f"shape {tuple(shape)}: frames = {frames} must be a multiple of 4^n_blocks = "
                         f"{4 ** n_blocks} for n_blocks = {n_blocks} (every block multiplies time by 4)")
    return (channels, n_bins, frames), n_bins >> n_blocks, frames // 4 ** n_blocks


def _check_unconditional(c_dim: int) -> None:
    if c_dim != 0:
        raise ParameterError(f"MP3net is unconditional: c_dim must be 0, got {c_dim} "
                         "(set model.conditional = false)")


def _conv(in_channels: int, out_channels: int, stride: tuple[int, int] = (1, 1)) -> nn.Conv2d:
    """3x3 convolution, ``stride`` as ``(freq, time)``; halves the strided axes."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


def _conv_t(in_channels: int, out_channels: int, stride: tuple[int, int] = (1, 1)) -> nn.ConvTranspose2d:
    """3x3 transposed convolution, ``stride`` as ``(freq, time)``; doubles the strided axes."""
    return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=stride, padding=1,
                              output_padding=(stride[0] - 1, stride[1] - 1))


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(_SLOPE)


def _init_glorot(module: nn.Module) -> None:
    """Keras' defaults: Glorot-uniform weights (symmetric in fan-in and fan-out), zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            assert m.bias is not None  # every layer of both networks is built with a bias
            nn.init.zeros_(m.bias)


def _float32_region(device: torch.device) -> contextlib.AbstractContextManager:
    """Disables autocast (when the device has one) so that the enclosed ops run in float32."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def _run(block: nn.Module, x: torch.Tensor, checkpoint: bool) -> torch.Tensor:
    if checkpoint and torch.is_grad_enabled():
        return _checkpoint(block, x, use_reentrant=False)
    return block(x)


class _DenseStart(nn.Module):
    """``Dense(z_dim -> C0 F0 T0)``, reshape to ``(C0, F0, T0)``, LeakyReLU."""

    def __init__(self, z_dim: int, start: tuple[int, int, int]):
        super().__init__()
        self.start = start
        self.dense = nn.Linear(z_dim, start[0] * start[1] * start[2])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.dense(z).view(-1, *self.start), _SLOPE)


class GeneratorBlock(nn.Module):
    """Frames x4 and bins x2: the top half of the bins becomes a new octave (module docstring).

    Shape:
        ``(batch, in, F, T)`` -> ``(batch, out, 2 F, 4 T)``, ``F`` even.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int):
        super().__init__()
        self.high = nn.Sequential(_conv_t(in_channels, mid_channels, (2, 2)), _lrelu(),
                                  _conv_t(mid_channels, mid_channels), _lrelu(),
                                  nn.Conv2d(mid_channels, mid_channels, 1))
        self.low = nn.Sequential(_conv_t(in_channels, mid_channels, (1, 2)), _lrelu(),
                                 _conv_t(mid_channels, mid_channels), _lrelu(),
                                 nn.Conv2d(mid_channels, mid_channels, 1))
        self.merge = nn.Sequential(_conv_t(mid_channels, out_channels, (1, 2)), _lrelu(),
                                   _conv_t(out_channels, out_channels), _lrelu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top_octave = x[:, :, x.shape[2] // 2:]
        return self.merge(torch.cat([self.low(x), self.high(top_octave)], dim=2))


class DiscriminatorBlock(nn.Module):
    """Frames /4 and bins /2: the top octave is downsampled and folded onto the one below it.

    Shape:
        ``(batch, in, F, T)`` -> ``(batch, out, F / 2, T / 4)``, ``F`` and ``T`` multiples of 4.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int):
        super().__init__()
        self.entry = nn.Sequential(_conv(in_channels, in_channels), _lrelu(),
                                   _conv(in_channels, mid_channels, (1, 2)), _lrelu())
        self.high = nn.Sequential(_conv(mid_channels, mid_channels), _lrelu(),
                                  _conv(mid_channels, out_channels, (2, 2)), _lrelu(),
                                  nn.Conv2d(out_channels, out_channels, 1))
        self.low = nn.Sequential(_conv(mid_channels, mid_channels), _lrelu(),
                                 _conv(mid_channels, out_channels, (1, 2)), _lrelu(),
                                 nn.Conv2d(out_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.entry(x)
        half = h.shape[2] // 2
        low = self.low(h[:, :, :half])                         # (batch, out, F/2, T/4)
        high = self.high(h[:, :, half:])                       # (batch, out, F/4, T/4)
        return low + F.pad(high, (0, 0, low.shape[2] - high.shape[2], 0))


class _CriticHead(nn.Module):
    """Minibatch stddev, flatten, Dense(C0), LeakyReLU, then a float32 Dense(1)."""

    def __init__(self, start: tuple[int, int, int], group_size: int):
        super().__init__()
        c0, f0, t0 = start
        self.minibatch_std = MinibatchStd(group_size)
        self.dense = nn.Linear((c0 + 1) * f0 * t0, c0)
        self.score = nn.Linear(c0, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.dense(self.minibatch_std(h).flatten(1)), _SLOPE)
        with _float32_region(h.device):
            return self.score(h.float()).squeeze(1)


class Generator(nn.Module):
    """``G(z, c)`` -> MDCT amplitudes ``(batch, channels, n_bins, frames)`` in (-1, 1), float32.

    Args:
        z_dim: latent size (default 512).
        c_dim: must be 0 (MP3net is unconditional).
        shape: ``(channels, n_bins, frames)`` of one output (default ``(2, 128, 16384)``: 95.25 s of
            stereo at 22,016 Hz); ``n_bins`` a multiple of ``2^(n_blocks + 1)``, ``frames`` of
            ``4^n_blocks``.
        n_blocks: number of G-blocks (default 6).
        channels_base: output width of the shallowest block (default 16).
        channels_max: cap on every width (default 512).
        checkpoint: recompute each block's activations in the backward pass (saves memory).

    Raises:
        ValueError: ``c_dim != 0`` or a geometry the blocks cannot produce.

    Shape:
        ``z`` ``(batch, z_dim)``, ``c`` ``(batch, 0)`` -> ``(batch, *shape)``.
    """

    def __init__(self, *, z_dim: int = 512, c_dim: int = 0, shape: Sequence[int] = (2, 128, 16384),
                 n_blocks: int = 6, channels_base: int = 16, channels_max: int = 512,
                 checkpoint: bool = False):
        super().__init__()
        _check_unconditional(c_dim)
        self.z_dim, self.c_dim, self.checkpoint = z_dim, c_dim, checkpoint
        self.shape, f0, t0 = _geometry(shape, n_blocks)
        schedule = channel_schedule(n_blocks, channels_base, channels_max)
        #: ``(channels, bins, frames)`` after the dense start, after each block and at the output.
        self.edges = [(schedule[0][0], f0, t0)]
        self.edges += [(out, f0 * 2 ** (i + 1), t0 * 4 ** (i + 1)) for i, (_, _, out) in enumerate(schedule)]
        self.edges.append(self.shape)
        self.start = _DenseStart(z_dim, self.edges[0])
        self.blocks = nn.ModuleList(GeneratorBlock(*channels) for channels in schedule)
        self.to_output = nn.Conv2d(schedule[-1][2], self.shape[0], 1)
        _init_glorot(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        assert_shape(z, [None, self.z_dim])
        x = self.start(z)
        assert_shape(x, [z.shape[0], *self.edges[0]])
        for block, edge in zip(self.blocks, self.edges[1:]):
            x = _run(block, x, self.checkpoint)
            assert_shape(x, [z.shape[0], *edge])
        return torch.tanh(self.to_output(x).float())


class Discriminator(nn.Module):
    """``D(x, c)`` -> :class:`Critique` of critic scores ``(batch,)``, float32 (linear, for WGAN-GP).

    Args:
        c_dim: must be 0 (MP3net is unconditional).
        shape: ``(channels, n_bins, frames)`` of one input (default ``(2, 128, 16384)``).
        n_blocks: number of D-blocks (default 6).
        channels_base: width after the "from input" layer (default 16).
        channels_max: cap on every width (default 512).
        mbstd_group: group size of the minibatch standard deviation (default 4; the whole
            batch when the batch is not divisible by it).
        checkpoint: recompute each block's activations in the backward pass (saves memory; works
            with the gradient penalty's double backward).

    Raises:
        ValueError: ``c_dim != 0`` or a geometry the blocks cannot reduce.

    Shape:
        ``x`` ``(batch, *shape)``, ``c`` ``(batch, 0)`` -> ``(batch,)``.
    """

    def __init__(self, *, c_dim: int = 0, shape: Sequence[int] = (2, 128, 16384), n_blocks: int = 6,
                 channels_base: int = 16, channels_max: int = 512, mbstd_group: int = 4,
                 checkpoint: bool = False):
        super().__init__()
        _check_unconditional(c_dim)
        if mbstd_group < 1:
            raise ParameterError(f"mbstd_group must be positive, got {mbstd_group}")
        self.c_dim, self.checkpoint = c_dim, checkpoint
        self.shape, f0, t0 = _geometry(shape, n_blocks)
        schedule = [(out, mid, in_) for in_, mid, out in reversed(channel_schedule(n_blocks, channels_base,
                                                                                   channels_max))]
        _, n_bins, frames = self.shape
        #: ``(channels, bins, frames)`` of the input, after the "from input" layer and after each block.
        self.edges = [self.shape, (schedule[0][0], n_bins, frames)]
        self.edges += [(out, n_bins >> (j + 1), frames // 4 ** (j + 1))
                       for j, (_, _, out) in enumerate(schedule)]
        self.from_input = nn.Sequential(nn.Conv2d(self.shape[0], schedule[0][0], 1), _lrelu())
        self.blocks = nn.ModuleList(DiscriminatorBlock(*channels) for channels in schedule)
        self.head = _CriticHead((schedule[-1][2], f0, t0), mbstd_group)
        _init_glorot(self)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> Critique:
        assert_shape(x, [None, *self.edges[0]])
        h = self.from_input(x)
        assert_shape(h, [x.shape[0], *self.edges[1]])
        for block, edge in zip(self.blocks, self.edges[2:]):
            h = _run(block, h, self.checkpoint)
            assert_shape(h, [x.shape[0], *edge])
        return Critique(self.head(h))
