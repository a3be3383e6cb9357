"""MP3net's psychoacoustic model: masking threshold, inaudible noise and perceptual filters.

The model is the one MP3net trains with: the MP3net paper (van den Broek 2021, section 2) and the
``PsychoacousticModel`` of its reference code with ``bark_bands_n=24, alpha=0.6``. Everything works
per frame and per channel on MDCT amplitudes ``A_k`` in MP3net's scale (``mdct(..., norm="mp3net")``),
where an amplitude of 1 is 120 dB (intensity ``A^2 = 1e-12`` is 0 dB) and intensities are floored at
``eps = 1e-14`` (-20 dB). For one frame:

1. Bins to Bark. ``W[k, j]`` is the fraction of bin ``k``'s interval ``[k, k + 1) * fs / (2N)`` Hz
   that lies in Bark band ``j``; the bands split ``[0, max_bark]`` into equal widths on the scale
   ``z = 6 asinh(f / 600)``. Band intensities are ``I_j = sum_k A_k^2 W[k, j]``.
2. Tonality ``tau = min(SFM_dB / -60, 1)`` with ``SFM_dB = 10 log10(GM / (AM + eps))`` over the
   intensities ``A_k^2`` of all bins of the frame, ``GM`` the geometric mean of ``max(eps, A_k^2)``
   and ``AM`` the arithmetic mean (0 for white noise, 1 for a pure tone).
3. Masking offset of maskee band ``j`` in dB: ``O_j = (1 - drown) (tau (b_j + 9) + 5.5)`` with
   ``b_j = linspace(0, max_bark, n_bark_bands)[j]`` (not the band mid-points).
4. Spreading function (Schroeder, Zoelzer eq. 9.15)
   ``S(dz) = 15.81 + 7.5 (dz + 0.474) - 17.5 sqrt(1 + (dz + 0.474)^2)`` dB, ``dz`` the maskee's Bark
   distance above the masker. ``spreading_grid="mp3net"`` (default) reproduces MP3net's grid:
   ``S`` is sampled on ``linspace(-max_bark, max_bark, 2 n_bark_bands)`` and the matrix entry for
   masker ``i`` and maskee ``j`` is sample ``n_bark_bands - i + j``. ``"centered"`` uses
   ``dz = (j - i) * band_width`` instead.
5. Non-linear superposition with ``alpha``:
   ``I_mask,j = max(eps, sum_i max(eps, I_i)^alpha 10^(alpha S_ij / 10) 10^(-alpha O_j / 10))^(1/alpha)``.
6. Threshold in quiet (Terhardt; Zoelzer eq. 9.3) at each band's mid-point ``f`` in kHz:
   ``L(f) = 3.64 f^-0.8 - 6.5 exp(-0.6 (f - 3.3)^2) + 1e-3 f^4`` dB, clipped to [-20, 120] dB,
   ``I_q = 10^((L - 120) / 10)``.
7. ``G_j = max(I_mask,j, I_q,j)``.
8. Back to bins: ``W_inv[j, k]`` is the overlap of band ``j`` and bin ``k`` divided by the band's
   width in Hz (a band's intensity is spread uniformly per Hz), and the amplitude threshold is
   ``T_k = sqrt(max(eps, sum_j G_j W_inv[j, k]))``.

MP3net adds Gaussian noise of standard deviation ``T / 6`` (:func:`psychoacoustic_noise`) to real
and generated MDCTs before every discriminator call; the soft and hard filters are the earlier,
unused variants. All matrices depend only on ``(sample_rate, n_bins, n_bark_bands, alpha,
spreading_grid)``; they are built once in float64 (:func:`psychoacoustic_matrices`, cached) and
cast to the input's dtype, so the threshold costs three small matrix products and a handful of
element-wise operations per frame.

dtypes: float64, float32 and bfloat16 are computed in their own dtype (the constants are cast to
it and every step runs in it); float16 is refused because ``eps = 1e-14`` underflows in it.
Everything is differentiable (the gradient flows through ``A`` and through ``T(A)``, as in MP3net);
every ``pow``, ``log`` and ``sqrt`` sees a value clamped to at least ``eps``, so gradients stay finite
at zero input. Tonality is returned as ``(..., frames)``. ``spreading_grid="centered"``,
:func:`psychoacoustic_hard_filter` and :func:`perceptual_entropy` are additions to MP3net's model.

Design notes, precision measurements and deviations from the paper: docs/models.md.

References:
    K. van den Broek, "MP3net: coherent, minute-long music generation from raw audio with a simple
    convolutional GAN", arXiv:2101.04785, 2021.

    U. Zoelzer, "Digital Audio Signal Processing", 2nd ed., Wiley, 2008, chapter 9 (eqs. 9.3, 9.10,
    9.11, 9.15-9.18).

    J. D. Johnston, "Estimation of perceptual entropy using noise masking criteria", ICASSP 1988.
"""
from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple, overload

