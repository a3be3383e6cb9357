"""Training throughput: examples per second of the shared trainer against a bare PyTorch loop.

For each CPU config (``demo`` on the embedded one-shots, ``cgan-oneshots`` on the real ones) the
models are built from the config with the data's shape and label count (a random stand-in of that
shape, so no cache is needed: a step costs the same on any data). Two loops then run the same
number of steps from the same initial weights:

* the trainer: :meth:`gansynth_zoo.training.loop.Trainer.fit` with the config's loss, batch size,
  balanced batches, EMA, its logging every ``log_every`` steps and the one checkpoint it writes at
  the end;
* the bare loop: the same hinge-loss D and G updates (with the config's mode-seeking term, whose
  second latent batch runs through G as one doubled batch), Adam and EMA written directly, batches
  drawn with one ``torch.randint``.

One step is one D update and one G update on a batch of ``train.batch_size`` real examples (and as
many generated ones). The overhead is trainer time / bare time - 1; the target is <= 10 %.
Each figure is the median of several timed repeats; one CPU thread, like the other benchmarks.
"""
from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import Section, torch_threads
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import RunConfig, load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.training import losses
from gansynth_zoo.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]

#: (label, run config, number of labels of its data)
SETTINGS = [("demo (embedded, 10 subclasses)", "demo", 10),
            ("cgan-oneshots (real, 13 subclasses)", "cgan-oneshots", 13)]


def _stand_in(config: RunConfig, n_labels: int, n_classes: int = 3, n: int = 320) -> TrainingData:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % n_labels
    c = torch.cat([torch.nn.functional.one_hot(labels % n_classes, n_classes),
                   torch.nn.functional.one_hot(labels, n_labels)], dim=1).float()
    x = torch.rand(n, *config.data.shape, generator=generator) * 2 - 1
    return TrainingData(x, labels, c, tuple(f"c{i % n_classes}/s{i}" for i in range(n_labels)),
                        {"source": "stand-in", "shape": list(config.data.shape)})


def _config(name: str, steps: int = 0) -> RunConfig:
    return load_config(ROOT / "pipelines/configs" / f"{name}.toml", [f"train.steps={steps}"] if steps else [])


def _trainer_seconds(name: str, data: TrainingData, steps: int) -> float:
    config = _config(name, steps)
    state = builders.build_state(config, data, torch.device("cpu"))
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(trainer_settings(config), state, data, run_dir, torch.device("cpu"))
        start = time.perf_counter()
        trainer.fit()
        return time.perf_counter() - start


def _bare_seconds(name: str, data: TrainingData, steps: int) -> float:
    config = _config(name)
    torch.manual_seed(config.train.seed)
    G, D, _ = builders.build_models(config, data.shape, data.c_dim, len(data.label_names))
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    o = config.optim
    opt_g = torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=o.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=o.betas)
    batch, z_dim = config.train.batch_size, config.model.z_dim
    G.train()
    D.train()
    start = time.perf_counter()
    for _ in range(steps):
        index = torch.randint(len(data), (batch,))
        real, c = data.x[index], data.c[index]
        with torch.no_grad():
            fake = G(torch.randn(batch, z_dim), c)
        loss_d = losses.d_hinge(D(real, c).score, D(fake, c).score)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        c = data.c[torch.randint(len(data), (batch,))]
        weight = config.loss.mode_seeking
        if weight:  # MSGAN: a second latent per example, in one doubled batch
            z = torch.randn(2 * batch, z_dim)
            fake = G(z, torch.cat([c, c]))
            loss_g = losses.g_hinge(D(fake, torch.cat([c, c])).score) + weight * losses.mode_seeking(
                fake[:batch], fake[batch:], z[:batch], z[batch:])
        else:
            loss_g = losses.g_hinge(D(G(torch.randn(batch, z_dim), c), c).score)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.lerp_(p, 1 - config.train.ema_decay)
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
    return time.perf_counter() - start


def run(quick: bool = False) -> list[Section]:
    """One table; ``quick``: 2 steps, one repeat (a smoke check, not a result)."""
    steps, repeats = (2, 1) if quick else (40, 5)
    section = Section("Training throughput: trainer against a bare PyTorch loop (1 CPU thread)",
                      ["config", "batch", "steps", "bare loop (examples/s)", "trainer (examples/s)", "overhead"])
    worst = -float("inf")
    with torch_threads(1):
        for label, name, n_labels in SETTINGS:
            config = _config(name)
            data = _stand_in(config, n_labels)
            _trainer_seconds(name, data, 2), _bare_seconds(name, data, 2)  # warm-up
            bare, trainer = [], []
            for _ in range(repeats):  # interleaved, so drifts of the machine hit both alike
                bare.append(_bare_seconds(name, data, steps))
                trainer.append(_trainer_seconds(name, data, steps))
            bare_s, trainer_s = sorted(bare)[len(bare) // 2], sorted(trainer)[len(trainer) // 2]
            examples = steps * config.train.batch_size
            overhead = trainer_s / bare_s - 1
            worst = max(worst, overhead)
            section.rows.append([label, str(config.train.batch_size), str(steps), f"{examples / bare_s:.0f}",
                                 f"{examples / trainer_s:.0f}", f"{overhead:+.1%}"])
    verdict = "met" if worst <= 0.10 else "missed"
    section.notes.append(f"Target: the trainer costs at most 10 % over the bare loop; worst overhead here "
                         f"{worst:+.1%} ({verdict}). Medians of {repeats} interleaved repeats of {steps} steps.")
    return [section]
