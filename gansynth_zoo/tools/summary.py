"""Per-block output shapes and parameter counts of a model, from one forward pass.

Run it on models built on the meta device (``with torch.device("meta"): ...``) to inspect full-size
configs without allocating their weights or activations, as ``gansynth-zoo summary`` does.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

__all__ = ["LayerRow", "format_layer_table", "layer_table"]


class LayerRow(NamedTuple):
    """One row of :func:`layer_table`.

    Attributes:
        name: the child's attribute name (``blocks.3`` for element 3 of a ``ModuleList``).
        shape: its output shape without the batch dimension (``None``: not called by ``forward``).
        parameters: its parameter count.
    """

    name: str
    shape: tuple[int, ...] | None
    parameters: int


def _parts(model: nn.Module) -> list[tuple[str, nn.Module]]:
    parts = []
    for name, child in model.named_children():
        if isinstance(child, nn.ModuleList):
            parts += [(f"{name}.{i}", grandchild) for i, grandchild in enumerate(child)]
        else:
            parts.append((name, child))
    return parts


def layer_table(model: nn.Module, *inputs: torch.Tensor) -> list[LayerRow]:
    """Runs ``model(*inputs)`` in eval mode without gradients and records each part's output shape.

    The parts are the direct children of ``model``, with ``nn.ModuleList`` children expanded into
    their elements, in registration order.

    Args:
        model: any module whose children return tensors.
        inputs: a batch for ``model.forward`` (on the model's device, which may be ``meta``).

    Returns:
        One :class:`LayerRow` per part.
    """
    parts = _parts(model)
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [module.register_forward_hook(
        lambda _module, _args, output, name=name: shapes.__setitem__(name, tuple(output.shape[1:])))
        for name, module in parts]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(*inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return [LayerRow(name, shapes.get(name), sum(p.numel() for p in module.parameters()))
            for name, module in parts]


def format_layer_table(title: str, rows: list[LayerRow], total: int) -> str:
    """The rows as aligned text under ``title: {total:,} parameters``."""
    width = max([len(row.name) for row in rows] + [5])
    lines = [f"{title}: {total:,} parameters",
             f"  {'layer':<{width}}  {'output shape (per example)':<28} parameters"]
    for row in rows:
        shape = "-" if row.shape is None else " x ".join(str(s) for s in row.shape) or "scalar"
        lines.append(f"  {row.name:<{width}}  {shape:<28} {row.parameters:>10,}")
    return "\n".join(lines)
