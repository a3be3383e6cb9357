"""The ``audiofeat`` command line. Commands are thin: they parse options and call the library."""
from __future__ import annotations

import json
from pathlib import Path

import click

from audiofeat import __version__
from audiofeat.config import load_config
from audiofeat.exceptions import AudiofeatError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}

config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML config file (see pipelines/).")
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a config key, e.g. --set per_subclass=8 (repeatable; values are TOML).")


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="audiofeat")
def main() -> None:
    """Audio features for machine learning: transforms, psychoacoustics and HDF5 caches."""


@main.command("make-oneshots")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@config_option
@set_option
@click.pass_context
def make_oneshots(ctx: click.Context, out_dir: Path, config_path: Path | None, overrides: tuple[str, ...]) -> None:
    """Synthesise the embedded labelled one-shot dataset into OUT_DIR/class/subclass/*.wav.

    Idempotent: rerunning with the same config leaves the folder as it is.

    \b
    Example:
      audiofeat make-oneshots data/embedded --config pipelines/datasets/embedded.toml
      audiofeat make-oneshots /tmp/tiny --set per_subclass=4 --set seed=1
    """
    from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots

    try:
        config = load_config(config_path, OneShotsConfig, overrides)
        files = write_oneshots(out_dir, config)
    except AudiofeatError as error:
        ctx.fail(str(error))
    counts: dict[str, int] = {}
    for path in files:
        key = "/".join(path.relative_to(out_dir).parts[:2])
        counts[key] = counts.get(key, 0) + 1
    click.echo(f"{len(files)} one-shots in {out_dir} ({len(counts)} subclasses, "
               f"{config.sample_rate} Hz, {config.duration} s each, seed {config.seed})")
    click.echo(json.dumps(counts))


if __name__ == "__main__":  # pragma: no cover
    main()
