"""Evaluation of spectrogram GANs trained on an audiofeat cache.

The real examples of the run's cache are split (seeded) into a training part (about 80%) and a
held-out part (about 20%): whole kits are held out when the cache's sources carry a ``kit`` column
(the real one-shots: velocity layers of one kit are near-copies, so a random split would reward
memorising kits), otherwise the split is stratified by subclass. A category classifier is trained on
the log-magnitude channels of the training part and its held-out accuracy is recorded. Generated
examples (the same number for every subclass) are then scored:

- ``conditional_accuracy``: the classifier's predicted subclass equals the requested one (overall,
  per subclass and, derived, per class);
- ``conditional_accuracy_audio`` (and ``class_accuracy_audio``, per subclass too): the same after a
  round trip through sound: the generated examples are inverted to waveforms (as ``gansynth-zoo
  sample`` writes them), peak-normalised like the real files and analysed again with the cache's
  feature config. This judges what a listener hears, inversion artefacts included;
- ``frechet_distance`` and ``kid``: between classifier embeddings of generated and held-out real
  examples (all of them), and ``*_real_floor``: the same between two seeded random halves of the real
  examples, what a generator indistinguishable from the data would score;
- ``ndb_k`` and ``jsd``: K-means (K = 50, or fewer for tiny sets) bins fitted on the real training
  part, over flattened log-magnitudes;
- ``pairwise_log_mag`` and ``pairwise_embedding``: within-subclass mean pairwise distance of
  generated examples (and the same for real held-out data, for scale), on the model-scale
  log-magnitudes (log-mel for mel models) and on classifier embeddings; ``pairwise_*_per_subclass``
  gives each subclass's generated/real ratio;
- for runs conditioned on genre as well (``data.genres``), a genre classifier trained the same way on
  the real examples that have a genre, whole kits held out, and generated examples requested for
  every (genre, subclass) cell the real data have, the same number for each:
  ``genre_accuracy`` (the requested genre is recognised, each genre weighted equally) against
  ``genre_accuracy_real`` (the held-out real clips), ``genre_instrument_accuracy`` (the subclass
  classifier on the same examples: does asking for a genre keep the instrument?) and
  ``genre_table`` (per cell, both accuracies and the cell's real file count).
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from audiofeat.cache import open_cache
from audiofeat.exceptions import ParameterError
from audiofeat.features import FeatureExtractor
from audiofeat.progress import Progress
from gansynth_zoo.data.cache import Representation
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
from gansynth_zoo.evaluation.metrics.diversity import diversity_report, mean_pairwise_distance
from gansynth_zoo.evaluation.metrics.frechet import frechet_distance, kernel_distance
from gansynth_zoo.evaluation.metrics.ndb import ndb_jsd
from gansynth_zoo.evaluation.sampling import generate, load_generator

__all__ = ["cache_kits", "classifier_files", "evaluate_audio", "format_genre_table", "format_subclass_table",
           "genre_labels", "heard_features", "split_indices", "subclass_classifier", "through_audio"]


def split_indices(labels: torch.Tensor, *, held_out: float = 0.2, seed: int = 0,
                  groups: Sequence[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded split into training and held-out rows.

    Without ``groups``: stratified, per label ``held_out`` of its examples (at least one when it has
    two). With ``groups`` (e.g. the kit of each example): whole groups are held out, so no group is on
    both sides. Groups are visited in a seeded order and one is held out when some label it holds is
    still short of ``held_out`` of its examples and holding it out leaves every label at least half
    of its examples for training; a label whose every group is too large gets no held-out rows.
    """
    generator = torch.Generator().manual_seed(seed)
    if groups is None:
        train, test = [], []
        for label in labels.unique().tolist():
            rows = torch.nonzero(labels == label).squeeze(1)
            rows = rows[torch.randperm(len(rows), generator=generator)]
            n_test = max(1, round(len(rows) * held_out)) if len(rows) > 1 else 0
            test.append(rows[:n_test])
            train.append(rows[n_test:])
        return torch.cat(train).sort().values, torch.cat(test).sort().values
    if len(groups) != len(labels):
        raise ParameterError(f"{len(groups)} groups for {len(labels)} labels")
    names = sorted(set(groups))
    index = torch.tensor([names.index(g) for g in groups])
    n_labels = int(labels.max()) + 1
    total = torch.bincount(labels, minlength=n_labels)
    taken = torch.zeros(n_labels, dtype=torch.long)
    chosen = torch.zeros(len(names), dtype=torch.bool)
    for g in torch.randperm(len(names), generator=generator).tolist():
        counts = torch.bincount(labels[index == g], minlength=n_labels)
        wanted = ((counts > 0) & (taken < held_out * total)).any()
        if wanted and ((taken + counts) * 2 <= total).all():
            chosen[g] = True
            taken += counts
    held_out_rows = chosen[index]
    return torch.nonzero(~held_out_rows).squeeze(1), torch.nonzero(held_out_rows).squeeze(1)


