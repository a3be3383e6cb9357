"""STFT, inverse STFT, log-magnitude, mel, instantaneous frequency and normalisation."""
from __future__ import annotations

import dataclasses
import json
import math

import h5py
import librosa
import numpy as np
import pytest
import torch
import torchaudio

import audiofeat.functional as AF
from audiofeat import transforms as T
from audiofeat.exceptions import ParameterError

SR = 16000


def chord(n: int, rng: np.random.Generator, *, noise: float = 0.01) -> np.ndarray:
    """Decaying C-major chord with harmonics, a chirp and a little differenced (DC-free) noise."""
    t = np.arange(n) / SR
    x = sum(0.1 / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 2 * np.pi))
            for f in (261.63, 329.63, 392.0) for k in (1, 2, 3))
    x = x * np.exp(-t) + 0.1 * np.sin(2 * np.pi * (200 * t + 300 * t ** 2))
    return x + noise * np.diff(rng.standard_normal(n + 1))


# ---------------------------------------------------------------------------------------- STFT
@pytest.mark.reference
@pytest.mark.parametrize("kwargs", [
    dict(n_fft=512, hop_length=128),
    dict(n_fft=512, hop_length=100, win_length=400),
    dict(n_fft=511, hop_length=128, pad_mode="reflect"),
    dict(n_fft=256, hop_length=64, pad_mode="reflect"),
])
def test_stft_matches_librosa(rng, kwargs):
    x = rng.standard_normal(3000)
    ours = AF.stft(torch.from_numpy(x), **kwargs).numpy()
    ref = librosa.stft(x, **kwargs)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


@pytest.mark.reference
def test_log_spectrogram_matches_librosa_float32(rng):
    x = rng.standard_normal((2, 8000)).astype(np.float32)
    ours = AF.log_spectrogram(torch.from_numpy(x), n_fft=2048, hop_length=512)
    ref = np.log(np.abs(librosa.stft(x, n_fft=2048, hop_length=512)) + 1e-6)
    assert ours.dtype == torch.float32 and ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.reference
def test_stft_matches_torchaudio_spectrogram(rng):
    x = torch.from_numpy(rng.standard_normal((3, 4000)))
    ref = torchaudio.transforms.Spectrogram(n_fft=400, hop_length=160, power=None,
                                            wkwargs={"dtype": torch.float64})(x)
    ours = AF.stft(x, n_fft=400, hop_length=160, pad_mode="reflect")
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layout", [AF.StftLayout(n_fft=256, hop_length=64),
                                    AF.StftLayout(n_fft=256, hop_length=64, padding="front", drop_bin="dc"),
                                    AF.StftLayout(n_fft=200, hop_length=50, win_length=160, pad_mode="reflect",
                                                  drop_bin="nyquist")],
                         ids=["center", "front-dc", "reflect-nyquist"])
def test_blockwise_log_spectrogram_equals_stft_then_log(rng, threads, layout):
    """The fused CPU path (blocks shared among threads) gives the numbers of stft + log_magnitude."""
    x = torch.from_numpy(rng.standard_normal((3, 2, 40000)).astype(np.float32))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fused = AF.log_spectrogram(x, **layout.as_kwargs())
    finally:
        torch.set_num_threads(before)
    reference = AF.log_magnitude(AF.stft(x, **layout.as_kwargs()))
    assert fused.shape == reference.shape
    torch.testing.assert_close(fused, reference, rtol=0, atol=0)
    with_grad = AF.log_spectrogram(x.clone().requires_grad_(True), **layout.as_kwargs())
    torch.testing.assert_close(with_grad.detach(), reference, rtol=1e-6, atol=1e-5)


def test_magnitude_equals_abs_with_and_without_grad(rng):
    spec = torch.from_numpy(rng.standard_normal((5, 7)) + 1j * rng.standard_normal((5, 7)))
    torch.testing.assert_close(AF.magnitude(spec), spec.abs(), rtol=1e-14, atol=0)
    leaf = spec.clone().requires_grad_(True)
    mag = AF.magnitude(leaf)
    mag.sum().backward()
    torch.testing.assert_close(leaf.grad, spec / spec.abs())


