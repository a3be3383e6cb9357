"""Short-time Fourier transform, its inverse, log-magnitude, mel and instantaneous-frequency features.

Layout. Every time-frequency tensor is ``(..., freq, frames)`` with any number of leading batch
dimensions; waveforms are ``(..., samples)``. Real tensors are float32 or float64 and the complex
dtype follows (complex64 or complex128). Everything runs on the input's device and is
differentiable, except where a docstring says otherwise.

Frame ``m`` of :func:`stft` is the DFT of ``window * x_pad[m * hop : m * hop + n_fft]``, its phase
referenced to the first sample of the frame (the convention of librosa, torch.stft and
``tf.signal.stft``). How the waveform is padded before framing is the ``padding`` option:

- ``"center"`` (librosa, torch): ``n_fft // 2`` samples on both sides, filled as ``pad_mode`` says;
  ``frames = 1 + length // hop`` for even ``n_fft``.
- ``"front"`` (GANSynth): all padding before the clip. ``frames = n_frames`` (default
  ``ceil(length / hop)``) and ``front = hop * (frames - 1) + n_fft - length``; 64 000 samples with
  ``n_fft=2048, hop=512, n_frames=128`` get 3072 zeros in front. The tail has fewer overlapping
  frames than the rest, as in GANSynth.
- ``"end"`` (``tf.signal.stft(pad_end=True)``, SpecGAN): the same padding, put after the clip.
- ``"none"``: no padding; samples after the last whole frame are not analysed.

``drop_bin`` removes the DC bin (GANSynth: 1024 bins from ``n_fft=2048``) or the Nyquist bin
(SpecGAN: 128 bins from ``n_fft=256``) so that the frequency axis is a power of two; :func:`istft`
puts a zero bin back. The conventions of the reference systems are bundled as :class:`StftLayout`
presets (:data:`GANSYNTH_HIRES`, :data:`GANSYNTH_LOWRES`, :data:`SPECGAN`) whose
:meth:`StftLayout.as_kwargs` are the keyword arguments of every function here::

    log_mag, inst_freq = waveform_to_log_mag_if(clips, **GANSYNTH_HIRES.as_kwargs())
    clips_back = log_mag_if_to_waveform(log_mag, inst_freq, length=64000, **GANSYNTH_HIRES.as_kwargs())

Speed. ``torch.abs`` of a complex CPU tensor is a scalar ``hypot`` loop, as slow as the FFT that
produced the tensor; :func:`magnitude` computes ``sqrt(re^2 + im^2)`` with vectorised real kernels
instead whenever no gradient is needed (``torch.abs`` keeps the exact derivative at 0 when one is).
:func:`log_spectrogram` on CPU without autograd also works block by block, which keeps its
temporaries in cache and out of fresh (page-faulting) memory. See ``benchmarks/bench_spectral.py``.

References:
    J. Engel, K. K. Agrawal, S. Chen, I. Gulrajani, C. Donahue and A. Roberts, "GANSynth:
    adversarial neural audio synthesis", ICLR 2019 (log-magnitude and instantaneous frequency).

    C. Donahue, J. McAuley and M. Puckette, "Adversarial audio synthesis", ICLR 2019 (SpecGAN).

    D. Griffin and J. Lim, "Signal estimation from modified short-time Fourier transform",
    IEEE TASSP 32(2), 1984 (least-squares inverse STFT).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
import torchaudio.functional as taF

from audiofeat._checks import check_choice, check_positive, check_positive_int, check_tensor
from audiofeat.exceptions import ParameterError

__all__ = [
    "GANSYNTH_HIRES",
    "GANSYNTH_LOWRES",
    "SPECGAN",
    "StftLayout",
    "StftPadding",
    "amplitude_to_db",
    "instantaneous_frequency",
    "istft",
    "log_mag_if_to_spec",
    "log_mag_if_to_waveform",
    "log_magnitude",
    "log_mel",
    "log_mel_spectrogram",
    "log_spectrogram",
    "magnitude",
    "mel_filterbank",
    "mel_to_magnitude",
    "phase_from_instantaneous_frequency",
    "spec_to_log_mag_if",
    "stft",
    "stft_padding",
    "waveform_to_log_mag_if",
]

Padding = Literal["center", "front", "end", "none"]
PadMode = Literal["constant", "reflect"]
DropBin = Literal["none", "dc", "nyquist"]
MelScale = Literal["htk", "slaney"]
MelNorm = Literal["slaney"] | None

_PADDINGS = ("center", "front", "end", "none")
_PAD_MODES = ("constant", "reflect")
_DROP_BINS = ("none", "dc", "nyquist")
_REAL_DTYPES = (torch.float32, torch.float64)
_COMPLEX_DTYPES = (torch.complex64, torch.complex128)

#: Elements of framed signal per block of the CPU log-spectrogram (2 MB in float32).
_BLOCK_ELEMENTS = 1 << 19

#: Samples whose summed squared window is below this fraction of its maximum are divided by that
#: floor instead (see :func:`istft`).
_ENVELOPE_FLOOR = 1e-3


# ------------------------------------------------------------------------------------------ layouts
def _n_freq(n_fft: int, drop_bin: str) -> int:
    return n_fft // 2 + (0 if drop_bin != "none" else 1)


def _check_geometry(
    n_fft: int, hop_length: int | None, win_length: int | None, padding: str, pad_mode: str,
    n_frames: int | None, drop_bin: str,
) -> tuple[int, int]:
    """Validates the shared STFT arguments; returns ``(hop_length, win_length)`` with defaults."""
    check_positive_int("n_fft", n_fft)
    if win_length is None:
        win_length = n_fft
    check_positive_int("win_length", win_length)
    if win_length > n_fft:
        raise ParameterError(f"win_length must be <= n_fft={n_fft}, got {win_length!r}")
    if hop_length is None:
        hop_length = max(win_length // 4, 1)
    check_positive_int("hop_length", hop_length)
    check_choice("padding", padding, _PADDINGS)
    check_choice("pad_mode", pad_mode, _PAD_MODES)
    check_choice("drop_bin", drop_bin, _DROP_BINS)
    if drop_bin != "none" and n_fft < 2:
        raise ParameterError(f"drop_bin={drop_bin!r} needs n_fft >= 2, got {n_fft!r}")
    if n_frames is not None:
        check_positive_int("n_frames", n_frames)
        if padding not in ("front", "end"):
            raise ParameterError(f"n_frames is only used with padding='front' or 'end', got "
                                 f"n_frames={n_frames!r} with padding={padding!r}")
    return hop_length, win_length


@dataclass(frozen=True)
class StftLayout:
    """The geometry of a spectrogram: the keyword arguments shared by the functions of this module.

    ``layout.as_kwargs()`` unpacks into :func:`stft`, :func:`istft`, :func:`log_spectrogram`,
    :func:`waveform_to_log_mag_if`, :func:`log_mag_if_to_waveform` and
    :func:`audiofeat.functional.griffinlim`; ``dataclasses.replace`` derives a variant (for example
    ``replace(GANSYNTH_LOWRES, n_frames=64)`` for one-second clips). The window is always a periodic
    Hann window of ``win_length`` samples.

    Attributes:
        n_fft: FFT size; ``n_fft // 2 + 1`` bins before ``drop_bin``.
        hop_length: frame step in samples.
        win_length: window length (``<= n_fft``, centred in the frame); ``None`` means ``n_fft``.
        padding: ``"center" | "front" | "end" | "none"`` (module docstring).
        pad_mode: ``"constant"`` (zeros) or ``"reflect"``; fills the padding of any mode.
        n_frames: frame count for ``"front"``/``"end"`` padding (``None``: ``ceil(length / hop)``).
        drop_bin: ``"none" | "dc" | "nyquist"``.
    """

    n_fft: int
    hop_length: int
    win_length: int | None = None
    padding: Padding = "center"
    pad_mode: PadMode = "constant"
    n_frames: int | None = None
    drop_bin: DropBin = "none"

    def __post_init__(self) -> None:
        _check_geometry(self.n_fft, self.hop_length, self.win_length, self.padding, self.pad_mode,
                        self.n_frames, self.drop_bin)

    def as_kwargs(self) -> dict[str, Any]:
        """The fields as a dict of keyword arguments (also JSON-ready, for cache attributes)."""
        return asdict(self)

    @property
    def n_freq(self) -> int:
        """Number of frequency bins of the spectrogram."""
        return _n_freq(self.n_fft, self.drop_bin)


#: GANSynth "+H" (high frequency resolution): 4 s at 16 kHz -> 1024 bins x 128 frames, 3072 zeros in front.
GANSYNTH_HIRES = StftLayout(n_fft=2048, hop_length=512, padding="front", n_frames=128, drop_bin="dc")
#: GANSynth low-resolution layout: 4 s at 16 kHz -> 512 bins x 256 frames, 2304 zeros in front.
GANSYNTH_LOWRES = StftLayout(n_fft=1024, hop_length=256, padding="front", n_frames=256, drop_bin="dc")
#: SpecGAN: 16 384 samples at 16 kHz -> 128 bins x 128 frames, padded at the end, Nyquist bin dropped.
SPECGAN = StftLayout(n_fft=256, hop_length=128, padding="end", drop_bin="nyquist")


class StftPadding(NamedTuple):
    """Zeros (or reflected samples) added before and after a waveform, and the resulting frame count."""

    front: int
    back: int
    n_frames: int


def stft_padding(
    length: int, *, n_fft: int, hop_length: int, padding: Padding = "center", n_frames: int | None = None,
) -> StftPadding:
    """How :func:`stft` pads a waveform of ``length`` samples, and how many frames it gets.

    Args:
        length: waveform length in samples (> 0).
        n_fft: FFT size.
        hop_length: frame step.
        padding: ``"center" | "front" | "end" | "none"`` (module docstring).
        n_frames: frame count for ``"front"``/``"end"``; ``None`` means ``ceil(length / hop_length)``.

    Returns:
        ``StftPadding(front, back, n_frames)``; e.g. ``stft_padding(64000, n_fft=2048, hop_length=512,
        padding="front", n_frames=128) == (3072, 0, 128)``.

    Raises:
        ParameterError: a bad argument, ``n_frames`` too small to cover ``length`` samples, or
            ``padding="none"`` with ``length < n_fft``.
    """
    check_positive_int("length", length)
    _check_geometry(n_fft, hop_length, None, padding, "constant", n_frames, "none")
    if padding == "center":
        half = n_fft // 2
        return StftPadding(half, half, 1 + (length + 2 * half - n_fft) // hop_length)
    if padding == "none":
        if length < n_fft:
            raise ParameterError(f"padding='none' needs at least n_fft={n_fft} samples, got length={length}")
        return StftPadding(0, 0, 1 + (length - n_fft) // hop_length)
    frames = -(-length // hop_length) if n_frames is None else n_frames
    total = hop_length * (frames - 1) + n_fft - length
    if total < 0:
        raise ParameterError(f"n_frames={frames} frames of hop {hop_length} and n_fft {n_fft} cover only "
                             f"{length + total} samples, fewer than length={length}")
    return StftPadding(total, 0, frames) if padding == "front" else StftPadding(0, total, frames)


# ------------------------------------------------------------------------------------------ helpers
def _check_real(name: str, value: Any) -> torch.Tensor:
    check_tensor(name, value)
    if value.dtype not in _REAL_DTYPES:
        raise ParameterError(f"{name} must be float32 or float64, got dtype {value.dtype}")
    return value


def _check_complex(name: str, value: Any, *, min_dim: int = 2) -> torch.Tensor:
    check_tensor(name, value, min_dim=min_dim, floating=False)
    if value.dtype not in _COMPLEX_DTYPES:
        raise ParameterError(f"{name} must be complex64 or complex128, got dtype {value.dtype}")
    return value


def _full_window(
    window: torch.Tensor | None, win_length: int, n_fft: int, dtype: torch.dtype, device: torch.device,
) -> torch.Tensor:
    """The analysis window zero-padded (centred) to ``n_fft`` samples, on ``device`` in ``dtype``."""
    if window is None:
        window = torch.hann_window(win_length, periodic=True, dtype=dtype, device=device)
    else:
        check_tensor("window", window)
        if window.shape != (win_length,):
            raise ParameterError(f"window must have shape ({win_length},) (win_length), "
                                 f"got {tuple(window.shape)}")
        window = window.to(dtype=dtype, device=device)
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = F.pad(window, (left, n_fft - win_length - left))
    return window


def _pad(x: torch.Tensor, front: int, back: int, pad_mode: str) -> torch.Tensor:
    """Pads the last axis of ``(batch, samples)``."""
    if front == 0 and back == 0:
        return x
    if pad_mode == "reflect":
        if max(front, back) >= x.shape[-1]:
            raise ParameterError(f"pad_mode='reflect' needs more than {max(front, back)} samples to reflect, "
                                 f"got {x.shape[-1]}")
        return F.pad(x.unsqueeze(1), (front, back), mode="reflect").squeeze(1)
    return F.pad(x, (front, back))


def _drop(spec: torch.Tensor, drop_bin: str) -> torch.Tensor:
    """Drops a bin from the last (frequency) axis of a frames-major ``(batch, frames, freq)`` tensor."""
    if drop_bin == "dc":
        return spec[..., 1:]
    if drop_bin == "nyquist":
        return spec[..., :-1]
    return spec


def _undrop(spec: torch.Tensor, drop_bin: str) -> torch.Tensor:
    """Puts a zero bin back on the last axis of a frames-major tensor."""
    if drop_bin == "none":
        return spec
    zero = spec.new_zeros(*spec.shape[:-1], 1)
    return torch.cat([zero, spec] if drop_bin == "dc" else [spec, zero], dim=-1)


def _stft_frames(x: torch.Tensor, window: torch.Tensor, hop_length: int, pad: StftPadding, pad_mode: str,
                 drop_bin: str) -> torch.Tensor:
    """``(batch, samples)`` -> frames-major complex ``(batch, frames, freq)``."""
    x = _pad(x, pad.front, pad.back, pad_mode)
    frames = x.unfold(-1, window.shape[0], hop_length)
    return _drop(torch.fft.rfft(frames * window, dim=-1), drop_bin)


def _overlap_add(frames: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Overlap-adds ``(batch, frames, n)`` with step ``hop`` into ``(batch, hop * (frames - 1) + n)``."""
    batch, n_frames, n = frames.shape
    span = hop_length * (n_frames - 1) + n
    if n % hop_length == 0:
        # Each frame is `overlap` blocks of `hop` samples; block r of frame t lands on block t + r.
        overlap = n // hop_length
        blocks = frames.reshape(batch, n_frames, overlap, hop_length)
        out = frames.new_zeros(batch, n_frames + overlap - 1, hop_length)
        for r in range(overlap):
            out[:, r:r + n_frames] += blocks[:, :, r]
        return out.reshape(batch, span)
    return F.fold(frames.transpose(1, 2), output_size=(1, span), kernel_size=(1, n),
                  stride=(1, hop_length)).reshape(batch, span)


