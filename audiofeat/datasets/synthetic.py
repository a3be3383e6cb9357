"""The embedded default dataset: seeded, synthesised drum, bass and FX one-shots.

Every sound is made from a few envelopes, oscillators and filtered noise, in the spirit of analogue
drum machines. Each subclass has its own recipe and each example draws its own parameters (pitch,
decay, noise colour, level, ...) from a generator seeded by ``(seed, subclass, index)``, so:

- the same seed always gives the same files, bit for bit;
- adding examples or subclasses never changes the examples that already exist;
- within a subclass the sounds vary in the ways real sample packs vary, while the subclasses stay
  distinct enough for a classifier to tell them apart.

Files are written as ``OUT/class/subclass/subclass_0000.wav`` (16-bit PCM) next to a
``dataset.json`` that records the config that made them.

**Styles.** With ``styles = ["electronic", "acoustic"]`` every subclass is made in each style, the
genre axis of the real one-shots (``docs/data.md``) on the same instruments: ``electronic`` is the
recipe dry, with its highs lifted and a click on the onset; ``acoustic``
plays it into a small synthetic room (a decaying noise impulse response) with the highs damped, as
a miked instrument. Files are then ``OUT/class/subclass/<style>_subclass_0000.wav``, and
``OUT/manifest.csv`` gives each its label and ``genre`` (the style), so ``audiofeat extract
OUT/manifest.csv ...`` makes a cache with genres.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy import signal

from audiofeat._checks import check_positive, check_positive_int
from audiofeat._files import atomic_path
from audiofeat.config import config_hash, config_to_dict
from audiofeat.datasets.manifest import write_manifest
from audiofeat.exceptions import ParameterError
from audiofeat.io import save_audio
from audiofeat.progress import Progress

__all__ = ["STYLES", "SUBCLASSES", "OneShotsConfig", "synthesize", "write_oneshots"]

Recipe = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclass(frozen=True)
class OneShotsConfig:
    """Parameters of the embedded dataset.

    Attributes:
        seed: master seed.
        per_subclass: examples per subclass.
        sample_rate: in Hz.
        duration: clip length in seconds.
        subclasses: ``"class/subclass"`` names to make, from :data:`SUBCLASSES`; empty means all.
        styles: styles to make each subclass in, from :data:`STYLES` (empty: the recipes as they are,
            without a style), ``per_subclass`` examples each.
    """

    seed: int = 0
    per_subclass: int = 32
    sample_rate: int = 16000
    duration: float = 1.0
    subclasses: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_positive_int("per_subclass", self.per_subclass)
        check_positive_int("sample_rate", self.sample_rate)
        check_positive("duration", self.duration)
        if self.sample_rate < 8000:
            raise ParameterError(f"sample_rate must be at least 8000 Hz, got {self.sample_rate}")
        unknown = sorted(set(self.subclasses) - set(SUBCLASSES))
        if unknown:
            raise ParameterError(f"subclasses {unknown} are not known; choose from {', '.join(SUBCLASSES)}")
        unknown = sorted(set(self.styles) - set(STYLES))
        if unknown or len(set(self.styles)) != len(self.styles):
            raise ParameterError(f"styles must be distinct names from {', '.join(STYLES)}; got {list(self.styles)}")

    @property
    def names(self) -> tuple[str, ...]:
        return self.subclasses or tuple(SUBCLASSES)


# --- building blocks -------------------------------------------------------------------------------

def _time(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n) / sample_rate


def _exp_env(n: int, sample_rate: int, decay: float, attack: float = 0.001) -> np.ndarray:
    """Linear attack of ``attack`` seconds, then exp(-t / decay)."""
    t = _time(n, sample_rate)
    env = np.exp(-np.maximum(t - attack, 0.0) / decay)
    return env * np.clip(t / attack, 0.0, 1.0)


def _coloured_noise(rng: np.random.Generator, n: int, slope: float) -> np.ndarray:
    """Noise whose power falls as f**-slope (0 white, 1 pink, 2 brown), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spectrum.size, dtype=float)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / freqs ** (slope / 2), n)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def _band(x: np.ndarray, sample_rate: int, low: float | None, high: float | None, order: int = 2) -> np.ndarray:
    nyquist = sample_rate / 2
    if low is not None and high is not None:
        sos = signal.butter(order, [low / nyquist, min(high / nyquist, 0.99)], "bandpass", output="sos")
    elif low is not None:
        sos = signal.butter(order, min(low / nyquist, 0.99), "highpass", output="sos")
    elif high is not None:
        sos = signal.butter(order, min(high / nyquist, 0.99), "lowpass", output="sos")
    else:
        return x
    return signal.sosfilt(sos, x)


