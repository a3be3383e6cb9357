"""MP3net: parameter counts of the paper's models, shapes at every block edge, the psychoacoustic noise,
activation checkpointing, one training step per shipped config and the summary command."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from audiofeat.config import config_to_dict
from audiofeat.config import load_config as load_feature_config
from audiofeat.exceptions import ConfigError
from audiofeat.features import FeatureConfig
from audiofeat.functional import compand, masking_threshold, mdct
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.models.mp3net import Discriminator, Generator, channel_schedule
from gansynth_zoo.nn.psychoacoustic import PsychoacousticNoise
from gansynth_zoo.tools.summary import layer_table
from gansynth_zoo.training import losses
from gansynth_zoo.training.checkpoint import load_checkpoint
from gansynth_zoo.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[2]
ALL_CONFIGS = sorted((ROOT / "pipelines" / "configs").glob("mp3net-*.toml"))
CONFIGS = [p for p in ALL_CONFIGS if load_config(p).model.name == "mp3net"]  # MP3net's own architecture
CPU_CONFIGS = [p for p in ALL_CONFIGS if p not in CONFIGS]  # the CPU recipe (SNGAN pair, cube-root MDCT)
SMALL = ROOT / "pipelines" / "configs" / "mp3net-small.toml"
# Every config, shrunk for a CPU step: 64 frames (0.37 s), 3 blocks, widths 4..16, batch 4.
SHRINK = ["data.shape=[2, 128, 64]", "model.generator.n_blocks=3", "model.discriminator.n_blocks=3",
          "model.generator.channels_base=4", "model.discriminator.channels_base=4",
          "model.generator.channels_max=16", "model.discriminator.channels_max=16", "train.batch_size=4"]
# The CPU configs shrunk alike: 64 frames, start map 4 x 2, widths 8.
SHRINK_CPU = ["data.shape=[2, 128, 64]", "model.generator.start=[4, 2]", "model.generator.channels=[8, 8, 8, 8, 8, 8]",
              "model.discriminator.channels=[8, 8, 8, 8, 8]", "train.batch_size=4"]
CPU = torch.device("cpu")


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _meta_models(config):
    with torch.device("meta"):
        return builders.build_models(config, config.data.shape, 0)


def _feature_config(config) -> FeatureConfig:
    """The feature config of the cache a run config reads (``data/features/NAME.h5`` <- ``NAME.toml``)."""
    path = ROOT / "pipelines" / "features" / f"{Path(config.data.path).stem}.toml"
    return load_feature_config(path, FeatureConfig)


def _music(shape, features: FeatureConfig, n: int = 4) -> TrainingData:
    """MDCTs of a tone in noise with their thresholds, laid out as the cache loader lays them out."""
    channels, n_bins, frames = shape
    rate = features.audio.sample_rate
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(n_bins * frames) / rate
    noise = torch.randn(n, channels, t.numel(), generator=generator)
    waveform = 0.3 * torch.sin(2 * math.pi * 440.0 * t) + 0.01 * noise
    coeffs = mdct(waveform, n_bins=n_bins, norm="mp3net")[..., :frames]  # frames + 1 -> frames (data.frames)
    threshold = masking_threshold(coeffs, sample_rate=rate, n_bark_bands=features.psychoacoustic.n_bark_bands,
                                  alpha=features.psychoacoustic.alpha)
    info = {"representation": {"features": ["mdct"], "feature_config": config_to_dict(features)}}
    labels = torch.zeros(n, dtype=torch.long)
    return TrainingData(coeffs, labels, torch.zeros(n, 0), ("music",), info, threshold)


# --- the paper's models -------------------------------------------------------------------------


def test_paper_models_have_the_reference_parameter_counts():
    G, D, info = _meta_models(load_config(ROOT / "pipelines/configs/mp3net-95s.toml"))
    assert info["generator"]["shape"] == [2, 128, 16384]
    assert (_count(G), _count(D)) == (58_981_762, 59_088_225)  # the spec's counts of the reference code
    assert _count(G) <= 59.0e6 and _count(D) <= 59.1e6
    G5, D5, _ = _meta_models(load_config(ROOT / "pipelines/configs/mp3net-5s.toml"))
    assert (_count(G5), _count(D5)) == (63_901_698, 64_297_217)  # the paper: "64M parameters each"


def test_full_model_geometry_follows_the_spec():
    assert channel_schedule() == [(512, 512, 512)] * 3 + [(512, 512, 256), (256, 128, 64), (64, 32, 16)]
    with torch.device("meta"):
        G, D = Generator(), Discriminator()
        x = G(torch.empty(3, 512), torch.empty(3, 0))
        scores = D(x, torch.empty(3, 0)).score
    assert x.shape == (3, 2, 128, 16384) and scores.shape == (3,)
    spec = [(4, 2), (16, 4), (64, 8), (256, 16), (1024, 32), (4096, 64), (16384, 128)]  # [time, freq]
    assert [(frames, bins) for _, bins, frames in G.edges[:-1]] == spec
    assert [(frames, bins) for _, bins, frames in D.edges[1:]] == spec[::-1]
    assert [c for c, _, _ in G.edges] == [512, 512, 512, 512, 256, 64, 16, 2]
    assert [c for c, _, _ in D.edges] == [2, 16, 64, 256, 512, 512, 512, 512]


# --- shapes and validation ----------------------------------------------------------------------


def test_small_config_shapes_at_every_block_edge():
    config = load_config(SMALL)
    torch.manual_seed(0)
    G, D, _ = builders.build_models(config, config.data.shape, 0)
    z, c = torch.randn(2, config.model.z_dim), torch.zeros(2, 0)
    g_rows = layer_table(G, z, c)
    assert [(r.name, r.shape) for r in g_rows] == [
        ("start", (32, 8, 1)), ("blocks.0", (32, 16, 4)), ("blocks.1", (32, 32, 16)),
        ("blocks.2", (16, 64, 64)), ("blocks.3", (4, 128, 256)), ("to_output", (2, 128, 256))]
    d_rows = layer_table(D, torch.randn(2, 2, 128, 256) * 0.01, c)
    assert [(r.name, r.shape) for r in d_rows] == [
        ("from_input", (4, 128, 256)), ("blocks.0", (16, 64, 64)), ("blocks.1", (32, 32, 16)),
        ("blocks.2", (32, 16, 4)), ("blocks.3", (32, 8, 1)), ("head", ())]
    x = G(z, c)
    assert x.shape == (2, 2, 128, 256) and x.dtype == torch.float32 and x.abs().max() < 1
    # the asserts at the block edges are live
    G.edges[2] = (99, 32, 16)
    with pytest.raises(AssertionError, match=r"expected shape \(2, 99, 32, 16\), got \(2, 32, 32, 16\)"):
        G(z, c)
    with pytest.raises(AssertionError, match=r"expected shape \(\*, 2, 128, 256\)"):
        D(torch.zeros(2, 2, 128, 128), c)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"shape": (2, 128, 100), "n_blocks": 3}, r"frames = 100 must be a multiple of 4\^n_blocks = 64"),
    ({"shape": (2, 24, 64), "n_blocks": 3}, r"n_bins = 24 must be a multiple of 2\^\(n_blocks \+ 1\) = 16"),
    ({"shape": (2, 128)}, r"shape must be \(channels, n_bins, frames\)"),
    ({"c_dim": 3}, "unconditional: c_dim must be 0"),
    ({"channels_base": 0}, "must be positive"),
])
def test_invalid_geometry_is_refused(kwargs, pattern):
    for cls in (Generator, Discriminator):
        with pytest.raises(ValueError, match=pattern), torch.device("meta"):
            cls(**kwargs)


def test_data_shape_must_match_the_data():
    config = load_config(SMALL)
    with pytest.raises(ConfigError, match=r"data.shape = \[2, 128, 256\] but the data give \[2, 128, 512\]"):
        builders.build_models(config, (2, 128, 512), 0)


# --- the psychoacoustic noise -------------------------------------------------------------------


def test_noise_on_real_data_has_std_threshold_over_six_with_the_given_threshold():
    data = _music((2, 128, 64), _feature_config(load_config(SMALL)))
    x = data.x
    threshold = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) * 1e-3 + 1e-5  # not x's own
    torch.manual_seed(7)
    out = PsychoacousticNoise()(x, threshold)
    torch.manual_seed(7)
    assert torch.equal(out, x + threshold * torch.randn(x.shape) / 6.0)
    unit = (out - x) / threshold
    assert abs(unit.std().item() * 6.0 - 1.0) < 0.02 and abs(unit.mean().item()) < 0.01
    x_grad = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((PsychoacousticNoise()(x_grad, threshold) - x_grad).square().sum(), x_grad)
    assert torch.count_nonzero(grad) == 0  # a given threshold is a constant


def test_noise_on_generated_data_computes_the_threshold_in_float32_with_gradients():
    features = _feature_config(load_config(SMALL))
    x = _music((2, 128, 64), features).x.requires_grad_(True)
    torch.manual_seed(3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = PsychoacousticNoise(sample_rate=features.audio.sample_rate)(x, None)
    assert out.dtype == torch.float32
    torch.manual_seed(3)
    expected = x + masking_threshold(x, sample_rate=features.audio.sample_rate) * torch.randn(x.shape) / 6.0
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=0.0)
    # out - x = T(x) n / 6 depends on x only through the threshold: its gradient is the T path
    (grad,) = torch.autograd.grad((out - x).square().sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_white_noise_has_the_power_of_the_masking_noise_spread_evenly():
    data = _music((2, 128, 64), _feature_config(load_config(SMALL)), n=2)
    torch.manual_seed(0)
    white = PsychoacousticNoise(shape="white")(data.x, data.aux) - data.x
    power = (data.aux / 6).square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(white.square().mean(dim=(1, 2, 3)), power, rtol=0.03, atol=0)
    per_bin = white.square().mean(dim=(0, 1, 3))  # flat over bins, unlike the threshold
    assert per_bin.std() / per_bin.mean() < 0.1 < (data.aux.square().mean(dim=(0, 1, 3)).std()
                                                    / data.aux.square().mean(dim=(0, 1, 3)).mean())


def test_noise_for_cube_root_models_is_added_to_the_linear_amplitudes():
    data = _music((2, 128, 64), _feature_config(load_config(SMALL)), n=2)
    torch.manual_seed(1)
    out = PsychoacousticNoise(scale="cbrt")(compand(data.x), data.aux)
    torch.manual_seed(1)
    # the smoothing below 1e-8 moves near-silent values by at most 1e-4
    torch.testing.assert_close(out, compand(data.x + data.aux * torch.randn(data.x.shape) / 6.0), rtol=1e-5, atol=1e-4)


def test_critic_transform_is_built_from_the_cache_parameters():
    config = load_config(SMALL)
    data = _music((2, 128, 64), _feature_config(config))
    transform = builders.build_critic_transform(config, data, CPU)
    assert isinstance(transform, PsychoacousticNoise) and transform.model.sample_rate == 22016
    off = load_config(SMALL, ["loss.psychoacoustic_noise=false"])
    assert builders.build_critic_transform(off, data, CPU) is None
    data.aux = None
    with pytest.raises(ConfigError, match="masking threshold"):
        builders.build_critic_transform(config, data, CPU)


# --- training -----------------------------------------------------------------------------------


def test_activation_checkpointing_gives_the_same_gradients_including_the_gradient_penalty():
    geometry = {"shape": (2, 32, 64), "n_blocks": 2, "channels_base": 2, "channels_max": 8}
    torch.manual_seed(0)
    nets = [(Generator(z_dim=8, checkpoint=flag, **geometry), Discriminator(checkpoint=flag, **geometry))
            for flag in (False, True)]
    nets[1][0].load_state_dict(nets[0][0].state_dict())
    nets[1][1].load_state_dict(nets[0][1].state_dict())
    z, c, real = torch.randn(4, 8), torch.zeros(4, 0), 0.01 * torch.randn(4, 2, 32, 64)

    def gradients(G, D):
        fake = G(z, c)
        mixing = torch.Generator().manual_seed(0)
        gp = losses.gradient_penalty(lambda x: D(x, c).score, real, fake, generator=mixing)
        return torch.autograd.grad(-D(fake, c).score.mean() + 3.0 * gp, [*G.parameters(), *D.parameters()])

    for plain, checkpointed in zip(gradients(*nets[0]), gradients(*nets[1])):
        torch.testing.assert_close(plain, checkpointed)


def test_bfloat16_autocast_keeps_the_output_and_the_score_in_float32():
    geometry = {"shape": (2, 32, 64), "n_blocks": 2, "channels_base": 2, "channels_max": 8}
    torch.manual_seed(0)
    G, D = Generator(z_dim=8, **geometry), Discriminator(**geometry)
    z, c = torch.randn(4, 8), torch.zeros(4, 0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = G(z, c)
        scores = D(x, c).score
        hidden = D.head.dense(D.head.minibatch_std(torch.zeros(4, *D.edges[-1])).flatten(1))
    assert x.dtype == scores.dtype == torch.float32 and hidden.dtype == torch.bfloat16


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_config_builds_and_takes_one_step_on_cpu(path, tmp_path):
    config = load_config(path)
    G, D, _ = _meta_models(config)  # full size, no memory
    assert G.edges[-1] == D.edges[0] == tuple(config.data.shape)
    features = _feature_config(config)
    assert features.audio.length // features.mdct.n_bins + 1 == config.data.frames + 1  # one frame cropped
    assert (features.audio.channels, features.mdct.n_bins, config.data.frames) == tuple(config.data.shape)
    assert "threshold" in features.features and config.data.features == ("mdct",)
    assert config.loss.psychoacoustic_noise
    small = load_config(path, SHRINK)
    data = _music(small.data.shape, features)
    state = builders.build_state(small, data, CPU)
    before = [p.detach().clone() for p in (*state.G.parameters(), *state.D.parameters())]
    trainer = Trainer(trainer_settings(small), state, data, tmp_path, CPU,
                      critic_transform=builders.build_critic_transform(small, data, CPU))
    scalars = trainer.train_step()
    assert {"loss/d", "loss/gp", "loss/drift", "loss/g"} <= set(scalars)
    assert all(math.isfinite(v) for v in scalars.values())
    after = [*state.G.parameters(), *state.D.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("path", CPU_CONFIGS, ids=lambda p: p.stem)
def test_cpu_configs_build_and_take_one_step_on_the_cube_root_mdct(path, tmp_path):
    config = load_config(path)
    with torch.device("meta"):
        builders.build_models(config, config.data.shape, 0)  # full size, no memory
    features = _feature_config(config)
    assert (features.audio.channels, features.mdct.n_bins, config.data.frames) == tuple(config.data.shape)
    assert config.data.normalization == "cbrt" and config.loss.psychoacoustic_noise
    small = load_config(path, SHRINK_CPU)
    data = _music(small.data.shape, features)
    data.x = compand(data.x)  # what the cache loader gives with normalization = "cbrt"
    data.info["representation"]["normalization"] = "cbrt"
    transform = builders.build_critic_transform(small, data, CPU)
    assert transform.scale == "cbrt" and transform.shape == "masking"
    state = builders.build_state(small, data, CPU)
    # every weight moves (the score's bias gets a zero hinge gradient at the start: all terms active)
    weights = [p for p in (*state.G.parameters(), *state.D.parameters()) if p.dim() > 1]
    before = [p.detach().clone() for p in weights]
    scalars = Trainer(trainer_settings(small), state, data, tmp_path, CPU, critic_transform=transform).train_step()
    assert all(math.isfinite(v) for v in scalars.values())
    assert ("loss/bands" in scalars) == (small.loss.band_matching > 0)
    assert all(not torch.equal(a, b) for a, b in zip(before, weights))


def test_resume_with_psychoacoustic_noise_is_exact(tmp_path):
    data = _music((2, 128, 64), _feature_config(load_config(SMALL)))

    def run(run_dir: Path, steps: int, resume: Path | None = None) -> dict:
        config = load_config(SMALL, [*SHRINK, f"train.steps={steps}", "train.log_every=1",
                                     "train.checkpoint_every=1", "train.keep_checkpoints=3"])
        run_dir.mkdir(exist_ok=True)
        state = builders.build_state(config, data, CPU)
        trainer = Trainer(trainer_settings(config), state, data, run_dir, CPU,
                          critic_transform=builders.build_critic_transform(config, data, CPU))
        if resume is not None:
            trainer.restore(load_checkpoint(resume))
        trainer.fit()
        last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
        return {k: v for k, v in last.items() if k.startswith(("loss/", "score/"))}

    straight = run(tmp_path / "a", 2)
    run(tmp_path / "b", 1)
    assert run(tmp_path / "b", 2, resume=tmp_path / "b" / "ckpt-00000001.pt") == straight


# --- the summary command ------------------------------------------------------------------------


def test_summary_command():
    runner = CliRunner()
    full = runner.invoke(main, ["summary", str(ROOT / "pipelines/configs/mp3net-95s.toml")])
    assert full.exit_code == 0, full.output
    assert "generator mp3net: 58,981,762 parameters" in full.output
    assert "discriminator mp3net: 59,088,225 parameters" in full.output
    assert re.search(r"start\s+512 x 2 x 4\s+2,101,248", full.output)
    assert re.search(r"blocks\.5\s+16 x 128 x 16384\s+64,480", full.output)
    assert re.search(r"head\s+scalar\s+2,102,273", full.output)
    bad = runner.invoke(main, ["summary", str(SMALL), "--set", "model.generator.n_blocks=5"])
    assert bad.exit_code == 2 and "frames = 256 must be a multiple of 4^n_blocks = 1024" in bad.output
    no_shape = runner.invoke(main, ["summary", str(ROOT / "pipelines/configs/dcgan-mnist.toml")])
    assert no_shape.exit_code == 2 and "has no data.shape" in no_shape.output
