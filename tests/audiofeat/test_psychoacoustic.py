"""Tests of MP3net's psychoacoustic model against known facts (spec ``mp3net.md`` sections 2, 5 and 7).

Inputs are built with a direct MDCT formula (spec section 1) written here, independent of
:mod:`audiofeat.functional.mdct`; the report and CLI tests go through the library's MDCT.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

import audiofeat.functional as F
from audiofeat.cli import main
from audiofeat.exceptions import ParameterError
from audiofeat.functional.psychoacoustic import DB_MAX, INTENSITY_EPS
from audiofeat.psychoreport import combine_reports, compression_report
from audiofeat.transforms import PsychoacousticFilter

SR = 22016
N = 128


def reference_mdct(signal: np.ndarray, n_bins: int = N) -> np.ndarray:
    """MP3net's MDCT by its definition: ``(n_bins, M + 1)`` for ``M`` whole blocks (spec section 1).

    ``A_k(m) = 1/(N sqrt 2) sum_n x[(m - 1) N + n] w_n cos[pi/N (n + 1/2 - N/2)(k + 1/2)]`` with the
    Vorbis window and ``N`` zeros before and after the blocks.
    """
    blocks = len(signal) // n_bins
    padded = np.concatenate([np.zeros(n_bins), signal[: blocks * n_bins], np.zeros(n_bins)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, 2 * n_bins)[::n_bins]
    n = np.arange(2 * n_bins)
    k = np.arange(n_bins)
    window = np.sin(np.pi / 2 * np.sin(np.pi * (n + 0.5) / (2 * n_bins)) ** 2)
    basis = window[:, None] * np.cos(np.pi / n_bins * (n[:, None] + 0.5 - n_bins / 2) * (k[None, :] + 0.5))
    return (frames @ basis).T / (n_bins * math.sqrt(2))


def tone(frequency: float, *, amplitude: float = 1.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return amplitude * np.sin(2 * np.pi * frequency * t + 0.3)


def quiet_threshold(n_frames: int = 1, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The threshold of silence, ``(N, n_frames)``."""
    return F.masking_threshold(torch.zeros(N, n_frames, dtype=dtype), sample_rate=SR)


def music_like(rng: np.random.Generator, seconds: float = 1.0) -> np.ndarray:
    """A few decaying harmonic notes over soft noise."""
    t = np.arange(int(SR * seconds)) / SR
    signal = 0.01 * rng.standard_normal(t.size)
    for start, f0 in zip(np.linspace(0, seconds * 0.75, 4), rng.uniform(110, 880, 4)):
        envelope = np.where(t >= start, np.exp(-3 * (t - start)), 0.0)
        signal += sum(0.2 / h * envelope * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6))
    return signal


# ------------------------------------------------------------------------------------ constants
def test_bark_scale_and_band_edges_match_spec():
    max_bark = F.hz_to_bark(SR / 2)
    assert max_bark == pytest.approx(21.62, abs=5e-3)
    assert F.bark_to_hz(F.hz_to_bark(1234.5)) == pytest.approx(1234.5)
    edges = F.bark_to_hz(torch.arange(25, dtype=torch.float64) * max_bark / 24)
    expected = [0, 90, 183, 279, 382, 494, 617, 753, 907, 1081, 1280]
    np.testing.assert_allclose(edges[:11].numpy(), expected, atol=0.5)
    np.testing.assert_allclose(edges[-5:].numpy(), [6028, 7008, 8148, 9471, 11008], atol=0.5)
    w = F.psychoacoustic_matrices(sample_rate=SR, n_bins=N).bins_to_bark
    bins_per_band = w.sum(dim=0)
    assert bins_per_band[0].item() == pytest.approx(1.05, abs=0.005)
    assert bins_per_band[-1].item() == pytest.approx(17.9, abs=0.05)


@pytest.mark.parametrize("sample_rate, n_bins, n_bark_bands",
                         [(SR, N, 24), (16000, 64, 20), (44100, 1024, 64)])
def test_bin_bark_matrices_rows_sum_to_one(sample_rate, n_bins, n_bark_bands):
    m = F.psychoacoustic_matrices(sample_rate=sample_rate, n_bins=n_bins, n_bark_bands=n_bark_bands)
    assert m.bins_to_bark.shape == (n_bins, n_bark_bands)
    assert m.bark_to_bins.shape == (n_bark_bands, n_bins)
    torch.testing.assert_close(m.bins_to_bark.sum(dim=1), torch.ones(n_bins, dtype=torch.float64))
    torch.testing.assert_close(m.bark_to_bins.sum(dim=1), torch.ones(n_bark_bands, dtype=torch.float64))
    assert (m.bins_to_bark >= 0).all() and (m.bark_to_bins >= 0).all()


