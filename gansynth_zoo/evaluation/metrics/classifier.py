"""A small convolutional classifier for evaluation: its accuracy on generated examples measures
conditioning, and its penultimate layer is the embedding for Fréchet distance and KID.

It is trained here, on the real training split of the same data, so no pretrained network is
downloaded; its held-out accuracy is stored with its weights.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audiofeat.progress import Progress
from gansynth_zoo.training.checkpoint import save_atomic

__all__ = ["Classifier", "accuracy", "embed", "load_classifier", "per_class_accuracy", "predict", "save_classifier",
           "train_classifier"]


class Classifier(nn.Module):
    """Conv blocks (3x3 conv + batch norm + ReLU, then 2x2 max-pool) and global average pooling,
    then a ``embed_dim`` ReLU layer (the embedding) and a linear layer to the class logits.

    Args:
        shape: input ``(channels, height, width)``.
        n_classes: number of labels.
        channels: output channels of each block (pooling stops once a side reaches 1).
        embed_dim: size of the embedding.
    """

    def __init__(self, shape: tuple[int, int, int] | list[int], n_classes: int,
                 channels: tuple[int, ...] | list[int] = (32, 64, 128), embed_dim: int = 128,
                 dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        ch_in, h, w = shape
        for ch in channels:
            layers += [nn.Conv2d(ch_in, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]
            pool = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
            if pool != (1, 1):
                layers.append(nn.MaxPool2d(pool))
                h, w = h // pool[0], w // pool[1]
            ch_in = ch
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embedding = nn.Sequential(nn.Linear(ch_in, embed_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(embed_dim, n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


@torch.no_grad()
def _batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, device: torch.device,
             batch_size: int = 500) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])


def predict(model: Classifier, x: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Class probabilities ``(n, n_classes)`` (eval mode, batched)."""
    model.eval()
    return _batched(lambda b: model(b).softmax(dim=1), x, torch.device(device))


def embed(model: Classifier, x: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Embeddings ``(n, embed_dim)`` (eval mode, batched)."""
    model.eval()
    return _batched(model.embed, x, torch.device(device))


def train_classifier(x: torch.Tensor, y: torch.Tensor, *, n_classes: int, x_val: torch.Tensor, y_val: torch.Tensor,
                     steps: int = 2000, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                     device: torch.device | str = "cpu",
                     augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                     status: Callable[[str], None] | None = None, progress: Progress | None = None,
                     **kwargs: Any) -> tuple[Classifier, dict[str, Any]]:
    """Trains a :class:`Classifier` with Adam and a one-cycle schedule. ``status`` gets a line every 500
    steps; ``progress`` (:mod:`audiofeat.progress`) hears ``("train classifier", step, steps)``.

    Returns:
        ``(model, info)`` where ``info`` holds the constructor kwargs, the steps and the validation
        accuracy and loss.
    """
    device = torch.device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    init = {"shape": list(x.shape[1:]), "n_classes": n_classes, **kwargs}
    model = Classifier(**init).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 1))
    model.train()
    for step in range(steps):
        index = torch.randint(len(x), (batch_size,), generator=generator)
        batch = x[index]
        if augment is not None:
            batch = augment(batch, generator)
        loss = F.cross_entropy(model(batch.to(device)), y[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress:
            progress("train classifier", step + 1, steps)
        if status and (step + 1) % 500 == 0:
            status(f"classifier step {step + 1}/{steps} loss {loss.item():.4f}")
    probs = predict(model, x_val, device)
    info = {"kwargs": init, "steps": steps, "val_accuracy": float((probs.argmax(1) == y_val).float().mean()),
            "val_loss": float(F.nll_loss(probs.clamp_min(1e-12).log(), y_val)), "val_examples": len(y_val)}
    return model.eval(), info


def save_classifier(model: Classifier, info: dict[str, Any], path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    return save_atomic({"format_version": 1, "info": info, "state_dict": state},
                       path)


def load_classifier(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[Classifier, dict[str, Any]]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    model = Classifier(**data["info"]["kwargs"])
    model.load_state_dict(data["state_dict"])
    return model.to(device).eval(), data["info"]


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return float((probs.argmax(1) == labels).float().mean())


def per_class_accuracy(probs: torch.Tensor, labels: torch.Tensor, n_classes: int) -> list[float]:
    hits = (probs.argmax(1) == labels).float().numpy()
    labels_np = labels.numpy()
    return [float(hits[labels_np == k].mean()) if np.any(labels_np == k) else float("nan") for k in range(n_classes)]
