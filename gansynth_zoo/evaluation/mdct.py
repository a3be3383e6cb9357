"""Evaluation of MDCT GANs (MP3net) trained on an audiofeat cache.

MP3net's paper reports a single number, the mean tonality of generated music against real music
(van den Broek 2021, section 4: 40-45% generated, 72-73% real). This suite scores every
example, generated and real, with three per-example statistics of its MDCT
(``(channels, n_bins, frames)``, MP3net's scale) and of its IMDCT waveform:

- ``tonality``: :func:`audiofeat.functional.psychoacoustic.tonality` (0 for white noise, 1 for a pure
  tone) per frame and channel, averaged over frames and channels;
- ``below_threshold``: the fraction of MDCT coefficients with ``|A| < T``, ``T`` the masking
  threshold (:func:`audiofeat.functional.psychoacoustic.masking_threshold` with the cache's
  psychoacoustic settings): the share of the signal the psychoacoustic model calls inaudible. For
  real examples the threshold stored in the cache (``data.aux``, computed from the same clean
  coefficients) is used when there is one;
- ``rms_dbfs``: the RMS level of the waveform (:meth:`Representation.to_audio`, clipped to
  [-1, 1]) over channels and samples, ``20 log10(rms)`` dB relative to full scale (a full-scale
  sine is -3.01 dBFS; no AES17 +3 dB), floored at -200 dB for silence.

Each is reported as its mean and (population) standard deviation over the examples, for
``samples`` generated examples and for every real window of the cache: ``tonality`` and
``tonality_std``, ``tonality_real`` and ``tonality_real_std``, and so on. The real statistics are
taken over the whole corpus because the spread of the level is set by its few near-silent windows
(rests, phrase ends): over 128 randomly chosen piano windows its standard deviation ranged from 3.5
to 7.8 dB (10th to 90th percentile of 200 draws) around the corpus's 5.9 dB, so a subset made a
noisy yardstick for the generated spread. Examples are generated and scored batch by batch, so memory
stays that of one batch whatever ``samples`` is.

A Fréchet distance compares the two sets as wholes. Its embedding, :func:`band_statistics`, is
what a listener's spectrum analyser would show of a window: in 32 bands of 4 MDCT bins (344 Hz
at 22,016 Hz), the mean over frames of the log power and its standard deviation over frames (how
much each band moves), channels averaged: 64 numbers. ``fd`` compares the generated examples with
one half of the real windows, and ``fd_floor`` the other half with the same half: the distance
that sampling alone gives at that size.

``checkpoints=True`` scores the EMA generator of every checkpoint kept in the run folder as well,
so the learning curve is visible (``gansynth-zoo evaluate RUN --checkpoints``).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from audiofeat.exceptions import ConfigError, ParameterError
from audiofeat.functional.psychoacoustic import masking_threshold, tonality
from audiofeat.progress import Progress
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.metrics import report_metric
from gansynth_zoo.evaluation.metrics.frechet import frechet_distance
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.training.checkpoint import list_checkpoints

__all__ = ["SCORES", "band_statistics", "evaluate_mdct", "example_scores", "score_mdct"]

#: The per-example statistics, in report order.
SCORES = ("tonality", "below_threshold", "rms_dbfs")

_SILENCE_DB = -200.0
_BAND_BINS = 4  # MDCT bins per band of the FD embedding


def band_statistics(coeffs: torch.Tensor) -> torch.Tensor:
    """The FD embedding of MDCT windows ``(batch, channels, n_bins, frames)``: per band of
    ``_BAND_BINS`` bins, the mean over frames of ``log10`` power and its std over frames (module
    docstring), channels averaged; ``(batch, 2 * n_bins / _BAND_BINS)``."""
    batch, channels, n_bins, frames = coeffs.shape
    power = coeffs.double().square().reshape(batch, channels, n_bins // _BAND_BINS, _BAND_BINS, frames).mean(3)
    level = (power + 1e-12).log10()
    return torch.cat([level.mean(dim=3).mean(dim=1), level.std(dim=3).mean(dim=1)], dim=1)


def _mdct_representation(representation: Representation) -> None:
    if tuple(representation.features) != ("mdct",):
        raise ConfigError(f"MDCT evaluation needs a model that sees the MDCT alone; this one sees "
                          f"{list(representation.features)}")


def mdct_and_threshold(x: torch.Tensor, representation: Representation, *,
                       threshold: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The MDCT amplitudes of model tensors ``x`` and their masking threshold: ``threshold`` when given
    (checked to have the MDCT's shape), else computed with the representation's psychoacoustic
    settings.

    Raises:
        ConfigError: the representation is not the MDCT alone.
        ValueError: ``threshold`` has another shape than the MDCT.
    """
    _mdct_representation(representation)
    cfg = representation.feature_config
    coeffs = representation.decode(x)["mdct"]
    if threshold is None:
        threshold = masking_threshold(coeffs, sample_rate=cfg.audio.sample_rate,
                                      n_bark_bands=cfg.psychoacoustic.n_bark_bands,
                                      alpha=cfg.psychoacoustic.alpha)
    elif threshold.shape != coeffs.shape:
        raise ParameterError(f"threshold must have the MDCT's shape {tuple(coeffs.shape)}, "
                         f"got {tuple(threshold.shape)}")
    return coeffs, threshold


