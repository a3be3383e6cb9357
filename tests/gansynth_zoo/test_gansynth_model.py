"""GANSynth generator and discriminator: geometry, conditioning, AC head, progressive fade, the
full-size "+H" config, equalised LR, pixel norm, gradients and one training step."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from audiofeat.config import load_config as load_feature_config
from audiofeat.exceptions import ConfigError
from audiofeat.features import FeatureConfig, FeatureExtractor
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.models.gansynth import Discriminator, Generator
from gansynth_zoo.nn.layers import EqualizedConv2d, EqualizedLinear, LabelEmbedding, PixelNorm
from gansynth_zoo.training.ema import make_ema, update_ema
from gansynth_zoo.training.loop import Trainer
from gansynth_zoo.training.progressive import progress_at

# (shape, channels, start): shape[1:] == start * 2**(len(channels) - 1)
GEOMETRIES = [((2, 64, 16), (8, 8, 4), (16, 4)), ((1, 16, 8), (8, 4, 4, 4), (2, 1)),
              ((2, 16, 2), (8,), (16, 2))]
TINY = {"shape": (2, 32, 8), "channels": (8, 8, 4), "start": (8, 2)}


def _labels(batch: int, c_dim: int, seed: int = 0) -> torch.Tensor:
    index = torch.randint(c_dim, (batch,), generator=torch.Generator().manual_seed(seed))
    return F.one_hot(index, c_dim).float()


@pytest.mark.parametrize("shape, channels, start", GEOMETRIES)
def test_block_edges_and_output_shapes(shape, channels, start):
    torch.manual_seed(0)
    G = Generator(z_dim=8, c_dim=3, shape=shape, channels=channels, start=start)
    D = Discriminator(c_dim=3, shape=shape, channels=channels, start=start)
    seen: dict[str, tuple[int, ...]] = {}
    blocks = [(f"G{i}", b) for i, b in enumerate(G.blocks)] + [(f"D{i}", b) for i, b in enumerate(D.blocks)]
    for name, block in blocks:
        block.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
    z, c = torch.randn(5, 8), _labels(5, 3)
    x = G(z, c)
    assert x.shape == (5, *shape) and x.abs().max() <= 1
    assert D(x, c).score.shape == (5,)
    for i, width in enumerate(channels):
        assert seen[f"G{i}"] == (5, width, start[0] * 2 ** i, start[1] * 2 ** i)
    for i in range(1, len(channels)):  # D block i hands resolution i - 1 the width of i - 1
        assert seen[f"D{i}"] == (5, channels[i - 1], start[0] * 2 ** (i - 1), start[1] * 2 ** (i - 1))
    assert seen["D0"] == (5, channels[0])


@pytest.mark.parametrize("g_mode", ["concat", "embedding"])
@pytest.mark.parametrize("d_mode", ["concat", "embedding", "projection", "none"])
def test_conditioning_modes(g_mode, d_mode):
    torch.manual_seed(0)
    G = Generator(z_dim=8, c_dim=5, conditioning=g_mode, embed_dim=4, **TINY)
    D = Discriminator(c_dim=5, conditioning=d_mode, embed_dim=3, **TINY)
    assert isinstance(G.embed, LabelEmbedding) == (g_mode == "embedding")
    assert isinstance(D.embed, LabelEmbedding) == (d_mode in ("embedding", "projection"))
    z = torch.randn(4, 8).repeat(2, 1)
    c = torch.cat([_labels(4, 5, seed=1), _labels(4, 5, seed=2)])
    assert not torch.equal(c[:4], c[4:])
    x = G(z, c)
    assert x.shape == (8, *TINY["shape"])
    assert not torch.allclose(x[:4], x[4:])  # same latents, other labels
    scores = D(x[:4].repeat(2, 1, 1, 1), c).score
    assert scores.shape == (8,)
    # the critic's score depends on the labels unless it ignores them
    assert torch.allclose(scores[:4], scores[4:]) == (d_mode == "none")


def test_unconditional_models_take_empty_labels():
    G = Generator(z_dim=8, c_dim=0, conditioning="embedding", **TINY)
    D = Discriminator(c_dim=0, conditioning="projection", **TINY)
    assert G.embed is None and D.embed is None and D.conditioning == "none"
    empty = torch.zeros(3, 0)
    assert D(G(torch.randn(3, 8), empty), empty).score.shape == (3,)


def test_embedding_is_a_sum_of_class_and_subclass_embeddings():
    embed = LabelEmbedding(2 + 3, 4)  # 2 classes, then 3 subclasses
    c = torch.tensor([[0.0, 1.0, 0.0, 0.0, 1.0]])  # class 1, subclass 2
    assert torch.allclose(embed(c), embed.weight[1] + embed.weight[2 + 2])


def test_projection_term_is_the_scaled_inner_product():
    torch.manual_seed(0)
    D = Discriminator(c_dim=4, conditioning="projection", **TINY)
    x, c = torch.randn(3, *TINY["shape"]), _labels(3, 4)
    features = D.blocks[0](D.blocks[1](D.blocks[2](D.from_rgb(x))))
    expected = D.score(features).squeeze(1) + (D.embed(c) * features).sum(1) / math.sqrt(TINY["channels"][0])
    assert torch.allclose(D(x, c).score, expected, atol=1e-6)


def test_auxiliary_classifier_head():
    D = Discriminator(c_dim=5, conditioning="none", n_classes_aux=7, **TINY)
    scores, logits = D(torch.randn(3, *TINY["shape"]), _labels(3, 5))  # batch 3: mbstd over the whole batch
    assert scores.shape == (3,) and logits.shape == (3, 7)
    plain = Discriminator(**TINY)(torch.randn(2, *TINY["shape"]), torch.zeros(2, 0))  # the same type, no logits
    assert plain.score.shape == (2,) and plain.logits is None


def _progressive_pair(cls, **kwargs):
    torch.manual_seed(0)
    grown = cls(progressive=True, **kwargs, **TINY)
    plain = cls(progressive=False, **kwargs, **TINY)
    result = plain.load_state_dict(grown.state_dict(), strict=False)
    assert result.missing_keys == []
    lower = "lower_to_rgb" if cls is Generator else "lower_from_rgb"
    assert {k.split(".")[0] for k in result.unexpected_keys} == {lower, "stage", "alpha"}
    return grown, plain


def test_progressive_generator_fades_linearly():
    G, plain = _progressive_pair(Generator, z_dim=8, c_dim=3)
    z, c = torch.randn(4, 8), _labels(4, 3)
    assert G.progress() == (2, 1.0)
    assert torch.equal(G(z, c), plain(z, c))  # full network, alpha = 1: the non-progressive path
    outputs = {}
    for stage, alpha in [(0, 1.0), (1, 0.0), (1, 0.25), (1, 1.0), (2, 0.0)]:
        G.set_progress(stage, alpha)
        outputs[stage, alpha] = G(z, c)
        assert outputs[stage, alpha].shape == (4, *TINY["shape"])
    assert torch.equal(outputs[1, 0.0], outputs[0, 1.0]) and torch.equal(outputs[2, 0.0], outputs[1, 1.0])
    assert torch.allclose(outputs[1, 0.25], 0.75 * outputs[1, 0.0] + 0.25 * outputs[1, 1.0], atol=1e-6)
    # stage 0 works at 8 x 2 and is nearest-upsampled by 4 on both axes
    low = outputs[0, 1.0][:, :, ::4, ::4]
    assert torch.equal(outputs[0, 1.0], low.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3))


def test_progressive_discriminator_fades():
    D, plain = _progressive_pair(Discriminator, c_dim=3, n_classes_aux=2)
    x, c = torch.randn(4, *TINY["shape"]), _labels(4, 3)
    assert all(torch.equal(a, b) for a, b in zip(D(x, c), plain(x, c)))
    scores = {}
    for stage, alpha in [(0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0)]:
        D.set_progress(stage, alpha)
        scores[stage, alpha] = D(x, c)[0]
    assert torch.allclose(scores[1, 0.0], scores[0, 1.0], atol=1e-6)
    assert torch.allclose(scores[2, 0.0], scores[1, 1.0], atol=1e-6)
    assert not torch.allclose(scores[1, 0.5], scores[1, 0.0])
    assert not torch.allclose(scores[1, 0.5], scores[1, 1.0])
    # stage 0 sees the input averaged down to the start resolution
    D.set_progress(0)
    blocky = F.avg_pool2d(x, 4).repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    assert torch.allclose(D(x, c)[0], D(blocky, c)[0], atol=1e-5)


def test_progress_lives_in_buffers():
    G = Generator(z_dim=8, progressive=True, **TINY)
    ema = make_ema(G)
    G.set_progress(1, 0.5)
    update_ema(ema, G, 0.999)
    assert ema.progress() == (1, 0.5)
    state = G.state_dict()
    fresh = Generator(z_dim=8, progressive=True, **TINY)
    fresh.load_state_dict(state)
    assert fresh.progress() == (1, 0.5) and int(state["stage"]) == 1


def test_set_progress_validation():
    G = Generator(z_dim=8, progressive=True, **TINY)
    for stage, alpha in [(3, 1.0), (-1, 1.0), (1, 1.5), (0, 0.5)]:
        with pytest.raises(ValueError, match="stage must be in"):
            G.set_progress(stage, alpha)
    with pytest.raises(ValueError, match="progressive=True"):
        Discriminator(**TINY).set_progress(0)


def test_progress_schedule():
    k = 800_000
    assert progress_at(0, n_blocks=7) == (0, 1.0)
    assert progress_at(k - 1, n_blocks=7) == (0, 1.0)
    assert progress_at(k, n_blocks=7) == (1, 0.0)
    assert progress_at(k + k // 4, n_blocks=7) == (1, 0.25)
    assert progress_at(2 * k, n_blocks=7) == (1, 1.0)
    assert progress_at(3 * k + k // 2, n_blocks=7) == (2, 0.5)
    assert progress_at(12 * k - 1, n_blocks=7) == (6, (k - 1) / k)  # 13th phase: last block stable
    assert progress_at(12 * k, n_blocks=7) == (6, 1.0) == progress_at(10**9, n_blocks=7)
    assert progress_at(10, n_blocks=1) == (0, 1.0)
    assert progress_at(150, n_blocks=3, stable_images=100, fade_images=100) == (1, 0.5)
    with pytest.raises(ValueError, match="images >= 0"):
        progress_at(-1, n_blocks=7)


def test_full_hires_config_parameter_count():
    """GANSynth +H with NSynth's 61 pitches (c_dim = n_classes_aux = 61), counted by hand.

    G (z 256 + c 61 = 317 inputs): start conv 317*256*16*2 + 256 = 2,597,120; seven 3x3 convs 256->256
    (start block 1, blocks 1-3 two each) 7 * 590,080 = 4,130,560; 256->128 295,040; 128->128 147,584;
    128->64 73,792; 64->64 36,928; 64->32 18,464; 32->32 9,248; to_rgb per block (w*2 + 2):
    4*514 + 258 + 130 + 66 = 2,510. Total 7,311,246.
    D: from_rgb per resolution (2*w + w): 4*768 + 384 + 192 + 96 = 3,744; blocks 32->32 9,248,
    32->64 18,496, 64->64 36,928, 64->128 73,856, 128->128 147,584, 128->256 295,168, six 256->256
    3,540,480; last block: 3x3 conv 257->256 592,384, 16x2 conv 256->256 2,097,408, score 257,
    classifier 256*61 + 61 = 15,677. Total 6,831,230.
    """
    config = load_config("pipelines/configs/gansynth-hires.toml", ["model.discriminator.n_classes_aux=61"])
    with torch.device("meta"):
        G, D, info = builders.build_models(config, (2, 1024, 128), 61)
    assert info["generator"]["shape"] == [2, 1024, 128] and G.progressive and D.progressive
    n_g, n_d = (sum(p.numel() for p in m.parameters()) for m in (G, D))
    assert (n_g, n_d) == (7_311_246, 6_831_230), f"G has {n_g:,} parameters and D {n_d:,}"
    assert G.to_rgb.weight.is_meta and G.stage.is_meta


def test_hires_feature_config_gives_the_model_shape():
    features = load_feature_config("pipelines/features/oneshots-hires.toml", FeatureConfig)
    run = load_config("pipelines/configs/gansynth-hires.toml")
    out = FeatureExtractor(features).compute(torch.zeros(1, 1, features.audio.length))
    assert {name: tuple(v.shape) for name, v in out.items()} == {"log_mag": (1, 1, 1024, 128),
                                                                 "if": (1, 1, 1024, 128)}
    assert run.data.features == features.features and features.audio.channels == 1
    assert run.data.shape == (2, 1024, 128)
    assert run.model.generator["start"] == run.model.discriminator["start"] == [16, 2]


def test_equalized_learning_rate():
    torch.manual_seed(0)
    G = Generator(z_dim=64, c_dim=4, shape=(2, 64, 16), channels=(64, 64, 32), start=(16, 4))
    D = Discriminator(c_dim=4, shape=(2, 64, 16), channels=(64, 64, 32), start=(16, 4), n_classes_aux=3)
    for model in (G, D):
        assert not any(type(m) in (nn.Conv2d, nn.Linear) for m in model.modules())
        weights = torch.cat([m.weight.detach().flatten() for m in model.modules()
                             if isinstance(m, (EqualizedConv2d, EqualizedLinear))])
        assert abs(float(weights.mean())) < 0.01 and abs(float(weights.std()) - 1) < 0.01
        assert all(not b.detach().any() for n, b in model.named_parameters() if n.endswith("bias"))
    conv = G.blocks[1][1].conv  # 3x3, 64 -> 64
    x = torch.randn(2, 64, 8, 8)
    expected = F.conv2d(x, conv.weight * math.sqrt(2 / (64 * 9)), conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-5)
    assert G.to_rgb.scale == pytest.approx(1 / math.sqrt(32)) and D.score.scale == pytest.approx(1 / 8)


def test_pixel_norm_gives_unit_rms_features():
    G = Generator(z_dim=8, c_dim=3, **TINY)
    rms = []
    for norm in (m for m in G.modules() if isinstance(m, PixelNorm)):
        norm.register_forward_hook(lambda m, i, o: rms.append(o.square().mean(dim=1).sqrt()))
    G(10 * torch.randn(4, 8), _labels(4, 3))
    assert len(rms) == 7  # the latent and every conv
    assert all(torch.allclose(r, torch.ones_like(r), atol=1e-4) for r in rms)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    G = Generator(z_dim=8, c_dim=5, conditioning="embedding", **TINY)
    D = Discriminator(c_dim=5, conditioning="projection", n_classes_aux=4, **TINY)
    z, c = torch.randn(6, 8), _labels(6, 5)
    scores, logits = D(G(z, c), c)
    (scores.sum() + F.cross_entropy(logits, torch.arange(6) % 4)).backward()
    for model in (G, D):
        for name, p in model.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_device(device):
    G = Generator(z_dim=8, c_dim=3, progressive=True, **TINY).to(device)
    D = Discriminator(c_dim=3, conditioning="embedding", n_classes_aux=2, progressive=True, **TINY).to(device)
    G.set_progress(1, 0.5)
    D.set_progress(1, 0.5)
    c = _labels(4, 3).to(device)
    x = G(torch.randn(4, 8, device=device), c)
    scores, logits = D(x, c)
    assert x.device.type == scores.device.type == logits.device.type == device.type


@pytest.mark.parametrize("kwargs, pattern", [
    ({"shape": (2, 32, 8), "channels": (8, 8), "start": (8, 2)}, r"start \* 2\*\*\(len\(channels\) - 1\).*"
                                                                  r"use start = \[16, 4\]"),
    ({"shape": (2, 32, 9), "channels": (8, 8), "start": (16, 4)}, "does not match"),
    ({"shape": (32, 8), "channels": (8,), "start": (32, 8)}, "shape must be"),
    ({"shape": (2, 32, 8), "channels": (), "start": (32, 8)}, "channels must list"),
    ({"shape": (2, 32, 8), "channels": (8,), "start": (32,)}, "start must be"),
    ({**TINY, "conditioning": "film"}, "conditioning must be one of"),
])
def test_invalid_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Generator(**kwargs)
    with pytest.raises(ValueError, match=pattern):
        Discriminator(**kwargs)


def test_inputs_of_other_shapes_are_rejected():
    with pytest.raises(AssertionError, match=r"expected shape \(\*, 2, 32, 8\), got \(2, 2, 16, 8\)"):
        Discriminator(**TINY)(torch.randn(2, 2, 16, 8), torch.zeros(2, 0))
    with pytest.raises(AssertionError, match=r"expected shape \(2, 3\), got \(2, 4\)"):
        Generator(z_dim=8, c_dim=3, **TINY)(torch.randn(2, 8), torch.zeros(2, 4))


TINY_RUN = ["model.name=gansynth", "model.z_dim=8", "model.generator.channels=[8, 8, 4]",
            "model.generator.start=[8, 2]", "model.discriminator.channels=[8, 8, 4]",
            "model.discriminator.start=[8, 2]",
            "model.discriminator.conditioning=none", "model.discriminator.n_classes_aux=4",
            "loss.kind=wgan-gp", "loss.drift=0.001", "loss.ac_weight=10", "optim.betas=[0.0, 0.99]",
            "train.batch_size=4", "train.steps=1"]


def test_builds_through_the_registry_and_trains_one_step(tmp_path):
    config = load_config(None, TINY_RUN)
    labels = torch.arange(12) % 4
    data = TrainingData(torch.rand(12, 2, 32, 8) * 2 - 1, labels, F.one_hot(labels, 4).float(),
                        ("a", "b", "c", "d"), {"source": "test"})
    state = builders.build_state(config, data, torch.device("cpu"))
    assert isinstance(state.G, Generator) and isinstance(state.D, Discriminator)
    assert state.model["discriminator"] == {"c_dim": 4, "shape": [2, 32, 8], "channels": [8, 8, 4],
                                            "start": [8, 2], "conditioning": "none", "n_classes_aux": 4}
    before = [p.detach().clone() for p in state.G.parameters()]
    scalars = Trainer(trainer_settings(config), state, data, tmp_path, torch.device("cpu")).train_step()
    assert {"loss/gp", "loss/drift", "loss/ac_real", "loss/ac_fake"} <= set(scalars)
    assert all(math.isfinite(v) for v in scalars.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, state.G.parameters()))
    with pytest.raises(ConfigError, match="accepted arguments: .*n_classes_aux"):
        typo = load_config(None, [*TINY_RUN, "model.discriminator.n_class_aux=4"])
        builders.build_models(typo, (2, 32, 8), 4)