import torch

from audiofeat._checks import check_choice, check_positive, check_positive_int, check_range, check_tensor
from audiofeat.exceptions import ParameterError

__all__ = [
    "DB_MAX",
    "INTENSITY_EPS",
    "PsychoacousticMatrices",
    "bark_to_hz",
    "hz_to_bark",
    "masking_threshold",
    "masking_threshold_from_matrices",
    "perceptual_entropy",
    "psychoacoustic_hard_filter",
    "psychoacoustic_matrices",
    "psychoacoustic_noise",
    "psychoacoustic_soft_filter",
    "spreading_function",
    "threshold_in_quiet",
    "tonality",
]

#: Level in dB of an MDCT amplitude of 1 (intensity 1); intensity 1e-12 is 0 dB.
DB_MAX = 120.0
#: Intensity floor (-20 dB) applied before every log, fractional power and square root.
INTENSITY_EPS = 1e-14

SpreadingGrid = Literal["mp3net", "centered"]
FilterMode = Literal["noise", "soft", "hard"]
_GRIDS = ("mp3net", "centered")
_DTYPES = (torch.float32, torch.float64, torch.bfloat16)
_DB_PER_NEPER = 10.0 / math.log(10.0)


class PsychoacousticMatrices(NamedTuple):
    """The constant part of the model for one ``(sample_rate, n_bins, n_bark_bands, alpha, grid)``.

    Attributes:
        bins_to_bark: ``W``, ``(n_bins, n_bark_bands)``, rows sum to 1.
        bark_to_bins: ``W_inv``, ``(n_bark_bands, n_bins)``, rows sum to 1.
        spreading: ``10^(alpha S_ij / 10)``, ``(n_bark_bands, n_bark_bands)``, row ``i`` the masker
            band, column ``j`` the maskee band.
        quiet: threshold in quiet per Bark band as an intensity (1 = 120 dB), ``(n_bark_bands,)``.
        offset_barks: ``b_j`` of the masking offset, ``linspace(0, max_bark, n_bark_bands)``.
    """

    bins_to_bark: torch.Tensor
    bark_to_bins: torch.Tensor
    spreading: torch.Tensor
    quiet: torch.Tensor
    offset_barks: torch.Tensor


# ------------------------------------------------------------------------------ scales and curves
@overload
def hz_to_bark(frequency: float) -> float:
    ...


@overload
def hz_to_bark(frequency: torch.Tensor) -> torch.Tensor:
    ...


def hz_to_bark(frequency: float | torch.Tensor) -> float | torch.Tensor:
    """The Bark scale of MP3net's model, ``z = 6 asinh(f / 600)``.

    Args:
        frequency: in Hz, a float or a tensor of any shape.

    Returns:
        Bark value(s) of the same type and shape.
    """
    if isinstance(frequency, torch.Tensor):
        return 6.0 * torch.asinh(frequency / 600.0)
    return 6.0 * math.asinh(frequency / 600.0)


@overload
def bark_to_hz(bark: float) -> float:
    ...


@overload
def bark_to_hz(bark: torch.Tensor) -> torch.Tensor:
    ...


def bark_to_hz(bark: float | torch.Tensor) -> float | torch.Tensor:
    """Inverse of :func:`hz_to_bark`, ``f = 600 sinh(z / 6)`` Hz.

    Args:
        bark: Bark value(s), a float or a tensor of any shape.

    Returns:
        Frequency in Hz, of the same type and shape.
    """
    if isinstance(bark, torch.Tensor):
        return 600.0 * torch.sinh(bark / 6.0)
    return 600.0 * math.sinh(bark / 6.0)


