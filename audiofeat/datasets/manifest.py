"""CSV manifests: a list of labelled audio files, the alternative to a ``class/subclass/*.wav`` tree.

Format (also described in ``docs/data.md``):

- a UTF-8 text file in CSV (RFC 4180 quoting, as written by Python's :mod:`csv`), with a header row;
- required column ``path``: the audio file, relative to the folder that holds the manifest, or
  absolute;
- required column ``label``: ``class/subclass``; deeper levels are allowed with more slashes
  (``music/wesnoth-1.16-music``, ``drums/hihat/open``). Each level is a non-empty run of letters,
  digits, ``.``, ``_``, ``+`` or ``-``, and not dots alone (a label becomes a folder name);
- any further columns (``source_package``, ``package_version``, ``licence``, ``copyright``,
  ``original_name``, ``duration_s``, ...) are free metadata, kept as strings.

Rows are independent; their order carries no meaning, but :func:`write_manifest` keeps it stable
so that manifests diff well. :func:`audiofeat.discovery.discover` reads manifests (and folder trees)
for feature extraction.
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError

__all__ = ["REQUIRED_COLUMNS", "check_label", "write_csv", "write_manifest"]

#: The columns every manifest has, in this order, before any metadata column.
REQUIRED_COLUMNS: tuple[str, str] = ("path", "label")

_LEVEL = re.compile(r"[A-Za-z0-9._+-]+")


def check_label(label: str, *, min_levels: int = 2) -> str:
    """Returns ``label`` if it is ``class/subclass[/...]`` (at least ``min_levels`` levels of letters,
    digits and ``._+-``, none empty and none of dots alone, so a label is always a safe relative
    folder name), else raises `ParameterError`."""
    levels = label.split("/") if isinstance(label, str) else []
    if len(levels) < min_levels or not all(_LEVEL.fullmatch(p) and set(p) != {"."} for p in levels):
        shape = "class/subclass" if min_levels >= 2 else "class[/subclass]"
        raise ParameterError(f"label must look like '{shape}' (levels of letters, digits, '._+-', not only "
                             f"dots), got {label!r}")
    return label


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, object]]) -> Path:
    """Writes rows atomically as a manifest; the columns are ``path``, ``label``, then the others.

    Metadata columns appear in the order they are first met; a row without one of them gets an
    empty cell. Values are written with ``str``; a ``path`` that is a :class:`~pathlib.Path` is
    written as given (relative paths stay relative to the manifest's folder).

    Raises:
        ParameterError: a row lacks ``path`` or ``label``, or has an invalid label.
    """
    rows = list(rows)
    for number, row in enumerate(rows, start=1):
        missing = [c for c in REQUIRED_COLUMNS if c not in row or row[c] in ("", None)]
        if missing:
            raise ParameterError(f"manifest row {number} has no {' or '.join(missing)}: {dict(row)}")
        check_label(str(row["label"]))
    return write_csv(path, rows, columns=REQUIRED_COLUMNS)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, object]], *,
              columns: Sequence[str] = ()) -> Path:
    """Writes rows as a UTF-8 CSV with a header, atomically (temporary file, then rename).

    The header is ``columns`` followed by every other key in the order it is first met; missing
    cells are left empty and values are written with ``str``.
    """
    path = Path(path)
    rows = list(rows)
    header = list(columns)
    for row in rows:
        header.extend(key for key in row if key not in header)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: str(value) for key, value in row.items()})
    return path
