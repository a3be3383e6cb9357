"""Audio input and output. The only module that reads, writes or resamples audio.

Files are read with soundfile (WAV, FLAC, OGG/Vorbis, AIFF, and whatever else the bundled
libsndfile knows), resampled with :func:`torchaudio.functional.resample`, and returned as float32
tensors of shape ``(channels, samples)``.

torchaudio's resampler builds one kernel per output phase, ``new / gcd`` of them, each
``orig / gcd`` taps wide: 44,100 -> 16,000 Hz needs 160 x 441 taps, but a file at 44,101 Hz
(gcd 1) would need 16,000 x 44,101 and several GB. Rates whose reduced ratio is that large go
through :func:`_resample_any_ratio`, the same Hann-windowed sinc evaluated at each output
instant, whose memory depends on the length of the file, not on the rates.

Length policy of :func:`fix_length` (used by :func:`load_audio` when ``length`` is given):

- a clip longer than ``length`` is cropped: ``crop="start"`` keeps the first ``length`` samples
  (the attack of a one-shot), ``"center"`` keeps the middle, ``"random"`` a uniformly drawn window
  (from ``generator``), ``"end"`` the last samples;
- a shorter clip is zero-padded: ``pad="end"`` appends silence (the default for one-shots, so the
  onset stays at sample 0), ``"start"`` prepends it, ``"both"`` splits it, the extra sample at the end.
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import signal
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from audiofeat._checks import check_choice, check_positive, check_positive_int, check_tensor
from audiofeat._files import atomic_path
from audiofeat.exceptions import AudioFileError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioInfo",
    "audio_info",
    "file_problem",
    "fix_length",
    "list_audio_files",
    "load_audio",
    "peak_normalize",
    "read_audio",
    "resample",
    "save_audio",
    "scan_audio_files",
    "to_channels",
]

#: File name extensions treated as audio when a folder is scanned.
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".mp3")

CropPolicy = Literal["start", "center", "end", "random"]
PadPolicy = Literal["end", "start", "both"]


def read_audio(source: str | os.PathLike | BinaryIO, *, name: str | None = None) -> tuple[torch.Tensor, int]:
    """Reads a whole audio file as it is stored, with checks.

    Args:
        source: a path, or an open binary file object (for members of zip archives).
        name: how to name the file in errors; defaults to the path.

    Returns:
        ``(waveform, sample_rate)``, waveform float32 of shape ``(channels, samples)`` in [-1, 1]
        for integer formats.

    Raises:
        AudioFileError: the file is missing, unreadable or not audio, holds zero samples, or holds
            NaN or Inf samples. The message names the file and the problem.
    """
    label = _label(source, name)
    if isinstance(source, (str, os.PathLike)):
        problem = file_problem(source)
        if problem:
            raise AudioFileError(label, problem)
    try:
        with _interrupts_held(source):
            data, sample_rate = sf.read(source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = getattr(error, "error_string", None) or str(error)  # libsndfile's words, without its file object
        raise AudioFileError(label, f"unreadable or not audio ({detail})") from None
    shortfall = _wav_shortfall(source)
    if shortfall:
        raise AudioFileError(label, f"truncated: the header promises {shortfall[0]} bytes of samples, "
                                    f"the file holds {shortfall[1]}")
    if data.shape[0] == 0:
        raise AudioFileError(label, "empty: the file holds zero samples")
    if not np.isfinite(data).all():
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise AudioFileError(label, f"non-finite audio: {bad} NaN/Inf sample(s)")
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(sample_rate)


@contextlib.contextmanager
def _interrupts_held(source: object):
    """Holds Ctrl-C (SIGINT) back while soundfile reads a file object, and raises it afterwards.

    soundfile reads a file object through Python callbacks that libsndfile calls. A
    KeyboardInterrupt raised inside one is printed and swallowed by cffi, the callback returns
    nothing, and libsndfile reports a good file as "unimplemented format": the interrupt is lost and
    the file would be recorded as unreadable. Paths are read by libsndfile itself and need no help.
    Python runs signal handlers in the main thread only, so only there is anything to hold back.
    """
    if isinstance(source, (str, os.PathLike)) or threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is None:  # None: a handler set outside Python, left alone
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            signal.raise_signal(signal.SIGINT)  # now handled as the previous handler says


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: ``frames`` per channel, ``sample_rate`` in Hz, ``channels``,
    the container ``format`` and the ``subtype`` (codec or sample format), as soundfile names them."""

    frames: int
    sample_rate: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Reads a file's header without decoding it (for Ogg Vorbis and Opus the length comes from the
    last page, and matches the decoded length).

    Raises:
        AudioFileError: the file is missing or not audio.
    """
    if not os.path.isfile(path):
        raise AudioFileError(path, "no such file")
    try:
        info = sf.info(os.fspath(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioFileError(path, f"unreadable or not audio ({error})") from None
    return AudioInfo(frames=int(info.frames), sample_rate=int(info.samplerate), channels=int(info.channels),
                     format=info.format, subtype=info.subtype)


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as an audio file (missing, dangling or looping link, a folder,
    a pipe or device), or ``None`` for a regular file. Permissions are left to the read itself."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return f"dangling symbolic link (to {os.readlink(os.fspath(path))})"
        return "no such file" if error.errno == errno.ENOENT else f"cannot be read ({error.strerror or error})"
    if stat.S_ISDIR(mode):
        return "a folder, not an audio file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe, socket or device)"
    return None


def _wav_shortfall(source: str | os.PathLike | BinaryIO) -> tuple[int, int] | None:
    """``(promised, held)`` bytes of a RIFF/WAVE ``data`` chunk that is cut short, else ``None``
    (libsndfile reads what is there without complaint). Other formats are left to libsndfile."""
    with contextlib.ExitStack() as stack:
        f: BinaryIO
        if isinstance(source, (str, os.PathLike)):
            f = stack.enter_context(open(source, "rb"))
        else:
            f = source
            start = f.tell()
            stack.callback(f.seek, start)
        if not f.seekable():
            return None
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(0)
        if f.read(4) != b"RIFF" or f.seek(8) != 8 or f.read(4) != b"WAVE":
            return None
        position = 12
        while position + 8 <= size:
            f.seek(position)
            chunk, length = f.read(4), int.from_bytes(f.read(4), "little")
            if chunk == b"data":
                held = size - position - 8
                # 0 and 0xFFFFFFFF are the placeholders of streamed and RF64 files
                return (length, held) if length not in (0, 0xFFFFFFFF) and held < length else None
            position += 8 + length + (length & 1)
        return None


def _label(source: str | os.PathLike | BinaryIO, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


#: Largest reduced rate (rate / gcd of both rates) handed to torchaudio's per-phase kernels.
_MAX_REDUCED_RATE = 1000
_SINC_ZEROS = 6  # torchaudio's default lowpass_filter_width
_ROLLOFF = 0.99  # torchaudio's default rolloff


def resample(waveform: torch.Tensor, *, orig_sample_rate: int, sample_rate: int) -> torch.Tensor:
    """Resamples ``(..., samples)`` with a Hann-windowed sinc (no-op when rates match).

    Common rate pairs use :func:`torchaudio.functional.resample`; pairs whose ratio only reduces
    to large integers (44,101 -> 16,000 Hz) use the same filter evaluated per output sample, in
    memory proportional to the signal (module docstring).
    """
    check_positive_int("orig_sample_rate", orig_sample_rate)
    check_positive_int("sample_rate", sample_rate)
    if orig_sample_rate == sample_rate:
        return waveform
    gcd = math.gcd(orig_sample_rate, sample_rate)
    if max(orig_sample_rate, sample_rate) // gcd <= _MAX_REDUCED_RATE:
        return AF.resample(waveform, orig_sample_rate, sample_rate)
    return _resample_any_ratio(waveform, orig_sample_rate, sample_rate)


def _resample_any_ratio(waveform: torch.Tensor, orig: int, new: int, chunk: int = 16384) -> torch.Tensor:
    """torchaudio's kernel (Hann-squared-cosine window over ``_SINC_ZEROS`` zero crossings, cutoff
    ``_ROLLOFF`` of the lower Nyquist frequency) evaluated at each output instant ``n * orig / new``,
    ``chunk`` outputs at a time; the output has ``ceil(samples * new / orig)`` samples, as torchaudio's."""
    length = waveform.shape[-1]
    flat = waveform.reshape(-1, length)
    base = _ROLLOFF * min(orig, new) / orig  # cutoff in cycles per input sample, times 2
    half = _SINC_ZEROS / base  # half-width of the kernel in input samples
    taps = torch.arange(math.ceil(2 * half) + 1)
    n_out = math.ceil(new * length / orig)
    out = flat.new_empty(flat.shape[0], n_out)
    for begin in range(0, n_out, chunk):
        centre = torch.arange(begin, min(begin + chunk, n_out), dtype=torch.float64) * orig / new
        index = torch.floor(centre - half).long()[:, None] + taps
        t = ((index - centre[:, None]) * base).clamp(-_SINC_ZEROS, _SINC_ZEROS)
        kernel = torch.sinc(t) * torch.cos(t * math.pi / (2 * _SINC_ZEROS)) ** 2 * base
        kernel = kernel * ((index >= 0) & (index < length))
        values = flat[:, index.clamp(0, length - 1)]
        out[:, begin:begin + values.shape[1]] = (values * kernel.to(flat.dtype)).sum(-1)
    return out.reshape(*waveform.shape[:-1], n_out)


