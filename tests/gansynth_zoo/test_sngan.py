"""The CPU-sized SNGAN pair: geometry, conditioning modes, spectral norm, the AC head, resize-convolution
upsampling and a short training run that must learn to follow its labels."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import load_config
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.models.sngan import Discriminator, Generator, SignedRoot, level, level_quantiles
from gansynth_zoo.training.loop import Trainer


def _one_hot(batch: int, c_dim: int, seed: int = 0) -> torch.Tensor:
    return F.one_hot(torch.randint(c_dim, (batch,), generator=torch.Generator().manual_seed(seed)), c_dim).float()


@pytest.mark.parametrize("shape, g_channels, start, d_channels", [
    ((1, 64, 64), (16, 8, 8, 4, 4), (4, 4), (4, 8, 8, 16)),
    ((2, 32, 16), (8, 8, 4), (8, 4), (4, 8)),
])
def test_shapes(shape, g_channels, start, d_channels):
    torch.manual_seed(0)
    G = Generator(z_dim=8, c_dim=3, shape=shape, channels=g_channels, start=start)
    D = Discriminator(c_dim=3, shape=shape, channels=d_channels)
    z, c = torch.randn(5, 8), _one_hot(5, 3)
    x = G(z, c)
    assert x.shape == (5, *shape) and x.abs().max() <= 1
    assert D(x, c).score.shape == (5,)


def test_geometry_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"use start = \[4, 4\]"):
        Generator(shape=(1, 64, 64), channels=(8, 8, 8, 8, 8), start=(8, 8))
    with pytest.raises(ValueError, match="multiples of 2\\*\\*len\\(channels\\) = 16"):
        Discriminator(shape=(1, 64, 40), channels=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="conditioning must be one of"):
        Discriminator(c_dim=3, conditioning="embedding")


@pytest.mark.parametrize("mode", ["concat", "projection", "both", "none"])
def test_conditioning_modes_change_the_score_only_when_used(mode):
    torch.manual_seed(0)
    D = Discriminator(c_dim=4, shape=(1, 16, 16), channels=(4, 8), conditioning=mode).eval()
    x = torch.randn(3, 1, 16, 16)
    a, b = F.one_hot(torch.tensor([0, 1, 2]), 4).float(), F.one_hot(torch.tensor([3, 3, 3]), 4).float()
    differs = not torch.allclose(D(x, a).score, D(x, b).score)
    assert differs == (mode != "none")
    assert (D.embed is not None) == (mode in ("projection", "both"))


def test_discriminator_layers_are_spectrally_normalised():
    torch.manual_seed(0)
    D = Discriminator(c_dim=3, shape=(1, 16, 16), channels=(4, 8), conditioning="both")
    normalised = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and hasattr(m, "parametrizations")]
    assert len(normalised) == 4  # two convs, the score and the projection embedding
    D.train()
    for _ in range(30):  # power iteration converges on the largest singular value
        D(torch.randn(2, 1, 16, 16), _one_hot(2, 3))
    conv = D.body[0]
    sigma = float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2))
    assert sigma == pytest.approx(1.0, abs=0.05)


def test_auxiliary_head_returns_logits():
    D = Discriminator(c_dim=3, shape=(1, 16, 16), channels=(4, 8), n_classes_aux=5)
    score, logits = D(torch.randn(2, 1, 16, 16), _one_hot(2, 3))
    assert score.shape == (2,) and logits.shape == (2, 5)


def test_generator_upsamples_without_transposed_convolutions():
    G = Generator(z_dim=4, shape=(1, 32, 32), channels=(8, 8, 8, 8), start=(4, 4))
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in G.modules())
    assert sum(isinstance(m, nn.Upsample) and m.mode == "nearest" for m in G.modules()) == 3


def test_minibatch_std_lets_the_critic_see_batch_variety():
    """Without the channel each score depends on its own example only; with it, on its group's spread."""
    torch.manual_seed(0)
    x = torch.randn(4, 1, 16, 16)
    varied = torch.cat([x[:1], torch.randn(3, 1, 16, 16)])
    same = x[:1].expand(4, -1, -1, -1)
    for group, changes in ((0, False), (4, True)):
        D = Discriminator(shape=(1, 16, 16), channels=(4, 8), conditioning="none", mbstd_group=group).eval()
        c = torch.zeros(4, 0)
        assert (not torch.allclose(D(varied, c).score[0], D(same, c).score[0])) == changes
    with pytest.raises(ValueError, match="mbstd_group must be >= 0"):
        Discriminator(mbstd_group=-1)