def _envelope_divisor(window: torch.Tensor, n_frames: int, hop_length: int) -> torch.Tensor:
    """Sum of the squared windows at each output sample, floored at ``_ENVELOPE_FLOOR`` of its maximum."""
    envelope = _overlap_add(window.square().expand(1, n_frames, -1), hop_length)[0]
    return envelope.clamp_min(_ENVELOPE_FLOOR * float(envelope.max()))


def _istft_frames(spec: torch.Tensor, window: torch.Tensor, hop_length: int, drop_bin: str, front: int,
                  length: int, divisor: torch.Tensor) -> torch.Tensor:
    """Frames-major complex ``(batch, frames, freq)`` -> ``(batch, length)``, starting at sample ``front``."""
    n_fft = window.shape[0]
    frames = torch.fft.irfft(_undrop(spec, drop_bin), n=n_fft, dim=-1) * window
    y = _overlap_add(frames, hop_length) / divisor
    end = front + length
    if end > y.shape[-1]:
        y = F.pad(y, (0, end - y.shape[-1]))
    return y[..., front:end]


# ------------------------------------------------------------------------------------------ STFT
def stft(
    waveform: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
) -> torch.Tensor:
    """Short-time Fourier transform (unnormalised DFT of windowed frames).

    With the defaults it equals ``librosa.stft(x, n_fft=n_fft)`` and ``torch.stft(x, n_fft,
    window=hann, center=True, pad_mode="constant", return_complex=True)``.

    Args:
        waveform: ``(..., samples)``, float32 or float64.
        n_fft: FFT size (> 0).
        hop_length: frame step; default ``win_length // 4``.
        win_length: window length ``<= n_fft``; default ``n_fft``.
        window: ``(win_length,)`` analysis window; default periodic Hann. Moved to the waveform's
            device and dtype.
        padding: ``"center" | "front" | "end" | "none"`` (module docstring).
        pad_mode: ``"constant"`` (zeros) or ``"reflect"``.
        n_frames: frame count for ``padding="front"`` or ``"end"``; default ``ceil(samples / hop)``.
        drop_bin: ``"none" | "dc" | "nyquist"``.

    Returns:
        Complex ``(..., freq, frames)`` with ``freq = n_fft // 2 + 1`` (one fewer with ``drop_bin``),
        complex64 for float32 input, complex128 for float64. The result is a transposed view of a
        frames-major buffer (like ``torch.stft``'s), so use ``reshape`` rather than ``view`` on it.

    Raises:
        ParameterError: a bad argument (the message names it).
    """
    _check_real("waveform", waveform)
    hop_length, win_length = _check_geometry(n_fft, hop_length, win_length, padding, pad_mode, n_frames,
                                             drop_bin)
    pad = stft_padding(waveform.shape[-1], n_fft=n_fft, hop_length=hop_length, padding=padding,
                       n_frames=n_frames)
    win = _full_window(window, win_length, n_fft, waveform.dtype, waveform.device)
    flat = waveform.reshape(-1, waveform.shape[-1])
    spec = _stft_frames(flat, win, hop_length, pad, pad_mode, drop_bin)
    return spec.transpose(-1, -2).reshape(*waveform.shape[:-1], *spec.shape[-1:], pad.n_frames)


