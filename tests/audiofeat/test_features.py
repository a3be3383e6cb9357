from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from audiofeat.config import load_config
from audiofeat.exceptions import AudioFileError, ParameterError
from audiofeat.features import AudioSettings, FeatureConfig, FeatureExtractor, MelSettings, StftSettings
from audiofeat.functional.mdct import mdct
from audiofeat.functional.psychoacoustic import masking_threshold
from audiofeat.functional.spectral import GANSYNTH_LOWRES, instantaneous_frequency, log_magnitude, stft


@pytest.fixture
def clip(tmp_path, rng):
    t = np.arange(20000) / 16000
    x = 0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t) + 0.01 * rng.standard_normal(t.size)
    path = tmp_path / "clip.wav"
    sf.write(path, x.astype(np.float32), 16000, subtype="FLOAT")
    return path


def test_every_feature_matches_the_functional_it_names(clip):
    config = FeatureConfig(features=("log_mag", "if", "mel", "mdct", "threshold"),
                           audio=AudioSettings(normalize=False), mel=MelSettings(n_mels=64))
    features, offsets = FeatureExtractor(config)(clip)
    assert offsets.tolist() == [0]
    waveform = torch.from_numpy(sf.read(clip, dtype="float32")[0][:16384])[None, None]
    spec = stft(waveform, **GANSYNTH_LOWRES.as_kwargs() | {"n_frames": None})
    np.testing.assert_allclose(features["log_mag"], log_magnitude(spec).numpy(), atol=1e-5)
    np.testing.assert_allclose(features["if"], instantaneous_frequency(spec).numpy(), atol=1e-5)
    coeffs = mdct(waveform, n_bins=128, norm="mp3net")
    np.testing.assert_allclose(features["mdct"], coeffs.numpy(), atol=1e-7)
    np.testing.assert_allclose(features["threshold"], masking_threshold(coeffs, sample_rate=16000).numpy(), rtol=1e-5)
    assert features["log_mag"].shape == (1, 1, 512, 64)
    assert features["mel"].shape == (1, 1, 64, 64)
    assert all(v.dtype == np.float32 for v in features.values())


def test_shipped_feature_configs_load_and_run(clip):
    for name in ("embedded", "oneshots", "music"):
        config = load_config(f"pipelines/features/{name}.toml", FeatureConfig)
        features, _ = FeatureExtractor(config)(clip) if config.audio.mode == "oneshot" else (None, None)
        if features is not None:
            assert set(features) == set(config.features)
    music = load_config("pipelines/features/music.toml", FeatureConfig)
    with pytest.raises(AudioFileError, match="less than one window"):
        FeatureExtractor(music)(clip)


def test_threshold_needs_the_mp3net_scale():
    config = FeatureConfig(features=("threshold",), audio=AudioSettings(length=1024))
    with pytest.raises(ParameterError, match="mp3net"):
        FeatureExtractor(load_config(None, FeatureConfig, ['features=["threshold"]', 'mdct.norm="ortho"'])
                         ).compute(torch.zeros(1, 1, 1024))
    assert FeatureExtractor(config).compute(torch.zeros(1, 1, 1024))["threshold"].shape == (1, 1, 128, 9)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"features": ()}, "non-empty"), ({"features": ("cqt",)}, "cqt"), ({"features": ("mdct", "mdct")}, "twice"),
    ({"audio": AudioSettings(channels=3)}, "audio.channels"), ({"audio": AudioSettings(length=0)}, "audio.length")])
def test_bad_feature_configs(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        FeatureConfig(**kwargs)


def test_stft_settings_map_onto_a_layout():
    layout = StftSettings(n_fft=256, hop_length=128, padding="end", drop_bin="nyquist").layout()
    assert layout.n_freq == 128 and layout.win_length is None and layout.n_frames is None
