"""``gansynth-zoo results``: run folders distilled into one JSON file for the report."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.tools.results import run_record
from gansynth_zoo.training.run import run_training
from tests.gansynth_zoo.test_training import TINY


def test_results_keep_config_metrics_time_over_sittings_and_critic_gap(tmp_path):
    config = load_config(None, [*TINY, "train.steps=4", "train.checkpoint_every=2", "name=\"tiny\""])
    run = run_training(load_config(None, [*TINY, "train.steps=2", "train.checkpoint_every=2", "name=\"tiny\""]),
                       out=tmp_path)
    run_training(config, resume=run)  # a second sitting: its clocks restart
    (run / "metric-digits.jsonl").write_text('{"step": 2, "fd": 3.0}\n{"step": 4, "fd": 2.0}\n')
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    record = run_record(run)
    assert record["name"] == "tiny" and record["config"]["train"]["steps"] == 4
    assert record["metrics"] == {"digits": [{"step": 2, "fd": 3.0}, {"step": 4, "fd": 2.0}]}
    assert record["training"]["steps"] == 4
    sittings = log[1]["wall_seconds"] + log[3]["wall_seconds"]
    assert record["training"]["wall_seconds"] == pytest.approx(sittings, abs=1e-3)
    assert record["critic"] == [[r["step"], r["score/real"] - r["score/fake"]] for r in log]
    assert record["selection"] is None  # no checkpoint chosen by gansynth-zoo select

    out = tmp_path / "results" / "tiny.json"
    done = CliRunner().invoke(main, ["results", str(run), str(run), "--label", "a", "--label", "b", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert sorted(json.loads(out.read_text())["runs"]) == ["a", "b"]
    same = CliRunner().invoke(main, ["results", str(run), str(run), "--out", str(out)])
    assert same.exit_code != 0 and "two runs share a label (tiny)" in same.output
    unlabelled = CliRunner().invoke(main, ["results", str(run), "--label", "a", "--label", "b", "--out", str(out)])
    assert unlabelled.exit_code != 0 and "2 labels for 1 runs" in unlabelled.output
    added = CliRunner().invoke(main, ["results", str(run), "--label", "c", "--out", str(out), "--update"])
    assert added.exit_code == 0, added.output
    assert list(json.loads(out.read_text())["runs"]) == ["a", "b", "c"]  # a and b kept, c added
    (tmp_path / "other.json").write_text('{"something": 1}\n')
    broken = CliRunner().invoke(main, ["results", str(run), "--out", str(tmp_path / "other.json"), "--update"])
    assert broken.exit_code != 0 and "other.json: not a results file to update (KeyError" in broken.output
    not_a_run = CliRunner().invoke(main, ["results", str(tmp_path), "--out", str(out)])
    assert not_a_run.exit_code != 0 and "not a run folder (no config.json)" in not_a_run.output
