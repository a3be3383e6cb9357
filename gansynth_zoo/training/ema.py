"""Exponential moving average of a model's weights (Karras et al. 2018; GANSynth uses decay 0.999).

The decay is warmed up as TensorFlow's ``ExponentialMovingAverage`` does with ``num_updates``
(:func:`ema_decay_at`), so that the average of a short run does not keep the random initial weights
(with a fixed 0.999, 0.999**1600 = 20 % of a 1,600-step run's average; docs/conditioning.md).
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` in eval mode, to be updated with :func:`update_ema`."""
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


def ema_decay_at(decay: float, step: int) -> float:
    """The decay used at update ``step`` (0-based): ``min(decay, (1 + step) / (10 + step))``, so the
    average forgets the first updates quickly and reaches ``decay`` after ``(10 decay - 1) / (1 - decay)``
    updates (8,991 for 0.999)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * model for parameters; buffers (e.g. batch-norm statistics) are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p.detach(), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
