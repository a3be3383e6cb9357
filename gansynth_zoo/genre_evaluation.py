"""Genre evaluation of a spectrogram GAN conditioned on genre and category (``data.genres = true``).

A genre classifier is trained on the real examples that have a genre, with whole kits held out
(``split_indices`` over the genre labels, so every genre keeps kits on both sides where the data
allow), and its held-out accuracy, each genre weighted equally, is what a generator that matched
the data would score. Generated examples are requested for every (genre, subclass) cell the real
data have, the same number for each, and scored:

- ``genre_accuracy``: the genre classifier's prediction equals the requested genre (each genre
  weighted equally), against ``genre_accuracy_real``;
- ``genre_instrument_accuracy``: the run's subclass classifier on the same examples: does asking
  for a genre keep the instrument?
- ``genre_table``: per cell, the genre and the subclass accuracy, with the cell's real file count.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from gansynth_zoo.evaluation import generate
from gansynth_zoo.metrics.classifier import load_classifier, predict, save_classifier, train_classifier

__all__ = ["evaluate_genres", "format_genre_table", "genre_labels"]


def genre_labels(c: torch.Tensor, n_genres: int) -> torch.Tensor:
    """Each row's genre index from the last ``n_genres`` columns of ``c`` (-1 where they are zero)."""
    part = c[:, c.shape[1] - n_genres:]
    return torch.where(part.sum(1) > 0, part.argmax(1), torch.full((len(c),), -1))


def _balanced(correct: torch.Tensor, labels: torch.Tensor) -> float:
    return float(torch.stack([correct[labels == k].float().mean() for k in labels.unique()]).mean())


def evaluate_genres(G: torch.nn.Module, export: dict[str, Any], data, magnitude: Callable[[torch.Tensor], torch.Tensor],
                    subclass_classifier: torch.nn.Module, kits: Sequence[str] | None, *, classifier_path: Path,
                    split: Callable[..., tuple[torch.Tensor, torch.Tensor]], samples_per_cell: int = 16,
                    classifier_steps: int = 1500, seed: int = 0, device: torch.device | str = "cpu",
                    status: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The genre figures of a run (module docstring). ``magnitude`` maps model tensors to the
    classifiers' input, ``split`` is :func:`gansynth_zoo.audio_evaluation.split_indices`."""
    n_genres = len(data.genre_names)
    genres = genre_labels(data.c, n_genres)
    rows = torch.nonzero(genres >= 0).squeeze(1)
    groups = None if kits is None else [kits[i] for i in rows.tolist()]
    train, test = (rows[part] for part in split(genres[rows], seed=0, groups=groups))
    x = magnitude(data.x)
    if classifier_path.exists():
        classifier, info = load_classifier(classifier_path, device)
    else:
        classifier, info = train_classifier(x[train], genres[train], n_classes=n_genres, x_val=x[test],
                                            y_val=genres[test], steps=classifier_steps, batch_size=32, device=device,
                                            status=status, channels=(16, 32, 64, 64), embed_dim=64)
        save_classifier(classifier, info, classifier_path)
    real_correct = predict(classifier, x[test], device).argmax(1) == genres[test]
    cells = sorted({(int(g), int(s)) for g, s in zip(genres[rows].tolist(), data.labels[rows].tolist())})
    counts = {cell: 0 for cell in cells}
    for cell in zip(genres[rows].tolist(), data.labels[rows].tolist()):
        counts[cell] += 1
    wanted_genre = torch.tensor([g for g, _ in cells]).repeat_interleave(samples_per_cell)
    wanted_label = torch.tensor([s for _, s in cells]).repeat_interleave(samples_per_cell)
    requests = export["conditioning"][wanted_label].clone()  # its genre part is zero
    requests[torch.arange(len(requests)), requests.shape[1] - n_genres + wanted_genre] = 1
    fake = magnitude(generate(G, requests, torch.arange(len(requests)), export["z_dim"], seed=seed, device=device,
                              batch_size=64))
    genre_hit = predict(classifier, fake, device).argmax(1) == wanted_genre
    label_hit = predict(subclass_classifier, fake, device).argmax(1) == wanted_label
    return {
        "genre_classifier_held_out_accuracy": info["val_accuracy"],
        "genre_held_out_kits": sorted({kits[i] for i in test.tolist()}) if kits else None,
        "genre_accuracy": _balanced(genre_hit, wanted_genre),
        "genre_accuracy_real": _balanced(real_correct, genres[test]),
        "genre_instrument_accuracy": float(label_hit.float().mean()),
        "genre_table": [{"genre": data.genre_names[g], "subclass": data.label_names[s], "real_files": counts[(g, s)],
                         "genre_accuracy": float(genre_hit[i * samples_per_cell:(i + 1) * samples_per_cell]
                                                 .float().mean()),
                         "subclass_accuracy": float(label_hit[i * samples_per_cell:(i + 1) * samples_per_cell]
                                                    .float().mean())}
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
