"""Builds every table, figure and number of the report from the results files (``make report``).

    .venv/bin/python report/build.py [--out report/generated]

Inputs (never run folders, which stay out of the repository):

- ``docs/results/data/*.json``: runs distilled by ``gansynth-zoo results`` (configs, metric
  records, training time, critic gap) and the psychoacoustic report (``audiofeat psycho-report
  --json``);
- ``docs/results/data/mdct-excerpt.npz``: the MDCT of a 96-s excerpt (``report/mdct_excerpt.py``);
- ``docs/benchmarks.md``: the tables that ``make bench`` writes.

Outputs in ``--out``: ``macros.tex`` (every number the text quotes, as ``\\newcommand``),
``tab-*.tex`` (tables), ``fig-*.pdf`` (figures) and ``manifest.json``, which lists the inputs of
each output so that a test can check that nothing is older than what it was built from. A results
file that is missing is an error that names it and the command that writes it.
"""
from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "results" / "data"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"

#: results file -> the command that writes it (for the error when it is missing)
WRITERS = {
    **{name: f"gansynth-zoo results RUN ... --out docs/results/data/{name}"
       for name in ("mnist.json", "cgan.json", "mp3net.json", "mp3net-ablation.json", "study-mnist.json",
                     "study-oneshots.json")},
    "psychoacoustic.json": "audiofeat psycho-report --json FILES > docs/results/data/psychoacoustic.json",
    "mdct-excerpt.npz": "python report/mdct_excerpt.py AUDIO --out docs/results/data/mdct-excerpt.npz",
    "cgan-spectrograms.npz": "python report/real_vs_generated.py RUN --category ... --arrays "
                             "docs/results/data/cgan-spectrograms.npz",
}  # docs/results/data/README.md gives the exact commands


class Builder:
    """Collects macros and writes outputs, recording each output's inputs."""

    def __init__(self, out: Path):
        self.out = out
        self.macros: dict[str, str] = {}
        self.manifest: dict[str, list[str]] = {}
        self._used: set[Path] = set()  # the inputs of the current section
        self._all: set[Path] = set()

    def begin(self) -> None:
        """Starts a section: its outputs depend on the inputs it reads from now on."""
        self._all |= self._used
        self._used = set()

    def load(self, name: str) -> Any:
        path = DATA / name
        if not path.is_file():
            raise click.ClickException(f"{path} is missing; it is written by: {WRITERS.get(name, 'see its README')}")
        self._used.add(path)
        return json.loads(path.read_text()) if path.suffix == ".json" else np.load(path)

    def benchmarks(self) -> dict[str, list[list[str]]]:
        self._used.add(BENCHMARKS)
        return markdown_tables(BENCHMARKS.read_text())

    def macro(self, name: str, value: str) -> None:
        if not re.fullmatch(r"[A-Za-z]+", name):
            raise ValueError(f"a LaTeX macro name is letters only: {name!r}")
        self.macros[name] = value

    def _record(self, output: str, inputs: set[Path] | None = None) -> None:
        self.manifest[output] = sorted(str(p.relative_to(ROOT)) for p in (self._used if inputs is None else inputs))

    def table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]], align: str,
              wide: bool = False) -> None:
        """``tab-NAME.tex``: a booktabs tabular (the caption and label stay in report.tex)."""
        lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule", " & ".join(header) + " \\\\", "\\midrule"]
        lines += [" & ".join(row) + " \\\\" for row in rows]
        lines += ["\\bottomrule", "\\end{tabular}"]
        (self.out / f"tab-{name}.tex").write_text("\n".join(lines) + "\n")
        self._record(f"tab-{name}.tex")

    def figure(self, name: str, draw: Callable[[Figure], None], size: tuple[float, float]) -> None:
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        figure.savefig(self.out / f"fig-{name}.pdf")
        self._record(f"fig-{name}.pdf")

    def finish(self) -> None:
        lines = [f"\\newcommand{{\\{k}}}{{{v}}}" for k, v in sorted(self.macros.items())]
        (self.out / "macros.tex").write_text("\n".join(lines) + "\n")
        self._record("macros.tex", self._all | self._used)  # macros come from every section
        (self.out / "manifest.json").write_text(json.dumps(self.manifest, indent=1) + "\n")


def markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """The first table under each ``## `` heading of a markdown file, as rows of cells (header first)."""
    tables: dict[str, list[list[str]]] = {}
    title = None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
        elif title and line.startswith("|") and not set(line) <= set("|-: "):
            tables.setdefault(title, []).append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif title in tables and not line.startswith("|"):
            title = None  # the first table only
    return tables


def _section(tables: dict[str, list[list[str]]], prefix: str) -> list[list[str]]:
    for title, rows in tables.items():
        if title.startswith(prefix):
            return rows
    raise click.ClickException(f"{BENCHMARKS}: no section starting {prefix!r}; run make bench")


def thousands(n: float) -> str:
    """``n`` rounded, with LaTeX thousands separators: 12{,}000."""
    return f"{n:,.0f}".replace(",", "{,}")


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}\\,\\%"


def tex(text: str) -> str:
    return text.replace("_", "\\_").replace("%", "\\%").replace("&", "\\&").replace("#", "\\#")


# --- sections --------------------------------------------------------------------------------------


def dsp(b: Builder) -> None:
    t = b.benchmarks()
    stft = {row[1]: row for row in _section(t, "Log-magnitude STFT") if row[0].startswith("1 clip x 95 s")}
    mdct = [r for r in _section(t, "MDCT / IMDCT") if r[0] == "95 s stereo" and r[3] == "float32"
            and r[4] == "MDCT + IMDCT" and r[1].startswith("audiofeat")][0]
    psycho = _section(t, "Psychoacoustic masking threshold")[1]
    gl = [r for r in _section(t, "Griffin-Lim: iterations") if r[0] != "signal"]
    rows = [["log-magnitude STFT, 95\\,s stereo", "audiofeat", stft["audiofeat `log_spectrogram`"][3] + " ms",
             "librosa " + stft["librosa (numpy pocketfft, single-threaded)"][3] + " ms",
             stft["audiofeat `log_spectrogram`"][6].replace("x", "$\\times$")],
            ["", "", "", "torchaudio " + stft["torchaudio `Spectrogram(power=1)` + log"][3] + " ms",
             stft["torchaudio `Spectrogram(power=1)` + log"][6].replace("x", "$\\times$") + " (torchaudio)"],
            ["MDCT + IMDCT, 95\\,s stereo", "audiofeat", mdct[5] + " ms", "mdct 0.4 pkg.",
             mdct[7].replace("x", "$\\times$")],
            ["masking threshold, 60\\,s", "audiofeat", psycho[4] + " ms", "numpy, same maths",
             psycho[6].replace("x", "$\\times$")]]
    for name, column in (("glSpeedupRandom", 7), ("glSpeedupPghi", 10)):
        speed = [float(r[column].rstrip("x")) for r in gl]
        b.macro(name, f"{min(speed):.1f}--{max(speed):.1f}")
    b.macro("stftSpeedup", stft["audiofeat `log_spectrogram`"][6].rstrip("x"))
    synthesis = {r[1]: float(r[2]) for r in _section(t, "Synthesis real-time factor") if r[0] == "1"}
    for iters, name in ((32, "taGlRatioShort"), (100, "taGlRatioLong")):
        ours = synthesis[f"audiofeat `griffinlim`, PGHI start, {iters} it."]
        b.macro(name, f"{synthesis[f'torchaudio `GriffinLim`, random start, {iters} it.'] / ours:.2f}")
    b.macro("mdctSpeedup", mdct[7].rstrip("x"))
    b.table("dsp", ["operation", "ours", "time", "peer", "speed-up"], rows, "lllll")
    gl_rows = [[tex(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[8], r[9], r[11].replace(">", "$>$"), r[12]]
               for r in gl]
    b.table("griffinlim", ["signal", "$N$/hop", "it.", "SC", "librosa s", "ours it.", "s", "+PGHI it.", "s",
                           "torchaudio it.", "s"], gl_rows, "lrrrrrrrrrr")
    reached = [int(r[11]) for r in gl if r[11].isdigit()]
    b.macro("taGlReached", f"{min(reached)}--{max(reached)}")
    b.macro("taGlMissed", str(sum(1 for r in gl if not r[11].isdigit())))


def psychoacoustic(b: Builder) -> None:
    report = b.load("psychoacoustic.json")
    files, total = report["files"], report["total"]

    def row(name: str, f: dict) -> list[str]:
        return [name, f"{f['duration']:.0f}", pct(f["fraction_below"]), f"{f['pe_bits_per_second'] / 1000:.1f}",
                f"{f['compression_ratio']:.1f}", f"{f['noise_snr_db']:.1f}", f"{f['mean_tonality']:.2f}"]

    rows = [row(tex(Path(f["name"]).stem), f) for f in files] + [row("\\textbf{total}", total)]
    b.table("psycho", ["track", "s", "below $T$", "PE kbit/s", "ratio", "SNR dB", "tonality"], rows, "lrrrrrr")
    b.macro("psyBelow", pct(total["fraction_below"]))
    b.macro("psyRatio", f"{total['compression_ratio']:.1f}")
    b.macro("psyKbps", f"{total['pe_bits_per_second'] / 1000:.1f}")
    b.macro("psySnr", f"{total['noise_snr_db']:.1f}")
    b.macro("psyMinutes", f"{total['duration'] / 60:.0f}")
    b.macro("psyTracks", str(len(files)))


def mdct_figure(b: Builder) -> None:
    excerpt = b.load("mdct-excerpt.npz")
    db, rate, hop = excerpt["log_power_db"], float(excerpt["sample_rate"]), float(excerpt["hop_seconds"])
    envelope = excerpt["amplitude"]
    seconds = db.shape[1] * hop

    def draw(figure: Figure) -> None:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[1, 2])
        t = np.linspace(0, seconds, len(envelope))
        top.fill_between(t, -envelope, envelope, color="0.3", linewidth=0)
        top.set_ylabel("amplitude")
        image = bottom.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 90, vmax=db.max(),
                              extent=(0, seconds, 0, rate / 2000))
        bottom.set_ylabel("kHz")
        bottom.set_xlabel("time (s)")
        figure.colorbar(image, ax=bottom, label="dB", pad=0.01)

    b.figure("mdct", draw, (3.4, 2.9))
    b.macro("excerptSeconds", f"{seconds:.0f}")
    b.macro("excerptSource", tex(str(excerpt["source"])))


