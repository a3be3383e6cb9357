"""The ``audiofeat`` command line. Commands are thin: they parse options and call the library."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import click
import torch

from audiofeat import __version__
from audiofeat.cache import build_cache, describe_cache, merge_caches, parse_shard
from audiofeat.cli_support import CleanErrorGroup
from audiofeat.config import load_config
from audiofeat.datasets import debian, piano
from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.datasets.taxonomy import load_taxonomy, relabel_manifest
from audiofeat.features import FeatureConfig
from audiofeat.functional.mdct import WindowName
from audiofeat.io import load_audio
from audiofeat.plotting import mdct_stft_figure
from audiofeat.progress import ProgressBars
from audiofeat.psychoreport import combine_reports, file_report, format_reports

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}

config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML config file (see pipelines/).")


def set_option(example: str):
    """The ``--set KEY=VALUE`` option, with an example key of the command's own config."""
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                        help=f"Override a config key, e.g. --set {example} (repeatable; values are TOML).")


@click.group(cls=CleanErrorGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="audiofeat")
def main() -> None:
    """Audio features for machine learning: transforms, psychoacoustics and HDF5 caches."""


@main.command("make-oneshots")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@config_option
@set_option("per_subclass=8")
def make_oneshots(out_dir: Path, config_path: Path | None, overrides: tuple[str, ...]) -> None:
    """Synthesise the embedded labelled one-shot dataset into OUT_DIR/class/subclass/*.wav.

    Idempotent: rerunning with the same config leaves the folder as it is.

    \b
    Example:
      audiofeat make-oneshots data/embedded --config pipelines/datasets/embedded.toml
      audiofeat make-oneshots /tmp/tiny --set per_subclass=4 --set seed=1
    """
    config = load_config(config_path, OneShotsConfig, overrides)
    with ProgressBars() as progress:
        files = write_oneshots(out_dir, config, progress=progress)
    counts: dict[str, int] = {}
    for path in files:
        key = "/".join(path.relative_to(out_dir).parts[:2])
        counts[key] = counts.get(key, 0) + 1
    click.echo(f"{len(files)} one-shots in {out_dir} ({len(counts)} subclasses, "
               f"{config.sample_rate} Hz, {config.duration} s each, seed {config.seed})")
    click.echo(json.dumps(counts))


@main.group("data")
def data() -> None:
    """Real datasets from Debian packages (downloaded with apt-get, unpacked with dpkg -x; no root).

    Each command is idempotent: packages already unpacked in OUT_DIR are reused, nothing is
    downloaded twice, and the manifest is rewritten. Sources and licences: docs/data.md.
    """


def _echo_package(package) -> None:
    if package.action == "present":
        done = "already present"
    elif package.action == "unpacked":
        done = f"unpacked from {package.deb.name}"
    else:
        done = f"downloaded {package.deb.name} ({package.deb.stat().st_size / 1e6:.1f} MB), unpacked"
    click.echo(f"{package.name} {package.version}: {done}")


@data.command("oneshots")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def data_oneshots(out_dir: Path) -> None:
    """Real labelled one-shots (hydrogen kits, sonic-pi, LMMS) into OUT_DIR/manifest.csv.

    Labels come from the keyword table of audiofeat.datasets.debian; files no rule labels are
    listed in OUT_DIR/unclassified.csv.

    \b
    Example:
      audiofeat data oneshots data/oneshots
    """
    start = time.perf_counter()
    result = debian.prepare_oneshots(out_dir, on_package=_echo_package)
    counts = result.counts()
    classes: Counter[str] = Counter()
    for label, count in counts.items():
        classes[label.split("/")[0]] += count
        click.echo(f"  {label:24} {count:5d}")
    click.echo("per class: " + ", ".join(f"{name} {count}" for name, count in sorted(classes.items())))
    click.echo(f"{len(result.rows)} files, {len(counts)} labels -> {result.manifest}")
    click.echo(f"{len(result.unclassified)} files unclassified or left out on purpose "
               f"-> {result.unclassified_csv}")
    click.echo(f"done in {time.perf_counter() - start:.1f} s")


@data.command("music")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def data_music(out_dir: Path) -> None:
    """Real stereo music (Debian game soundtracks) into OUT_DIR/manifest.csv, label music/<package>.

    \b
    Example:
      audiofeat data music data/music
    """
    start = time.perf_counter()
    result = debian.prepare_music(out_dir, on_package=_echo_package)
    seconds = result.seconds()
    for label, total in seconds.items():
        tracks = sum(row["label"] == label for row in result.rows)
        click.echo(f"  {label:34} {tracks:4d} tracks {total / 3600:6.2f} h")
    click.echo(f"{len(result.rows)} tracks, {sum(seconds.values()) / 3600:.2f} hours -> {result.manifest}")
    click.echo(f"done in {time.perf_counter() - start:.1f} s")


