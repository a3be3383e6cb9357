"""The shared GAN training loop.

One *step* is ``n_critic`` discriminator updates followed by one generator update. Every random
number comes from generators stored in the checkpoint (latents, gradient-penalty mixing, batch
indices) or from torch's global generator (dropout), whose state is stored too: a run that is
interrupted and resumed produces the same losses as one that was not. Under ``torchrun`` each
process trains its share of every batch (:mod:`.distributed`, which says how the random draws are
split between the ranks).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from audiofeat._files import atomic_path
from audiofeat.exceptions import AudiofeatError
from gansynth_zoo.config import LossConfig, OptimConfig, TrainConfig
from gansynth_zoo.data.dataset import Batch, TrainingData
from gansynth_zoo.training import losses
from gansynth_zoo.training.augment import augment
from gansynth_zoo.training.checkpoint import FORMAT_VERSION, list_checkpoints, save_atomic
from gansynth_zoo.training.distributed import SINGLE, LossModule, Ranks, check_batch, step_seed
from gansynth_zoo.training.ema import ema_decay_at, update_ema
from gansynth_zoo.training.progressive import grow
from gansynth_zoo.training.snapshots import Snapshots
from gansynth_zoo.training.tensorboard import TensorBoardLog

__all__ = ["CriticTransform", "TrainState", "Trainer", "TrainingDiverged"]

#: Applied to every discriminator input before the discriminator sees it: ``transform(x, aux)``,
#: with the batch's ``aux`` for real data and ``None`` for generated data. The gradient penalty
#: mixes the transformed inputs. MP3Net adds its psychoacoustic noise here.
CriticTransform = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


class TrainingDiverged(AudiofeatError, RuntimeError):
    """A loss became NaN or infinite; the message names the step and the losses."""


@dataclass
class TrainState:
    """Everything that changes during training (DAC's ``State``)."""

    G: nn.Module
    D: nn.Module
    G_ema: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    z_generator: torch.Generator
    data_generator: torch.Generator
    step: int = 0
    model: dict[str, Any] = field(default_factory=dict)  # name and constructor kwargs of G and D


@dataclass(frozen=True)
class TrainerSettings:
    """The parts of a run config the training loop reads.

    Attributes:
        train, loss, optim: the run config's tables of the same names.
        z_dim: latent size of the generator.
        conditional: whether the models see the batch's conditioning vectors (else an empty ``c``).
        record: the resolved run config as a plain dict, written into every checkpoint.
    """

    train: TrainConfig
    loss: LossConfig
    optim: OptimConfig
    z_dim: int
    conditional: bool
    record: dict[str, Any]


class Trainer:
    """Runs and checkpoints a :class:`TrainState` on a :class:`TrainingData`.

    Args:
        settings: what the loop reads of the run config (:func:`gansynth_zoo.builders.trainer_settings`).
        state: models, optimisers and random generators.
        data: the training set (on the CPU; batches are moved to ``device``).
        run_dir: where ``metrics.jsonl`` and checkpoints go.
        device: where the models are.
        status: called with a one-line status every ``log_every`` steps (the CLI prints it).
        on_step: called after every step with the step number and that step's scalars (the CLI's
            progress bar).
        ranks: this process's place in a ``torchrun`` process group (default: one process). Only
            rank 0 writes to ``run_dir``; the logged scalars are means over the ranks.
    """

    def __init__(self, settings: TrainerSettings, state: TrainState, data: TrainingData, run_dir: str | Path,
                 device: torch.device, status: Callable[[str], None] | None = None,
                 critic_transform: CriticTransform | None = None,
                 on_step: Callable[[int, dict[str, float]], None] | None = None, ranks: Ranks = SINGLE):
        self.settings = settings
        self.critic_transform = critic_transform
        self.state = state
        self.data = data
        self.run_dir = Path(run_dir)
        self.device = device
        self.status = status if ranks.main else None
        self.on_step = on_step if ranks.main else None
        self.ranks = ranks
        self.local_batch = check_batch(settings.train.batch_size, ranks)
        self.snapshots = (Snapshots(data, settings.z_dim, settings.conditional, self.run_dir, settings.train.seed + 3)
                          if settings.train.sample_every and ranks.main else None)
        self.z_dim = settings.z_dim
        self.amp = settings.train.amp and device.type == "cuda"
        # the per-example draws besides latents and batches: a rank's own stream when grouped
        own = torch.Generator().manual_seed(0) if ranks.grouped else None
        self.noise_generator = own or state.z_generator      # DiffAugment, gradient-penalty mixing
        self.dropout_generator = own or state.data_generator  # condition dropout
        self.d_loss = ranks.wrap(LossModule([state.D], self._critic_losses), device)
        self.g_loss = ranks.wrap(LossModule([state.G], self._generator_losses), device)

    # --- one step ------------------------------------------------------------------------------

    def _latents(self, copies: int = 1) -> torch.Tensor:
        """``copies`` latent batches of this rank's share, ``(copies * local_batch, z_dim)``: drawn for
        the whole batch, so they do not depend on the number of ranks."""
        whole = self.settings.train.batch_size
        z = torch.randn(copies, whole, self.z_dim, generator=self.state.z_generator)
        return z[:, self.ranks.rows(whole)].reshape(-1, self.z_dim).to(self.device)

    def _batch(self) -> Batch:
        train = self.settings.train
        b = self.data.sample(train.batch_size, self.state.data_generator, balanced=train.balance_labels,
                             rows=self.ranks.rows(train.batch_size))
        if not self.settings.conditional:  # unconditional models get an empty (batch, 0) c
            b = b._replace(c=b.c[:, :0])
        elif train.condition_dropout:
            b = b._replace(c=self.data.drop_conditions(b.c, train.condition_dropout, self.dropout_generator))
        device = self.device
        return Batch(b.x.to(device, non_blocking=True), b.c.to(device, non_blocking=True),
                     b.labels.to(device, non_blocking=True),
                     None if b.aux is None else b.aux.to(device, non_blocking=True))

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _transform(self, x: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        """The discriminator's view of ``x``: the critic transform, then the DiffAugment policies."""
        x = x if self.critic_transform is None else self.critic_transform(x, aux)
        return augment(x, self.settings.loss.augment, self.noise_generator)

    def _critic(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores ``(batch,)`` and, for discriminators with a classifier head, class logits."""
        with self._autocast():
            out = self.state.D(x, c)
        return out.score.float(), None if out.logits is None else out.logits.float()

    def d_step(self) -> dict[str, torch.Tensor]:
        s = self.state
        real, c, labels, aux = self._batch()
        z = self._latents()
        with torch.no_grad(), self._autocast():
            fake = s.G(z, c).float()
        out = self.d_loss(real, aux, fake, c, labels)
        s.opt_d.zero_grad(set_to_none=True)
        out["loss/d"].backward()
        s.opt_d.step()
        return {k: v.detach() for k, v in out.items()}

    def _critic_losses(self, real: torch.Tensor, aux: torch.Tensor | None, fake: torch.Tensor, c: torch.Tensor,
                       labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's losses on a real and a generated batch; ``loss/d`` is their weighted sum."""
        cfg = self.settings.loss
        real = self._transform(real, aux)
        fake = self._transform(fake, None).detach()
        logits_real, class_logits = self._critic(real, c)
        logits_fake, _ = self._critic(fake, c)
        out: dict[str, torch.Tensor] = {}
        if cfg.kind == "nonsaturating":
            out["loss/d_adv"] = losses.d_nonsaturating(logits_real, logits_fake)
        elif cfg.kind == "hinge":
            out["loss/d_adv"] = losses.d_hinge(logits_real, logits_fake)
        else:
            out["loss/d_adv"] = losses.d_wasserstein(logits_real, logits_fake)
            out["loss/gp"] = losses.gradient_penalty(lambda x: self._critic(x, c)[0], real, fake,
                                                     generator=self.noise_generator)
        total = out["loss/d_adv"] + (cfg.gp_weight * out["loss/gp"] if "loss/gp" in out else 0.0)
        if cfg.drift:
            out["loss/drift"] = losses.drift_penalty(logits_real)
            total = total + cfg.drift * out["loss/drift"]
        if cfg.ac_weight and class_logits is not None:
            out["loss/ac_real"] = F.cross_entropy(class_logits, labels)
            total = total + cfg.ac_weight * out["loss/ac_real"]
        out["loss/d"] = total
        out["score/real"] = logits_real.detach().mean()
        out["score/fake"] = logits_fake.detach().mean()
        return out

    def _paired_outputs(self, z_1: torch.Tensor, z_2: torch.Tensor,
                        c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """G's outputs for two latent batches under the same random state, so that a generator with
        dropout draws the same masks for both and the pair differs only through the latents. (With one
        doubled batch the masks differ, and a generator can satisfy the mode-seeking term with dropout
        noise that is gone at sampling time: in the MNIST cGAN it did, and collapsed.)"""
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # restores the state the first pass started from
            fake_1 = self.state.G(z_1, c).float()
        return fake_1, self.state.G(z_2, c).float()

    def g_step(self) -> dict[str, torch.Tensor]:
        s = self.state
        real, c, labels, _ = self._batch()
        pairs = self.settings.loss.mode_seeking > 0
        s.D.requires_grad_(False)  # G's step needs D's input gradients only
        try:
            out = self.g_loss(self._latents(2 if pairs else 1), c, real, labels)
            s.opt_g.zero_grad(set_to_none=True)
            out["loss/g"].backward()
        finally:
            s.D.requires_grad_(True)
        s.opt_g.step()
        update_ema(s.G_ema, s.G, ema_decay_at(self.settings.train.ema_decay, s.step))
        return {k: v.detach() for k, v in out.items()}

    def _generator_losses(self, z: torch.Tensor, c: torch.Tensor, real: torch.Tensor,
                          labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """G's losses for latents ``z`` (two batches of pairs with mode seeking); ``loss/g`` is their sum."""
        cfg, s = self.settings.loss, self.state
        n = c.shape[0]
        pairs = cfg.mode_seeking > 0
        c_all = torch.cat([c, c]) if pairs else c
        with self._autocast():
            fake = torch.cat(self._paired_outputs(z[:n], z[n:], c)) if pairs else s.G(z, c).float()
        logits_fake, class_logits = self._critic(self._transform(fake, None), c_all)
        out: dict[str, torch.Tensor] = {}
        if cfg.kind == "nonsaturating":
            out["loss/g_adv"] = losses.g_nonsaturating(logits_fake)
        elif cfg.kind == "hinge":
            out["loss/g_adv"] = losses.g_hinge(logits_fake)
        else:
            out["loss/g_adv"] = losses.g_wasserstein(logits_fake)
        total = out["loss/g_adv"]
        if pairs:
            out["loss/ms"] = losses.mode_seeking(fake[:n], fake[n:], z[:n], z[n:])
            total = total + cfg.mode_seeking * out["loss/ms"]
        if cfg.band_matching:
            out["loss/bands"] = losses.band_moments(fake, real)
            total = total + cfg.band_matching * out["loss/bands"]
        if cfg.level_matching:
            out["loss/level"] = losses.clip_level_moments(fake, real, exponent=cfg.level_exponent,
                                                          eps=cfg.level_eps)
            total = total + cfg.level_matching * out["loss/level"]
        if cfg.ac_weight and class_logits is not None:
            out["loss/ac_fake"] = F.cross_entropy(class_logits, torch.cat([labels, labels]) if pairs else labels)
            total = total + cfg.ac_weight * out["loss/ac_fake"]
        out["loss/g"] = total
        return out

    def _grow(self) -> None:
        """Sets the progressive stage and fade of both networks from the images seen so far."""
        train = self.settings.train
        for net in (self.state.G, self.state.D):
            grow(net, self.state.step * train.batch_size, stable_images=train.stable_images,
                 fade_images=train.fade_images)

    def _schedule(self) -> None:
        """Sets both learning rates for this step (``optim.decay_start``)."""
        optim = self.settings.optim
        scale = optim.lr_scale(self.state.step, self.settings.train.steps)
        for opt, lr in ((self.state.opt_g, optim.lr_g), (self.state.opt_d, optim.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def train_step(self) -> dict[str, float]:
        """``n_critic`` discriminator updates and one generator update; returns the step's scalars
        (means over the ranks)."""
        self._grow()
        self._schedule()
        if self.ranks.grouped:  # this rank's own streams, reseeded from the step (see .distributed)
            seed, step, rank = self.settings.train.seed, self.state.step, self.ranks.rank
            self.noise_generator.manual_seed(step_seed(seed, step, rank, 0))
            torch.manual_seed(step_seed(seed, step, rank, 1))  # seed + 1 would be the next rank's stream 0
        self.state.G.train()
        self.state.D.train()
        values: dict[str, torch.Tensor] = {}
        for _ in range(self.settings.loss.n_critic):
            for key, value in self.d_step().items():
                values[key] = values.get(key, 0.0) + value.float() / self.settings.loss.n_critic
        values.update(self.g_step())
        means = self.ranks.mean(torch.stack([v.float().reshape(()) for v in values.values()])).tolist()
        self.state.step += 1
        scalars = dict(zip(values, means))
        bad = {k: v for k, v in scalars.items() if not math.isfinite(v)}
        if bad:  # the same on every rank, so they all stop
            latest = list_checkpoints(self.run_dir)
            where = f"the last good checkpoint is {latest[-1]}" if latest else "no checkpoint was written yet"
            raise TrainingDiverged(f"non-finite loss at step {self.state.step}: "
                                   f"{', '.join(f'{k}={v}' for k, v in bad.items())}; {where}")
        return scalars

    # --- the loop ------------------------------------------------------------------------------

    def fit(self) -> TrainState:
        """Trains until ``train.steps``, logging and checkpointing on the way.

        Each ``metrics.jsonl`` record holds the step, ``sec_per_step`` (wall time per step since the
        previous record), the mean of every scalar since the previous record and, for energy
        estimates, ``cpu_seconds`` and ``wall_seconds``: the process CPU time
        (:func:`time.process_time`, summed over all threads of the process, so it can exceed the
        wall time) and the wall time spent in this call of ``fit`` so far, checkpoints and logging
        included. After a resume they count from the resume, not from step 0. CPU time does not
        include work done on a GPU (``peak_gpu_mb`` is logged on CUDA). With ``train.tensorboard`` the
        records and snapshots are also written as TensorBoard events (:mod:`.tensorboard`).
        """
        train = self.settings.train
        board = (TensorBoardLog(self.run_dir / "tensorboard", resumed_at=self.state.step)
                 if train.tensorboard and self.ranks.main else None)
        try:
            self._fit(board)
        finally:
            if board is not None:
                board.close()
        return self.state

    def _fit(self, board: TensorBoardLog | None) -> None:
        train = self.settings.train
        window: dict[str, list[float]] = {}
        last_time, last_step = time.perf_counter(), self.state.step
        start_time, start_cpu = last_time, time.process_time()
        while self.state.step < train.steps:
            scalars = self.train_step()
            for key, value in scalars.items():
                window.setdefault(key, []).append(value)
            step = self.state.step
            if self.on_step:
                self.on_step(step, scalars)
            if self.ranks.main and (step % train.log_every == 0 or step == train.steps):
                now = time.perf_counter()
                sec_per_step = (now - last_time) / max(step - last_step, 1)
                record = {"step": step, "sec_per_step": round(sec_per_step, 5),
                          "cpu_seconds": round(time.process_time() - start_cpu, 3),
                          "wall_seconds": round(now - start_time, 3),
                          **{k: sum(v) / len(v) for k, v in window.items()}}
                if self.device.type == "cuda":
                    record["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
                with open(self.run_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(record) + "\n")
                if board is not None:
                    board.scalars(record)
                if self.status:
                    losses_text = " ".join(f"{k.split('/')[-1]}={v:.4g}" for k, v in record.items()
                                           if k.startswith("loss/"))
                    self.status(f"step {step}/{train.steps} {sec_per_step:.3f} s/step {losses_text}")
                window.clear()
                last_time, last_step = now, step
            if self.snapshots is not None and step % train.sample_every == 0:
                folder = self.snapshots.write(self.state.G_ema, step)
                if board is not None:
                    board.snapshot(folder, step)
            if self.ranks.main and (step % train.checkpoint_every == 0 or step == train.steps):
                self.save()

    # --- checkpoints ---------------------------------------------------------------------------

    def checkpoint_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "format_version": FORMAT_VERSION,
            "step": s.step,
            "model": s.model,
            "G": s.G.state_dict(), "D": s.D.state_dict(), "G_ema": s.G_ema.state_dict(),
            "opt_g": s.opt_g.state_dict(), "opt_d": s.opt_d.state_dict(),
            "config": self.settings.record,
            "data": self.data.info,
            "label_names": list(self.data.label_names),
            "world_size": self.ranks.world_size,
            "rng": {"z": s.z_generator.get_state(), "data": s.data_generator.get_state(),
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def save(self) -> Path:
        """Writes ``ckpt-{step}.pt`` and ``generator.pt`` atomically and prunes old checkpoints."""
        s = self.state
        path = save_atomic(_to_cpu(self.checkpoint_dict()), self.run_dir / f"ckpt-{s.step:08d}.pt")
        save_atomic(_to_cpu({"format_version": FORMAT_VERSION, "step": s.step, "model_name": s.model["name"],
                             "generator_kwargs": s.model["generator"], "G_ema": s.G_ema.state_dict(),
                             "z_dim": self.z_dim, "data": self.data.info,
                             "label_names": list(self.data.label_names),
                             "conditioning": self.data.conditioning(torch.arange(len(self.data.label_names)))}),
                    self.run_dir / "generator.pt")
        for old in list_checkpoints(self.run_dir)[:-self.settings.train.keep_checkpoints]:
            old.unlink()
        return path

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Loads a checkpoint written by :meth:`save` into the state (models, optimisers, RNGs) and
        drops the run's metric records of later steps, which the resumed run logs again.

        A checkpoint of a different number of processes resumes with a warning: the batches and
        latents stay those of the run, but each rank's share, its own random streams and its batch
        statistics change, so the run is no longer the one it would have been."""
        s = self.state
        s.G.load_state_dict(checkpoint["G"])
        s.D.load_state_dict(checkpoint["D"])
        s.G_ema.load_state_dict(checkpoint["G_ema"])
        s.opt_g.load_state_dict(checkpoint["opt_g"])
        s.opt_d.load_state_dict(checkpoint["opt_d"])
        s.z_generator.set_state(checkpoint["rng"]["z"])
        s.data_generator.set_state(checkpoint["rng"]["data"])
        torch.set_rng_state(checkpoint["rng"]["torch"])
        if checkpoint["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
        s.step = int(checkpoint["step"])
        saved = int(checkpoint.get("world_size", 1))
        if saved != self.ranks.world_size and self.status:
            self.status(f"warning: the checkpoint of step {s.step} was trained on {saved} process(es) and resumes "
                        f"on {self.ranks.world_size}: each rank's share of a batch, its random streams and its "
                        "batch statistics change, so the resumed run is not exactly the one it would have been")
        if self.ranks.main:
            self._forget_metrics_after(s.step)

    def _forget_metrics_after(self, step: int) -> None:
        """Drops the ``metrics.jsonl`` records an interrupted run logged after its last checkpoint,
        and a last line the interruption cut short (atomically): the resumed run logs those steps again."""
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        text = path.read_text()
        complete = [line for line in text.splitlines(keepends=True) if line.endswith("\n")]
        kept = "".join(line for line in complete if json.loads(line)["step"] <= step)
        if kept != text:
            with atomic_path(path) as tmp:
                tmp.write_text(kept)


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
