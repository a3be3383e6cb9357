"""GAN losses as pure functions of discriminator scores (shape ``(batch,)``).

Each ``d_*`` function returns the discriminator loss to minimise, each ``g_*`` the generator loss.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["band_moments", "d_hinge", "d_nonsaturating", "d_wasserstein", "drift_penalty", "g_hinge",
           "g_nonsaturating", "g_wasserstein", "gradient_penalty", "mode_seeking"]


def d_nonsaturating(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(x)) - log(1 - sigmoid(D(G(z)))) (Goodfellow et al. 2014)."""
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()


def g_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(D(G(z))): the non-saturating generator loss."""
    return F.softplus(-logits_fake).mean()


def d_hinge(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim and Ye 2017)."""
    return F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()


def g_hinge(logits_fake: torch.Tensor) -> torch.Tensor:
    return -logits_fake.mean()


def d_wasserstein(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """E[D(G(z))] - E[D(x)] (the critic loss of WGAN)."""
    return logits_fake.mean() - logits_real.mean()


def g_wasserstein(logits_fake: torch.Tensor) -> torch.Tensor:
    return -logits_fake.mean()


def drift_penalty(logits_real: torch.Tensor) -> torch.Tensor:
    """E[D(x)^2], ProGAN's drift term that keeps critic scores near zero."""
    return logits_real.square().mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     *, generator: torch.Generator | None = None, target: float = 1.0) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - target)^2] at x_hat = a * real + (1 - a) * fake, a ~ U(0, 1) per example
    (Gulrajani et al. 2017).

    Args:
        critic: maps a batch to scores; it includes everything applied before D (e.g. noise).
        real, fake: ``(batch, ...)`` batches of equal shape; ``fake`` is detached here.
    """
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator,
                       device="cpu", dtype=torch.float32).to(device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return (norms - target).square().mean()


def mode_seeking(fake_1: torch.Tensor, fake_2: torch.Tensor, z_1: torch.Tensor, z_2: torch.Tensor,
                 *, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN's mode-seeking term 1 / (d_I / d_z + eps) (Mao et al. 2019).

    d_I is the mean absolute difference of the two generated batches and d_z that of the two latent
    batches (batch-level means, as in the authors' code). Minimising it pushes outputs of different
    latents (same condition) apart.
    """
    ratio = (fake_1 - fake_2).abs().mean() / (z_1 - z_2).abs().mean()
    return 1.0 / (ratio + eps)


def _level_moment_gap(fake: torch.Tensor, real: torch.Tensor, dims: tuple[int, ...], eps: float) -> torch.Tensor:
    """Squared gaps between the batch mean and std of ``log(mean of x^2 over dims + eps)``, generated
    against real (not differentiated), averaged over what is left."""
    def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        level = (x.float().square().mean(dim=dims) + eps).log()
        return level.mean(dim=0), level.std(dim=0)

    mean_fake, std_fake = moments(fake)
    with torch.no_grad():
        mean_real, std_real = moments(real)
    return (mean_fake - mean_real).square().mean() + (std_fake - std_real).square().mean()


def band_moments(fake: torch.Tensor, real: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """Feature matching (Salimans et al. 2016) on fixed features of signed-amplitude spectra (MDCTs):
    each example's log power per channel and row (``log(mean over frames of x^2 + eps)``), whose mean
    and standard deviation over the batch are matched between ``fake`` and ``real``.

    The mean pins each band's level (and so the spectral tilt); the standard deviation asks the
    generator for as much variation of level across latents as the real examples have. ``real`` is
    not differentiated. Shape: ``(batch, channels, rows, frames)`` each (batch sizes may differ).
    """
    return _level_moment_gap(fake, real, (3,), eps)


def clip_level_moments(fake: torch.Tensor, real: torch.Tensor, *, exponent: float = 1.0,
                       eps: float = 1e-6) -> torch.Tensor:
    """:func:`band_moments` on each example's whole log power (over channels, rows and frames) of
    ``|x| ** exponent`` (3 undoes a cube root): the spread of loudness across examples, which per-band
    matching can meet with bands that vary independently and so leave every clip about as loud as
    the next."""
    if exponent != 1.0:
        fake, real = fake.abs().pow(exponent), real.abs().pow(exponent)
    return _level_moment_gap(fake, real, (1, 2, 3), eps)
