"""Data-parallel training: two gloo processes on the CPU, through ``torchrun`` and the CLI, and in
process groups spawned here for the features the CLI cannot reach on tiny data."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.training.checkpoint import latest_checkpoint, load_checkpoint
from gansynth_zoo.training.distributed import Ranks, leave, step_seed
from gansynth_zoo.training.loop import Trainer
from tests.gansynth_zoo.test_mp3net import SHRINK_CPU, _feature_config, _music
from tests.gansynth_zoo.test_training import TINY, TINY_CGAN

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
# the MLP cGAN without dropout has no batch statistics and no random masks: two ranks at half the
# batch must take the same steps as one process
NO_BATCH_STATISTICS = [*TINY_CGAN, "model.generator.dropout=0.0", "model.discriminator.dropout=0.0"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _sets(overrides: list[str]) -> list[str]:
    args = []
    for item in overrides:
        key, value = item.split("=", 1)
        if not value[:1].isdigit() and value[:1] not in "[-" and value not in ("true", "false"):
            value = json.dumps(value)  # a bare word is a TOML string
        args += ["--set", f"{key}={value}"]
    return args


def _train(args: list[str], *, nproc: int = 0, device: str = "cpu",
           timeout: float = 240) -> subprocess.CompletedProcess:
    """``gansynth-zoo train ARGS``, under ``torchrun`` with ``nproc`` processes (0: plain)."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m"]
                if nproc else [sys.executable, "-m"])
    done = subprocess.run([*launcher, "gansynth_zoo", "train", "--device", device, *args], capture_output=True,
                          text=True, env=_env(), timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _run_dir(done: subprocess.CompletedProcess) -> Path:
    lines = [line for line in done.stdout.splitlines() if line.startswith("done: ")]
    assert len(lines) == 1, done.stdout  # rank 0 alone reports
    return Path(lines[0][len("done: "):])


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _losses(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k.startswith(("step", "loss/", "score/")) and k != "sec_per_step"}
            for r in _metrics(run_dir)]


def _largest_difference(a: dict, b: dict) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())


