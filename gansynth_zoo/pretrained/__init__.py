"""Generators that ship inside the package, so that sampling works right after install with no data
and no training: ``gansynth-zoo sample --pretrained NAME --class drums/kick --out DIR``.

Each ``NAME.pt`` is the ``generator.pt`` of a recorded run (EMA weights, model arguments, label
names and feature parameters; docs/results.md has the run, its command and its metrics). ``PRETRAINED``
says where each comes from and under which licence its training data are.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from audiofeat.exceptions import ParameterError

__all__ = ["PRETRAINED", "pretrained_path"]

#: name -> what it was trained on, and the licence of that data.
PRETRAINED: dict[str, str] = {
    "demo": "`make demo` (pipelines/configs/demo.toml) on the embedded synthetic one-shots in two styles "
            "(genres), which this project generates itself (audiofeat.datasets.synthetic): no third-party data",
    "oneshots": "`make train-cgan` (pipelines/configs/cgan-oneshots.toml) on the real one-shots of "
                "`make data-oneshots`: Debian's hydrogen-drumkits, hydrogen-data, sonic-pi-samples and "
                "lmms-common (GPL-2/GPL-2+, CC0, CC-BY-3.0, CC-BY-SA-3.0 and MIT per file; docs/data.md)",
}


def pretrained_path(name: str) -> Path:
    """The file of a shipped generator.

    Raises:
        ValueError: an unknown name, or a name whose file is not in this installation.
    """
    if name not in PRETRAINED:
        raise ParameterError(f"unknown pretrained generator {name!r}; shipped: {', '.join(PRETRAINED)}")
    path = Path(str(resources.files(__name__) / f"{name}.pt"))
    if not path.is_file():
        raise ParameterError(f"pretrained generator {name!r} is not in this installation ({path} is missing)")
    return path