def istft(
    spec: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
    length: int | None = None,
) -> torch.Tensor:
    """Least-squares inverse STFT (Griffin and Lim 1984): overlap-add of windowed inverse DFTs.

    ``istft(stft(x, **kw), **kw, length=x.shape[-1])`` returns ``x`` wherever the summed squared
    windows are at least ``1e-3`` of their maximum, i.e. everywhere except the outermost few
    samples of ``padding="front"``/``"end"``/``"none"`` spans. There the output is divided by that
    floor instead of by the tiny envelope: attenuated rather than amplified, so an inconsistent
    (e.g. generated) spectrogram does not click at the clip edges.

    Args:
        spec: complex ``(..., freq, frames)``.
        n_fft, hop_length, win_length, window, padding, drop_bin: as given to :func:`stft`.
        pad_mode: accepted so that one set of keyword arguments serves both directions; the padded
            samples are cropped, so it has no effect.
        n_frames: if given, must equal the number of frames of ``spec`` (a consistency check).
        length: output length in samples. Required with ``padding="front"`` (the front padding
            depends on it); defaults to ``hop * (frames - 1)`` for ``"center"``, ``hop * frames``
            for ``"end"`` and ``hop * (frames - 1) + n_fft`` for ``"none"``. Missing samples are zeros.

    Returns:
        Real ``(..., length)`` in the real dtype matching ``spec``.

    Raises:
        ParameterError: a bad argument, or ``spec`` with the wrong number of bins.
    """
    _check_complex("spec", spec)
    hop_length, win_length = _check_geometry(n_fft, hop_length, win_length, padding, pad_mode, n_frames,
                                             drop_bin)
    n_freq, frames = spec.shape[-2:]
    if n_freq != _n_freq(n_fft, drop_bin):
        raise ParameterError(f"spec has {n_freq} frequency bins, but n_fft={n_fft} with "
                             f"drop_bin={drop_bin!r} gives {_n_freq(n_fft, drop_bin)}")
    if n_frames is not None and n_frames != frames:
        raise ParameterError(f"n_frames={n_frames} does not match the {frames} frames of spec")
    front, length = _inverse_span(frames, n_fft, hop_length, padding, length)
    real_dtype = torch.float32 if spec.dtype == torch.complex64 else torch.float64
    win = _full_window(window, win_length, n_fft, real_dtype, spec.device)
    flat = spec.reshape(-1, n_freq, frames).transpose(-1, -2)
    divisor = _envelope_divisor(win, frames, hop_length)
    y = _istft_frames(flat, win, hop_length, drop_bin, front, length, divisor)
    return y.reshape(*spec.shape[:-2], length)