def _magnitude_channels(x: torch.Tensor, representation: Representation) -> torch.Tensor:
    """The model-scale log-magnitude or log-mel channels (the classifier's input)."""
    return x[:, representation.channels_of(representation.magnitude_feature)]


def _classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, train_rows: torch.Tensor, test_rows: torch.Tensor,
                path: Path, steps: int, device, status, progress, *,
                per_class_key: str) -> tuple[Classifier, dict[str, Any]]:
    """The classifier stored at ``path``, or one trained on ``x[train_rows]`` and stored there with its
    held-out accuracy per class under ``per_class_key``."""
    if path.exists():
        return load_classifier(path, device)
    model, info = train_classifier(x[train_rows], y[train_rows], n_classes=n_classes, x_val=x[test_rows],
                                   y_val=y[test_rows], steps=steps, batch_size=32, device=device, status=status,
                                   progress=progress,
                                   channels=(16, 32, 64, 64), embed_dim=64)
    info[per_class_key] = per_class_accuracy(predict(model, x[test_rows], device), y[test_rows], n_classes)
    save_classifier(model, info, path)
    return model, info


@torch.no_grad()
def through_audio(x: torch.Tensor, representation: Representation, *, n_iter: int = 32, seed: int = 0,
                  batch_size: int = 64, progress: Progress | None = None) -> torch.Tensor:
    """Generated model tensors -> waveforms -> the same representation analysed from the sound.

    Waveforms are made as :func:`gansynth_zoo.synthesis.sample_files` makes them and, when the cache
    peak-normalised its files, scaled to the same 0.999 peak before the analysis. ``progress``
    (:mod:`audiofeat.progress`) hears ``("through audio", done, total)`` after each batch.
    """

    generator = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(x), batch_size):
        audio = representation.to_audio(x[i:i + batch_size], n_iter=n_iter, generator=generator)
        out.append(heard_features(audio, representation))
        if progress:
            progress("through audio", min(i + batch_size, len(x)), len(x))
    return torch.cat(out)


def heard_features(audio: torch.Tensor, representation: Representation) -> torch.Tensor:
    """Waveforms ``(N, channels, samples)`` -> the representation's model tensors, analysed as the
    cache analysed its files (peak-normalised to 0.999 first when the cache normalised them)."""
    config = representation.feature_config
    if config.audio.normalize:
        audio = audio * (0.999 / audio.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-8))
    return representation.encode(FeatureExtractor(replace(config, features=representation.features))
                                 .compute(audio.float()))


def _diversity_ratios(fake: torch.Tensor, labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                      names: tuple[str, ...]) -> dict[str, float]:
    """Per subclass: generated / real within-subclass mean pairwise distance."""
    generated, true = mean_pairwise_distance(fake, labels), mean_pairwise_distance(real, real_labels)
    return {names[k]: generated[k] / true[k] for k in generated if true.get(k)}


