"""Machine-readable results: run folders distilled into one JSON file that outlives them.

Run folders hold checkpoints and are not kept in the repository; the figures and tables of
docs/results.md and of the report (``report/``) are built from ``docs/results/data/*.json``, which
``gansynth-zoo results RUN ... --out FILE`` writes. Each run becomes one record:

- ``name``, ``run`` (the folder as given) and ``config`` (its resolved ``config.json``);
- ``metrics``: every record of every ``metric-<kind>.jsonl``, by kind (one per evaluated checkpoint);
- ``training``: the last training record's step, and the wall and CPU seconds summed over the
  training's sittings (a resumed run restarts both counters), or ``None`` for a folder without
  ``metrics.jsonl`` (a pretrained generator);
- ``critic``: ``[step, score/real - score/fake]`` at every logged step, the critic's real-minus-
  generated gap;
- ``selection``: which checkpoint the run ships, when ``gansynth-zoo select`` chose it (its
  ``selection.json``), else ``None``.

Records are keyed by a label (``--label``, default the run's ``name``), so a results file reads as
``data["runs"]["P"]["metrics"]["mdct"][-1]["fd"]``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError

__all__ = ["read_run", "run_record", "write_results"]


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _training(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps and time of a training log; a counter that falls marks a resumed sitting."""
    wall = cpu = 0.0
    last_wall = last_cpu = 0.0
    for record in records:
        if record["wall_seconds"] < last_wall:  # a new sitting: bank the previous one
            wall, cpu = wall + last_wall, cpu + last_cpu
        last_wall, last_cpu = record["wall_seconds"], record["cpu_seconds"]
    return {"steps": records[-1]["step"], "wall_seconds": round(wall + last_wall, 3),
            "cpu_seconds": round(cpu + last_cpu, 3),
            "sec_per_step": [[r["step"], r["sec_per_step"]] for r in records]}


def read_run(run_dir: str | os.PathLike) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A run folder's resolved config and every record of each ``metric-<kind>.jsonl``, by kind.

    Raises:
        ParameterError: the folder has no ``config.json`` (not a run folder).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise ParameterError(f"{run_dir}: not a run folder (no config.json)")
    metrics = {p.stem.removeprefix("metric-"): _records(p) for p in sorted(run_dir.glob("metric-*.jsonl"))}
    return json.loads((run_dir / "config.json").read_text()), metrics


def run_record(run_dir: str | os.PathLike) -> dict[str, Any]:
    """One run folder as a record (module docstring).

    Raises:
        ParameterError: the folder has no ``config.json`` (not a run folder).
    """
    run_dir = Path(run_dir)
    config, metrics = read_run(run_dir)
    log = _records(run_dir / "metrics.jsonl") if (run_dir / "metrics.jsonl").is_file() else []
    return {
        "name": config.get("name", run_dir.name),
        "run": str(run_dir),
        "config": config,
        "metrics": metrics,
        "training": _training(log) if log else None,
        "critic": [[r["step"], r["score/real"] - r["score/fake"]] for r in log if "score/real" in r],
        "selection": json.loads(selection.read_text()) if (selection := run_dir / "selection.json").is_file()
        else None,
    }


def write_results(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                  labels: Sequence[str] = (), *, update: bool = False) -> Path:
    """Writes ``{"runs": {label: record}}`` for the runs to ``out`` (atomically), where the labels
    are ``labels`` (one per run) or the runs' names.

    With ``update``, the runs already in ``out`` stay, except those whose label is given again: a
    study whose run folders are gone (they live on one machine) gains its new runs one by one.

    Raises:
        ParameterError: a folder is not a run, the labels do not match the runs one to one, two
            runs get the same label, or ``out`` (with ``update``) is not a results file.
    """
    if labels and len(labels) != len(run_dirs):
        raise ParameterError(f"{len(labels)} labels for {len(run_dirs)} runs: give one --label per run, or none")
    records = [run_record(run) for run in run_dirs]
    keys = list(labels) or [r["name"] for r in records]
    if len(set(keys)) != len(keys):
        raise ParameterError(f"two runs share a label ({', '.join(sorted({k for k in keys if keys.count(k) > 1}))}); "
                             "give each run its own --label")
    out = Path(out)
    runs = _existing_runs(out) if update and out.exists() else {}
    runs.update(zip(keys, records))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps({"runs": runs}, indent=1) + "\n")
    return out


def _existing_runs(path: Path) -> dict[str, Any]:
    try:
        runs = json.loads(path.read_text())["runs"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ParameterError(f"{path}: not a results file to update ({type(error).__name__}: {error})") from None
    if not isinstance(runs, dict):
        raise ParameterError(f"{path}: not a results file to update (\"runs\" is not an object)")
    return runs