def mnist(b: Builder) -> None:
    runs = b.load("mnist.json")["runs"]
    rows = []
    for label, name in (("dcgan", "DCGAN"), ("cdcgan", "cond.\\ DCGAN")):
        run = runs[label]
        m = run["metrics"]["digits"][-1]
        covered = sum(1 for n in m["predicted_class_histogram"] if n > 0)
        accuracy = f"{100 * m['conditional_accuracy']:.2f}" if "conditional_accuracy" in m else "--"
        rows.append([name, str(run["training"]["steps"]), f"{run['training']['wall_seconds'] / 60:.0f}", accuracy,
                     f"{m['frechet_distance']:.2f}", f"{m['predicted_class_jsd_uniform']:.3f}", f"{covered}/10",
                     f"{m['ndb_k']:.2f}", f"{m['pairwise_pixels']:.3f} ({m['pairwise_pixels_real']:.3f})"])
        key = "Dcgan" if label == "dcgan" else "Cdcgan"
        b.macro(f"mnist{key}FD", f"{m['frechet_distance']:.2f}")
        b.macro(f"mnist{key}Minutes", f"{run['training']['wall_seconds'] / 60:.0f}")
        if "conditional_accuracy" in m:
            b.macro(f"mnist{key}Acc", f"{100 * m['conditional_accuracy']:.2f}")
    b.macro("mnistClassifierAcc", f"{100 * runs['dcgan']['metrics']['digits'][-1]['classifier_test_accuracy']:.2f}")
    b.table("mnist", ["model", "steps", "min", "cond.\\ acc.\\ \\%", "FD", "JSD", "digits", "NDB/$K$",
                      "pairwise (real)"], rows, "lrrrrrrrr")