def test_level_features_give_the_critic_each_level_and_its_spread_in_the_group():
    x = torch.randn(8, 2, 16, 16) * torch.tensor([1, 1, 4, 1, 1, 1, 8, 1.0])[:, None, None, None]
    D = Discriminator(shape=(2, 16, 16), channels=(4, 8), conditioning="none", mbstd_group=4, level_features=True)
    seen = []
    D.score.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0]))
    D(x, torch.zeros(8, 0))
    level = 0.5 * torch.log(x.square().mean(dim=(2, 3)) + 1e-6)  # (8, 2)
    groups = level.reshape(4, 2, 2)  # MinibatchStd's grouping: example i is in group i % 2
    spread = (groups.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=1).repeat(4)
    assert torch.allclose(seen[0][:, -3:], torch.cat([level, spread[:, None]], dim=1), atol=1e-5)
    assert spread[0] > 2 * spread[1]  # examples 0, 2, 4, 6: some louder; 1, 3, 5, 7: all alike
    assert seen[0].shape[1] == (8 + 1) * 4 * 4 + 3
    with pytest.raises(ValueError, match="level_features needs mbstd_group >= 1"):
        Discriminator(level_features=True)


def test_level_head_scales_each_output_by_a_gain_of_its_latent():
    torch.manual_seed(0)
    z = torch.randn(3, 4)
    plain = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4)).eval()
    G = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4), level_head=True).eval()
    G.load_state_dict(plain.state_dict(), strict=False)
    c = torch.zeros(3, 0)
    assert torch.equal(G(z, c), plain(z, c))  # the head starts at a gain of 1
    with torch.no_grad():
        G.level.weight.copy_(torch.tensor([[0.5, 0.0, 0.0, 0.0]]))
        G.level.bias.fill_(-0.1)
    gain = (0.5 * z[:, 0] - 0.1).exp()[:, None, None, None]
    assert torch.allclose(G(z, c), plain(z, c) * gain, atol=1e-6)
    started = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4), level_head=True, level_init=0.3)
    assert torch.linalg.norm(started.level.weight).item() == pytest.approx(0.3)
    assert started.level.bias.item() == 0.0
    with pytest.raises(ValueError, match="level_init must be >= 0"):
        Generator(level_head=True, level_init=-1.0)


def test_reflect_padding_draws_the_edges_like_the_middle():
    """With reflection padding a generator whose every conv sees a constant map returns a constant
    map; zero padding makes its border differ."""
    for padding, flat in (("zeros", False), ("reflect", True)):
        G = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4), padding=padding).eval()
        for m in G.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.constant_(m.weight, 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.bias)  # a constant map of ones after every norm
        with torch.no_grad():
            G.project.weight.zero_()
            x = G(torch.randn(2, 4), torch.zeros(2, 0))
        assert torch.allclose(x, x[:, :, :1, :1].expand_as(x), atol=1e-6) == flat
    with pytest.raises(ValueError, match="padding must be one of"):
        Generator(padding="circular")