def test_threshold_in_quiet_per_bark_band_matches_spec():
    quiet_db = 10 * torch.log10(F.psychoacoustic_matrices(sample_rate=SR, n_bins=N).quiet) + DB_MAX
    np.testing.assert_allclose(quiet_db[:3].numpy(), [43.4, 17.9, 11.8], atol=0.05)
    assert quiet_db[-1].item() == pytest.approx(11.4, abs=0.05)
    assert quiet_db.min().item() == pytest.approx(-4.8, abs=0.05)
    band_mid_hz = F.bark_to_hz((torch.arange(24, dtype=torch.float64) + 0.5) * F.hz_to_bark(SR / 2) / 24)
    assert 3000 <= band_mid_hz[quiet_db.argmin()].item() <= 3600  # band 3287-3828 Hz, mid 3548 Hz


def test_threshold_in_quiet_curve_known_points():
    # Terhardt's approximation of the absolute threshold: ~3.4 dB at 1 kHz, a dip of about -5 dB
    # near 3.3 kHz (ear-canal resonance), steep rises at both ends.
    f = torch.tensor([100.0, 1000.0, 3300.0, 12000.0], dtype=torch.float64)
    np.testing.assert_allclose(F.threshold_in_quiet(f).numpy(), [22.96, 3.37, -5.0, 21.2], atol=0.05)
    fine = torch.linspace(2000, 5000, 3001, dtype=torch.float64)
    assert 3200 < fine[F.threshold_in_quiet(fine).argmin()].item() < 3400


def test_spreading_function_peak_and_slopes():
    z = torch.linspace(-1, 1, 20001, dtype=torch.float64)
    s = F.spreading_function(z)
    assert abs(z[s.argmax()].item()) < 1e-3
    assert s.max().item() == pytest.approx(0.0, abs=2e-3)  # -0.0014 dB with the rounded constants
    def slope(z: float) -> float:  # dB per Bark, by a 1-Bark difference
        upper, lower = F.spreading_function(torch.tensor([z + 0.5, z - 0.5]))
        return (upper - lower).item()

    assert slope(-10.0) == pytest.approx(25.0, abs=0.2)  # below the masker: 25 dB/Bark
    assert slope(10.0) == pytest.approx(-10.0, abs=0.2)  # above the masker: -10 dB/Bark


def test_spreading_matrix_grid_quirk_and_centred_option():
    alpha = 0.6
    quirk = F.psychoacoustic_matrices(sample_rate=SR, n_bins=N, alpha=alpha).spreading
    centred = F.psychoacoustic_matrices(sample_rate=SR, n_bins=N, alpha=alpha,
                                        spreading_grid="centered").spreading
    quirk_db = 10 * torch.log10(quirk) / alpha
    centred_db = 10 * torch.log10(centred) / alpha
    # MP3net's grid: the diagonal sits at +0.46 Bark (-1.13 dB) and the step is 0.920 Bark.
    np.testing.assert_allclose(torch.diagonal(quirk_db).numpy(), -1.13, atol=5e-3)
    max_bark = F.hz_to_bark(SR / 2)
    step = 2 * max_bark / 47
    assert step == pytest.approx(0.920, abs=1e-3)
    torch.testing.assert_close(quirk_db[3, 5], F.spreading_function(torch.tensor(max_bark / 47 + 2 * step,
                                                                                   dtype=torch.float64)))
    np.testing.assert_allclose(torch.diagonal(centred_db).numpy(), 0.0, atol=2e-3)
    torch.testing.assert_close(centred_db[5, 3], F.spreading_function(torch.tensor(-2 * max_bark / 24,
                                                                                   dtype=torch.float64)))
    # rows are maskers: a masker spreads further upwards than downwards
    assert quirk_db[10, 14] > quirk_db[10, 6] + 20


