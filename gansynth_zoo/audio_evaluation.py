"""Evaluation of spectrogram GANs trained on an audiofeat cache.

The real examples of the run's cache are split (seeded, stratified by subclass) into a training part
(80%) and a held-out part (20%). A category classifier is trained on the log-magnitude channels of
the training part and its held-out accuracy is recorded. Generated examples (the same number for
every subclass) are then scored:

- ``conditional_accuracy``: the classifier's predicted subclass equals the requested one (overall,
  per subclass and, derived, per class);
- ``frechet_distance`` and ``kid``: between classifier embeddings of generated and held-out real
  examples (all of them);
- ``ndb_k`` and ``jsd``: K-means (K = 50, or fewer for tiny sets) bins fitted on the real training
  part, over flattened log-magnitudes;
- ``pairwise_log_mag`` and ``pairwise_embedding``: within-subclass mean pairwise distance of
  generated examples (and the same for real held-out data, for scale), on log-magnitudes and on
  classifier embeddings.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gansynth_zoo.data.audio import Representation
from gansynth_zoo.evaluation import generate, load_generator
from gansynth_zoo.metrics import report_metric
from gansynth_zoo.metrics.classifier import (accuracy, embed, load_classifier, per_class_accuracy, predict,
                                             save_classifier, train_classifier)
from gansynth_zoo.metrics.diversity import diversity_report
from gansynth_zoo.metrics.frechet import frechet_distance, kernel_distance
from gansynth_zoo.metrics.ndb import ndb_jsd

__all__ = ["evaluate_audio", "split_indices"]


def split_indices(labels: torch.Tensor, *, held_out: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded stratified split: per label, ``held_out`` of its examples (at least one when it has two)."""
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for label in labels.unique().tolist():
        rows = torch.nonzero(labels == label).squeeze(1)
        rows = rows[torch.randperm(len(rows), generator=generator)]
        n_test = max(1, round(len(rows) * held_out)) if len(rows) > 1 else 0
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def _magnitude_channels(x: torch.Tensor, representation: Representation) -> torch.Tensor:
    """The model-scale log-magnitude channels (the classifier's input)."""
    return x[:, representation.channels_of("log_mag")]


def _classifier(data, representation: Representation, train_rows: torch.Tensor, test_rows: torch.Tensor,
                path: Path, steps: int, device, status) -> tuple[torch.nn.Module, dict[str, Any]]:
    if path.exists():
        return load_classifier(path, device)
    x = _magnitude_channels(data.x, representation)
    n_classes = len(data.label_names)
    model, info = train_classifier(x[train_rows], data.labels[train_rows], n_classes=n_classes,
                                   x_val=x[test_rows], y_val=data.labels[test_rows], steps=steps, batch_size=32,
                                   device=device, status=status, channels=(16, 32, 64, 64), embed_dim=64)
    info["per_subclass_val_accuracy"] = per_class_accuracy(predict(model, x[test_rows], device),
                                                           data.labels[test_rows], n_classes)
    save_classifier(model, info, path)
    return model, info


def _balanced(correct: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean over the labels present of the fraction ``correct`` within each label."""
    return float(torch.stack([correct[labels == label].float().mean() for label in labels.unique()]).mean())


def evaluate_audio(run_dir: str | os.PathLike, data, *, samples_per_category: int = 64, classifier_steps: int = 1500,
                   classifier_dir: str | os.PathLike = "data/classifiers", seed: int = 0,
                   device: torch.device | str = "cpu",
                   status: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Runs the suite on a run trained from ``data`` (its :class:`TrainingData`); appends ``metric-audio.jsonl``."""
    run_dir = Path(run_dir)
    G, export = load_generator(run_dir, device)
    representation = Representation.from_dict(data.info["representation"])
    train_rows, test_rows = split_indices(data.labels, seed=0)
    key = hashlib.sha1(f"{data.info['path']}:{os.path.getmtime(data.info['path'])}:{representation.normalization}"
                       .encode()).hexdigest()[:12]
    classifier, info = _classifier(data, representation, train_rows, test_rows,
                                   Path(classifier_dir) / f"audio-{key}.pt", classifier_steps, device, status)
    n_labels = len(data.label_names)
    labels = torch.arange(n_labels).repeat_interleave(samples_per_category)
    fake = generate(G, export["conditioning"], labels, export["z_dim"], seed=seed, device=device, batch_size=64)
    fake_mag = _magnitude_channels(fake, representation)
    real_mag = _magnitude_channels(data.x, representation)
    probs = predict(classifier, fake_mag, device)
    fake_embedding = embed(classifier, fake_mag, device)
    real_embedding = embed(classifier, real_mag[test_rows], device)
    vocabulary = data.info["vocabulary"]
    subclass_to_class = [vocabulary["classes"].index(s.split("/")[0]) for s in vocabulary["subclasses"]]
    to_class = torch.tensor(subclass_to_class)
    result: dict[str, Any] = {
        "step": int(export["step"]), "samples": len(labels), "seed": seed,
        "classifier_held_out_accuracy": info["val_accuracy"], "held_out_examples": len(test_rows),
        "frechet_distance": frechet_distance(fake_embedding.numpy(), real_embedding.numpy()),
    }
    kid, kid_std = kernel_distance(fake_embedding.numpy(), real_embedding.numpy(), subsets=20,
                                   subset_size=min(len(test_rows), len(labels), 500))
    result.update(kid=kid, kid_std=kid_std)
    if G.c_dim:
        predicted = probs.argmax(1)
        result["conditional_accuracy"] = accuracy(probs, labels)
        result["class_accuracy"] = float((to_class[predicted] == to_class[labels]).float().mean())
        result["conditional_accuracy_per_subclass"] = dict(zip(data.label_names,
                                                               per_class_accuracy(probs, labels, n_labels)))
        # The same two figures for the held-out real clips, each subclass weighted equally as the
        # generated ones are: what a generator that matched the data would score.
        real_labels = data.labels[test_rows]
        real_predicted = predict(classifier, real_mag[test_rows], device).argmax(1)
        result["conditional_accuracy_real"] = _balanced(real_predicted == real_labels, real_labels)
        result["class_accuracy_real"] = _balanced(to_class[real_predicted] == to_class[real_labels], real_labels)
    k = min(50, len(train_rows) // 4)
    result.update(ndb_jsd(real_mag[train_rows].flatten(1), fake_mag.flatten(1), k=k, seed=seed))
    result.update(diversity_report("log_mag", fake_mag, labels, real_mag[test_rows], data.labels[test_rows]))
    result.update(diversity_report("embedding", fake_embedding, labels, real_embedding, data.labels[test_rows]))
    report_metric(run_dir, "audio", result, checkpoint=f"generator.pt (step {export['step']})")
    return result