@data.command("piano")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=12.0, show_default=True,
              help="Render scores in order until this much audio.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Scores rendered at once.")
@click.pass_context
def data_piano(ctx: click.Context, out_dir: Path, hours: float, workers: int) -> None:
    """Solo piano rendered from the music21 corpus's Palestrina scores with the FluidR3 GM soundfont
    (Debian fluid-soundfont-gm) into OUT_DIR/manifest.csv, label piano/palestrina.

    Needs music21 and tinysoundfont (`make data-piano` installs them). A rerun renders only
    the scores that are missing.

    \b
    Example:
      audiofeat data piano data/piano --hours 12
    """
    start = time.perf_counter()
    rendered = 0.0

    def on_score(score: Path, seconds: float) -> None:  # a line per score, and a bar in minutes of audio
        nonlocal rendered
        rendered += seconds
        progress.write(f"  {score.name:40} {seconds:7.1f} s")
        progress("render (minutes of audio)", round(min(rendered, hours * 3600) / 60), round(hours * 60))

    try:
        with ProgressBars() as progress:
            result = piano.prepare_piano(out_dir, hours=hours, workers=workers, on_score=on_score)
    except ImportError as error:
        ctx.fail(f"{error.name} is missing: install the renderer with `make data-piano` "
                 "(music21, and tinysoundfont without its pyaudio dependency)")
    click.echo(f"{len(result.rows)} scores ({result.rendered} rendered now), {result.hours:.2f} hours "
               f"-> {result.manifest}")
    click.echo(f"done in {time.perf_counter() - start:.1f} s")


@main.command("relabel")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--taxonomy", "taxonomy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="Taxonomy TOML (pipelines/taxonomies/*.toml).")
def relabel(manifest: Path, out: Path, taxonomy_path: Path) -> None:
    """Write OUT: the rows of MANIFEST relabelled by a taxonomy (unlisted labels left out).

    \b
    Example:
      audiofeat relabel data/oneshots/manifest.csv data/oneshots/manifest-cgan.csv \\
          --taxonomy pipelines/taxonomies/oneshots.toml
    """
    report = relabel_manifest(manifest, out, load_taxonomy(taxonomy_path))
    for label, count in report.counts.items():
        click.echo(f"  {label:24} {count:5d}")
    click.echo(f"{sum(report.counts.values())} files, {len(report.counts)} labels -> {report.manifest}")
    click.echo(f"left out: {sum(report.dropped.values())} files of {len(report.dropped)} source labels "
               f"({', '.join(report.dropped)})")
    for genre, counts in report.genre_counts.items():
        click.echo(f"genre {genre or '(none)'}: {sum(counts.values())} files ("
                   + ", ".join(f"{label} {n}" for label, n in counts.items()) + ")")


