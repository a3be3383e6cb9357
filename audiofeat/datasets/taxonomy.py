"""Training taxonomies: a source manifest's labels mapped onto the labels a model is conditioned on.

A source such as ``make data-oneshots`` labels files as finely as their names allow (48 labels,
18 of them with fewer than 8 files). A model needs fewer, fuller labels. A taxonomy file
(``pipelines/taxonomies/*.toml``) says, for each source label, which training label it becomes;
source labels it does not list are left out::

    description = "..."
    min_examples = 20

    [labels]
    "drums/kick" = "drums/kick"
    "percussion/djembe" = "percussion/hand"   # merged with the other hand drums

:func:`relabel_manifest` writes the relabelled manifest (the original label kept in a
``source_label`` column) and refuses a taxonomy whose training labels end up with fewer than
``min_examples`` files, naming them, so that a thin label is a decision made in the file rather
than an accident of the data.

A taxonomy may also give every file a **genre**, from the kit or package folder it comes from (the
manifest's ``kit`` column), never from listening to single files. Folders that mix styles get no
genre of their own; name rules then give one to the files whose names say it, and the rest keep an
empty genre ("unknown")::

    [genres]
    "TR808EmulationKit" = "electronic"
    "GMRockKit" = "acoustic"

    [genre_names]        # for files of kits without a genre: a fragment of the file name -> genre
    "_acoustic" = "acoustic"

The relabelled manifest then has a ``genre`` column, and the report counts files per genre and label.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from audiofeat.config import load_config
from audiofeat.datasets.manifest import check_label, write_manifest
from audiofeat.exceptions import ConfigError, ParameterError

__all__ = ["RelabelReport", "Taxonomy", "load_taxonomy", "relabel_manifest"]


@dataclass(frozen=True)
class Taxonomy:
    """Attributes:
        labels: source label -> training label (``class/subclass``); unlisted source labels are dropped.
        min_examples: the fewest files a training label may have.
        description: what the taxonomy is for.
        genres: kit (the manifest's ``kit`` column) -> genre; kits not listed have no genre of their own.
        genre_names: for files of kits without a genre, a fragment of the file name (case-insensitive)
            -> genre; the first fragment found wins, and a file that matches none has no genre.
    """

    labels: dict[str, str] = field(default_factory=dict)
    min_examples: int = 1
    description: str = ""
    genres: dict[str, str] = field(default_factory=dict)
    genre_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.labels:
            raise ConfigError("a taxonomy needs a [labels] table mapping source labels to training labels")
        for source, target in self.labels.items():
            try:
                check_label(target)
            except ParameterError as error:
                raise ConfigError(f"taxonomy label {source!r} -> {target!r}: {error}") from None
        if self.min_examples < 1:
            raise ConfigError(f"min_examples must be at least 1, got {self.min_examples}")
        for table, mapping in (("genres", self.genres), ("genre_names", self.genre_names)):
            for key, genre in mapping.items():
                if not _GENRE.fullmatch(genre):
                    raise ConfigError(f"taxonomy [{table}] {key!r} -> {genre!r}: a genre is a lower-case name "
                                      "of letters, digits, '-' and '_'")

    def genre_of(self, kit: str, path: str) -> str:
        """The genre of a file of ``kit`` at ``path`` ("" when neither its kit nor its name gives one)."""
        if kit in self.genres:
            return self.genres[kit]
        name = Path(path).name.lower()
        return next((genre for fragment, genre in self.genre_names.items() if fragment.lower() in name), "")


_GENRE = re.compile(r"[a-z0-9][a-z0-9_-]*")


def load_taxonomy(path: str | os.PathLike) -> Taxonomy:
    """Reads a taxonomy TOML file (:class:`Taxonomy`; ``extends`` works as in every config)."""
    return load_config(path, Taxonomy)


@dataclass(frozen=True)
class RelabelReport:
    """What :func:`relabel_manifest` wrote: files per training label, files per dropped source label
    and, for a taxonomy with genres, files per genre ("" for none) and training label."""

    manifest: Path
    counts: dict[str, int]
    dropped: dict[str, int]
    genre_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def relabel_manifest(manifest: str | os.PathLike, out: str | os.PathLike, taxonomy: Taxonomy) -> RelabelReport:
    """Writes ``out``: the rows of ``manifest`` whose label the taxonomy lists, relabelled.

    Paths are rewritten relative to the folder of ``out`` (absolute ones stay absolute), so the new
    manifest can live anywhere. Every other column is kept; ``source_label`` holds the old label.

    Raises:
        ParameterError: ``manifest`` is unreadable or lacks ``path``/``label`` columns, ``out`` is the
            input itself, a taxonomy entry names a label the manifest does not have, or a training
            label has fewer than ``taxonomy.min_examples`` files (all named in the message).
    """
    manifest, out = Path(manifest), Path(out)
    if out.resolve() == manifest.resolve():
        raise ParameterError(f"{out}: the relabelled manifest must not overwrite its input")
    try:
        with open(manifest, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ParameterError(f"{manifest}: cannot read the manifest ({error})") from None
    if rows and not {"path", "label"} <= set(rows[0]):
        raise ParameterError(f"{manifest}: a manifest needs 'path' and 'label' columns, it has {list(rows[0])}")
    present = Counter(row["label"] for row in rows)
    unknown = sorted(set(taxonomy.labels) - set(present))
    if unknown:
        raise ParameterError(f"{manifest}: the taxonomy maps labels the manifest does not have: {', '.join(unknown)}")
    with_genres = bool(taxonomy.genres or taxonomy.genre_names)
    if with_genres:
        if rows and "kit" not in rows[0]:
            raise ParameterError(f"{manifest}: genres come from the kit of each file, but the manifest has no "
                                 "'kit' column")
        unknown = sorted(set(taxonomy.genres) - {row["kit"] for row in rows})
        if unknown:
            raise ParameterError(f"{manifest}: the taxonomy gives genres to kits the manifest does not have: "
                                 f"{', '.join(unknown)}")
    kept: list[dict[str, str]] = []
    dropped: Counter[str] = Counter()
    for row in rows:
        target = taxonomy.labels.get(row["label"])
        if target is None:
            dropped[row["label"]] += 1
            continue
        path = Path(row["path"])
        if not path.is_absolute():
            path = Path(os.path.relpath(manifest.parent / path, out.parent))
        genre_column = {"genre": taxonomy.genre_of(row["kit"], row["path"])} if with_genres else {}
        kept.append({**row, "path": path.as_posix(), "label": target, "source_label": row["label"], **genre_column})
    counts = dict(sorted(Counter(row["label"] for row in kept).items()))
    genre_counts: dict[str, dict[str, int]] = {}
    if with_genres:
        for (genre, label), n in sorted(Counter((row["genre"], row["label"]) for row in kept).items()):
            genre_counts.setdefault(genre, {})[label] = n
    thin = {label: n for label, n in counts.items() if n < taxonomy.min_examples}
    if thin:
        raise ParameterError(f"training label(s) with fewer than {taxonomy.min_examples} files: "
                             + ", ".join(f"{label} ({n})" for label, n in thin.items())
                             + "; merge or drop them in the taxonomy")
    out.parent.mkdir(parents=True, exist_ok=True)
    return RelabelReport(write_manifest(out, kept), counts, dict(sorted(dropped.items())), genre_counts)
