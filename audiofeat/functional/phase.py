"""Phase reconstruction from a magnitude spectrogram: fast Griffin-Lim and phase-gradient integration.

:func:`griffinlim` alternates the two projections of Griffin and Lim (onto consistent
spectrograms, ``stft(istft(.))``, and onto spectrograms with the given magnitude) with the momentum
("fast Griffin-Lim") of Perraudin et al., in the form used by librosa and torchaudio:

    t_n = stft(istft(c_{n-1})),   c_n = |S| * u / |u|   with   u = t_n - momentum / (1 + momentum) * t_{n-1}

so that, from the same start, it produces the same iterates as ``librosa.griffinlim``.

The start matters: from random phase, Griffin-Lim spends its first dozens of iterations just
making the phase of neighbouring frames agree. :func:`pghi_phase` builds a start that already
agrees, from the magnitude alone, by integrating the phase derivatives that the magnitude implies
(phase-gradient heap integration, Průša et al. 2017). For a Gaussian window
``exp(-pi t^2 / lambda)``, hop ``a`` and FFT size ``M``, with the phase referenced to the frame
start as in :func:`audiofeat.functional.stft`, the STFT phase ``phi`` of bin ``k``, frame ``m``
obeys

    d phi / d m = (a M / lambda) d log|X| / d k + 2 pi a k / M        (radians per frame)
    d phi / d k = -(lambda / (a M)) d log|X| / d m - pi               (radians per bin)

(the ``-pi`` comes from the frame-start reference: the window centre sits ``M/2`` samples in).
A Hann window of ``L`` samples behaves like ``lambda = 0.25645 L^2`` (Průša et al.); for any
window this module uses the Gaussian with the same energy spread (``_gaussian_lambda``). The
original algorithm integrates these derivatives along a max-heap, always continuing from the
strongest coefficient already reached; that is a sequential loop over every coefficient, slow in
Python. This module uses a vectorised, frame-recursive approximation of the same rule
(``pghi_phase`` explains it); ``benchmarks/bench_griffinlim.py`` compares it with a heap reference.

References:
    D. Griffin and J. Lim, "Signal estimation from modified short-time Fourier transform",
    IEEE TASSP 32(2), 1984.

    N. Perraudin, P. Balazs and P. L. Søndergaard, "A fast Griffin-Lim algorithm", WASPAA 2013.

    Z. Průša, P. Balazs and P. L. Søndergaard, "A noniterative method for reconstruction of phase
    from STFT magnitude", IEEE/ACM TASLP 25(5), 2017.
"""
from __future__ import annotations

import math
from typing import Literal

import torch

from audiofeat._checks import check_choice, check_non_negative_int, check_range, check_tensor
from audiofeat.exceptions import ParameterError
from audiofeat.functional.spectral import (
    DropBin,
    Padding,
    PadMode,
    _check_geometry,
    _check_real,
    _envelope_divisor,
    _full_window,
    _inverse_span,
    _istft_frames,
    _n_freq,
    _stft_frames,
    magnitude,
    stft,
    stft_padding,
)

__all__ = ["griffinlim", "pghi_phase", "spectral_convergence"]

PhaseInit = Literal["random", "zeros", "pghi"]

#: A local maximum of a frame whose previous frame is weaker than this fraction is an onset.
_ONSET_RATIO = 0.5


def _check_mag(mag: object, n_fft: int, drop_bin: str) -> torch.Tensor:
    mag = _check_real("mag", mag)
    check_tensor("mag", mag, min_dim=2)
    if mag.shape[-2] != _n_freq(n_fft, drop_bin):
        raise ParameterError(f"mag has {mag.shape[-2]} frequency bins, but n_fft={n_fft} with "
                             f"drop_bin={drop_bin!r} gives {_n_freq(n_fft, drop_bin)}")
    return mag


def _gaussian_lambda(window: torch.Tensor) -> float:
    """The ``lambda`` of the Gaussian ``exp(-pi t^2 / lambda)`` with the window's energy spread.

    Matching the second moment of ``w^2`` (``lambda = 4 pi sigma^2``) reproduces Průša et al.'s
    fitted values within 2 %: 0.2514 L^2 for Hann (0.25645 fitted), 0.2937 L^2 for Hamming
    (0.29794), 0.1773 L^2 for Blackman (0.17954).
    """
    energy = window.detach().to("cpu", torch.float64).square()
    t = torch.arange(energy.shape[0], dtype=torch.float64)
    total = float(energy.sum())
    if not total > 0:
        raise ParameterError("window must not be all zeros")
    centre = float((t * energy).sum()) / total
    variance = float(((t - centre).square() * energy).sum()) / total
    if not variance > 0:
        raise ParameterError("window must be longer than one non-zero sample to estimate its Gaussian width")
    return 4 * math.pi * variance


