"""Evaluating digit generators against a classifier trained on real digits.

The digit suite (MNIST, or scikit-learn's 8x8 digits in tests) reports:

- ``conditional_accuracy``: how often the classifier agrees with the requested label (conditional
  models only), overall and per class;
- ``frechet_distance``: between the classifier's embeddings of the generated examples and of the
  real test split, over every example (at least 10,000 for MNIST);
- ``pairwise_pixels`` / ``pairwise_embedding`` (within-digit mean pairwise distance, with the real
  test digits' figure beside it), ``ndb_k`` and ``jsd`` (K-means bins of real training digits);
- a grid PNG with one row per class (requested class for conditional models, predicted class
  otherwise).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from audiofeat.progress import Progress
from gansynth_zoo.data.sources import load_training_data
from gansynth_zoo.evaluation.metrics import report_metric
from gansynth_zoo.evaluation.metrics.classifier import (
    Classifier,
    accuracy,
    embed,
    load_classifier,
    per_class_accuracy,
    predict,
    save_classifier,
    train_classifier,
)
from gansynth_zoo.evaluation.metrics.diversity import diversity_report
from gansynth_zoo.evaluation.metrics.frechet import frechet_distance
from gansynth_zoo.evaluation.metrics.ndb import jensen_shannon, ndb_jsd
from gansynth_zoo.evaluation.sampling import generate, load_generator
from gansynth_zoo.tools.images import image_grid, write_png

__all__ = ["digit_classifier", "evaluate_digits"]


def digit_classifier(source: str, path: str | os.PathLike, *, steps: int = 2000, device: torch.device | str = "cpu",
                     status: Callable[[str], None] | None = None,
                     progress: Progress | None = None) -> tuple[Classifier, dict[str, Any]]:
    """The evaluation classifier for a digit source, trained on its real training split the first time
    and stored at ``path`` with its test accuracy."""
    path = Path(path)
    if path.exists():
        model, info = load_classifier(path, device)
        if info.get("source") == source:
            return model, info
    train = load_training_data(source, split="train")
    test = load_training_data(source, split="test")
    model, info = train_classifier(train.x, train.labels, n_classes=10, x_val=test.x, y_val=test.labels,
                                   steps=steps, device=device, status=status, progress=progress,
                                   channels=(16, 32, 64))
    info["source"] = source
    save_classifier(model, info, path)
    return model, info


def evaluate_digits(run_dir: str | os.PathLike, *, classifier_path: str | os.PathLike, samples: int = 10000,
                    classifier_steps: int = 2000, seed: int = 0, device: torch.device | str = "cpu",
                    status: Callable[[str], None] | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
    """Runs the digit suite on a run, writes ``samples-grid.png`` and appends ``metric-digits.jsonl``.
    ``status`` gets lines and ``progress`` (:mod:`audiofeat.progress`) bars of the long steps."""
    run_dir = Path(run_dir)
    G, export = load_generator(run_dir, device)
    source = export["data"]["source"]
    source = "digits" if source == "sklearn-digits" else source
    classifier, info = digit_classifier(source, classifier_path, steps=classifier_steps, device=device, status=status,
                                        progress=progress)
    test = load_training_data(source, split="test")
    labels = torch.arange(samples) % 10
    images = generate(G, export["conditioning"], labels, export["z_dim"], seed=seed, device=device, progress=progress)
    probs = predict(classifier, images, device)
    predicted = probs.argmax(1)
    fake_embedding = embed(classifier, images, device).numpy()
    real_embedding = embed(classifier, test.x, device).numpy()
    conditional = bool(G.c_dim)
    result: dict[str, Any] = {
        "samples": samples, "seed": seed, "step": int(export["step"]),
        "classifier_test_accuracy": info["val_accuracy"],
        "frechet_distance": frechet_distance(fake_embedding, real_embedding),
        "real_test_examples": len(test),
        "predicted_class_histogram": torch.bincount(predicted, minlength=10).tolist(),
        # how far the classifier's digits are from all ten equally often (0: uniform, 1: disjoint)
        "predicted_class_jsd_uniform": jensen_shannon(torch.bincount(predicted, minlength=10), torch.ones(10)),
    }
    if conditional:
        result["conditional_accuracy"] = accuracy(probs, labels)
        result["conditional_accuracy_per_class"] = per_class_accuracy(probs, labels, 10)
    # diversity beside quality: within-digit spread, and bins of real training images (docs/models.md)
    by = labels if conditional else predicted
    result.update(diversity_report("pixels", images, by, test.x, test.labels))
    result.update(diversity_report("embedding", torch.from_numpy(fake_embedding), by,
                                   torch.from_numpy(real_embedding), test.labels))
    train = load_training_data(source, split="train")
    result.update(ndb_jsd(train.x[:10000].flatten(1), images.flatten(1), k=min(50, len(train) // 4), seed=seed))
    rows = []
    for digit in range(10):
        pick = (labels == digit) if conditional else (predicted == digit)
        chosen = images[pick][:10]
        if len(chosen) < 10:  # an unconditional model may rarely produce a digit: pad with blanks
            chosen = torch.cat([chosen, -torch.ones(10 - len(chosen), *images.shape[1:])])
        rows.append(chosen)
    grid = write_png(image_grid(torch.cat(rows), nrow=10), run_dir / "samples-grid.png")
    result["grid"] = grid.name
    report_metric(run_dir, "digits", result, checkpoint=f"generator.pt (step {export['step']})")
    return result
