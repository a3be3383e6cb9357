"""Built-in models; importing this package registers them in :data:`gansynth_zoo.registry.MODELS`."""
from __future__ import annotations

from gansynth_zoo.models import cgan, dcgan
from gansynth_zoo.registry import register_model

register_model("dcgan", dcgan.Generator, dcgan.Discriminator)
register_model("cgan", cgan.Generator, cgan.Discriminator)
