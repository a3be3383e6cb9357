"""Tables over several runs (gansynth_zoo.tools.study and ``gansynth-zoo compare``)."""
import json
import math
import os
import subprocess

import pytest
from click.testing import CliRunner

from audiofeat.exceptions import ParameterError
from gansynth_zoo.cli import main
from gansynth_zoo.tools.study import collect, format_markdown, summarize


def _run(tmp_path, name, weight, seed, accuracy, fd=None):
    run = tmp_path / name
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"loss": {"mode_seeking": weight}, "train": {"seed": seed}}))
    first = {"metric": "digits", "conditional_accuracy": 0.0, "frechet_distance": 99.0}
    last = {"metric": "digits", "conditional_accuracy": accuracy}
    if fd is not None:
        last["frechet_distance"] = fd
    (run / "metric-digits.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(last) + "\n")
    return run


def test_collect_flattens_config_and_keeps_the_last_metric_line(tmp_path):
    record = collect(_run(tmp_path, "a", 1.0, 3, 0.9, fd=12.0))
    assert record["config.loss.mode_seeking"] == 1.0
    assert record["config.train.seed"] == 3
    assert record["digits.conditional_accuracy"] == 0.9
    assert record["digits.frechet_distance"] == 12.0


def test_collect_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ParameterError, match="not a run folder"):
        collect(tmp_path)


def test_summarize_groups_with_mean_and_sample_std(tmp_path):
    records = [collect(_run(tmp_path, f"r{i}", w, i, acc, fd))
               for i, (w, acc, fd) in enumerate([(0.0, 0.8, 10.0), (1.0, 0.5, None), (0.0, 0.6, 14.0),
                                                 (1.0, 0.7, None)])]
    by, metrics = ["config.loss.mode_seeking"], ["digits.conditional_accuracy", "digits.frechet_distance"]
    base, seeking = summarize(records, by, metrics)
    assert base.key == (0.0,) and base.runs == 2
    mean, std, n = base.stats["digits.conditional_accuracy"]
    assert mean == pytest.approx(0.7) and std == pytest.approx(math.sqrt(0.02)) and n == 2
    assert base.stats["digits.frechet_distance"] == pytest.approx((12.0, math.sqrt(8.0), 2))
    assert seeking.key == (1.0,) and seeking.stats["digits.frechet_distance"] is None
    table = format_markdown([base, seeking], by, metrics)
    assert table.splitlines()[2] == "| 0.0 | 2 | 0.7 ± 0.14 | 12 ± 2.8 |"
    assert table.splitlines()[3] == "| 1.0 | 2 | 0.6 ± 0.14 | - |"


def test_summarize_names_the_run_missing_a_group_field(tmp_path):
    record = collect(_run(tmp_path, "a", 0.0, 0, 0.5))
    with pytest.raises(ParameterError, match="no field 'config.model.name'"):
        summarize([record], ["config.model.name"], ["digits.conditional_accuracy"])


def test_compare_command_prints_the_table(tmp_path):
    runs = [str(_run(tmp_path, f"r{i}", 0.0, i, 0.5 + 0.1 * i)) for i in range(3)]
    result = CliRunner().invoke(main, ["compare", *runs, "--metric", "digits.conditional_accuracy"])
    assert result.exit_code == 0, result.output
    assert "| 0.0 | 3 | 0.6 ± 0.1 |" in result.output
    bad = CliRunner().invoke(main, ["compare", str(tmp_path), "--metric", "digits.conditional_accuracy"])
    assert bad.exit_code == 2 and "not a run folder" in bad.output


FAKE_ZOO = r"""#!/usr/bin/env bash
# stands in for gansynth-zoo: logs each call; train makes OUT/00000-NAME-x, evaluate a metric file
echo "$*" >> "$CALLS"
case $1 in
    train) if [ "$2" = --resume ]; then echo "done: $3"; exit; fi
           out=$(sed -n 's/.*--out \([^ ]*\).*/\1/p' <<< "$*")
           name=$(sed -n 's/.*name="\([^"]*\)".*/\1/p' <<< "$*")
           mkdir -p "$out/00000-$name-x" && echo "done: $out/00000-$name-x" ;;
    evaluate) echo '{"metric": "digits"}' > "$2/metric-digits.jsonl" ;;
esac
"""


def test_study_script_trains_every_seed_at_zero_and_each_weight_and_reuses_finished_runs(tmp_path):
    zoo, calls = tmp_path / "zoo", tmp_path / "calls.log"
    zoo.write_text(FAKE_ZOO)
    zoo.chmod(0o755)
    env = {**os.environ, "ZOO": str(zoo), "CALLS": str(calls)}
    command = ["bash", "pipelines/study_diversity.sh", str(tmp_path / "study"), "0 1", "cdcgan-mnist=0.1,1"]
    stopped = tmp_path / "study" / "cdcgan-mnist" / "00007-cdcgan-mnist-seed1-ms1-y"  # stopped half way
    stopped.mkdir(parents=True)
    (stopped / "ckpt-00000500.pt").touch()
    subprocess.run(command, check=True, env=env, capture_output=True)
    lines = calls.read_text().splitlines()
    trained = sorted(line.split('name="')[1].split('"')[0] for line in lines if line.startswith("train --config"))
    assert trained == sorted(f"cdcgan-mnist-seed{s}-ms{w}" for s in (0, 1) for w in ("0", "0.1", "1")
                             if (s, w) != (1, "1"))
    assert [line for line in lines if "--resume" in line] == [f"train --resume {stopped} --device auto"]
    assert f"evaluate {stopped} --device auto" in lines
    compare = [line for line in calls.read_text().splitlines() if line.startswith("compare")]
    assert len(compare) == 1 and compare[0].count("/study/cdcgan-mnist/") == 6
    calls.unlink()
    subprocess.run(command, check=True, env=env, capture_output=True)
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["compare"]