def cgan(b: Builder) -> None:
    runs = b.load("cgan.json")["runs"]
    run = runs["genre-timed"]
    m = run["metrics"]["audio"][-1]
    per = m["conditional_accuracy_per_subclass"]
    audio = m["conditional_accuracy_audio_per_subclass"]
    div = m["pairwise_log_mag_per_subclass"]
    rows = [[tex(k), f"{100 * per[k]:.0f}", f"{100 * audio[k]:.0f}", f"{div[k]:.2f}" if k in div else "--"]
            for k in sorted(per)]
    rows.append(["\\textbf{all}", f"{100 * m['conditional_accuracy']:.1f}",
                 f"{100 * m['conditional_accuracy_audio']:.1f}", f"{m['pairwise_log_mag']:.2f}"])
    b.table("cgan", ["subclass", "acc.\\ \\%", "via audio \\%", "pairwise"], rows, "lrrr")
    b.macro("cganSubclassAcc", f"{100 * m['conditional_accuracy']:.1f}")
    b.macro("cganSubclassAccReal", f"{100 * m['conditional_accuracy_real']:.1f}")
    b.macro("cganClassAcc", f"{100 * m['class_accuracy']:.1f}")
    b.macro("cganClassAccReal", f"{100 * m['class_accuracy_real']:.1f}")
    b.macro("cganGenreAcc", f"{100 * m['genre_accuracy']:.1f}")
    b.macro("cganGenreAccReal", f"{100 * m['genre_accuracy_real']:.1f}")
    b.macro("cganFD", f"{m['frechet_distance']:.1f}")
    b.macro("cganFDFloor", f"{m['frechet_distance_real_floor']:.2f}")
    b.macro("cganHeldOutKits", str(len(m["held_out_kits"])))
    b.macro("cganClassifierAcc", f"{100 * m['classifier_held_out_accuracy']:.1f}")
    b.macro("cganMinutes", f"{run['training']['wall_seconds'] / 60:.0f}")
    b.macro("cganSteps", thousands(run['training']['steps']))
    b.macro("cganBatch", str(run["config"]["train"]["batch_size"]))
    rtf = {r["batch"]: r for r in run["metrics"]["rtf"]}
    b.macro("cganRtf", f"{rtf[1]['rtf_total']:.3f}")
    b.macro("cganRtfGenerator", f"{rtf[1]['rtf_generator']:.4f}")
    b.macro("cganGLIters", str(rtf[1]["griffinlim_iters"]))
    pairs = b.load("cgan-spectrograms.npz")
    names = list(pairs["categories"])
    real, fake = pairs["real"].astype(np.float32), pairs["generated"].astype(np.float32)

    def draw(figure: Figure) -> None:
        axes = figure.subplots(2, len(names), squeeze=False)
        for j, name in enumerate(names):
            for i, images in enumerate((real, fake)):
                tiles = np.concatenate([images[j, k] for k in range(images.shape[1])], axis=1)
                axes[i, j].imshow(tiles, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
                axes[i, j].set_xticks([])
                axes[i, j].set_yticks([])
            axes[0, j].set_title(name, fontsize=7)
        axes[0, 0].set_ylabel("real", fontsize=7)
        axes[1, 0].set_ylabel("generated", fontsize=7)

    b.figure("cgan", draw, (7.0, 2.0))


def _by_weight(runs: Any, metric: str) -> dict[float, list[dict]]:
    """The last ``metric`` record of each study run, grouped by its mode-seeking weight."""
    by_weight: dict[float, list[dict]] = {}
    for run in runs.values():
        if run["metrics"].get(metric):
            by_weight.setdefault(run["config"]["loss"]["mode_seeking"], []).append(run["metrics"][metric][-1])
    return dict(sorted(by_weight.items()))


def _mean_std(values: list[float], scale: float = 1, fmt: str = "{:.3f}") -> str:
    mean = fmt.format(scale * statistics.fmean(values))
    return mean + (f" $\\pm$ {fmt.format(scale * statistics.stdev(values))}" if len(values) > 1 else "")


def _study_rows(by_weight: dict[float, list[dict]], fields: list[tuple[str, float, str]]) -> list[list[str]]:
    """One table row per weight: the weight, the number of seeds and each field's mean ± std."""
    return [[f"{w:g}", str(len(ms)), *[_mean_std([m[f] for m in ms], s, fmt) for f, s, fmt in fields]]
            for w, ms in by_weight.items()]


def _study_macros(b: Builder, prefix: str, by_weight: dict[float, list[dict]], diversity: str) -> None:
    """``PREFIX{Fd,Acc,Div,Seeds}{Zero,Tuned,One}`` and ``PREFIXTunedWeight``: the study's means."""
    weights = {"Zero": 0.0, "Tuned": next(w for w in by_weight if w not in (0.0, 1.0)), "One": 1.0}
    b.macro(f"{prefix}TunedWeight", f"{weights['Tuned']:g}")
    for name, w in weights.items():
        ms = by_weight[w]
        b.macro(f"{prefix}Fd{name}", f"{statistics.fmean(m['frechet_distance'] for m in ms):.3f}")
        b.macro(f"{prefix}Acc{name}", f"{100 * statistics.fmean(m['conditional_accuracy'] for m in ms):.2f}")
        b.macro(f"{prefix}Div{name}", f"{statistics.fmean(m[diversity] for m in ms):.3f}")
        b.macro(f"{prefix}Seeds{name}", str(len(ms)))


def study(b: Builder) -> None:
    digits = _by_weight(b.load("study-mnist.json")["runs"], "digits")
    audio = _by_weight(b.load("study-oneshots.json")["runs"], "audio")
    fields = [("conditional_accuracy", 100, "{:.2f}"), ("frechet_distance", 1, "{:.3f}"),
              ("pairwise_pixels", 1, "{:.3f}"), ("pairwise_embedding", 1, "{:.3f}"), ("ndb_k", 1, "{:.2f}")]
    b.table("study", ["$\\lambda_{ms}$", "seeds", "acc.\\ \\%", "FD", "pairwise px", "pairwise emb.", "NDB/$K$"],
            _study_rows(digits, fields), "rrlllll")
    fields = [("conditional_accuracy", 100, "{:.1f}"), ("class_accuracy", 100, "{:.1f}"),
              ("frechet_distance", 1, "{:.1f}"), ("pairwise_log_mag", 1, "{:.3f}"),
              ("pairwise_embedding", 1, "{:.3f}"), ("ndb_k", 1, "{:.2f}")]
    b.table("study-audio", ["$\\lambda_{ms}$", "seeds", "subclass \\%", "class \\%", "FD",
                            "pairwise log-mag", "pairwise emb.", "NDB/$K$"], _study_rows(audio, fields), "rrllllll")
    real = next(iter(digits.values()))[0]
    b.macro("studyRealPixels", f"{real['pairwise_pixels_real']:.3f}")
    b.macro("studyRealEmbedding", f"{real['pairwise_embedding_real']:.3f}")
    seeds = sorted({len(ms) for ms in digits.values()})
    b.macro("studySeeds", "--".join(str(s) for s in (seeds[0], seeds[-1])) if len(seeds) > 1 else str(seeds[0]))
    _study_macros(b, "study", digits, "pairwise_pixels")
    real_audio = next(iter(audio.values()))
    b.macro("studyAudioRealLogMag", f"{statistics.fmean(m['pairwise_log_mag_real'] for m in real_audio):.3f}")
    b.macro("studyAudioRealEmbedding", f"{statistics.fmean(m['pairwise_embedding_real'] for m in real_audio):.3f}")
    b.macro("studyAudioRealAcc", f"{100 * statistics.fmean(m['conditional_accuracy_real'] for m in real_audio):.1f}")
    b.macro("studyAudioSteps", thousands(real_audio[0]["step"]))
    _study_macros(b, "studyAudio", audio, "pairwise_log_mag")

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, 2)
        for ax, by_weight, title in ((axes[0], digits, "cDCGAN, MNIST"), (axes[1], audio, "one-shots")):
            for w, ms in by_weight.items():
                ax.scatter([m["pairwise_embedding"] / m["pairwise_embedding_real"] for m in ms],
                           [m["frechet_distance"] for m in ms], s=10, label=f"$\\lambda$ = {w:g}")
            ax.axvline(1, color="0.5", linestyle="--", linewidth=0.8)
            ax.set_title(title, fontsize=7)
            ax.set_xlabel("within-label diversity / real", fontsize=7)
            ax.tick_params(labelsize=6)
        axes[0].set_ylabel("FD", fontsize=7)
        axes[1].legend(fontsize=6)

    b.figure("study", draw, (3.4, 2.0))


