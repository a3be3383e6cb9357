from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import torch

from gansynth_zoo.evaluation.metrics import report_metric
from gansynth_zoo.evaluation.metrics.classifier import Classifier, load_classifier, save_classifier, train_classifier
from gansynth_zoo.evaluation.metrics.frechet import frechet_distance, kernel_distance
from gansynth_zoo.tools.images import image_grid, write_png


def test_frechet_distance_of_known_gaussians(rng):
    a = rng.standard_normal((20000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # shifted mean: ||mu||^2 = 4; scaled covariance 4 I vs I: tr(I + 4I - 2 * 2I) = 3 * 1
    b = rng.standard_normal((20000, 3)) * 2 + np.array([2.0, 0.0, 0.0])
    assert frechet_distance(a, b) == pytest.approx(4.0 + 3.0, rel=0.03)
    with pytest.raises(ValueError, match="equal d"):
        frechet_distance(a, b[:, :2])


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_otherwise(rng):
    a, b = rng.standard_normal((2000, 8)), rng.standard_normal((2000, 8))
    same, _ = kernel_distance(a, b, subsets=10, subset_size=500)
    shifted, _ = kernel_distance(a, b + 1.0, subsets=10, subset_size=500)
    assert abs(same) < 0.02 and shifted > 0.5


def test_classifier_learns_digits_and_round_trips(tmp_path):
    from gansynth_zoo.data.sources import load_training_data

    train, test = load_training_data("digits", split="train"), load_training_data("digits", split="test")
    model, info = train_classifier(train.x, train.labels, n_classes=10, x_val=test.x, y_val=test.labels,
                                   steps=300, batch_size=64, channels=(16, 32), embed_dim=32)
    assert info["val_accuracy"] > 0.9, info
    assert model.embed(test.x[:5]).shape == (5, 32)
    path = save_classifier(model, info, tmp_path / "c.pt")
    loaded, loaded_info = load_classifier(path)
    assert loaded_info == info
    assert torch.allclose(loaded(test.x[:7]), model(test.x[:7]))


def test_classifier_handles_non_square_inputs():
    model = Classifier((2, 64, 16), n_classes=5, channels=(4, 8, 8, 8, 8), embed_dim=6)
    assert model(torch.randn(3, 2, 64, 16)).shape == (3, 5)


def _read_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4:idat])[0]
    raw = zlib.decompress(data[idat + 4:idat + 4 + length])
    channels = 3 if colour == 2 else 1
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, channels).squeeze()


def test_grid_png_round_trip(tmp_path):
    images = torch.linspace(-1, 1, 6 * 4 * 3).reshape(6, 1, 4, 3)
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1) and grid.dtype == np.uint8
    assert grid[1, 1] == 0 and grid[-2, -2] == 255
    back = _read_png(write_png(grid, tmp_path / "g.png"))
    np.testing.assert_array_equal(back, grid)
    rgb = image_grid(torch.zeros(2, 3, 2, 2), nrow=2)
    assert _read_png(write_png(rgb, tmp_path / "rgb.png")).shape == rgb.shape == (6, 10, 3)


def test_report_metric_appends(tmp_path):
    report_metric(tmp_path, "x", {"value": 1.5}, checkpoint="ckpt-1")
    report_metric(tmp_path, "x", {"value": 2.5}, checkpoint="ckpt-2")
    lines = [json.loads(line) for line in (tmp_path / "metric-x.jsonl").read_text().splitlines()]
    assert [(r["value"], r["checkpoint"]) for r in lines] == [(1.5, "ckpt-1"), (2.5, "ckpt-2")]
