"""Real and generated log-magnitudes side by side, one row per category (the grids in docs/results.md).

    .venv/bin/python report/real_vs_generated.py RUN --category drums/kick --category drums/snare \
        --n 4 --out docs/results/NAME-grid.png

Each row shows the first ``n`` real examples of the category (left) and ``n`` clips the
run's EMA generator makes for it (right; latents seeded with ``--seed``), low frequencies at the
bottom. With ``--genre NAME`` (a run trained with genres) both sides are of that genre: the real
examples of the category in it, and clips requested for the category in it. ``--arrays FILE.npz``
also (or instead) keeps the magnitudes themselves, a results file for the report: ``categories``,
``real`` and ``generated`` (categories x n x freq x frames, float16; real rows short of ``n``
examples are padded with -1).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import torch

from audiofeat.config import config_from_dict
from gansynth_zoo import builders
from gansynth_zoo.config import RunConfig
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import generate, load_generator
from gansynth_zoo.synthesis import genre_weights
from gansynth_zoo.tools.images import image_grid, write_png


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--category", "categories", multiple=True, required=True, help="a subclass, e.g. drums/kick")
@click.option("--n", default=4, show_default=True, help="real and generated examples per category")
@click.option("--genre", default=None, help="a genre of a run trained with genres, e.g. electronic")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="the grid as PNG")
@click.option("--arrays", type=click.Path(dir_okay=False, path_type=Path), help="the magnitudes as .npz")
def main(run_dir: Path, categories: tuple[str, ...], n: int, genre: str | None, seed: int, out: Path | None,
         arrays: Path | None) -> None:
    if out is None and arrays is None:
        raise click.UsageError("give --out, --arrays or both")
    config = config_from_dict(RunConfig, json.loads((run_dir / "config.json").read_text()), source=str(run_dir))
    data = builders.build_data(config)
    unknown = [c for c in categories if c not in data.label_names]
    if unknown:
        raise click.BadParameter(f"not in the run's data: {', '.join(unknown)}", param_hint="--category")
    representation = Representation.from_dict(data.info["representation"])
    magnitude = representation.channels_of(representation.magnitude_feature)
    G, export = load_generator(run_dir)
    table, in_genre = export["conditioning"], torch.ones(len(data.labels), dtype=torch.bool)
    if genre is not None:
        if genre not in data.genre_names:
            raise click.BadParameter(f"the run's genres are {list(data.genre_names) or 'none'}", param_hint="--genre")
        table = table.clone()
        table[:, table.shape[1] - len(data.genre_names):] = genre_weights(genre, data.genre_names)
        in_genre = data.c[:, data.c_dim - len(data.genre_names) + data.genre_names.index(genre)] > 0
    tiles = []
    for category in categories:
        label = data.label_names.index(category)
        real = data.x[(data.labels == label) & in_genre][:n]
        real = torch.cat([real, torch.full((n - len(real), *real.shape[1:]), -1.0)])  # black: fewer than n
        with torch.no_grad():
            fake = generate(G, table, torch.full((n,), label), export["z_dim"], seed=seed)
        tiles += [real[:, magnitude], fake[:, magnitude]]
    if arrays is not None:
        pairs = torch.stack(tiles).reshape(len(categories), 2, n, *tiles[0].shape[1:])[:, :, :, 0]
        np.savez_compressed(arrays, categories=np.array(categories), real=pairs[:, 0].numpy().astype(np.float16),
                            generated=pairs[:, 1].numpy().astype(np.float16))
        click.echo(arrays)
    if out is not None:
        grid = image_grid(torch.cat(tiles).flip(2), nrow=2 * n)  # flip: low frequencies at the bottom
        click.echo(write_png(grid, out))


if __name__ == "__main__":
    main()
