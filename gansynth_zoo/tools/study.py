"""Tables over several runs: the same metrics grouped by config values, as mean and spread.

A study trains the same config with a few seeds and one or more settings (for example
``loss.mode_seeking`` at 0 and at a tuned value) and then compares the groups. :func:`collect` reads
each run folder (its ``config.json`` and the last record of each ``metric-*.jsonl``) into one flat
record, :func:`summarize` groups the records and :func:`format_markdown` writes the table that
``gansynth-zoo compare`` prints.
"""
from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

from audiofeat.exceptions import ParameterError
from gansynth_zoo.tools.results import read_run

__all__ = ["GroupSummary", "collect", "format_markdown", "summarize"]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    else:
        out[prefix] = value


def collect(run_dir: str | os.PathLike) -> dict[str, Any]:
    """One run as a flat record: ``config.<dotted key>`` for the resolved config and
    ``<metric name>.<field>`` from the last line of each ``metric-<metric name>.jsonl``.

    Raises:
        ParameterError: the folder has no ``config.json`` (not a run folder).
    """
    config, metrics = read_run(run_dir)
    record: dict[str, Any] = {"run": str(run_dir)}
    _flatten("config", config, record)
    for kind, records in metrics.items():
        if records:
            _flatten(kind, records[-1], record)
    return record


class GroupSummary(NamedTuple):
    """Attributes:
        key: the group's values of the ``by`` fields.
        runs: how many runs the group has.
        stats: per metric, ``(mean, sample standard deviation, count)`` over the runs that report it
            (standard deviation ``nan`` for a single run); ``None`` when none does.
    """

    key: tuple[Any, ...]
    runs: int
    stats: dict[str, tuple[float, float, int] | None]


def summarize(records: Sequence[dict[str, Any]], by: Sequence[str], metrics: Sequence[str]) -> list[GroupSummary]:
    """Groups ``records`` by the values of the ``by`` fields (in order of first appearance) and
    summarises each numeric metric field.

    Raises:
        KeyError: a ``by`` field that some record lacks (names the run and the field).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        missing = [field for field in by if field not in record]
        if missing:
            raise ParameterError(f"{record.get('run', '?')}: no field {missing[0]!r}")
        groups.setdefault(tuple(record[field] for field in by), []).append(record)
    summaries = []
    for key, members in groups.items():
        stats: dict[str, tuple[float, float, int] | None] = {}
        for metric in metrics:
            values = [float(r[metric]) for r in members if isinstance(r.get(metric), (int, float))]
            if not values:
                stats[metric] = None
            else:
                spread = statistics.stdev(values) if len(values) > 1 else math.nan
                stats[metric] = (statistics.fmean(values), spread, len(values))
        summaries.append(GroupSummary(key, len(members), stats))
    return summaries


def _cell(stat: tuple[float, float, int] | None, digits: int) -> str:
    if stat is None:
        return "-"
    mean, spread, _ = stat
    return f"{mean:.{digits}g}" if math.isnan(spread) else f"{mean:.{digits}g} ± {spread:.2g}"


def format_markdown(summaries: Sequence[GroupSummary], by: Sequence[str], metrics: Sequence[str], *,
                    digits: int = 4) -> str:
    """A markdown table: one row per group, ``mean ± sample std`` per metric (``-``: not reported)."""
    header = [*by, "runs", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for summary in summaries:
        cells = [str(v) for v in summary.key] + [str(summary.runs)]
        cells += [_cell(summary.stats[metric], digits) for metric in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
