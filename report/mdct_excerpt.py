"""The MDCT of a 96-s excerpt of music, reduced for the report's figure (a results file).

    .venv/bin/python report/mdct_excerpt.py AUDIO --start 30 --out docs/results/data/mdct-excerpt.npz

The excerpt is read at MP3net's rate (22,016 Hz), mixed to mono and peak-normalised, and
transformed with MP3net's MDCT (128 bins, Vorbis window, ``norm="mp3net"``). Stored, as float16
where large: ``log_power_db`` (bins x columns), the MDCT power in dB with each column the maximum
over a run of frames, so that 96 s fit in at most ``--columns`` columns without losing onsets;
``amplitude``, the waveform's peak over the same runs; ``sample_rate``, ``hop_seconds`` (seconds per
column) and ``source`` (the file's name). ``report/build.py`` draws the figure from it.
"""
from __future__ import annotations

import math
from pathlib import Path

import click
import numpy as np
import torch

from audiofeat.functional.mdct import mdct
from audiofeat.io import load_audio, peak_normalize

RATE, BINS = 22016, 128


@click.command()
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--start", default=0.0, show_default=True, help="Start of the excerpt in seconds.")
@click.option("--seconds", default=96.0, show_default=True, help="Length of the excerpt.")
@click.option("--columns", default=1024, show_default=True, help="Most time columns kept.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def main(audio: Path, start: float, seconds: float, columns: int, out: Path) -> None:
    waveform = load_audio(audio, sample_rate=RATE, channels=1)[0].squeeze(0)
    first = int(start * RATE)
    excerpt = waveform[first:first + int(seconds * RATE)]
    if excerpt.numel() < int(seconds * RATE):
        raise click.BadParameter(f"{audio} has {waveform.numel() / RATE:.1f} s; the excerpt needs {start + seconds} s",
                                 param_hint="--start/--seconds")
    excerpt = peak_normalize(excerpt)
    coeffs = mdct(excerpt.double(), n_bins=BINS, norm="mp3net")  # (bins, frames)
    frames = coeffs.shape[-1]
    run = math.ceil(frames / columns)
    usable = frames // run * run
    power = coeffs[:, :usable].square().reshape(BINS, -1, run).amax(dim=2)
    db = 10 * torch.log10(power + 1e-12)
    peaks = excerpt[:usable * BINS].abs().reshape(-1, run * BINS).amax(dim=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, log_power_db=db.numpy().astype(np.float16), amplitude=peaks.numpy().astype(np.float16),
                        sample_rate=RATE, hop_seconds=run * BINS / RATE, source=audio.name)
    click.echo(f"wrote {out}: {db.shape[1]} columns of {run} frames from {seconds:.0f} s of {audio.name}")


if __name__ == "__main__":
    main()
