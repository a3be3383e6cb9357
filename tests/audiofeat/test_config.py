from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from audiofeat.config import apply_overrides, config_from_dict, config_hash, config_to_dict, load_config
from audiofeat.exceptions import ConfigError


@dataclass(frozen=True)
class Optim:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)


@dataclass(frozen=True)
class Model:
    name: str = "dcgan"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    steps: int = 10
    loss: Literal["hinge", "wgan-gp"] = "hinge"
    seed: int | None = None
    amp: bool = False
    tags: tuple[str, ...] = ()
    optim: Optim = Optim()
    model: Model = Model()


def write(path, text):
    path.write_text(text)
    return path


def test_defaults_from_empty_table():
    assert config_from_dict(Run, {}) == Run()


def test_tables_map_onto_nested_frozen_dataclasses(tmp_path):
    path = write(tmp_path / "a.toml", """
steps = 5
loss = "wgan-gp"
tags = ["x", "y"]
[optim]
lr = 2
betas = [0.5, 0.9]
[model]
name = "cgan"
[model.kwargs]
z_dim = 64
""")
    cfg = load_config(path, Run)
    assert cfg == Run(steps=5, loss="wgan-gp", tags=("x", "y"), optim=Optim(lr=2.0, betas=(0.5, 0.9)),
                      model=Model(name="cgan", kwargs={"z_dim": 64}))
    assert isinstance(cfg.optim.lr, float)  # an integer is accepted for a float field
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3  # type: ignore[misc]


def test_extends_deep_merges_in_order(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "root.toml", "steps = 1\n[optim]\nlr = 0.5\nbetas = [0.1, 0.2]\n")
    write(tmp_path / "base" / "mid.toml", 'extends = "root.toml"\nsteps = 2\n[optim]\nlr = 0.25\n')
    child = write(tmp_path / "child.toml", 'extends = "base/mid.toml"\n[model]\nname = "x"\n')
    cfg = load_config(child, Run)
    assert cfg.steps == 2
    assert cfg.optim == Optim(lr=0.25, betas=(0.1, 0.2))
    assert cfg.model.name == "x"


def test_extends_list_and_cycles(tmp_path):
    write(tmp_path / "a.toml", "steps = 1\namp = true\n")
    write(tmp_path / "b.toml", "steps = 2\n")
    both = write(tmp_path / "c.toml", 'extends = ["a.toml", "b.toml"]\n')
    cfg = load_config(both, Run)
    assert (cfg.steps, cfg.amp) == (2, True)
    write(tmp_path / "loop1.toml", 'extends = "loop2.toml"\n')
    write(tmp_path / "loop2.toml", 'extends = "loop1.toml"\n')
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "loop1.toml", Run)


def test_overrides_parse_toml_values_and_fall_back_to_strings(tmp_path):
    path = write(tmp_path / "a.toml", "steps = 1\n")
    cfg = load_config(path, Run, ["steps=7", "optim.lr=1e-4", "optim.betas=[0.5, 0.9]", "amp=true",
                                  "model.name=cgan", "model.kwargs.z_dim=32", 'loss="wgan-gp"', "seed=3"])
    assert cfg.steps == 7 and cfg.optim.lr == 1e-4 and cfg.optim.betas == (0.5, 0.9) and cfg.amp
    assert cfg.model == Model(name="cgan", kwargs={"z_dim": 32})
    assert cfg.loss == "wgan-gp" and cfg.seed == 3
    # repeated keys: the last one wins
    assert load_config(path, Run, ["steps=2", "steps=9"]).steps == 9


def test_overrides_without_file_start_from_defaults():
    assert load_config(None, Run, ["steps=4"]) == Run(steps=4)


def test_unknown_keys_list_the_allowed_keys(tmp_path):
    path = write(tmp_path / "a.toml", "[optim]\nlearning_rate = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, Run)
    message = str(info.value)
    assert "optim.learning_rate" in message and "allowed keys: betas, lr" in message and str(path) in message
    allowed = "allowed keys: amp, loss, model, optim, seed, steps, tags"
    with pytest.raises(ConfigError, match=f"unknown key.*stepz.*{allowed}"):
        load_config(None, Run, ["stepz=3"])


@pytest.mark.parametrize("override, pattern", [
    ("steps=1.5", "steps must be an integer"),
    ("steps=true", "steps must be an integer"),
    ("amp=1", "amp must be true or false"),
    ("loss=l2", "loss must be one of 'hinge', 'wgan-gp'"),
    ("optim.betas=[1]", r"optim.betas must be a list of 2 values"),
    ("optim=3", "optim must be a table"),
    ("tags=[1]", r"tags\[0\] must be a string"),
])
def test_wrong_types_name_the_key(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(None, Run, [override])


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_malformed_overrides(bad):
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides({}, [bad])


def test_override_into_a_value_is_refused():
    with pytest.raises(ConfigError, match="steps is a value, not a table"):
        apply_overrides({"steps": 1}, ["steps.x=1"])


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", Run)
    bad = write(tmp_path / "bad.toml", "steps = = 1\n")
    with pytest.raises(ConfigError, match="bad.toml: invalid TOML"):
        load_config(bad, Run)


def test_hash_and_dict_are_canonical():
    a = Run(tags=("x",), optim=Optim(lr=0.1))
    assert config_to_dict(a)["tags"] == ["x"]
    assert config_hash(a) == config_hash(config_from_dict(Run, config_to_dict(a)))
    assert config_hash(a) != config_hash(Run())
    assert len(config_hash(a)) == 40


def test_shipped_dataset_config_loads():
    from audiofeat.datasets.synthetic import OneShotsConfig

    cfg = load_config("pipelines/datasets/embedded.toml", OneShotsConfig)
    assert cfg.sample_rate == 16000 and cfg.per_subclass == 32 and cfg.styles == ("electronic", "acoustic")
