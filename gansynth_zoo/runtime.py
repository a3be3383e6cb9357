"""Sound from an exported generator without PyTorch: numpy, and onnxruntime to run the file.

:class:`ExportedModel` runs an export; :func:`render_pattern` plays a drum pattern with it
(``gansynth-zoo play``), a freshly generated hit for every trigger. A hit takes tens of
milliseconds to generate, several audio blocks (docs/embedded.md), so a live instrument takes its
hits from a :class:`HitBuffer`, which generates them ahead of their triggers
(:func:`render_live`, ``gansynth-zoo play --live``).

An exported ONNX file (:mod:`gansynth_zoo.export`) maps ``(z, c)`` to what its representation needs
to become sound: a linear STFT magnitude (mel and log-magnitude models, after the mel pseudo-inverse),
a magnitude and a phase (instantaneous-frequency models), or the waveform itself (MDCT models, whose
inverse transform is in the graph). What is left is here, in numpy, because it is not a fixed graph
of ONNX operators: the phase of a magnitude-only spectrogram, by phase-gradient integration (PGHI,
Průša et al. 2017) and fast Griffin-Lim iterations (Perraudin et al. 2013), then the inverse STFT.

These functions follow :mod:`audiofeat.functional.phase` and :mod:`audiofeat.functional.spectral`
step for step, restricted to what exported models use (a periodic Hann window of ``win_length``
centred in ``n_fft``), and are tested against them. They exist twice on purpose: an instrument
should not need PyTorch to turn a generated spectrogram into sound.
"""
from __future__ import annotations

import csv
import json
import math
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from audiofeat.exceptions import ParameterError

__all__ = ["EXPORT_FORMAT", "METADATA_KEY", "ExportedModel", "Hit", "HitBuffer", "StftGeometry", "griffinlim",
           "istft", "pghi_phase", "read_pattern", "render_live", "render_pattern", "to_audio"]

#: the ``format`` of an export's metadata, and its key among an ONNX file's metadata properties
EXPORT_FORMAT = "gansynth-zoo-export/1"
METADATA_KEY = "gansynth_zoo"

_ENVELOPE_FLOOR = 1e-3  # as audiofeat.functional.spectral
_ONSET_RATIO = 0.5  # as audiofeat.functional.phase


