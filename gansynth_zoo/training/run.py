"""A training run: a numbered run folder, its resolved config, and the trainer from scratch or from
the latest intact checkpoint."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from audiofeat.config import config_hash, config_to_dict
from audiofeat.exceptions import ConfigError
from gansynth_zoo.builders import build_critic_transform, build_data, build_state, trainer_settings
from gansynth_zoo.config import RunConfig
from gansynth_zoo.training.checkpoint import load_latest_intact
from gansynth_zoo.training.distributed import SINGLE, Ranks
from gansynth_zoo.training.loop import Trainer

__all__ = ["new_run_dir", "run_training"]


def new_run_dir(root: str | Path, config: RunConfig) -> Path:
    """``root/{id:05d}-{name}-{sha1[:8]}`` with the next free id (StyleGAN numbering + config hash)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.name)
    run_dir = root / f"{max(ids, default=-1) + 1:05d}-{safe_name}-{config_hash(config)[:8]}"
    run_dir.mkdir()
    return run_dir


def run_training(config: RunConfig, *, out: str | Path = "runs", device: torch.device | str = "cpu",
                 resume: str | Path | None = None, status: Callable[[str], None] | None = None,
                 on_step: Callable[[int, dict[str, float]], None] | None = None, ranks: Ranks = SINGLE) -> Path:
    """Trains a run from scratch in a new numbered folder under ``out``, or resumes ``resume``.

    The resolved config is written to ``config.json`` before the first step, with the process group
    it ran in (``distributed``). Under ``torchrun`` every rank calls this with its ``ranks``
    (:func:`gansynth_zoo.training.distributed.join`); rank 0 alone creates and writes the run folder,
    whose path it sends to the others. Returns the run folder.
    """
    device = torch.device(device)
    data = build_data(config)
    found = None
    if resume is not None:
        run_dir = Path(resume)
        found = load_latest_intact(run_dir, warn=status if ranks.main else None)
        if found is None:
            raise ConfigError(f"{run_dir} has no readable checkpoint to resume from")
    else:
        run_dir = ranks.broadcast(new_run_dir(out, config) if ranks.main else None)
    state = build_state(config, data, device)
    trainer = Trainer(trainer_settings(config), state, data, run_dir, device, status,
                      critic_transform=build_critic_transform(config, data, device), on_step=on_step, ranks=ranks)
    if found is not None:
        checkpoint_path, checkpoint = found
        trainer.restore(checkpoint)  # before config.json is rewritten: a failed resume changes nothing
        if status and ranks.main:
            status(f"resumed {run_dir} from {checkpoint_path.name} (step {state.step})")
    if ranks.main:
        ran = replace(config.distributed, world_size=ranks.world_size, backend=ranks.backend,
                      batch_per_rank=trainer.local_batch)
        (run_dir / "config.json").write_text(json.dumps(config_to_dict(replace(config, distributed=ran)),
                                                        indent=2) + "\n")
    trainer.fit()
    return run_dir
