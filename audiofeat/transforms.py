"""``nn.Module`` wrappers of :mod:`audiofeat.functional`.

Each module validates its arguments in ``__init__``, keeps windows and matrices as non-persistent
buffers (so ``.to(device)`` moves them) and makes one call to its functional in ``forward``.
"""
from __future__ import annotations

from typing import TypedDict, Unpack

import torch
from torch import nn

from audiofeat import _checks
from audiofeat.exceptions import ParameterError
from audiofeat.functional import normalization as F_norm
from audiofeat.functional import phase as F_phase
from audiofeat.functional import psychoacoustic as F_psy
from audiofeat.functional import spectral as F_spec

# Named imports: the package attribute ``audiofeat.functional.mdct`` is the function, not the module.
from audiofeat.functional.mdct import MDCTNorm, WindowName, _check_n_bins, _resolve_window, imdct, mdct


class PsychoacousticFilter(nn.Module):
    """MP3net's psychoacoustic model as a module: threshold, then noise or a filter.

    ``forward(coeffs)`` computes the masking threshold of ``coeffs`` (gradients flow through it, as
    for MP3net's generated MDCTs) or takes a precomputed one (as for real data, whose threshold is
    stored in the feature cache), then applies ``mode``: ``"noise"`` adds Gaussian noise of standard
    deviation ``T / 6`` (MP3net), ``"soft"`` the soft attenuation below threshold, ``"hard"`` zeroes
    the coefficients below threshold. The bin-to-Bark, Bark-to-bin and spreading matrices and the
    threshold in quiet are non-persistent float64 buffers, cast to the input's dtype on each call.

    Args:
        sample_rate: in Hz (default 22,016, MP3net's).
        n_bins: MDCT bins per frame (default 128).
        n_bark_bands: Bark bands (default 24).
        alpha: non-linear superposition exponent in (0, 1] (default 0.6).
        spreading_grid: ``"mp3net"`` (default) or ``"centered"``
            (:func:`audiofeat.functional.masking_threshold`).
        drown: masking offsets scaled by ``1 - drown``, in [0, 1] (default 0).
        mode: ``"noise"`` (default), ``"soft"`` or ``"hard"``.
        sharpness: ``g`` of the soft filter (default 10).

    Shape:
        - coeffs: ``(..., n_bins, frames)``, float32, float64 or bfloat16.
        - threshold (optional): same shape.
        - output: same shape and dtype.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 22016,
        n_bins: int = 128,
        n_bark_bands: int = 24,
        alpha: float = 0.6,
        spreading_grid: F_psy.SpreadingGrid = "mp3net",
        drown: float = 0.0,
        mode: F_psy.FilterMode = "noise",
        sharpness: float = 10.0,
    ):
        super().__init__()
        matrices = F_psy.psychoacoustic_matrices(
            sample_rate=sample_rate, n_bins=n_bins, n_bark_bands=n_bark_bands, alpha=alpha,
            spreading_grid=spreading_grid)
        self.drown = _checks.check_range("drown", drown, 0.0, 1.0)
        self.mode = _checks.check_choice("mode", mode, ("noise", "soft", "hard"))
        self.sharpness = _checks.check_positive("sharpness", sharpness)
        self.sample_rate, self.n_bins, self.n_bark_bands = sample_rate, n_bins, n_bark_bands
        self.alpha, self.spreading_grid = float(alpha), spreading_grid
        for name, value in matrices._asdict().items():
            self.register_buffer(name, value, persistent=False)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_bins={self.n_bins}, n_bark_bands={self.n_bark_bands}, "
                f"alpha={self.alpha}, spreading_grid={self.spreading_grid!r}, drown={self.drown}, "
                f"mode={self.mode!r}, sharpness={self.sharpness}")

    def masking_threshold(self, coeffs: torch.Tensor) -> torch.Tensor:
        """The amplitude threshold ``T`` of ``coeffs``, same shape and dtype."""
        _checks.check_tensor("coeffs", coeffs, min_dim=2)
        matrices = F_psy.PsychoacousticMatrices(
            *(getattr(self, name).to(coeffs.dtype) for name in F_psy.PsychoacousticMatrices._fields))
        return F_psy.masking_threshold_from_matrices(coeffs, matrices, alpha=self.alpha, drown=self.drown)

    def forward(
        self, coeffs: torch.Tensor, threshold: torch.Tensor | None = None, *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Applies ``mode`` with ``threshold``, computed from ``coeffs`` when not given."""
        if threshold is None:
            threshold = self.masking_threshold(coeffs)
        if self.mode == "noise":
            return F_psy.psychoacoustic_noise(coeffs, threshold, generator=generator)
        if self.mode == "soft":
            return F_psy.psychoacoustic_soft_filter(coeffs, threshold, sharpness=self.sharpness)
        return F_psy.psychoacoustic_hard_filter(coeffs, threshold)


