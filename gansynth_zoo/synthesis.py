"""Samples of trained generators as files: WAVs and spectrogram PNGs of audio models, PNGs of image
models, one folder per category (and per genre)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from audiofeat.datasets.manifest import check_label
from audiofeat.exceptions import ParameterError
from audiofeat.io import save_audio
from audiofeat.progress import Progress
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import generate, load_generator
from gansynth_zoo.tools.images import image_grid, write_png

__all__ = ["genre_weights", "model_vocabulary", "requested_labels", "sample_files"]


def requested_labels(label_names: Sequence[str], category: str, n: int) -> torch.Tensor:
    """Label indices of ``n`` examples of ``category``: a subclass (``drums/kick``) gives ``n`` of it,
    a class (``drums``) spreads them over the class's subclasses in turn (hierarchical requests).

    Raises:
        ValueError: an unknown category (the message lists the known ones).
    """
    if category in label_names:
        return torch.full((n,), label_names.index(category), dtype=torch.long)
    members = [i for i, name in enumerate(label_names) if name.split("/")[0] == category]
    if not members:
        classes = sorted({name.split("/")[0] for name in label_names})
        raise ParameterError(f"unknown category {category!r}; this model knows the classes {', '.join(classes)} and "
                         f"the subclasses {', '.join(label_names)}")
    return torch.tensor(members)[torch.arange(n) % len(members)]


def model_vocabulary(export: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """What a generator can be asked for: its genres, classes and labels (subclasses or digits)."""
    names = list(export["label_names"])
    genres = list(export["data"].get("vocabulary", {}).get("genres", []))
    classes = sorted({name.split("/")[0] for name in names if "/" in name})
    return genres, classes, names


def genre_weights(request: str, genres: Sequence[str]) -> torch.Tensor:
    """The genre part of ``c`` for ``"electronic"`` (one-hot) or ``"electronic=0.5,acoustic=0.5"``
    (the given non-negative weights, so two genres can be mixed).

    Raises:
        ValueError: an unknown genre (the message lists the model's), a malformed or negative weight,
            or weights that are all zero.
    """
    if not genres:
        raise ParameterError("this model was trained without genres (data.genres = false); request a --class only")
    weights = torch.zeros(len(genres))
    for part in request.split(","):
        name, _, value = (p.strip() for p in part.partition("="))
        if name not in genres:
            raise ParameterError(f"unknown genre {name!r}; this model knows {', '.join(genres)}")
        try:
            weights[list(genres).index(name)] = float(value) if value else 1.0
        except ValueError:
            raise ParameterError(f"genre weight {value!r} of {name!r} is not a number (e.g. {name}=0.5)") from None
    if (weights < 0).any() or not weights.sum() > 0:
        raise ParameterError(f"genre weights must be non-negative and not all zero, got {request!r}")
    return weights


def _genre_folder(weights: torch.Tensor, genres: Sequence[str]) -> str:
    """``electronic`` for a one-hot request, ``acoustic0.5+electronic0.5`` for a mix."""
    chosen = [(genre, w) for genre, w in zip(genres, weights.tolist()) if w]
    if len(chosen) == 1 and chosen[0][1] == 1:
        return chosen[0][0]
    return "+".join(f"{genre}{w:g}" for genre, w in chosen)


def _category_folder(out_dir: Path, category: str) -> Path:
    """``out_dir/<category>``, refusing names that could leave ``out_dir`` (``..``, ``/x``, empty parts):
    category names come from the generator file, which may not be trustworthy."""
    try:
        check_label(category, min_levels=1)
    except ParameterError as error:
        raise ParameterError(f"category name {category!r} is not a safe folder name ({error}); the generator "
                         f"file may be corrupt or crafted") from None
    return out_dir.joinpath(*category.split("/"))


def _spectrogram_png(log_mag: torch.Tensor, path: Path) -> Path:
    """A grey image of one ``(freq, frames)`` log-magnitude (or log-mel), low frequencies at the
    bottom, 60 dB range."""
    top = log_mag.max()
    scaled = ((log_mag - top) / 6.9 + 1).clamp(0, 1)  # ln(10^3) = 6.9: 60 dB below the peak -> black
    return write_png((scaled.flip(0) * 255).round().to(torch.uint8).numpy(), path)


def sample_files(run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, categories: Sequence[str] = (),
                 genre: str | None = None, n: int = 8, seed: int = 0, n_iter: int = 32,
                 device: torch.device | str = "cpu", progress: Progress | None = None) -> list[Path]:
    """Writes ``n`` samples per category (every label when neither categories nor a genre is given)
    and returns their paths.

    ``run_dir`` is a run folder or a ``generator.pt`` file (:func:`gansynth_zoo.evaluation.sampling.load_generator`).
    A category is a label (``drums/kick``, ``3``) or a whole class (``drums``; :func:`requested_labels`).
    Audio models write ``out_dir/<class>/<subclass>/sample_000.wav`` with a spectrogram PNG beside it;
    image models (MNIST) write ``out_dir/<label>/sample_000.png``; an unconditional model writes
    into ``out_dir`` itself. ``n_iter`` is the Griffin-Lim iteration count of magnitude-only models.

    ``genre`` (models trained with ``data.genres``; :func:`genre_weights`) fills the genre part of
    ``c`` and puts the files under ``out_dir/<genre>/``; without categories it asks for the genre
    alone, with the category part of ``c`` zero. Without a genre the genre part is zero: "any genre".
    Marginal requests are ones the model has seen when it was trained with ``train.condition_dropout``.
    ``progress`` (:mod:`audiofeat.progress`) hears ``("sample", done, total)`` after each category.
    """
    G, export = load_generator(run_dir, device)
    out_dir = Path(out_dir)
    genres, _, names = model_vocabulary(export)
    table = export["conditioning"]
    if genre is not None:
        weights = genre_weights(genre, genres)
        out_dir = _category_folder(out_dir, _genre_folder(weights, genres))
    if not G.c_dim:
        groups = [(out_dir, torch.zeros(n, dtype=torch.long))]
    elif genre is not None and not categories:
        groups = [(out_dir, torch.full((n,), len(names), dtype=torch.long))]  # the zero row added below
    else:
        groups = [(_category_folder(out_dir, category), requested_labels(names, category, n))
                  for category in (list(categories) or names)]
    if G.c_dim:
        table = torch.cat([table, torch.zeros(1, table.shape[1])])
        if genre is not None:
            table[:, table.shape[1] - len(genres):] = weights
    audio = export["data"].get("representation")
    representation = None if audio is None else Representation.from_dict(audio)
    written = []
    for done, (folder, labels) in enumerate(groups, 1):
        x = generate(G, table, labels, export["z_dim"], seed=seed, device=device)
        if representation is not None:
            written += _write_audio(x, representation, folder, n_iter=n_iter, seed=seed)
        else:
            written += [_image_png(x[i], folder / f"sample_{i:03d}.png") for i in range(len(x))]
        if progress:
            progress("sample", done, len(groups))
    return written


def _write_audio(x: torch.Tensor, representation: Representation, folder: Path, *, n_iter: int,
                 seed: int) -> list[Path]:
    """``folder/sample_000.wav`` and so on, each with the PNG of its log-magnitude when the
    representation has one."""
    audio = representation.to_audio(x, n_iter=n_iter, generator=torch.Generator().manual_seed(seed))
    features = representation.decode(x)
    magnitude = representation.magnitude_feature if set(representation.features) & {"log_mag", "mel"} else ""
    written = []
    for i in range(len(x)):
        stem = folder / f"sample_{i:03d}"
        written.append(save_audio(stem.with_suffix(".wav"), audio[i], representation.feature_config.audio.sample_rate))
        if magnitude in features:
            _spectrogram_png(features[magnitude][i, 0], stem.with_suffix(".png"))
    return written


def _image_png(image: torch.Tensor, path: Path) -> Path:
    """One ``(1 or 3, h, w)`` image in [-1, 1] as a PNG."""
    return write_png(image_grid(image[None], nrow=1, padding=0), path)
