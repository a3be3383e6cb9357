"""The built-in (generator, discriminator) pairs; :mod:`gansynth_zoo.registry` names them."""
