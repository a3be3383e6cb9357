"""Every shipped run config builds and takes one optimisation step on the CPU (RAVE's config test).

MP3Net's configs are covered in test_mp3net.py. Data come from a random stand-in of the shape and
label count the config expects, so no dataset is needed; large models are narrowed with --set (the
geometry is kept) and built at full width on the meta device.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.training.loop import Trainer

CONFIGS = sorted(p for p in Path("pipelines/configs").glob("*.toml") if not p.name.startswith("mp3net"))
NARROW = {"gansynth": lambda n: [f"model.generator.channels={[4] * n}", f"model.discriminator.channels={[4] * n}"]}


def _stand_in(config, n_labels: int = 3) -> TrainingData:
    shape = tuple(config.data.shape) if config.data.shape else (1, 28, 28)
    if config.data.source in ("mnist", "digits"):
        n_labels = 10
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(16) % n_labels
    x = torch.rand(16, *shape, generator=generator) * 2 - 1
    c = torch.nn.functional.one_hot(labels, n_labels).float()
    genres = ("g0", "g1") if config.data.genres else ()
    if genres:  # two genres and examples without one
        c = torch.cat([c, torch.nn.functional.one_hot(torch.arange(16) % 3, 3)[:, :2].float()], dim=1)
    return TrainingData(x, labels, c, tuple(f"c/{i}" for i in range(n_labels)),
                        {"source": "stand-in", "shape": list(shape)}, genre_names=genres)


def test_there_are_configs():
    assert {"cgan-mnist.toml", "dcgan-mnist.toml", "demo.toml", "gansynth-hires.toml"} <= {p.name for p in CONFIGS}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_builds_at_full_size(path):
    config = load_config(path)
    if config.data.source == "cache":
        assert config.data.shape, f"{path} must declare data.shape (used by `gansynth-zoo summary`)"
    data = _stand_in(config)
    with torch.device("meta"):
        G, D, info = builders.build_models(config, data.shape, data.c_dim, len(data.label_names))
    assert sum(p.numel() for p in G.parameters()) > 0 and sum(p.numel() for p in D.parameters()) > 0
    assert info["generator"]["c_dim"] == (data.c_dim if config.model.conditional else 0)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_takes_one_step_on_cpu(path, tmp_path):
    base = load_config(path)
    narrow = NARROW.get(base.model.name, lambda n: [])(len(base.model.generator.get("channels", [])))
    config = load_config(path, [*narrow, "train.steps=1", "train.batch_size=4", "train.log_every=1",
                                "train.checkpoint_every=1"])
    data = _stand_in(config)
    state = builders.build_state(config, data, torch.device("cpu"))
    Trainer(trainer_settings(config), state, data, tmp_path, torch.device("cpu")).fit()
    record = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert record["step"] == 1 and all(torch.isfinite(torch.tensor(v)) for k, v in record.items() if "/" in k)
    checkpoint = torch.load(tmp_path / "ckpt-00000001.pt", map_location="cpu", weights_only=True)
    assert checkpoint["model"]["name"] == config.model.name
    assert (tmp_path / "generator.pt").exists()