@main.command("extract")
@click.argument("input_path", type=click.Path(exists=True, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Feature config (pipelines/features/*.toml).")
@set_option("stft.n_fft=1024")
@click.option("--workers", type=click.IntRange(min=0), default=0, help="Worker processes (0: this process).")
@click.option("--shard", default="0/1", help="Process shard i of n (0-based), e.g. 1/4; join with `audiofeat merge`.")
@click.option("--resume", is_flag=True, help="Finish an interrupted build without recomputing finished files.")
@click.option("--overwrite", is_flag=True, help="Replace a cache or interrupted build made with another config.")
@click.option("--verify", is_flag=True, help="Hash the inputs whose results would be reused (up-to-date check, "
              "--resume) instead of trusting sizes and times.")
@click.pass_context
def extract(ctx: click.Context, input_path: Path, output: Path, config_path: Path, overrides: tuple[str, ...],
            workers: int, shard: str, resume: bool, overwrite: bool, verify: bool) -> None:
    """Extract features of a folder tree (class/subclass/*.wav) or CSV manifest into an HDF5 cache.

    Bad files (unreadable, empty, non-finite, too short) are skipped and listed with the reason.
    Killing the command loses at most the files being processed: rerun it with --resume.

    \b
    Examples:
      audiofeat extract data/embedded data/embedded.h5 --config pipelines/features/embedded.toml
      audiofeat extract data/oneshots/manifest.csv out.h5 --config pipelines/features/oneshots.toml --workers 2
    """
    try:
        config = load_config(config_path, FeatureConfig, overrides)
        with ProgressBars() as progress:
            report = build_cache(input_path, output, config, workers=workers, shard=parse_shard(shard),
                                 resume=resume, overwrite=overwrite, verify=verify, progress=progress)
    except KeyboardInterrupt:
        click.echo(f"interrupted: finished files are kept in {output}.parts; run the same command with --resume "
                   "to finish", err=True)
        ctx.exit(130)
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
def merge(output: Path, shards: tuple[Path, ...], overwrite: bool) -> None:
    """Join shard caches (from `extract --shard i/n`) into OUTPUT, a cache of HDF5 virtual datasets.

    The shard files must stay where they are relative to OUTPUT.
    """
    merge_caches(output, shards, overwrite=overwrite)
    click.echo(f"wrote {output} from {len(shards)} shard(s)")


@main.command("info")
@click.argument("cache", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def info(cache: Path) -> None:
    """Summarise a feature cache: config, features, labels, skipped files."""

    click.echo(describe_cache(cache))
@main.command("psycho-report")
@click.argument("audio", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sample-rate", default=22016, type=click.IntRange(min=1),
              help="Analysis rate in Hz (MP3net's).")
@click.option("--n-bins", default=128, type=click.IntRange(min=2), help="MDCT bins per frame.")
@click.option("--n-bark-bands", default=24, type=click.IntRange(min=1), help="Bark bands of the model.")
@click.option("--channels", default="2", type=click.Choice(["keep", "1", "2"]),
              help="Channels analysed: stereo (mono files duplicated), a mono mix, or as stored.")
@click.option("--spreading-grid", default="mp3net", type=click.Choice(["mp3net", "centered"]),
              help="MP3net's offset spreading grid or the centred one.")
@click.option("--seed", default=0, type=int, help="Seed of the noise draw used for the SNR.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def psycho_report(audio: tuple[Path, ...], sample_rate: int, n_bins: int,
                  n_bark_bands: int, channels: str, spreading_grid: str, seed: int, as_json: bool) -> dict:
    """Compression figures of MP3net's psychoacoustic model on AUDIO files.

    Each file is resampled, peak-normalised and MDCT-transformed as MP3net does. Printed per file and
    in total: the fraction of MDCT coefficients below the masking threshold, the perceptual entropy
    in kbit/s, its ratio to 16-bit PCM, the SNR of MP3net's added noise (std T/6) and the mean
    tonality. Returns the figures as a dict (with --json, also printed as JSON).

    \b
    Example:
      audiofeat psycho-report song.ogg other.flac
      audiofeat psycho-report --json --channels 1 *.wav
    """
    generator = torch.Generator().manual_seed(seed)
    layout: int | Literal["keep"] = "keep" if channels == "keep" else int(channels)
    reports = [file_report(path, sample_rate=sample_rate, channels=layout, generator=generator, n_bins=n_bins,
                           n_bark_bands=n_bark_bands, spreading_grid=spreading_grid) for path in audio]
    total = combine_reports(reports)
    result = {"files": [r.as_dict() for r in reports], "total": total.as_dict()}
    click.echo(json.dumps(result, indent=2) if as_json else format_reports(reports, total))
    return result


@main.command("plot")
@click.argument("audio", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG file to write.")
@click.option("--sample-rate", default=22016, type=click.IntRange(min=1), help="Analysis rate in Hz (MP3net's).")
@click.option("--n-bins", default=128, type=click.IntRange(min=2), help="MDCT bins per frame (even).")
@click.option("--n-fft", default=1024, type=click.IntRange(min=2), help="STFT size (Hann window, hop n_fft/4).")
@click.option("--window", default="vorbis", type=click.Choice(["vorbis", "sine", "kbd"]), help="MDCT window.")
@click.pass_context
def plot(ctx: click.Context, audio: Path, out: Path, sample_rate: int, n_bins: int, n_fft: int,
         window: WindowName) -> None:
    """Draw the MDCT amplitudes, the MDCT spectrogram (dB) and the log STFT of AUDIO into a PNG.

    The file is mixed to mono and resampled to --sample-rate. Needs matplotlib (pip install .[plot]).

    \b
    Example:
      audiofeat plot song.wav --out song.png
      audiofeat plot clip.flac --out clip.png --sample-rate 16000 --n-bins 256 --n-fft 2048
    """
    try:
        import matplotlib  # noqa: F401  (the optional `plot` extra)
    except ImportError:
        ctx.fail("audiofeat plot needs matplotlib: pip install .[plot]")

    waveform, rate = load_audio(audio, sample_rate=sample_rate, channels=1)
    figure = mdct_stft_figure(waveform[0], sample_rate=rate, n_bins=n_bins, n_fft=n_fft, window=window,
                              title=f"{audio.name}: mono, {rate} Hz")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=110)
    click.echo(f"wrote {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
