from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiofeat.cli import main
from audiofeat.datasets.synthetic import STYLES, SUBCLASSES, OneShotsConfig, synthesize, write_oneshots
from audiofeat.exceptions import ParameterError

REQUIRED = {"drums/kick", "drums/snare", "drums/clap", "drums/hihat-closed", "drums/hihat-open", "drums/tom"}


def test_subclasses_cover_the_brief():
    assert REQUIRED <= set(SUBCLASSES)
    classes = {name.split("/")[0] for name in SUBCLASSES}
    assert classes == {"drums", "bass", "fx"}
    assert any(n.startswith("bass/") for n in SUBCLASSES) and any(n.startswith("fx/") for n in SUBCLASSES)


@pytest.mark.parametrize("name", sorted(SUBCLASSES))
def test_each_example_is_finite_and_levelled(name):
    x = synthesize(name, 0, sample_rate=16000, duration=0.5)
    assert x.dtype == np.float32 and x.shape == (8000,)
    assert np.isfinite(x).all()
    assert 0.25 <= np.abs(x).max() <= 0.95 + 1e-6


def test_determinism_and_seed_dependence():
    a = synthesize("drums/snare", 3, seed=7)
    assert np.array_equal(a, synthesize("drums/snare", 3, seed=7))
    assert not np.allclose(a, synthesize("drums/snare", 3, seed=8))
    assert not np.allclose(a, synthesize("drums/snare", 4, seed=7))


def _peak_frequency(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * sample_rate / x.size)


def _decay_time(x: np.ndarray, sample_rate: int) -> float:
    """Seconds until the 10 ms RMS envelope falls 30 dB below its peak."""
    hop = sample_rate // 100
    rms = np.sqrt(np.array([np.mean(x[i:i + hop] ** 2) for i in range(0, x.size - hop, hop)]) + 1e-12)
    peak = int(np.argmax(rms))
    below = np.nonzero(rms[peak:] < rms[peak] * 10 ** (-30 / 20))[0]
    return (below[0] if below.size else rms.size - peak) / 100


def test_variation_inside_subclasses():
    sr = 16000
    kicks = [synthesize("drums/kick", i, sample_rate=sr) for i in range(12)]
    basses = [synthesize("bass/sub", i, sample_rate=sr) for i in range(12)]
    hats = [synthesize("drums/hihat-open", i, sample_rate=sr) for i in range(12)]
    pitches = [_peak_frequency(x, sr) for x in basses]
    assert np.ptp(pitches) > 20  # basses at several notes, not one
    decays = [_decay_time(x, sr) for x in kicks]
    assert np.ptp(decays) > 0.1
    levels = [np.abs(x).max() for x in hats]
    assert np.ptp(levels) > 0.2
    # noise colour and filter cutoff: the spectral centroid of open hats moves by hundreds of Hz
    power = [np.abs(np.fft.rfft(x)) ** 2 for x in hats]
    centroids = [np.sum(np.arange(p.size) * p) / np.sum(p) for p in power]  # 1 Hz bins
    assert np.ptp(centroids) > 200


def _features(x: np.ndarray) -> np.ndarray:
    """Log band energies (time-averaged) and a coarse log envelope: a hand-made timbre descriptor."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256] * np.hanning(512)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.unique(np.geomspace(1, power.shape[1], 25).astype(int))
    bands = np.stack([power[:, a:b].sum(1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    spectrum = np.log(bands.mean(0) + 1e-9)
    envelope = np.log(np.array_split(power.sum(1), 12)[0].mean() + 1e-9) - np.log(
        np.array([c.mean() for c in np.array_split(power.sum(1), 12)]) + 1e-9)
    return np.concatenate([spectrum - spectrum.max(), envelope])


def test_a_simple_classifier_tells_the_subclasses_apart():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = sorted(SUBCLASSES)
    x_train, y_train, x_test, y_test = [], [], [], []
    for label, name in enumerate(names):
        for i in range(24):
            features = _features(synthesize(name, i, seed=0))
            (x_train if i < 16 else x_test).append(features)
            (y_train if i < 16 else y_test).append(label)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    assert accuracy >= 0.95, f"held-out subclass accuracy {accuracy:.2f}"


def test_a_simple_classifier_tells_the_styles_of_each_instrument_apart():
    """Per instrument, a classifier tells electronic from acoustic on examples it never saw."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    accuracies = {}
    for name in sorted(SUBCLASSES):
        x = {style: [_features(synthesize(name, i, seed=0, duration=0.5, style=style)) for i in range(10)]
             for style in STYLES}
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
            x["electronic"][:6] + x["acoustic"][:6], [0] * 6 + [1] * 6)
        accuracies[name] = model.score(x["electronic"][6:] + x["acoustic"][6:], [0] * 4 + [1] * 4)
    assert np.mean(list(accuracies.values())) >= 0.9, accuracies