# --------------------------------------------------------------------------------- the threshold
def test_silence_gives_exactly_the_threshold_in_quiet():
    m = F.psychoacoustic_matrices(sample_rate=SR, n_bins=N)
    expected = torch.sqrt(m.quiet @ m.bark_to_bins)
    for grid in ("mp3net", "centered"):
        silence = torch.zeros(2, N, 7, dtype=torch.float64)
        threshold = F.masking_threshold(silence, sample_rate=SR, spreading_grid=grid)
        torch.testing.assert_close(threshold, expected[None, :, None].expand(2, N, 7), rtol=1e-14, atol=0)
    # per-bin range of the quiet threshold (spec section 2, step 8)
    assert expected.min().item() == pytest.approx(2.3e-7, rel=0.01)
    assert expected.max().item() == pytest.approx(1.4e-4, abs=0.05e-4)


def test_pure_tone_is_tonal_and_white_noise_is_not(rng):
    for frequency in (440.0, 1000.0, 5000.3):
        tau = F.tonality(torch.from_numpy(reference_mdct(tone(frequency))))
        assert tau[2:-2].min().item() > 0.99  # clipped to exactly 1 in practice
        assert tau.max().item() <= 1.0
    noise = torch.from_numpy(reference_mdct(0.1 * rng.standard_normal(SR * 4)))
    tau = F.tonality(noise)[1:-1]
    # MDCT of white Gaussian noise: iid Gaussian coefficients, GM/AM of chi2(1) = exp(-gamma)/2.
    expected = 10 * math.log10(math.exp(-np.euler_gamma) / 2) / -60
    assert expected == pytest.approx(0.092, abs=1e-3)
    assert tau.mean().item() == pytest.approx(expected, abs=0.004)
    assert tau.max().item() < 0.2


def test_silence_tonality_is_about_zero():
    tau = F.tonality(torch.zeros(N, 4, dtype=torch.float64))
    assert tau.abs().max().item() < 1e-12


def test_tonality_floors_intensities_at_eps():
    # half the bins at intensity 1e-6, half exactly zero: the floor eps = 1e-14 enters the geometric
    # mean (without it GM = 0 and tonality would clip to 1) and eps is added to the arithmetic mean
    coeffs = torch.zeros(N, 1, dtype=torch.float64)
    coeffs[::2] = 1e-3
    gm = math.sqrt(INTENSITY_EPS * 1e-6)
    am = 0.5e-6 + INTENSITY_EPS
    expected = 10 * math.log10(gm / am) / -60
    assert expected == pytest.approx(0.616, abs=1e-3)
    assert F.tonality(coeffs).item() == pytest.approx(expected, rel=1e-12)


def test_loud_tone_masks_more_above_than_below():
    coeffs = torch.from_numpy(reference_mdct(tone(1000.0, amplitude=0.5)))
    threshold = F.masking_threshold(coeffs, sample_rate=SR)[:, 80]
    elevation = 20 * torch.log10(threshold / quiet_threshold()[:, 0])  # dB above the threshold in quiet
    z0 = F.hz_to_bark(1000.0)
    bin_width = SR / 2 / N

    def at(bark: float) -> float:
        return elevation[int(F.bark_to_hz(bark) / bin_width)].item()

    assert elevation[int(1000 / bin_width)].item() > 80  # the tone itself is far above quiet
    for distance in (3.0, 4.0, 6.0):
        assert at(z0 + distance) > at(z0 - distance) + 4.0
    # and the masking curve decays faster below the masker than above it
    assert at(z0 - 2.0) - at(z0 - 4.0) > at(z0 + 2.0) - at(z0 + 4.0) + 10.0


