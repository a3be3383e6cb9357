"""Choosing which checkpoint a run ships, by a metric recorded for each checkpoint.

A GAN's last checkpoint is not always its best. MP3Net at CPU scale reaches its lowest Fréchet
distance early and drifts afterwards (docs/results.md), so ``make train-mp3net`` scores every
checkpoint kept (``gansynth-zoo evaluate RUN --checkpoints``) and then runs
``gansynth-zoo select RUN --by mdct.fd``. This writes the EMA generator of the best-scoring checkpoint
as the run's ``generator.pt``, which ``sample``, ``rtf``, ``evaluate``, ``export`` and ``gallery`` use.

Nothing is lost: the generator the training ended with is the one in the newest checkpoint, which is
always kept, and ``selection.json`` records the choice (metric, direction, chosen step and value, and
every candidate). Selecting again, after more checkpoints were scored, chooses among all of them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError
from gansynth_zoo.tools.results import read_run
from gansynth_zoo.training.checkpoint import load_checkpoint, save_atomic

__all__ = ["select_checkpoint"]


def _scored_checkpoints(run_dir: Path, kind: str, field: str) -> dict[str, dict[str, Any]]:
    """The newest record of each checkpoint file still in the run folder, by file name."""
    records = read_run(run_dir)[1].get(kind)
    if records is None:
        raise ParameterError(f"{run_dir}: no metric-{kind}.jsonl; score the checkpoints first with "
                             f"`gansynth-zoo evaluate {run_dir} --checkpoints`")
    path = run_dir / f"metric-{kind}.jsonl"
    scored: dict[str, dict[str, Any]] = {}
    for record in records:
        name = str(record.get("checkpoint", "")).split(" ")[0]
        if not name.startswith("ckpt-") or not (run_dir / name).is_file():
            continue  # generator.pt's records, and checkpoints pruned since they were scored
        if field not in record:
            raise ParameterError(f"{path}: the record of {name} has no field {field!r} "
                                 f"(fields: {', '.join(sorted(record))})")
        scored[name] = record
    if not scored:
        raise ParameterError(f"{path} scores no checkpoint still in {run_dir}; run "
                             f"`gansynth-zoo evaluate {run_dir} --checkpoints` first")
    return scored


def select_checkpoint(run_dir: str | os.PathLike, metric: str, *, highest: bool = False) -> dict[str, Any]:
    """Writes the EMA generator of the checkpoint with the best ``metric`` as ``generator.pt``.

    Args:
        run_dir: a run folder whose checkpoints were scored (``metric-<kind>.jsonl`` records whose
            ``checkpoint`` names a ``ckpt-*.pt`` file).
        metric: ``<kind>.<field>``, e.g. ``mdct.fd``.
        highest: choose the highest value (a score such as an accuracy) instead of the lowest.

    Returns:
        The choice, also written to ``selection.json``: ``metric``, ``highest``, ``checkpoint``,
        ``step``, ``value`` and ``candidates`` (``[step, value]``, oldest first).

    Raises:
        ParameterError: ``metric`` is not ``<kind>.<field>``, the run has no such records of a
            checkpoint it still holds, or a record lacks the field.
    """
    run_dir = Path(run_dir)
    kind, _, field = metric.partition(".")
    if not kind or not field:
        raise ParameterError(f"--by {metric!r}: expected <metric>.<field>, e.g. mdct.fd")
    scored = _scored_checkpoints(run_dir, kind, field)
    names = sorted(scored)  # ckpt-{step:08d}.pt: oldest first
    chosen = (max if highest else min)(names, key=lambda name: float(scored[name][field]))
    checkpoint = load_checkpoint(run_dir / chosen)
    shipped = load_checkpoint(run_dir / "generator.pt")  # the same run: everything but the weights holds
    save_atomic({**shipped, "step": checkpoint["step"], "G_ema": checkpoint["G_ema"]}, run_dir / "generator.pt")
    selection = {"metric": metric, "highest": highest, "checkpoint": chosen, "step": int(checkpoint["step"]),
                 "value": scored[chosen][field],
                 "candidates": [[int(scored[name]["step"]), scored[name][field]] for name in names]}
    with atomic_path(run_dir / "selection.json") as tmp:
        tmp.write_text(json.dumps(selection, indent=1) + "\n")
    return selection