def _mdct_row(m: dict) -> list[str]:
    return [f"{m['tonality']:.2f} ({m['tonality'] / m['tonality_real']:.2f}$\\times$)",
            f"{m['tonality_std'] / m['tonality_real_std']:.2f}/{m['rms_dbfs_std'] / m['rms_dbfs_real_std']:.2f}/"
            f"{m['below_threshold_std'] / m['below_threshold_real_std']:.2f}",
            f"{m['below_threshold']:.3f}", f"{m['rms_dbfs']:.1f}", f"{m['fd']:.1f}"]


def _meets(m: dict) -> bool:
    """Whether a record meets every target of issue 17: tonality >= half the real one, each spread >=
    half the real one, and the masking fraction within 0.1 of the real one."""
    return (m["tonality"] >= 0.5 * m["tonality_real"]
            and all(m[f"{k}_std"] >= 0.5 * m[f"{k}_real_std"] for k in ("tonality", "rms_dbfs", "below_threshold"))
            and abs(m["below_threshold"] - m["below_threshold_real"]) <= 0.1)


def _curve(run: dict) -> list[dict]:
    """A run's MDCT records, one per step (the latest: generator.pt repeats the last checkpoint, and a
    re-evaluation appends), against the whole corpus (``real_examples`` above the samples)."""
    records = [m for m in run["metrics"]["mdct"] if m["real_examples"] > m["samples"]]
    return list({m["step"]: m for m in records}.values())