def _inverse_span(frames: int, n_fft: int, hop_length: int, padding: str,
                  length: int | None) -> tuple[int, int]:
    """``(front, length)``: where the signal starts in the overlap-added span, and its length."""
    if length is not None:
        check_positive_int("length", length)
    if padding == "center":
        return n_fft // 2, hop_length * (frames - 1) if length is None else length
    if padding == "end":
        return 0, hop_length * frames if length is None else length
    if padding == "none":
        return 0, hop_length * (frames - 1) + n_fft if length is None else length
    if length is None:
        raise ParameterError("length is required with padding='front' (the front padding depends on it)")
    front = hop_length * (frames - 1) + n_fft - length
    if front < 0:
        raise ParameterError(f"length={length} is longer than the {length + front} samples that {frames} "
                             "frames cover")
    return front, length


# ------------------------------------------------------------------------------------------ magnitude
def magnitude(spec: torch.Tensor) -> torch.Tensor:
    """``|spec|`` of a complex tensor, fast on CPU.

    Without autograd it is ``sqrt(re^2 + im^2)`` computed with vectorised real kernels, about five
    times faster than ``torch.abs`` on a complex CPU tensor (a scalar ``hypot`` loop). When a
    gradient is needed it is ``torch.abs``, whose derivative is defined (zero) at ``spec = 0``.

    Args:
        spec: complex ``(...)``.

    Returns:
        Real tensor of the same shape and memory layout.

    Raises:
        ParameterError: ``spec`` is not a complex tensor.
    """
    _check_complex("spec", spec, min_dim=1)
    if torch.is_grad_enabled() and spec.requires_grad:
        return spec.abs()
    parts = torch.view_as_real(spec.resolve_conj())
    re, im = parts[..., 0], parts[..., 1]
    return _magnitude_into(re.square(), im)


