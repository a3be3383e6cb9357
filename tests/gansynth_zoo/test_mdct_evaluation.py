"""MDCT evaluation (MP3net runs): a tiny MDCT + threshold cache of a tone and of noise, a one-step MP3net
run on it, ``gansynth-zoo evaluate`` and the per-example statistics on known signals."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from audiofeat.cache import build_cache
from audiofeat.exceptions import ConfigError
from audiofeat.features import AudioSettings, FeatureConfig
from gansynth_zoo import builders
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.mdct import SCORES, band_statistics, evaluate_mdct, example_scores, score_mdct
from gansynth_zoo.training.run import run_training

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "pipelines" / "configs" / "mp3net-small.toml"
RATE, FRAMES, WINDOWS = 22016, 64, 3  # windows of 64 x 128 samples (0.37 s), three per file
# mp3net-small shrunk as in test_mp3net.py: 3 blocks, widths 4..16
SHRINK = ["data.shape=[2, 128, 64]", f"data.frames={FRAMES}", "model.generator.n_blocks=3",
          "model.discriminator.n_blocks=3", "model.generator.channels_base=4",
          "model.discriminator.channels_base=4", "model.generator.channels_max=16",
          "model.discriminator.channels_max=16", "train.batch_size=4", "train.steps=1", "train.log_every=1",
          "train.checkpoint_every=1", "name=tiny-mp3net"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A cache of a 440 Hz tone and of white noise (stereo, MP3net conventions) and a one-step run on it."""
    root = tmp_path_factory.mktemp("mdct")
    n = WINDOWS * FRAMES * 128
    t = np.arange(n) / RATE
    noise = np.random.default_rng(0).standard_normal((n, 2))
    for name, audio in (("tone", np.stack([np.sin(2 * np.pi * 440.0 * t)] * 2, axis=1)), ("noise", noise)):
        (root / "music" / name).mkdir(parents=True)
        sf.write(root / "music" / name / f"{name}.wav", 0.5 * audio / np.abs(audio).max(), RATE,
                 subtype="FLOAT")
    features = FeatureConfig(features=("mdct", "threshold"),
                             audio=AudioSettings(sample_rate=RATE, channels=2, mode="windows",
                                                 length=FRAMES * 128, min_duration=0.1))
    build_cache(root / "music", root / "music.h5", features)
    config = load_config(SMALL, [*SHRINK, f"data.path={root / 'music.h5'}"])
    run_dir = run_training(config, out=root / "runs")
    return run_dir, builders.build_data(config)


def _representation(data) -> Representation:
    return Representation.from_dict(data.info["representation"])


def test_evaluate_command_writes_the_mdct_record(run):
    run_dir, data = run
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--samples", "10", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    record = json.loads((run_dir / "metric-mdct.jsonl").read_text().splitlines()[-1])
    assert record["metric"] == "mdct" and record["checkpoint"] == "generator.pt (step 1)"
    assert (record["samples"], record["real_examples"]) == (10, 2 * WINDOWS)
    assert record["real_threshold"] == "cache"
    for name in SCORES:
        for key in (name, f"{name}_std", f"{name}_real", f"{name}_real_std"):
            assert math.isfinite(record[key]), key
        assert record[f"{name}_std"] >= 0 and record[f"{name}_real_std"] >= 0
    for key in ("tonality", "tonality_real"):
        assert -1e-3 < record[key] <= 1
    for key in ("below_threshold", "below_threshold_real"):
        assert 0 <= record[key] <= 1
    for key in ("rms_dbfs", "rms_dbfs_real"):
        assert -200 <= record[key] <= 0
    assert record["fd"] >= 0 and record["fd_floor"] >= 0
    assert not (run_dir / "metric-audio.jsonl").exists()


def test_every_checkpoint_kept_is_scored_for_the_learning_curve(run):
    run_dir, data = run
    before = len((run_dir / "metric-mdct.jsonl").read_text().splitlines()) if (
        run_dir / "metric-mdct.jsonl").exists() else 0
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--samples", "10", "--checkpoints"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (run_dir / "metric-mdct.jsonl").read_text().splitlines()[before:]]
    assert [r["checkpoint"] for r in records] == ["ckpt-00000001.pt (step 1)", "generator.pt (step 1)"]
    assert records[0]["tonality"] == records[1]["tonality"]  # the checkpoint's EMA generator is generator.pt's
    chosen = CliRunner().invoke(main, ["select", str(run_dir), "--by", "mdct.fd"])  # as make train-mp3net
    assert chosen.exit_code == 0, chosen.output
    assert json.loads((run_dir / "selection.json").read_text())["candidates"] == [[1, records[0]["fd"]]]


def test_band_statistics_embed_level_and_movement_per_band():
    coeffs = torch.zeros(2, 2, 128, 16)
    coeffs[0, :, 8:12] = 1.0  # band 2 steady at power 1
    coeffs[1, :, 8:12, ::2] = 1.0  # band 2 switching on and off
    embedding = band_statistics(coeffs)
    assert embedding.shape == (2, 64)
    assert embedding[0, 2] == pytest.approx(0.0, abs=1e-9) and embedding[0, 34] == pytest.approx(0.0, abs=1e-9)
    assert embedding[0, 0] == pytest.approx(-12.0) and embedding[1, 34] > 5  # silence; a moving band