class MDCT(nn.Module):
    """Lapped MDCT (:func:`audiofeat.functional.mdct`) as a module.

    The window is a non-persistent float64 buffer, cast to the input's dtype on each call, so that
    float64 inputs keep float64 perfect reconstruction.

    Args:
        n_bins: coefficients per frame and hop, even (default 128, MP3net's).
        window: ``"vorbis"`` (default), ``"sine"``, ``"kbd"`` or a ``(2 * n_bins,)`` tensor.
        norm: ``"ortho"`` (default) or ``"mp3net"``.
        truncate: drop the incomplete last block (default, MP3net) or zero-pad it.

    Shape:
        - waveform: ``(..., samples)``, float32 or float64.
        - output: ``(..., n_bins, frames)`` with ``frames = samples // n_bins + 1`` (truncating).
    """

    window: torch.Tensor

    def __init__(
        self,
        *,
        n_bins: int = 128,
        window: WindowName | torch.Tensor = "vorbis",
        norm: MDCTNorm = "ortho",
        truncate: bool = True,
    ):
        super().__init__()
        self.n_bins = _check_n_bins(n_bins)
        self.norm = _checks.check_choice("norm", norm, ("ortho", "mp3net"))
        if not isinstance(truncate, bool):
            raise ParameterError(f"truncate must be a bool, got {truncate!r}")
        self.truncate = truncate
        self.register_buffer(
            "window", _resolve_window(window, n_bins, torch.float64, torch.device("cpu")), persistent=False)

    def extra_repr(self) -> str:
        return f"n_bins={self.n_bins}, norm={self.norm!r}, truncate={self.truncate}"

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return mdct(waveform, n_bins=self.n_bins, window=self.window, norm=self.norm, truncate=self.truncate)


class IMDCT(nn.Module):
    """Inverse lapped MDCT (:func:`audiofeat.functional.imdct`) as a module, aligned with the input.

    Args:
        n_bins: coefficients per frame, even (default 128).
        window: as for :class:`MDCT` (stored the same way).
        norm: ``"ortho"`` (default) or ``"mp3net"``.

    Shape:
        - coeffs: ``(..., n_bins, frames)``, float32 or float64, ``frames >= 2``.
        - output: ``(..., (frames - 1) * n_bins)``, or ``(..., length)`` when ``length`` is given.
    """

    window: torch.Tensor

    def __init__(
        self,
        *,
        n_bins: int = 128,
        window: WindowName | torch.Tensor = "vorbis",
        norm: MDCTNorm = "ortho",
    ):
        super().__init__()
        self.n_bins = _check_n_bins(n_bins)
        self.norm = _checks.check_choice("norm", norm, ("ortho", "mp3net"))
        self.register_buffer(
            "window", _resolve_window(window, n_bins, torch.float64, torch.device("cpu")), persistent=False)

    def extra_repr(self) -> str:
        return f"n_bins={self.n_bins}, norm={self.norm!r}"

    def forward(self, coeffs: torch.Tensor, length: int | None = None) -> torch.Tensor:
        if coeffs.dim() < 2 or coeffs.shape[-2] != self.n_bins:
            raise ParameterError(
                f"coeffs must have shape (..., n_bins={self.n_bins}, frames), got {tuple(coeffs.shape)}")
        return imdct(coeffs, window=self.window, norm=self.norm, length=length)


class _StftModule(nn.Module):
    """Shared ``__init__`` of the STFT-based modules: validated geometry and a Hann window buffer."""

    window: torch.Tensor

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int | None,
        win_length: int | None,
        padding: F_spec.Padding,
        pad_mode: F_spec.PadMode,
        n_frames: int | None,
        drop_bin: F_spec.DropBin,
    ):
        super().__init__()
        hop_length, win_length = F_spec._check_geometry(n_fft, hop_length, win_length, padding, pad_mode,
                                                        n_frames, drop_bin)
        self.layout = F_spec.StftLayout(n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                        padding=padding, pad_mode=pad_mode, n_frames=n_frames,
                                        drop_bin=drop_bin)
        self.register_buffer("window", torch.hann_window(win_length, periodic=True), persistent=False)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.layout.as_kwargs().items())


