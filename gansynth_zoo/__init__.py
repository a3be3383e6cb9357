"""gansynth_zoo: audio GANs (DCGAN, cGAN, GANSynth-style spectrogram GAN, MP3Net) trained from audiofeat caches.

The package in the order data flows through it:

- :mod:`.config` (the run config as frozen dataclasses) and :mod:`.builders`, the only code that
  maps a config to objects;
- :mod:`.data`: the in-memory training set (:mod:`.data.dataset`), where it comes from
  (:mod:`.data.sources`: MNIST, audiofeat caches) and the :class:`~.data.cache.Representation` that
  turns cached features into model tensors and back into audio;
- :mod:`.nn` (shared layers, MP3Net's psychoacoustic noise) and :mod:`.models`, the
  (generator, discriminator) pairs, named by the static table of :mod:`.registry`;
- :mod:`.training`: the trainer (:mod:`.training.loop`), its losses, augmentation, EMA,
  progressive-growing protocol and checkpoints, and :func:`.training.run.run_training`, one run;
- :mod:`.evaluation`: the digit, spectrogram and MDCT suites, real-time factors and the metrics
  they share; :mod:`.synthesis` writes samples as files; :mod:`.pretrained` ships generators;
- :mod:`.tools`: model summaries, memory estimates, the study tables and image grids;
- :mod:`.cli`, the ``gansynth-zoo`` command, the one place that prints.

There are no import cycles and no imports hidden inside functions but of optional dependencies;
``tests/test_imports.py`` checks both.
"""
from __future__ import annotations

from audiofeat import __version__

__all__ = ["__version__"]
