from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time

import click
import pytest
import torch
from click.testing import CliRunner

from audiofeat.exceptions import ConfigError
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.evaluation.metrics.ndb import jensen_shannon
from gansynth_zoo.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from gansynth_zoo.training.loop import Trainer, TrainingDiverged
from gansynth_zoo.training.run import run_training

TINY = ["data.source=digits", "data.limit=200", "model.name=dcgan", "model.generator.channels_base=8",
        "model.discriminator.channels_base=8", "train.batch_size=8", "train.log_every=1"]
TINY_CGAN = ["data.source=digits", "data.limit=200", "model.name=cgan", "model.generator.hidden=32",
             "model.generator.c_units=16", "model.generator.z_units=16", "model.discriminator.x_units=16",
             "model.discriminator.joint_units=16", "train.batch_size=8", "train.log_every=1"]


def _loss_items(record):
    return {k: v for k, v in record.items() if k.startswith("loss/")}


def _losses(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model, loss", [("dcgan", "wgan-gp"), ("cgan", "nonsaturating"), ("dcgan", "hinge")])
def test_resume_is_exact(tmp_path, model, loss):
    overrides = [*(TINY_CGAN if model == "cgan" else TINY), f"loss.kind={loss}", "loss.drift=0.001",
                 *(["model.discriminator.norm=none"] if loss == "wgan-gp" else []),
                 *(["loss.mode_seeking=1.0", "train.condition_dropout=0.3"] if model == "cgan" else []),
                 *(['loss.augment=["translation", "cutout"]', "train.balance_labels=true",
                    "loss.band_matching=0.1", "loss.level_matching=0.1", "loss.level_exponent=3",
                    "loss.level_eps=1e-10", "optim.decay_start=2", "train.sample_every=2"]
                   if loss == "hinge" else []),
                 "loss.n_critic=2", "train.steps=6", "train.checkpoint_every=3", "train.keep_checkpoints=5"]
    config = load_config(None, overrides)
    straight = run_training(config, out=tmp_path / "a")
    # the same run killed at step 5, after logging it but before its checkpoint: resumed from step 3,
    # the records of steps 4 and 5 that the killed run logged are replaced, not repeated
    first = run_training(load_config(None, [*overrides, "train.steps=5"]), out=tmp_path / "b")
    (first / "ckpt-00000005.pt").unlink()
    resumed = run_training(config, resume=first)
    a, b = _losses(straight), _losses(resumed)
    assert ("loss/ms" in a[0]) == (model == "cgan") and ("loss/bands" in a[0]) == (loss == "hinge")
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    for x, y in zip(a, b):
        assert _loss_items(x) == _loss_items(y)
    if loss == "hinge":  # snapshots do not disturb the run, and the resumed run keeps the earlier ones
        assert sorted(p.name for p in (resumed / "snapshots").iterdir()) == ["00000002", "00000004", "00000006"]
    final_a = load_checkpoint(latest_checkpoint(straight))
    final_b = load_checkpoint(latest_checkpoint(resumed))
    for key in final_a["G_ema"]:
        assert torch.equal(final_a["G_ema"][key], final_b["G_ema"][key])


def test_learning_rates_fall_linearly_to_zero_from_decay_start(tmp_path):
    optim = load_config(None, ["optim.decay_start=4"]).optim
    assert [optim.lr_scale(step, 8) for step in (0, 3, 4, 6, 7, 8)] == [1, 1, 1, 0.5, 0.25, 0]
    assert load_config(None, []).optim.lr_scale(7, 8) == 1  # no decay by default
    run = run_training(load_config(None, [*TINY, "optim.lr_g=1e-3", "optim.lr_d=2e-3", "optim.decay_start=2",
                                            "train.steps=4"]), out=tmp_path)
    last = load_checkpoint(latest_checkpoint(run))  # the 4th update, after 3 steps, ran at half the rates
    assert [last[k]["param_groups"][0]["lr"] for k in ("opt_g", "opt_d")] == pytest.approx([5e-4, 1e-3])
    with pytest.raises(ConfigError, match="optim.decay_start must be >= 0"):
        load_config(None, ["optim.decay_start=-1"])


def test_condition_dropout_zeroes_the_category_and_genre_parts_independently():
    from gansynth_zoo.data.dataset import TrainingData

    c = torch.tensor([[1.0, 0, 1, 0, 1]]).repeat(4000, 1)  # class | subclass (3 columns) | 2 genres
    data = TrainingData(torch.zeros(4000, 1, 1, 1), torch.zeros(4000, dtype=torch.long), c, ("a/b",),
                        genre_names=("x", "y"))
    dropped = data.drop_conditions(c, 0.25, torch.Generator().manual_seed(0))
    category, genre = dropped[:, :3].sum(1) > 0, dropped[:, 3:].sum(1) > 0
    assert torch.equal(dropped[category, :3], c[category, :3]) and torch.equal(dropped[genre, 3:], c[genre, 3:])
    for kept in (category.float().mean(), genre.float().mean(), (category & genre).float().mean() / 0.75):
        assert kept.item() == pytest.approx(0.75, abs=0.03)
    with pytest.raises(ConfigError, match=r"condition_dropout must be in \[0, 1\)"):
        load_config(None, ["train.condition_dropout=1.0"])


def test_mode_seeking_pairs_differ_only_through_their_latents(tmp_path):
    """The MNIST cGAN's generator has dropout: the two outputs of a mode-seeking pair share the masks."""
    config = load_config(None, [*TINY_CGAN, "loss.mode_seeking=1.0"])
    data = builders.build_data(config)
    trainer = Trainer(trainer_settings(config), builders.build_state(config, data, torch.device("cpu")), data, tmp_path,
                      torch.device("cpu"))
    G = trainer.state.G.train()
    z, c = torch.randn(4, config.model.z_dim), data.c[:4]
    same_1, same_2 = trainer._paired_outputs(z, z, c)
    assert torch.equal(same_1, same_2)
    doubled = G(torch.cat([z, z]), torch.cat([c, c]))
    assert not torch.equal(doubled[:4], doubled[4:]), "one doubled batch draws different masks"
    apart_1, apart_2 = trainer._paired_outputs(z, torch.randn(4, config.model.z_dim), c)
    assert not torch.equal(apart_1, apart_2)


def test_run_directory_and_checkpoints(tmp_path):
    config = load_config(None, [*TINY, "name=tiny", "train.steps=4", "train.checkpoint_every=1",
                                "train.keep_checkpoints=2"])
    run_dir = run_training(config, out=tmp_path)
    assert run_dir.name.startswith("00000-tiny-")
    second = run_training(config, out=tmp_path)
    assert second.name.startswith("00001-tiny-")
    assert json.loads((run_dir / "config.json").read_text())["train"]["steps"] == 4
    assert [p.name for p in list_checkpoints(run_dir)] == ["ckpt-00000003.pt", "ckpt-00000004.pt"]
    ckpt = torch.load(run_dir / "ckpt-00000004.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["model"]["name"] == "dcgan"
    assert ckpt["model"]["generator"]["c_dim"] == 10 and ckpt["config"]["name"] == "tiny"
    assert {"z", "data", "torch", "cuda"} <= set(ckpt["rng"])
    export = torch.load(run_dir / "generator.pt", map_location="cpu", weights_only=True)
    assert export["model_name"] == "dcgan" and export["label_names"] == [str(d) for d in range(10)]
    # the export rebuilds the generator without the config
    from gansynth_zoo.registry import build_model

    G = build_model(export["model_name"], "generator", export["generator_kwargs"])
    G.load_state_dict(export["G_ema"])
    images = G.eval()(torch.randn(3, export["z_dim"]), export["conditioning"][:3])
    assert images.shape == (3, 1, 8, 8) and images.abs().max() <= 1
    log = _losses(run_dir)
    assert len(log) == 4 and all({"loss/d", "loss/g", "sec_per_step"} <= set(r) for r in log)


def test_log_records_cumulative_cpu_and_wall_seconds(tmp_path):
    config = load_config(None, [*TINY, "train.steps=3", "train.checkpoint_every=2"])
    start = time.perf_counter()
    run_dir = run_training(config, out=tmp_path)
    elapsed = time.perf_counter() - start
    log = _losses(run_dir)
    cpu, wall = [r["cpu_seconds"] for r in log], [r["wall_seconds"] for r in log]
    assert cpu == sorted(cpu) and wall == sorted(wall) and cpu[-1] > 0 and 0 < wall[-1] <= elapsed
    # log_every = 1: the wall time is the running sum of the per-step times (each rounded)
    for i, record in enumerate(log):
        assert record["wall_seconds"] == pytest.approx(sum(r["sec_per_step"] for r in log[:i + 1]), abs=2e-3)
    # after a resume the counts start again: the first record after it covers its one step
    resumed = _losses(run_training(load_config(None, [*TINY, "train.steps=4"]), resume=run_dir))
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[-1]["wall_seconds"] == pytest.approx(resumed[-1]["sec_per_step"], abs=2e-3)


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    config = load_config(None, [*TINY, "train.steps=3"])
    data = builders.build_data(config)
    state = builders.build_state(config, data, torch.device("cpu"))
    with torch.no_grad():
        next(state.D.parameters()).fill_(float("nan"))
    trainer = Trainer(trainer_settings(config), state, data, tmp_path, torch.device("cpu"))
    with pytest.raises(TrainingDiverged, match=r"non-finite loss at step 1: .*loss/d=nan.*no checkpoint"):
        trainer.fit()


def test_unknown_model_arguments_are_listed():
    config = load_config(None, [*TINY, "model.generator.width=3"])
    with pytest.raises(ConfigError, match="dcgan generator: .*width.*accepted arguments: z_dim, c_dim"):
        builders.build_models(config, (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="unknown model 'nope'; registered models: cgan, dcgan"):
        builders.build_models(load_config(None, ["model.name=nope"]), (1, 8, 8), 10)


def test_cli_train_dry_run_resume_and_errors(tmp_path):
    runner = CliRunner()
    args = ["train", "--out", str(tmp_path), "--device", "cpu"] + [a for s in TINY for a in ("--set", s)]
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "generator dcgan:" in dry.output and not list(tmp_path.iterdir())
    assert runner.invoke(main, ["train"]).exit_code == 2
    done = runner.invoke(main, [*args, "--set", "train.steps=2"])
    assert done.exit_code == 0, done.output
    run_dir = next(tmp_path.iterdir())
    more = runner.invoke(main, ["train", "--resume", str(run_dir), "--set", "train.steps=3", "--device", "cpu"])
    assert more.exit_code == 0 and "resumed" in more.output and "step 3/3" in more.output
    bad = runner.invoke(main, [*args, "--set", "loss.kind=l1"])
    assert bad.exit_code == 2 and "loss.kind must be one of" in bad.output


def test_evaluate_digits_reports_quality_diversity_and_a_grid(tmp_path):
    run_dir = run_training(load_config(None, [*TINY, "train.steps=2", "eval.classifier_steps=100"]), out=tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", str(run_dir), "--samples", "200", "--device", "cpu",
                                  "--classifier", str(tmp_path / "clf.pt")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run_dir / "metric-digits.jsonl").read_text().splitlines()[-1])
    assert metrics["samples"] == 200 and 0 <= metrics["conditional_accuracy"] <= 1
    assert len(metrics["conditional_accuracy_per_class"]) == 10 and metrics["frechet_distance"] >= 0
    assert metrics["pairwise_pixels"] > 0 and metrics["pairwise_pixels_real"] > 0
    assert 0 <= metrics["ndb_k"] <= 1 and 0 <= metrics["jsd"] <= 1
    histogram = torch.tensor(metrics["predicted_class_histogram"])
    assert histogram.sum() == 200 and metrics["predicted_class_jsd_uniform"] == pytest.approx(
        jensen_shannon(histogram, torch.ones(10)))
    assert (run_dir / "samples-grid.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "clf.pt").exists()


def test_ema_decay_warms_up_then_holds():
    from gansynth_zoo.training.ema import ema_decay_at

    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)  # the first update nearly copies the model
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.999, 8991) == pytest.approx(0.999) and ema_decay_at(0.999, 10**6) == 0.999
    assert ema_decay_at(0.0, 5) == 0.0
    # after a short run, little of the initial weights is left in the average
    kept = 1.0
    for step in range(1600):
        kept *= ema_decay_at(0.999, step)
    assert kept < 1e-6


def test_resume_falls_back_over_a_truncated_checkpoint_and_a_cut_log_line(tmp_path):
    config = load_config(None, [*TINY, "train.steps=4", "train.checkpoint_every=2", "train.log_every=1",
                                "train.keep_checkpoints=3"])
    straight = run_training(config, out=tmp_path / "a")
    run_dir = run_training(load_config(None, [*TINY, "train.steps=4", "train.checkpoint_every=2",
                                                "train.log_every=1", "train.keep_checkpoints=3"]), out=tmp_path / "b")
    latest = run_dir / "ckpt-00000004.pt"
    latest.write_bytes(latest.read_bytes()[:1000])  # a copy cut short
    (run_dir / ".ckpt-00000006.pt.0123abcd.tmp").write_bytes(b"partial")  # an interrupted write
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss/d"')  # a record cut short
    config_before = (run_dir / "config.json").read_text()
    said = []
    resumed = run_training(config, resume=run_dir, status=said.append)
    assert any("ckpt-00000004.pt is unreadable" in s for s in said)
    assert any("resumed" in s and "ckpt-00000002.pt (step 2)" in s for s in said)
    assert not list(resumed.glob(".*.tmp")) and (resumed / "config.json").read_text() == config_before
    assert [r["step"] for r in _losses(resumed)] == [1, 2, 3, 4]  # the cut line is gone, every line parses
    for x, y in zip(_losses(straight), _losses(resumed)):
        assert _loss_items(x) == _loss_items(y)


def test_failed_resume_leaves_the_run_as_it_was(tmp_path):
    run_dir = run_training(load_config(None, [*TINY, "train.steps=2"]), out=tmp_path)
    for checkpoint in list_checkpoints(run_dir):
        checkpoint.write_bytes(b"not a checkpoint")
    before = (run_dir / "config.json").read_text()
    with pytest.raises(ConfigError, match="has no readable checkpoint to resume from"):
        run_training(load_config(None, [*TINY, "train.steps=5"]), resume=run_dir)
    assert (run_dir / "config.json").read_text() == before


@pytest.mark.parametrize("key", ["log_every", "checkpoint_every", "keep_checkpoints"])
def test_zero_step_intervals_are_refused_at_load(key, tmp_path):
    with pytest.raises(ConfigError, match=f"train.{key} must be a positive number of steps, got 0"):
        load_config(None, [*TINY, f"train.{key}=0"])


def test_bad_device_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path), "--device", "gpu0",
                                       *[a for s in TINY for a in ("--set", s)]])
    assert result.exit_code == 2 and "'gpu0' is not a device; use auto, cpu, cuda or cuda:N" in result.output
    assert not list(tmp_path.iterdir())


