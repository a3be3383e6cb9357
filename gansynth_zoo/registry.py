"""The model registry: a name maps to a generator class and a discriminator class.

Every generator is called as ``G(z, c)`` and every discriminator as ``D(x, c)``; ``c_dim = 0``
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

__all__ = ["MODELS", "ModelSpec", "build_model", "model_spec", "register_model"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    generator: type[nn.Module]
    discriminator: type[nn.Module]


MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, generator: type[nn.Module], discriminator: type[nn.Module]) -> ModelSpec:
    """Registers a (generator, discriminator) pair under ``name``."""
    if name in MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    MODELS[name] = ModelSpec(name, generator, discriminator)
    return MODELS[name]


def model_spec(name: str) -> ModelSpec:
    """The registered pair called ``name`` (raises ConfigError naming the registered ones)."""
    import gansynth_zoo.models  # noqa: F401  (registers the built-in models)

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; registered models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(name: str, part: str, kwargs: dict[str, Any]) -> nn.Module:
    """Builds ``part`` (``"generator"`` or ``"discriminator"``) of model ``name`` from keyword arguments.

    Raises:
        ConfigError: unknown model, or arguments the constructor does not take (the message lists
            the accepted ones).
    """
    cls = getattr(model_spec(name), part)
    signature = inspect.signature(cls)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        accepted = ", ".join(p for p in signature.parameters if p != "self")
        raise ConfigError(f"{name} {part}: {error}; accepted arguments: {accepted}") from None
    return cls(**kwargs)
