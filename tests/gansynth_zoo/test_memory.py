"""The meta-device memory estimate of a training step: the saved-tensor counter on a hand-computed toy,
and the parts of the estimate for the CPU-sized MP3net."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gansynth_zoo import builders
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.tools.memory import SavedTensorCounter, estimate_step_memory

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "pipelines" / "configs" / "mp3net-small.toml"


def test_saved_tensor_counter_on_a_linear_layer_by_hand():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4, requires_grad=True)
    with SavedTensorCounter(exclude=layer.parameters()) as saved:
        y = layer(x)               # addmm saves x (for the weight's gradient) and W^T (a weight: excluded)
        loss = (y * y).sum()       # mul saves y twice (one storage); sum saves nothing
    assert (saved.count, saved.bytes, saved.largest) == (2, 5 * 4 * 4 + 5 * 3 * 4, 5 * 4 * 4)
    loss.backward()                # the counted graph is a working one
    assert x.grad is not None and layer.weight.grad is not None
    with SavedTensorCounter() as with_weights:
        (layer(x) * 2).sum()       # x and W^T (a view of W's storage): W counts as a whole, 4 x 3 floats
    assert (with_weights.count, with_weights.bytes) == (2, 5 * 4 * 4 + 4 * 3 * 4)
    with SavedTensorCounter() as nothing, torch.no_grad():
        layer(x).square().sum()
    assert (nothing.count, nothing.bytes) == (0, 0)


def test_estimate_for_the_small_mp3net_scales_with_the_batch():
    config = load_config(SMALL)
    one, two = estimate_step_memory(config, 1), estimate_step_memory(config, 2)
    with torch.device("meta"):
        G, D, _ = builders.build_models(config, config.data.shape, 0)
    n_G, n_D = sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters())
    for e in (one, two):
        assert e.parameter_count == n_G + n_D and e.parameters == 4 * (n_G + n_D)  # float32, no buffers
        assert e.gradients == e.parameters and e.optimizer == 2 * e.parameters and e.ema == 4 * n_G
        assert 0 < e.g_step_saved < e.d_step_saved  # one critic pass against three and a double backward
        assert e.total > e.static > 0
    # activations are per example: doubling the batch doubles them (to 1%); the static part stays
    assert two.static == one.static
    for part in ("d_step_saved", "g_step_saved", "d_step_transient"):
        assert getattr(two, part) / getattr(one, part) == pytest.approx(2.0, rel=0.01)
    # the largest activation of the D step: the 4-channel output of the 1x1 input layer, 128 x 256, float32
    assert one.d_step_transient == 4 * 128 * 256 * 4
    # recomputing blocks in the backward pass saves activations and costs a block's worth of transient
    checkpointed = estimate_step_memory(load_config(SMALL, ["model.generator.checkpoint=true",
                                                            "model.discriminator.checkpoint=true"]), 1)
    assert checkpointed.d_step_saved < 0.8 * one.d_step_saved
    assert checkpointed.g_step_saved < 0.8 * one.g_step_saved
    assert checkpointed.d_step_transient > one.d_step_transient


def test_summary_prints_the_memory_estimate():
    result = CliRunner().invoke(main, ["summary", str(SMALL), "--memory-batch", "1"])
    assert result.exit_code == 0, result.output
    assert "mp3net-small: peak memory of one training step at batch 1" in result.output
    assert re.search(r"parameters \(372,635 in G and D\)\s+1\.4 MiB", result.output)
    assert re.search(r"total \(static \+ D step\)\s+\d+\.\d MiB", result.output)
    bad = CliRunner().invoke(main, ["summary", str(SMALL), "--memory-batch", "0"])
    assert bad.exit_code == 2
