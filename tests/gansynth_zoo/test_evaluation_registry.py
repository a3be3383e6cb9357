"""Metrics by name (gansynth_zoo.evaluation.registry) and the numbers a seeded evaluation gives."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiofeat.exceptions import ConfigError
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.evaluation.registry import METRICS, EvalContext, calc_metric, default_metrics, register_metric
from gansynth_zoo.training.run import run_training

GOLDEN = Path(__file__).parents[1] / "data" / "evaluate-digits-tiny.json"
TINY = ["data.source=digits", "data.limit=200", "model.name=dcgan", "model.generator.channels_base=8",
        "model.discriminator.channels_base=8", "train.batch_size=8", "model.conditional=true", "train.steps=3",
        "eval.classifier_steps=30"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_training(load_config(None, TINY), out=tmp_path_factory.mktemp("runs"))


def test_a_seeded_evaluation_gives_the_recorded_numbers(tiny_run, tmp_path):
    done = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--metrics", "digits", "--samples", "200",
                                     "--seed", "3", "--classifier", str(tmp_path / "c.pt"), "--device", "cpu"])
    assert done.exit_code == 0, done.output
    result = json.loads((tiny_run / "metric-digits.jsonl").read_text().splitlines()[-1])
    expected = {k: v for k, v in json.loads(GOLDEN.read_text()).items() if not k.startswith("_")}
    assert {k: result[k] for k in expected} == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_defaults_follow_the_data_kind_and_names_choose(tiny_run, tmp_path):
    context = EvalContext(tiny_run, samples=20, classifier_path=tmp_path / "c.pt")
    assert default_metrics(context) == ["digits"]
    assert {"digits", "audio", "mdct", "export", "rtf"} <= set(METRICS)
    with pytest.raises(ConfigError, match="unknown metric 'fid'; registered metrics: digits, audio, mdct, export, rtf"):
        calc_metric("fid", context)
    bad = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--metrics", "digits,fid", "--samples", "20",
                                    "--classifier", str(tmp_path / "c.pt")])
    assert bad.exit_code == 2 and "unknown metric 'fid'" in bad.output


def test_adding_a_metric_is_one_function(tiny_run):
    @register_metric("steps_seen", default_for=("digits",), format=lambda r: f"{r['step']} steps")
    def steps_seen(context):
        return {"step": json.loads((context.run_dir / "metrics.jsonl").read_text().splitlines()[-1])["step"]}

    try:
        context = EvalContext(tiny_run)
        assert "steps_seen" in default_metrics(context)
        done = CliRunner().invoke(main, ["evaluate", str(tiny_run), "--metrics", "steps_seen"])
        assert done.exit_code == 0 and done.output.splitlines()[-1] == "3 steps"
        with pytest.raises(ConfigError, match="registered twice"):
            register_metric("steps_seen")(steps_seen)
    finally:
        del METRICS["steps_seen"]
