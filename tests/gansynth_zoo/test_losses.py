"""The GAN losses against hand-computed values, and the direction of their gradients."""
from __future__ import annotations

import math

import pytest
import torch

from gansynth_zoo.training import losses


def test_nonsaturating_and_hinge_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 0.5])
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert losses.d_nonsaturating(real, fake).item() == pytest.approx(
        (softplus(-2) + softplus(0)) / 2 + (softplus(-1) + softplus(0.5)) / 2)
    assert losses.g_nonsaturating(fake).item() == pytest.approx((softplus(1) + softplus(-0.5)) / 2)
    assert losses.d_hinge(real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 1.5) / 2)
    assert losses.g_hinge(fake).item() == pytest.approx(0.25)
    assert losses.d_wasserstein(real, fake).item() == pytest.approx(-0.25 - 1.0)
    assert losses.drift_penalty(real).item() == pytest.approx(2.0)


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([3.0, 4.0])  # |grad| = 5 everywhere
    penalty = losses.gradient_penalty(lambda x: x @ w, torch.randn(6, 2), torch.randn(6, 2),
                                      generator=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx(16.0)


def test_mode_seeking_matches_hand_computed_value():
    fake_1 = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    fake_2 = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    z_1, z_2 = torch.zeros(2, 3), torch.full((2, 3), 0.5)
    # d_I = mean |f1 - f2| = (1 + 0 + 0 + 2) / 4 = 0.75; d_z = 0.5; ratio 1.5
    assert losses.mode_seeking(fake_1, fake_2, z_1, z_2).item() == pytest.approx(1 / (1.5 + 1e-5))
    assert losses.mode_seeking(fake_1, fake_1, z_1, z_2).item() == pytest.approx(1e5)


def test_mode_seeking_gradient_pushes_outputs_apart():
    fake_1 = torch.tensor([[0.2, -0.1]], requires_grad=True)
    fake_2 = torch.tensor([[0.0, 0.3]], requires_grad=True)
    loss = losses.mode_seeking(fake_1, fake_2, torch.zeros(1, 4), torch.ones(1, 4))
    loss.backward()
    step = 1e-3
    with torch.no_grad():
        moved_1, moved_2 = fake_1 - step * fake_1.grad, fake_2 - step * fake_2.grad
    assert (moved_1 - moved_2).abs().sum() > (fake_1 - fake_2).abs().sum()
    assert torch.all(fake_1.grad * (fake_1 - fake_2) < 0)  # descent increases the difference


def test_band_moments_is_zero_for_matching_moments_and_pulls_level_and_spread():
    """0 when the per-row log powers have the same batch mean and std (a time shuffle keeps them), and
    its gradient makes a too-quiet generated batch louder and a too-alike one more varied."""
    torch.manual_seed(0)
    real = torch.randn(8, 2, 6, 10) * torch.logspace(0, -1, 8).view(8, 1, 1, 1)
    assert losses.band_moments(real[..., torch.randperm(10)], real).item() == pytest.approx(0, abs=1e-6)
    quiet = (0.1 * real).requires_grad_(True)
    losses.band_moments(quiet, real).backward()
    assert (quiet.grad * quiet).sum() < 0  # descending the gradient scales the batch up
    alike = (real[:1] * (1 + 0.01 * torch.randn(8, 1, 1, 1))).requires_grad_(True)
    losses.band_moments(alike, real).backward()
    level = lambda x: x.square().mean(dim=3).log().std(dim=0).mean()  # noqa: E731
    assert level(alike.detach() - 0.01 * alike.grad) > level(alike.detach())


def test_clip_level_moments_asks_for_loudness_that_varies_across_examples():
    """Bands that vary independently meet band_moments' spread but leave every clip about as loud;
    clip_level_moments sees that, and its gradient spreads the clips' loudness."""
    torch.manual_seed(0)
    real = torch.randn(16, 2, 6, 10) * torch.logspace(0, -1, 16).view(16, 1, 1, 1)
    assert losses.clip_level_moments(real.flip(3), real).item() == pytest.approx(0, abs=1e-6)
    same_loudness = (real[:1] * (1 + 0.01 * torch.randn(16, 1, 1, 1))).requires_grad_(True)
    losses.clip_level_moments(same_loudness, real).backward()
    loudness = lambda x: x.square().mean(dim=(1, 2, 3)).log().std()  # noqa: E731
    assert loudness(same_loudness.detach() - 0.01 * same_loudness.grad) > loudness(same_loudness.detach())


def test_clip_level_moments_on_the_linear_signal_of_cube_root_data():
    """With exponent 3 the moments are those of the cubed (linear) values: cube-root data matched
    against itself costs nothing, and the cost equals the plain moments of the cubes."""
    torch.manual_seed(0)
    linear = torch.randn(8, 2, 4, 6) * torch.logspace(0, -2, 8).view(8, 1, 1, 1)
    root = linear.sign() * linear.abs().pow(1 / 3)
    fake = root.flip(0) * 0.9
    assert losses.clip_level_moments(root.flip(3), root, exponent=3).item() == pytest.approx(0, abs=1e-5)
    assert losses.clip_level_moments(fake, root, exponent=3).item() == pytest.approx(
        losses.clip_level_moments(fake.abs().pow(3), linear.abs()).item(), rel=1e-4)
