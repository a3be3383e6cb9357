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


@main.command("extract")
@click.argument("input_path", type=click.Path(exists=True, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Feature config (pipelines/features/*.toml).")
@set_option
@click.option("--workers", type=click.IntRange(min=0), default=0, help="Worker processes (0: this process).")
@click.option("--shard", default="0/1", help="Process shard i of n (0-based), e.g. 1/4; join with `audiofeat merge`.")
@click.option("--resume", is_flag=True, help="Finish an interrupted build without recomputing finished files.")
@click.option("--overwrite", is_flag=True, help="Replace a cache or interrupted build made with another config.")
@click.pass_context
def extract(ctx: click.Context, input_path: Path, output: Path, config_path: Path, overrides: tuple[str, ...],
            workers: int, shard: str, resume: bool, overwrite: bool) -> None:
    """Extract features of a folder tree (class/subclass/*.wav) or CSV manifest into an HDF5 cache.

    Bad files (unreadable, empty, non-finite, too short) are skipped and listed with the reason.
    Killing the command loses at most the files being processed: rerun it with --resume.

    \b
    Examples:
      audiofeat extract data/embedded data/embedded.h5 --config pipelines/features/embedded.toml
      audiofeat extract data/oneshots/manifest.csv out.h5 --config pipelines/features/oneshots.toml --workers 2
    """
    from tqdm import tqdm

    from audiofeat.cache import build_cache, parse_shard
    from audiofeat.features import FeatureConfig

    bar = tqdm(unit="file", desc=f"extract {output.name}", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        config = load_config(config_path, FeatureConfig, overrides)
        report = build_cache(input_path, output, config, workers=workers, shard=parse_shard(shard), resume=resume,
                             overwrite=overwrite, progress=progress)
    except AudiofeatError as error:
        bar.close()
        ctx.fail(str(error))
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"interrupted: finished files are kept in {output}.parts; run the same command with --resume "
                   "to finish", err=True)
        ctx.exit(130)
    bar.close()
    if report.status == "up to date":
        click.echo(f"{output} is up to date ({report.examples} examples from {report.sources} files); nothing to do")
    else:
        click.echo(f"wrote {output}: {report.examples} examples from {report.sources} files "
                   f"({report.computed} computed now)")
    for name, reason in report.skipped:
        click.echo(f"skipped {name}: {reason}")


@main.command("merge")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT.")
@click.pass_context
def merge(ctx: click.Context, output: Path, shards: tuple[Path, ...], overwrite: bool) -> None:
    """Join shard caches (from `extract --shard i/n`) into OUTPUT, a cache of HDF5 virtual datasets.

    The shard files must stay where they are relative to OUTPUT.
    """
    from audiofeat.cache import merge_caches

    try:
        merge_caches(output, shards, overwrite=overwrite)
    except AudiofeatError as error:
        ctx.fail(str(error))
    click.echo(f"wrote {output} from {len(shards)} shard(s)")


@main.command("info")
@click.argument("cache", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def info(ctx: click.Context, cache: Path) -> None:
    """Summarise a feature cache: config, features, labels, skipped files."""
    from audiofeat.cache import describe_cache

    try:
        click.echo(describe_cache(cache))
    except AudiofeatError as error:
        ctx.fail(str(error))


if __name__ == "__main__":  # pragma: no cover
    main()