def test_examples_do_not_depend_on_the_batch_size_and_the_real_statistics_on_the_seed(run):
    run_dir, data = run
    whole = evaluate_mdct(run_dir, data, samples=5, batch_size=8)
    batched = evaluate_mdct(run_dir, data, samples=5, batch_size=2)
    for key, value in whole.items():
        expected = pytest.approx(value, rel=1e-4, abs=1e-6) if isinstance(value, float) else value
        assert batched[key] == expected
    assert whole["real_examples"] == 6  # the real statistics are over every window
    reseeded = evaluate_mdct(run_dir, data, samples=5, seed=1)
    assert reseeded["tonality"] != whole["tonality"] and reseeded["tonality_real"] == whole["tonality_real"]
    with pytest.raises(ValueError, match="samples must be at least 2"):
        evaluate_mdct(run_dir, data, samples=1)


def test_real_against_real_gives_equal_statistics(run):
    _, data = run
    representation = _representation(data)
    with_cache = score_mdct([(data.x[:4], data.aux[:4]), (data.x[4:], data.aux[4:])], representation)
    computed = score_mdct([(data.x, None)], representation)
    assert with_cache["examples"] == computed["examples"] == 2 * WINDOWS
    for name in ("tonality", "rms_dbfs"):  # these do not use the threshold
        assert with_cache[name] == pytest.approx(computed[name], rel=1e-12)
        assert with_cache[f"{name}_std"] == pytest.approx(computed[f"{name}_std"], rel=1e-9, abs=1e-12)
    # the cache's threshold is the one computed from the same coefficients
    assert with_cache["below_threshold"] == pytest.approx(computed["below_threshold"], abs=1e-4)


def test_a_tone_is_tonal_and_loud_noise_is_not_and_a_whisper_is_inaudible(run):
    _, data = run
    representation = _representation(data)
    by_name = {name: data.x[data.labels == i] for i, name in enumerate(data.label_names)}
    tone = example_scores(by_name["tone"], representation)
    noise = example_scores(by_name["noise"], representation)
    assert (tone["tonality"] > 0.9).all() and (noise["tonality"] < 0.15).all()  # Gaussian noise: about 0.09
    # peak-normalised to 0.999: the tone's RMS is 0.999 / sqrt(2), -3.02 dBFS (the IMDCT of all frames
    # but the last covers all of the window but its last 128 samples)
    expected = torch.full((WINDOWS,), 20 * math.log10(0.999 / math.sqrt(2)))
    torch.testing.assert_close(tone["rms_dbfs"], expected, atol=0.05, rtol=0)
    assert (noise["rms_dbfs"] < tone["rms_dbfs"] - 3).all()  # noise peaks far above its RMS
    assert ((0 < tone["below_threshold"]) & (tone["below_threshold"] < 1)).all()
    # 140 dB quieter: every coefficient is below the lowest possible threshold, sqrt(1e-14)
    whisper = example_scores(1e-7 * by_name["tone"], representation)
    assert (whisper["below_threshold"] == 1).all()
    torch.testing.assert_close(whisper["rms_dbfs"], tone["rms_dbfs"] - 140, atol=1e-3, rtol=0)


def test_only_the_mdct_alone_is_scored():
    with pytest.raises(ConfigError, match=r"sees the MDCT alone; this one sees \['log_mag'\]"):
        example_scores(torch.zeros(1, 1, 8, 4), Representation(("log_mag",), "gansynth", FeatureConfig()))


def test_sparsity_report_tells_a_tone_from_noise(run, report_script):
    """report/mdct_sparsity.py: white noise has the same level in every band and a 440 Hz tone puts its
    level in the first band (0-1.4 kHz); the command prints one row per band of 16 bins for the tiny run."""
    run_dir, data = run
    script = report_script("mdct_sparsity")
    band_report = script.band_report
    tone = torch.tensor(["tone" in data.label_names[i] for i in data.labels])
    representation = _representation(data)
    tone_below, tone_db, _, _ = band_report(data.x[tone], representation, data.aux[tone])
    noise_below, noise_db, noise_threshold_db, _ = band_report(data.x[~tone], representation, data.aux[~tone])
    assert tone_below.shape == (128 // 16,) and ((0 <= noise_below) & (noise_below <= 1)).all()
    assert noise_db.max() - noise_db.min() < 1.0 and (noise_threshold_db < noise_db).all()
    assert tone_db[0] > tone_db[1:].max() + 20
    result = CliRunner().invoke(script.main, [str(run_dir), "--cache", str(run_dir.parents[1] / "music.h5"),
                                             "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1 + 8 + 1


def test_an_exported_mdct_model_gives_pytorchs_waveform(run, tmp_path):
    """MP3Net-style models export to waveforms: the IMDCT is in the graph (gansynth_zoo.export)."""
    pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    from gansynth_zoo.evaluation.sampling import load_generator
    from gansynth_zoo.export import export_generator
    from gansynth_zoo.runtime import ExportedModel

    run_dir, data = run
    G, export = load_generator(run_dir)
    model = ExportedModel(export_generator(run_dir, tmp_path / "mdct.onnx"))
    assert model.metadata["outputs"] == ["waveform"]
    z = torch.randn(3, export["z_dim"], generator=torch.Generator().manual_seed(0))
    c = torch.zeros(3, 0)
    with torch.no_grad():
        expected = _representation(data).to_audio(G(z, c)).numpy()
    audio = model.audio(z.numpy(), c.numpy())
    assert audio.shape == expected.shape and np.abs(audio - expected).max() <= 1e-4
