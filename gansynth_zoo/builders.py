"""The only code that maps run configs to objects: a :class:`RunConfig` becomes data, models, the
critic's input transform and a training state (:mod:`gansynth_zoo.training.run` runs them)."""
from __future__ import annotations

import inspect
from typing import Any

import torch

from audiofeat.config import config_to_dict
from audiofeat.exceptions import ConfigError
from gansynth_zoo.config import RunConfig
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.data.mnist import MnistSplit
from gansynth_zoo.data.sources import load_training_data
from gansynth_zoo.models.sngan import level_quantiles
from gansynth_zoo.nn.psychoacoustic import PsychoacousticNoise
from gansynth_zoo.registry import build_model, model_spec
from gansynth_zoo.training.ema import make_ema
from gansynth_zoo.training.loop import TrainerSettings, TrainState

#: quantiles of the real levels that ``level_quantiles = "data"`` gives the generator
LEVEL_POINTS = 65

__all__ = ["build_critic_transform", "build_data", "build_models", "build_state", "model_kwargs",
           "state_for_models", "trainer_settings"]


def build_data(config: RunConfig, split: MnistSplit = "train") -> TrainingData:
    d = config.data
    return load_training_data(d.source, split=split, limit=d.limit, path=d.path, features=d.features,
                              normalization=d.normalization, frames=d.frames, genres=d.genres)


def model_kwargs(config: RunConfig, shape: tuple[int, ...], c_dim: int, n_labels: int = 0,
                 data: TrainingData | None = None) -> dict[str, Any]:
    """Constructor kwargs of G and D: the config's tables plus what the data decide (shape, c_dim and,
    with an auxiliary-classifier loss, the number of labels for D's classifier head).

    ``level_quantiles = "data"`` in the generator's table becomes the quantiles of ``data``'s levels
    (:func:`gansynth_zoo.models.sngan.level_quantiles`); without ``data`` (summaries, memory
    estimates) a placeholder of the same size, which changes no shape."""
    m = config.model
    if config.data.shape and tuple(config.data.shape) != tuple(shape):
        raise ConfigError(f"data.shape = {list(config.data.shape)} but the data give {list(shape)}")
    c_dim = c_dim if m.conditional else 0
    spec = model_spec(m.name)
    generator = {"z_dim": m.z_dim, "c_dim": c_dim, "shape": list(shape), **m.generator}
    if generator.get("level_quantiles") == "data":
        exponent = generator.get("level_exponent", 1.0)
        generator["level_quantiles"] = (level_quantiles(data.x, exponent, LEVEL_POINTS) if data is not None
                                        else [float(i) for i in range(LEVEL_POINTS)])
    discriminator = {"c_dim": c_dim, "shape": list(shape), **m.discriminator}
    if config.loss.ac_weight and n_labels and "n_classes_aux" in inspect.signature(spec.discriminator).parameters:
        discriminator.setdefault("n_classes_aux", n_labels)
    return {"name": m.name, "generator": generator, "discriminator": discriminator}


def build_models(config: RunConfig, shape: tuple[int, ...], c_dim: int, n_labels: int = 0,
                 data: TrainingData | None = None) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    info = model_kwargs(config, shape, c_dim, n_labels, data)
    G = build_model(info["name"], "generator", info["generator"])
    D = build_model(info["name"], "discriminator", info["discriminator"])
    return G, D, info


def build_critic_transform(config: RunConfig, data: TrainingData,
                           device: torch.device) -> PsychoacousticNoise | None:
    """MP3net's psychoacoustic noise when ``loss.psychoacoustic_noise`` is on (else ``None``), with the
    sample rate and Bark parameters of the cache the real thresholds come from."""
    if not config.loss.psychoacoustic_noise:
        return None
    representation = data.info.get("representation", {})
    if data.aux is None or representation.get("features") != ["mdct"]:
        raise ConfigError("loss.psychoacoustic_noise needs the MDCT alone as model input and its masking "
                          "threshold beside it: a cache with the mdct and threshold features, and "
                          "data.features = ['mdct']")
    features = representation["feature_config"]
    return PsychoacousticNoise(sample_rate=features["audio"]["sample_rate"], n_bins=data.shape[1],
                               n_bark_bands=features["psychoacoustic"]["n_bark_bands"],
                               alpha=features["psychoacoustic"]["alpha"], shape=config.loss.noise_shape,
                               scale="cbrt" if representation.get("normalization") == "cbrt" else "linear").to(device)


def state_for_models(config: RunConfig, G: torch.nn.Module, D: torch.nn.Module, info: dict) -> TrainState:
    """The training state around built models: EMA copy of G, Adam optimisers and the seeded latent and
    batch generators."""
    o = config.optim
    opt_g = torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=o.betas, eps=o.eps)
    opt_d = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=o.betas, eps=o.eps)
    return TrainState(G, D, make_ema(G), opt_g, opt_d,
                      z_generator=torch.Generator().manual_seed(config.train.seed + 1),
                      data_generator=torch.Generator().manual_seed(config.train.seed + 2), model=info)


def build_state(config: RunConfig, data: TrainingData, device: torch.device) -> TrainState:
    """Seeded models on ``device`` and their training state (:func:`state_for_models`)."""
    torch.manual_seed(config.train.seed)
    G, D, info = build_models(config, data.shape, data.c_dim, len(data.label_names), data)
    return state_for_models(config, G.to(device), D.to(device), info)


def trainer_settings(config: RunConfig) -> TrainerSettings:
    """What :class:`gansynth_zoo.training.loop.Trainer` reads of ``config``."""
    return TrainerSettings(train=config.train, loss=config.loss, optim=config.optim, z_dim=config.model.z_dim,
                           conditional=config.model.conditional, record=config_to_dict(config))
