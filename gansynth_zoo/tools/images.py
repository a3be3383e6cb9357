"""Image grids written as PNG with the standard library (no plotting dependency needed)."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

__all__ = ["image_grid", "write_png"]


def image_grid(images: torch.Tensor, nrow: int, *, padding: int = 2,
               value_range: tuple[float, float] = (-1, 1)) -> np.ndarray:
    """Tiles ``(n, 1 or 3, h, w)`` images into a uint8 ``(H, W)`` or ``(H, W, 3)`` array, ``nrow`` per row."""
    low, high = value_range
    x = ((images.detach().float().cpu().clamp(low, high) - low) / (high - low) * 255).round().to(torch.uint8).numpy()
    n, ch, h, w = x.shape
    rows = -(-n // nrow)
    grid = np.zeros((ch, rows * (h + padding) + padding, nrow * (w + padding) + padding), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid[0] if ch == 1 else grid.transpose(1, 2, 0)


def write_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Writes a uint8 ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB) array as a PNG file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    colour = 2 if array.ndim == 3 else 0
    height, width = array.shape[:2]
    raw = b"".join(b"\x00" + row.tobytes() for row in array)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path