def test_output_root_moves_mass_away_from_zero():
    """The signed root keeps the sign, maps [-1, 1] onto itself, has a finite slope at 0, and applied to
    the same network's tanh output it leaves fewer values near 0 (what real cube-root MDCTs look like)."""
    t = torch.linspace(-1, 1, 201, requires_grad=True)
    root = SignedRoot(2.0)
    y = root(t)
    far = t.detach().abs() > 0.05
    assert torch.allclose(y[far], t[far].sign() * t[far].abs().sqrt(), rtol=0.02)
    assert torch.equal(y.sign(), t.detach().sign()) and y.abs().max() <= 1
    y.sum().backward()
    assert torch.isfinite(t.grad).all() and t.grad.max() <= 10.0 + 1e-4
    torch.manual_seed(0)
    plain = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4)).eval()
    rooted = Generator(z_dim=4, shape=(1, 16, 16), channels=(4, 4, 4), start=(4, 4), output_root=2.0).eval()
    rooted.load_state_dict(plain.state_dict())
    z, c = torch.randn(8, 4), torch.zeros(8, 0)
    with torch.no_grad():
        a, b = plain(z, c), rooted(z, c)
    assert torch.allclose(b, root(a), atol=1e-6)
    assert (b.abs() < 0.1).float().mean() < (a.abs() < 0.1).float().mean()
    with pytest.raises(ValueError, match="output_root"):
        Generator(output_root=0.5)


def test_output_gain_starts_at_one_and_learns_a_row_gain():
    """The learned gain leaves a fresh generator unchanged, has one value per channel and frequency row,
    and a loss on one row's level moves that row's gain alone ("free"); "tilt" keeps the gain's mean
    over the rows of each channel at 0 (the level stays with the network); other values are refused."""
    torch.manual_seed(0)
    plain = Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4)).eval()
    z, c = torch.randn(3, 4), torch.zeros(3, 0)
    free = Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4), output_gain="free").eval()
    free.load_state_dict(plain.state_dict(), strict=False)
    assert free.log_gain.shape == (1, 2, 16, 1)
    assert torch.equal(free(z, c), plain(z, c))
    free(z, c)[:, 1, 5].square().sum().backward()
    moved = free.log_gain.grad.squeeze() != 0
    assert moved[1, 5] and moved.sum() == 1

    tilt = Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4), output_gain="tilt").eval()
    tilt.load_state_dict(plain.state_dict(), strict=False)
    assert torch.equal(tilt(z, c), plain(z, c))
    with torch.no_grad():
        tilt.log_gain.add_(1.0)  # a common offset is no gain at all
        assert torch.allclose(tilt(z, c), plain(z, c))
        tilt.log_gain[0, 0, :8] += 0.1  # the low half louder than the high half, by 2 * 0.05 * GAIN_RATE
        ratio = (tilt(z, c) / plain(z, c))[:, 0]
    assert torch.allclose(ratio[:, :8], torch.tensor(0.8).exp(), rtol=1e-4)
    assert torch.allclose(ratio[:, 8:], torch.tensor(-0.8).exp(), rtol=1e-4)
    with pytest.raises(ValueError, match="output_gain must be one of"):
        Generator(output_gain="level")
    # runs recorded before "tilt" existed stored a bool; their generators still load
    old = Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4), output_gain=True)
    old.load_state_dict(free.state_dict())
    assert Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4), output_gain=False).log_gain is None


def _striped_data(n_labels: int = 2, per_label: int = 32) -> TrainingData:
    """Label 0: energy in the top half of a 16 x 16 'spectrogram'; label 1: in the bottom half."""
    labels = torch.arange(n_labels * per_label) % n_labels
    x = -torch.ones(len(labels), 1, 16, 16)
    noise = torch.rand(len(labels), 1, 8, 16, generator=torch.Generator().manual_seed(0)) * 0.4
    x[labels == 0, :, :8] = 0.6 + noise[labels == 0]
    x[labels == 1, :, 8:] = 0.6 + noise[labels == 1]
    return TrainingData(x, labels, F.one_hot(labels, n_labels).float(), ("a/top", "a/bottom"),
                        {"source": "stand-in", "shape": [1, 16, 16]})


