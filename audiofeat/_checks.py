"""Private validators that raise `ParameterError` naming the argument and its value."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from audiofeat.exceptions import ParameterError


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_range(name: str, value: Any, low: float, high: float) -> float:
    """Checks ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ParameterError(f"{name} must be in [{low}, {high}], got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_tensor(name: str, value: Any, *, min_dim: int = 1, floating: bool = True) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ParameterError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() < min_dim:
        raise ParameterError(f"{name} must have at least {min_dim} dimension(s), got shape {tuple(value.shape)}")
    if floating and not value.is_floating_point():
        raise ParameterError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value
