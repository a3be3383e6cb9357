"""Real-time factors of a trained generator.

The real-time factor (RTF) is the wall time to produce audio divided by the duration of that audio
(below 1 is faster than real time; 1/RTF is "times faster than real time"). It is measured after a
warm-up, as the median of several runs, for the generator alone, the inversion alone (Griffin-Lim,
IF -> ISTFT or IMDCT) and both together, at a given batch size.
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from audiofeat.progress import Progress
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.metrics import report_metric
from gansynth_zoo.evaluation.sampling import load_generator

__all__ = ["format_rtf_table", "real_time_factor", "record_real_time_factors"]


def _median_time(fn, repeat: int, device: torch.device) -> float:
    fn()
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def real_time_factor(run_dir: str | os.PathLike, *, batch_sizes: Sequence[int] = (1, 64), n_iter: int = 32,
                     repeat: int = 3, device: torch.device | str = "cpu",
                     progress: Progress | None = None) -> list[dict[str, Any]]:
    """RTF of generator, inversion and end to end for each batch size (module docstring); ``progress``
    (:mod:`audiofeat.progress`) hears ``("time batch sizes", done, total)``."""
    device = torch.device(device)
    G, export = load_generator(run_dir, device)
    representation = Representation.from_dict(export["data"]["representation"])
    audio_cfg = representation.feature_config.audio
    duration = audio_cfg.length / audio_cfg.sample_rate
    rows = []
    for batch in batch_sizes:
        z = torch.randn(batch, export["z_dim"], generator=torch.Generator().manual_seed(0)).to(device)
        c = export["conditioning"][torch.arange(batch) % len(export["label_names"])].to(device) if G.c_dim \
            else torch.zeros(batch, 0, device=device)
        x = G(z, c)
        generator_time = _median_time(lambda: G(z, c), repeat, device)
        inversion_time = _median_time(lambda: representation.to_audio(x, n_iter=n_iter), repeat, device)
        total_time = _median_time(lambda: representation.to_audio(G(z, c), n_iter=n_iter), repeat, device)
        audio_seconds = batch * duration
        rows.append({"device": str(device), "batch": batch, "clip_seconds": duration,
                     "griffinlim_iters": n_iter if representation.features in (("log_mag",), ("mel",)) else 0,
                     "rtf_generator": generator_time / audio_seconds, "rtf_inversion": inversion_time / audio_seconds,
                     "rtf_total": total_time / audio_seconds, "seconds_per_batch": total_time,
                     "threads": torch.get_num_threads()})
        if progress:
            progress("time batch sizes", len(rows), len(batch_sizes))
    return rows


def record_real_time_factors(run_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Any]:
    """:func:`real_time_factor` (same keyword arguments), each row appended to ``metric-rtf.jsonl``;
    returns ``{"rows": rows}``."""
    rows = real_time_factor(run_dir, **kwargs)
    for row in rows:
        report_metric(Path(run_dir), "rtf", row, checkpoint="generator.pt")
    return {"rows": rows}


def format_rtf_table(result: dict[str, Any]) -> str:
    """The rows of ``{"rows": real_time_factor(...)}`` as a text table, with "x real time" (1 / RTF)."""
    lines = [f"{'device':<8} {'batch':>5} {'GL iters':>8} {'RTF G':>10} {'RTF inversion':>14} {'RTF total':>10} "
             f"{'x real time':>12}"]
    lines += [f"{row['device']:<8} {row['batch']:>5} {row['griffinlim_iters']:>8} {row['rtf_generator']:>10.5f} "
              f"{row['rtf_inversion']:>14.5f} {row['rtf_total']:>10.5f} {1 / row['rtf_total']:>12.1f}"
              for row in result["rows"]]
    return "\n".join(lines)