def mp3net(b: Builder) -> None:
    runs = b.load("mp3net.json")["runs"]
    main = runs["make-train-mp3net"]
    curve = _curve(main)
    rows = [[thousands(m['step']), *_mdct_row(m), "yes" if _meets(m) else "no"] for m in curve]
    b.table("mp3net", ["step", "tonality", "spread t/l/b", "below", "dBFS", "FD", "all targets"], rows, "rlllrrl")
    meeting = [m for m in curve if _meets(m)]
    b.macro("mpMeetCount", str(len(meeting)))
    b.macro("mpCheckpoints", str(len(curve)))
    best = min(meeting or curve, key=lambda m: m["fd"])
    b.macro("mpFinalFD", f"{curve[-1]['fd']:.1f}")
    b.macro("mpFinalMeets", "meets" if _meets(curve[-1]) else "does not meet")
    if main["selection"] is None:
        raise click.ClickException("mp3net.json: make-train-mp3net records no shipped checkpoint (gansynth-zoo "
                                   "select RUN --by mdct.fd, then gansynth-zoo results)")
    shipped = {m["step"]: m for m in curve}[main["selection"]["step"]]
    b.macro("mpShippedStep", thousands(shipped["step"]))
    b.macro("mpShippedFD", f"{shipped['fd']:.1f}")
    b.macro("mpShippedMeets", "meets" if _meets(shipped) else "does not meet")
    first = curve[0]
    b.macro("mpRealLevelStd", f"{first['rms_dbfs_real_std']:.1f}")
    b.macro("mpRealTonality", f"{first['tonality_real']:.2f}")
    b.macro("mpRealBelow", f"{first['below_threshold_real']:.3f}")
    b.macro("mpRealDbfs", f"{first['rms_dbfs_real']:.1f}")
    b.macro("mpFloor", f"{first['fd_floor']:.2f}")
    b.macro("mpBestFD", f"{best['fd']:.1f}")
    b.macro("mpBestStep", thousands(best['step']))
    b.macro("mpBestLevelSpread", f"{best['rms_dbfs_std'] / best['rms_dbfs_real_std']:.2f}")
    b.macro("mpBestBelowSpread", f"{best['below_threshold_std'] / best['below_threshold_real_std']:.2f}")
    b.macro("mpBestTonality", f"{best['tonality'] / best['tonality_real']:.2f}")
    b.macro("mpBestDbfs", f"{best['rms_dbfs']:.1f}")
    bands = _curve(runs["make-train-mp3net-bands"])
    b.macro("mpBandsMeet", ", ".join(thousands(m['step']) for m in bands if _meets(m)) or "none")
    b.macro("mpBandsFinalFD", f"{bands[-1]['fd']:.1f}")
    b.macro("mpBandsFinalDbfs", f"{bands[-1]['rms_dbfs']:.1f}")
    b.macro("mpMinutes", f"{main['training']['wall_seconds'] / 60:.0f}")
    b.macro("mpCpuSeconds", thousands(main['training']['cpu_seconds']))
    b.macro("mpEnergyKJ", f"{main['training']['cpu_seconds'] * 5 / 1000:.1f}")
    b.macro("mpSteps", thousands(main['training']['steps']))
    channels, bins, frames = main["config"]["data"]["shape"]
    seconds = main["metrics"]["rtf"][0]["clip_seconds"]
    b.macro("mpFrames", str(frames))
    b.macro("mpBins", str(bins))
    b.macro("mpRate", thousands(round(frames * bins / seconds)))
    b.macro("mpWindowSeconds", f"{seconds:.2f}")
    rtf = {r["batch"]: r for r in main["metrics"]["rtf"]}
    b.macro("mpRtf", f"{rtf[1]['rtf_total']:.4f}")
    b.macro("mpInferenceJ", f"{rtf[1]['rtf_total'] * 5:.2f}")
    trials = [("P", "band matching"), ("U", "P + level features and a learned level"),
              ("X", "U + level moments"), ("Y", "X, learned level started at 0.3"),
              ("AA", "P + level drawn from the data")]
    trial_rows = []
    for label, change in trials:
        m = {r["step"]: r for r in _curve(runs[label])}[800]
        trial_rows.append([label, change, *_mdct_row(m)[1:4], f"{m['fd']:.1f}", "yes" if _meets(m) else "no"])
    b.table("mptrials", ["", "change", "spread t/l/b", "below", "dBFS", "FD", "all"], trial_rows,
            "lp{2.5cm}llrrl")
    b.macro("mpTrialFloor", f"{_curve(runs['P'])[-1]['fd_floor']:.2f}")

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        for label, name in (("make-train-mp3net-K", "no band matching"),
                            ("make-train-mp3net-bands", "band matching"),
                            ("make-train-mp3net", "band matching, level drawn, decay")):
            gap = np.array(runs[label]["critic"])
            ax.plot(gap[:, 0], gap[:, 1], label=name, linewidth=1)
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_xlabel("step")
        ax.set_ylabel("D(real) $-$ D(generated)")
        ax.legend(fontsize=7)

    b.figure("critic", draw, (3.4, 1.8))


