"""Data-parallel training on the CPU: one process against two gloo ranks at the same whole batch.

For each CPU config of :mod:`benchmarks.bench_training` (random stand-in data of the config's shape),
the trainer runs ``steps`` steps of the config's batch:

* in one process with one thread (the peer);
* as two processes of one thread each in a gloo process group
  (:mod:`gansynth_zoo.training.distributed`), each on half of every batch, spawned here as
  ``torchrun`` would start them.

Reported: seconds per step, examples per second of the whole batch, the speed-up, and the time of
one all-reduce of a step's gradients (every parameter of G and D in float32, which DDP reduces in
buckets during the backward passes), measured alone on the same two ranks. The ideal speed-up on two
cores is 2; what is lost goes to the all-reduce, to the share of each step that does not shrink with
the batch (Adam, the EMA, the per-step seeding) and to cores shared with the system.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from benchmarks.bench_training import SETTINGS, _config, _stand_in
from benchmarks.common import Section, torch_threads
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.training.distributed import SINGLE, Ranks, leave
from gansynth_zoo.training.loop import Trainer


def _fit_seconds(name: str, n_labels: int, steps: int, ranks: Ranks, run_dir: str) -> float:
    config = _config(name, steps)
    data = _stand_in(config, n_labels)
    state = builders.build_state(config, data, torch.device("cpu"))
    Path(run_dir).mkdir(exist_ok=True)
    trainer = Trainer(trainer_settings(config), state, data, run_dir, torch.device("cpu"), ranks=ranks)
    ranks.barrier()
    start = time.perf_counter()
    trainer.fit()
    ranks.barrier()
    return time.perf_counter() - start


def _rank(rank: int, name: str, n_labels: int, steps: int, repeats: int, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    ranks = Ranks(rank, 2, "gloo")
    try:
        _fit_seconds(name, n_labels, 2, ranks, f"{folder}/warm-up")
        seconds = [_fit_seconds(name, n_labels, steps, ranks, f"{folder}/run") for _ in range(repeats)]
        data = _stand_in(_config(name), n_labels)
        G, D, _ = builders.build_models(_config(name), data.shape, data.c_dim, n_labels)
        grads = torch.zeros(sum(p.numel() for p in (*G.parameters(), *D.parameters())))
        reduce = []
        for _ in range(20):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(grads)
            reduce.append(time.perf_counter() - start)
        dist.barrier()  # gloo aborts a process that leaves while its peer is still exchanging
    finally:
        leave()
    if rank == 0:
        Path(folder, "result.json").write_text(json.dumps({"seconds": seconds, "reduce": reduce,
                                                           "parameters": grads.numel()}))


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def run(quick: bool = False) -> list[Section]:
    """One table; ``quick``: 2 steps, one repeat (a smoke check, not a result)."""
    steps, repeats = (2, 1) if quick else (40, 3)
    section = Section("Data-parallel training on the CPU: 1 process against 2 gloo ranks (1 thread each)",
                      ["config", "batch", "1 process (s/step)", "2 ranks (s/step)", "1 process (examples/s)",
                       "2 ranks (examples/s)", "speed-up", "all-reduce of G + D gradients (ms)"])
    for label, name, n_labels in SETTINGS:
        batch = _config(name).train.batch_size
        with tempfile.TemporaryDirectory() as folder, torch_threads(1):
            _fit_seconds(name, n_labels, 2, SINGLE, folder)
            one = _median([_fit_seconds(name, n_labels, steps, SINGLE, folder) for _ in range(repeats)])
        with tempfile.TemporaryDirectory() as folder:
            mp.spawn(_rank, args=(name, n_labels, steps, repeats, folder), nprocs=2, join=True)
            result = json.loads(Path(folder, "result.json").read_text())
        two, reduce_ms = _median(result["seconds"]), 1000 * _median(result["reduce"])
        section.rows.append([label, str(batch), f"{one / steps:.3f}", f"{two / steps:.3f}",
                             f"{steps * batch / one:.0f}", f"{steps * batch / two:.0f}", f"{one / two:.2f}x",
                             f"{reduce_ms:.2f} ({result['parameters'] / 1e6:.2f} M parameters)"])
    section.notes.append(f"Medians of {repeats} runs of {steps} steps after a warm-up. The all-reduce column "
                         "is one reduction of all of G's and D's parameters between the two ranks, about what "
                         "DDP exchanges per step (D's gradients in the D update, G's in the G update).")
    return [section]