def test_styles_write_a_manifest_with_genres_and_keep_the_plain_examples(tmp_path):
    config = OneShotsConfig(per_subclass=2, duration=0.1, subclasses=("drums/kick",), styles=("electronic", "acoustic"))
    files = write_oneshots(tmp_path, config)
    assert [p.name for p in files] == ["electronic_kick_0000.wav", "electronic_kick_0001.wav",
                                       "acoustic_kick_0000.wav", "acoustic_kick_0001.wav"]
    with open(tmp_path / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["path"], r["label"], r["genre"]) for r in rows[:1]] == [
        ("drums/kick/electronic_kick_0000.wav", "drums/kick", "electronic")]
    assert [r["genre"] for r in rows] == ["electronic", "electronic", "acoustic", "acoustic"]
    plain = synthesize("drums/kick", 0, duration=0.1)
    assert np.array_equal(plain, synthesize("drums/kick", 0, duration=0.1, style=None))
    assert not np.array_equal(plain, synthesize("drums/kick", 0, duration=0.1, style="acoustic"))
    with pytest.raises(ParameterError, match="styles must be distinct names from electronic, acoustic"):
        OneShotsConfig(styles=("electronic", "electronic"))
    with pytest.raises(ParameterError, match="style must be one of"):
        synthesize("drums/kick", 0, style="jazz")


def test_write_is_laid_out_idempotent_and_stable(tmp_path):
    config = OneShotsConfig(per_subclass=2, duration=0.25, subclasses=("drums/kick", "fx/zap"))
    files = write_oneshots(tmp_path, config)
    rel = [p.relative_to(tmp_path).as_posix() for p in files]
    assert rel == ["drums/kick/kick_0000.wav", "drums/kick/kick_0001.wav", "fx/zap/zap_0000.wav", "fx/zap/zap_0001.wav"]
    data, rate = sf.read(files[0])
    assert rate == 16000 and data.shape == (4000,)
    record = json.loads((tmp_path / "dataset.json").read_text())
    assert record["config"]["per_subclass"] == 2 and record["files"] == 4
    mtimes = [p.stat().st_mtime_ns for p in files]
    assert write_oneshots(tmp_path, config) == files
    assert [p.stat().st_mtime_ns for p in files] == mtimes  # nothing rewritten
    # an interrupted run (a file missing) is completed
    files[1].unlink()
    write_oneshots(tmp_path, config)
    assert np.array_equal(sf.read(files[1])[0], sf.read(write_oneshots(tmp_path / "again", config)[1])[0])


def test_existing_examples_do_not_depend_on_the_count():
    small = synthesize("drums/clap", 1, seed=5)
    OneShotsConfig(per_subclass=100)  # the count is not part of the per-example seed
    assert np.array_equal(small, synthesize("drums/clap", 1, seed=5))


def test_other_config_in_same_folder_is_refused(tmp_path):
    write_oneshots(tmp_path, OneShotsConfig(per_subclass=1, duration=0.1, subclasses=("drums/kick",)))
    with pytest.raises(ParameterError, match="another config"):
        write_oneshots(tmp_path, OneShotsConfig(per_subclass=1, duration=0.1, seed=1, subclasses=("drums/kick",)))


@pytest.mark.parametrize("kwargs, name", [({"per_subclass": 0}, "per_subclass"), ({"duration": -1.0}, "duration"),
                                          ({"sample_rate": 4000}, "sample_rate"),
                                          ({"subclasses": ("drums/cowbell",)}, "subclasses")])
def test_bad_config_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        OneShotsConfig(**kwargs)


def test_cli_make_oneshots(tmp_path):
    runner = CliRunner()
    out = tmp_path / "data"
    args = ["make-oneshots", str(out), "--set", "per_subclass=1", "--set", "duration=0.1"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "10 one-shots" in result.output
    assert len(list(out.rglob("*.wav"))) == 10
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and again.output == result.output
    clash = runner.invoke(main, [*args, "--set", "seed=4"])
    assert clash.exit_code == 2 and "another config" in clash.output
    typo = runner.invoke(main, ["make-oneshots", str(tmp_path / "x"), "--set", "per_subclas=1"])
    assert typo.exit_code == 2 and "allowed keys" in typo.output