def ablation(b: Builder) -> None:
    runs = b.load("mp3net-ablation.json")["runs"]
    rows = []
    for arm, name in (("masking", "masking"), ("none", "none"), ("white", "white")):
        ms = [_curve(runs[f"{arm}-seed{s}"])[-1] for s in (0, 1)]
        fd = [m["fd"] for m in ms]
        ton = [m["tonality"] / m["tonality_real"] for m in ms]
        lvl = [m["rms_dbfs_std"] / m["rms_dbfs_real_std"] for m in ms]
        rows.append([name, f"{statistics.fmean(ton):.2f} $\\pm$ {statistics.stdev(ton):.2f}",
                     f"{statistics.fmean(lvl):.2f} $\\pm$ {statistics.stdev(lvl):.2f}",
                     f"{statistics.fmean(fd):.0f} $\\pm$ {statistics.stdev(fd):.0f}",
                     " / ".join(f"{x:.0f}" for x in fd)])
    b.table("ablation", ["noise", "tonality ratio", "level spread", "FD", "FD seeds 0/1"], rows, "lllll")
    b.macro("ablSteps", str(runs["masking-seed0"]["training"]["steps"]))


def export(b: Builder) -> None:
    rows = [r for r in _section(b.benchmarks(), "Exported generators") if r[0] == "oneshots"]
    kinds = {r[1].split(":")[0].split(" (")[0]: r for r in rows}
    b.macro("exportTorchMs", kinds["PyTorch eager generator"][2])
    b.macro("exportOnnxMs", kinds["ONNX float32"][2])
    b.macro("exportIntMs", kinds["ONNX int8"][2])
    b.macro("exportIntMB", kinds["ONNX int8"][3])
    b.macro("exportOnnxMB", kinds["ONNX float32"][3])
    b.macro("exportHitMs", kinds["one hit"][2])
    b.macro("exportInversionMs", kinds["numpy inversion"][2])
    b.macro("exportOnnxRss", kinds["ONNX float32"][4])
    b.macro("exportTorchRss", kinds["PyTorch eager generator"][4])


SECTIONS = [dsp, psychoacoustic, mdct_figure, mnist, cgan, study, mp3net, ablation, export]


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "report" / "generated",
              show_default=True)
def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    builder = Builder(out)
    for section in SECTIONS:
        builder.begin()
        section(builder)
    builder.finish()
    click.echo(f"wrote {len(builder.manifest)} outputs and {len(builder.macros)} macros to {out}")


if __name__ == "__main__":
    main()