class LogSpectrogram(_StftModule):
    """``log(|STFT| + eps)`` (:func:`audiofeat.functional.log_spectrogram`) with a periodic Hann window.

    ``LogSpectrogram(**GANSYNTH_HIRES.as_kwargs())`` gives GANSynth's magnitude channel.

    Args:
        n_fft, hop_length, win_length, padding, pad_mode, n_frames, drop_bin: see
            :func:`audiofeat.functional.stft` (defaults: ``hop_length = win_length // 4``,
            ``win_length = n_fft``, ``padding="center"``, ``pad_mode="constant"``, ``drop_bin="none"``).
        eps: added before the log (default 1e-6).

    Shape:
        - waveform: ``(..., samples)``, float32 or float64.
        - output: ``(..., freq, frames)``.
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int | None = None,
        win_length: int | None = None,
        padding: F_spec.Padding = "center",
        pad_mode: F_spec.PadMode = "constant",
        n_frames: int | None = None,
        drop_bin: F_spec.DropBin = "none",
        eps: float = 1e-6,
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, win_length=win_length, padding=padding,
                         pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        self.eps = _checks.check_positive("eps", eps)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F_spec.log_spectrogram(waveform, window=self.window, eps=self.eps, **self.layout.as_kwargs())


class LogMelSpectrogram(_StftModule):
    """``log(mel @ |STFT|^power + eps)`` (:func:`audiofeat.functional.log_mel_spectrogram`).

    The filterbank comes from :func:`audiofeat.functional.mel_filterbank` (torchaudio's
    ``melscale_fbanks``) and is kept as a non-persistent buffer.

    Args:
        sample_rate: in Hz.
        n_fft, hop_length, win_length, padding, pad_mode, n_frames, drop_bin: as for :class:`LogSpectrogram`.
        n_mels: number of mel bands.
        f_min, f_max, mel_scale, norm: see :func:`audiofeat.functional.mel_filterbank`.
        power: 2 for log mel power (GANSynth, default), 1 for log mel magnitude.
        eps: added before the log (default 1e-6).

    Shape:
        - waveform: ``(..., samples)``, float32 or float64.
        - output: ``(..., n_mels, frames)``.
    """

    fbank: torch.Tensor

    def __init__(
        self,
        *,
        sample_rate: int,
        n_fft: int,
        n_mels: int,
        hop_length: int | None = None,
        win_length: int | None = None,
        padding: F_spec.Padding = "center",
        pad_mode: F_spec.PadMode = "constant",
        n_frames: int | None = None,
        drop_bin: F_spec.DropBin = "none",
        f_min: float = 0.0,
        f_max: float | None = None,
        mel_scale: F_spec.MelScale = "htk",
        norm: F_spec.MelNorm = None,
        power: float = 2.0,
        eps: float = 1e-6,
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, win_length=win_length, padding=padding,
                         pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        self.power = _checks.check_positive("power", power)
        self.eps = _checks.check_positive("eps", eps)
        fbank = F_spec.mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=f_min,
                                      f_max=f_max, drop_bin=drop_bin, mel_scale=mel_scale, norm=norm)
        self.register_buffer("fbank", fbank, persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F_spec.log_mel_spectrogram(waveform, fbank=self.fbank, window=self.window, power=self.power,
                                          eps=self.eps, **self.layout.as_kwargs())


class LogMagIF(_StftModule):
    """Waveform to GANSynth's two channels, log-magnitude and instantaneous frequency.

    See :func:`audiofeat.functional.waveform_to_log_mag_if`; :class:`InverseLogMagIF` inverts it.

    Args:
        n_fft, hop_length, win_length, padding, pad_mode, n_frames, drop_bin: as for :class:`LogSpectrogram`.
        eps: added to the magnitude before the log (default 1e-6).

    Shape:
        - waveform: ``(..., samples)``, float32 or float64.
        - output: ``(log_mag, inst_freq)``, each ``(..., freq, frames)``.
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int | None = None,
        win_length: int | None = None,
        padding: F_spec.Padding = "center",
        pad_mode: F_spec.PadMode = "constant",
        n_frames: int | None = None,
        drop_bin: F_spec.DropBin = "none",
        eps: float = 1e-6,
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, win_length=win_length, padding=padding,
                         pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        self.eps = _checks.check_positive("eps", eps)

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F_spec.waveform_to_log_mag_if(waveform, window=self.window, eps=self.eps,
                                             **self.layout.as_kwargs())