def _balanced(correct: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean over the labels present of the fraction ``correct`` within each label."""
    return float(torch.stack([correct[labels == label].float().mean() for label in labels.unique()]).mean())


def cache_kits(data) -> list[str] | None:
    """The kit of each example of the run's cache (``None`` when its sources have none)."""
    return open_cache(data.info["path"]).example_meta("kit")


def classifier_files(data, kits: list[str] | None, classifier_path: str | os.PathLike | None,
                     classifier_dir: str | os.PathLike = "data/classifiers") -> tuple[Path, Path]:
    """Where the subclass and the genre classifiers of a run's training data are kept:
    ``classifier_path`` and ``<stem>-genre<suffix>`` beside it, or files in ``classifier_dir`` named
    by a key of the cache (path, modification time, normalisation, feature, split by kit or not;
    ``kits`` from :func:`cache_kits`)."""
    representation = Representation.from_dict(data.info["representation"])
    key = hashlib.sha1(f"{data.info['path']}:{os.path.getmtime(data.info['path'])}:{representation.normalization}:"
                       f"{representation.magnitude_feature}:{'kits' if kits else 'examples'}".encode()).hexdigest()[:12]
    if classifier_path:
        path = Path(classifier_path)
        return path, path.with_name(f"{path.stem}-genre{path.suffix}")
    return Path(classifier_dir) / f"audio-{key}.pt", Path(classifier_dir) / f"audio-genre-{key}.pt"


def subclass_classifier(data, kits: list[str] | None, classifier_path: str | os.PathLike | None, *, steps: int,
                        classifier_dir: str | os.PathLike = "data/classifiers", device: torch.device | str = "cpu",
                        status=None, progress: Progress | None = None,
                        ) -> tuple[Classifier, dict[str, Any], torch.Tensor, torch.Tensor]:
    """The run's subclass classifier (trained and stored when missing, :func:`classifier_files`)
    with its info, and the rows of the real examples it was trained on and holds out (whole kits,
    ``kits`` from :func:`cache_kits`, when the cache has them)."""
    representation = Representation.from_dict(data.info["representation"])
    train_rows, test_rows = split_indices(data.labels, seed=0, groups=kits)
    model, info = _classifier(_magnitude_channels(data.x, representation), data.labels, len(data.label_names),
                              train_rows, test_rows, classifier_files(data, kits, classifier_path, classifier_dir)[0],
                              steps, device, status, progress, per_class_key="per_subclass_val_accuracy")
    return model, info, train_rows, test_rows


def evaluate_audio(run_dir: str | os.PathLike, data, *, samples_per_category: int = 64, classifier_steps: int = 1500,
                   classifier_dir: str | os.PathLike = "data/classifiers",
                   classifier_path: str | os.PathLike | None = None, seed: int = 0,
                   device: torch.device | str = "cpu",
                   status: Callable[[str], None] | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Runs the suite on a run trained from ``data`` (its :class:`TrainingData`); appends ``metric-audio.jsonl``.
    ``status`` gets lines and ``progress`` (:mod:`audiofeat.progress`) bars of the long steps.

    The subclass classifier is kept in ``classifier_path`` if given, else in ``classifier_dir`` under a
    name keyed by the cache; the genre classifier beside it (``<stem>-genre<suffix>``, or keyed).
    Either is trained when its file is missing."""
    run_dir = Path(run_dir)
    G, export = load_generator(run_dir, device)
    representation = Representation.from_dict(data.info["representation"])
    kits = cache_kits(data)
    classifier, info, train_rows, test_rows = subclass_classifier(
        data, kits, classifier_path, steps=classifier_steps, classifier_dir=classifier_dir, device=device,
        status=status, progress=progress)
    genre_file = classifier_files(data, kits, classifier_path, classifier_dir)[1]
    real_mag = _magnitude_channels(data.x, representation)
    n_labels = len(data.label_names)
    labels = torch.arange(n_labels).repeat_interleave(samples_per_category)
    fake = generate(G, export["conditioning"], labels, export["z_dim"], seed=seed, device=device, batch_size=64,
                    progress=progress)
    fake_mag = _magnitude_channels(fake, representation)
    probs = predict(classifier, fake_mag, device)
    fake_embedding = embed(classifier, fake_mag, device)
    all_real = embed(classifier, real_mag, device)  # every real clip once: held-out part and floor halves
    real_embedding = all_real[test_rows]
    vocabulary = data.info["vocabulary"]
    subclass_to_class = [vocabulary["classes"].index(s.split("/")[0]) for s in vocabulary["subclasses"]]
    to_class = torch.tensor(subclass_to_class)
    result: dict[str, Any] = {
        "step": int(export["step"]), "samples": len(labels), "seed": seed,
        "classifier_held_out_accuracy": info["val_accuracy"], "held_out_examples": len(test_rows),
        "held_out_kits": sorted({kits[i] for i in test_rows.tolist()}) if kits else None,
        "frechet_distance": frechet_distance(fake_embedding.numpy(), real_embedding.numpy()),
    }
    kid, kid_std = kernel_distance(fake_embedding.numpy(), real_embedding.numpy(), subsets=20,
                                   subset_size=min(len(test_rows), len(labels), 500))
    result.update(kid=kid, kid_std=kid_std)
    # the floor: the same distances between two seeded random halves of the real examples
    halves = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).chunk(2)
    first, second = all_real[halves[0]].numpy(), all_real[halves[1]].numpy()
    result["frechet_distance_real_floor"] = frechet_distance(first, second)
    result["kid_real_floor"] = kernel_distance(first, second, subsets=20, subset_size=min(len(second), 500))[0]
    if G.c_dim:
        predicted = probs.argmax(1)
        result["conditional_accuracy"] = accuracy(probs, labels)
        result["class_accuracy"] = float((to_class[predicted] == to_class[labels]).float().mean())
        result["conditional_accuracy_per_subclass"] = dict(zip(data.label_names,
                                                               per_class_accuracy(probs, labels, n_labels)))
        heard_audio = through_audio(fake, representation, seed=seed, progress=progress)
        heard = predict(classifier, _magnitude_channels(heard_audio, representation), device)
        result["conditional_accuracy_audio"] = accuracy(heard, labels)
        result["class_accuracy_audio"] = float((to_class[heard.argmax(1)] == to_class[labels]).float().mean())
        result["conditional_accuracy_audio_per_subclass"] = dict(zip(data.label_names,
                                                                     per_class_accuracy(heard, labels, n_labels)))
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
    real_labels = data.labels[test_rows]
    result["pairwise_log_mag_per_subclass"] = _diversity_ratios(fake_mag, labels, real_mag[test_rows], real_labels,
                                                                data.label_names)
    result["pairwise_embedding_per_subclass"] = _diversity_ratios(fake_embedding, labels, real_embedding, real_labels,
                                                                  data.label_names)
    if G.c_dim and data.genre_names:
        result.update(_genre_figures(G, export, data, representation, real_mag, classifier, kits, genre_file,
                                     samples_per_cell=max(1, samples_per_category // 4),
                                     classifier_steps=classifier_steps, seed=seed, device=device, status=status,
                                     progress=progress))
    report_metric(run_dir, "audio", result, checkpoint=f"generator.pt (step {export['step']})")
    return result


def genre_labels(c: torch.Tensor, n_genres: int) -> torch.Tensor:
    """Each row's genre index from the last ``n_genres`` columns of ``c`` (-1 where they are zero)."""
    part = c[:, c.shape[1] - n_genres:]
    return torch.where(part.sum(1) > 0, part.argmax(1), torch.full((len(c),), -1))


def _genre_figures(G: torch.nn.Module, export: dict[str, Any], data, representation: Representation,
                   real_mag: torch.Tensor, subclass_classifier: Classifier, kits: Sequence[str] | None,
                   classifier_path: Path, *, samples_per_cell: int, classifier_steps: int, seed: int, device,
                   status, progress) -> dict[str, Any]:
    """The genre figures of a run conditioned on genre (module docstring)."""
    n_genres = len(data.genre_names)
    genres = genre_labels(data.c, n_genres)
    rows = torch.nonzero(genres >= 0).squeeze(1)
    groups = None if kits is None else [kits[i] for i in rows.tolist()]
    train, test = (rows[part] for part in split_indices(genres[rows], seed=0, groups=groups))
    classifier, info = _classifier(real_mag, genres, n_genres, train, test, classifier_path, classifier_steps,
                                   device, status, progress, per_class_key="per_genre_val_accuracy")
    real_correct = predict(classifier, real_mag[test], device).argmax(1) == genres[test]
    counts = Counter(zip(genres[rows].tolist(), data.labels[rows].tolist()))
    cells = sorted(counts)
    wanted_genre = torch.tensor([g for g, _ in cells]).repeat_interleave(samples_per_cell)
    wanted_label = torch.tensor([s for _, s in cells]).repeat_interleave(samples_per_cell)
    requests = export["conditioning"][wanted_label].clone()  # its genre part is zero
    requests[torch.arange(len(requests)), requests.shape[1] - n_genres + wanted_genre] = 1
    fake = _magnitude_channels(generate(G, requests, torch.arange(len(requests)), export["z_dim"], seed=seed,
                                        device=device, batch_size=64, progress=progress), representation)
    genre_hit = predict(classifier, fake, device).argmax(1) == wanted_genre
    label_hit = predict(subclass_classifier, fake, device).argmax(1) == wanted_label
    genre_per_cell, label_per_cell = (hit.view(len(cells), -1).float().mean(1) for hit in (genre_hit, label_hit))
    return {
        "genre_classifier_held_out_accuracy": info["val_accuracy"],
        "genre_held_out_kits": sorted({kits[i] for i in test.tolist()}) if kits else None,
        "genre_accuracy": _balanced(genre_hit, wanted_genre),
        "genre_accuracy_real": _balanced(real_correct, genres[test]),
        "genre_instrument_accuracy": float(label_hit.float().mean()),
        "genre_table": [{"genre": data.genre_names[g], "subclass": data.label_names[s], "real_files": counts[g, s],
                         "genre_accuracy": float(genre_per_cell[i]), "subclass_accuracy": float(label_per_cell[i])}
                        for i, (g, s) in enumerate(cells)],
    }


def format_genre_table(result: dict[str, Any]) -> str:
    """A markdown table of the genre figures: one row per subclass, one column per genre, each cell
    ``genre accuracy / subclass accuracy`` of the generated examples, then the overall figures."""
    genres = sorted({row["genre"] for row in result["genre_table"]})
    subclasses = sorted({row["subclass"] for row in result["genre_table"]})
    cells = {(row["genre"], row["subclass"]): row for row in result["genre_table"]}
    lines = ["| subclass | " + " | ".join(genres) + " |", "|---" * (len(genres) + 1) + "|"]
    for subclass in subclasses:
        lines.append(f"| {subclass} | " + " | ".join(
            f"{cells[g, subclass]['genre_accuracy']:.0%} / {cells[g, subclass]['subclass_accuracy']:.0%}"
            if (g, subclass) in cells else "-" for g in genres) + " |")
    lines.append(f"\ngenre accuracy {result['genre_accuracy']:.1%} (held-out real clips "
                 f"{result['genre_accuracy_real']:.1%}, each genre weighted equally), subclass accuracy of the "
                 f"genre requests {result['genre_instrument_accuracy']:.1%}")
    return "\n".join(lines)


def format_subclass_table(result: dict[str, Any]) -> str:
    """A markdown table of an audio evaluation, one row per subclass: conditional accuracy on the
    generated spectrograms and after the round trip through sound, and the within-subclass diversity
    ratios (generated / real held-out clips), then the overall row and, for conditional models, what
    the held-out real clips score with the same classifier and weighting."""
    columns = [("conditional_accuracy_per_subclass", "accuracy", "{:.1%}"),
               ("conditional_accuracy_audio_per_subclass", "accuracy (audio)", "{:.1%}"),
               ("pairwise_log_mag_per_subclass", "diversity spectra", "{:.2f}x"),
               ("pairwise_embedding_per_subclass", "diversity embedding", "{:.2f}x")]
    columns = [c for c in columns if c[0] in result]
    names = list(result.get("conditional_accuracy_per_subclass") or result["pairwise_log_mag_per_subclass"])
    lines = ["| subclass | " + " | ".join(c[1] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in names:
        cells = [fmt.format(result[key][name]) if name in result[key] else "-" for key, _, fmt in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    overall = {"conditional_accuracy_per_subclass": result.get("conditional_accuracy"),
               "conditional_accuracy_audio_per_subclass": result.get("conditional_accuracy_audio"),
               "pairwise_log_mag_per_subclass": result["pairwise_log_mag"] / result["pairwise_log_mag_real"],
               "pairwise_embedding_per_subclass": result["pairwise_embedding"] / result["pairwise_embedding_real"]}
    lines.append("| **all** | " + " | ".join(fmt.format(overall[key]) for key, _, fmt in columns) + " |")
    if "conditional_accuracy_real" in result:
        real, real_class = result["conditional_accuracy_real"], result["class_accuracy_real"]
        lines.append(f"\nheld-out real clips, each subclass weighted equally: accuracy "
                     f"{real:.1%}, class accuracy {real_class:.1%}; "
                     f"generated / real: {result['conditional_accuracy'] / max(real, 1e-9):.2f} "
                     f"(subclass), {result['class_accuracy'] / max(real_class, 1e-9):.2f} (class); "
                     f"FD {result['frechet_distance']:.1f} "
                     f"(real-vs-real floor {result['frechet_distance_real_floor']:.1f})")
    return "\n".join(lines)
