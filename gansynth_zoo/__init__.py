"""gansynth_zoo: audio GANs (DCGAN, cGAN, GANSynth-style spectrogram GAN, MP3Net) trained from audiofeat caches."""
from __future__ import annotations

from audiofeat import __version__

__all__ = ["__version__"]