class StftGeometry:
    """The STFT layout of a representation's ``feature_config["stft"]`` and clip ``length``.

    Attributes:
        n_fft, hop, drop_bin, window: the transform (``window`` the full ``n_fft``-sample window).
        pad_front, pad_back: the padding the forward transform puts before and after the clip
            (``pad_front`` is also where the clip starts in the overlap-added span).
    """

    def __init__(self, stft: dict[str, Any], length: int):
        self.n_fft, self.hop = int(stft["n_fft"]), int(stft["hop_length"] or stft["n_fft"] // 4)
        win_length = int(stft.get("win_length") or self.n_fft)
        self.drop_bin, self.length, padding = stft.get("drop_bin", "none"), int(length), stft.get("padding", "center")
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)  # periodic
        left = (self.n_fft - win_length) // 2
        self.window = np.pad(hann, (left, self.n_fft - win_length - left))
        n_frames = int(stft.get("n_frames") or 0)
        if padding == "center":
            half = self.n_fft // 2
            self.pad_front, self.pad_back, self.n_frames = half, half, 1 + length // self.hop
        elif padding == "none":
            self.pad_front, self.pad_back, self.n_frames = 0, 0, 1 + (length - self.n_fft) // self.hop
        else:
            frames = n_frames or -(-length // self.hop)
            total = self.hop * (frames - 1) + self.n_fft - length
            self.pad_front, self.pad_back = (total, 0) if padding == "front" else (0, total)
            self.n_frames = frames

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + (0 if self.drop_bin != "none" else 1)

    def envelope_divisor(self) -> np.ndarray:
        """Summed squared windows at each sample of the span, floored at 1e-3 of their maximum."""
        envelope = _overlap_add(np.broadcast_to(self.window ** 2, (1, self.n_frames, self.n_fft)), self.hop)[0]
        return np.maximum(envelope, _ENVELOPE_FLOOR * envelope.max())


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """``(batch, frames, n)`` overlap-added with step ``hop`` into ``(batch, hop * (frames - 1) + n)``."""
    batch, n_frames, n = frames.shape
    out = np.zeros((batch, hop * (n_frames - 1) + n), frames.dtype)
    for t in range(n_frames):
        out[:, t * hop:t * hop + n] += frames[:, t]
    return out


def _undrop(spec: np.ndarray, drop_bin: str) -> np.ndarray:
    if drop_bin == "none":
        return spec
    zero = np.zeros((*spec.shape[:-1], 1), spec.dtype)
    return np.concatenate([zero, spec] if drop_bin == "dc" else [spec, zero], axis=-1)


def _drop(spec: np.ndarray, drop_bin: str) -> np.ndarray:
    return spec[..., 1:] if drop_bin == "dc" else spec[..., :-1] if drop_bin == "nyquist" else spec


def _istft_frames(spec: np.ndarray, g: StftGeometry, divisor: np.ndarray) -> np.ndarray:
    """Frames-major complex ``(batch, frames, freq)`` -> ``(batch, length)``."""
    frames = np.fft.irfft(_undrop(spec, g.drop_bin), n=g.n_fft, axis=-1) * g.window
    y = _overlap_add(frames, g.hop) / divisor
    end = g.pad_front + g.length
    if end > y.shape[-1]:
        y = np.pad(y, ((0, 0), (0, end - y.shape[-1])))
    return y[:, g.pad_front:end]


def _stft_frames(x: np.ndarray, g: StftGeometry) -> np.ndarray:
    """``(batch, samples)`` -> frames-major complex ``(batch, frames, freq)``."""
    x = np.pad(x, ((0, 0), (g.pad_front, g.pad_back)))
    index = np.arange(g.n_fft)[None, :] + g.hop * np.arange(g.n_frames)[:, None]
    return _drop(np.fft.rfft(x[:, index] * g.window, axis=-1), g.drop_bin)


def istft(mag: np.ndarray, phase: np.ndarray, g: StftGeometry) -> np.ndarray:
    """``(..., freq, frames)`` magnitude and phase -> ``(..., length)`` waveform."""
    lead = mag.shape[:-2]
    spec = (mag * np.exp(1j * phase)).reshape(-1, *mag.shape[-2:]).swapaxes(1, 2)
    return _istft_frames(spec, g, g.envelope_divisor()).reshape(*lead, g.length)


def _gaussian_lambda(window: np.ndarray) -> float:
    energy = window ** 2
    t = np.arange(len(energy))
    centre = (t * energy).sum() / energy.sum()
    return 4 * math.pi * float(((t - centre) ** 2 * energy).sum() / energy.sum())


def pghi_phase(mag: np.ndarray, g: StftGeometry, *, tolerance: float = 1e-5) -> np.ndarray:
    """The phase of ``(..., freq, frames)`` magnitudes by phase-gradient integration, as
    :func:`audiofeat.functional.pghi_phase` computes it (its docstring has the rules)."""
    n_freq, n_frames = mag.shape[-2:]
    a = mag.reshape(-1, n_freq, n_frames).astype(np.float64)
    lam = _gaussian_lambda(g.window)
    floor = np.maximum(a.max(axis=(-2, -1), keepdims=True), np.finfo(np.float64).tiny) * tolerance
    log_mag = np.log(np.maximum(a, floor))
    k0 = 1 if g.drop_bin == "dc" else 0
    bins = np.arange(k0, k0 + n_freq, dtype=np.float64)[:, None]
    d_time = (g.hop * g.n_fft / lam) * _gradient(log_mag, -2) + (2 * math.pi * g.hop / g.n_fft) * bins
    d_freq = -(lam / (g.hop * g.n_fft)) * _gradient(log_mag, -1) - math.pi
    along_freq = np.concatenate([np.zeros_like(d_freq[:, :1]),
                                 np.cumsum(0.5 * (d_freq[:, 1:] + d_freq[:, :-1]), axis=1)], axis=1)
    return _integrate_frames(a, d_time, along_freq).reshape(mag.shape)


def _gradient(x: np.ndarray, axis: int) -> np.ndarray:
    return np.zeros_like(x) if x.shape[axis] == 1 else np.gradient(x, axis=axis)


def _integrate_frames(mag: np.ndarray, d_time: np.ndarray, along_freq: np.ndarray) -> np.ndarray:
    """The frame-recursive integration of :func:`pghi_phase` on ``(batch, freq, frames)`` arrays."""
    batch, n_freq, n_frames = mag.shape
    cur = np.ascontiguousarray(mag.transpose(2, 0, 1))
    along = np.ascontiguousarray(along_freq.transpose(2, 0, 1))
    step = np.concatenate([np.zeros_like(cur[:1]), 0.5 * (d_time[..., 1:] + d_time[..., :-1]).transpose(2, 0, 1)])
    prev = np.concatenate([np.zeros_like(cur[:1]), cur[:-1]])
    edge = np.full((n_frames, batch, 1), -np.inf)
    left = np.concatenate([edge, cur[..., :-1]], axis=-1)
    right = np.concatenate([cur[..., 1:], edge], axis=-1)
    neighbour = np.maximum(left, right)
    peak = cur >= neighbour
    from_time = (prev >= neighbour) | (peak & (prev >= _ONSET_RATIO * cur))
    root = peak | from_time
    index = np.broadcast_to(np.arange(n_freq), cur.shape)
    next_root = np.minimum.accumulate(np.where(root, index, n_freq - 1)[..., ::-1], axis=-1)[..., ::-1]
    prev_root = np.maximum.accumulate(np.where(root, index, 0), axis=-1)
    source = np.where(right > left, next_root, prev_root)
    strongest = cur.argmax(axis=-1)[..., None]
    along_strongest = np.take_along_axis(along, strongest, axis=-1)
    phase = np.empty_like(cur)
    prev_phase = np.zeros_like(cur[0])
    for m in range(n_frames):
        in_time = prev_phase + step[m]
        anchor = np.take_along_axis(in_time, strongest[m], axis=-1) - along_strongest[m]
        root_phase = np.where(from_time[m], in_time, anchor + along[m])
        prev_phase = phase[m] = np.take_along_axis(root_phase - along[m], source[m], axis=-1) + along[m]
    return phase.transpose(1, 2, 0)


def griffinlim(mag: np.ndarray, g: StftGeometry, *, n_iter: int = 32, momentum: float = 0.99,
               phase: np.ndarray | None = None) -> np.ndarray:
    """``(..., freq, frames)`` magnitude -> ``(..., length)`` waveform by fast Griffin-Lim from
    ``phase`` (default :func:`pghi_phase`), as :func:`audiofeat.functional.griffinlim`."""
    lead, (n_freq, frames) = mag.shape[:-2], mag.shape[-2:]
    phase = pghi_phase(mag, g) if phase is None else phase
    divisor = g.envelope_divisor()
    s = mag.reshape(-1, n_freq, frames).swapaxes(1, 2)
    angles = s * np.exp(1j * phase.reshape(-1, n_freq, frames).swapaxes(1, 2))
    tiny = np.finfo(s.dtype).tiny
    beta = momentum / (1 + momentum)
    previous = None
    for _ in range(n_iter):
        rebuilt = _stft_frames(_istft_frames(angles, g, divisor), g)
        update = rebuilt if previous is None else rebuilt - beta * previous
        angles = update / (np.abs(update) + tiny) * s
        previous = rebuilt
    return _istft_frames(angles, g, divisor).reshape(*lead, g.length)


class ExportedModel:
    """An exported ONNX file (:mod:`gansynth_zoo.export`) run with onnxruntime.

    ``model(z, c)`` takes float32 arrays ``(batch, z_dim)`` and ``(batch, c_dim)`` and returns the
    graph's outputs by name (``metadata["outputs"]``); :meth:`audio` goes on to waveforms.

    Args:
        path: the ``.onnx`` file.
        threads: onnxruntime's intra-op threads (0: its default).

    Raises:
        ParameterError: a missing file, onnxruntime missing, or a file that is not an export.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int = 0):
        path = Path(path)
        try:
            import onnxruntime  # the optional export extra
        except ImportError as error:
            raise ParameterError(f"{path}: running an exported model needs onnxruntime (the export extra)") from error
        if not path.is_file():
            raise ParameterError(f"{path}: no such exported model")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ParameterError(f"{path}: not an ONNX model ({error})") from error
        self.metadata = read_metadata(self._session.get_modelmeta().custom_metadata_map.get(METADATA_KEY), path)
        self._conditioning = np.asarray(self.metadata["conditioning"], np.float32)

    def __call__(self, z: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {"z": np.ascontiguousarray(z, np.float32), "c": np.ascontiguousarray(c, np.float32)}
        return dict(zip(self.metadata["outputs"], self._session.run(None, feeds)))

    def audio(self, z: np.ndarray, c: np.ndarray, *, n_iter: int = 32) -> np.ndarray:
        """Waveforms ``(batch, channels, samples)`` in [-1, 1] (:func:`to_audio`)."""
        return to_audio(self(z, c), self.metadata, n_iter=n_iter)

    def clips(self, categories: list[str], seeds: list[int], *, n_iter: int = 32) -> np.ndarray:
        """One clip per ``(category, seed)``, in one batch: the latent drawn from a numpy generator
        seeded with ``seed``, the category's conditioning vector. ``(len(seeds), channels, samples)``."""
        names = self.metadata["label_names"]
        z = np.stack([np.random.default_rng(seed).standard_normal(self.metadata["z_dim"]) for seed in seeds])
        return self.audio(z.astype(np.float32), self._conditioning[[names.index(c) for c in categories]],
                          n_iter=n_iter)


def read_metadata(raw: str | None, path: str | os.PathLike) -> dict[str, Any]:
    """An export's metadata from its JSON text (``None``: the file has none)."""
    metadata = json.loads(raw) if raw else {}
    if metadata.get("format") != EXPORT_FORMAT:
        raise ParameterError(f"{path}: not a gansynth-zoo export (no {EXPORT_FORMAT} metadata)")
    return metadata


def to_audio(outputs: dict[str, np.ndarray], metadata: dict[str, Any], *, n_iter: int = 32) -> np.ndarray:
    """An exported graph's outputs -> waveforms ``(batch, channels, samples)`` in [-1, 1], as
    ``Representation.to_audio`` makes them: the waveform as it is, an inverse STFT of magnitude and
    phase, or PGHI and ``n_iter`` Griffin-Lim iterations from the magnitude alone."""
    if "waveform" in outputs:
        return np.clip(outputs["waveform"], -1.0, 1.0)
    if "magnitude" not in outputs:
        raise ParameterError(f"an export with outputs {sorted(outputs)} makes no sound")
    config = metadata["representation"]["feature_config"]
    geometry = StftGeometry(config["stft"], config["audio"]["length"])
    magnitude = outputs["magnitude"].astype(np.float64)
    audio = (istft(magnitude, outputs["phase"], geometry) if "phase" in outputs
             else griffinlim(magnitude, geometry, n_iter=n_iter))
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


class Hit(NamedTuple):
    """One trigger of a pattern: ``time`` in seconds, a ``category`` of the model, ``velocity`` in
    [0, 1] (the hit's gain) and the ``seed`` of its latent."""

    time: float
    category: str
    velocity: float
    seed: int


def read_pattern(path: str | os.PathLike, *, seed: int = 0) -> list[Hit]:
    """A pattern CSV with the header ``time,category,velocity`` and an optional ``seed`` column.

    Rows without a seed get ``seed + row number`` (from 0), so every trigger is a different hit and
    the same file and seed give the same beat.

    Raises:
        ParameterError: a missing column or a bad value; the message names the file and the row.
    """
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
            columns = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ParameterError(f"{path}: cannot read the pattern ({error})") from error
    if not rows or not {"time", "category", "velocity"} <= columns:
        raise ParameterError(f"{path}: a pattern needs the header time,category,velocity and at least one row")
    hits = []
    for number, row in enumerate(rows):
        where = f"{path}, row {number + 2}"
        try:
            time, velocity = float(row["time"]), float(row["velocity"])
            hit_seed = int(row["seed"]) if row.get("seed") not in (None, "") else seed + number
        except ValueError as error:
            raise ParameterError(f"{where}: {error}") from error
        if not (math.isfinite(time) and time >= 0):
            raise ParameterError(f"{where}: time must be a number of seconds >= 0, got {row['time']!r}")
        if not 0 <= velocity <= 1:
            raise ParameterError(f"{where}: velocity must be in [0, 1], got {row['velocity']!r}")
        hits.append(Hit(time, row["category"].strip(), velocity, hit_seed))
    return hits


def render_pattern(model: ExportedModel, hits: list[Hit], *, n_iter: int = 32) -> np.ndarray:
    """Mixes a generated clip per hit, scaled by its velocity, from its time (rounded to the nearest
    sample); returns ``(channels, samples)``, long enough for the last clip to end.

    Each hit's latent is drawn from its own seed; hits are generated in one batch.

    Raises:
        ParameterError: a category the model does not know (the message lists those it knows).
    """
    _check_categories(model, {hit.category for hit in hits})
    clips = model.clips([hit.category for hit in hits], [hit.seed for hit in hits], n_iter=n_iter)
    return _mix(hits, clips, model.metadata["sample_rate"])


def _check_categories(model: ExportedModel, categories: set[str]) -> None:
    meta = model.metadata
    if meta["sample_rate"] is None:
        raise ParameterError(f"{meta['source']} is an image model: it has no sound to play")
    unknown = sorted(categories - set(meta["label_names"]))
    if unknown:
        raise ParameterError(f"unknown categories {unknown}; this model knows {', '.join(meta['label_names'])}")


class HitBuffer:
    """Hits generated ahead of their triggers: ``depth`` ready clips per category, refilled by a
    background thread as they are taken, so that a trigger gets its clip without waiting for the
    generator (unless triggers of one category come faster than the generator can refill them).

    The ``k``-th hit of a category (counted from 0) uses the latent of seed
    ``seed + 1000003 * category_index + k``: the same triggers give the same sounds.

    Args:
        model: the export.
        categories: those that will be triggered.
        depth: ready clips kept per category.
        n_iter: Griffin-Lim iterations.
        seed: base seed.
    """

    def __init__(self, model: ExportedModel, categories: list[str], *, depth: int = 2, n_iter: int = 32,
                 seed: int = 0):
        _check_categories(model, set(categories))
        self.model, self.n_iter, self.seed = model, n_iter, seed
        names = model.metadata["label_names"]
        self._index = {name: names.index(name) for name in categories}
        self._ready = {name: queue.Queue[np.ndarray](maxsize=depth) for name in categories}
        self._made = dict.fromkeys(categories, 0)
        self._error: BaseException | None = None  # what stopped the worker, raised to the caller
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._fill, daemon=True)
        self._worker.start()

    def _make(self, category: str) -> np.ndarray:
        seed = self.seed + 1000003 * self._index[category] + self._made[category]
        self._made[category] += 1
        return self.model.clips([category], [seed], n_iter=self.n_iter)[0]

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                hungry = [name for name, ready in self._ready.items() if not ready.full()]
                if not hungry:
                    time.sleep(0.001)
                    continue
                for name in hungry:
                    self._ready[name].put(self._make(name))
        except BaseException as error:  # a player waiting for clips must hear of it, not wait forever
            self._error = error

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def wait_full(self) -> None:
        """Returns once every category has ``depth`` clips ready (a player starts then).

        Raises:
            Exception: whatever stopped the background thread from making clips.
        """
        while not all(ready.full() for ready in self._ready.values()):
            self._check()
            time.sleep(0.001)

    def take(self, category: str) -> np.ndarray:
        """The next clip of ``category``, ``(channels, samples)``; waits only if none is ready.

        Raises:
            Exception: whatever stopped the background thread from making clips.
        """
        while True:
            try:
                return self._ready[category].get(timeout=0.01)
            except queue.Empty:
                self._check()

    def close(self) -> None:
        """Stops the background thread (after the clip it is making, if any)."""
        self._stop.set()
        self._worker.join()


