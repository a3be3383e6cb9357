"""GANSynth (Engel et al. 2019): a progressive GAN (Karras et al. 2018) for spectrograms.

Tensors are ``(batch, channels, freq, frames)``: e.g. log-magnitude and instantaneous frequency of
4-s clips in GANSynth's "+H" layout are ``(2, 1024, 128)`` (the paper writes time x freq = 128 x 1024).
``channels`` lists the feature widths from the start resolution up; block ``i`` works at
``start * 2**i`` (both axes), so ``shape[1:] == start * 2**(len(channels) - 1)``.

Generator: ``[z, cond(c)]`` -> pixel norm -> a 1x1 map, zero-padded and convolved with a kernel of
the start size (an output of exactly ``start``) -> 3x3 conv; each further block is nearest x2
upsampling -> 3x3 conv -> 3x3 conv. Every conv is equalised-LR + LeakyReLU(0.2) + pixel norm.
``to_rgb`` is a 1x1 equalised conv to ``shape[0]`` channels with tanh.

Discriminator (mirror): ``from_rgb`` 1x1 conv + LeakyReLU; each block 3x3 conv (width of its
resolution) -> 3x3 conv (width of the next lower resolution) -> 2x2 average pooling, LeakyReLU(0.2),
no normalisation; at the start resolution minibatch standard deviation (one channel) -> 3x3 conv ->
conv with the start-size kernel (to 1x1) -> features ``h`` -> a linear score, optionally plus a
projection term and an auxiliary-classifier head.

Progressive growing (``progressive=True``) uses ProGAN's linear fade: at ``stage`` s with fade
``alpha``, G's output is ``alpha * to_rgb_s(h_s) + (1 - alpha) * up2(to_rgb_{s-1}(h_{s-1}))``
nearest-upsampled to the full size, and D averages its input down to resolution s and blends
``alpha * block_s(from_rgb_s(x_s)) + (1 - alpha) * from_rgb_{s-1}(pool2(x_s))``. GANSynth mixes the
upsampled outputs of all blocks with triangular weights in the continuous progress; those weights
are non-zero for at most two adjacent blocks, so the mixture is the same, but here only the active
blocks run. :func:`gansynth_zoo.training.progressive.progress_at` gives GANSynth's schedule in images seen.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from audiofeat.exceptions import ParameterError
from gansynth_zoo.nn.layers import (
    Critique,
    EqualizedConv2d,
    EqualizedLinear,
    LabelEmbedding,
    MinibatchStd,
    PixelNorm,
    append_condition_maps,
    assert_shape,
    check_choice,
    check_geometry,
)

__all__ = ["Discriminator", "Generator"]


class _ConvLayer(nn.Module):
    """Equalised-LR conv -> LeakyReLU(0.2) -> optional pixel norm.

    Shape:
        ``(batch, in_channels, f, t)`` -> ``(batch, out_channels, f', t')`` (``f' = f``, ``t' = t`` for
        3x3 kernels with padding 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 padding: int | tuple[int, int], pixel_norm: bool):
        super().__init__()
        self.conv = EqualizedConv2d(in_channels, out_channels, kernel_size, padding=padding)
        self.norm = PixelNorm() if pixel_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.leaky_relu(self.conv(x), 0.2))


