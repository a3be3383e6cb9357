"""How much MP3net's psychoacoustic model would compress audio (``audiofeat psycho-report``).

For each signal the MDCT is taken in MP3net's convention (``n_bins`` bins, Vorbis window,
``norm="mp3net"``) and :func:`audiofeat.functional.masking_threshold` is computed per frame and
channel. The report gives:

- the fraction of MDCT coefficients below threshold (``|A| < T``, inaudible according to the model);
- the perceptual entropy (:func:`audiofeat.functional.perceptual_entropy`, Johnston's PE with a
  quantiser step ``sqrt(12) T``) in bits per second of audio, and the implied bitrate as a fraction
  of PCM with ``pcm_bits`` bits per sample at the same rate and channel count (and its inverse,
  the compression ratio);
- the SNR of MP3net's added noise (standard deviation ``T / 6``), ``10 log10(sum A^2 / sum n^2)``,
  measured with one draw of the noise;
- the mean tonality over frames and channels.

Totals over several files are computed from summed counts (coefficients, bits, energies), not by
averaging the per-file ratios. Every frame counts, including silent ones and the two half-empty
frames at the ends.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

from audiofeat._checks import check_positive_int, check_tensor
from audiofeat.exceptions import ParameterError
from audiofeat.functional.mdct import mdct
from audiofeat.functional.psychoacoustic import (
    SpreadingGrid,
    masking_threshold_from_matrices,
    perceptual_entropy,
    psychoacoustic_matrices,
    psychoacoustic_noise,
    tonality,
)
from audiofeat.io import load_audio

__all__ = ["PsychoReport", "combine_reports", "compression_report", "file_report", "format_reports"]


@dataclass(frozen=True)
class PsychoReport:
    """Summed counts of one signal (or of several, see :func:`combine_reports`).

    Attributes:
        name: file name or label.
        sample_rate: in Hz.
        channels: channel count (for totals over files with different counts: the largest).
        duration: seconds of audio analysed (whole blocks of ``n_bins`` samples).
        n_coefficients: MDCT coefficients over all bins, frames and channels.
        n_below: how many of them satisfy ``|A| < T``.
        pe_bits: perceptual entropy summed over all frames and channels, in bits.
        pcm_bits: bits of the same audio as PCM (``pcm_bits`` x channels x samples).
        signal_energy: ``sum A^2``.
        noise_energy: ``sum n^2`` of one draw of the noise of standard deviation ``T / 6``.
        n_frames: frames x channels.
        tonality_sum: tonality summed over frames and channels.
    """

    name: str
    sample_rate: int
    channels: int
    duration: float
    n_coefficients: int
    n_below: int
    pe_bits: float
    pcm_bits: float
    signal_energy: float
    noise_energy: float
    n_frames: int
    tonality_sum: float

    @property
    def fraction_below(self) -> float:
        """Fraction of coefficients below threshold."""
        return self.n_below / self.n_coefficients

    @property
    def pe_bits_per_second(self) -> float:
        """Perceptual entropy as a bitrate."""
        return self.pe_bits / self.duration

    @property
    def pcm_bits_per_second(self) -> float:
        """Bitrate of the PCM reference."""
        return self.pcm_bits / self.duration

    @property
    def bitrate_fraction(self) -> float:
        """PE bitrate over PCM bitrate."""
        return self.pe_bits / self.pcm_bits

    @property
    def compression_ratio(self) -> float:
        """PCM bitrate over PE bitrate (``inf`` for silence)."""
        return self.pcm_bits / self.pe_bits if self.pe_bits > 0 else math.inf

    @property
    def noise_snr_db(self) -> float:
        """Signal energy over added-noise energy, in dB."""
        if self.signal_energy == 0:
            return -math.inf
        return 10.0 * math.log10(self.signal_energy / self.noise_energy)

    @property
    def mean_tonality(self) -> float:
        """Tonality averaged over frames and channels."""
        return self.tonality_sum / self.n_frames

    def as_dict(self) -> dict[str, Any]:
        """The counts and the derived figures, JSON-serialisable."""
        derived = {name: getattr(self, name) for name in (
            "fraction_below", "pe_bits_per_second", "pcm_bits_per_second", "bitrate_fraction",
            "compression_ratio", "noise_snr_db", "mean_tonality")}
        return {**asdict(self), **derived}


def compression_report(
    waveform: torch.Tensor,
    *,
    sample_rate: int,
    n_bins: int = 128,
    n_bark_bands: int = 24,
    alpha: float = 0.6,
    spreading_grid: SpreadingGrid = "mp3net",
    pcm_bits: int = 16,
    generator: torch.Generator | None = None,
    block_frames: int = 8192,
    name: str = "",
) -> PsychoReport:
    """Compression figures of the psychoacoustic model on one signal (module docstring).

    Args:
        waveform: ``(channels, samples)`` float32 or float64 audio in [-1, 1], at ``sample_rate``
            (MP3net: 22,016 Hz, peak-normalised to 0.999), at least ``n_bins`` samples long.
        sample_rate: in Hz.
        n_bins: MDCT bins per frame (default 128).
        n_bark_bands: Bark bands of the model (default 24).
        alpha: non-linear superposition exponent (default 0.6).
        spreading_grid: ``"mp3net"`` (default) or ``"centered"``.
        pcm_bits: bits per sample of the PCM reference (default 16).
        generator: random source of the noise draw (default: torch's global one).
        block_frames: frames processed at a time, to bound memory. The model works per frame, so
            only the noise draw (and with it the SNR, slightly) depends on it.
        name: label stored in the report.

    Returns:
        A :class:`PsychoReport`.

    Raises:
        ParameterError: a bad argument.
    """
    check_tensor("waveform", waveform, min_dim=2)
    check_positive_int("pcm_bits", pcm_bits)
    check_positive_int("block_frames", block_frames)
    coeffs = mdct(waveform, n_bins=n_bins, window="vorbis", norm="mp3net")  # (channels, n_bins, frames)
    matrices = psychoacoustic_matrices(
        sample_rate=sample_rate, n_bins=n_bins, n_bark_bands=n_bark_bands, alpha=alpha,
        spreading_grid=spreading_grid, dtype=coeffs.dtype, device=coeffs.device)
    sums = torch.zeros(5, dtype=torch.float64, device=coeffs.device)
    with torch.no_grad():
        for block in coeffs.split(block_frames, dim=-1):
            threshold = masking_threshold_from_matrices(block, matrices, alpha=alpha)
            noise = psychoacoustic_noise(block, threshold, generator=generator) - block
            sums += torch.stack([
                (block.abs() < threshold).sum().double(),
                perceptual_entropy(block, threshold).double().sum(),
                block.double().square().sum(),
                noise.double().square().sum(),
                tonality(block).double().sum(),
            ])
    n_below, pe_bits, signal_energy, noise_energy, tonality_sum = sums.tolist()
    channels, frames = waveform.shape[0], coeffs.shape[-1]
    samples = (frames - 1) * n_bins
    return PsychoReport(
        name=name, sample_rate=sample_rate, channels=channels, duration=samples / sample_rate,
        n_coefficients=coeffs.numel(), n_below=int(n_below), pe_bits=pe_bits,
        pcm_bits=float(pcm_bits * channels * samples), signal_energy=signal_energy,
        noise_energy=noise_energy, n_frames=channels * frames, tonality_sum=tonality_sum)


def file_report(
    path: str | os.PathLike,
    *,
    sample_rate: int = 22016,
    channels: int | Literal["keep"] = 2,
    generator: torch.Generator | None = None,
    **options: Any,
) -> PsychoReport:
    """:func:`compression_report` of an audio file, loaded as MP3net does.

    The file is read with :func:`audiofeat.io.load_audio`, mixed to ``channels``, resampled to
    ``sample_rate`` and peak-normalised to 0.999 (one gain for all channels).

    Args:
        path: audio file.
        sample_rate: analysis rate in Hz (default 22,016, MP3net's).
        channels: 2 (default, stereo as MP3net; mono files are duplicated), 1 (mono mix) or
            ``"keep"``.
        generator: random source of the noise draw.
        **options: further keyword arguments of :func:`compression_report`.

    Returns:
        A :class:`PsychoReport` named after the file.

    Raises:
        AudioFileError: the file cannot be read.
        ParameterError: a bad argument.
    """
    waveform, rate = load_audio(path, sample_rate=sample_rate, channels=channels, normalize=True)
    return compression_report(waveform, sample_rate=rate, generator=generator, name=os.fspath(path),
                              **options)


def combine_reports(reports: Sequence[PsychoReport], *, name: str = "total") -> PsychoReport:
    """Sums the counts of several reports (all at one sample rate) into one.

    Raises:
        ParameterError: no reports, or different sample rates.
    """
    if not reports:
        raise ParameterError("reports must not be empty")
    rates = {r.sample_rate for r in reports}
    if len(rates) != 1:
        raise ParameterError(f"reports must share one sample rate, got {sorted(rates)}")
    return PsychoReport(
        name=name, sample_rate=reports[0].sample_rate, channels=max(r.channels for r in reports),
        duration=sum(r.duration for r in reports),
        n_coefficients=sum(r.n_coefficients for r in reports), n_below=sum(r.n_below for r in reports),
        pe_bits=sum(r.pe_bits for r in reports), pcm_bits=sum(r.pcm_bits for r in reports),
        signal_energy=sum(r.signal_energy for r in reports),
        noise_energy=sum(r.noise_energy for r in reports),
        n_frames=sum(r.n_frames for r in reports), tonality_sum=sum(r.tonality_sum for r in reports))


def format_reports(reports: Sequence[PsychoReport], total: PsychoReport | None = None) -> str:
    """A plain-text table, one row per report and an optional total row."""
    header = ("file", "seconds", "ch", "below T", "PE kbit/s", "PCM kbit/s", "PE/PCM", "ratio",
              "noise SNR dB", "tonality")
    rows = [_row(r, os.path.basename(r.name) or r.name) for r in reports]
    if total is not None:
        rows.append(_row(total, total.name))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in rows]
    return "\n".join(lines)


def _row(report: PsychoReport, label: str) -> list[str]:
    return [
        label, f"{report.duration:.1f}", str(report.channels), f"{100 * report.fraction_below:.1f}%",
        f"{report.pe_bits_per_second / 1000:.1f}", f"{report.pcm_bits_per_second / 1000:.1f}",
        f"{100 * report.bitrate_fraction:.1f}%", f"{report.compression_ratio:.1f}",
        f"{report.noise_snr_db:.1f}", f"{report.mean_tonality:.3f}",
    ]
