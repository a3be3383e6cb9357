"""A static listening page for one or more runs: ``gallery RUN [RUN...] --out DIR`` writes
``DIR/index.html`` and the files it plays and shows, with nothing but relative links (no external
URLs, standard-library HTML).

Per run: the resolved config, the last record of every ``metric-*.jsonl`` as a table, and per
category generated clips next to real clips of the same category from the run's cache, each with an
audio player and a spectrogram (matplotlib: frequency in Hz, time in s, a dB colour bar). Real clips
go through the same inversion as generated ones (the cached features back to sound), so both sides
are heard through the same vocoder. Image runs (MNIST) show a generated grid, one row per label.
Several runs appear side by side, one column each.
"""
from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from audiofeat.config import config_from_dict
from audiofeat.exceptions import ParameterError
from audiofeat.functional.spectral import amplitude_to_db, magnitude, stft
from audiofeat.io import save_audio
from gansynth_zoo import builders
from gansynth_zoo.config import RunConfig
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import generate, load_generator
from gansynth_zoo.tools.curves import read_records
from gansynth_zoo.tools.images import image_grid, write_png

__all__ = ["write_gallery"]

_STYLE = """body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}.runs{display:flex;gap:1em;align-items:flex-start}
.run{flex:1;min-width:0}img{max-width:100%}pre{font-size:11px;max-height:20em;overflow:auto;background:#f6f6f6}
audio{width:100%}"""


def _spectrogram_png(waveform: torch.Tensor, rate: int, title: str, path: Path) -> Path:
    """The mono mix of ``waveform`` as a dB spectrogram with axes in s and Hz and a colour bar."""
    from matplotlib.figure import Figure  # the optional `plot` extra; no pyplot, no global backend

    mono = waveform.float().mean(0)
    n_fft = min(512, 2 ** max(3, (len(mono) // 2).bit_length() - 1))  # short clips get a shorter window
    db = amplitude_to_db(magnitude(stft(mono, n_fft=n_fft)), top_db=80.0)
    figure = Figure(figsize=(3.6, 2.4))
    ax = figure.subplots()
    image = ax.imshow(db.numpy(), origin="lower", aspect="auto", cmap="magma",
                      extent=(0.0, len(mono) / rate, 0.0, rate / 2))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(title, fontsize=8)
    figure.colorbar(image, ax=ax, label="dB")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return path


def _metrics_table(run_dir: Path) -> str:
    rows = []
    for path in sorted(run_dir.glob("metric-*.jsonl")):
        records = read_records(path)
        if not records:
            continue
        last = records[-1]
        for key, value in last.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(f"<tr><td>{html.escape(path.stem.removeprefix('metric-'))}</td>"
                            f"<td>{html.escape(key)}</td><td>{value:.4g}</td></tr>")
    if not rows:
        return "<p>no metrics recorded yet (<code>gansynth-zoo evaluate RUN</code>)</p>"
    return "<table><tr><th>metric</th><th>field</th><th>value</th></tr>" + "".join(rows) + "</table>"


def _audio_cell(waveform: torch.Tensor, rate: int, title: str, folder: Path, stem: str, out: Path) -> str:
    wav = save_audio(folder / f"{stem}.wav", waveform, rate)
    png = _spectrogram_png(waveform, rate, title, folder / f"{stem}.png")
    return (f'<div><audio controls preload="auto" src="{wav.relative_to(out).as_posix()}"></audio>'
            f'<img alt="{html.escape(title)}" src="{png.relative_to(out).as_posix()}"></div>')


def _run_section(run_dir: Path, out: Path, per_category: int, seed: int) -> str:
    config = config_from_dict(RunConfig, json.loads((run_dir / "config.json").read_text()), source=str(run_dir))
    G, export = load_generator(run_dir)
    folder = out / run_dir.name
    folder.mkdir(parents=True, exist_ok=True)
    names = list(export["label_names"]) if G.c_dim else ["sample"]
    parts = [f"<h2>{html.escape(run_dir.name)}</h2>", "<h3>metrics</h3>", _metrics_table(run_dir)]
    audio = export["data"].get("representation")
    if audio is None:  # images: one row per label
        labels = torch.arange(len(names)).repeat_interleave(8)
        x = generate(G, export["conditioning"], labels, export["z_dim"], seed=seed)
        grid = write_png(image_grid(x, nrow=8), folder / "grid.png")
        parts += ["<h3>generated</h3>", f'<img alt="generated grid" src="{grid.relative_to(out).as_posix()}">']
    else:
        representation = Representation.from_dict(audio)
        rate = representation.feature_config.audio.sample_rate
        data = builders.build_data(config)
        rows = ["<tr><th>category</th><th>generated</th><th>real (same inversion)</th></tr>"]
        for index, name in enumerate(names):
            labels = torch.full((per_category,), index)
            fake = representation.to_audio(generate(G, export["conditioning"], labels, export["z_dim"], seed=seed),
                                           generator=torch.Generator().manual_seed(seed))
            real_x = data.x[data.labels == index][:per_category] if G.c_dim else data.x[:per_category]
            real = representation.to_audio(real_x, generator=torch.Generator().manual_seed(seed))
            safe = name.replace("/", "-")
            cells = ["".join(_audio_cell(clip, rate, f"{name}: generated {i}", folder, f"{safe}-gen{i}", out)
                             for i, clip in enumerate(fake)),
                     "".join(_audio_cell(clip, rate, f"{name}: real {i}", folder, f"{safe}-real{i}", out)
                             for i, clip in enumerate(real))]
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
        parts += ["<h3>listening</h3>", "<table>" + "".join(rows) + "</table>"]
    resolved = json.dumps(json.loads((run_dir / "config.json").read_text()), indent=2)
    parts += ["<h3>config</h3>", f"<pre>{html.escape(resolved)}</pre>"]
    return '<div class="run">' + "\n".join(parts) + "</div>"


def write_gallery(run_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *, per_category: int = 2,
                  seed: int = 0) -> Path:
    """Writes ``out_dir/index.html`` for ``run_dirs`` (side by side) and returns its path.

    Raises:
        ParameterError: a folder that is not a run with a generator.
    """
    out = Path(out_dir)
    runs = [Path(r) for r in run_dirs]
    for run in runs:
        if not (run / "config.json").is_file() or not (run / "generator.pt").is_file():
            raise ParameterError(f"{run}: not a run folder with a generator (config.json and generator.pt)")
    out.mkdir(parents=True, exist_ok=True)
    sections = [_run_section(run, out, per_category, seed) for run in runs]
    title = "gansynth-zoo gallery: " + ", ".join(run.name for run in runs)
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            # an empty icon: browsers ask no server (or file) for /favicon.ico
            "<link rel=\"icon\" href=\"data:,\">"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<div class=\"runs\">{''.join(sections)}</div></body></html>\n")
    index = out / "index.html"
    index.write_text(page)
    return index
