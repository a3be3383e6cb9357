"""Real-time synthesis with the GANSynth-style spectrogram GAN: generator, inversion and both (1 CPU thread).

The real-time factor (RTF) is the wall time to produce audio divided by the duration of that audio
(as in :mod:`gansynth_zoo.synthesis`); below 1 is faster than real time, and ``1 / RTF`` is "x real
time". Two shipped configs are measured: ``gansynth-oneshots`` (256 bins x 64 frames, 1.024-s clips)
and ``gansynth-hires`` (GANSynth's +H layout, 1024 x 128, 4-s clips). For each:

* the generator alone, built by :func:`gansynth_zoo.builders.build_models` from the config with
  random weights (a dense convolutional network costs the same whatever its weights), in eval mode
  under ``torch.no_grad()``, at the full resolution;
* the inversions, on log-magnitude + IF features of synthetic one-shots
  (:mod:`audiofeat.datasets.synthetic`) computed with the layout of the config's feature file:
  the exact IF -> phase -> ISTFT path of the log-magnitude + IF models
  (:func:`audiofeat.functional.log_mag_if_to_waveform`), audiofeat's fast Griffin-Lim from a PGHI
  start at 8, 32 and 100 iterations (what a magnitude-only model would need), and the peer,
  ``torchaudio.transforms.GriffinLim`` (random start, momentum 0.99) at 32 and 100 iterations with
  the same n_fft, hop and periodic Hann window on the same magnitude;
* end to end, the sum of the generator's time and the inversion's time (not timed together).

All float32 on the CPU, in one process, with ``torch.set_num_threads(1)`` like the other benchmarks.
``run(quick=True)`` measures batch 1 only, with one timed run per figure (a smoke check, not a result).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchaudio

from audiofeat.config import load_config as load_feature_config
from audiofeat.datasets.synthetic import SUBCLASSES, synthesize
from audiofeat.features import FeatureConfig
from audiofeat.functional import (
    griffinlim,
    log_mag_if_to_waveform,
    magnitude,
    spec_to_log_mag_if,
    stft,
    stft_padding,
)
from benchmarks.common import Section, time_call, torch_threads
from gansynth_zoo.builders import build_models
from gansynth_zoo.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Setting:
    """A run config and the feature file its cache is built from."""

    label: str
    run_config: str
    feature_config: str


SETTINGS = (
    Setting("gansynth-oneshots", "pipelines/configs/gansynth-oneshots.toml",
            "pipelines/features/oneshots.toml"),
    Setting("gansynth-hires (+H)", "pipelines/configs/gansynth-hires.toml",
            "pipelines/features/oneshots-hires.toml"),
)
#: Conditioning of the one-shots both configs train on: 6 class + 48 subclass one-hots (docs/caches.md).
N_CLASSES, N_SUBCLASSES = 6, 48
C_DIM = N_CLASSES + N_SUBCLASSES
BATCHES = (1, 64)
GL_ITERS = (8, 32, 100)
PEER_ITERS = (32, 100)
MOMENTUM = 0.99
REPEAT = 3
#: A call slower than this (s) on its warm-up run is timed once more instead of ``REPEAT`` times.
LONG_CALL = 10.0

GENERATOR = "generator"
EXACT = "IF -> phase -> ISTFT (exact, `log_mag_if_to_waveform`)"


def _gl(n_iter: int) -> str:
    return f"audiofeat `griffinlim`, PGHI start, {n_iter} it."


def _peer(n_iter: int) -> str:
    return f"torchaudio `GriffinLim`, random start, {n_iter} it."


def _seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median of ``repeat`` timed runs after one warm-up run (one timed run if the warm-up was long)."""
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start > LONG_CALL:
        repeat = 1
    return time_call(fn, repeat=repeat, warmup=0)


