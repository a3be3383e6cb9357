"""Makes the unmaintained ``mdct`` 0.4 package (and its ``stft`` 0.5.2 dependency) work on modern SciPy/NumPy.

Both packages use names that SciPy and NumPy have since removed. :func:`import_mdct` puts those
names back at run time, as attributes on the already imported modules (site-packages is never
edited), and returns the working ``mdct`` module:

- ``scipy.signal.kaiser`` (imported by ``mdct.windows`` at import time) -> ``scipy.signal.windows.kaiser``;
- ``numpy.lib.pad`` (``stft.utils.pad``/``center_pad``, ``stft.stft.process``) -> ``numpy.pad``;
- ``scipy.real`` (``stft.stft.iprocess``) -> ``numpy.real``;
- ``stft.utils.unpad`` and ``stft.utils.center_unpad`` index an array with a *list* of slices, which
  NumPy now reads as a fancy index; they are replaced by versions that index with a tuple.

The added names stay in place for the rest of the process (they are only ever added where missing).

Conventions of ``mdct.mdct(x, framelength=2N)`` (checked in ``tests/audiofeat/test_mdct.py``): sine
window by default, hop ``N``, ``N`` zeros of centre padding at each end and the signal zero-padded
at the end to a multiple of ``2N`` (so it may carry one extra, all-zero frame); its coefficients are
exactly our ``mdct(x, norm="ortho", truncate=False)`` (orthonormal, phase ``+N/2``, no extra scale:
``mdct.fast.transforms.mdct`` scales by ``sqrt(2) * sqrt(1/N)`` and ``stft.spectrogram`` divides by
``framelength // hopsize // 2 = 1``). ``mdct.mdst`` is the sine-kernel twin, so our
``norm="mp3net"`` equals ``(-1)^k mdct.mdst(x) / sqrt(4N)``. ``mdct.windows.kaiser_derived(2N, beta)``
is our ``kbd_window(2N, alpha=beta / pi)``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import scipy
import scipy.signal
import scipy.signal.windows


def _unpad(data: np.ndarray, outlength: int | None) -> np.ndarray:
    index = [slice(None)] * data.ndim
    index[0] = slice(None, outlength)
    return data[tuple(index)]


def _center_unpad(data: np.ndarray, framelength: int) -> np.ndarray:
    index = [slice(None)] * data.ndim
    index[0] = slice(framelength // 2, -framelength // 2)
    return data[tuple(index)]


def _add_missing(owner: object, name: str, value: object) -> None:
    if not hasattr(owner, name):
        setattr(owner, name, value)


def import_mdct() -> ModuleType:
    """Restores the removed names (idempotent) and returns the imported ``mdct`` package."""
    _add_missing(scipy.signal, "kaiser", scipy.signal.windows.kaiser)
    _add_missing(np.lib, "pad", np.pad)
    _add_missing(scipy, "real", np.real)
    stft_utils = importlib.import_module("stft.utils")
    stft_utils.unpad = _unpad
    stft_utils.center_unpad = _center_unpad
    return importlib.import_module("mdct")