def _magnitude_into(re_squared: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
    """``sqrt(re^2 + im^2)`` in place in the buffer that holds ``re^2``."""
    return re_squared.addcmul_(im, im).sqrt_()


def log_magnitude(spec: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """``log(|spec| + eps)``, GANSynth's and SpecGAN's magnitude channel.

    Args:
        spec: complex spectrogram ``(..., freq, frames)``, or a real non-negative magnitude.
        eps: added before the log (> 0); default 1e-6 as in GANSynth.

    Returns:
        Real ``(..., freq, frames)`` in nepers (natural log).

    Raises:
        ParameterError: ``eps`` is not positive or ``spec`` is not a float/complex tensor.
    """
    check_positive("eps", eps)
    check_tensor("spec", spec, floating=False)
    if spec.is_complex():
        mag = magnitude(spec)
    else:
        _check_real("spec", spec)
        mag = spec
    if mag is spec or mag.requires_grad:
        return torch.log(mag + eps)
    return mag.add_(eps).log_()


def log_spectrogram(
    waveform: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
    eps: float = 1e-6,
) -> torch.Tensor:
    """``log(|stft(waveform)| + eps)``: :func:`stft` then :func:`log_magnitude`.

    On CPU without autograd the two steps are fused and computed block by block, faster than
    librosa (``benchmarks/bench_spectral.py``); the result is the same.

    Args:
        waveform: ``(..., samples)``, float32 or float64.
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin: see :func:`stft`.
        eps: added before the log (> 0).

    Returns:
        ``(..., freq, frames)`` log-magnitude.
    """
    check_positive("eps", eps)
    _check_real("waveform", waveform)
    needs_grad = torch.is_grad_enabled() and (
        waveform.requires_grad or (window is not None and window.requires_grad))
    if needs_grad or waveform.device.type != "cpu":
        spec = stft(waveform, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                    padding=padding, pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        return log_magnitude(spec, eps=eps)
    hop_length, win_length = _check_geometry(n_fft, hop_length, win_length, padding, pad_mode, n_frames,
                                             drop_bin)
    pad = stft_padding(waveform.shape[-1], n_fft=n_fft, hop_length=hop_length, padding=padding,
                       n_frames=n_frames)
    win = _full_window(window, win_length, n_fft, waveform.dtype, waveform.device)
    x = _pad(waveform.reshape(-1, waveform.shape[-1]), pad.front, pad.back, pad_mode)
    out = _log_spectrogram_blocks(x, win, hop_length, drop_bin, eps)
    return out.transpose(-1, -2).reshape(*waveform.shape[:-1], out.shape[-1], pad.n_frames)


def _log_spectrogram_blocks(x: torch.Tensor, window: torch.Tensor, hop_length: int, drop_bin: str,
                            eps: float) -> torch.Tensor:
    """Log-magnitude of padded ``(batch, samples)`` as a frames-major ``(batch, frames, freq)`` CPU tensor.

    Computed block by block (about 2 MB of frames each) so that the frames and their spectra stay
    in cache and no temporary is large enough to be mmap-ed (and page-faulted) afresh on every
    call, which costs more than the FFT for whole-batch temporaries. Blocks are shared among
    ``torch.get_num_threads()`` Python threads (torch kernels release the GIL): one thread per
    core keeps both cores busy even when other processes compete for them, whereas splitting
    every small kernel across OpenMP threads stalls at each kernel's barrier in that situation.
    """
    n_fft = window.shape[0]
    frames = x.unfold(-1, n_fft, hop_length)
    batch, n_frames = frames.shape[:2]
    out = x.new_empty(batch, n_frames, _n_freq(n_fft, drop_bin))
    step = max(1, _BLOCK_ELEMENTS // n_fft)
    blocks = [(b, t) for b in range(batch) for t in range(0, n_frames, step)]

    def work(part: list[tuple[int, int]]) -> None:
        for b, t in part:
            spec = torch.fft.rfft(frames[b, t:t + step] * window, dim=-1)
            parts = torch.view_as_real(_drop(spec, drop_bin))
            block = out[b, t:t + step]
            torch.mul(parts[..., 0], parts[..., 0], out=block)
            _magnitude_into(block, parts[..., 1]).add_(eps).log_()

    workers = min(torch.get_num_threads(), len(blocks))
    if workers <= 1:
        work(blocks)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, [blocks[i::workers] for i in range(workers)]))
    return out


def amplitude_to_db(
    mag: torch.Tensor, *, ref: float = 1.0, amin: float = 1e-5, top_db: float | None = 80.0,
) -> torch.Tensor:
    """Magnitude to decibels, ``20 log10(max(mag, amin) / max(ref, amin))``, as ``librosa.amplitude_to_db``.

    Args:
        mag: non-negative ``(..., freq, frames)``.
        ref: reference magnitude for 0 dB (> 0).
        amin: floor of ``mag`` and ``ref`` (> 0).
        top_db: if given, values more than ``top_db`` dB below the maximum of each spectrogram
            (over its last two axes) are raised to that level.

    Returns:
        ``(..., freq, frames)`` in dB.

    Raises:
        ParameterError: a non-positive ``ref``, ``amin`` or ``top_db``, or ``mag`` with fewer than 2 dims.
    """
    _check_real("mag", mag)
    check_tensor("mag", mag, min_dim=2)
    check_positive("ref", ref)
    check_positive("amin", amin)
    db = 20.0 * torch.log10(mag.clamp_min(amin)) - 20.0 * math.log10(max(ref, amin))
    if top_db is None:
        return db
    check_positive("top_db", top_db)
    return torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)


# ------------------------------------------------------------------------------------------ mel
def mel_filterbank(
    *,
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    drop_bin: DropBin = "none",
    mel_scale: MelScale = "htk",
    norm: MelNorm = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Triangular mel filters (:func:`torchaudio.functional.melscale_fbanks`) as a ``(n_mels, freq)`` matrix.

    The filters are computed for the ``n_fft // 2 + 1`` bins of the full spectrum and the column of
    the dropped bin is removed, so each column still sits at its true frequency ``k * sr / n_fft``.
    ``mel @ mag`` maps ``(..., freq, frames)`` to ``(..., n_mels, frames)``.

    Args:
        sample_rate: in Hz.
        n_fft: FFT size of the spectrogram.
        n_mels: number of mel bands.
        f_min: lowest band edge in Hz (>= 0).
        f_max: highest band edge in Hz (<= sample_rate / 2); default ``sample_rate / 2``.
        drop_bin: the bin dropped from the spectrogram (see :func:`stft`).
        mel_scale: ``"htk"`` (2595 log10(1 + f/700), GANSynth) or ``"slaney"``.
        norm: ``"slaney"`` for area-normalised filters, ``None`` for unit peaks.
        dtype: dtype of the matrix.
        device: device of the matrix.

    Returns:
        ``(n_mels, freq)`` non-negative matrix.

    Raises:
        ParameterError: a bad argument.
    """
    check_positive_int("sample_rate", sample_rate)
    check_positive_int("n_fft", n_fft)
    check_positive_int("n_mels", n_mels)
    check_choice("drop_bin", drop_bin, _DROP_BINS)
    check_choice("mel_scale", mel_scale, ("htk", "slaney"))
    check_choice("norm", norm, ("slaney", None))
    nyquist = sample_rate / 2
    f_max = nyquist if f_max is None else f_max
    if isinstance(f_min, bool) or not isinstance(f_min, (int, float)) or not 0 <= f_min < nyquist:
        raise ParameterError(f"f_min must be in [0, {nyquist}), got {f_min!r}")
    if isinstance(f_max, bool) or not isinstance(f_max, (int, float)) or not f_min < f_max <= nyquist:
        raise ParameterError(f"f_max must be in ({f_min}, {nyquist}], got {f_max!r}")
    fbank = taF.melscale_fbanks(n_fft // 2 + 1, float(f_min), float(f_max), n_mels, sample_rate,
                                norm=norm, mel_scale=mel_scale)
    fbank = _drop(fbank.T, drop_bin)
    return fbank.to(dtype=dtype, device=device).contiguous()


def log_mel(
    spec: torch.Tensor, *, fbank: torch.Tensor, power: float = 2.0, eps: float = 1e-6,
) -> torch.Tensor:
    """``log(fbank @ |spec|^power + eps)``: log mel power (``power=2``, GANSynth) or magnitude (``power=1``).

    Args:
        spec: complex ``(..., freq, frames)``, or a real non-negative magnitude.
        fbank: ``(n_mels, freq)`` from :func:`mel_filterbank`.
        power: exponent of the magnitude (> 0).
        eps: added before the log (> 0).

    Returns:
        ``(..., n_mels, frames)``.

    Raises:
        ParameterError: a bad argument or a filterbank whose width does not match ``freq``.
    """
    check_tensor("spec", spec, min_dim=2, floating=False)
    check_tensor("fbank", fbank, min_dim=2)
    check_positive("power", power)
    check_positive("eps", eps)
    if fbank.dim() != 2 or fbank.shape[-1] != spec.shape[-2]:
        raise ParameterError(f"fbank must have shape (n_mels, {spec.shape[-2]}), got {tuple(fbank.shape)}")
    mag = magnitude(spec) if spec.is_complex() else _check_real("spec", spec)
    weighted = mag.square() if power == 2.0 else mag if power == 1.0 else mag.pow(power)
    return torch.log(torch.matmul(fbank.to(weighted), weighted) + eps)


def mel_to_magnitude(
    log_mel_values: torch.Tensor, *, fbank: torch.Tensor, power: float = 2.0, eps: float = 1e-6,
    inverse: torch.Tensor | None = None,
) -> torch.Tensor:
    """An approximate inverse of :func:`log_mel`: a linear magnitude ``(..., freq, frames)`` whose
    log-mel is close to ``log_mel_values``.

    The mel power ``exp(x) - eps`` is mapped back through the Moore-Penrose pseudo-inverse of
    ``fbank`` (the least-squares solution of smallest norm, as torchaudio's ``InverseMelScale``
    approximates iteratively), clipped at zero and raised to ``1 / power``. Detail finer than the mel
    bands is lost; the phase is for Griffin-Lim to find.

    Args:
        log_mel_values: ``(..., n_mels, frames)``.
        fbank: ``(n_mels, freq)`` from :func:`mel_filterbank`.
        power: the exponent :func:`log_mel` used (> 0).
        eps: the offset :func:`log_mel` used (> 0).
        inverse: ``torch.linalg.pinv(fbank)`` when the caller has it already (an exported graph
            holds it as a constant, having no pseudo-inverse operator).

    Returns:
        Non-negative ``(..., freq, frames)`` in the dtype of ``log_mel_values``.
    """
    check_tensor("log_mel_values", log_mel_values, min_dim=2)
    check_tensor("fbank", fbank, min_dim=2)
    check_positive("power", power)
    check_positive("eps", eps)
    if fbank.dim() != 2 or fbank.shape[0] != log_mel_values.shape[-2]:
        raise ParameterError(f"fbank must have shape ({log_mel_values.shape[-2]}, freq), got {tuple(fbank.shape)}")
    mel_power = (log_mel_values.exp() - eps).clamp_min(0.0)
    inverse = (torch.linalg.pinv(fbank.double()) if inverse is None else inverse).to(mel_power)
    linear = torch.matmul(inverse, mel_power).clamp_min(0.0)
    return linear if power == 1.0 else linear.pow(1.0 / power)


def log_mel_spectrogram(
    waveform: torch.Tensor,
    *,
    fbank: torch.Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
    power: float = 2.0,
    eps: float = 1e-6,
) -> torch.Tensor:
    """:func:`stft` then :func:`log_mel`.

    Args:
        waveform: ``(..., samples)``, float32 or float64.
        fbank: ``(n_mels, freq)`` from :func:`mel_filterbank` with the same ``n_fft`` and ``drop_bin``.
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin: see :func:`stft`.
        power: exponent of the magnitude before the filterbank (> 0).
        eps: added before the log (> 0).

    Returns:
        ``(..., n_mels, frames)``.
    """
    spec = stft(waveform, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                padding=padding, pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
    return log_mel(spec, fbank=fbank, power=power, eps=eps)


# ------------------------------------------------------------------------------------------ IF
def instantaneous_frequency(spec: torch.Tensor) -> torch.Tensor:
    """GANSynth's instantaneous frequency: the frame-to-frame phase difference, divided by pi.

    Frame 0 holds the raw phase / pi; frame ``m > 0`` holds ``(unwrap(phase)[m] - unwrap(phase)[m-1]) / pi``,
    the difference of the phase unwrapped along time. That difference is the principal value of
    ``phase[m] - phase[m-1]`` in ``[-pi, pi]``, which is how it is computed here: the same numbers
    without the running sum of 2 pi corrections that costs precision in unwrap-then-diff.

    Args:
        spec: complex ``(..., freq, frames)``.

    Returns:
        Real ``(..., freq, frames)`` in ``[-1, 1]``. Differentiable except where ``spec == 0``
        (the phase is undefined there; ``torch.angle`` returns 0).

    Raises:
        ParameterError: ``spec`` is not a complex tensor with at least 2 dims.
    """
    _check_complex("spec", spec)
    phase = torch.angle(spec)
    diff = phase[..., 1:] - phase[..., :-1]
    step = torch.remainder(diff + math.pi, 2 * math.pi) - math.pi
    # A jump of exactly +pi stays +pi, as in numpy.unwrap and GANSynth (real DC bins jump by pi).
    step = torch.where((step == -math.pi) & (diff > 0), math.pi, step)
    return torch.cat([phase[..., :1], step], dim=-1) / math.pi


def phase_from_instantaneous_frequency(inst_freq: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`instantaneous_frequency`: ``cumsum(inst_freq * pi)`` along frames, in ``[0, 2 pi)``.

    The running sum is taken in float64 whatever the input dtype (a 4-s GANSynth clip accumulates
    hundreds of radians, where float32 keeps only ~1e-5 rad), then wrapped and rounded back.

    Args:
        inst_freq: real ``(..., freq, frames)``.

    Returns:
        Phase in radians, same shape and dtype.
    """
    _check_real("inst_freq", inst_freq)
    phase = torch.cumsum(inst_freq.to(torch.float64) * math.pi, dim=-1)
    return torch.remainder(phase, 2 * math.pi).to(inst_freq.dtype)


def spec_to_log_mag_if(spec: torch.Tensor, *, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex spectrogram -> ``(log(|spec| + eps), instantaneous_frequency(spec))``: GANSynth's channels."""
    return log_magnitude(spec, eps=eps), instantaneous_frequency(spec)


def log_mag_if_to_spec(log_mag: torch.Tensor, inst_freq: torch.Tensor, *, eps: float = 1e-6) -> torch.Tensor:
    """Inverse of :func:`spec_to_log_mag_if`: ``polar(exp(log_mag) - eps, cumsum(inst_freq * pi))``.

    Subtracting ``eps`` (and clamping at 0) makes the round trip exact; GANSynth keeps the ``+eps``,
    a difference of 1e-6 in every bin.

    Args:
        log_mag: real ``(..., freq, frames)``.
        inst_freq: real ``(..., freq, frames)``, same shape and dtype.
        eps: the ``eps`` of the forward transform (> 0).

    Returns:
        Complex ``(..., freq, frames)``.

    Raises:
        ParameterError: mismatched shapes or dtypes, or a bad ``eps``.
    """
    _check_real("log_mag", log_mag)
    _check_real("inst_freq", inst_freq)
    check_positive("eps", eps)
    if log_mag.shape != inst_freq.shape or log_mag.dtype != inst_freq.dtype:
        raise ParameterError(f"log_mag and inst_freq must have the same shape and dtype, got "
                             f"{tuple(log_mag.shape)} {log_mag.dtype} and "
                             f"{tuple(inst_freq.shape)} {inst_freq.dtype}")
    mag = (torch.exp(log_mag) - eps).clamp_min(0.0)
    return torch.polar(mag, phase_from_instantaneous_frequency(inst_freq))


def waveform_to_log_mag_if(
    waveform: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
    eps: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Waveform -> ``(log_mag, inst_freq)``, each ``(..., freq, frames)`` (GANSynth: :data:`GANSYNTH_HIRES`).

    Args:
        waveform: ``(..., samples)``, float32 or float64.
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin: see :func:`stft`.
        eps: added to the magnitude before the log (> 0).

    Returns:
        ``(log_mag, inst_freq)``; see :func:`log_magnitude` and :func:`instantaneous_frequency`.
    """
    check_positive("eps", eps)
    spec = stft(waveform, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                padding=padding, pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
    return spec_to_log_mag_if(spec, eps=eps)


def log_mag_if_to_waveform(
    log_mag: torch.Tensor,
    inst_freq: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    padding: Padding = "center",
    pad_mode: PadMode = "constant",
    n_frames: int | None = None,
    drop_bin: DropBin = "none",
    length: int | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """``(log_mag, inst_freq)`` -> waveform: :func:`log_mag_if_to_spec` then :func:`istft` (no iteration).

    Args:
        log_mag: real ``(..., freq, frames)``.
        inst_freq: real ``(..., freq, frames)``.
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin, length: see
            :func:`istft` (``length`` is required with ``padding="front"``).
        eps: the ``eps`` of the forward transform.

    Returns:
        ``(..., length)``.
    """
    spec = log_mag_if_to_spec(log_mag, inst_freq, eps=eps)
    return istft(spec, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                 padding=padding, pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin, length=length)