def _fmt(value: float) -> str:
    """Three significant figures, without exponents for values from 1e-4 up."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


@dataclass
class Workload:
    """Everything one setting needs: the generator, its inputs' sizes and the inversion's geometry."""

    setting: Setting
    generator: torch.nn.Module
    features: FeatureConfig
    n_params: int

    @property
    def length(self) -> int:
        return self.features.audio.length

    @property
    def duration(self) -> float:
        """Seconds of audio per clip."""
        return self.length / self.features.audio.sample_rate


def load_workload(setting: Setting) -> Workload:
    """Builds the setting's generator with random weights (seed 0) and checks its output against the
    feature layout (frequency bins and frames of the config's ``data.shape``)."""
    config = load_config(ROOT / setting.run_config)
    features = load_feature_config(ROOT / setting.feature_config, FeatureConfig)
    shape = tuple(config.data.shape)
    layout = features.stft.layout()
    frames = stft_padding(features.audio.length, n_fft=layout.n_fft, hop_length=layout.hop_length,
                          padding=layout.padding, n_frames=layout.n_frames).n_frames
    if shape[1:] != (layout.n_freq, frames) or config.data.features != features.features:
        raise ValueError(f"{setting.run_config} (data.shape {list(shape)}, {list(config.data.features)}) "
                         f"does not match {setting.feature_config} ({layout.n_freq} x {frames}, "
                         f"{list(features.features)})")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        G, _, _ = build_models(config, shape, C_DIM)
    G.eval()
    return Workload(setting, G, features, sum(p.numel() for p in G.parameters()))


def generator_inputs(G: torch.nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded latents and class + subclass one-hots cycling through the labels."""
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(0))
    c = torch.zeros(batch, G.c_dim)
    if G.c_dim:
        rows = torch.arange(batch)
        c[rows, rows % N_CLASSES] = 1.0
        c[rows, N_CLASSES + rows % N_SUBCLASSES] = 1.0
    return z, c


def synthetic_batch(batch: int, length: int, sample_rate: int) -> torch.Tensor:
    """``(batch, length)`` one-shots cycling through the synthetic subclasses (drums, bass, fx)."""
    names = list(SUBCLASSES)
    clips = [synthesize(names[i % len(names)], i // len(names), sample_rate=sample_rate,
                        duration=length / sample_rate)[:length] for i in range(batch)]
    return torch.stack([torch.from_numpy(x) for x in clips])


def time_generator(work: Workload, batch: int, repeat: int = REPEAT) -> float:
    """Seconds per generator pass at ``batch``."""
    z, c = generator_inputs(work.generator, batch)

    def call() -> torch.Tensor:
        with torch.no_grad():
            return work.generator(z, c)

    return _seconds(call, repeat)


def time_inversions(work: Workload, batch: int, repeat: int = REPEAT) -> dict[str, float]:
    """Seconds per batch of each inversion, on the features of ``batch`` synthetic one-shots."""
    layout = work.features.stft.layout()
    kw = layout.as_kwargs()
    eps, length = work.features.stft.eps, work.length
    waveform = synthetic_batch(batch, length, work.features.audio.sample_rate)
    log_mag, inst_freq = spec_to_log_mag_if(stft(waveform, **kw), eps=eps)
    mag = (log_mag.exp() - eps).clamp_min(0.0)  # what Representation.to_audio gives Griffin-Lim
    # torchaudio has no option to drop the DC bin and always centres its frames: it gets the same
    # frames with the DC bin kept (n_fft // 2 + 1 bins) and returns hop * (frames - 1) samples.
    peer_mag = magnitude(stft(waveform, **dataclasses.replace(layout, drop_bin="none").as_kwargs()))
    times = {EXACT: _seconds(lambda: log_mag_if_to_waveform(log_mag, inst_freq, **kw, length=length, eps=eps),
                             repeat)}
    for n_iter in GL_ITERS:
        times[_gl(n_iter)] = _seconds(
            lambda n_iter=n_iter: griffinlim(mag, **kw, length=length, n_iter=n_iter, momentum=MOMENTUM,
                                             init="pghi"), repeat)
    for n_iter in PEER_ITERS:
        peer = torchaudio.transforms.GriffinLim(n_fft=layout.n_fft, n_iter=n_iter,
                                                win_length=layout.win_length, hop_length=layout.hop_length,
                                                power=1.0, momentum=MOMENTUM)
        times[_peer(n_iter)] = _seconds(lambda peer=peer: peer(peer_mag), repeat)
    return times


def measure(work: Workload, batches: tuple[int, ...], repeat: int = REPEAT) -> dict[int, dict[str, float]]:
    """``{batch: {stage: seconds per batch}}`` for the generator and every inversion."""
    return {batch: {GENERATOR: time_generator(work, batch, repeat), **time_inversions(work, batch, repeat)}
            for batch in batches}


def _batch_notes(work: Workload, batch: int, t: dict[str, float]) -> list[str]:
    audio = batch * work.duration
    gen, exact = t[GENERATOR], t[EXACT]
    total = gen + exact
    first, last = min(GL_ITERS), max(GL_ITERS)
    per_iter = max((t[_gl(last)] - t[_gl(first)]) / (last - first), 1e-9)
    fixed = max(t[_gl(first)] - first * per_iter, 0.0)  # PGHI start + final ISTFT
    low, high = min(PEER_ITERS), max(PEER_ITERS)
    peer_per_iter = max((t[_peer(high)] - t[_peer(low)]) / (high - low), 1e-9)

    def fit(budget: float, step: float) -> str:
        n = math.floor(budget / step)
        return f"{n:,}" if n >= 0 else "none"

    speed = audio / total
    notes = [
        f"**{work.setting.label}, batch {batch}** ({_fmt(audio)} s of audio per batch): the model's own "
        f"path, generator + exact inversion, takes {_fmt(total)} s, {_fmt(speed)}x real time "
        f"({'faster' if speed >= 1 else 'SLOWER'} than real time). The "
        f"{'generator' if gen >= exact else 'inversion'} dominates: the generator is {gen / total:.0%} of it "
        f"({_fmt(gen / exact)}x the inversion's time)."
        + (f" A single clip is ready {_fmt(1e3 * total)} ms after it is asked for." if batch == 1 else ""),
        f"Griffin-Lim (audiofeat, PGHI start) costs {_fmt(1e3 * per_iter)} ms per iteration per batch "
        f"({_fmt(1e3 * per_iter / audio)} ms per second of audio; slope between {first} and {last} "
        f"iterations) plus {_fmt(1e3 * fixed)} ms for the PGHI start and the final ISTFT: "
        f"{fit(audio - fixed, per_iter)} iterations fit in real time on their own, "
        f"{fit(audio - gen - fixed, per_iter)} after the generator. At {last} iterations it costs "
        f"{_fmt(t[_gl(last)] / gen)}x the generator and {_fmt(t[_gl(last)] / exact)}x the exact inversion, "
        f"and generator + Griffin-Lim runs at {_fmt(audio / (gen + t[_gl(last)]))}x real time.",
        f"torchaudio's `GriffinLim` takes {_fmt(t[_peer(low)] / t[_gl(low)])}x audiofeat's time at {low} "
        f"iterations and {_fmt(t[_peer(high)] / t[_gl(high)])}x at {high} ({_fmt(1e3 * peer_per_iter)} ms "
        f"per iteration against {_fmt(1e3 * per_iter)} ms; audiofeat's figures include computing the PGHI "
        f"start). {fit(audio, peer_per_iter)} of its iterations fit in real time.",
    ]
    return notes


def _section(setting: Setting, quick: bool) -> tuple[Section, dict[int, dict[str, float]], Workload]:
    work = load_workload(setting)
    repeat = 1 if quick else REPEAT
    batches, batch_note = ((1,), " Quick run: batch 1 only, one timed run per figure.") if quick else (BATCHES, "")
    results = measure(work, batches, repeat)
    layout = work.features.stft.layout()
    shape = tuple(work.generator.shape)
    section = Section(
        title=f"Synthesis real-time factor: {setting.label}, {shape[1]} x {shape[2]} log-magnitude + IF, "
              f"{work.duration:g}-s clips (float32, CPU, 1 thread)",
        header=["batch", "stage", "s / batch", "RTF", "x real time",
                "with generator: s / batch", "with generator: RTF", "with generator: x real time"])
    for batch, t in results.items():
        audio = batch * work.duration
        for stage, seconds in t.items():
            row = [str(batch), stage, _fmt(seconds), _fmt(seconds / audio), _fmt(audio / seconds)]
            if stage == GENERATOR:
                row += ["-", "-", "-"]
            else:
                total = t[GENERATOR] + seconds
                row += [_fmt(total), _fmt(total / audio), _fmt(audio / total)]
            section.rows.append(row)
    for batch, t in results.items():
        section.notes += _batch_notes(work, batch, t)
    sample_rate = work.features.audio.sample_rate
    section.notes.append(
        f"Setup: `{setting.run_config}` built by `build_models` with c_dim {C_DIM} and random weights "
        f"({work.n_params:,} generator parameters, output {list(shape)}); a dense convolutional generator "
        "does the same arithmetic whatever its weights, so its time does not depend on training. Eval mode, "
        "`torch.no_grad()`, full resolution. The inversions run on the log-magnitude + IF of synthetic "
        "one-shots (`audiofeat.datasets.synthetic`, cycling through its subclasses) in the layout of "
        f"`{setting.feature_config}`: {work.length:,} samples at {sample_rate:,} Hz, n_fft {layout.n_fft}, "
        f"hop {layout.hop_length}, padding {layout.padding!r}, drop_bin {layout.drop_bin!r}; Griffin-Lim "
        "gets `exp(log_mag) - eps`, as `Representation.to_audio` gives it. torchaudio gets the same frames' "
        "magnitude with the DC bin kept (it cannot drop it) and treats the frames as centred. \"With "
        "generator\" = the generator's time + the inversion's time, each measured on its own (median of "
        f"{repeat} runs after a warm-up, or one run after the warm-up for calls over {LONG_CALL:.0f} s). "
        + batch_note)
    return section, results, work


def _summary(parts: list[tuple[Section, dict[int, dict[str, float]], Workload]]) -> str:
    """One paragraph answering the question of the benchmark, from the batch-1 figures (and the
    largest batch measured, for throughput)."""
    sentences = []
    speeds = []
    for _, results, work in parts:
        t = results[1]
        audio = work.duration
        gen, exact, gl = t[GENERATOR], t[EXACT], t[_gl(max(GL_ITERS))]
        speeds.append((work, audio / (gen + exact), gen / (gen + exact), gen + exact))
        sentences.append(
            f"{work.setting.label} at batch 1 runs at {_fmt(audio / (gen + exact))}x real time with its "
            f"exact inversion, the generator taking {gen / (gen + exact):.0%} of the time (the generator "
            f"alone: {_fmt(audio / gen)}x real time); with {max(GL_ITERS)} Griffin-Lim iterations instead "
            f"it would run at {_fmt(audio / (gen + gl))}x, Griffin-Lim taking {gl / (gen + gl):.0%}.")
        largest = max(results)
        if largest > 1:
            big = results[largest]
            batch_total = big[GENERATOR] + big[EXACT]
            sentences.append(
                f"At batch {largest} its throughput is {_fmt(largest * audio / batch_total)}x real time, "
                f"at a latency of {_fmt(batch_total)} s per batch.")

    def stage(share: float) -> str:
        return "the generator" if share >= 0.5 else "the inversion"

    slow = [f"{w.setting.label} ({stage(share)} takes {max(share, 1 - share):.0%})"
            for w, speed, share, _ in speeds if speed < 1]
    work, _, share, latency = max(speeds, key=lambda item: item[3])
    if slow:
        verdict = f"Slower than real time on one thread at batch 1: {', '.join(slow)}."
    else:
        verdict = (f"On one thread every config synthesises faster than real time at batch 1, so nothing "
                   f"stands in the way of real time as such; what remains is latency, mostly "
                   f"{stage(share)}'s: {work.setting.label} needs {_fmt(1e3 * latency)} ms per "
                   f"{work.duration:.3g}-s clip, {max(share, 1 - share):.0%} of it in {stage(share)}. "
                   "Griffin-Lim is not on these models' path (they predict IF); it would be for a "
                   "magnitude-only model.")
    return ("**What stands in the way of real-time synthesis (one CPU thread).** " + " ".join(sentences)
            + " " + verdict + " Threads: everything runs with `torch.set_num_threads(1)`, as in the other "
              "benchmarks, on a machine shared with other jobs (more threads were not measured).")


def run(quick: bool = False) -> list[Section]:
    """One section per config; the last carries a summary. ``quick``: batch 1 and one timed run only."""
    with torch_threads(1):
        parts = [_section(setting, quick) for setting in SETTINGS]
    sections = [section for section, _, _ in parts]
    sections[-1].notes.append(_summary(parts))
    return sections
