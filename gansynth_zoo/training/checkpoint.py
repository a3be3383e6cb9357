"""Atomic, self-describing checkpoints that load with ``torch.load(..., weights_only=True)``.

``ckpt-{step:08d}.pt`` (to resume) holds a format version, the step, the model name and constructor
arguments, every state dict (G, D, G_ema, both optimisers), the resolved config, the data description
and every random-number state. ``generator.pt`` (for inference) holds the model name, the generator's
arguments, the EMA weights and the data description (label names, feature parameters), so sampling
needs neither the config nor the training data (:func:`gansynth_zoo.evaluation.sampling.load_generator`).
Only tensors and plain containers are stored.
"""
from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError, WriteError

__all__ = ["FORMAT_VERSION", "latest_checkpoint", "list_checkpoints", "load_checkpoint",
           "load_latest_intact", "save_atomic"]

FORMAT_VERSION = 1
_PATTERN = re.compile(r"ckpt-(\d{8})\.pt$")


def save_atomic(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename: never a half-written file.

    Raises:
        WriteError: the file cannot be written (disk full, read-only folder); the message names it.
            Earlier checkpoints are untouched and the temporary file is removed.
    """
    try:
        with atomic_path(path) as tmp:
            torch.save(obj, tmp)
    except (OSError, RuntimeError) as error:  # torch reports a failed write as RuntimeError
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        raise WriteError(f"cannot write {path}: {reason}") from None
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Loads a checkpoint on the CPU with ``weights_only=True`` and checks its format version."""
    if not Path(path).is_file():
        raise ParameterError(f"{path} does not exist: not a checkpoint or generator file (a run writes "
                             "generator.pt at its first checkpoint)")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("format_version") != FORMAT_VERSION:
        raise ParameterError(f"{path}: checkpoint format {data.get('format_version')}, expected {FORMAT_VERSION}")
    return data


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Resumable checkpoints of a run, oldest first."""
    return sorted(p for p in Path(run_dir).glob("ckpt-*.pt") if _PATTERN.search(p.name))


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_latest_intact(run_dir: str | os.PathLike, warn: Callable[[str], None] | None = None
                       ) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of a run that loads, with its contents (``None`` when there is none).

    A checkpoint that does not load (truncated by a full disk or a copy cut short) is skipped with a
    warning naming it, and the next older one is tried; nothing is deleted. Temporary files of
    interrupted writes (``.ckpt-*.tmp``, ``.generator.pt.*.tmp``) are removed first.
    """
    run_dir = Path(run_dir)
    for stale in run_dir.glob(".*.pt.*.tmp"):
        stale.unlink(missing_ok=True)  # every rank of a distributed resume cleans up
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except (RuntimeError, EOFError, OSError, ValueError, KeyError, pickle.UnpicklingError) as error:
            if warn:
                warn(f"warning: {path} is unreadable ({str(error).splitlines()[0]}); trying an older checkpoint")
    return None
