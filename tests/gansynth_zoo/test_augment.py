from __future__ import annotations

import pytest
import torch

from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.training.augment import augment, cutout, translate


def _ramp(n=3, height=16, width=8):
    return torch.arange(n * 2 * height * width, dtype=torch.float32).view(n, 2, height, width) + 1


def test_translation_shifts_whole_pixels_with_zeros_shifted_in():
    x = _ramp(n=6)
    y = translate(x, torch.Generator().manual_seed(0))
    seen = set()
    for i in range(x.shape[0]):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-1, 2) if torch.equal(y[i], _shifted(x[i], dy, dx))]
        assert len(shifts) == 1, "every example is a whole-pixel shift by at most 1/8 of each axis"
        seen.add(shifts[0])
    assert len(seen) > 1, "examples are shifted independently"


def _shifted(x, dy, dx):
    out = torch.zeros_like(x)
    h, w = x.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[:, max(-dy, 0):h - max(dy, 0),
                                                                     max(-dx, 0):w - max(dx, 0)]
    return out


def test_cutout_zeroes_one_rectangle_of_at_most_half_each_axis_in_every_channel():
    x = _ramp(n=8)
    y = cutout(x, torch.Generator().manual_seed(1))
    for i in range(x.shape[0]):
        zero = y[i] == 0
        assert torch.equal(zero[0], zero[1]), "the same rectangle in every channel"
        rows, cols = torch.nonzero(zero[0], as_tuple=True)
        assert len(rows) > 0
        height, width = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
        assert len(rows) == height * width and height <= 8 and width <= 4
        assert torch.equal(y[i][~zero], x[i][~zero])


def test_augment_is_differentiable_reproducible_and_the_identity_without_policies():
    x = _ramp().requires_grad_()
    assert augment(x, (), torch.Generator()) is x
    a = augment(x, ("translation", "cutout"), torch.Generator().manual_seed(3))
    b = augment(x, ("translation", "cutout"), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    a.sum().backward()
    # the gradient is 1 where an input pixel reached the output and 0 where it was shifted out or cut
    assert set(x.grad.unique().tolist()) == {0.0, 1.0}
    assert x.grad.sum() == (a != 0).sum()


@pytest.mark.parametrize("balanced, expected", [(False, [0.9, 0.09, 0.0, 0.01]), (True, [1 / 3, 1 / 3, 0.0, 1 / 3])])
def test_batches_follow_the_data_or_balance_the_labels(balanced, expected):
    labels = torch.tensor([0] * 90 + [1] * 9 + [3])
    data = TrainingData(torch.arange(100.0).view(100, 1, 1, 1), labels, torch.zeros(100, 4), ("a", "b", "c", "d"))
    batch = data.sample(30_000, torch.Generator().manual_seed(0), balanced=balanced)
    assert torch.equal(batch.labels, labels[batch.x.view(-1).long()]), "labels travel with their examples"
    frequency = torch.bincount(batch.labels, minlength=4) / 30_000
    assert torch.allclose(frequency, torch.tensor(expected), atol=0.015)
    if balanced:  # every example of a label is drawn, not only the first
        assert len(batch.x[batch.labels == 1].unique()) == 9