def test_short_training_follows_the_labels(tmp_path):
    """A few hundred steps on two trivially separable labels: the EMA generator puts the energy
    where the requested label has it (the demo's recipe in miniature)."""
    config = load_config("pipelines/configs/demo.toml", [
        "data.shape=[1, 16, 16]", "model.z_dim=16", "model.generator.channels=[32, 16, 8]",
        "model.generator.start=[4, 4]", "model.discriminator.channels=[16, 32]", "train.steps=300",
        "train.batch_size=16", "train.log_every=100", "train.checkpoint_every=300", "train.ema_decay=0.99",
        "optim.lr_g=2e-3", "optim.lr_d=2e-3"])
    data = _striped_data()
    torch.manual_seed(0)
    state = builders.build_state(config, data, torch.device("cpu"))
    Trainer(trainer_settings(config), state, data, tmp_path, torch.device("cpu")).fit()
    G = state.G_ema.eval()
    with torch.no_grad():
        z = torch.randn(64, 16, generator=torch.Generator().manual_seed(1))
        top = G(z, F.one_hot(torch.zeros(64, dtype=torch.long), 2).float())
        bottom = G(z, F.one_hot(torch.ones(64, dtype=torch.long), 2).float())
    hits = (top[:, 0, :8].mean(dim=(1, 2)) > top[:, 0, 8:].mean(dim=(1, 2))).float().mean() + \
        (bottom[:, 0, 8:].mean(dim=(1, 2)) > bottom[:, 0, :8].mean(dim=(1, 2))).float().mean()
    assert hits / 2 >= 0.9


def test_level_quantiles_give_each_output_the_real_level_its_latent_picks():
    """The first latent picks a level from the real distribution through the normal CDF and the
    quantiles, and the output has that level exactly (of the linear signal, exponent 3)."""
    torch.manual_seed(0)
    real = torch.randn(200, 2, 16, 16) * torch.logspace(-1, 0, 200)[:, None, None, None]
    quantiles = level_quantiles(real, 3.0, 17)
    assert quantiles == sorted(quantiles) and quantiles[0] == pytest.approx(level(real, 3.0).min().item())
    G = Generator(z_dim=4, shape=(2, 16, 16), channels=(4, 4, 4), start=(4, 4), level_quantiles=quantiles,
                  level_exponent=3.0).eval()
    z = torch.randn(400, 4)
    out = level(G(z, torch.zeros(400, 0)), 3.0)
    assert torch.allclose(out, G._drawn_level(z), atol=1e-4)
    median = G._drawn_level(torch.zeros(1, 4)).item()  # z = 0: probability 1/2, the middle quantile
    assert median == pytest.approx(quantiles[8], abs=1e-6)
    assert out.std().item() == pytest.approx(level(real, 3.0).std().item(), rel=0.15)
    with pytest.raises(ValueError, match="excludes level_head"):
        Generator(level_quantiles=quantiles, level_head=True)


def test_level_quantiles_from_the_data_are_filled_in_by_the_builder():
    from gansynth_zoo import builders
    from gansynth_zoo.config import load_config
    from gansynth_zoo.data.dataset import TrainingData

    x = torch.randn(8, 2, 16, 16) * torch.linspace(0.1, 1, 8)[:, None, None, None]
    data = TrainingData(x, torch.zeros(8, dtype=torch.long), torch.zeros(8, 0), ("music",))
    config = load_config(None, ['model.name="sngan"', "model.conditional=false", "model.generator.channels=[4, 4, 4]",
                                "model.generator.start=[4, 4]", "model.discriminator.channels=[4, 4]",
                                'model.generator.level_quantiles="data"', "model.generator.level_exponent=3.0"])
    G, _, info = builders.build_models(config, (2, 16, 16), 0, 1, data)
    assert info["generator"]["level_quantiles"] == pytest.approx(level_quantiles(x, 3.0, builders.LEVEL_POINTS))
    assert torch.allclose(G.quantiles, torch.tensor(info["generator"]["level_quantiles"]))
    _, _, placeholder = builders.build_models(config, (2, 16, 16), 0)  # no data: a placeholder of that size
    assert len(placeholder["generator"]["level_quantiles"]) == builders.LEVEL_POINTS