def render_live(model: ExportedModel, hits: list[Hit], *, depth: int = 2, n_iter: int = 32,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render_pattern` as a live instrument plays it, in real time: each trigger comes at its
    time (counted from when the buffers are full) and takes its clip from a :class:`HitBuffer` (the
    rows' seeds are not used: the buffer makes its hits before their rows are reached). A trigger
    waits only when the buffer of its category is empty.

    Returns:
        ``(mix, waits)``: the mix as :func:`render_pattern` returns it, and the seconds each trigger
        waited for its clip, in time order.
    """
    order = sorted(hits, key=lambda hit: hit.time)
    buffer = HitBuffer(model, sorted({hit.category for hit in hits}), depth=depth, n_iter=n_iter, seed=seed)
    try:
        buffer.wait_full()
        rate = model.metadata["sample_rate"]
        clips, waits = [], []
        begin = time.perf_counter()
        for hit in order:
            time.sleep(max(0.0, begin + hit.time - time.perf_counter()))
            start = time.perf_counter()
            clips.append(buffer.take(hit.category))
            waits.append(time.perf_counter() - start)
    finally:
        buffer.close()
    return _mix(order, clips, rate), np.array(waits)


def _mix(hits: list[Hit], clips: list[np.ndarray] | np.ndarray, rate: int) -> np.ndarray:
    """Each clip scaled by its hit's velocity and added from its hit's time (nearest sample)."""
    onsets = [round(hit.time * rate) for hit in hits]
    length = clips[0].shape[-1]
    mix = np.zeros((clips[0].shape[0], max(onsets) + length), np.float32)
    for hit, onset, clip in zip(hits, onsets, clips):
        mix[:, onset:onset + length] += hit.velocity * clip
    return mix
