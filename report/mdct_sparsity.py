"""Where a generated MDCT is too sparse: per band of 16 bins, real against generated (docs/results.md,
MP3net at CPU scale).

    .venv/bin/python report/mdct_sparsity.py RUN [--cache data/features/piano-trial.h5] [--samples 64]

For each band it prints the fraction of coefficients below the masking threshold, the level (mean power
in dB, MP3net's scale) and the masking threshold's level, for random real windows of the cache and for
as many clips of the run's EMA generator; then, over the whole window, the fraction of model values
(with ``data.normalization = "cbrt"``, the signed cube roots of the MDCT) within a quarter of their
band's RMS of zero, which is small for real music (the cube root of a roughly Gaussian coefficient
is rarely near 0) and large for a generator whose output is densest at 0.
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from gansynth_zoo.data.cache import Representation, load_cache_data
from gansynth_zoo.evaluation.mdct import mdct_and_threshold
from gansynth_zoo.evaluation.sampling import load_generator

BAND_BINS = 16


def band_report(x: torch.Tensor, representation: Representation, threshold: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """``(below, level_db, threshold_db)`` per band and the near-zero fraction of model tensors ``x``
    (``threshold``: as :func:`gansynth_zoo.evaluation.mdct.mdct_and_threshold` takes it)."""
    coeffs, threshold = mdct_and_threshold(x, representation, threshold=threshold)

    def per_band(values: torch.Tensor) -> torch.Tensor:
        return values.mean(dim=(0, 1, 3)).reshape(-1, BAND_BINS).mean(dim=1)

    below = per_band((coeffs.abs() < threshold).float())
    level = 10 * (per_band(coeffs.square()) + 1e-20).log10()
    threshold_db = 10 * (per_band(threshold.square()) + 1e-20).log10()
    bands = x.permute(2, 0, 1, 3).reshape(-1, BAND_BINS * x.shape[0] * x.shape[1] * x.shape[3])
    rms = bands.square().mean(dim=1, keepdim=True).sqrt()
    return below, level, threshold_db, float((bands.abs() < rms / 4).float().mean())


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cache", default="data/features/piano-trial.h5", show_default=True)
@click.option("--samples", default=64, show_default=True)
def main(run: Path, cache: str, samples: int) -> None:
    G, export = load_generator(run / "generator.pt", "cpu")
    settings = json.loads((run / "config.json").read_text())["data"]
    data = load_cache_data(cache, features=("mdct",), normalization=settings["normalization"],
                           frames=settings["frames"])
    representation = Representation.from_dict(data.info["representation"])
    rows = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:samples]
    z = torch.randn(samples, export["z_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        generated = G(z, torch.zeros(samples, 0)).float()
    real = band_report(data.x[rows], representation, data.aux[rows])
    fake = band_report(generated, representation)
    click.echo("band | below threshold real / generated | level dB real / generated | "
               "threshold dB real / generated")
    for i in range(len(real[0])):
        click.echo(f"{i} | {real[0][i]:.3f} / {fake[0][i]:.3f} | {real[1][i]:.1f} / {fake[1][i]:.1f} | "
                   f"{real[2][i]:.1f} / {fake[2][i]:.1f}")
    click.echo(f"model values within a quarter of their band's RMS of 0: real {real[3]:.3f}, "
               f"generated {fake[3]:.3f}")


if __name__ == "__main__":
    main()