def example_scores(x: torch.Tensor, representation: Representation, *,
                   threshold: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The statistics of the module docstring for each example of a batch.

    Args:
        x: ``(batch, channels, n_bins, frames)`` model tensors of an MDCT representation
            (features ``("mdct",)``).
        representation: how ``x`` maps to MDCT amplitudes and audio.
        threshold: the masking threshold of the decoded MDCT, same shape (default: computed with the
            representation's psychoacoustic settings).

    Returns:
        ``{name: (batch,) float tensor}`` for every name in :data:`SCORES`, on ``x``'s device.

    Raises:
        ConfigError: the representation is not the MDCT alone.
    """
    coeffs, threshold = mdct_and_threshold(x, representation, threshold=threshold)
    rms = representation.to_audio(x).flatten(1).square().mean(dim=1).sqrt()
    return {
        "tonality": tonality(coeffs).mean(dim=(1, 2)),
        "below_threshold": (coeffs.abs() < threshold).flatten(1).float().mean(dim=1),
        "rms_dbfs": 20.0 * rms.clamp_min(10.0 ** (_SILENCE_DB / 20.0)).log10(),
        "embedding": band_statistics(coeffs),
    }


def score_mdct(batches: Iterable[tuple[torch.Tensor, torch.Tensor | None]],
               representation: Representation) -> dict[str, Any]:
    """Means and standard deviations of :func:`example_scores` over the examples of all batches.

    Args:
        batches: ``(x, threshold)`` pairs as :func:`example_scores` takes them (``threshold`` may be
            ``None``); consumed one at a time.
        representation: as in :func:`example_scores`.

    Returns:
        ``{"examples": n, name: mean, name + "_std": population std}`` for every name in
        :data:`SCORES`, and ``"embedding"``: the ``(n, d)`` :func:`band_statistics` of the examples.
    """
    values: dict[str, list[torch.Tensor]] = {name: [] for name in (*SCORES, "embedding")}
    for x, threshold in batches:
        for name, value in example_scores(x, representation, threshold=threshold).items():
            values[name].append(value.detach().double().cpu())
    result: dict[str, Any] = {"examples": sum(len(v) for v in values[SCORES[0]])}
    if not result["examples"]:
        raise ParameterError("no examples to score")
    for name in SCORES:
        all_values = torch.cat(values[name])
        result[name] = float(all_values.mean())
        result[f"{name}_std"] = float(all_values.std(correction=0))
    result["embedding"] = torch.cat(values["embedding"]).numpy()
    return result


def _real_rows(n_real: int, samples: int, seed: int) -> torch.Tensor:
    """All rows when there are at most ``samples``, else a seeded random subset (sorted)."""
    if n_real <= samples:
        return torch.arange(n_real)
    return torch.randperm(n_real, generator=torch.Generator().manual_seed(seed))[:samples].sort().values


def _real_batches(data, rows: torch.Tensor, batch_size: int,
                  device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        aux = None if data.aux is None else data.aux[chunk].to(device)
        yield data.x[chunk].to(device), aux


def _generated_batches(G: torch.nn.Module, export: dict[str, Any], samples: int, seed: int, batch_size: int,
                       device: torch.device, progress: Progress | None,
                       task: str) -> Iterator[tuple[torch.Tensor, None]]:
    """Generated batches without gradients; example ``i``'s latent is the ``i``-th draw of a generator
    seeded with ``seed``, so the examples do not depend on ``batch_size``. A conditional model gets
    the labels in turn (``i`` modulo their number)."""
    generator = torch.Generator().manual_seed(seed)
    conditioning = export.get("conditioning", torch.zeros(1, 0))  # training checkpoints have none
    for start in range(0, samples, batch_size):
        n = min(batch_size, samples - start)
        z = torch.stack([torch.randn(export["z_dim"], generator=generator) for _ in range(n)])
        labels = torch.arange(start, start + n) % max(len(conditioning), 1)
        c = conditioning[labels] if G.c_dim else torch.zeros(n, 0)
        with torch.no_grad():
            x = G(z.to(device), c.to(device)).float()
        yield x, None
        if progress:
            progress(task, start + n, samples)


def evaluate_mdct(run_dir: str | os.PathLike, data, *, samples: int, seed: int = 0,
                  device: torch.device | str = "cpu", batch_size: int = 8, checkpoints: bool = False,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Scores a run trained on MDCT data against its real windows; appends ``metric-mdct.jsonl``.

    Args:
        run_dir: the run folder (its ``generator.pt`` is evaluated).
        data: the run's :class:`gansynth_zoo.data.dataset.TrainingData` (model tensors ``data.x``
            and, when the cache has it, the masking threshold ``data.aux``).
        samples: generated examples (at least 2); the Fréchet distance compares half of them with
            half of as many real windows (a seeded subset, or all when there are fewer), and the
            other half of those real windows gives its floor. The real statistics are over all windows.
        seed: seeds the latents (example ``i`` gets the ``i``-th draw, whatever the batch size) and
            the choice of real windows.
        device: where generation and scoring run.
        batch_size: examples generated and scored at once (default 8; memory is that of one batch).
        checkpoints: also score the EMA generator of every checkpoint in the run folder, oldest
            first, each with its own record.
        progress: hears ``("score <checkpoint>", done, samples)`` (:mod:`audiofeat.progress`).

    Returns:
        The record of ``generator.pt`` (module docstring): ``step``, ``samples``, ``real_examples``,
        ``seed``, ``real_threshold`` (``"cache"`` or ``"computed"``), the statistics, ``fd`` and
        ``fd_floor``.

    Raises:
        ConfigError: the run's representation is not the MDCT alone.
        ValueError: ``samples`` below 2 or ``batch_size`` below 1.
    """
    if samples < 2 or batch_size < 1:
        raise ParameterError(f"samples must be at least 2 and batch_size positive, got {samples} and {batch_size}")
    run_dir = Path(run_dir)
    representation = Representation.from_dict(data.info["representation"])
    _mdct_representation(representation)
    device = torch.device(device)
    rows = _real_rows(len(data), samples, seed)
    real = score_mdct(_real_batches(data, torch.arange(len(data)), batch_size, device), representation)
    half = len(rows) // 2
    if half < 2:
        raise ParameterError(f"the cache has {len(rows)} windows; the FD floor needs at least 4")
    chosen = real["embedding"][rows.numpy()]
    reference, other = chosen[:half], chosen[half:2 * half]
    sources = [*list_checkpoints(run_dir), run_dir / "generator.pt"] if checkpoints else [run_dir / "generator.pt"]
    for source in sources:
        G, export = load_generator(source, device)
        generated = score_mdct(_generated_batches(G, export, samples, seed, batch_size, device, progress,
                                                      f"score {source.name}"), representation)
        result: dict[str, Any] = {"step": int(export["step"]), "samples": generated["examples"],
                                  "real_examples": real["examples"], "seed": seed,
                                  "real_threshold": "computed" if data.aux is None else "cache"}
        for name in SCORES:
            result[name], result[f"{name}_std"] = generated[name], generated[f"{name}_std"]
            result[f"{name}_real"], result[f"{name}_real_std"] = real[name], real[f"{name}_std"]
        result["fd"] = frechet_distance(generated["embedding"][:half], reference)
        result["fd_floor"] = frechet_distance(other, reference)
        report_metric(run_dir, "mdct", result, checkpoint=f"{source.name} (step {export['step']})")
    return result