def test_two_ranks_at_half_the_batch_take_the_steps_of_one_process(tmp_path):
    """2 x batch 4 under torchrun against 1 x batch 8: the same examples and latents, gradients averaged
    by DDP, so after 3 steps the weights agree to float32 rounding (measured: 7e-9 on weights of 0.3)."""
    args = [*_sets([*NO_BATCH_STATISTICS, "train.steps=3"]), "--out", str(tmp_path)]
    two = _run_dir(_train(args, nproc=2))
    one = _run_dir(_train(args))
    a, b = (load_checkpoint(latest_checkpoint(run)) for run in (two, one))
    for key in ("G", "D", "G_ema"):
        assert _largest_difference(a[key], b[key]) < 1e-6, key
    for x, y in zip(_metrics(two), _metrics(one), strict=True):  # logged: means over the ranks
        assert x["loss/d"] == pytest.approx(y["loss/d"], abs=1e-6)
        assert x["loss/g"] == pytest.approx(y["loss/g"], abs=1e-6)
    ran = json.loads((two / "config.json").read_text())
    assert ran["distributed"] == {"timeout_s": 300.0, "world_size": 2, "backend": "gloo", "batch_per_rank": 4}
    assert ran["train"]["batch_size"] == 8 and ran["optim"]["lr_g"] == b["config"]["optim"]["lr_g"]
    assert json.loads((one / "config.json").read_text())["distributed"]["world_size"] == 1
    assert a["world_size"] == 2 and b["world_size"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [two.name, one.name]  # nothing else written


def test_distributed_resume_is_exact_and_a_new_world_size_warns(tmp_path):
    """A 2-rank run stopped after step 3 and resumed on 2 ranks logs and ends as the straight run (with
    DiffAugment and batch norm, so every rank's own stream and statistics take part); resumed on one
    process it warns that exactness is lost and finishes."""
    base = [*TINY, "loss.kind=hinge", 'loss.augment=["translation", "cutout"]', "train.checkpoint_every=1",
            "train.keep_checkpoints=5"]
    straight = _run_dir(_train([*_sets([*base, "train.steps=4"]), "--out", str(tmp_path / "a")], nproc=2))
    stopped = _run_dir(_train([*_sets([*base, "train.steps=3"]), "--out", str(tmp_path / "b")], nproc=2))
    (stopped / "ckpt-00000003.pt").unlink()
    _train(["--resume", str(stopped), "--set", "train.steps=4"], nproc=2)
    assert _losses(stopped) == _losses(straight)
    a, b = (load_checkpoint(tmp_path / side / run.name / "ckpt-00000004.pt")
            for side, run in (("a", straight), ("b", stopped)))
    for key in ("G", "D", "G_ema"):
        assert _largest_difference(a[key], b[key]) == 0, key
    single = _train(["--resume", str(stopped), "--set", "train.steps=5"])
    assert "trained on 2 process(es) and resumes on 1" in single.stdout
    assert load_checkpoint(latest_checkpoint(stopped))["world_size"] == 1


def _process_of_rank(launcher: subprocess.Popen, rank: int) -> int:
    """The pid of a rank that ``launcher`` (torchrun) started: a process whose environment says so."""
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        if parent == launcher.pid and f"RANK={rank}".encode() in environ:
            return pid
    raise AssertionError(f"no process of rank {rank} under {launcher.pid}")


def test_a_killed_rank_stops_the_others_and_the_run_resumes(tmp_path):
    args = [*_sets([*TINY, "train.steps=100000", "train.checkpoint_every=2", "train.log_every=100"]),
            "--out", str(tmp_path)]
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                 "-m", "gansynth_zoo", "train", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("*/ckpt-*.pt")):
            assert time.monotonic() < deadline and launcher.poll() is None, "no checkpoint written"
            time.sleep(0.2)
        os.kill(_process_of_rank(launcher, 1), signal.SIGKILL)
        killed = time.monotonic()
        launcher.wait(timeout=60)  # the bound: torchrun stops the surviving rank when one fails
        assert launcher.returncode != 0
        assert time.monotonic() - killed < 60
    finally:
        if launcher.poll() is None:
            launcher.kill()
        launcher.wait()
    (run,) = tmp_path.iterdir()
    step = load_checkpoint(latest_checkpoint(run))["step"]
    _train(["--resume", str(run), "--set", f"train.steps={step + 2}"], nproc=2)
    assert load_checkpoint(latest_checkpoint(run))["step"] == step + 2


# --- every training feature in a spawned process group --------------------------------------------------


def _synthetic(shape: tuple[int, int, int], n_labels: int, n: int = 16) -> TrainingData:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % n_labels
    return TrainingData(torch.rand(n, *shape, generator=generator) * 2 - 1, labels,
                        torch.nn.functional.one_hot(labels, n_labels).float(),
                        tuple(f"label{i}" for i in range(n_labels)))


MP3NET_CPU = ROOT / "pipelines" / "configs" / "mp3net-cpu.toml"


def _features() -> dict[str, tuple[Path | None, list[str], TrainingData | None]]:
    """Configs (file, overrides, data; None: the config's own digits) that each switch on features of
    the loop."""
    music = _music((2, 128, 64), _feature_config(load_config(MP3NET_CPU)), n=8)
    gansynth = ["model.name=gansynth", "model.z_dim=8", "model.generator.channels=[8, 8, 4]",
                "model.generator.start=[8, 2]", "model.generator.progressive=true",
                "model.discriminator.channels=[8, 8, 4]", "model.discriminator.start=[8, 2]",
                "model.discriminator.progressive=true", "model.discriminator.n_classes_aux=3",
                "model.discriminator.mbstd_group=2", "loss.kind=wgan-gp", "loss.ac_weight=1.0",
                "train.stable_images=8", "train.fade_images=8", "data.shape=[2, 32, 8]"]
    return {
        "gradient penalty, drift, DiffAugment": (None, [
            *TINY, "loss.kind=wgan-gp", "loss.drift=0.001", "model.discriminator.norm=none",
            'loss.augment=["translation", "cutout"]'], None),
        "mode seeking, condition dropout, dropout": (None, [
            *TINY_CGAN, "loss.mode_seeking=1.0", "train.condition_dropout=0.3"], None),
        "progressive growing, AC head": (None, gansynth, _synthetic((2, 32, 8), 3)),
        "psychoacoustic noise, band matching": (MP3NET_CPU, SHRINK_CPU, music),
    }