@pytest.mark.parametrize("layout", [AF.StftLayout(n_fft=512, hop_length=128),
                                    AF.StftLayout(n_fft=512, hop_length=128, padding="front"),
                                    AF.StftLayout(n_fft=512, hop_length=128, padding="end"),
                                    AF.StftLayout(n_fft=512, hop_length=100, win_length=300, padding="none"),
                                    AF.StftLayout(n_fft=400, hop_length=100, pad_mode="reflect")],
                         ids=lambda layout: f"{layout.padding}-{layout.hop_length}-{layout.pad_mode}")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_istft_inverts_stft(rng, layout, dtype):
    x = torch.from_numpy(chord(6000, rng)).to(dtype)
    spec = AF.stft(x, **layout.as_kwargs())
    assert spec.dtype == (torch.complex64 if dtype == torch.float32 else torch.complex128)
    y = AF.istft(spec, length=6000, **layout.as_kwargs())
    inner = slice(512, -512)  # the outermost samples of "front"/"end"/"none" spans are attenuated
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert y.shape == x.shape
    assert (y - x)[inner].abs().max() < tol


@pytest.mark.reference
def test_istft_matches_librosa_on_inconsistent_spectrogram(rng):
    spec = rng.standard_normal((257, 40)) + 1j * rng.standard_normal((257, 40))
    ours = AF.istft(torch.from_numpy(spec), n_fft=512, hop_length=128, length=5000).numpy()
    ref = librosa.istft(spec, n_fft=512, hop_length=128, length=5000)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------ geometries
def test_gansynth_hires_geometry(rng):
    assert AF.stft_padding(64000, n_fft=2048, hop_length=512, padding="front", n_frames=128) == (3072, 0, 128)
    x = rng.standard_normal((2, 64000))
    spec = AF.stft(torch.from_numpy(x), **AF.GANSYNTH_HIRES.as_kwargs())
    assert spec.shape == (2, 1024, 128) and AF.GANSYNTH_HIRES.n_freq == 1024
    # Frame m is the DFT of the windowed samples [512 m, 512 m + 2048) of the clip with 3072 zeros
    # in front, without its DC bin.
    padded = np.concatenate([np.zeros((2, 3072)), x], axis=-1)
    window = np.hanning(2049)[:-1]  # periodic Hann
    for m in (0, 5, 127):
        ref = np.fft.rfft(window * padded[:, 512 * m:512 * m + 2048])[:, 1:]
        np.testing.assert_allclose(spec[..., m].numpy(), ref, rtol=0, atol=1e-9)


def test_gansynth_lowres_and_specgan_geometry(rng):
    assert AF.stft_padding(64000, n_fft=1024, hop_length=256, padding="front", n_frames=256) == (2304, 0, 256)
    lowres = AF.stft(torch.zeros(64000), **AF.GANSYNTH_LOWRES.as_kwargs())
    assert lowres.shape == (512, 256)
    x = torch.from_numpy(rng.standard_normal(16384))
    spec = AF.stft(x, **AF.SPECGAN.as_kwargs())
    assert spec.shape == (128, 128)
    assert AF.stft_padding(16384, n_fft=256, hop_length=128, padding="end") == (0, 128, 128)
    full = AF.stft(x, n_fft=256, hop_length=128, padding="end")
    torch.testing.assert_close(spec, full[:-1])  # Nyquist dropped
    # One-second clips at the low-res GANSynth resolution (Nistal et al.): 64 frames.
    one_second = dataclasses.replace(AF.GANSYNTH_LOWRES, n_frames=64)
    assert AF.stft(torch.zeros(16000), **one_second.as_kwargs()).shape == (512, 64)


def test_layout_is_json_ready_and_validated():
    kwargs = AF.GANSYNTH_HIRES.as_kwargs()
    assert json.loads(json.dumps(kwargs)) == kwargs
    with pytest.raises(ParameterError, match="hop_length"):
        AF.StftLayout(n_fft=512, hop_length=0)
    with pytest.raises(ParameterError, match="n_frames"):
        AF.StftLayout(n_fft=512, hop_length=128, n_frames=10)  # n_frames needs front/end padding


