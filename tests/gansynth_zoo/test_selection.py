"""``gansynth-zoo select``: the run ships the checkpoint with the best recorded score."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from audiofeat.exceptions import ParameterError
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.tools.results import run_record
from gansynth_zoo.tools.selection import select_checkpoint
from gansynth_zoo.training.checkpoint import load_checkpoint
from gansynth_zoo.training.run import run_training
from tests.gansynth_zoo.test_training import TINY


@pytest.fixture
def run(tmp_path):
    """A 4-step run keeping its last 3 checkpoints (steps 2-4), each scored, the pruned step 1 too."""
    config = load_config(None, [*TINY, "train.steps=4", "train.checkpoint_every=1", "train.keep_checkpoints=3",
                                "name=\"tiny\""])
    run_dir = run_training(config, out=tmp_path)
    scores = {1: 0.5, 2: 3.0, 3: 1.0, 4: 2.0}  # step 1 scored best, but its checkpoint is gone
    lines = [{"checkpoint": f"ckpt-{step:08d}.pt (step {step})", "step": step, "fd": fd, "accuracy": 10 - fd}
             for step, fd in scores.items()]
    lines.append({"checkpoint": "generator.pt (step 4)", "step": 4, "fd": 0.1, "accuracy": 99})  # not a candidate
    (run_dir / "metric-digits.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return run_dir


def _weights_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_lowest_scoring_checkpoint_becomes_generator_pt(run):
    last = load_checkpoint(run / "generator.pt")
    done = CliRunner().invoke(main, ["select", str(run), "--by", "digits.fd"])
    assert done.exit_code == 0, done.output
    assert "step 3 (ckpt-00000003.pt), digits.fd 1, the lowest of 3 checkpoints" in done.output
    shipped, chosen = load_checkpoint(run / "generator.pt"), load_checkpoint(run / "ckpt-00000003.pt")
    assert shipped["step"] == 3 and _weights_equal(shipped["G_ema"], chosen["G_ema"])
    assert not _weights_equal(shipped["G_ema"], last["G_ema"])
    for key in set(last) - {"step", "G_ema"}:  # everything but the weights is the run's
        assert key in shipped and (torch.equal(shipped[key], last[key]) if torch.is_tensor(last[key])
                                   else shipped[key] == last[key])
    # the training's own last generator is still in the newest checkpoint
    assert _weights_equal(load_checkpoint(run / "ckpt-00000004.pt")["G_ema"], last["G_ema"])
    assert json.loads((run / "selection.json").read_text()) == {
        "metric": "digits.fd", "highest": False, "checkpoint": "ckpt-00000003.pt", "step": 3, "value": 1.0,
        "candidates": [[2, 3.0], [3, 1.0], [4, 2.0]]}
    assert run_record(run)["selection"]["step"] == 3  # the results file keeps which checkpoint shipped
    sampled = CliRunner().invoke(main, ["sample", str(run), "--n", "1", "--out", str(run / "samples")])
    assert sampled.exit_code == 0, sampled.output  # the selected generator is what sample uses


def test_highest_wins_for_a_score_and_selecting_again_chooses_among_all(run):
    assert select_checkpoint(run, "digits.accuracy", highest=True)["step"] == 3
    assert select_checkpoint(run, "digits.fd", highest=True)["step"] == 2
    assert load_checkpoint(run / "generator.pt")["step"] == 2


def test_missing_scores_and_fields_are_clear_errors(run):
    with pytest.raises(ParameterError, match=r"no metric-mdct\.jsonl; score the checkpoints first with "
                                             r"`gansynth-zoo evaluate .* --checkpoints`"):
        select_checkpoint(run, "mdct.fd")
    with pytest.raises(ParameterError, match=r"the record of ckpt-00000002\.pt has no field 'kid' "
                                             r"\(fields: accuracy, checkpoint, fd, step\)"):
        select_checkpoint(run, "digits.kid")
    with pytest.raises(ParameterError, match=r"expected <metric>\.<field>, e\.g\. mdct\.fd"):
        select_checkpoint(run, "fd")
    (run / "metric-digits.jsonl").write_text('{"checkpoint": "generator.pt (step 4)", "step": 4, "fd": 1.0}\n')
    before = (run / "generator.pt").read_bytes()
    done = CliRunner().invoke(main, ["select", str(run), "--by", "digits.fd"])
    assert done.exit_code != 0 and "scores no checkpoint still in" in done.output
    assert (run / "generator.pt").read_bytes() == before and not (run / "selection.json").exists()
