"""audiofeat: audio I/O, spectral transforms, MDCT, psychoacoustics and HDF5 feature caches.

audiofeat never imports gansynth_zoo; it is meant to be reused on any dataset.
"""
from __future__ import annotations

__version__ = "0.1.0"

from audiofeat.exceptions import AudiofeatError, AudioFileError, ConfigError, ParameterError

__all__ = ["AudioFileError", "AudiofeatError", "ConfigError", "ParameterError", "__version__"]
