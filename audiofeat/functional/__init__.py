"""Pure tensor functions: the maths behind every module in :mod:`audiofeat.transforms`."""
from __future__ import annotations

from audiofeat.functional.mdct import imdct, kbd_window, mdct, sine_window, vorbis_window
from audiofeat.functional.normalization import (
    GANSYNTH_IF_AFFINE,
    GANSYNTH_LOG_MAG_AFFINE,
    AffineNorm,
    BinStatistics,
    affine_denormalize,
    affine_normalize,
    compand,
    destandardize,
    expand,
    standardize,
)
from audiofeat.functional.phase import griffinlim, pghi_phase, spectral_convergence
from audiofeat.functional.psychoacoustic import (
    bark_to_hz,
    hz_to_bark,
    masking_threshold,
    masking_threshold_from_matrices,
    perceptual_entropy,
    psychoacoustic_hard_filter,
    psychoacoustic_matrices,
    psychoacoustic_noise,
    psychoacoustic_soft_filter,
    spreading_function,
    threshold_in_quiet,
    tonality,
)
from audiofeat.functional.spectral import (
    GANSYNTH_HIRES,
    GANSYNTH_LOWRES,
    SPECGAN,
    StftLayout,
    StftPadding,
    amplitude_to_db,
    instantaneous_frequency,
    istft,
    log_mag_if_to_spec,
    log_mag_if_to_waveform,
    log_magnitude,
    log_mel,
    log_mel_spectrogram,
    log_spectrogram,
    magnitude,
    mel_filterbank,
    mel_to_magnitude,
    phase_from_instantaneous_frequency,
    spec_to_log_mag_if,
    stft,
    stft_padding,
    waveform_to_log_mag_if,
)