def _worker(rank: int, world_size: int, rendezvous: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world_size)
    ranks = Ranks(rank, world_size, "gloo")
    report = {}
    try:
        for name, (path, overrides, data) in _features().items():
            config = load_config(path, [*overrides, "train.batch_size=8", "train.steps=3", "train.log_every=1"])
            data = data if data is not None else builders.build_data(config)
            state = builders.build_state(config, data, CPU)
            run_dir = Path(out) / name
            if rank == 0:
                run_dir.mkdir()
            trainer = Trainer(trainer_settings(config), state, data, run_dir, CPU, ranks=ranks,
                              critic_transform=builders.build_critic_transform(config, data, CPU))
            latents = trainer._latents()
            trainer.fit()
            weights = torch.cat([p.detach().flatten() for p in (*state.G.parameters(), *state.D.parameters())])
            everyone = [torch.zeros_like(weights) for _ in range(world_size)]
            dist.all_gather(everyone, weights)
            drawn = [torch.zeros_like(latents) for _ in range(world_size)]
            dist.all_gather(drawn, latents)
            report[name] = {"same_weights": all(torch.equal(w, weights) for w in everyone),
                            "different_latents": not torch.equal(drawn[0], drawn[1]),
                            "finite": bool(torch.isfinite(weights).all())}
        del trainer
        dist.barrier()
    finally:
        leave()
    if rank == 0:
        (Path(out) / "report.json").write_text(json.dumps(report))


def test_every_training_feature_runs_on_two_ranks(tmp_path):
    """GP (double backward), drift, DiffAugment, mode-seeking pairs, condition dropout, dropout, EMA,
    progressive growing, the AC head, the psychoacoustic noise and band matching all train on two gloo
    ranks: the ranks draw different latents and end with the same weights, all finite."""
    mp.spawn(_worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path)), nprocs=2, join=True)
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report) == set(_features())
    for name, result in report.items():
        assert result["same_weights"] and result["different_latents"] and result["finite"], (name, result)
        assert (tmp_path / name / "metrics.jsonl").is_file() and (tmp_path / name / "generator.pt").is_file()


def test_step_seeds_differ_for_every_rank_step_and_stream():
    seeds = {step_seed(seed, step, rank, stream) for seed in range(3) for step in range(50) for rank in range(8)
             for stream in (0, 1)}
    assert len(seeds) == 3 * 50 * 8 * 2


def test_batch_must_split_evenly_over_the_ranks(tmp_path):
    config = load_config(None, [*TINY, "train.batch_size=6"])
    data = builders.build_data(config)
    with pytest.raises(ValueError, match="train.batch_size = 6 is the whole batch, split over the 4 processes"):
        Trainer(trainer_settings(config), builders.build_state(config, data, CPU), data, tmp_path, CPU,
                ranks=Ranks(0, 4, "none"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (NCCL)")
def test_nccl_ranks_on_every_gpu_take_the_steps_of_one_process(tmp_path):
    """One rank per GPU present with NCCL against one process on one GPU at the same batch."""
    n = torch.cuda.device_count()
    args = [*_sets([*NO_BATCH_STATISTICS, f"train.batch_size={8 * n}", "train.steps=3"]), "--out", str(tmp_path)]
    many = _run_dir(_train(args, nproc=n, device="cuda"))
    one = _run_dir(_train(args, device="cuda"))
    a, b = (load_checkpoint(latest_checkpoint(run)) for run in (many, one))
    assert json.loads((many / "config.json").read_text())["distributed"]["backend"] == "nccl"
    for key in ("G", "D", "G_ema"):
        assert _largest_difference(a[key], b[key]) < 1e-5, key