def test_threshold_scales_with_gain(rng):
    loud = torch.from_numpy(reference_mdct(0.3 * rng.standard_normal(SR // 2)))[:, 1:-1]
    threshold = F.masking_threshold(loud, sample_rate=SR)
    assert (threshold > 3 * quiet_threshold()).all()  # masking dominates everywhere
    for gain in (0.5, 2.0, 10.0):  # intensities scale by gain^2, masking is homogeneous: T scales by gain
        torch.testing.assert_close(F.masking_threshold(gain * loud, sample_rate=SR), gain * threshold,
                                   rtol=1e-10, atol=0)
    # far below the threshold in quiet, only the threshold in quiet remains
    torch.testing.assert_close(F.masking_threshold(1e-9 * loud, sample_rate=SR),
                               quiet_threshold(loud.shape[-1]), rtol=1e-12, atol=0)
    # in general max(g^2 I_mask, I_q) lies between g^2 max(I_mask, I_q) and max(I_mask, I_q) for g > 1
    music = torch.from_numpy(reference_mdct(music_like(rng)))
    base = F.masking_threshold(music, sample_rate=SR)
    louder = F.masking_threshold(4.0 * music, sample_rate=SR)
    assert (louder >= base * (1 - 1e-6)).all() and (louder <= 4.0 * base * (1 + 1e-6)).all()
    assert (louder > 1.5 * base).any() and (louder < 3.9 * base).any()


def test_drown_removes_the_masking_offset(rng):
    coeffs = torch.from_numpy(reference_mdct(music_like(rng)))
    plain = F.masking_threshold(coeffs, sample_rate=SR)
    drowned = F.masking_threshold(coeffs, sample_rate=SR, drown=1.0)
    assert (drowned >= plain).all()
    # with a zero offset and tonality 0, the masking intensity rises by 5.5 dB wherever it dominates
    noise = torch.from_numpy(reference_mdct(0.05 * rng.standard_normal(SR // 4)))[:, 1:-1]
    tau = F.tonality(noise)
    ratio_db = 20 * torch.log10(F.masking_threshold(noise, sample_rate=SR, drown=1.0)
                                / F.masking_threshold(noise, sample_rate=SR))
    expected = 9.0 * tau + 5.5  # the smallest offset, O_0 (b_0 = 0); higher bands lose more
    assert (ratio_db >= expected[None, :] - 1e-9).all()


def test_float32_bfloat16_match_float64_and_float16_is_refused(rng):
    coeffs = torch.from_numpy(reference_mdct(music_like(rng)))
    reference = F.masking_threshold(coeffs, sample_rate=SR)
    single = F.masking_threshold(coeffs.float(), sample_rate=SR)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), reference, rtol=1e-3, atol=0)
    brain = F.masking_threshold(coeffs.bfloat16(), sample_rate=SR)
    assert brain.dtype == torch.bfloat16 and torch.isfinite(brain).all()
    relative = (brain.double() / reference - 1).abs()
    assert relative.median().item() < 0.02 and relative.max().item() < 0.1
    with pytest.raises(ParameterError, match="float16"):
        F.masking_threshold(coeffs.half(), sample_rate=SR)
    with pytest.raises(ParameterError, match="float16"):
        PsychoacousticFilter()(coeffs.half())
    with pytest.raises(ParameterError, match="coeffs"):
        F.masking_threshold(coeffs.long(), sample_rate=SR)


def test_gradcheck_float64():
    generator = torch.Generator().manual_seed(3)
    coeffs = (0.05 * torch.randn(2, 16, 3, generator=generator, dtype=torch.float64)).requires_grad_()
    def threshold(a: torch.Tensor) -> torch.Tensor:
        return F.masking_threshold(a, sample_rate=8000, n_bark_bands=6)

    assert torch.autograd.gradcheck(threshold, (coeffs,))
    assert torch.autograd.gradgradcheck(threshold, (coeffs,))
    for mode in ("soft", "noise"):
        module = PsychoacousticFilter(sample_rate=8000, n_bins=16, n_bark_bands=6, mode=mode)
        assert torch.autograd.gradcheck(
            lambda a: module(a, generator=torch.Generator().manual_seed(0)), (coeffs,))


def test_gradients_are_finite_at_zero_input(device):
    coeffs = torch.zeros(2, N, 5, device=device, requires_grad=True)
    F.masking_threshold(coeffs, sample_rate=SR).sum().backward()
    assert torch.isfinite(coeffs.grad).all()
    partly = torch.zeros(N, 5, device=device)
    partly[10, 2] = 0.3
    partly.requires_grad_()
    module = PsychoacousticFilter(mode="soft").to(device)
    module(partly).square().sum().backward()
    assert torch.isfinite(partly.grad).all() and partly.grad.abs().sum() > 0


def test_batched_equals_itemwise_and_functional_equals_module(device, rng):
    coeffs = torch.from_numpy(np.stack([
        np.stack([reference_mdct(music_like(rng, 0.3)) for _ in range(2)]) for _ in range(3)
    ])).float().to(device)  # (batch 3, channel 2, N, frames)
    batched = F.masking_threshold(coeffs, sample_rate=SR)
    assert batched.shape == coeffs.shape and batched.device.type == device.type
    for b in range(3):
        for c in range(2):
            torch.testing.assert_close(batched[b, c], F.masking_threshold(coeffs[b, c], sample_rate=SR))
    module = PsychoacousticFilter(sample_rate=SR, n_bins=N).to(device)
    torch.testing.assert_close(module.masking_threshold(coeffs), batched)
    for grid in ("mp3net", "centered"):
        module = PsychoacousticFilter(spreading_grid=grid, mode="hard", drown=0.25).to(device)
        threshold = F.masking_threshold(coeffs, sample_rate=SR, spreading_grid=grid, drown=0.25)
        torch.testing.assert_close(module(coeffs), F.psychoacoustic_hard_filter(coeffs, threshold))
    matrices = F.psychoacoustic_matrices(sample_rate=SR, n_bins=N, dtype=coeffs.dtype, device=device)
    torch.testing.assert_close(F.masking_threshold_from_matrices(coeffs, matrices), batched)


def test_module_buffers_are_not_persistent_and_follow_dtype():
    module = PsychoacousticFilter()
    assert module.state_dict() == {}
    assert {name for name, _ in module.named_buffers()} == {
        "bins_to_bark", "bark_to_bins", "spreading", "quiet", "offset_barks"}
    coeffs = 0.01 * torch.randn(N, 4, dtype=torch.float64)
    torch.testing.assert_close(module.masking_threshold(coeffs), F.masking_threshold(coeffs, sample_rate=SR),
                               rtol=1e-15, atol=0)


# ---------------------------------------------------------------------------- noise and filters
def test_noise_has_standard_deviation_threshold_over_six(generator, device):
    coeffs = 0.01 * torch.randn(4, N, 500, generator=generator).to(device)
    threshold = F.masking_threshold(coeffs, sample_rate=SR)
    gen = torch.Generator(device=device).manual_seed(7)
    noisy = F.psychoacoustic_noise(coeffs, threshold, generator=gen)
    standardised = (noisy - coeffs) / threshold
    assert standardised.mean().abs().item() < 0.002  # 256k samples: std of the mean 3e-4
    assert standardised.std().item() == pytest.approx(1 / 6, rel=0.01)
    # 6 sigma = T: the noise leaves the half-step band [-T/2, T/2] with probability P(|N(0,1)| > 3)
    beyond = (standardised.abs() > 0.5).double().mean().item()
    assert beyond == pytest.approx(0.0027, abs=0.0006)
    again = F.psychoacoustic_noise(coeffs, threshold, generator=torch.Generator(device=device).manual_seed(7))
    torch.testing.assert_close(again, noisy, rtol=0, atol=0)
    module_noisy = PsychoacousticFilter().to(device)(coeffs, threshold,
                                                      generator=torch.Generator(device=device).manual_seed(7))
    torch.testing.assert_close(module_noisy, noisy, rtol=0, atol=0)


def test_hard_filter_zeroes_exactly_the_coefficients_below_threshold():
    threshold = torch.full((3, 4), 0.5, dtype=torch.float64)
    coeffs = torch.tensor([[0.1, -0.49, 0.5, -0.7], [0.0, 2.0, -0.51, 0.3], [-0.2, 0.6, 0.4999, -3.0]],
                          dtype=torch.float64, requires_grad=True)
    out = F.psychoacoustic_hard_filter(coeffs, threshold)
    below = coeffs.abs() < threshold
    assert (out[below] == 0).all()
    torch.testing.assert_close(out[~below], coeffs[~below])
    out.sum().backward()
    torch.testing.assert_close(coeffs.grad, (~below).double())


def test_soft_filter_attenuates_below_threshold_only():
    threshold = torch.ones(200, dtype=torch.float64)
    x = torch.linspace(-2, 2, 200, dtype=torch.float64).requires_grad_()
    out = F.psychoacoustic_soft_filter(x[None], threshold[None])[0]
    above = x.abs() >= 1
    torch.testing.assert_close(out[above], x[above])
    assert (out[~above].abs() <= x[~above].abs()).all()
    assert (torch.sign(out) == torch.sign(x)).all()
    g = 10.0
    half = F.psychoacoustic_soft_filter(torch.tensor([[0.5]]), torch.tensor([[1.0]]))
    assert half.item() == pytest.approx(0.5 * (1.5 ** -g - 2 ** -g) / (1 - 2 ** -g), rel=1e-6)
    assert half.item() == pytest.approx(0.5 * 0.01638, rel=1e-3)
    # continuous at the threshold, monotone, and leaky: a nonzero gradient below the threshold
    just_below = F.psychoacoustic_soft_filter(torch.tensor([[1 - 1e-9]], dtype=torch.float64),
                                              torch.ones(1, 1, dtype=torch.float64))
    assert just_below.item() == pytest.approx(1.0, abs=1e-6)
    assert (torch.diff(out) >= 0).all()
    out.sum().backward()
    assert (x.grad[~above] > 0).all() and torch.isfinite(x.grad).all()
    sharper = F.psychoacoustic_soft_filter(torch.tensor([[0.5]]), torch.tensor([[1.0]]), sharpness=30.0)
    assert 0 < sharper.item() < half.item()


def test_perceptual_entropy_counts_quantiser_levels():
    threshold = torch.full((4, 2), 0.1, dtype=torch.float64)
    step = math.sqrt(12) * 0.1
    coeffs = torch.tensor([[0.0, 0.17], [step, -step], [3 * step, 0.0], [-10 * step, 0.49 * step]],
                          dtype=torch.float64)
    bits = F.perceptual_entropy(coeffs, threshold)
    # levels |nint(A / step)|: frame 0 -> 0, 1, 3, 10; frame 1 -> 0, 1, 0, 0
    expected = [math.log2(3) + math.log2(7) + math.log2(21), math.log2(3)]
    torch.testing.assert_close(bits, torch.tensor(expected, dtype=torch.float64))
    assert F.perceptual_entropy(torch.zeros(N, 3), quiet_threshold(3).float()).eq(0).all()


def test_invalid_arguments_raise_parameter_error():
    coeffs = torch.zeros(N, 2)
    bad_calls = [
        lambda: F.masking_threshold(coeffs, sample_rate=0),
        lambda: F.masking_threshold(coeffs, sample_rate=SR, n_bark_bands=0),
        lambda: F.masking_threshold(coeffs, sample_rate=SR, alpha=0.0),
        lambda: F.masking_threshold(coeffs, sample_rate=SR, alpha=1.5),
        lambda: F.masking_threshold(coeffs, sample_rate=SR, spreading_grid="middle"),
        lambda: F.masking_threshold(coeffs, sample_rate=SR, drown=1.5),
        lambda: F.masking_threshold(torch.zeros(N), sample_rate=SR),
        lambda: F.masking_threshold(coeffs.numpy(), sample_rate=SR),
        lambda: F.psychoacoustic_noise(coeffs, torch.ones(N, 3)),
        lambda: F.psychoacoustic_soft_filter(coeffs, torch.ones(N, 2), sharpness=0.0),
        lambda: F.masking_threshold_from_matrices(torch.zeros(64, 2), F.psychoacoustic_matrices(
            sample_rate=SR, n_bins=N, dtype=torch.float32)),
        lambda: F.masking_threshold_from_matrices(coeffs, F.psychoacoustic_matrices(sample_rate=SR, n_bins=N,
                                                                                    dtype=torch.float64)),
        lambda: PsychoacousticFilter(mode="quantise"),
        lambda: PsychoacousticFilter(n_bins=0),
        lambda: PsychoacousticFilter(alpha=2.0),
        lambda: PsychoacousticFilter(n_bins=64)(coeffs),
    ]
    for call in bad_calls:
        with pytest.raises(ParameterError):
            call()
    with pytest.raises(ParameterError, match="alpha"):
        F.masking_threshold(coeffs, sample_rate=SR, alpha=-1.0)


# ------------------------------------------------------------------------------ compression report
def test_compression_report_on_known_signals(rng):
    silence = compression_report(torch.zeros(2, SR // 2), sample_rate=SR)
    assert silence.fraction_below == 1.0 and silence.pe_bits == 0.0
    assert silence.duration == pytest.approx((SR // 2) // N * N / SR)
    assert silence.n_coefficients == 2 * N * ((SR // 2) // N + 1)

    waveform = torch.from_numpy(np.stack([music_like(rng), music_like(rng)])).float()
    report = compression_report(waveform, sample_rate=SR, generator=torch.Generator().manual_seed(0),
                                name="x")
    coeffs = torch.from_numpy(np.stack([reference_mdct(w) for w in waveform.double().numpy()]))
    threshold = F.masking_threshold(coeffs, sample_rate=SR)
    assert report.fraction_below == pytest.approx((coeffs.abs() < threshold).double().mean().item(), abs=1e-3)
    assert report.pcm_bits_per_second == pytest.approx(16 * 2 * SR)
    assert report.pe_bits_per_second == pytest.approx(
        F.perceptual_entropy(coeffs, threshold).sum().item() / report.duration, rel=1e-3)
    expected_snr = 10 * math.log10(coeffs.square().sum().item() / (threshold / 6).square().sum().item())
    assert report.noise_snr_db == pytest.approx(expected_snr, abs=0.1)  # one draw of 90k samples
    assert report.mean_tonality == pytest.approx(F.tonality(coeffs).mean().item(), abs=1e-4)
    assert 0 < report.bitrate_fraction < 1
    assert report.compression_ratio == pytest.approx(1 / report.bitrate_fraction)
    in_blocks = compression_report(waveform, sample_rate=SR, generator=torch.Generator().manual_seed(0),
                                   block_frames=7)
    assert in_blocks.n_below == report.n_below and in_blocks.pe_bits == pytest.approx(report.pe_bits)

    total = combine_reports([report, silence])
    assert total.duration == pytest.approx(report.duration + silence.duration)
    assert total.fraction_below == pytest.approx(
        (report.n_below + silence.n_below) / (report.n_coefficients + silence.n_coefficients))
    # silence adds no signal but some noise (at the threshold in quiet): a slightly lower SNR
    assert total.noise_snr_db == pytest.approx(
        10 * math.log10(report.signal_energy / (report.noise_energy + silence.noise_energy)))
    assert 0 < report.noise_snr_db - total.noise_snr_db < 0.01
    with pytest.raises(ParameterError):
        combine_reports([])


def test_psycho_report_cli(tmp_path, rng):
    mono = tmp_path / "mono.wav"
    stereo = tmp_path / "stereo.flac"
    sf.write(mono, music_like(rng, 0.5).astype(np.float32) * 0.5, 2 * SR)
    sf.write(stereo, np.stack([music_like(rng, 0.7), music_like(rng, 0.7)], axis=1).astype(np.float32), 22016)
    runner = CliRunner()
    result = runner.invoke(main, ["psycho-report", str(mono), str(stereo)])
    assert result.exit_code == 0, result.output
    assert "mono.wav" in result.output and "stereo.flac" in result.output and "total" in result.output
    result = runner.invoke(main, ["psycho-report", "--json", "--channels", "keep", str(mono), str(stereo)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [f["channels"] for f in data["files"]] == [1, 2]
    assert data["total"]["duration"] == pytest.approx(sum(f["duration"] for f in data["files"]))
    for entry in (*data["files"], data["total"]):
        assert 0 < entry["fraction_below"] < 1 and entry["noise_snr_db"] > 10
    for entry in data["files"]:
        assert entry["pcm_bits_per_second"] == pytest.approx(16 * SR * entry["channels"])
    returned = main(["psycho-report", "--json", str(mono)], standalone_mode=False)
    assert returned["files"][0]["name"] == str(mono)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    result = runner.invoke(main, ["psycho-report", str(broken)])
    assert result.exit_code != 0 and "broken.wav" in result.output


def _singularity_music() -> list[Path]:
    """The singularity-music tracks from $AUDIOFEAT_MUSIC_DIR, `make data-music` or /tmp/music."""
    relative = "usr/share/games/singularity/music"
    repo = Path(__file__).resolve().parents[2]
    candidates = [Path(os.environ.get("AUDIOFEAT_MUSIC_DIR", repo / "data/music/packages/singularity-music")),
                  Path("/tmp/music")]
    for root in candidates:
        files = sorted((root / relative).glob("*.ogg"))
        if files:
            return files
    return []


@pytest.mark.realdata
def test_real_music_figures_are_in_the_spec_range():
    files = _singularity_music()[:2]
    if not files:
        pytest.skip("singularity-music is not unpacked (make data-music, or set AUDIOFEAT_MUSIC_DIR)")
    from audiofeat.psychoreport import file_report

    total = combine_reports([file_report(f, generator=torch.Generator().manual_seed(0)) for f in files])
    assert 0.1 < total.fraction_below < 0.4  # spec: 22-31 % on real music
    assert 20 < total.noise_snr_db < 30  # spec: about 25 dB
    assert 0.5 < total.mean_tonality < 0.85  # spec: 0.64-0.79
