"""Finding the audio files of a dataset and their hierarchical labels.

Two inputs are accepted:

- **a folder tree**: every audio file below the folder, labelled by the folders it sits in
  (``drums/kick/k1.wav`` -> label ``drums/kick``; deeper folders are kept: ``drums/kick/808/a.wav``
  -> ``drums/kick/808``). Files directly in the top folder have no class and are reported as skipped.
- **a CSV manifest** (UTF-8, with a header): required columns ``path`` (relative to the manifest's
  folder, or absolute) and ``label`` (``class/subclass[/...]``); every other column (source package,
  licence, ...) is kept as string metadata of the file.

Labels become numbers through :class:`audiofeat.labels.LabelVocabulary`.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from audiofeat.datasets.manifest import check_label
from audiofeat.exceptions import ParameterError
from audiofeat.io import scan_audio_files

__all__ = ["Source", "discover", "inputs_digest"]


@dataclass(frozen=True)
class Source:
    """One input file.

    Attributes:
        path: where to read it.
        name: its stable identifier inside a cache (the path relative to the input root or manifest).
        label: ``class/subclass[/...]``.
        meta: extra manifest columns.
    """

    path: Path
    name: str
    label: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)


def discover(input_path: str | os.PathLike) -> tuple[list[Source], list[tuple[str, str]]]:
    """Lists the sources of a folder tree or CSV manifest, sorted by name.

    Returns:
        ``(sources, skipped)``; ``skipped`` holds ``(name, reason)`` for entries that cannot be labelled.

    Raises:
        ParameterError: the input does not exist, the manifest lacks a required column, or no
            labelled audio was found.
    """
    input_path = Path(input_path)
    if input_path.is_file() and input_path.suffix.lower() == ".csv":
        sources, skipped = _from_manifest(input_path)
    elif input_path.is_dir():
        sources, skipped = _from_folder(input_path)
    else:
        raise ParameterError(f"input {input_path} must be a folder of audio files or a .csv manifest")
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ParameterError(f"{input_path}: the same file is listed more than once: {', '.join(duplicates[:5])}")
    if not sources:
        raise ParameterError(f"{input_path}: no labelled audio files found")
    return sorted(sources, key=lambda s: s.name), skipped


def _from_folder(root: Path) -> tuple[list[Source], list[tuple[str, str]]]:
    files, rejected = scan_audio_files(root)
    skipped = [(path.relative_to(root).as_posix(), reason) for path, reason in rejected]
    sources = []
    for path in files:
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            skipped.append((rel.as_posix(), "not inside a class folder, so it has no label"))
            continue
        sources.append(Source(path, rel.as_posix(), "/".join(rel.parts[:-1])))
    return sources, skipped


def _from_manifest(manifest: Path) -> tuple[list[Source], list[tuple[str, str]]]:
    with open(manifest, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ("path", "label") if c not in columns]
        if missing:
            raise ParameterError(f"{manifest}: missing column(s) {', '.join(missing)}; found {', '.join(columns)}")
        sources, skipped = [], []
        for line, row in enumerate(reader, start=2):
            name = (row["path"] or "").strip()
            label = (row["label"] or "").strip()
            if not name:
                skipped.append((f"{manifest.name}:{line}", "empty path"))
                continue
            if not label:
                skipped.append((name, f"empty label on line {line} of {manifest.name}"))
                continue
            try:
                check_label(label, min_levels=1)
            except ParameterError as error:
                raise ParameterError(f"{manifest}: line {line} ({name}): {error}") from None
            path = Path(name) if os.path.isabs(name) else manifest.parent / name
            meta = {k: v for k, v in row.items() if k not in ("path", "label") and k is not None}
            sources.append(Source(path, name, label, meta))
    return sources, skipped


def inputs_digest(sources: list[Source]) -> str:
    """SHA-1 over names, labels, sizes and modification times: changes when any input changes.

    Cheap (no file is read); the per-file content hashes stored in a cache are the exact record.
    """
    digest = hashlib.sha1()
    for source in sources:
        try:
            stat = source.path.stat()
            signature = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            signature = "missing"
        digest.update(f"{source.name}\0{source.label}\0{signature}\n".encode())
    return digest.hexdigest()
