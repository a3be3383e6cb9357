"""Joins the clips ``gansynth-zoo sample`` wrote for one category into one WAV, so that the spread
within a category (what the diversity study measures) can be heard in one listen.

    .venv/bin/python report/sample_reel.py RUN/samples --category drums/kick --out docs/results/NAME.wav

The clips (``sample_000.wav``, ``sample_001.wav``, ... of ``SAMPLES/<class>/<subclass>/``) are
joined in order with ``--gap`` seconds of silence between them.
"""
from __future__ import annotations

from pathlib import Path

import click
import torch

from audiofeat.io import read_audio, save_audio


@click.command()
@click.argument("samples_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--category", required=True, help="a subclass, e.g. drums/kick")
@click.option("--gap", default=0.25, show_default=True, help="seconds of silence between clips")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def main(samples_dir: Path, category: str, gap: float, out: Path) -> None:
    clips = sorted((samples_dir / category).glob("sample_*.wav"))
    if not clips:
        raise click.BadParameter(f"no sample_*.wav in {samples_dir / category}", param_hint="--category")
    pieces, rate = [], None
    for path in clips:
        waveform, clip_rate = read_audio(path)
        if rate not in (None, clip_rate):
            raise click.ClickException(f"{path}: {clip_rate} Hz, the clips before it are {rate} Hz")
        rate = clip_rate
        silence = torch.zeros(waveform.shape[0], round(gap * rate))
        pieces += [waveform, silence]
    click.echo(save_audio(out, torch.cat(pieces[:-1], dim=1), rate))


if __name__ == "__main__":
    main()
