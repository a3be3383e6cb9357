"""Figures of audio representations, for ``audiofeat plot``.

Needs matplotlib, the optional ``plot`` extra (``pip install .[plot]``); it is imported only here,
and this module is imported only by the command that draws. Figures are built with
:class:`matplotlib.figure.Figure` (no pyplot, no global backend state).
"""
from __future__ import annotations

import torch
from matplotlib.figure import Figure

from audiofeat._checks import check_positive_int, check_tensor
from audiofeat.exceptions import ParameterError
from audiofeat.functional.mdct import WindowName, mdct
from audiofeat.functional.psychoacoustic import DB_MAX, INTENSITY_EPS
from audiofeat.functional.spectral import amplitude_to_db, magnitude, stft

__all__ = ["mdct_stft_figure"]



def mdct_stft_figure(
    waveform: torch.Tensor,
    *,
    sample_rate: int,
    n_bins: int = 128,
    n_fft: int = 1024,
    window: WindowName = "vorbis",
    title: str | None = None,
) -> Figure:
    """Three panels of one mono clip, side by side, on the same time axis.

    1. The MDCT amplitudes ``A_k(m)`` (``norm="mp3net"``, what MP3net's GAN generates), linear
       and signed; the colour scale is clipped at the 99th percentile of ``|A|``.
    2. The MDCT spectrogram ``A_k(m)^2`` in dB with MP3net's calibration (``|A| = 1`` is 120 dB,
       floor -20 dB), showing the top 100 dB.
    3. The log-magnitude STFT (Hann window of ``n_fft`` samples, hop ``n_fft // 4``, centred) in dB
       relative to its maximum, down to -90 dB.

    MDCT frame ``m`` is centred on sample ``m * n_bins`` and bin ``k`` on ``(k + 1/2) fs / (2 n_bins)``.

    Args:
        waveform: ``(samples,)`` float audio at ``sample_rate``.
        sample_rate: in Hz.
        n_bins: MDCT bins (even, default 128).
        n_fft: STFT size (default 1024).
        window: MDCT window (default ``"vorbis"``, MP3net's).
        title: figure title.

    Returns:
        The figure (15 x 4.6 inches); save it with ``figure.savefig(path)``.

    Raises:
        ParameterError: a bad argument, or a clip shorter than ``n_bins`` samples.
    """
    check_tensor("waveform", waveform)
    if waveform.dim() != 1:
        raise ParameterError(f"waveform must have shape (samples,), got {tuple(waveform.shape)}")
    check_positive_int("sample_rate", sample_rate)
    x = waveform.detach().to("cpu", torch.float64)
    duration = x.shape[-1] / sample_rate
    nyquist_khz = sample_rate / 2000

    amplitude = mdct(x, n_bins=n_bins, window=window, norm="mp3net")
    frames = amplitude.shape[-1]
    mdct_extent = (-0.5 * n_bins / sample_rate, (frames - 0.5) * n_bins / sample_rate, 0.0, nyquist_khz)
    intensity_db = 10 * torch.log10(amplitude.square().clamp_min(INTENSITY_EPS)) + DB_MAX

    spec = stft(x, n_fft=n_fft)  # periodic Hann, hop n_fft // 4, centred with zero padding
    mag = magnitude(spec)
    stft_db = amplitude_to_db(mag, ref=max(float(mag.max()), 1e-12), amin=1e-12, top_db=None)
    hop_s = (n_fft // 4) / sample_rate
    stft_extent = (-0.5 * hop_s, (spec.shape[-1] - 0.5) * hop_s, 0.0, nyquist_khz)

    figure = Figure(figsize=(15, 4.6), layout="constrained")
    axes = figure.subplots(1, 3, sharex=True, sharey=True)
    limit = float(torch.quantile(amplitude.abs().flatten(), 0.99)) or 1.0
    panels = [
        (amplitude, "RdBu_r", -limit, limit, mdct_extent,
         f"MDCT amplitude $A_k(m)$ (N={n_bins}, {window})", "amplitude (clipped at 99th pct.)"),
        (intensity_db, "magma", float(intensity_db.max()) - 100, float(intensity_db.max()), mdct_extent,
         r"MDCT spectrogram $A_k(m)^2$", "dB (|A| = 1 is 120 dB)"),
        (stft_db, "magma", -90.0, 0.0, stft_extent, f"log-magnitude STFT (n_fft={n_fft}, Hann)", "dB re max"),
    ]
    for ax, (image, cmap, vmin, vmax, extent, name, unit) in zip(axes, panels):
        shown = ax.imshow(image.numpy(), origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                          extent=extent, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("time (s)")
        figure.colorbar(shown, ax=ax, label=unit, pad=0.01)
    axes[0].set_ylabel("frequency (kHz)")
    axes[0].set_xlim(mdct_extent[0], max(mdct_extent[1], duration))
    figure.suptitle(title or f"{duration:.2f} s at {sample_rate} Hz ({x.shape[-1]} samples)")
    return figure
