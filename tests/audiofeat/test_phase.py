"""Griffin-Lim, phase-gradient initialisation and spectral convergence."""
from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch
import torchaudio

import audiofeat.functional as AF
from audiofeat import transforms as T
from audiofeat.exceptions import ParameterError

SR = 16000
KW = dict(n_fft=512, hop_length=128)
N = SR // 2


def chord(n: int, rng: np.random.Generator) -> np.ndarray:
    """Decaying C-major chord with three harmonics per note, plus a little noise."""
    t = np.arange(n) / SR
    x = sum(0.1 / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 2 * np.pi))
            for f in (261.63, 329.63, 392.0) for k in (1, 2, 3))
    return x * np.exp(-t) + 0.01 * rng.standard_normal(n)


@pytest.fixture
def mag64(rng) -> torch.Tensor:
    """float64 magnitude of half a second of chord, n_fft 512, hop 128."""
    return AF.magnitude(AF.stft(torch.from_numpy(chord(N, rng)), **KW))


@pytest.mark.reference
@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_griffinlim_matches_librosa_from_zero_phase(mag64, momentum):
    ours = AF.griffinlim(mag64, **KW, n_iter=32, momentum=momentum, init="zeros", length=N)
    ref = librosa.griffinlim(mag64.numpy(), **KW, n_iter=32, momentum=momentum, init=None, length=N)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-9)


@pytest.mark.reference
def test_griffinlim_matches_librosa_from_the_same_random_phase(mag64):
    seed = 7
    phase = 2 * np.pi * np.random.default_rng(seed).random(mag64.shape)
    ours = AF.griffinlim(mag64, **KW, n_iter=32, init=torch.from_numpy(phase), length=N)
    ref = librosa.griffinlim(mag64.numpy(), **KW, n_iter=32, random_state=np.random.default_rng(seed),
                             length=N)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-9)


@pytest.mark.reference
@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_griffinlim_matches_torchaudio(mag64, momentum):
    ref = torchaudio.transforms.GriffinLim(n_fft=512, hop_length=128, n_iter=16, power=1.0, momentum=momentum,
                                           length=N, rand_init=False, wkwargs={"dtype": torch.float64})(mag64)
    ours = AF.griffinlim(mag64, **KW, n_iter=16, momentum=momentum, init="zeros", length=N,
                         pad_mode="reflect")
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("layout, length", [
    (AF.StftLayout(n_fft=512, hop_length=128), 4000),
    (AF.StftLayout(n_fft=512, hop_length=128, padding="front", drop_bin="dc"), 4000),
    (AF.StftLayout(n_fft=256, hop_length=128, padding="end", drop_bin="nyquist"), 4096),
    (AF.StftLayout(n_fft=512, hop_length=100, win_length=400, padding="none"), 4012),
])
@pytest.mark.parametrize("init", ["random", "zeros", "pghi"])
def test_griffinlim_output_is_finite_real_and_of_the_right_length(rng, layout, length, init):
    x = torch.from_numpy(chord(length, rng)).float()
    mag = AF.magnitude(AF.stft(x, **layout.as_kwargs()))
    y = AF.griffinlim(mag, **layout.as_kwargs(), n_iter=4, init=init, length=length,
                      generator=torch.Generator().manual_seed(0))
    assert y.shape == (length,) and y.dtype == torch.float32 and not y.is_complex()
    assert torch.isfinite(y).all() and y.abs().max() > 0


def test_griffinlim_stays_finite_where_the_estimate_vanishes():
    """GANSynth's low-res layout pads 2304 zeros in front: frame 0 of any estimate is exactly 0."""
    mag = torch.full((512, 256), 10.0)
    y = AF.griffinlim(mag, **AF.GANSYNTH_LOWRES.as_kwargs(), length=64000, n_iter=3, init="zeros")
    assert torch.isfinite(y).all()


def test_griffinlim_is_deterministic_given_a_generator(mag64):
    def run(seed):
        return AF.griffinlim(mag64, **KW, n_iter=3, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(1), run(1))
    assert not torch.allclose(run(1), run(2))


def test_pghi_start_beats_random_start(rng, generator):
    """From PGHI, Griffin-Lim converges further at equal iterations and in half the iterations."""
    kw = dict(n_fft=1024, hop_length=256)
    mag = AF.magnitude(AF.stft(torch.from_numpy(chord(SR, rng)).float(), **kw))
    state = generator.get_state()

    def convergence(init: str, n_iter: int) -> float:
        generator.set_state(state)
        y = AF.griffinlim(mag, **kw, n_iter=n_iter, init=init, length=SR, generator=generator)
        return AF.spectral_convergence(mag, y, **kw).item()

    random = {n: convergence("random", n) for n in (0, 8, 16, 32)}
    pghi = {n: convergence("pghi", n) for n in (0, 8, 16, 32)}
    # Measured: random 0.64 / 0.19 / 0.13 / 0.08, PGHI 0.12 / 0.08 / 0.07 / 0.05.
    assert pghi[0] < 0.5 * random[0] and pghi[8] < 0.5 * random[8]
    assert pghi[16] < random[16] and pghi[32] < random[32]
    assert pghi[8] < random[16]  # the same convergence in half the iterations


