"""In-memory training sets: images or features with labels and conditioning vectors.

Batches are drawn with replacement from a seeded ``torch.Generator``, so a run is reproducible
and a resumed run draws exactly the batches the uninterrupted run would have drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch

from audiofeat.exceptions import ConfigError

__all__ = ["Batch", "TrainingData"]


class Batch(NamedTuple):
    """A training batch: ``x`` as the models see it, conditioning ``c``, label indices and the
    optional auxiliary tensor (MP3Net: the masking threshold of ``x``)."""

    x: torch.Tensor
    c: torch.Tensor
    labels: torch.Tensor
    aux: torch.Tensor | None


@dataclass
class TrainingData:
    """Attributes:
        x: ``(N, channels, height, width)`` float32, already in the range the models see.
        labels: ``(N,)`` int64 label index (digit, or subclass index for audio).
        c: ``(N, c_dim)`` float32 conditioning vectors.
        label_names: the name of each label index.
        info: a JSON-able description stored in checkpoints (source, shape, vocabulary, feature params).
        aux: optional ``(N, ...)`` tensor drawn with ``x`` (MP3Net's precomputed thresholds).
        genre_names: the genres of the last ``len(genre_names)`` columns of ``c`` (empty: none).
    """

    x: torch.Tensor
    labels: torch.Tensor
    c: torch.Tensor
    label_names: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)
    aux: torch.Tensor | None = None
    genre_names: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x.shape[1:])  # type: ignore[return-value]

    @property
    def c_dim(self) -> int:
        return self.c.shape[1]

    def __len__(self) -> int:
        return self.x.shape[0]

    def sample(self, batch_size: int, generator: torch.Generator, *, balanced: bool = False,
               rows: slice | None = None) -> Batch:
        """A batch drawn with replacement: uniformly over the examples, or with ``balanced`` uniformly
        over the labels present and then over that label's examples (rare labels as often as common
        ones). ``rows`` keeps only those rows of the drawn batch (a rank's share of it); the draws
        are those of the whole batch."""
        if balanced:
            order = torch.argsort(self.labels, stable=True)
            present, counts = torch.unique_consecutive(self.labels[order], return_counts=True)
            starts = torch.cumsum(counts, 0) - counts
            pick = torch.randint(len(present), (batch_size,), generator=generator)
            offset = (torch.rand(batch_size, generator=generator) * counts[pick]).long()
            index = order[starts[pick] + offset]
        else:
            index = torch.randint(len(self), (batch_size,), generator=generator)
        if rows is not None:
            index = index[rows]
        return Batch(self.x[index], self.c[index], self.labels[index], None if self.aux is None else self.aux[index])

    def drop_conditions(self, c: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
        """``c`` with each row's category part (class and subclass) zeroed with probability ``p``, and
        independently its genre part, so that a model learns the marginals "any category" and "any
        genre" beside the joint (the condition dropout of classifier-free guidance)."""
        keep = (torch.rand(2, c.shape[0], generator=generator) >= p).to(c.dtype)
        split = self.c_dim - len(self.genre_names)
        return torch.cat([c[:, :split] * keep[0, :, None], c[:, split:] * keep[1, :, None]], dim=1)

    def subset(self, count: int) -> TrainingData:
        """The first ``count`` examples."""
        return TrainingData(self.x[:count], self.labels[:count], self.c[:count], self.label_names, self.info,
                            None if self.aux is None else self.aux[:count], self.genre_names)

    def conditioning(self, labels: torch.Tensor) -> torch.Tensor:
        """Conditioning vectors for label indices (the ``c`` of any example with that label), with the
        genre part, if any, left zero: "any genre"."""
        table = torch.zeros(len(self.label_names), self.c_dim)
        table[self.labels] = self.c
        table[:, self.c_dim - len(self.genre_names):] = 0
        return table[labels]
