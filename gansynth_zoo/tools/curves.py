"""Training curves of one or more runs as PNGs: losses, critic scores and step time against steps (from
``metrics.jsonl``), and every metric recorded at more than one step (from ``metric-*.jsonl``, e.g.
``evaluate --checkpoints``). Needs matplotlib (the ``plot`` extra)."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiofeat.exceptions import ParameterError

__all__ = ["plot_runs", "read_records"]

_NOT_CURVES = {"step", "seed", "samples", "k", "batch", "time"}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` (a line cut short by a crash is skipped)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _series(records: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, tuple[list[int], list[float]]]:
    """key -> (steps, values) over the records that have both a step and a finite number for the key."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for key in keys:
        points = [(r["step"], float(r[key])) for r in records
                  if "step" in r and isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        if points:
            out[key] = ([s for s, _ in points], [v for _, v in points])
    return out


def _numeric_keys(records: list[dict[str, Any]], prefix: str = "") -> list[str]:
    keys = {k for r in records for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return sorted(k for k in keys if k.startswith(prefix) and k not in _NOT_CURVES)


def _figure(panels: dict[str, dict[str, tuple[list[int], list[float]]]], title: str, path: Path,
            ylabels: dict[str, str] | None = None) -> Path:
    """One subplot per panel, one line per run in each, with axes labels and a legend."""
    from matplotlib.figure import Figure  # the optional `plot` extra; no pyplot, no global backend

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(5 * columns, 3.4 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax, (name, lines) in zip(axes.flat, panels.items()):
        for run, (steps, values) in lines.items():
            ax.plot(steps, values, label=run, marker="o" if len(steps) < 20 else None, markersize=3)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel((ylabels or {}).get(name, name.split("/")[-1]))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def plot_runs(run_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> list[Path]:
    """Writes ``losses.png``, ``step_time.png`` and, where recorded, ``scores.png`` and one
    ``metric-<name>.png`` per metric file into ``out_dir``; returns their paths.

    Raises:
        ParameterError: a folder that is not a run (no ``metrics.jsonl``).
    """
    runs = {}
    for run_dir in map(Path, run_dirs):
        if not (run_dir / "metrics.jsonl").is_file():
            raise ParameterError(f"{run_dir}: not a run folder (no metrics.jsonl)")
        runs[run_dir.name] = run_dir
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    logs = {name: read_records(run / "metrics.jsonl") for name, run in runs.items()}
    written = []
    for prefix, file, title in (("loss/", "losses.png", "losses"), ("score/", "scores.png", "critic scores")):
        keys = sorted({k for records in logs.values() for k in _numeric_keys(records, prefix)})
        panels = {key: {name: line for name, records in logs.items()
                        for k, line in _series(records, [key]).items()} for key in keys}
        if panels:
            written.append(_figure(panels, title, out / file))
    timing = {name: _series(records, ["sec_per_step"]).get("sec_per_step") for name, records in logs.items()}
    written.append(_figure({"seconds per step": {n: line for n, line in timing.items() if line}}, "step time",
                           out / "step_time.png", {"seconds per step": "s / step"}))
    metric_files = sorted({p.name for run in runs.values() for p in run.glob("metric-*.jsonl")})
    for file in metric_files:
        records = {name: read_records(run / file) for name, run in runs.items() if (run / file).is_file()}
        keys = sorted({k for rs in records.values() for k in _numeric_keys(rs)})
        panels = {}
        for key in keys:
            lines = {name: line for name, rs in records.items() for line in _series(rs, [key]).values()
                     if len(set(line[0])) > 1}  # a curve needs records at more than one step
            if any(len(set(values)) > 1 for _, values in lines.values()):  # not a constant (a real reference)
                panels[key] = lines
        if panels:
            written.append(_figure(panels, file.removesuffix(".jsonl"), out / file.replace(".jsonl", ".png")))
    return written
