"""Fixed-latent snapshots written while a run trains (``train.sample_every``), so that progress can be
seen and heard: the same latents every time, from the EMA generator.

``RUN/snapshots/<step:08d>/`` holds, for an image model (MNIST), ``grid.png`` with one row per label;
for an audio model, one WAV per category (``<class>-<subclass>.wav``, or ``sample.wav`` when
unconditional) and ``spectrograms.png``, the magnitude channel of each clip titled with its category
(matplotlib when installed, otherwise the same tiles untitled).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from audiofeat.io import save_audio
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.tools.images import image_grid, write_png

__all__ = ["Snapshots"]

_PER_LABEL_IMAGES = 8


class Snapshots:
    """Writes the snapshot of a step; the latents are drawn once from ``seed``.

    Args:
        data: the training set (its labels, conditioning table and representation).
        z_dim: latent size.
        conditional: whether G sees the labels' conditioning vectors.
        run_dir: the run folder (snapshots go under ``run_dir/snapshots``).
        seed: seed of the fixed latents.
    """

    def __init__(self, data: TrainingData, z_dim: int, conditional: bool, run_dir: str | Path, seed: int):
        audio = data.info.get("representation")
        self.representation = None if audio is None else Representation.from_dict(audio)
        n_labels = len(data.label_names) if conditional else 1
        per_label = 1 if self.representation is not None else _PER_LABEL_IMAGES
        labels = torch.arange(n_labels).repeat_interleave(per_label)
        self.names = [data.label_names[i] for i in labels.tolist()] if conditional else ["sample"] * len(labels)
        self.c = data.conditioning(labels) if conditional else torch.zeros(len(labels), 0)
        self.z = torch.randn(len(labels), z_dim, generator=torch.Generator().manual_seed(seed))
        self.per_row = per_label if self.representation is None else min(len(labels), 8)
        self.root = Path(run_dir) / "snapshots"

    @torch.no_grad()
    def write(self, G: nn.Module, step: int) -> Path:
        """Runs ``G`` (the EMA copy, in eval mode) on the fixed latents and writes ``snapshots/<step>``."""
        device = next(G.parameters()).device
        x = G(self.z.to(device), self.c.to(device)).float().cpu()
        folder = self.root / f"{step:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        if self.representation is None:
            write_png(image_grid(x, nrow=self.per_row), folder / "grid.png")
            return folder
        rate = self.representation.feature_config.audio.sample_rate
        audio = self.representation.to_audio(x, n_iter=16, generator=torch.Generator().manual_seed(0))
        for clip, name in zip(audio, self.names):
            save_audio(folder / f"{name.replace('/', '-')}.wav", clip, rate)
        features = self.representation.features
        shown = next((f for f in ("log_mag", "mel") if f in features), features[0])  # MP3Net: the MDCT
        magnitude = x[:, self.representation.channels_of(shown)][:, :1]
        _spectrogram_grid(magnitude.flip(2), self.names, self.per_row, folder / "spectrograms.png")
        return folder


def _spectrogram_grid(tiles: torch.Tensor, names: list[str], per_row: int, path: Path) -> Path:
    """``(n, 1, freq, frames)`` model values in [-1, 1], low frequencies at the bottom, titled by
    ``names`` when matplotlib is installed."""
    try:
        from matplotlib.figure import Figure  # the optional `plot` extra; no pyplot, no global backend
    except ImportError:
        return write_png(image_grid(tiles, nrow=per_row), path)
    rows = -(-len(tiles) // per_row)
    figure = Figure(figsize=(1.8 * per_row, 1.9 * rows))
    axes = figure.subplots(rows, per_row, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, tile, name in zip(axes.flat, tiles, names):
        ax.imshow(tile[0].numpy(), cmap="magma", vmin=-1, vmax=1, aspect="auto")
        ax.set_title(name, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return path
