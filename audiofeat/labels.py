"""Hierarchical labels and the conditioning vectors built from them.

Every example carries a label path such as ``"drums/kick"`` or ``"drums/kick/acoustic"``: the first
level is the **class**, the first two levels together are the **subclass** (so ``drums/tom`` and
``fx/tom`` are different subclasses), deeper levels are kept as metadata. A label with one level
(``"fx"``) is its own subclass.

This module is the single definition of how labels become numbers:

- integer indices ``(class_index, subclass_index)`` into the sorted vocabularies, for embeddings;
- the conditioning vector ``c = [one_hot(class_index, n_classes), one_hot(subclass_index, n_subclasses)]``
  of length ``c_dim = n_classes + n_subclasses``, for models that concatenate ``c`` to the latent.

Example with classes ``bass, drums`` and subclasses ``bass/sub, drums/kick, drums/snare``:
``"drums/snare"`` has indices ``(1, 2)`` and ``c = [0, 1 | 0, 0, 1]``.

A vocabulary may also have **genres** (a file's style, from its kit: ``electronic``, ``acoustic``,
...; :mod:`audiofeat.datasets.taxonomy`). Their one-hot part follows the other two,
``c = [class | subclass | genre]``, and an example without a genre (index -1) has zeros there, so a
model learns "genre unknown" from them. With genres ``acoustic, electronic`` an electronic snare is
``c = [0, 1 | 0, 0, 1 | 0, 1]``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from audiofeat.exceptions import ParameterError

__all__ = ["LabelVocabulary", "split_label"]


def split_label(label: str) -> tuple[str, str]:
    """``"drums/kick/acoustic"`` -> ``("drums", "drums/kick")``; ``"fx"`` -> ``("fx", "fx")``."""
    parts = [p for p in label.strip().split("/") if p]
    if not parts:
        raise ParameterError(f"label must be a non-empty 'class/subclass' path, got {label!r}")
    return parts[0], "/".join(parts[:2])


@dataclass(frozen=True)
class LabelVocabulary:
    """The sorted class and subclass names of a dataset.

    Attributes:
        classes: sorted first-level names.
        subclasses: sorted ``"class/subclass"`` names.
        genres: sorted genre names (empty: the vocabulary has no genre part).
    """

    classes: tuple[str, ...]
    subclasses: tuple[str, ...]
    genres: tuple[str, ...] = ()

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> LabelVocabulary:
        pairs = [split_label(label) for label in labels]
        return cls(tuple(sorted({c for c, _ in pairs})), tuple(sorted({s for _, s in pairs})))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_subclasses(self) -> int:
        return len(self.subclasses)

    @property
    def n_genres(self) -> int:
        return len(self.genres)

    @property
    def c_dim(self) -> int:
        """Length of the one-hot conditioning vector."""
        return self.n_classes + self.n_subclasses + self.n_genres

    def with_genres(self, genres: Iterable[str]) -> LabelVocabulary:
        """This vocabulary with the sorted distinct non-empty ``genres`` as its genre part."""
        return LabelVocabulary(self.classes, self.subclasses, tuple(sorted({g for g in genres if g})))

    def genre_index(self, genres: Sequence[str]) -> torch.Tensor:
        """``(len(genres),)`` indices into :attr:`genres`; -1 for ``""`` (no genre).

        Raises:
            ParameterError: a genre the vocabulary does not have (the message lists them).
        """
        unknown = sorted({g for g in genres if g and g not in self.genres})
        if unknown:
            raise ParameterError(f"unknown genre(s) {', '.join(unknown)}; known: {', '.join(self.genres) or 'none'}")
        return torch.tensor([self.genres.index(g) if g else -1 for g in genres], dtype=torch.long)

    def encode(self, label: str) -> tuple[int, int]:
        """``(class_index, subclass_index)`` of a label such as ``"drums/kick"``.

        Raises:
            ParameterError: the class or subclass is not in the vocabulary (the message lists them).
        """
        class_name, subclass_name = split_label(label)
        if class_name not in self.classes:
            raise ParameterError(f"unknown class {class_name!r} in label {label!r}; known: {', '.join(self.classes)}")
        if subclass_name not in self.subclasses:
            raise ParameterError(
                f"unknown subclass {subclass_name!r} in label {label!r}; known: {', '.join(self.subclasses)}")
        return self.classes.index(class_name), self.subclasses.index(subclass_name)

    def decode(self, subclass_index: int) -> str:
        return self.subclasses[subclass_index]

    def one_hot(self, class_index: torch.Tensor | np.ndarray | Sequence[int],
                subclass_index: torch.Tensor | np.ndarray | Sequence[int],
                genre_index: torch.Tensor | np.ndarray | Sequence[int] | None = None, *,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Conditioning vectors ``(batch, c_dim)`` from index tensors of shape ``(batch,)``; a genre
        index of -1, or no ``genre_index`` at all, leaves the genre part zero."""
        ci = torch.as_tensor(class_index, dtype=torch.long)
        si = torch.as_tensor(subclass_index, device=ci.device, dtype=torch.long)
        gi = torch.full_like(ci, -1) if genre_index is None else torch.as_tensor(genre_index, device=ci.device,
                                                                                   dtype=torch.long)
        if ci.shape != si.shape or ci.shape != gi.shape or ci.dim() != 1:
            raise ParameterError(f"class_index, subclass_index and genre_index must be 1-D of equal length, got "
                                 f"{tuple(ci.shape)}, {tuple(si.shape)} and {tuple(gi.shape)}")
        genre = torch.zeros(len(gi), self.n_genres + 1, dtype=torch.long, device=ci.device)
        genre[torch.arange(len(gi), device=ci.device), gi] = 1  # -1 marks the extra last column
        return torch.cat([torch.nn.functional.one_hot(ci, self.n_classes),
                          torch.nn.functional.one_hot(si, self.n_subclasses), genre[:, :-1]], dim=1).to(dtype)

    def vectors(self, labels: Sequence[str], genres: Sequence[str] | None = None, *,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Conditioning vectors ``(len(labels), c_dim)`` for label strings and, optionally, their
        genres (``""``: none)."""
        pairs = [self.encode(label) for label in labels]
        genre_index = None if genres is None else self.genre_index(genres)
        return self.one_hot([p[0] for p in pairs], [p[1] for p in pairs], genre_index, dtype=dtype)

    def subclass_to_class(self) -> list[int]:
        """For each subclass index, the index of its class."""
        return [self.classes.index(split_label(s)[0]) for s in self.subclasses]

    def to_dict(self) -> dict[str, list[str]]:
        genres = {"genres": list(self.genres)} if self.genres else {}
        return {"classes": list(self.classes), "subclasses": list(self.subclasses), **genres}

    @classmethod
    def from_dict(cls, data: dict) -> LabelVocabulary:
        return cls(tuple(data["classes"]), tuple(data["subclasses"]), tuple(data.get("genres", ())))