def to_channels(waveform: torch.Tensor, channels: int | Literal["keep"]) -> torch.Tensor:
    """Mixes or duplicates ``(channels, samples)`` to the requested channel count.

    ``channels=1`` averages all channels (mono mix); ``channels=2`` duplicates a mono signal and
    mixes down anything with more than two channels by keeping the first two; ``"keep"`` is a no-op.
    """
    if channels == "keep":
        return waveform
    check_positive_int("channels", channels)
    have = waveform.shape[0]
    if have == channels:
        return waveform
    if channels == 1:
        return waveform.mean(dim=0, keepdim=True)
    if have == 1:
        return waveform.expand(channels, -1).clone()
    if have > channels:
        return waveform[:channels].clone()
    raise ParameterError(f"channels={channels} cannot be made from a {have}-channel signal")


def fix_length(
    waveform: torch.Tensor,
    length: int,
    *,
    crop: CropPolicy = "start",
    pad: PadPolicy = "end",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Crops or zero-pads the last axis to exactly ``length`` samples (policy in the module docstring)."""
    check_positive_int("length", length)
    check_choice("crop", crop, ("start", "center", "end", "random"))
    check_choice("pad", pad, ("end", "start", "both"))
    have = waveform.shape[-1]
    if have > length:
        excess = have - length
        if crop == "start":
            offset = 0
        elif crop == "end":
            offset = excess
        elif crop == "center":
            offset = excess // 2
        else:
            offset = int(torch.randint(0, excess + 1, (1,), generator=generator).item())
        return waveform[..., offset:offset + length]
    if have < length:
        missing = length - have
        before = {"end": 0, "start": missing, "both": missing // 2}[pad]
        return torch.nn.functional.pad(waveform, (before, missing - before))
    return waveform


def peak_normalize(waveform: torch.Tensor, *, peak: float = 0.999) -> torch.Tensor:
    """Scales all channels by one gain so that the largest absolute sample equals ``peak``.

    A silent signal (all zeros) is returned unchanged rather than divided by zero.
    """
    check_positive("peak", peak)
    current = waveform.abs().amax()
    if current == 0:
        return waveform
    return waveform * (peak / current)


def load_audio(
    source: str | os.PathLike | BinaryIO,
    *,
    sample_rate: int | None = None,
    channels: int | Literal["keep"] = 1,
    length: int | None = None,
    crop: CropPolicy = "start",
    pad: PadPolicy = "end",
    normalize: bool = False,
    min_duration: float = 0.0,
    generator: torch.Generator | None = None,
    name: str | None = None,
) -> tuple[torch.Tensor, int]:
    """Loads a file and brings it into the requested format.

    The steps run in this order: read (:func:`read_audio`), check ``min_duration``, mix channels
    (:func:`to_channels`), resample, peak-normalise, fix the length (:func:`fix_length`).
    Normalising before cropping keeps one gain per file, whatever window is kept.

    Args:
        source: path or binary file object.
        sample_rate: target rate in Hz; ``None`` keeps the file's rate.
        channels: 1 for a mono mix (default), 2 for stereo, ``"keep"`` for the file's channels.
        length: target length in samples at the target rate; ``None`` keeps the length.
        crop: how to shorten a long clip (module docstring).
        pad: where to put the zeros of a short clip (module docstring).
        normalize: peak-normalise to 0.999 (all channels share one gain).
        min_duration: files shorter than this many seconds are refused (as "too short").
        generator: random source for ``crop="random"``.
        name: how to name the file in errors.

    Returns:
        ``(waveform, sample_rate)`` with waveform float32 ``(channels, samples)``.

    Raises:
        AudioFileError: unreadable, empty, non-finite or too-short audio (the message names the file).
        ParameterError: an invalid argument.
    """
    if sample_rate is not None:
        check_positive_int("sample_rate", sample_rate)
    if length is not None:
        check_positive_int("length", length)
    waveform, file_rate = read_audio(source, name=name)
    label = _label(source, name)
    duration = waveform.shape[-1] / file_rate
    if duration < min_duration:
        raise AudioFileError(label, f"too short: {duration:.3f} s, the minimum is {min_duration:.3f} s")
    waveform = to_channels(waveform, channels)
    target_rate = file_rate if sample_rate is None else sample_rate
    waveform = resample(waveform, orig_sample_rate=file_rate, sample_rate=target_rate)
    if normalize:
        waveform = peak_normalize(waveform)
    if length is not None:
        waveform = fix_length(waveform, length, crop=crop, pad=pad, generator=generator)
    return waveform.contiguous(), target_rate


def save_audio(
    path: str | os.PathLike,
    waveform: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = "PCM_16",
    clip: bool = True,
) -> Path:
    """Writes ``(channels, samples)`` (or ``(samples,)``) audio atomically.

    The file is written next to its destination under a temporary name and renamed into place,
    so a crash never leaves a half-written file at ``path``. The format follows the extension.

    Args:
        path: destination; parent folders are created.
        waveform: float audio in [-1, 1].
        sample_rate: in Hz.
        subtype: soundfile subtype (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, ``None`` for the format's default).
        clip: clip to [-1, 1] before writing (integer formats wrap around otherwise).
    """
    check_positive_int("sample_rate", sample_rate)
    if isinstance(waveform, torch.Tensor):
        check_tensor("waveform", waveform)
        data = waveform.detach().to("cpu", torch.float32).numpy()
    else:
        data = np.asarray(waveform, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2:
        raise ParameterError(f"waveform must have shape (channels, samples), got {data.shape}")
    if not np.isfinite(data).all():
        raise ParameterError(f"waveform for {os.fspath(path)} holds NaN or Inf samples")
    if clip:
        data = np.clip(data, -1.0, 1.0)
    path = Path(path)
    fmt = _format_for(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, data.T, sample_rate, subtype=subtype, format=fmt)
    return path


def _format_for(path: Path) -> str:
    formats = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aif": "AIFF", ".aiff": "AIFF"}
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise ParameterError(f"cannot write {path}: extension must be one of {', '.join(sorted(formats))}")
    return formats[suffix]


def list_audio_files(root: str | os.PathLike, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """All audio files below ``root`` (by extension, case-insensitive), sorted, hidden files skipped."""
    return scan_audio_files(root, extensions)[0]


def scan_audio_files(root: str | os.PathLike, extensions: Sequence[str] = AUDIO_EXTENSIONS
                     ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Like :func:`list_audio_files`, plus the entries named like audio that cannot be read as a file
    (folders, dangling links, link loops, pipes), each with its reason (:func:`file_problem`).
    Links to folders are followed, each real folder once, so a link cycle cannot make the scan endless."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"input folder {root} does not exist or is not a folder")
    wanted = {e.lower() for e in extensions}
    files, rejected = [], []
    visited = {os.path.realpath(root)}
    for folder, subfolders, names in os.walk(root, followlinks=True):
        subfolders.sort()
        keep = []
        for d in subfolders:
            real = os.path.realpath(os.path.join(folder, d))
            if not d.startswith(".") and real not in visited:
                visited.add(real)
                keep.append(d)
        subfolders[:] = keep
        for name in [*subfolders, *names]:
            path = Path(folder, name)
            if name.startswith(".") or path.suffix.lower() not in wanted:
                continue
            problem = file_problem(path)
            if problem:
                rejected.append((path, problem))
            else:
                files.append(path)
    return sorted(files), sorted(rejected)