class _Progress(nn.Module):
    """The (stage, alpha) state shared by both networks, kept in buffers so that checkpoints and the
    generator's EMA copy (whose buffers follow the model's) carry it. A progressive model reads them
    once per forward (on CUDA, one small device-to-host copy)."""

    n_blocks: int
    progressive: bool
    stage: torch.Tensor  # buffers, registered only for a progressive model
    alpha: torch.Tensor

    def _init_progress(self, n_blocks: int, progressive: bool) -> None:
        self.n_blocks, self.progressive = n_blocks, progressive
        if progressive:
            self.register_buffer("stage", torch.tensor(n_blocks - 1, dtype=torch.int64))
            self.register_buffer("alpha", torch.tensor(1.0))

    def set_progress(self, stage: int, alpha: float = 1.0) -> None:
        """Selects the highest active block ``stage`` (0 ... ``n_blocks - 1``) and its fade-in
        ``alpha`` in [0, 1] (1: fully faded in; stage 0 has nothing to fade from, so alpha must be 1).
        A new progressive model starts at ``(n_blocks - 1, 1.0)``, the full network.

        Raises:
            ValueError: a non-progressive model, or stage/alpha out of range.
        """
        if not self.progressive:
            raise ParameterError("set_progress needs a model built with progressive=True")
        if not 0 <= stage < self.n_blocks or not 0.0 <= alpha <= 1.0 or (stage == 0 and alpha != 1.0):
            raise ParameterError(f"stage must be in [0, {self.n_blocks - 1}] and alpha in [0, 1] (1 at stage 0); "
                             f"got stage={stage}, alpha={alpha}")
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def progress(self) -> tuple[int, float]:
        """The current ``(stage, alpha)``; ``(n_blocks - 1, 1.0)`` for a non-progressive model."""
        if not self.progressive:
            return self.n_blocks - 1, 1.0
        return int(self.stage), float(self.alpha)


class Generator(_Progress):
    """``G(z, c)`` -> spectrograms ``(batch, *shape)`` in [-1, 1].

    Args:
        z_dim: latent size (GANSynth: 256).
        c_dim: size of the conditioning vector ``c`` (0: unconditional).
        shape: output ``(channels, freq, frames)``; ``(2, 1024, 128)`` is GANSynth's "+H" layout.
        channels: width of each block from the start resolution up (GANSynth +H:
            256, 256, 256, 256, 128, 64, 32).
        start: ``(freq, frames)`` of the first block; ``shape[1:]`` must be
            ``start * 2**(len(channels) - 1)``.
        conditioning: how ``c`` joins ``z``: ``"concat"`` appends ``c`` itself (GANSynth's one-hot
            pitch); ``"embedding"`` appends a learned bias-free linear projection of ``c`` to
            ``embed_dim`` (:class:`~gansynth_zoo.nn.layers.LabelEmbedding`). Since ``c`` is a class
            one-hot concatenated with a subclass one-hot, that projection is exactly the sum of a class
            embedding and a subclass embedding. Ignored when ``c_dim = 0``.
        embed_dim: size of the embedding for ``conditioning = "embedding"`` (> 0).
        progressive: one ``to_rgb`` per block and a fade-in driven by :meth:`set_progress` (module
            docstring); ``False`` keeps only the last ``to_rgb``.

    Shape:
        ``z`` ``(batch, z_dim)``, ``c`` ``(batch, c_dim)`` -> ``(batch, *shape)``.

    Raises:
        ValueError: inconsistent geometry or an unknown option (constructor).
        AssertionError: inputs of other shapes (forward, :func:`~gansynth_zoo.nn.layers.assert_shape`).
    """

    def __init__(self, *, z_dim: int = 256, c_dim: int = 0, shape: Sequence[int] = (2, 1024, 128),
                 channels: Sequence[int] = (256, 256, 256, 256, 128, 64, 32), start: Sequence[int] = (16, 2),
                 conditioning: Literal["concat", "embedding"] = "concat", embed_dim: int = 32,
                 progressive: bool = False):
        super().__init__()
        self.shape, ch, (kf, kt) = check_geometry(shape, channels, start)
        check_choice("conditioning", conditioning, ("concat", "embedding"))
        if z_dim < 1 or c_dim < 0 or embed_dim < 1:
            raise ParameterError(f"z_dim > 0, c_dim >= 0 and embed_dim > 0 are required; got {z_dim}, {c_dim}, "
                             f"{embed_dim}")
        self.z_dim, self.c_dim = z_dim, c_dim
        self._init_progress(len(ch), progressive)
        self.embed = LabelEmbedding(c_dim, embed_dim) if c_dim and conditioning == "embedding" else None
        in_dim = z_dim + (embed_dim if self.embed is not None else c_dim)
        self.pixel_norm = PixelNorm()
        blocks = [nn.Sequential(_ConvLayer(in_dim, ch[0], (kf, kt), (kf - 1, kt - 1), pixel_norm=True),
                                _ConvLayer(ch[0], ch[0], 3, 1, pixel_norm=True))]
        for i in range(1, len(ch)):
            blocks.append(nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"),
                                        _ConvLayer(ch[i - 1], ch[i], 3, 1, pixel_norm=True),
                                        _ConvLayer(ch[i], ch[i], 3, 1, pixel_norm=True)))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = EqualizedConv2d(ch[-1], self.shape[0], 1, gain=1.0)
        self.lower_to_rgb = nn.ModuleList(EqualizedConv2d(w, self.shape[0], 1, gain=1.0) for w in ch[:-1]) \
            if progressive else None

    def _rgb(self, index: int, h: torch.Tensor) -> torch.Tensor:
        layer = self.to_rgb if index == self.n_blocks - 1 else self.lower_to_rgb[index]  # type: ignore[index]
        return torch.tanh(layer(h))

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        assert_shape(z, [None, self.z_dim])
        assert_shape(c, [z.shape[0], self.c_dim])
        cond = c if self.embed is None else self.embed(c)
        h = self.pixel_norm(torch.cat([z, cond.to(z.dtype)], dim=1))[:, :, None, None]
        stage, alpha = self.progress()
        previous = h
        for block in self.blocks[:stage + 1]:
            previous, h = h, block(h)
        out = self._rgb(stage, h)
        if alpha < 1.0:
            lower = F.interpolate(self._rgb(stage - 1, previous), scale_factor=2.0, mode="nearest")
            out = torch.lerp(lower, out, alpha)
        if stage < self.n_blocks - 1:
            out = F.interpolate(out, size=self.shape[1:], mode="nearest")
        return out


