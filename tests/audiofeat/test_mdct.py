"""Tests of audiofeat.functional.mdct and the MDCT/IMDCT modules.

Oracles: a float64 direct sum written from the defining formula (below), the ``mdct`` 0.4 package
(through ``tests/reference/mdct_shim.py``) and the reference coefficients of MP3net's audiocodec.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiofeat.exceptions import ParameterError
from audiofeat.functional.mdct import imdct, kbd_window, mdct, sine_window, vorbis_window
from audiofeat.transforms import IMDCT, MDCT
from tests.reference.mdct_shim import import_mdct

WINDOWS = ["vorbis", "sine", "kbd"]
NORMS = ["ortho", "mp3net"]
WINDOW_FUNCTIONS = {"vorbis": vorbis_window, "sine": sine_window, "kbd": kbd_window}


def direct_mdct(x: np.ndarray, n_bins: int, window: np.ndarray, norm: str) -> np.ndarray:
    """The defining sum in float64: ``(n_bins, M + 1)`` for a 1-D ``x`` of ``M * n_bins`` samples or more.

    Frame ``m`` covers ``x[(m - 1) N : (m + 1) N]`` (zeros outside the signal). The kernel
    ``cos[pi/N (n + 1/2 + s N/2)(k + 1/2)]``, ``s = +1`` for "ortho" and ``-1`` for "mp3net", is
    evaluated as ``cos(pi p / (4N))`` with the integer ``p = (2n + 1 + s N)(2k + 1)`` reduced modulo
    ``8N``, so that it is exact to rounding; the scale is ``sqrt(2/N)`` ("ortho") or ``1/(N sqrt 2)``.
    """
    n = n_bins
    blocks = len(x) // n
    padded = np.concatenate([np.zeros(n), x[: blocks * n], np.zeros(n)])
    sign = 1 if norm == "ortho" else -1
    p = np.outer(2 * np.arange(2 * n) + 1 + sign * n, 2 * np.arange(n) + 1) % (8 * n)
    kernel = np.cos(np.pi * p / (4 * n))
    scale = math.sqrt(2 / n) if norm == "ortho" else 1 / (n * math.sqrt(2))
    frames = np.stack([padded[m * n: m * n + 2 * n] for m in range(blocks + 1)])
    return scale * ((frames * window) @ kernel).T


def chirp(length: int, sample_rate: float = 16000.0) -> np.ndarray:
    t = np.arange(length) / sample_rate
    return 0.9 * np.sin(2 * np.pi * (50 * t + 0.5 * 7000 * t ** 2 / t[-1]))


# ------------------------------------------------------------------------------------------ windows
@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("window_length", [2, 16, 256])
def test_windows_are_symmetric_and_power_complementary(name, window_length):
    w = WINDOW_FUNCTIONS[name](window_length, dtype=torch.float64)
    half = window_length // 2
    assert w.shape == (window_length,)
    torch.testing.assert_close(w, w.flip(0), atol=1e-15, rtol=0)
    power = w[:half] ** 2 + w[half:] ** 2
    torch.testing.assert_close(power, torch.ones(half, dtype=torch.float64), atol=1e-15, rtol=0)


def test_window_formulas_and_dtype():
    n = torch.arange(256, dtype=torch.float64)
    torch.testing.assert_close(sine_window(256, dtype=torch.float64), torch.sin(math.pi * (n + 0.5) / 256))
    torch.testing.assert_close(vorbis_window(256, dtype=torch.float64),
                               torch.sin(math.pi / 2 * torch.sin(math.pi * (n + 0.5) / 256) ** 2))
    assert vorbis_window(8).dtype == torch.get_default_dtype()


@pytest.mark.parametrize("alpha", [2.0, 4.0, 6.0])
def test_kbd_window_matches_mdct_package(alpha):
    mdct_package = import_mdct()
    expected = mdct_package.windows.kaiser_derived(256, math.pi * alpha)
    got = kbd_window(256, alpha=alpha, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-14)


# -------------------------------------------------------------------------------- direct-sum oracle
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("n_bins", [2, 8, 64, 128])
def test_matches_direct_sum(rng, n_bins, window, norm):
    x = rng.standard_normal(7 * n_bins + 3)
    got = mdct(torch.from_numpy(x), n_bins=n_bins, window=window, norm=norm)
    w = WINDOW_FUNCTIONS[window](2 * n_bins, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got.numpy(), direct_mdct(x, n_bins, w, norm), atol=1e-12, rtol=0)


def test_norms_differ_by_phase_and_scale(rng):
    """mp3net = (orthonormal transform with phase -N/2) / sqrt(4N); that phase makes it another transform."""
    n = 16
    x = rng.standard_normal(10 * n)
    w = vorbis_window(2 * n, dtype=torch.float64).numpy()
    mp3net = mdct(torch.from_numpy(x), n_bins=n, norm="mp3net").numpy()
    ortho_minus = direct_mdct(x, n, w, "mp3net") * (n * math.sqrt(2)) * math.sqrt(2 / n)
    np.testing.assert_allclose(mp3net * math.sqrt(4 * n), ortho_minus, atol=1e-12)
    ortho = mdct(torch.from_numpy(x), n_bins=n, norm="ortho").numpy()
    assert np.abs(ortho - mp3net * math.sqrt(4 * n)).max() > 0.1


def test_float32_matches_float64(rng):
    x = rng.uniform(-1, 1, 4096)
    for norm in NORMS:
        got = mdct(torch.from_numpy(x).float(), n_bins=128, norm=norm)
        ref = mdct(torch.from_numpy(x), n_bins=128, norm=norm)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), ref, atol=2e-6 * ref.abs().max().item(), rtol=0)


# --------------------------------------------------------------------------------- the mdct package
@pytest.mark.parametrize("length", [64 * 12, 64 * 11, 64 * 11 + 17])
def test_ortho_equals_mdct_package(rng, length):
    """mdct.mdct(x, framelength=2N) is our ortho MDCT (sine window, truncate=False) with no extra scale.

    The package pads the signal to a multiple of 2N, so it may have one more (all-zero) frame.
    """
    mdct_package = import_mdct()
    n = 64
    x = rng.standard_normal(length)
    expected = np.asarray(mdct_package.mdct(x, framelength=2 * n))
    got = mdct(torch.from_numpy(x), n_bins=n, window="sine", norm="ortho", truncate=False).numpy()
    frames = got.shape[-1]
    assert frames == -(-length // n) + 1
    np.testing.assert_allclose(got, expected[:, :frames], atol=1e-12)
    np.testing.assert_array_equal(expected[:, frames:], 0.0)
    # And its inverse, which returns the signal aligned, reconstructs from our coefficients.
    padded = np.concatenate([got, np.zeros((n, expected.shape[1] - frames))], axis=1)
    recon = mdct_package.imdct(padded, framelength=2 * n, outlength=length)
    np.testing.assert_allclose(recon, x, atol=1e-12)


def test_ortho_kbd_equals_mdct_package(rng):
    mdct_package = import_mdct()
    n = 128
    x = rng.standard_normal(n * 10)
    w = kbd_window(2 * n, alpha=4.0, dtype=torch.float64)
    expected = np.asarray(mdct_package.mdct(x, framelength=2 * n, window=w.numpy()))
    got = mdct(torch.from_numpy(x), n_bins=n, window="kbd", norm="ortho", truncate=False)
    np.testing.assert_allclose(got.numpy(), expected[:, : got.shape[-1]], atol=1e-12)


def test_mp3net_equals_signed_mdst_of_mdct_package(rng):
    """With phase -N/2, A_k = (-1)^k MDST_k / sqrt(4N), MDST the package's sine-kernel twin."""
    mdct_package = import_mdct()
    n = 64
    x = rng.standard_normal(n * 14)
    mdst = np.asarray(mdct_package.mdst(x, framelength=2 * n))
    got = mdct(torch.from_numpy(x), n_bins=n, window="sine", norm="mp3net").numpy()
    signs = (-1.0) ** np.arange(n)[:, None]
    np.testing.assert_allclose(got, signs * mdst[:, : got.shape[-1]] / math.sqrt(4 * n), atol=1e-13)


