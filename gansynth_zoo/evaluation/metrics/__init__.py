"""The measures the evaluation suites share: a classifier for accuracy and embeddings
(:mod:`.classifier`), Fréchet distance and KID (:mod:`.frechet`), bin-based diversity, NDB/K and JSD
(:mod:`.ndb`) and pairwise distances (:mod:`.diversity`). :func:`report_metric` appends a result to
``metric-<name>.jsonl`` in a run folder together with the checkpoint it was computed from; the
suites are named in :mod:`gansynth_zoo.evaluation.registry`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["report_metric"]

def report_metric(run_dir: str | Path, name: str, result: dict[str, Any], *, checkpoint: str) -> Path:
    """Appends ``{"metric", "checkpoint", "time", **result}`` as one line of ``metric-<name>.jsonl``."""
    path = Path(run_dir) / f"metric-{name}.jsonl"
    record = {"metric": name, "checkpoint": checkpoint, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    return path
