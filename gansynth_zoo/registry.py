"""The model registry: a name maps to a generator class and a discriminator class.

Every generator is called as ``G(z, c)`` and every discriminator as ``D(x, c)``, which returns a
:class:`gansynth_zoo.nn.layers.Critique` (scores, and class logits or ``None``); ``c_dim = 0``
means unconditional (``c`` is then an empty ``(batch, 0)`` tensor). Constructors take plain keyword
arguments, checked against their signatures by :func:`build_model` so that a config typo is an error
that lists the accepted names.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from torch import nn

from audiofeat.exceptions import ConfigError
from gansynth_zoo.models import cgan, dcgan, gansynth, mp3net, sngan

__all__ = ["MODELS", "ModelSpec", "build_model", "model_spec", "register_model"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    generator: type[nn.Module]
    discriminator: type[nn.Module]


#: Every model by name: the built-in pairs, plus any added with :func:`register_model`.
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("dcgan", dcgan.Generator, dcgan.Discriminator),
    ModelSpec("cgan", cgan.Generator, cgan.Discriminator),
    ModelSpec("gansynth", gansynth.Generator, gansynth.Discriminator),
    ModelSpec("mp3net", mp3net.Generator, mp3net.Discriminator),
    ModelSpec("sngan", sngan.Generator, sngan.Discriminator),
)}


def register_model(name: str, generator: type[nn.Module], discriminator: type[nn.Module]) -> ModelSpec:
    """Adds a (generator, discriminator) pair under ``name``, e.g. from a user's own module."""
    if name in MODELS:
        raise ConfigError(f"model {name!r} is already registered")
    MODELS[name] = ModelSpec(name, generator, discriminator)
    return MODELS[name]


def model_spec(name: str) -> ModelSpec:
    """The registered pair called ``name`` (raises ConfigError naming the registered ones)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; registered models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


#: Argument names of runs recorded before every model took the same names: old -> new.
_RENAMED = {"minibatch_std": "mbstd_group", "mbstd_group_size": "mbstd_group"}


def _current_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of a recorded run in today's names: ``shape`` for DCGAN's ``channels`` and
    ``image_size`` (square images), ``mbstd_group`` for the older spellings."""
    kwargs = {_RENAMED.get(key, key): value for key, value in kwargs.items()}
    if "image_size" in kwargs:
        size = kwargs.pop("image_size")
        kwargs["shape"] = [kwargs.pop("channels", 1), size, size]
    return kwargs


def build_model(name: str, part: str, kwargs: dict[str, Any]) -> nn.Module:
    """Builds ``part`` (``"generator"`` or ``"discriminator"``) of model ``name`` from keyword arguments.

    Raises:
        ConfigError: unknown model, or arguments the constructor does not take (the message lists
            the accepted ones).
    """
    cls = getattr(model_spec(name), part)
    kwargs = _current_kwargs(kwargs)
    signature = inspect.signature(cls)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        accepted = ", ".join(p for p in signature.parameters if p != "self")
        raise ConfigError(f"{name} {part}: {error}; accepted arguments: {accepted}") from None
    return cls(**kwargs)