def _central_difference(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Central differences along ``dim`` (one-sided at the ends; zero along an axis of length 1)."""
    n = x.shape[dim]
    if n == 1:
        return torch.zeros_like(x)
    return torch.gradient(x, dim=dim)[0]


def pghi_phase(
    mag: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: torch.Tensor | None = None,
    drop_bin: DropBin = "none",
    tolerance: float = 1e-5,
) -> torch.Tensor:
    """A phase estimate from the magnitude alone, by phase-gradient integration (PGHI).

    The phase derivatives are estimated from ``log|X|`` (module docstring, central differences).
    Frames are then processed in order, each in one vectorised step that follows the heap rule
    "take the phase from the strongest neighbour that already has one" restricted to the causal
    neighbours (the same bin in the previous frame, the adjacent bins in this frame):

    - a bin whose previous-frame magnitude is at least that of both its neighbours in frequency,
      or which is a peak of its frame with at least half its magnitude one frame earlier, continues
      its own phase in time (trapezoidal integration of ``d phi / d m``);
    - a bin that is not a peak climbs along frequency towards its larger neighbour until it reaches
      such a bin, integrating ``d phi / d k`` on the way (a segmented cumulative sum);
    - a peak without that history (an onset) is integrated along frequency from the frame's
      strongest bin, so the partials of an attack start phase-aligned as in the heap algorithm.

    Args:
        mag: non-negative ``(..., freq, frames)``, float32 or float64.
        n_fft, hop_length, win_length, window, drop_bin: the STFT that produced ``mag``
            (:func:`audiofeat.functional.stft`).
        tolerance: magnitudes below ``tolerance`` times the maximum of their spectrogram are
            floored there before the log, so silence gives no huge derivatives (in (0, 1)).

    Returns:
        Phase in radians, ``(..., freq, frames)``, same dtype and device. Not differentiable.

    Raises:
        ParameterError: a bad argument.
    """
    hop_length, win_length = _check_geometry(n_fft, hop_length, win_length, "center", "constant", None,
                                             drop_bin)
    mag = _check_mag(mag, n_fft, drop_bin)
    check_range("tolerance", tolerance, 0.0, 1.0)
    if tolerance in (0.0, 1.0):
        raise ParameterError(f"tolerance must be in (0, 1), got {tolerance!r}")
    n_freq, n_frames = mag.shape[-2:]
    with torch.no_grad():
        a = mag.detach().reshape(-1, n_freq, n_frames)
        d_time, d_freq = _phase_derivatives(a, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                            window=window, drop_bin=drop_bin, tolerance=tolerance)
        # Trapezoidal running integral of d_freq along frequency, zero at the first bin.
        steps = 0.5 * (d_freq[:, 1:] + d_freq[:, :-1])
        along_freq = torch.cat([torch.zeros_like(d_freq[:, :1]), torch.cumsum(steps, dim=1)], dim=1)
        return _integrate_frames(a, d_time, along_freq).reshape(mag.shape)


def _phase_derivatives(
    mag: torch.Tensor, *, n_fft: int, hop_length: int, win_length: int, window: torch.Tensor | None,
    drop_bin: str, tolerance: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(d phi / d m, d phi / d k)`` of ``(batch, freq, frames)`` magnitudes (module docstring)."""
    lam = _gaussian_lambda(_full_window(window, win_length, n_fft, torch.float64, torch.device("cpu")))
    floor = mag.amax(dim=(-2, -1), keepdim=True).clamp_min(torch.finfo(mag.dtype).tiny) * tolerance
    log_mag = torch.log(torch.maximum(mag, floor))
    k0 = 1 if drop_bin == "dc" else 0
    bins = torch.arange(k0, k0 + mag.shape[-2], dtype=mag.dtype, device=mag.device).unsqueeze(-1)
    d_time = ((hop_length * n_fft / lam) * _central_difference(log_mag, -2)
              + (2 * math.pi * hop_length / n_fft) * bins)
    d_freq = -(lam / (hop_length * n_fft)) * _central_difference(log_mag, -1) - math.pi
    return d_time, d_freq


def _integrate_frames(mag: torch.Tensor, d_time: torch.Tensor, along_freq: torch.Tensor) -> torch.Tensor:
    """The frame-recursive integration of :func:`pghi_phase` on ``(batch, freq, frames)`` tensors.

    Which neighbour each coefficient takes its phase from depends on the magnitude only, so it is
    decided for all frames at once; the loop over frames only carries the phase forward.
    """
    batch, n_freq, n_frames = mag.shape
    # Frames first, so that each step of the loop reads contiguous (batch, freq) slices.
    cur = mag.permute(2, 0, 1).contiguous()
    along = along_freq.permute(2, 0, 1).contiguous()
    step = 0.5 * (d_time[..., 1:] + d_time[..., :-1]).permute(2, 0, 1)
    step = torch.cat([torch.zeros_like(cur[:1]), step], dim=0)
    prev = torch.cat([torch.zeros_like(cur[:1]), cur[:-1]], dim=0)
    edge = cur.new_full((n_frames, batch, 1), -math.inf)
    left = torch.cat([edge, cur[..., :-1]], dim=-1)
    right = torch.cat([cur[..., 1:], edge], dim=-1)
    neighbour = torch.maximum(left, right)
    peak = cur >= neighbour
    from_time = (prev >= neighbour) | (peak & (prev >= _ONSET_RATIO * cur))
    root = peak | from_time
    # A non-root bin climbs towards its larger neighbour; the climb ends at the nearest root in
    # that direction (roots point at themselves).
    index = torch.arange(n_freq, device=mag.device).expand_as(cur)
    next_root = torch.where(root, index, n_freq - 1).flip(-1).cummin(dim=-1).values.flip(-1)
    prev_root = torch.where(root, index, 0).cummax(dim=-1).values
    source = torch.where(right > left, next_root, prev_root)
    strongest = cur.argmax(dim=-1, keepdim=True)
    along_strongest = along.gather(-1, strongest)
    phase = torch.empty_like(cur)
    prev_phase = torch.zeros_like(cur[0])
    for m in range(n_frames):
        in_time = prev_phase + step[m]
        anchor = in_time.gather(-1, strongest[m]) - along_strongest[m]
        root_phase = torch.where(from_time[m], in_time, anchor + along[m])
        prev_phase = phase[m] = (root_phase - along[m]).gather(-1, source[m]) + along[m]
    return phase.permute(1, 2, 0)


def griffinlim(
    mag: torch.Tensor,
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
    n_iter: int = 32,
    momentum: float = 0.99,
    init: PhaseInit | torch.Tensor = "random",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Waveform from an STFT magnitude by fast Griffin-Lim (Perraudin et al. 2013).

    Args:
        mag: non-negative ``(..., freq, frames)``, float32 or float64 (linear magnitude, not log).
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin: the STFT of
            ``mag`` (:func:`audiofeat.functional.stft`).
        length: output length in samples; see :func:`audiofeat.functional.istft` (required with
            ``padding="front"``).
        n_iter: number of iterations (>= 0; 0 returns the inverse STFT of the initial estimate).
        momentum: in [0, 2); 0 is the original Griffin-Lim, 0.99 the default of librosa and
            torchaudio. Values above 1 can diverge.
        init: initial phase: ``"random"`` (uniform, drawn from ``generator``), ``"zeros"``
            (librosa's ``init=None``), ``"pghi"`` (:func:`pghi_phase`), or a real tensor of phases
            in radians with the shape of ``mag``.
        generator: random source for ``init="random"``. The phases are drawn on the generator's
            device and moved to ``mag``'s, so a seed gives the same start on every device.

    Returns:
        Real ``(..., length)`` waveform. The phase search runs without autograd; the final inverse
        STFT is differentiable with respect to ``mag`` (the estimated phase is held constant).

    Raises:
        ParameterError: a bad argument.
    """
    hop_length, win_length = _check_geometry(n_fft, hop_length, win_length, padding, pad_mode, n_frames,
                                             drop_bin)
    mag = _check_mag(mag, n_fft, drop_bin)
    check_non_negative_int("n_iter", n_iter)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 2:
        raise ParameterError(f"momentum must be in [0, 2), got {momentum!r}")
    n_freq, frames = mag.shape[-2:]
    if n_frames is not None and n_frames != frames:
        raise ParameterError(f"n_frames={n_frames} does not match the {frames} frames of mag")
    front, length = _inverse_span(frames, n_fft, hop_length, padding, length)
    pad = stft_padding(length, n_fft=n_fft, hop_length=hop_length, padding=padding,
                       n_frames=frames if padding in ("front", "end") else None)
    if pad.n_frames != frames:
        raise ParameterError(f"length={length} gives {pad.n_frames} frames, but mag has {frames}")
    phase = _initial_phase(init, mag, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                           window=window, drop_bin=drop_bin, generator=generator)
    win = _full_window(window, win_length, n_fft, mag.dtype, mag.device)
    divisor = _envelope_divisor(win, frames, hop_length)
    target = mag.reshape(-1, n_freq, frames).transpose(-1, -2)
    tiny = torch.finfo(mag.dtype).tiny
    beta = momentum / (1 + momentum)
    with torch.no_grad():
        s = target.detach().contiguous()
        angles = torch.polar(s, phase.reshape(-1, n_freq, frames).transpose(-1, -2).contiguous())
        rebuilt_prev: torch.Tensor | None = None
        for _ in range(n_iter):
            inverse = _istft_frames(angles, win, hop_length, drop_bin, front, length, divisor)
            rebuilt = _stft_frames(inverse, win, hop_length, pad, pad_mode, drop_bin)
            update = rebuilt.clone() if rebuilt_prev is None else torch.sub(rebuilt, rebuilt_prev, alpha=beta)
            # Unit phasors first, then the magnitude (s / tiny could overflow where update == 0).
            angles = update.mul_(magnitude(update).add_(tiny).reciprocal_()).mul_(s)
            rebuilt_prev = rebuilt
    if mag.requires_grad and torch.is_grad_enabled():
        unit = angles / (magnitude(angles) + tiny)
        angles = target * unit
    y = _istft_frames(angles, win, hop_length, drop_bin, front, length, divisor)
    return y.reshape(*mag.shape[:-2], length)


def _initial_phase(
    init: PhaseInit | torch.Tensor, mag: torch.Tensor, *, n_fft: int, hop_length: int, win_length: int,
    window: torch.Tensor | None, drop_bin: DropBin, generator: torch.Generator | None,
) -> torch.Tensor:
    if isinstance(init, torch.Tensor):
        if init.shape != mag.shape:
            raise ParameterError(f"init phase must have the shape of mag {tuple(mag.shape)}, "
                                 f"got {tuple(init.shape)}")
        _check_real("init", init)
        return init.detach().to(dtype=mag.dtype, device=mag.device)
    check_choice("init", init, ("random", "zeros", "pghi"))
    if init == "zeros":
        return torch.zeros_like(mag)
    if init == "pghi":
        return pghi_phase(mag, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                          drop_bin=drop_bin)
    source = generator.device if generator is not None else mag.device
    uniform = torch.rand(mag.shape, generator=generator, dtype=mag.dtype, device=source)
    return (2 * math.pi) * uniform.to(mag.device)


def spectral_convergence(
    mag: torch.Tensor,
    estimate: torch.Tensor,
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
    """``|| |S| - |X| ||_F / || S ||_F`` per spectrogram: how well ``estimate`` matches the magnitude ``S``.

    Args:
        mag: target magnitude ``(..., freq, frames)``.
        estimate: a waveform ``(..., samples)`` (real; analysed with the given STFT parameters)
            or a complex spectrogram ``(..., freq, frames)``.
        n_fft, hop_length, win_length, window, padding, pad_mode, n_frames, drop_bin: the STFT of
            ``mag``. With ``padding="front"``/``"end"`` and no ``n_frames``, the frame count of
            ``mag`` is used.

    Returns:
        ``(...)`` non-negative ratios (0 is a perfect match).

    Raises:
        ParameterError: a bad argument or an estimate whose spectrogram shape differs from ``mag``'s.
    """
    mag = _check_mag(mag, n_fft, drop_bin)
    check_tensor("estimate", estimate, floating=False)
    if estimate.is_complex():
        est = estimate
    else:
        if padding in ("front", "end") and n_frames is None:
            n_frames = mag.shape[-1]
        est = stft(estimate, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                   padding=padding, pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
    if est.shape != mag.shape:
        raise ParameterError(f"the estimate's spectrogram has shape {tuple(est.shape)}, "
                             f"mag has {tuple(mag.shape)}")
    est_mag = magnitude(est).to(mag.dtype)
    error = torch.linalg.vector_norm(mag - est_mag, dim=(-2, -1))
    return error / torch.linalg.vector_norm(mag, dim=(-2, -1))
