"""Evaluation metrics: a classifier-based suite (conditional accuracy, Fréchet distance, KID),
bin-based diversity (NDB/K, JSD) and pairwise distances.

Metrics are registered by name with :func:`register_metric`; :func:`report_metric` appends a result
to ``metric-<name>.jsonl`` in a run folder together with the checkpoint it was computed from.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["METRICS", "register_metric", "report_metric"]

METRICS: dict[str, Callable[..., dict[str, Any]]] = {}


def register_metric(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def decorate(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = fn
        return fn
    return decorate


def report_metric(run_dir: str | Path, name: str, result: dict[str, Any], *, checkpoint: str) -> Path:
    """Appends ``{"metric", "checkpoint", "time", **result}`` as one line of ``metric-<name>.jsonl``."""
    path = Path(run_dir) / f"metric-{name}.jsonl"
    record = {"metric": name, "checkpoint": checkpoint, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    return path