class Discriminator(_Progress):
    """``D(x, c)`` -> :class:`Critique`: scores ``(batch,)`` (critic values or logits, depending on the
    loss), and class logits with an auxiliary classifier.

    Args:
        c_dim: size of the conditioning vector ``c`` (0: unconditional, whatever ``conditioning`` says).
        shape: input ``(channels, freq, frames)``.
        channels: width of each resolution from the start resolution up, as for the generator, so the
            same list mirrors it (block ``i`` convolves at ``channels[i]`` and hands ``channels[i - 1]``
            down).
        start: ``(freq, frames)`` of the last block; ``shape[1:]`` must be
            ``start * 2**(len(channels) - 1)``.
        conditioning: ``"concat"``: ``c`` appended to the input as constant maps; ``"embedding"``: a
            learned bias-free projection of ``c`` to ``embed_dim`` appended as maps; ``"projection"``:
            projection discriminator (Miyato and Koyama 2018), ``score += <embed(c), h> / sqrt(dim h)``
            with ``h`` the final features (scaled like the equalised score layer); ``"none"``: ``c`` is
            ignored (GANSynth, which conditions D only through the classifier head).
        embed_dim: maps for ``conditioning = "embedding"`` (> 0).
        n_classes_aux: logits of the auxiliary-classifier head (AC-GAN; 0: no head). The trainer's
            cross-entropy target is the subclass index, so this is the number of subclasses.
        mbstd_group: group size of the minibatch standard deviation (the whole batch when it does not
            divide it).
        progressive: one ``from_rgb`` per resolution on average-pooled inputs and a linear fade driven
            by :meth:`set_progress` (module docstring).

    Shape:
        ``x`` ``(batch, *shape)``, ``c`` ``(batch, c_dim)`` -> ``(batch,)`` and, if
        ``n_classes_aux > 0``, ``(batch, n_classes_aux)``.

    Raises:
        ValueError: inconsistent geometry or an unknown option (constructor).
        AssertionError: inputs of other shapes (forward, :func:`~gansynth_zoo.nn.layers.assert_shape`).
    """

    def __init__(self, *, c_dim: int = 0, shape: Sequence[int] = (2, 1024, 128),
                 channels: Sequence[int] = (256, 256, 256, 256, 128, 64, 32), start: Sequence[int] = (16, 2),
                 conditioning: Literal["concat", "embedding", "projection", "none"] = "concat",
                 embed_dim: int = 32, n_classes_aux: int = 0, mbstd_group: int = 4,
                 progressive: bool = False):
        super().__init__()
        self.shape, ch, (kf, kt) = check_geometry(shape, channels, start)
        check_choice("conditioning", conditioning, ("concat", "embedding", "projection", "none"))
        if c_dim < 0 or embed_dim < 1 or n_classes_aux < 0 or mbstd_group < 1:
            raise ParameterError(f"c_dim >= 0, embed_dim > 0, n_classes_aux >= 0 and mbstd_group > 0 are "
                             f"required; got {c_dim}, {embed_dim}, {n_classes_aux}, {mbstd_group}")
        self.c_dim = c_dim
        self.conditioning = conditioning if c_dim else "none"
        self._init_progress(len(ch), progressive)
        self.embed = (LabelEmbedding(c_dim, embed_dim) if self.conditioning == "embedding" else
                      LabelEmbedding(c_dim, ch[0]) if self.conditioning == "projection" else None)
        in_channels = self.shape[0] + {"concat": c_dim, "embedding": embed_dim}.get(self.conditioning, 0)
        self.from_rgb = _ConvLayer(in_channels, ch[-1], 1, 0, pixel_norm=False)
        self.lower_from_rgb = nn.ModuleList(_ConvLayer(in_channels, w, 1, 0, pixel_norm=False)
                                            for w in ch[:-1]) if progressive else None
        blocks = [nn.Sequential(MinibatchStd(mbstd_group),
                                _ConvLayer(ch[0] + 1, ch[0], 3, 1, pixel_norm=False),
                                _ConvLayer(ch[0], ch[0], (kf, kt), 0, pixel_norm=False),
                                nn.Flatten())]
        for i in range(1, len(ch)):
            blocks.append(nn.Sequential(_ConvLayer(ch[i], ch[i], 3, 1, pixel_norm=False),
                                        _ConvLayer(ch[i], ch[i - 1], 3, 1, pixel_norm=False),
                                        nn.AvgPool2d(2)))
        self.blocks = nn.ModuleList(blocks)  # blocks[i] maps resolution i to i - 1 (blocks[0]: to features)
        self.score = EqualizedLinear(ch[0], 1, gain=1.0)
        self.classifier = EqualizedLinear(ch[0], n_classes_aux, gain=1.0) if n_classes_aux else None

    def _condition_maps(self, c: torch.Tensor) -> torch.Tensor:
        """What is appended to the input as constant maps: ``(batch, 0 | c_dim | embed_dim)``."""
        if self.conditioning == "concat":
            return c
        if self.conditioning == "embedding":
            return self.embed(c)  # type: ignore[misc]
        return c[:, :0]

    def _from_rgb(self, index: int, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        top = index == self.n_blocks - 1
        layer = self.from_rgb if top else self.lower_from_rgb[index]  # type: ignore[index]
        return layer(append_condition_maps(x, maps))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> Critique:
        assert_shape(x, [None, *self.shape])
        assert_shape(c, [x.shape[0], self.c_dim])
        maps = self._condition_maps(c)
        stage, alpha = self.progress()
        if stage < self.n_blocks - 1:
            x = F.avg_pool2d(x, 2 ** (self.n_blocks - 1 - stage))
        h = self.blocks[stage](self._from_rgb(stage, x, maps))
        if alpha < 1.0:
            h = torch.lerp(self._from_rgb(stage - 1, F.avg_pool2d(x, 2), maps), h, alpha)
        for i in range(stage - 1, -1, -1):
            h = self.blocks[i](h)
        score = self.score(h).squeeze(1)
        if self.conditioning == "projection":
            score = score + (self.embed(c) * h).sum(dim=1) / math.sqrt(h.shape[1])  # type: ignore[misc]
        if self.classifier is not None:
            return Critique(score, self.classifier(h))
        return Critique(score)