# ------------------------------------------------------------------------------ log, dB and mel
def test_log_magnitude_gradcheck():
    gen = torch.Generator().manual_seed(0)
    spec = torch.randn(3, 4, 5, dtype=torch.complex128, generator=gen).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: AF.log_magnitude(s, eps=1e-6), (spec,))
    assert torch.autograd.gradgradcheck(lambda s: AF.log_magnitude(s, eps=1e-6), (spec,))
    zero = torch.zeros(2, 3, dtype=torch.complex128, requires_grad=True)
    AF.log_magnitude(zero).sum().backward()
    assert torch.isfinite(torch.view_as_real(zero.grad)).all()


def test_stft_and_istft_gradcheck():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 48, dtype=torch.float64, generator=gen).requires_grad_(True)
    kw = dict(n_fft=16, hop_length=4, padding="front")
    assert torch.autograd.gradcheck(lambda w: AF.log_spectrogram(w, **kw), (x,), fast_mode=True)
    spec = AF.stft(x.detach(), **kw).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: AF.istft(s, length=48, **kw), (spec,), fast_mode=True)


@pytest.mark.reference
def test_amplitude_to_db_matches_librosa(rng):
    mag = np.abs(rng.standard_normal((40, 30))) ** 3
    for top_db in (80.0, 20.0, None):
        ours = AF.amplitude_to_db(torch.from_numpy(mag), ref=0.5, top_db=top_db).numpy()
        np.testing.assert_allclose(ours, librosa.amplitude_to_db(mag, ref=0.5, top_db=top_db), atol=1e-9)
    batched = AF.amplitude_to_db(torch.from_numpy(np.stack([mag, 10 * mag])), top_db=20.0)
    assert torch.allclose(batched[1] - 20.0, batched[0])  # the top_db floor is per spectrogram


@pytest.mark.reference
def test_log_mel_matches_torchaudio(rng):
    x = torch.from_numpy(rng.standard_normal((2, 4000)).astype(np.float32))
    ref = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=1024, hop_length=256, n_mels=64,
                                               pad_mode="constant", power=2.0)(x)
    fbank = AF.mel_filterbank(sample_rate=SR, n_fft=1024, n_mels=64)
    ours = AF.log_mel_spectrogram(x, fbank=fbank, n_fft=1024, hop_length=256)
    torch.testing.assert_close(ours, torch.log(ref + 1e-6), rtol=1e-4, atol=1e-4)
    module = T.LogMelSpectrogram(sample_rate=SR, n_fft=1024, hop_length=256, n_mels=64)
    torch.testing.assert_close(module(x), ours)


def test_mel_filterbank_drops_the_column_of_the_dropped_bin():
    full = AF.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=40, dtype=torch.float64)
    assert full.shape == (40, 257)
    torch.testing.assert_close(AF.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=40, drop_bin="dc",
                                                 dtype=torch.float64), full[:, 1:])
    torch.testing.assert_close(AF.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=40, drop_bin="nyquist",
                                                 dtype=torch.float64), full[:, :-1])


def test_mel_to_magnitude_inverts_log_mel_on_the_filterbank_range(rng):
    fbank = AF.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=64, drop_bin="dc", dtype=torch.float64)
    # a magnitude whose power lies in the row space of the filterbank is recovered exactly
    power = torch.linalg.pinv(fbank) @ fbank @ torch.from_numpy(rng.uniform(1, 2, (256, 6)))
    mag = power.clamp_min(0).sqrt()
    log_mel = AF.log_mel(mag, fbank=fbank)
    back = AF.mel_to_magnitude(log_mel, fbank=fbank)
    assert back.shape == (256, 6) and back.dtype == torch.float64
    torch.testing.assert_close(AF.log_mel(back, fbank=fbank), log_mel, rtol=0, atol=1e-9)
    # any spectrum: non-negative, and the log-mel of a smooth (1/f) spectrum comes back
    smooth = (1.0 / torch.arange(1, 257, dtype=torch.float64))[:, None].expand(256, 4) * torch.linspace(0.5, 2, 4)
    again = AF.mel_to_magnitude(AF.log_mel(smooth, fbank=fbank, power=1.0), fbank=fbank, power=1.0)
    assert (again >= 0).all()
    torch.testing.assert_close(AF.log_mel(again, fbank=fbank, power=1.0), AF.log_mel(smooth, fbank=fbank, power=1.0),
                               rtol=0, atol=1e-6)
    with pytest.raises(ParameterError, match="fbank must have shape"):
        AF.mel_to_magnitude(log_mel[:10], fbank=fbank)