class InverseLogMagIF(_StftModule):
    """GANSynth's (log-magnitude, instantaneous frequency) back to a waveform, without iteration.

    See :func:`audiofeat.functional.log_mag_if_to_waveform`.

    Args:
        n_fft, hop_length, win_length, padding, pad_mode, n_frames, drop_bin: as for :class:`LogMagIF`.
        length: output length in samples (required with ``padding="front"``).
        eps: the ``eps`` of the forward transform (default 1e-6).

    Shape:
        - log_mag, inst_freq: ``(..., freq, frames)``, float32 or float64.
        - output: ``(..., length)``.
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int | None = None,
        win_length: int | None = None,
        padding: F_spec.Padding = "center",
        pad_mode: F_spec.PadMode = "constant",
        n_frames: int | None = None,
        drop_bin: F_spec.DropBin = "none",
        length: int | None = None,
        eps: float = 1e-6,
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, win_length=win_length, padding=padding,
                         pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        if length is not None:
            _checks.check_positive_int("length", length)
        elif padding == "front":
            raise ParameterError("length is required with padding='front' (the front padding depends on it)")
        self.length = length
        self.eps = _checks.check_positive("eps", eps)

    def forward(self, log_mag: torch.Tensor, inst_freq: torch.Tensor) -> torch.Tensor:
        return F_spec.log_mag_if_to_waveform(log_mag, inst_freq, window=self.window, length=self.length,
                                             eps=self.eps, **self.layout.as_kwargs())


class GriffinLim(_StftModule):
    """Fast Griffin-Lim (:func:`audiofeat.functional.griffinlim`) with a periodic Hann window.

    Args:
        n_fft, hop_length, win_length, padding, pad_mode, n_frames, drop_bin: the STFT of the magnitude.
        length: output length in samples (required with ``padding="front"``).
        n_iter: iterations (default 32).
        momentum: in [0, 2) (default 0.99).
        init: ``"random"`` (default), ``"zeros"`` or ``"pghi"``.

    Shape:
        - mag: ``(..., freq, frames)`` linear magnitude, float32 or float64.
        - output: ``(..., length)``.
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int | None = None,
        win_length: int | None = None,
        padding: F_spec.Padding = "center",
        pad_mode: F_spec.PadMode = "constant",
        n_frames: int | None = None,
        drop_bin: F_spec.DropBin = "none",
        length: int | None = None,
        n_iter: int = 32,
        momentum: float = 0.99,
        init: F_phase.PhaseInit = "random",
    ):
        super().__init__(n_fft=n_fft, hop_length=hop_length, win_length=win_length, padding=padding,
                         pad_mode=pad_mode, n_frames=n_frames, drop_bin=drop_bin)
        if length is not None:
            _checks.check_positive_int("length", length)
        elif padding == "front":
            raise ParameterError("length is required with padding='front' (the front padding depends on it)")
        self.length = length
        self.n_iter = _checks.check_non_negative_int("n_iter", n_iter)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 2:
            raise ParameterError(f"momentum must be in [0, 2), got {momentum!r}")
        self.momentum = float(momentum)
        self.init = _checks.check_choice("init", init, ("random", "zeros", "pghi"))

    def forward(self, mag: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return F_phase.griffinlim(mag, window=self.window, length=self.length, n_iter=self.n_iter,
                                  momentum=self.momentum, init=self.init, generator=generator,
                                  **self.layout.as_kwargs())


class _StandardizeOptions(TypedDict, total=False):
    """The keyword arguments of :class:`BinStandardize`."""

    n_sigma: float
    clip: bool
    min_std: float


class BinStandardize(nn.Module):
    """SpecGAN's per-frequency-bin standardisation (:func:`audiofeat.functional.standardize`).

    The statistics are persistent buffers, so a checkpoint of a model that contains this module
    carries them; :meth:`inverse` maps generator outputs back.

    Args:
        mean: ``(freq,)`` per-bin mean (e.g. ``BinStatistics.mean``).
        std: ``(freq,)`` per-bin standard deviation.
        n_sigma: standard deviations mapped to 1 (default 3, SpecGAN).
        clip: clip the output to [-1, 1] (default True).
        min_std: floor of ``std`` (default 1e-6).

    Shape:
        - x: ``(..., freq, frames)``.
        - output: same shape.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        mean: torch.Tensor,
        std: torch.Tensor,
        *,
        n_sigma: float = 3.0,
        clip: bool = True,
        min_std: float = 1e-6,
    ):
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float64)
        std = torch.as_tensor(std, dtype=torch.float64)
        if mean.dim() != 1 or mean.shape != std.shape:
            raise ParameterError(f"mean and std must be 1-D of equal length, got {tuple(mean.shape)} "
                                 f"and {tuple(std.shape)}")
        self.n_sigma = _checks.check_positive("n_sigma", n_sigma)
        self.min_std = _checks.check_positive("min_std", min_std)
        self.clip = bool(clip)
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    @classmethod
    def from_statistics(cls, stats: F_norm.BinStatistics, **kwargs: Unpack[_StandardizeOptions]) -> BinStandardize:
        """Builds the module from an accumulated :class:`audiofeat.functional.BinStatistics`."""
        if stats.mean is None or stats.std is None:
            raise ParameterError("stats is empty: call BinStatistics.update() first")
        return cls(stats.mean, stats.std, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F_norm.standardize(x, mean=self.mean, std=self.std, n_sigma=self.n_sigma, clip=self.clip,
                                  min_std=self.min_std)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return F_norm.destandardize(y, mean=self.mean, std=self.std, n_sigma=self.n_sigma,
                                    min_std=self.min_std)