def spreading_function(dz: torch.Tensor) -> torch.Tensor:
    """Schroeder's spreading function in dB (Zoelzer eq. 9.15).

    ``S(dz) = 15.81 + 7.5 (dz + 0.474) - 17.5 sqrt(1 + (dz + 0.474)^2)``: about 0 dB at ``dz = 0``,
    rising at 25 dB/Bark below the masker and falling at 10 dB/Bark above it.

    Args:
        dz: Bark distance of the maskee above the masker, any shape.

    Returns:
        Tensor of the same shape, in dB.
    """
    shifted = dz + 0.474
    return 15.81 + 7.5 * shifted - 17.5 * torch.sqrt(1.0 + shifted * shifted)


def threshold_in_quiet(frequency: torch.Tensor) -> torch.Tensor:
    """Terhardt's absolute threshold of hearing in dB SPL (Zoelzer eq. 9.3; MP3net eq. 9).

    ``L(f) = 3.64 f^-0.8 - 6.5 exp(-0.6 (f - 3.3)^2) + 1e-3 f^4`` with ``f`` in kHz. Not clipped:
    the model clips it to [-20, 120] dB (:func:`psychoacoustic_matrices`).

    Args:
        frequency: in Hz (positive), any shape.

    Returns:
        Tensor of the same shape, in dB.
    """
    khz = frequency / 1000.0
    return 3.64 * khz.pow(-0.8) - 6.5 * torch.exp(-0.6 * (khz - 3.3) ** 2) + 1e-3 * khz.pow(4)


# ---------------------------------------------------------------------------------------- matrices
def _check_model_args(sample_rate: int, n_bark_bands: int, alpha: float, spreading_grid: str) -> None:
    check_positive_int("sample_rate", sample_rate)
    check_positive_int("n_bark_bands", n_bark_bands)
    check_positive("alpha", alpha)
    check_range("alpha", alpha, 0.0, 1.0)
    check_choice("spreading_grid", spreading_grid, _GRIDS)


@functools.lru_cache(maxsize=32)
def _matrices_float64(
    sample_rate: int, n_bins: int, n_bark_bands: int, alpha: float, spreading_grid: str
) -> PsychoacousticMatrices:
    f64 = torch.float64
    max_frequency = sample_rate / 2.0
    max_bark = hz_to_bark(max_frequency)
    band_width = max_bark / n_bark_bands
    bin_width = max_frequency / n_bins

    # Steps 1 and 8: overlaps in Hz of bin k = [k, k+1) * bin_width and band j.
    bin_low = (torch.arange(n_bins, dtype=f64) * bin_width)[:, None]
    bark_edges = torch.arange(n_bark_bands + 1, dtype=f64) * band_width
    band_edges = bark_to_hz(bark_edges)
    band_low, band_high = band_edges[None, :-1], band_edges[None, 1:]
    bin_high = bin_low + bin_width
    overlap = (torch.minimum(torch.maximum(band_high, bin_low), bin_high)
               - torch.minimum(torch.maximum(band_low, bin_low), bin_high))  # (n_bins, n_bark_bands)
    bins_to_bark = overlap / bin_width
    bark_to_bins = (overlap / (band_high - band_low)).T.contiguous()

    # Step 4: spreading matrix, [masker i, maskee j].
    masker = torch.arange(n_bark_bands)[:, None]
    maskee = torch.arange(n_bark_bands)[None, :]
    if spreading_grid == "mp3net":
        grid = torch.linspace(-max_bark, max_bark, 2 * n_bark_bands, dtype=f64)
        dz = grid[n_bark_bands - masker + maskee]
    else:
        dz = (maskee - masker).to(f64) * band_width
    spreading = torch.pow(10.0, alpha * spreading_function(dz) / 10.0)

    # Step 6: threshold in quiet at the band mid-points.
    mid_hz = bark_to_hz((torch.arange(n_bark_bands, dtype=f64) + 0.5) * band_width)
    db_min = DB_MAX + 10.0 * math.log10(INTENSITY_EPS)
    quiet_db = threshold_in_quiet(mid_hz).clamp(db_min, DB_MAX)
    quiet = torch.pow(10.0, (quiet_db - DB_MAX) / 10.0)

    offset_barks = torch.linspace(0.0, max_bark, n_bark_bands, dtype=f64)
    return PsychoacousticMatrices(bins_to_bark, bark_to_bins, spreading, quiet, offset_barks)