# ------------------------------------------------------------------------ instantaneous frequency
def test_instantaneous_frequency_is_unwrapped_phase_difference(rng):
    spec = AF.stft(torch.from_numpy(chord(4000, rng)), n_fft=256, hop_length=64)
    phase = np.angle(spec.numpy())
    ref = np.concatenate([phase[:, :1], np.diff(np.unwrap(phase, axis=-1), axis=-1)], axis=-1) / np.pi
    inst_freq = AF.instantaneous_frequency(spec)
    assert inst_freq.abs().max() <= 1
    np.testing.assert_allclose(inst_freq.numpy(), ref, atol=1e-12)


def test_instantaneous_frequency_of_a_bin_centred_sinusoid():
    n_fft, hop, k0 = 1024, 256, 100  # 100 * 16000 / 1024 Hz
    t = torch.arange(16000, dtype=torch.float64)
    x = torch.cos(2 * math.pi * k0 * t / n_fft)
    inst_freq = AF.instantaneous_frequency(AF.stft(x, n_fft=n_fft, hop_length=hop))
    expected = math.remainder(2 * math.pi * k0 * hop / n_fft, 2 * math.pi) / math.pi
    torch.testing.assert_close(inst_freq[k0, 4:-4], torch.full_like(inst_freq[k0, 4:-4], expected))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", [AF.GANSYNTH_HIRES, AF.StftLayout(n_fft=1024, hop_length=256)],
                         ids=["gansynth-hires", "center"])
def test_log_mag_if_round_trip_is_exact(rng, dtype, layout):
    x = torch.from_numpy(chord(64000, rng)).to(dtype)
    log_mag, inst_freq = AF.waveform_to_log_mag_if(x, **layout.as_kwargs())
    assert log_mag.dtype == inst_freq.dtype == dtype
    y = AF.log_mag_if_to_waveform(log_mag, inst_freq, length=64000, **layout.as_kwargs())
    inner = slice(layout.n_fft, -layout.n_fft)
    rms = (y - x)[inner].square().mean().sqrt()
    assert rms < 1e-5
    if layout.drop_bin == "none":
        assert (y - x).square().mean().sqrt() < 1e-5  # center padding: the edges are exact too


def test_log_mag_if_modules_equal_functionals(rng):
    x = torch.from_numpy(chord(16000, rng)).float().reshape(2, 8000)
    layout = dataclasses.replace(AF.GANSYNTH_LOWRES, n_frames=None)
    forward = T.LogMagIF(**layout.as_kwargs())
    inverse = T.InverseLogMagIF(length=8000, **layout.as_kwargs())
    log_mag, inst_freq = forward(x)
    ref_mag, ref_if = AF.waveform_to_log_mag_if(x, **layout.as_kwargs())
    torch.testing.assert_close(log_mag, ref_mag)
    torch.testing.assert_close(inst_freq, ref_if)
    expected = AF.log_mag_if_to_waveform(log_mag, inst_freq, length=8000, **layout.as_kwargs())
    torch.testing.assert_close(inverse(log_mag, inst_freq), expected)
    spectrogram = T.LogSpectrogram(**layout.as_kwargs())
    torch.testing.assert_close(spectrogram(x), ref_mag)


