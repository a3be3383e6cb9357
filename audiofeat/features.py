"""Feature-extraction configs and the extractor that turns one audio file into examples.

A feature config (``pipelines/features/*.toml``) says how audio is prepared (:class:`AudioSettings`)
and which features are computed from it; each feature has its own parameter table:

========== ======================================================== ==========================
name       what                                                     shape per example
========== ======================================================== ==========================
log_mag    log-magnitude STFT (``[stft]``)                          (channels, freq, frames)
if         instantaneous frequency (``[stft]``)                     (channels, freq, frames)
mel        log-mel spectrogram (``[stft]`` and ``[mel]``)           (channels, n_mels, frames)
mdct       MDCT coefficients (``[mdct]``)                           (channels, n_bins, frames)
threshold  masking threshold of the MDCT (``[mdct]``, ``[psychoacoustic]``) (channels, n_bins, frames)
========== ======================================================== ==========================

Two example layouts (``audio.mode``):

- ``"oneshot"``: one example per file, cropped or padded to ``audio.length`` samples;
- ``"windows"``: the file is cut into windows of ``audio.length`` samples every ``audio.hop``
  samples (the tail that does not fill a window is dropped; a file shorter than one window is skipped).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from audiofeat.exceptions import AudioFileError, ParameterError
from audiofeat.functional.mdct import mdct
from audiofeat.functional.psychoacoustic import masking_threshold
from audiofeat.functional.spectral import (
    StftLayout,
    instantaneous_frequency,
    log_magnitude,
    log_mel,
    mel_filterbank,
    stft,
)
from audiofeat.io import load_audio

__all__ = ["FEATURES", "AudioSettings", "FeatureConfig", "FeatureExtractor", "MdctSettings",
           "MelSettings", "PsychoacousticSettings", "StftSettings"]

FEATURES = ("log_mag", "if", "mel", "mdct", "threshold")


@dataclass(frozen=True)
class AudioSettings:
    """How files are read (see :func:`audiofeat.io.load_audio`).

    Attributes:
        sample_rate: target rate in Hz.
        channels: 1 (mono mix) or 2 (stereo; mono files are duplicated).
        mode: ``"oneshot"`` or ``"windows"`` (module docstring).
        length: samples per example.
        hop: windows mode: samples between window starts (0 means ``length``: no overlap).
        crop: oneshot mode: which part of a long file is kept.
        pad: oneshot mode: where a short file is padded with silence.
        normalize: peak-normalise each file to 0.999 before cropping (one gain per file).
        min_duration: files shorter than this (seconds) are skipped as too short.
    """

    sample_rate: int = 16000
    channels: int = 1
    mode: Literal["oneshot", "windows"] = "oneshot"
    length: int = 16384
    hop: int = 0
    crop: Literal["start", "center", "end"] = "start"
    pad: Literal["end", "start", "both"] = "end"
    normalize: bool = True
    min_duration: float = 0.02


@dataclass(frozen=True)
class StftSettings:
    """STFT geometry for ``log_mag``, ``if`` and ``mel`` (:class:`audiofeat.functional.StftLayout`).

    The defaults are GANSynth's low-resolution layout for one-second clips: 16,384 samples give
    64 frames of 512 bins (DC dropped, all padding in front). ``win_length = 0`` means ``n_fft`` and
    ``n_frames = 0`` means ``ceil(length / hop_length)``.
    """

    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 0
    padding: Literal["center", "front", "end", "none"] = "front"
    pad_mode: Literal["constant", "reflect"] = "constant"
    n_frames: int = 0
    drop_bin: Literal["none", "dc", "nyquist"] = "dc"
    eps: float = 1e-6

    def layout(self):
        return StftLayout(n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length or None,
                          padding=self.padding, pad_mode=self.pad_mode, n_frames=self.n_frames or None,
                          drop_bin=self.drop_bin)


@dataclass(frozen=True)
class MelSettings:
    """Log-mel: ``log(mel @ |X|^power + eps)`` with an HTK-style triangular filterbank."""

    n_mels: int = 128
    f_min: float = 0.0
    f_max: float = 0.0  # 0 means the Nyquist frequency
    power: float = 2.0


@dataclass(frozen=True)
class MdctSettings:
    n_bins: int = 128
    window: Literal["vorbis", "sine", "kbd"] = "vorbis"
    norm: Literal["mp3net", "ortho"] = "mp3net"


@dataclass(frozen=True)
class PsychoacousticSettings:
    n_bark_bands: int = 24
    alpha: float = 0.6


@dataclass(frozen=True)
class FeatureConfig:
    """A whole feature config file."""

    features: tuple[str, ...] = ("log_mag",)
    audio: AudioSettings = AudioSettings()
    stft: StftSettings = StftSettings()
    mel: MelSettings = MelSettings()
    mdct: MdctSettings = MdctSettings()
    psychoacoustic: PsychoacousticSettings = PsychoacousticSettings()
    description: str = ""

    def mel_filterbank(self) -> torch.Tensor:
        """The ``(n_mels, freq)`` filterbank of the ``mel`` feature (``[mel]`` on the ``[stft]`` bins)."""

        return mel_filterbank(sample_rate=self.audio.sample_rate, n_fft=self.stft.n_fft, n_mels=self.mel.n_mels,
                              f_min=self.mel.f_min, f_max=self.mel.f_max or None, drop_bin=self.stft.drop_bin)

    def __post_init__(self) -> None:
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown or not self.features:
            raise ParameterError(f"features must be a non-empty list of {', '.join(FEATURES)}; "
                                 f"got {list(self.features)}")
        if len(set(self.features)) != len(self.features):
            raise ParameterError(f"features lists a feature twice: {list(self.features)}")
        if self.audio.channels not in (1, 2):
            raise ParameterError(f"audio.channels must be 1 or 2, got {self.audio.channels}")
        if self.audio.length <= 0 or self.audio.hop < 0:
            raise ParameterError(f"audio.length must be positive and audio.hop non-negative, got "
                                 f"{self.audio.length} and {self.audio.hop}")


class FeatureExtractor:
    """Callable that reads one file and returns its examples.

    ``extractor(path_or_file, name=...)`` returns ``(features, offsets)``: a dict mapping each
    configured feature to a float32 array ``(examples, channels, freq, frames)``, and the start
    sample of each example in the resampled file. Unusable audio raises
    :class:`audiofeat.AudioFileError` naming the file.
    """

    def __init__(self, config: FeatureConfig):
        self.config = config
        self._fbank: torch.Tensor | None = None

    def __call__(self, source, *, name: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        audio = self.config.audio
        oneshot = audio.mode == "oneshot"
        waveform, _ = load_audio(
            source, sample_rate=audio.sample_rate, channels=audio.channels, normalize=audio.normalize,
            min_duration=audio.min_duration, name=name,
            length=audio.length if oneshot else None, crop=audio.crop, pad=audio.pad)
        if oneshot:
            batch, offsets = waveform[None], np.zeros(1, dtype=np.int64)
        else:
            hop = audio.hop or audio.length
            if waveform.shape[-1] < audio.length:
                raise AudioFileError(name or str(source), f"too short: {waveform.shape[-1] / audio.sample_rate:.2f} s "
                                     f"is less than one window of {audio.length / audio.sample_rate:.2f} s")
            batch = waveform.unfold(-1, audio.length, hop).transpose(0, 1).contiguous()
            offsets = np.arange(batch.shape[0], dtype=np.int64) * hop
        with torch.inference_mode():
            computed = self.compute(batch)
        return {k: v.numpy() for k, v in computed.items()}, offsets

    def compute(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of a batch ``(examples, channels, samples)``, each ``(examples, channels, freq, frames)``."""
        cfg = self.config
        wanted = set(cfg.features)
        out: dict[str, torch.Tensor] = {}
        if wanted & {"mdct", "threshold"}:
            coeffs = mdct(waveform, n_bins=cfg.mdct.n_bins, window=cfg.mdct.window, norm=cfg.mdct.norm)
            if "mdct" in wanted:
                out["mdct"] = coeffs
            if "threshold" in wanted:
                if cfg.mdct.norm != "mp3net":
                    raise ParameterError("the threshold feature needs mdct.norm = 'mp3net' (its 120 dB calibration)")
                out["threshold"] = masking_threshold(coeffs, sample_rate=cfg.audio.sample_rate,
                                                     n_bark_bands=cfg.psychoacoustic.n_bark_bands,
                                                     alpha=cfg.psychoacoustic.alpha)
        if wanted & {"log_mag", "if", "mel"}:
            out.update(self._spectral(waveform, wanted))
        return {name: out[name].float().contiguous() for name in cfg.features}

    def _spectral(self, waveform: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        cfg = self.config
        layout = cfg.stft.layout()
        spec = stft(waveform, **layout.as_kwargs())
        out = {}
        if "log_mag" in wanted:
            out["log_mag"] = log_magnitude(spec, eps=cfg.stft.eps)
        if "if" in wanted:
            out["if"] = instantaneous_frequency(spec)
        if "mel" in wanted:
            if self._fbank is None:
                self._fbank = cfg.mel_filterbank()
            out["mel"] = log_mel(spec, fbank=self._fbank.to(spec.real.dtype), power=cfg.mel.power, eps=cfg.stft.eps)
        return out