def test_a_full_disk_stops_training_with_a_clear_error_and_keeps_the_checkpoints(tmp_path):
    run_dir = run_training(load_config(None, [*TINY, "train.steps=2", "train.checkpoint_every=2"]), out=tmp_path)
    checkpoint = (run_dir / "ckpt-00000002.pt").read_bytes()
    limit = len(checkpoint) // 2  # the next checkpoint cannot be written; the log lines can

    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = ["train", "--resume", str(run_dir), "--set", "train.steps=4"]
    result = subprocess.run([sys.executable, "-m", "gansynth_zoo.cli", *args], capture_output=True, text=True,
                            preexec_fn=full_disk, timeout=300)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot write {run_dir / 'ckpt-00000004.pt'}: " in result.stderr
    assert (run_dir / "ckpt-00000002.pt").read_bytes() == checkpoint and not list(run_dir.glob(".*.tmp"))
    resumed = run_training(load_config(None, [*TINY, "train.steps=4"]), resume=run_dir)  # space again: it goes on
    assert latest_checkpoint(resumed).name == "ckpt-00000004.pt"


def test_sample_writes_one_png_per_digit_of_an_mnist_run(tmp_path):
    """`gansynth-zoo sample` on an image run: OUT/<digit>/sample_000.png for the requested digit, every
    digit by default; an unknown digit is refused."""
    run_dir = run_training(load_config(None, [*TINY, "model.conditional=true", "train.steps=1"]),
                             out=tmp_path / "runs")
    runner = CliRunner()
    out = tmp_path / "digits"
    three = runner.invoke(main, ["sample", str(run_dir), "--class", "3", "--n", "2", "--out", str(out)])
    assert three.exit_code == 0 and "wrote 2 PNG files" in three.output, three.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["3/sample_000.png",
                                                                              "3/sample_001.png"]
    png = (out / "3/sample_000.png").read_bytes()
    assert png[:4] == b"\x89PNG" and png[16:24] == (8).to_bytes(4, "big") * 2  # 8 x 8 sklearn digits
    every = runner.invoke(main, ["sample", str(run_dir), "--n", "1", "--out", str(tmp_path / "all")])
    assert every.exit_code == 0, every.output
    assert sorted(p.parent.name for p in (tmp_path / "all").rglob("*.png")) == [str(d) for d in range(10)]
    bad = runner.invoke(main, ["sample", str(run_dir), "--class", "12", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown category '12'" in bad.output


def test_models_share_one_contract_and_recorded_arguments_still_build():
    import inspect

    from gansynth_zoo.registry import MODELS, build_model

    for spec in MODELS.values():  # keyword-only, with the same geometry names
        for part, needed in ((spec.generator, {"z_dim", "c_dim", "shape"}), (spec.discriminator, {"c_dim", "shape"})):
            parameters = inspect.signature(part).parameters
            assert needed <= set(parameters)
            assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    # arguments as runs recorded them before: DCGAN's channels + image_size, older mbstd spellings
    old = build_model("dcgan", "generator", {"z_dim": 8, "c_dim": 0, "channels": 1, "image_size": 8,
                                             "channels_base": 4})
    assert old(torch.zeros(2, 8), torch.zeros(2, 0)).shape == (2, 1, 8, 8)
    critic = build_model("sngan", "discriminator", {"c_dim": 0, "shape": [1, 16, 16], "channels": [4, 8],
                                                    "conditioning": "none", "minibatch_std": 2})
    assert critic.minibatch_std is not None
    assert build_model("mp3net", "discriminator", {"shape": [2, 16, 64], "n_blocks": 2,
                                                   "mbstd_group_size": 2}).head.minibatch_std.group_size == 2


def test_device_is_checked_before_any_work():
    for name, message in (("tpu9", "'tpu9' is not a device"), ("meta", "this project runs on auto, cpu, cuda")):
        done = CliRunner().invoke(main, ["train", "--set", "train.steps=1", "--device", name, "--dry-run"])
        assert done.exit_code == 2 and message in done.output
    if not torch.cuda.is_available():
        done = CliRunner().invoke(main, ["train", "--device", "cuda:0", "--dry-run"])
        assert done.exit_code == 2 and "CUDA is not available on this machine" in done.output


def test_progress_bar_on_a_terminal_and_plain_lines_otherwise(tmp_path):
    import io

    from gansynth_zoo.cli import training_progress

    status, on_step, close = training_progress(4, tty=False)
    assert status is click.echo and on_step is None
    stream = io.StringIO()
    status, on_step, close = training_progress(10, tty=True, stream=stream)
    seen = []
    run_training(load_config(None, [*TINY, "train.steps=4", "train.log_every=2"]), out=tmp_path,
                 status=status, on_step=lambda step, scalars: (seen.append(step), on_step(step, scalars)))
    close()
    assert seen == [1, 2, 3, 4]
    shown = stream.getvalue()
    assert "step 2/4" in shown and "4/10" in shown and "step/s" in shown and "d_adv=" in shown


def test_plot_draws_curves_of_several_runs(tmp_path):
    runs = [run_training(load_config(None, [*TINY, "train.steps=4", f"train.seed={seed}"]), out=tmp_path / "runs")
            for seed in (0, 1)]
    for step in (2, 4):  # a metric recorded at two steps becomes a curve, a constant does not
        with open(runs[0] / "metric-digits.jsonl", "a") as f:
            f.write(json.dumps({"step": step, "frechet_distance": 10.0 / step, "real_floor": 1.0}) + "\n")
    done = CliRunner().invoke(main, ["plot", *map(str, runs), "--out", str(tmp_path / "curves")])
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in (tmp_path / "curves").iterdir())
    assert names == ["losses.png", "metric-digits.png", "scores.png", "step_time.png"]
    assert all((tmp_path / "curves" / n).read_bytes()[:4] == b"\x89PNG" for n in names)
    not_a_run = CliRunner().invoke(main, ["plot", str(tmp_path), "--out", str(tmp_path / "x")])
    assert not_a_run.exit_code == 2 and "not a run folder (no metrics.jsonl)" in not_a_run.output
    page = CliRunner().invoke(main, ["gallery", *map(str, runs), "--out", str(tmp_path / "gallery")])
    assert page.exit_code == 0, page.output  # image runs: a grid each, side by side, with the metrics table
    index = (tmp_path / "gallery" / "index.html").read_text()
    assert index.count('class="run"') == 2 and "frechet_distance" in index
    assert all((tmp_path / "gallery" / run.name / "grid.png").is_file() for run in runs)


def _events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    return events.Reload()


def test_tensorboard_mirrors_the_records_and_snapshots_and_a_resume_purges_the_lost_steps(tmp_path):
    pytest.importorskip("tensorboard", reason="train.tensorboard needs the tensorboard extra")
    overrides = [*TINY, "train.steps=4", "train.sample_every=2", "train.tensorboard=true", "train.checkpoint_every=2"]
    run = run_training(load_config(None, overrides), out=tmp_path)
    records = _losses(run)
    events = _events(run)
    tags = set(events.Tags()["scalars"])
    assert tags == {k for k in records[0] if k != "step"} and "loss/d_adv" in tags and "sec_per_step" in tags
    assert [(e.step, e.value) for e in events.Scalars("loss/d_adv")] == [
        (r["step"], pytest.approx(r["loss/d_adv"])) for r in records]
    grids = events.Images("snapshot/grid")
    assert [g.step for g in grids] == [2, 4]
    assert grids[-1].encoded_image_string == (run / "snapshots" / "00000004" / "grid.png").read_bytes()
    # killed after step 3 was logged: the resumed run's events replace those of steps 3 and 4
    killed = run_training(load_config(None, [*overrides, "train.steps=3"]), out=tmp_path / "k")
    (killed / "ckpt-00000003.pt").unlink()
    resumed = run_training(load_config(None, overrides), resume=killed)
    steps = [e.step for e in _events(resumed).Scalars("loss/d_adv")]
    assert steps == [1, 2, 3, 4]


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(ConfigError, match=r"train.tensorboard needs the tensorboard package: pip install"):
        run_training(load_config(None, [*TINY, "train.steps=1", "train.tensorboard=true"]), out=tmp_path)


def test_the_level_offset_must_be_positive():
    with pytest.raises(ConfigError, match="loss.level_eps must be > 0, got 0"):
        load_config(None, ["loss.level_eps=0"])