def psychoacoustic_matrices(
    *,
    sample_rate: int,
    n_bins: int,
    n_bark_bands: int = 24,
    alpha: float = 0.6,
    spreading_grid: SpreadingGrid = "mp3net",
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> PsychoacousticMatrices:
    """Builds the model's constant matrices (steps 1, 4, 6 and 8 of the module docstring).

    They are computed once in float64 per parameter set (an LRU cache) and returned as fresh
    copies in ``dtype`` on ``device``.

    Args:
        sample_rate: in Hz (MP3net: 22,016); the bins cover 0 to ``sample_rate / 2``.
        n_bins: MDCT bins per frame (MP3net: 128).
        n_bark_bands: number of equal-width Bark bands (default 24, MP3net's choice for 128 bins).
        alpha: exponent of the non-linear superposition, in (0, 1] (default 0.6; 1 is linear).
        spreading_grid: ``"mp3net"`` (default, MP3net's offset grid) or ``"centered"``.
        dtype: floating dtype of the result (default float64).
        device: device of the result (default CPU).

    Returns:
        A :class:`PsychoacousticMatrices`.

    Raises:
        ParameterError: a bad argument.
    """
    _check_model_args(sample_rate, n_bark_bands, alpha, spreading_grid)
    check_positive_int("n_bins", n_bins)
    if not dtype.is_floating_point:
        raise ParameterError(f"dtype must be a floating-point dtype, got {dtype}")
    cached = _matrices_float64(sample_rate, n_bins, n_bark_bands, float(alpha), spreading_grid)
    return PsychoacousticMatrices(*(m.to(device=device, dtype=dtype, copy=True) for m in cached))


# ----------------------------------------------------------------------------------- the threshold
def _check_coeffs(coeffs: torch.Tensor, name: str = "coeffs") -> torch.Tensor:
    check_tensor(name, coeffs, min_dim=2)
    if coeffs.dtype not in _DTYPES:
        hint = ""
        if coeffs.dtype == torch.float16:
            hint = " (eps = 1e-14 underflows in float16; use bfloat16 or float32)"
        raise ParameterError(f"{name} must be float32, float64 or bfloat16, got dtype {coeffs.dtype}{hint}")
    return coeffs


def _check_threshold(coeffs: torch.Tensor, threshold: torch.Tensor) -> None:
    check_tensor("threshold", threshold)
    if threshold.shape != coeffs.shape:
        raise ParameterError(
            f"threshold must have the shape of coeffs {tuple(coeffs.shape)}, got {tuple(threshold.shape)}")


def _tonality_from_intensity(intensity: torch.Tensor) -> torch.Tensor:
    """Step 2 on ``(..., n_bins, frames)`` intensities; returns ``(..., 1, frames)``."""
    log_gm = intensity.clamp_min(INTENSITY_EPS).log().mean(dim=-2, keepdim=True)
    log_am = (intensity.mean(dim=-2, keepdim=True) + INTENSITY_EPS).log()
    sfm_db = _DB_PER_NEPER * (log_gm - log_am)
    return (sfm_db / -60.0).clamp_max(1.0)


def tonality(coeffs: torch.Tensor) -> torch.Tensor:
    """Tonality per frame from the spectral flatness of the intensities (Zoelzer eqs. 9.10-9.11).

    ``tau = min(SFM_dB / -60, 1)``, ``SFM_dB = 10 log10(GM / (AM + eps))`` over ``A_k^2`` of all
    bins of a frame, the geometric mean taken of ``max(eps, A_k^2)``. 0 for white noise (Gaussian
    noise gives ``10 log10(exp(-gamma) / 2) = -5.5`` dB, so about 0.09), 1 for a pure tone. Not
    clamped from below: silence gives about 0 and rounding can make it slightly negative.

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes (float32, float64 or bfloat16).

    Returns:
        ``(..., frames)`` in the dtype of ``coeffs``.

    Raises:
        ParameterError: ``coeffs`` is not a float32/float64/bfloat16 tensor with at least 2 dims.
    """
    _check_coeffs(coeffs)
    return _tonality_from_intensity(coeffs.square()).squeeze(-2)


def masking_threshold_from_matrices(
    coeffs: torch.Tensor, matrices: PsychoacousticMatrices, *, alpha: float = 0.6, drown: float = 0.0
) -> torch.Tensor:
    """:func:`masking_threshold` with the constant matrices given, for repeated calls on batches.

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes, as in :func:`masking_threshold`.
        matrices: :func:`psychoacoustic_matrices` built with the same ``alpha``, in the dtype and on
            the device of ``coeffs``.
        alpha: the ``alpha`` the matrices were built with (default 0.6).
        drown: in [0, 1] (default 0).

    Returns:
        ``T``, the shape and dtype of ``coeffs``.

    Raises:
        ParameterError: a bad argument, or matrices that do not match ``coeffs``.
    """
    _check_coeffs(coeffs)
    check_positive("alpha", alpha)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("drown", drown, 0.0, 1.0)
    n_bins = matrices.bins_to_bark.shape[0]
    if coeffs.shape[-2] != n_bins:
        raise ParameterError(
            f"coeffs must have n_bins={n_bins} rows (axis -2), got shape {tuple(coeffs.shape)}")
    if matrices.bins_to_bark.dtype != coeffs.dtype or matrices.bins_to_bark.device != coeffs.device:
        raise ParameterError(
            f"matrices must be {coeffs.dtype} on {coeffs.device} like coeffs, got "
            f"{matrices.bins_to_bark.dtype} on {matrices.bins_to_bark.device}")
    intensity = coeffs.square()
    tau = _tonality_from_intensity(intensity)  # (..., 1, frames)
    bark_intensity = torch.matmul(matrices.bins_to_bark.mT, intensity)  # (..., bands, frames)
    # 10^(-alpha O_j / 10) with O_j = (1 - drown) (tau (b_j + 9) + 5.5).
    scale = -alpha * (1.0 - drown) / _DB_PER_NEPER
    offset_gain = torch.exp(scale * (tau * (matrices.offset_barks[:, None] + 9.0) + 5.5))
    spread = torch.matmul(matrices.spreading.mT, bark_intensity.clamp_min(INTENSITY_EPS).pow(alpha))
    masking = (spread * offset_gain).clamp_min(INTENSITY_EPS).pow(1.0 / alpha)
    global_intensity = torch.maximum(masking, matrices.quiet[:, None])
    return torch.matmul(matrices.bark_to_bins.mT, global_intensity).clamp_min(INTENSITY_EPS).sqrt()


def masking_threshold(
    coeffs: torch.Tensor,
    *,
    sample_rate: int,
    n_bark_bands: int = 24,
    alpha: float = 0.6,
    spreading_grid: SpreadingGrid = "mp3net",
    drown: float = 0.0,
) -> torch.Tensor:
    """MP3net's global masking threshold per bin, frame and channel, as an amplitude.

    Implements steps 1-8 of the module docstring. Coefficients whose magnitude is below the
    threshold are inaudible according to the model.

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes in MP3net's scale
            (``mdct(waveform, n_bins=..., norm="mp3net")``; amplitude 1 = 120 dB), float32, float64
            or bfloat16, any leading dims (batch, channel).
        sample_rate: in Hz of the audio the MDCT was taken from (MP3net: 22,016).
        n_bark_bands: number of equal-width Bark bands (default 24, MP3net's value for 128 bins;
            the threshold level per bin depends on the ratio of bins to bands).
        alpha: non-linear superposition exponent in (0, 1] (default 0.6).
        spreading_grid: ``"mp3net"`` (default) reproduces MP3net's offset spreading grid,
            ``"centered"`` samples the spreading function at whole band distances.
        drown: in [0, 1]; scales the masking offsets by ``1 - drown`` (0, the default, in MP3net).

    Returns:
        ``T``, the shape and dtype of ``coeffs``, at least ``sqrt(1e-14) = 1e-7``.

    Raises:
        ParameterError: a bad argument, including a float16 or integer ``coeffs``.

    Example:
        >>> import torch
        >>> from audiofeat.functional import masking_threshold, mdct
        >>> waveform = 0.1 * torch.randn(8, 2, 22016)  # a batch of 8 stereo clips of 1 s
        >>> coeffs = mdct(waveform, n_bins=128, norm="mp3net")
        >>> masking_threshold(coeffs, sample_rate=22016).shape
        torch.Size([8, 2, 128, 173])
    """
    _check_coeffs(coeffs)
    matrices = psychoacoustic_matrices(
        sample_rate=sample_rate, n_bins=coeffs.shape[-2], n_bark_bands=n_bark_bands, alpha=alpha,
        spreading_grid=spreading_grid, dtype=coeffs.dtype, device=coeffs.device)
    return masking_threshold_from_matrices(coeffs, matrices, alpha=alpha, drown=drown)


# --------------------------------------------------------------------------- using the threshold
def psychoacoustic_noise(
    coeffs: torch.Tensor, threshold: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Adds MP3net's inaudible Gaussian noise, standard deviation ``threshold / 6``.

    The noise is calibrated as in MP3net so that 3 sigma on each side spans the threshold: ``T``
    plays the role of a quantisation step, and the noise leaves the half-step band ``[-T/2, T/2]``
    with probability 0.27%. MP3net applies it to real and generated MDCTs before every
    discriminator call, with fresh noise each time.

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes.
        threshold: :func:`masking_threshold` of the clean coefficients, same shape.
        generator: random source, on the device of ``coeffs`` (default: torch's global one).

    Returns:
        ``coeffs + threshold * n / 6`` with ``n`` standard normal, the shape and dtype of ``coeffs``.

    Raises:
        ParameterError: the shapes differ or ``coeffs`` has an unsupported dtype.
    """
    _check_coeffs(coeffs)
    _check_threshold(coeffs, threshold)
    noise = torch.randn(coeffs.shape, generator=generator, dtype=coeffs.dtype, device=coeffs.device)
    return coeffs + threshold * noise / 6.0


def psychoacoustic_soft_filter(
    coeffs: torch.Tensor, threshold: torch.Tensor, *, sharpness: float = 10.0
) -> torch.Tensor:
    """MP3net's soft filter: a differentiable attenuation of the coefficients below threshold.

    With ``x = |A| / T``: coefficients with ``x >= 1`` pass unchanged; the others are multiplied by
    ``f(x) = ((2 - x)^-g - 2^-g) / (1 - 2^-g)``, ``g = sharpness``, which rises from ``f(0) = 0``
    to ``f(1) = 1`` with a small but nonzero slope near 0 (a leaky projection towards 0).

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes.
        threshold: :func:`masking_threshold`, same shape, positive.
        sharpness: ``g > 0`` (default 10, MP3net's value); larger is closer to the hard filter.

    Returns:
        The filtered coefficients, the shape and dtype of ``coeffs``.

    Raises:
        ParameterError: a bad argument.
    """
    _check_coeffs(coeffs)
    _check_threshold(coeffs, threshold)
    g = check_positive("sharpness", sharpness)
    ratio = (coeffs.abs() / threshold).clamp_max(1.0)  # clamped so (2 - x)^-g stays finite off the branch
    floor = 2.0 ** -g
    attenuation = ((2.0 - ratio).pow(-g) - floor) / (1.0 - floor)
    return coeffs * attenuation


def psychoacoustic_hard_filter(coeffs: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Zeroes the coefficients below threshold (``|A| < T``) and keeps the others unchanged.

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes.
        threshold: :func:`masking_threshold`, same shape.

    Returns:
        The filtered coefficients, the shape and dtype of ``coeffs``; the gradient is 1 where a
        coefficient is kept and 0 where it is zeroed.

    Raises:
        ParameterError: the shapes differ or ``coeffs`` has an unsupported dtype.
    """
    _check_coeffs(coeffs)
    _check_threshold(coeffs, threshold)
    return torch.where(coeffs.abs() < threshold, torch.zeros_like(coeffs), coeffs)


def perceptual_entropy(coeffs: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Perceptual entropy in bits per frame: the bits a quantiser needs to keep noise masked.

    Johnston's PE (1988) quantises every spectral line with a uniform step whose noise power equals
    the masked noise power and counts ``log2(2 |nint(X / step)| + 1)`` bits per real value. For a
    real MDCT coefficient whose masked noise power is ``T^2``, a uniform quantiser's noise
    ``step^2 / 12`` equals ``T^2`` for ``step = sqrt(12) T``, so

    ``PE = sum_k log2(2 |nint(A_k / (sqrt(12) T_k))| + 1)``

    per frame. Coefficients with ``|A| < sqrt(3) T`` cost 0 bits. Not differentiable (rounding).

    Args:
        coeffs: ``(..., n_bins, frames)`` MDCT amplitudes.
        threshold: :func:`masking_threshold`, same shape.

    Returns:
        ``(..., frames)`` bits per frame, in the dtype of ``coeffs``.

    Raises:
        ParameterError: the shapes differ or ``coeffs`` has an unsupported dtype.

    References:
        J. D. Johnston, "Estimation of perceptual entropy using noise masking criteria",
        ICASSP 1988, pp. 2524-2527.
    """
    _check_coeffs(coeffs)
    _check_threshold(coeffs, threshold)
    levels = torch.round(coeffs.abs() / (math.sqrt(12.0) * threshold))
    return torch.log2(2.0 * levels + 1.0).sum(dim=-2)