def _sweep(n: int, sample_rate: int, f_start: float, f_end: float, rate: float) -> np.ndarray:
    """Sine whose frequency glides exponentially from f_start to f_end with time constant ``rate``."""
    t = _time(n, sample_rate)
    freq = f_end + (f_start - f_end) * np.exp(-t / rate)
    return np.sin(2 * np.pi * np.cumsum(freq) / sample_rate)


def _midi_to_hz(note: float | np.integer) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _saw(n: int, sample_rate: int, freq: float, harmonics: int) -> np.ndarray:
    """Band-limited sawtooth from its first ``harmonics`` partials."""
    t = _time(n, sample_rate)
    top = max(1, min(harmonics, int(sample_rate / 2 / freq)))
    partials = cast(np.ndarray, sum(np.sin(2 * np.pi * k * freq * t) / k for k in range(1, top + 1)))  # top >= 1
    return partials * (2 / np.pi)


# --- recipes: (rng, n, sample_rate) -> waveform ----------------------------------------------------

def _kick(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    body = _sweep(n, sr, rng.uniform(110, 190), rng.uniform(38, 60), rng.uniform(0.02, 0.06))
    body *= _exp_env(n, sr, rng.uniform(0.12, 0.45))
    click = _band(_coloured_noise(rng, n, rng.uniform(0, 1)), sr, 1500, None) * _exp_env(n, sr, 0.004)
    return body + rng.uniform(0.05, 0.3) * click


def _snare(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    tone_hz = rng.uniform(160, 260)
    tone = _sweep(n, sr, tone_hz * 1.3, tone_hz, 0.01) * _exp_env(n, sr, rng.uniform(0.03, 0.08))
    centre = rng.uniform(1500, 4500)
    noise = _band(_coloured_noise(rng, n, rng.uniform(0, 1)), sr, centre / 3, centre * 2.5)
    noise *= _exp_env(n, sr, rng.uniform(0.07, 0.22))
    mix = rng.uniform(0.5, 0.85)
    return (1 - mix) * tone + mix * noise


def _clap(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    noise = _band(_coloured_noise(rng, n, rng.uniform(0, 0.8)), sr, rng.uniform(700, 1200), rng.uniform(2000, 3500))
    env = np.zeros(n)
    gap = rng.uniform(0.006, 0.013)
    bursts = int(rng.integers(3, 5))
    for i in range(bursts):
        start = int(i * gap * sr)
        env[start:] += np.exp(-_time(n - start, sr) / 0.004) * rng.uniform(0.6, 1.0)
    tail_start = int(bursts * gap * sr)
    env[tail_start:] += 0.6 * np.exp(-_time(n - tail_start, sr) / rng.uniform(0.08, 0.25))
    return noise * env


def _hat(rng: np.random.Generator, n: int, sr: int, decay: tuple[float, float]) -> np.ndarray:
    t = _time(n, sr)
    base = rng.uniform(280, 420)
    ratios = (2.0, 3.0, 4.16, 5.43, 6.79, 8.21)
    metal = sum(signal.square(2 * np.pi * base * r * t + rng.uniform(0, 2 * np.pi)) for r in ratios)
    noise = _coloured_noise(rng, n, rng.uniform(0, 0.5))
    mix = rng.uniform(0.3, 0.7)
    x = _band(mix * metal / 6 + (1 - mix) * noise, sr, rng.uniform(5500, 7500), None, order=4)
    return x * _exp_env(n, sr, rng.uniform(*decay))


def _closed_hat(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return _hat(rng, n, sr, (0.015, 0.05))


def _open_hat(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return _hat(rng, n, sr, (0.18, 0.5))


def _tom(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    pitch = rng.uniform(85, 260)
    body = _sweep(n, sr, pitch * rng.uniform(1.2, 1.6), pitch, rng.uniform(0.03, 0.1))
    body *= _exp_env(n, sr, rng.uniform(0.15, 0.5))
    skin = _band(_coloured_noise(rng, n, 1.0), sr, pitch, pitch * 8) * _exp_env(n, sr, 0.02)
    return body + rng.uniform(0.05, 0.2) * skin


def _sub_bass(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    freq = _midi_to_hz(rng.integers(28, 46))
    t = _time(n, sr)
    tone = np.sin(2 * np.pi * freq * t) + rng.uniform(0.05, 0.3) * np.sin(4 * np.pi * freq * t)
    return tone * _exp_env(n, sr, rng.uniform(0.3, 1.2), attack=rng.uniform(0.003, 0.02))


def _pluck_bass(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    freq = _midi_to_hz(rng.integers(33, 53))
    saw = _saw(n, sr, freq, 40)
    # a decaying low-pass "filter envelope": blend a bright and a dark copy
    dark = _band(saw, sr, None, freq * rng.uniform(1.5, 3))
    bright_env = _exp_env(n, sr, rng.uniform(0.03, 0.12))
    x = bright_env * saw + (1 - bright_env) * dark
    return x * _exp_env(n, sr, rng.uniform(0.2, 0.6))


def _riser(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = _time(n, sr)
    duration = n / sr
    f0, f1 = rng.uniform(150, 400), rng.uniform(2000, 5000)
    freq = f0 * (f1 / f0) ** (t / duration)
    tone = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    noise = _band(_coloured_noise(rng, n, rng.uniform(0, 1.5)), sr, 300, None)
    mix = rng.uniform(0.2, 0.8)
    swell = (t / duration) ** rng.uniform(1.0, 3.0)
    fade = np.clip((duration - t) / 0.02, 0, 1)
    return (mix * tone + (1 - mix) * 0.5 * noise) * swell * fade


def _zap(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    body = _sweep(n, sr, rng.uniform(2000, min(6000, 0.45 * sr)), rng.uniform(80, 300), rng.uniform(0.01, 0.05))
    return signal.square(np.pi * 0.5 * (body + 1)) * 0.3 * _exp_env(n, sr, rng.uniform(0.04, 0.2)) + \
        0.7 * body * _exp_env(n, sr, rng.uniform(0.04, 0.2))


# --- styles: (rng, x, sample_rate) -> waveform ------------------------------------------------------

def _electronic(rng: np.random.Generator, x: np.ndarray, sr: int) -> np.ndarray:
    """Dry and bright: the highs above 2 kHz lifted by 0.5x to 1.5x and a 3 ms noise click on the
    onset, the envelope left as it is."""
    bright = x + rng.uniform(0.5, 1.5) * _band(x, sr, 2000, None, order=1)
    click = _band(rng.standard_normal(len(x)), sr, 3000, None) * _exp_env(len(x), sr, 0.003)
    return bright / (np.abs(bright).max() + 1e-12) + rng.uniform(0.1, 0.3) * click


def _acoustic(rng: np.random.Generator, x: np.ndarray, sr: int) -> np.ndarray:
    """Highs damped (second-order low-pass at 2 to 4 kHz), then a small room: the direct sound plus
    a noise impulse response decaying to -60 dB in 0.3 to 0.8 s, mixed in at 40 to 70 %."""
    dry = _band(x, sr, None, rng.uniform(2000, 4000), order=2)
    rt60 = rng.uniform(0.3, 0.8)
    n_ir = int(rt60 * sr)
    ir = rng.standard_normal(n_ir) * np.exp(-6.9 * np.arange(n_ir) / n_ir)
    wet = signal.fftconvolve(dry, ir / np.sqrt(np.sum(ir ** 2)))[:len(x)]
    mix = rng.uniform(0.4, 0.7)
    return (1 - mix) * dry / (np.abs(dry).max() + 1e-12) + mix * wet / (np.abs(wet).max() + 1e-12)


#: The styles of the genre axis, mapped to what each does to a recipe's output.
STYLES: dict[str, Callable[[np.random.Generator, np.ndarray, int], np.ndarray]] = {
    "electronic": _electronic,
    "acoustic": _acoustic,
}

#: Every subclass the generator knows, as ``"class/subclass"`` mapped to its recipe.
SUBCLASSES: dict[str, Recipe] = {
    "drums/kick": _kick,
    "drums/snare": _snare,
    "drums/clap": _clap,
    "drums/hihat-closed": _closed_hat,
    "drums/hihat-open": _open_hat,
    "drums/tom": _tom,
    "bass/sub": _sub_bass,
    "bass/pluck": _pluck_bass,
    "fx/riser": _riser,
    "fx/zap": _zap,
}


def synthesize(name: str, index: int, *, seed: int = 0, sample_rate: int = 16000, duration: float = 1.0,
               style: str | None = None) -> np.ndarray:
    """One example of subclass ``name`` (in ``style``, one of :data:`STYLES`, if given) as float32
    ``(samples,)``, peak between 0.25 and 0.95.

    The example depends only on ``(seed, name, index, style)`` and the rate and duration.
    """
    if name not in SUBCLASSES:
        raise ParameterError(f"name must be one of {', '.join(SUBCLASSES)}; got {name!r}")
    if style is not None and style not in STYLES:
        raise ParameterError(f"style must be one of {', '.join(STYLES)}; got {style!r}")
    position = list(SUBCLASSES).index(name)
    styled = [] if style is None else [1 + list(STYLES).index(style)]
    rng = np.random.default_rng([seed, position, index, *styled])
    n = int(round(duration * sample_rate))
    x = SUBCLASSES[name](rng, n, sample_rate)
    if style is not None:
        x = STYLES[style](rng, x, sample_rate)
    x = x / (np.abs(x).max() + 1e-12) * rng.uniform(0.25, 0.95)  # level variation: -12..-0.4 dBFS
    return x.astype(np.float32)


def write_oneshots(out_dir: str | os.PathLike, config: OneShotsConfig, *,
                   progress: Progress | None = None) -> list[Path]:
    """Writes the dataset below ``out_dir`` and returns the files, in a stable order.

    Idempotent: a folder whose ``dataset.json`` records the same config is left as it is, and a
    run interrupted half way is completed on the next call (files are written atomically).
    ``progress`` (:mod:`audiofeat.progress`) hears of each file as ``("synthesise", done, total)``.

    Raises:
        ParameterError: ``out_dir`` holds a dataset made with a different config.
    """
    out_dir = Path(out_dir)
    record = out_dir / "dataset.json"
    wanted: dict[str, Any] = {"generator": "audiofeat.datasets.synthetic", "config": config_to_dict(config),
              "config_hash": config_hash(config)}
    if record.exists():
        existing = json.loads(record.read_text())
        if existing.get("config_hash") != wanted["config_hash"]:
            raise ParameterError(
                f"{out_dir} already holds a dataset made with another config ({existing.get('config')}); "
                "choose another folder or delete it")
    files, rows = [], []
    total = len(config.names) * len(config.styles or (None,)) * config.per_subclass
    for name in config.names:
        for style in config.styles or (None,):
            prefix = "" if style is None else f"{style}_"
            for index in range(config.per_subclass):
                path = out_dir / name / f"{prefix}{name.split('/')[1]}_{index:04d}.wav"
                if not path.exists():
                    audio = synthesize(name, index, seed=config.seed, sample_rate=config.sample_rate,
                                       duration=config.duration, style=style)
                    save_audio(path, audio, config.sample_rate)
                files.append(path)
                rows.append({"path": path.relative_to(out_dir).as_posix(), "label": name, "genre": style})
                if progress:
                    progress("synthesise", len(files), total)
    if config.styles:
        write_manifest(out_dir / "manifest.csv", rows)
    wanted["files"] = len(files)
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")
    return files
