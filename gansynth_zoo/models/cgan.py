"""Conditional GAN of Mirza and Osindero (2014): multilayer perceptrons with the label fed to both nets.

Generator: ``z`` and the one-hot ``c`` each go through their own ReLU layer (200 and 1000 units in
the paper), are concatenated and mapped by a hidden ReLU layer to the image through tanh (the paper
used a sigmoid output on [0, 1] images; our data are in [-1, 1]). Dropout 0.5 on the hidden layer.
Discriminator: maxout layers (Goodfellow et al. 2013) on ``x`` (240 units x 5 pieces) and on ``c``
(50 x 5), concatenated, a joint maxout layer (240 x 4), dropout 0.5, and a linear score (the paper's
sigmoid is part of the loss here).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from gansynth_zoo.nn.layers import Critique

__all__ = ["Discriminator", "Generator", "Maxout"]


class Maxout(nn.Module):
    """``units`` outputs, each the maximum of ``pieces`` affine functions of the input."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(dim=2)


class Generator(nn.Module):
    """``G(z, c)`` -> images ``(batch, *shape)`` in [-1, 1]."""

    def __init__(self, *, z_dim: int = 100, c_dim: int = 10, shape: Sequence[int] = (1, 28, 28),
                 z_units: int = 200, c_units: int = 1000, hidden: int = 1200, dropout: float = 0.5):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.shape = tuple(shape)
        self.z_branch = nn.Sequential(nn.Linear(z_dim, z_units), nn.ReLU(inplace=True))
        self.c_branch = nn.Sequential(nn.Linear(c_dim, c_units), nn.ReLU(inplace=True)) if c_dim else None
        joint = z_units + (c_units if c_dim else 0)
        self.body = nn.Sequential(nn.Linear(joint, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                  nn.Linear(hidden, math.prod(self.shape)), nn.Tanh())

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.z_branch(z)
        if self.c_branch is not None:
            h = torch.cat([h, self.c_branch(c.to(z.dtype))], dim=1)
        return self.body(h).view(-1, *self.shape)


class Discriminator(nn.Module):
    """``D(x, c)`` -> :class:`Critique` of scores ``(batch,)``."""

    def __init__(self, *, c_dim: int = 10, shape: Sequence[int] = (1, 28, 28), x_units: int = 240,
                 c_units: int = 50, joint_units: int = 240, pieces: int = 5, joint_pieces: int = 4,
                 dropout: float = 0.5):
        super().__init__()
        self.c_dim = c_dim
        self.x_branch = Maxout(math.prod(shape), x_units, pieces)
        self.c_branch = Maxout(c_dim, c_units, pieces) if c_dim else None
        joint = x_units + (c_units if c_dim else 0)
        self.body = nn.Sequential(nn.Dropout(dropout), Maxout(joint, joint_units, joint_pieces), nn.Dropout(dropout),
                                  nn.Linear(joint_units, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> Critique:
        h = self.x_branch(x.flatten(1))
        if self.c_branch is not None:
            h = torch.cat([h, self.c_branch(c.to(x.dtype))], dim=1)
        return Critique(self.body(h).squeeze(1))