def test_pghi_phase_advance_of_a_sinusoid():
    """For a stationary sinusoid the phase advances by 2 pi f hop / sr per frame at its peak bin."""
    n_fft, hop, f = 1024, 256, 1000.0
    x = torch.sin(2 * math.pi * f * torch.arange(SR, dtype=torch.float64) / SR)
    mag = AF.magnitude(AF.stft(x, n_fft=n_fft, hop_length=hop))
    phase = AF.pghi_phase(mag, n_fft=n_fft, hop_length=hop)
    k = round(f * n_fft / SR)
    expected = 2 * math.pi * f * hop / SR

    def wrap(p: torch.Tensor) -> torch.Tensor:
        return torch.remainder(p + math.pi, 2 * math.pi) - math.pi

    assert wrap(phase[k, 5:-5].diff() - expected).abs().max() < 0.05
    # The bins around the peak share that advance, as they should for one partial.
    assert wrap(phase[k - 2:k + 3, 5:-5].diff(dim=-1) - expected).abs().max() < 0.1


def test_pghi_window_argument(mag64):
    hann = AF.pghi_phase(mag64, **KW, window=torch.hann_window(512, dtype=torch.float64))
    assert torch.equal(hann, AF.pghi_phase(mag64, **KW))  # the default window is this Hann window
    hamming = AF.pghi_phase(mag64, **KW, window=torch.hamming_window(512, dtype=torch.float64))
    assert hamming.shape == mag64.shape and torch.isfinite(hamming).all()


def test_spectral_convergence(mag64, rng):
    x = torch.from_numpy(chord(N, rng))
    assert AF.spectral_convergence(AF.magnitude(AF.stft(x, **KW)), x, **KW).item() < 1e-12
    noise = torch.from_numpy(rng.standard_normal(mag64.shape))
    estimate = torch.polar(mag64 + noise.abs(), noise)
    expected = torch.linalg.norm(noise.abs()) / torch.linalg.norm(mag64)
    torch.testing.assert_close(AF.spectral_convergence(mag64, estimate, **KW), expected)
    batched = AF.spectral_convergence(torch.stack([mag64, mag64]), torch.stack([estimate, estimate]), **KW)
    assert batched.shape == (2,)
    # GANSynth layout: the frame count of mag fixes the front padding of the waveform's STFT.
    clip = torch.from_numpy(chord(16000, rng))
    kw = AF.StftLayout(n_fft=1024, hop_length=256, padding="front", n_frames=64, drop_bin="dc").as_kwargs()
    target = AF.magnitude(AF.stft(clip, **kw))
    del kw["n_frames"]
    assert AF.spectral_convergence(target, clip, **kw).item() < 1e-12


def test_batched_equals_itemwise_and_module_equals_functional(rng):
    x = torch.from_numpy(np.stack([chord(4000, rng) for _ in range(3)])).float().reshape(3, 1, 4000)
    mag = AF.magnitude(AF.stft(x, **KW))
    batched = AF.griffinlim(mag, **KW, n_iter=5, init="pghi", length=4000)
    for i in range(3):
        single = AF.griffinlim(mag[i, 0], **KW, n_iter=5, init="pghi", length=4000)
        torch.testing.assert_close(batched[i, 0], single, rtol=1e-4, atol=1e-5)
    module = T.GriffinLim(**KW, n_iter=5, length=4000)
    functional = AF.griffinlim(mag, **KW, n_iter=5, length=4000, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(module(mag, generator=torch.Generator().manual_seed(3)), functional)


def test_griffinlim_on_device_matches_cpu(device, mag64):
    mag = mag64.float()
    cpu = AF.griffinlim(mag, **KW, n_iter=8, length=N, generator=torch.Generator().manual_seed(0))
    module = T.GriffinLim(**KW, n_iter=8, length=N).to(device)
    out = module(mag.to(device), generator=torch.Generator().manual_seed(0))
    assert out.device.type == device.type
    torch.testing.assert_close(out.cpu(), cpu, rtol=1e-3, atol=1e-4)
    pghi = AF.pghi_phase(mag.to(device), **KW)
    torch.testing.assert_close(pghi.cpu(), AF.pghi_phase(mag, **KW), rtol=1e-4, atol=1e-3)


def test_griffinlim_output_is_differentiable_in_the_magnitude(mag64):
    mag = mag64.clone().requires_grad_(True)
    y = AF.griffinlim(mag, **KW, n_iter=2, init="pghi", length=N)
    y.square().sum().backward()
    assert mag.grad is not None and torch.isfinite(mag.grad).all() and mag.grad.abs().max() > 0


@pytest.mark.parametrize("call, name", [
    (lambda m: AF.griffinlim(m, **KW, n_iter=-1), "n_iter"),
    (lambda m: AF.griffinlim(m, **KW, momentum=2.5), "momentum"),
    (lambda m: AF.griffinlim(m, **KW, init="ones"), "init"),
    (lambda m: AF.griffinlim(m, **KW, init=torch.zeros(3, 3)), "init"),
    (lambda m: AF.griffinlim(m, n_fft=256, hop_length=128), "mag"),
    (lambda m: AF.griffinlim(m, **KW, padding="front"), "length"),
    (lambda m: AF.griffinlim(m, **KW, length=100), "length"),
    (lambda m: AF.griffinlim(m, **KW, n_frames=3), "n_frames"),
    (lambda m: AF.pghi_phase(m, **KW, tolerance=0.0), "tolerance"),
    (lambda m: AF.pghi_phase(m, **KW, window=torch.zeros(512)), "window"),
    (lambda m: AF.spectral_convergence(m, torch.zeros(100), **KW), "shape"),
    (lambda m: T.GriffinLim(**KW, init="pghi_heap"), "init"),
    (lambda m: T.GriffinLim(**KW, momentum=-0.1), "momentum"),
])
def test_bad_arguments_raise_parameter_error(mag64, call, name):
    with pytest.raises(ParameterError, match=name):
        call(mag64)