# ------------------------------------------------------------------------------------ MP3net golden
def test_mp3net_reference_coefficients():
    """audiocodec's test_mdct_calculation (the code behind MP3net), an independent golden value.

    Input: 4 s of 0.8 sin(2 pi 4 t) at 64 Hz, i.e. x[n] = 0.8 sin(2 pi 4 n / 64), n = 0..255 (float32
    in the original), already a multiple of N = 64 (4 blocks, 5 frames); Vorbis window (audiocodec's
    default). The values are the first ten coefficients of frame 1, the first frame that lies wholly
    inside the signal. They come from a float32 TensorFlow computation, hence the 1e-6 tolerance
    (the original test's).
    """
    golden = torch.tensor([-0.000412722176, 0.000430465181, 0.000789350364, -0.000867388735, -0.00275337417,
                           0.0132110268, 0.0193885863, 0.156005412, -0.233544752, -0.0129148215],
                          dtype=torch.float64)
    n = torch.arange(256, dtype=torch.float32)
    x = 0.8 * torch.sin(2 * math.pi * 4 * n / 64)
    for dtype in (torch.float32, torch.float64):
        coeffs = mdct(x.to(dtype), n_bins=64, window="vorbis", norm="mp3net")
        assert coeffs.shape == (64, 5)
        torch.testing.assert_close(coeffs[:10, 1].double(), golden, atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------- framing/shapes
@pytest.mark.parametrize(("length", "truncate", "frames"), [
    (640, True, 11), (700, True, 11), (700, False, 12), (64, True, 2), (1, False, 2)])
def test_frame_count(length, truncate, frames):
    coeffs = mdct(torch.zeros(length), n_bins=64, truncate=truncate)
    assert coeffs.shape == (64, frames)


def test_audiocodec_shape_check():
    """audiocodec's test_mdct_shape: 10 blocks of 64 give 11 frames, per example and channel."""
    x = torch.randn(4, 2, 10 * 64)
    assert mdct(x, n_bins=64, norm="mp3net").shape == (4, 2, 64, 11)


def test_frame_covers_samples_around_its_block():
    """Frame m covers samples [(m - 1) N, (m + 1) N): an impulse at t reaches frames t // N and t // N + 1."""
    n = 16
    x = torch.zeros(10 * n, dtype=torch.float64)
    x[3 * n + 5] = 1.0
    energy = mdct(x, n_bins=n, norm="ortho").square().sum(0)
    assert torch.nonzero(energy).flatten().tolist() == [3, 4]
    torch.testing.assert_close(energy.sum(), torch.tensor(1.0, dtype=torch.float64))


# ---------------------------------------------------------------------------------- reconstruction
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(("dtype", "atol"), [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("signal", ["chirp", "noise"])
def test_perfect_reconstruction(rng, signal, dtype, atol, window, norm):
    length = 128 * 40 + 77
    x = chirp(length) if signal == "chirp" else rng.uniform(-1, 1, length)
    x = torch.from_numpy(x).to(dtype)
    for n_bins in (64, 128):
        padded = imdct(mdct(x, n_bins=n_bins, window=window, norm=norm, truncate=False),
                       window=window, norm=norm, length=length)
        assert padded.dtype == dtype and padded.shape == (length,)
        torch.testing.assert_close(padded, x, atol=atol, rtol=0)
        kept = length // n_bins * n_bins
        truncated = imdct(mdct(x, n_bins=n_bins, window=window, norm=norm), window=window, norm=norm)
        assert truncated.shape == (kept,)
        torch.testing.assert_close(truncated, x[:kept], atol=atol, rtol=0)


def test_imdct_length_crops_and_pads(rng):
    x = torch.from_numpy(rng.standard_normal(1000))
    coeffs = mdct(x, n_bins=64)  # 15 blocks: 960 samples kept
    full = imdct(coeffs)
    assert full.shape == (960,)
    torch.testing.assert_close(imdct(coeffs, length=500), full[:500])
    longer = imdct(coeffs, length=1000)
    torch.testing.assert_close(longer[:960], x[:960], atol=1e-12, rtol=0)
    assert torch.count_nonzero(longer[960:]) == 0


def test_ortho_is_an_isometry(rng):
    x = torch.from_numpy(rng.standard_normal(64 * 30))
    coeffs = mdct(x, n_bins=64, norm="ortho", window="kbd")
    torch.testing.assert_close(coeffs.square().sum(), x.square().sum())


# ------------------------------------------------------------------------- batching, module, autograd
@pytest.mark.parametrize("norm", NORMS)
def test_batched_equals_itemwise(rng, norm):
    x = torch.from_numpy(rng.standard_normal((2, 3, 1000)))
    batched = mdct(x, n_bins=32, norm=norm, truncate=False)
    assert batched.shape == (2, 3, 32, 33)
    for i in range(2):
        for j in range(3):
            single = mdct(x[i, j], n_bins=32, norm=norm, truncate=False)
            torch.testing.assert_close(batched[i, j], single, atol=0, rtol=0)
    inverse = imdct(batched, norm=norm, length=1000)
    assert inverse.shape == (2, 3, 1000)
    for i in range(2):
        for j in range(3):
            single = imdct(batched[i, j], norm=norm, length=1000)
            torch.testing.assert_close(inverse[i, j], single, atol=0, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_functional_equals_module(rng, dtype):
    x = torch.from_numpy(rng.standard_normal((2, 2000))).to(dtype)
    custom = kbd_window(128, alpha=6.0, dtype=torch.float64)
    for window in ("vorbis", "sine", "kbd", custom):
        for norm in NORMS:
            forward = MDCT(n_bins=64, window=window, norm=norm)
            inverse = IMDCT(n_bins=64, window=window, norm=norm)
            coeffs = forward(x)
            torch.testing.assert_close(coeffs, mdct(x, n_bins=64, window=window, norm=norm), atol=0, rtol=0)
            expected = imdct(coeffs, window=window, norm=norm, length=2000)
            torch.testing.assert_close(inverse(coeffs, length=2000), expected, atol=0, rtol=0)
    assert forward.window.dtype == torch.float64
    assert forward.state_dict() == {} and inverse.state_dict() == {}
    assert MDCT(truncate=False)(x).shape[-1] == -(-2000 // 128) + 1


@pytest.mark.parametrize("norm", NORMS)
def test_gradcheck(norm):
    x = torch.randn(2, 8 * 3 + 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: mdct(v, n_bins=8, norm=norm, window="kbd", truncate=False),
                                    (x,))
    assert torch.autograd.gradgradcheck(lambda v: mdct(v, n_bins=8, norm=norm), (x,))
    coeffs = torch.randn(2, 8, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: imdct(c, norm=norm, length=29), (coeffs,))
    window = sine_window(16, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda w: mdct(x.detach(), n_bins=8, norm=norm, window=w), (window,))


# ---------------------------------------------------------------------------------------- devices
@pytest.mark.parametrize("norm", NORMS)
def test_device(device, rng, norm):
    x = rng.uniform(-1, 1, (2, 128 * 20 + 5))
    window = vorbis_window(256, dtype=torch.float64).numpy()
    expected = np.stack([direct_mdct(row, 128, window, norm) for row in x])
    for dtype, atol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
        signal = torch.from_numpy(x).to(device=device, dtype=dtype)
        coeffs = mdct(signal, n_bins=128, norm=norm)
        assert coeffs.device.type == device.type and coeffs.dtype == dtype
        got = coeffs.cpu().double().numpy()
        np.testing.assert_allclose(got, expected, atol=atol * np.abs(expected).max())
        recon = imdct(coeffs, norm=norm)
        assert recon.device.type == device.type
        torch.testing.assert_close(recon, signal[:, : 128 * 20], atol=atol, rtol=0)
        module = MDCT(n_bins=128, norm=norm).to(device)
        torch.testing.assert_close(module(signal), coeffs, atol=0, rtol=0)


# ------------------------------------------------------------------------------- invalid arguments
@pytest.mark.parametrize(("kwargs", "name"), [
    ({"n_bins": 7}, "n_bins"), ({"n_bins": 0}, "n_bins"), ({"n_bins": 8.0}, "n_bins"),
    ({"n_bins": 8, "window": "hann"}, "window"), ({"n_bins": 8, "window": torch.ones(15)}, "window"),
    ({"n_bins": 8, "window": torch.ones(16, dtype=torch.int64)}, "window"),
    ({"n_bins": 8, "norm": "slaney"}, "norm"), ({"n_bins": 8, "truncate": 1}, "truncate"),
])
def test_mdct_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        mdct(torch.zeros(100), **kwargs)


def test_mdct_rejects_bad_waveforms():
    with pytest.raises(ParameterError, match="waveform"):
        mdct(torch.zeros(7), n_bins=8)
    with pytest.raises(ParameterError, match="waveform"):
        mdct(torch.zeros(0), n_bins=8, truncate=False)
    with pytest.raises(ParameterError, match="waveform"):
        mdct(torch.zeros(64, dtype=torch.int16), n_bins=8)
    with pytest.raises(ParameterError, match="waveform"):
        mdct(torch.zeros(64, dtype=torch.float16), n_bins=8)
    with pytest.raises(ParameterError, match="waveform"):
        mdct(np.zeros(64), n_bins=8)


@pytest.mark.parametrize(("coeffs", "kwargs", "name"), [
    (torch.zeros(8), {}, "coeffs"), (torch.zeros(7, 4), {}, "coeffs"), (torch.zeros(8, 1), {}, "coeffs"),
    (torch.zeros(8, 4, dtype=torch.bfloat16), {}, "coeffs"), (torch.zeros(8, 4), {"length": -1}, "length"),
    (torch.zeros(8, 4), {"norm": "mp3"}, "norm"), (torch.zeros(8, 4), {"window": torch.ones(8)}, "window"),
    (torch.zeros(8, 4), {"window": "kaiser"}, "window"),
])
def test_imdct_rejects_bad_parameters(coeffs, kwargs, name):
    with pytest.raises(ParameterError, match=name):
        imdct(coeffs, **kwargs)


def test_windows_and_modules_reject_bad_parameters():
    for function in (sine_window, vorbis_window, kbd_window):
        with pytest.raises(ParameterError, match="window_length"):
            function(15)
        with pytest.raises(ParameterError, match="window_length"):
            function(0)
    with pytest.raises(ParameterError, match="alpha"):
        kbd_window(16, alpha=0.0)
    with pytest.raises(ParameterError, match="n_bins"):
        MDCT(n_bins=9)
    with pytest.raises(ParameterError, match="norm"):
        MDCT(norm="htk")
    with pytest.raises(ParameterError, match="truncate"):
        MDCT(truncate="yes")
    with pytest.raises(ParameterError, match="window"):
        IMDCT(n_bins=8, window=torch.ones(8))
    with pytest.raises(ParameterError, match="coeffs"):
        IMDCT(n_bins=8)(torch.zeros(16, 4))
