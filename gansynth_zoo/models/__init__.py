"""Built-in models; importing this package registers them in :data:`gansynth_zoo.registry.MODELS`."""
from __future__ import annotations

from gansynth_zoo.models import cgan, dcgan, gansynth, mp3net, sngan
from gansynth_zoo.registry import register_model

register_model("dcgan", dcgan.Generator, dcgan.Discriminator)
register_model("cgan", cgan.Generator, cgan.Discriminator)
register_model("gansynth", gansynth.Generator, gansynth.Discriminator)
register_model("mp3net", mp3net.Generator, mp3net.Discriminator)
register_model("sngan", sngan.Generator, sngan.Discriminator)
