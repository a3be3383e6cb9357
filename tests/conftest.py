"""Shared fixtures: a seeded numpy generator, a torch generator and a cpu/cuda device parameter."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

# The suite runs many tiny tensor operations, often beside subprocesses and DataLoader workers; on
# two cores, OpenMP threads waiting for each other cost far more than they bring.
torch.set_num_threads(1)


def _devices() -> list:
    cuda = pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            not torch.cuda.is_available() and os.environ.get("REQUIRE_GPU") != "1",
            reason="CUDA is not available (set REQUIRE_GPU=1 to make this a failure)",
        ),
    )
    return ["cpu", cuda]


@pytest.fixture(params=_devices())
def device(request) -> torch.device:
    """Runs a test on CPU and on CUDA; CUDA is skipped without a GPU unless REQUIRE_GPU=1."""
    return torch.device(request.param)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(20261121)


@pytest.fixture
def report_script():
    """``report_script(NAME)``: report/NAME.py loaded as a module (a script, not a package module);
    its click command is ``.main``."""
    def load(name: str):
        path = Path(__file__).parents[1] / "report" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
