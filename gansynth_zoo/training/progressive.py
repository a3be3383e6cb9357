"""Progressive growing as the trainer sees it: a schedule in images seen, and the small protocol of a
network that grows.

A growing network has ``progressive = True``, ``n_blocks`` (its resolutions) and
``set_progress(stage, alpha)``: blocks ``0..stage`` run, and block ``stage`` fades in with weight
``alpha``. The trainer calls :func:`grow` on G and D before every step; any model can take part by
having those three members.
"""
from __future__ import annotations

from typing import Protocol, cast

from torch import nn

from audiofeat.exceptions import ParameterError

__all__ = ["grow", "progress_at"]


class _Growing(Protocol):
    """The members of a network that grows (module docstring)."""

    n_blocks: int

    def set_progress(self, stage: int, alpha: float = 1.0) -> None: ...


def progress_at(images: int, *, n_blocks: int, stable_images: int = 800_000,
                fade_images: int = 800_000) -> tuple[int, float]:
    """GANSynth's progressive schedule: ``(stage, alpha)`` after ``images`` training images.

    Stage 0 is trained for ``stable_images``; then each further block fades in over ``fade_images``
    (``alpha`` from 0 to 1) and is trained for ``stable_images``; after the last block the networks
    stay at ``(n_blocks - 1, 1.0)``. With 7 blocks this is GANSynth's 13 phases of 800k images.

    Args:
        images: training images seen so far (>= 0).
        n_blocks: resolutions of the networks (``len(channels)``).
        stable_images: images per stable phase (> 0).
        fade_images: images per fade-in phase (> 0).

    Returns:
        The arguments of ``set_progress``.
    """
    if images < 0 or n_blocks < 1 or stable_images <= 0 or fade_images <= 0:
        raise ParameterError(f"progress_at needs images >= 0, n_blocks >= 1 and positive phase lengths; got "
                         f"images={images}, n_blocks={n_blocks}, stable_images={stable_images}, "
                         f"fade_images={fade_images}")
    rest = images - stable_images
    stage = 0
    while rest >= 0 and stage < n_blocks - 1:
        if rest < fade_images:
            return stage + 1, rest / fade_images
        stage += 1
        rest -= fade_images + stable_images
    return stage, 1.0


def grow(net: nn.Module, images: int, *, stable_images: int, fade_images: int) -> None:
    """Sets the stage and fade of ``net`` after ``images`` training images, if it grows."""
    if getattr(net, "progressive", False):
        growing = cast(_Growing, net)
        growing.set_progress(*progress_at(images, n_blocks=growing.n_blocks, stable_images=stable_images,
                                          fade_images=fade_images))