# ------------------------------------------------------------------ batches, modules and devices
def test_batched_equals_itemwise(rng):
    x = torch.from_numpy(chord(3 * 2 * 3000, rng)).reshape(2, 3, 3000)
    kw = AF.StftLayout(n_fft=256, hop_length=64, padding="front").as_kwargs()
    spec = AF.stft(x, **kw)
    log_mag, inst_freq = AF.waveform_to_log_mag_if(x, **kw)
    y = AF.istft(spec, length=3000, **kw)
    for i in range(2):
        for j in range(3):
            single = AF.stft(x[i, j], **kw)
            torch.testing.assert_close(spec[i, j], single)
            torch.testing.assert_close(log_mag[i, j], AF.log_magnitude(single))
            torch.testing.assert_close(inst_freq[i, j], AF.instantaneous_frequency(single))
            torch.testing.assert_close(y[i, j], AF.istft(single, length=3000, **kw))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_device_round_trip(device, rng, dtype):
    x = torch.from_numpy(chord(2 * 8000, rng)).reshape(2, 8000).to(device=device, dtype=dtype)
    layout = dataclasses.replace(AF.GANSYNTH_LOWRES, n_frames=None).as_kwargs()
    module = T.LogMagIF(**layout).to(device)
    log_mag, inst_freq = module(x)
    assert log_mag.device.type == device.type and log_mag.dtype == dtype
    inverse = T.InverseLogMagIF(length=8000, **layout)
    y = inverse.to(device)(log_mag, inst_freq)
    assert y.device.type == device.type
    assert (y - x)[:, 1024:-1024].square().mean().sqrt() < 1e-5
    stats = AF.BinStatistics().update(log_mag)
    assert stats.mean.device.type == "cpu"
    torch.testing.assert_close(stats.mean, log_mag.double().mean(dim=(0, 2)).cpu())
    cpu = AF.log_spectrogram(x.cpu(), n_fft=512, hop_length=128)
    on_device = AF.log_spectrogram(x, n_fft=512, hop_length=128)
    torch.testing.assert_close(on_device.cpu(), cpu, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------- normalisation
def test_gansynth_affine_normalisation_round_trip():
    x = torch.linspace(-13.0, 2.0, 50, dtype=torch.float64)
    y = AF.affine_normalize(x, **AF.GANSYNTH_LOG_MAG_AFFINE.as_kwargs())
    torch.testing.assert_close(y, (0.06614 * x + 0.11372).clamp(-1, 1))
    torch.testing.assert_close(AF.affine_denormalize(y, **AF.GANSYNTH_LOG_MAG_AFFINE.as_kwargs()), x)
    inst_freq = torch.tensor([-1.0, 0.5, 1.0])
    torch.testing.assert_close(AF.affine_normalize(inst_freq, **AF.GANSYNTH_IF_AFFINE.as_kwargs()),
                               torch.tensor([-0.8, 0.4, 0.8]))
    assert AF.affine_normalize(torch.tensor([100.0]), scale=1.0, shift=0.0).item() == 1.0
    assert AF.affine_normalize(torch.tensor([100.0]), scale=1.0, shift=0.0, clip=False).item() == 100.0


def test_signed_cube_root_companding_round_trip():
    x = torch.tensor([-1.5, -0.125, -1e-6, 0.0, 8e-6, 0.027, 1.0], dtype=torch.float64)
    y = AF.compand(x)
    torch.testing.assert_close(y, torch.tensor([-1.0, -0.5, -0.01, 0.0, 0.02, 0.3, 1.0], dtype=torch.float64))
    torch.testing.assert_close(AF.expand(y)[1:], x[1:])  # -1.5 was clipped to -1
    assert AF.compand(torch.tensor([8.0]), clip=False).item() == pytest.approx(2.0)
    torch.testing.assert_close(AF.expand(AF.compand(x, power=0.5, clip=False), power=0.5), x)
    z = torch.tensor([0.0, 1e-3, -0.027], dtype=torch.float64, requires_grad=True)
    smooth = AF.compand(z, smooth=1e-8)
    torch.testing.assert_close(smooth[1:], AF.compand(z)[1:], rtol=1e-9, atol=0)
    (grad,) = torch.autograd.grad(smooth.sum(), z)
    assert torch.isfinite(grad).all() and grad[0] == pytest.approx(1e-8 ** (-2 / 3))


def test_bin_statistics_streaming_equals_numpy(rng, tmp_path):
    data = rng.standard_normal((10, 2, 33, 20)) * np.linspace(0.5, 3, 33)[:, None] + np.arange(33)[:, None]
    stats = AF.BinStatistics()
    for i in range(0, 10, 3):
        stats.update(torch.from_numpy(data[i:i + 3]).float())
    flat = data.astype(np.float32).astype(np.float64).transpose(2, 0, 1, 3).reshape(33, -1)
    assert stats.count == 10 * 2 * 20 and stats.n_freq == 33
    np.testing.assert_allclose(stats.mean.numpy(), flat.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(stats.std.numpy(), flat.std(axis=1), rtol=1e-10)
    # Two workers merged give the same statistics.
    left = AF.BinStatistics().update(torch.from_numpy(data[:4]).float())
    right = AF.BinStatistics().update(torch.from_numpy(data[4:]).float())
    merged = left.merge(right)
    np.testing.assert_allclose(merged.std.numpy(), stats.std.numpy(), rtol=1e-10)
    # Plain arrays survive an HDF5 file.
    with h5py.File(tmp_path / "stats.h5", "w") as f:
        for name, array in stats.to_dict().items():
            f.create_dataset(f"bin_stats/{name}", data=array)
    with h5py.File(tmp_path / "stats.h5", "r") as f:
        loaded = AF.BinStatistics.from_dict({k: v[()] for k, v in f["bin_stats"].items()})
    assert loaded.count == stats.count
    torch.testing.assert_close(loaded.mean, stats.mean)
    torch.testing.assert_close(loaded.std, stats.std)


def test_standardize_like_specgan(rng):
    x = torch.from_numpy(rng.standard_normal((4, 16, 50)) * 2 + 5)
    stats = AF.BinStatistics().update(x)
    y = AF.standardize(x, mean=stats.mean, std=stats.std)
    assert y.abs().max() <= 1
    inside = (x - stats.mean[:, None]).abs() < 3 * stats.std[:, None]
    back = AF.destandardize(y, mean=stats.mean, std=stats.std)
    torch.testing.assert_close(back[inside], x[inside])
    z = AF.standardize(x, mean=stats.mean, std=stats.std, n_sigma=1.0, clip=False)
    torch.testing.assert_close(z.mean(dim=(0, 2)), torch.zeros(16, dtype=torch.float64), atol=1e-12, rtol=0)
    module = T.BinStandardize.from_statistics(stats)
    torch.testing.assert_close(module(x), y)
    torch.testing.assert_close(module.inverse(y), AF.destandardize(y, mean=stats.mean, std=stats.std))
    assert set(module.state_dict()) == {"mean", "std"}


# ----------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call, name", [
    (lambda: AF.stft(torch.zeros(100), n_fft=0), "n_fft"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, win_length=65), "win_length"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, hop_length=-1), "hop_length"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, padding="both"), "padding"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, pad_mode="edge"), "pad_mode"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, drop_bin="top"), "drop_bin"),
    (lambda: AF.stft(torch.zeros(100), n_fft=64, window=torch.ones(10)), "window"),
    (lambda: AF.stft(torch.zeros(100, dtype=torch.int64), n_fft=64), "waveform"),
    (lambda: AF.stft(torch.zeros(1000), n_fft=64, padding="front", n_frames=3), "n_frames"),
    (lambda: AF.istft(torch.zeros(33, 4, dtype=torch.complex64), n_fft=64, padding="front"), "length"),
    (lambda: AF.istft(torch.zeros(30, 4, dtype=torch.complex64), n_fft=64), "spec"),
    (lambda: AF.istft(torch.zeros(33, 4), n_fft=64), "spec"),
    (lambda: AF.log_magnitude(torch.zeros(3, 3, dtype=torch.complex64), eps=0.0), "eps"),
    (lambda: AF.amplitude_to_db(torch.ones(3, 3), amin=-1.0), "amin"),
    (lambda: AF.mel_filterbank(sample_rate=16000, n_fft=512, n_mels=40, f_max=9000.0), "f_max"),
    (lambda: AF.log_mel(torch.ones(10, 3), fbank=torch.ones(4, 9)), "fbank"),
    (lambda: AF.log_mag_if_to_spec(torch.zeros(3, 4), torch.zeros(3, 5)), "inst_freq"),
    (lambda: AF.affine_normalize(torch.zeros(3), scale=0.0, shift=0.0), "scale"),
    (lambda: AF.standardize(torch.zeros(3, 4), mean=torch.zeros(2), std=torch.ones(3)), "mean"),
    (lambda: AF.BinStatistics().update(torch.zeros(3, 4)).update(torch.zeros(5, 4)), "frequency bins"),
    (lambda: AF.BinStatistics().to_dict(), "empty"),
    (lambda: T.LogSpectrogram(n_fft=64, eps=-1.0), "eps"),
    (lambda: T.LogMelSpectrogram(sample_rate=16000, n_fft=64, n_mels=0), "n_mels"),
    (lambda: T.InverseLogMagIF(n_fft=64, padding="front"), "length"),
])
def test_bad_arguments_raise_parameter_error(call, name):
    with pytest.raises(ParameterError, match=name):
        call()
