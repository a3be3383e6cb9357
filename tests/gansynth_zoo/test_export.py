"""Exported generators: ONNX and TorchScript reproduce the PyTorch generator and the fixed part of its
inversion, carry their metadata, and int8 ONNX stays close; the numpy runtime turns the outputs into
the same sound as PyTorch; clear errors for what cannot be exported or read."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from audiofeat.cache import build_cache
from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.exceptions import ParameterError
from audiofeat.features import AudioSettings, FeatureConfig, MdctSettings, MelSettings, StftSettings
from audiofeat.functional.mdct import imdct
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.export import _imdct_halves, export_generator
from gansynth_zoo.runtime import EXPORT_FORMAT, ExportedModel
from gansynth_zoo.training.run import run_training

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

TINY_CDCGAN = ["data.source=digits", "data.limit=200", "model.name=dcgan", "model.conditional=true",
               "model.generator.channels_base=8", "model.discriminator.channels_base=8", "train.batch_size=8",
               "train.steps=3"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_training(load_config(None, TINY_CDCGAN), out=tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def mel_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mel")
    write_oneshots(root / "data", OneShotsConfig(per_subclass=2, duration=0.25, subclasses=("drums/kick", "bass/sub")))
    config = FeatureConfig(features=("mel",), audio=AudioSettings(length=4096, min_duration=0.001),
                           stft=StftSettings(n_fft=256, hop_length=128, padding="front", drop_bin="dc"),
                           mel=MelSettings(n_mels=32))
    build_cache(root / "data", root / "mel.h5", config)
    return run_training(load_config(None, [
        "data.source=cache", f"data.path={root / 'mel.h5'}", 'data.features=["mel"]', "model.name=sngan",
        "model.z_dim=8", "model.generator.channels=[8, 8, 8, 8]", "model.generator.start=[4, 4]",
        "model.discriminator.channels=[8, 8]", "train.batch_size=4", "train.steps=2", "eval.classifier_steps=20"]),
        out=root / "runs")


@pytest.fixture(scope="module")
def mel_onnx(mel_run, tmp_path_factory):
    return export_generator(mel_run, tmp_path_factory.mktemp("export") / "mel.onnx")


def _torchscript(path):
    files = {"metadata.json": ""}
    module = torch.jit.load(str(path), _extra_files=files)
    return module, json.loads(files["metadata.json"])


def _inputs(export, batch):
    z = torch.randn(batch, export["z_dim"], generator=torch.Generator().manual_seed(batch))
    return z, export["conditioning"][torch.arange(batch) % len(export["conditioning"])]


def test_onnx_and_torchscript_reproduce_the_generator_at_any_batch_with_its_metadata(run, tmp_path):
    G, export = load_generator(run)
    assert G.c_dim == 10
    for fmt, name in (("onnx", "g.onnx"), ("torchscript", "g.pt")):
        done = CliRunner().invoke(main, ["export", str(run), "--format", fmt, "--out", str(tmp_path / name)])
        assert done.exit_code == 0, done.output
    onnx_model, (script, script_meta) = ExportedModel(tmp_path / "g.onnx", threads=1), _torchscript(tmp_path / "g.pt")
    for batch in (1, 5):  # traced at batch 2: the batch stays free
        z, c = _inputs(export, batch)
        with torch.no_grad():
            expected = G(z, c).numpy()
            assert np.abs(script(z, c).numpy() - expected).max() <= 1e-4
        assert np.abs(onnx_model(z.numpy(), c.numpy())["images"] - expected).max() <= 1e-4
    meta = onnx_model.metadata
    assert meta == script_meta and meta["format"] == EXPORT_FORMAT and meta["outputs"] == ["images"]
    assert meta["step"] == 3 and meta["z_dim"] == export["z_dim"] and meta["source"] == str(run)
    assert meta["label_names"] == [str(d) for d in range(10)] and meta["genres"] == []
    assert np.array_equal(np.array(meta["conditioning"], np.float32), export["conditioning"].numpy())


def test_int8_onnx_is_smaller_and_close(run, tmp_path):
    _, export = load_generator(run)
    full = ExportedModel(export_generator(run, tmp_path / "f.onnx"))
    int8_path = export_generator(run, tmp_path / "q.onnx", quantize="int8")
    quantized = ExportedModel(int8_path)
    assert int8_path.stat().st_size < 0.75 * (tmp_path / "f.onnx").stat().st_size
    z, c = (t.numpy() for t in _inputs(export, 16))
    a, b = full(z, c)["images"], quantized(z, c)["images"]
    assert 0 < np.abs(a - b).max() < 0.1 and quantized.metadata == full.metadata


def test_a_mel_model_sounds_the_same_from_onnx_and_numpy_as_from_pytorch(mel_run, mel_onnx):
    G, export = load_generator(mel_run)
    representation = Representation.from_dict(export["data"]["representation"])
    model = ExportedModel(mel_onnx)
    assert model.metadata["outputs"] == ["magnitude"] and model.metadata["sample_rate"] == 16000
    z, c = _inputs(export, 3)
    with torch.no_grad():
        expected = representation.to_audio(G(z, c).double(), n_iter=8).numpy()  # PGHI then Griffin-Lim
    audio = model.audio(z.numpy(), c.numpy(), n_iter=8)
    assert audio.shape == (3, 1, 4096) and audio.dtype == np.float32
    assert np.abs(audio - expected).max() <= 1e-3 * np.abs(expected).max()


def test_the_imdct_in_the_graph_is_audiofeats():
    config = FeatureConfig(features=("mdct",), mdct=MdctSettings(n_bins=16, window="kbd", norm="mp3net"))
    first, second = _imdct_halves(config)
    coeffs = torch.randn(2, 3, 16, 9)
    blocks = torch.einsum("sn,bcnf->bcfs", first, coeffs[..., 1:]) + torch.einsum("sn,bcnf->bcfs", second,
                                                                                    coeffs[..., :-1])
    expected = imdct(coeffs, window="kbd", norm="mp3net")
    assert torch.allclose(blocks.flatten(2), expected, atol=1e-5)


def test_what_cannot_be_exported_or_read_is_a_clear_error(run, tmp_path):
    with pytest.raises(ParameterError, match="quantize int8 is available for ONNX only"):
        export_generator(run, tmp_path / "g.pt", format="torchscript", quantize="int8")
    with pytest.raises(ParameterError, match="format must be onnx or torchscript"):
        export_generator(run, tmp_path / "g.x", format="tflite")  # type: ignore[arg-type]
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ParameterError, match="junk.onnx: not an ONNX model"):
        ExportedModel(tmp_path / "junk.onnx")
    with pytest.raises(ParameterError, match="missing.onnx: no such exported model"):
        ExportedModel(tmp_path / "missing.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.onnx"]  # nothing half-written left


def test_the_runtime_runs_without_pytorch():
    import subprocess
    import sys

    code = ("import sys; import gansynth_zoo.runtime; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("layout, length", [
    (dict(n_fft=512, hop_length=256, win_length=0, padding="front", drop_bin="dc"), 4096),
    (dict(n_fft=64, hop_length=16, win_length=48, padding="center", drop_bin="none"), 1000),
    (dict(n_fft=32, hop_length=8, win_length=0, padding="end", drop_bin="nyquist"), 128)])
def test_the_numpy_inversion_is_audiofeats(layout, length):
    from audiofeat.functional.phase import griffinlim as reference_griffinlim
    from audiofeat.functional.phase import pghi_phase as reference_pghi
    from audiofeat.functional.spectral import istft as reference_istft
    from audiofeat.functional.spectral import stft
    from gansynth_zoo.runtime import StftGeometry, griffinlim, istft, pghi_phase

    kw = {**layout, "win_length": layout["win_length"] or None}
    spec = stft(torch.from_numpy(np.random.default_rng(0).standard_normal((2, length))), **kw)
    geometry = StftGeometry(layout, length)
    magnitude, phase = spec.abs().numpy(), spec.angle().numpy()
    assert magnitude.shape[-2:] == (geometry.n_freq, geometry.n_frames)
    assert np.allclose(istft(magnitude, phase, geometry), reference_istft(spec, **kw, length=length).numpy(),
                       atol=1e-10)
    pghi = reference_pghi(spec.abs(), **{k: kw[k] for k in ("n_fft", "hop_length", "win_length", "drop_bin")})
    assert np.abs(np.angle(np.exp(1j * (pghi_phase(magnitude, geometry) - pghi.numpy())))).max() < 1e-9
    expected = reference_griffinlim(spec.abs(), **kw, length=length, n_iter=4, init="pghi").numpy()
    assert np.allclose(griffinlim(magnitude, geometry, n_iter=4), expected, atol=1e-9)


def test_play_puts_each_hit_of_its_category_at_its_time(mel_onnx, tmp_path):
    import soundfile as sf

    from gansynth_zoo.runtime import Hit, read_pattern, render_pattern

    onnx_path = mel_onnx
    model = ExportedModel(onnx_path)
    pattern = tmp_path / "beat.csv"
    pattern.write_text("time,category,velocity,seed\n0,drums/kick,1.0,\n0.5,bass/sub,0.5,7\n1.00003,drums/kick,0.25,\n")
    hits = read_pattern(pattern, seed=3)
    assert hits == [Hit(0.0, "drums/kick", 1.0, 3), Hit(0.5, "bass/sub", 0.5, 7), Hit(1.00003, "drums/kick", 0.25, 5)]
    mix = render_pattern(model, hits, n_iter=4)
    assert mix.shape == (1, 16000 + 4096)  # the last hit starts at sample round(1.00003 * 16000) = 16000
    names, table = model.metadata["label_names"], np.asarray(model.metadata["conditioning"], np.float32)
    covered = np.zeros(mix.shape[1], bool)
    for hit, onset in zip(hits, (0, 8000, 16000)):
        z = np.random.default_rng(hit.seed).standard_normal((1, 8)).astype(np.float32)
        alone = hit.velocity * model.audio(z, table[[names.index(hit.category)]], n_iter=4)[0]
        assert np.abs(mix[:, onset:onset + 4096] - alone).max() < 1e-5 and np.abs(alone).max() > 0
        covered[onset:onset + 4096] = True
    assert not mix[:, ~covered].any()
    done = CliRunner().invoke(main, ["play", str(pattern), "--model", str(onnx_path), "--out", str(tmp_path / "b.wav"),
                                     "--n-iter", "4"])
    assert done.exit_code == 0, done.output
    audio, rate = sf.read(tmp_path / "b.wav")
    assert rate == 16000 and audio.shape == (16000 + 4096,) and "3 hits" in done.output


@pytest.mark.parametrize("text, message", [
    ("time,category\n0,drums/kick\n", "needs the header time,category,velocity"),
    ("time,category,velocity\n0,drums/kick,1.5\n", r"row 2: velocity must be in \[0, 1\]"),
    ("time,category,velocity\n0,drums/kick,1\n-1,drums/kick,1\n", "row 3: time must be a number of seconds"),
    ("time,category,velocity\nsoon,drums/kick,1\n", "row 2: could not convert"),
    ("time,category,velocity\n0,drums/cowbell,1\n", r"unknown categories \['drums/cowbell'\]; this model knows")])
def test_a_bad_pattern_is_a_clear_error_naming_the_file_and_row(mel_onnx, tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    done = CliRunner().invoke(main, ["play", str(tmp_path / "bad.csv"), "--model", str(mel_onnx),
                                     "--out", str(tmp_path / "b.wav")])
    assert done.exit_code == 2 and re.search(message, done.output), done.output
    assert "bad.csv" in done.output or "unknown categories" in done.output
    assert not (tmp_path / "b.wav").exists()


def test_the_export_metric_scores_pytorch_and_both_exports_on_the_same_latents(mel_run, tmp_path):
    from gansynth_zoo.evaluation.registry import EvalContext, calc_metric

    result = calc_metric("export", EvalContext(mel_run, samples=4, classifier_path=tmp_path / "clf.pt"))
    rows = {row["variant"]: row for row in result["variants"]}
    assert list(rows) == ["pytorch", "onnx float32", "onnx int8"] and result["samples"] == 4
    assert all(0 <= row["conditional_accuracy"] <= 1 and np.isfinite(row["frechet_distance"]) for row in rows.values())
    assert rows["pytorch"]["feature_difference"] == 0 and rows["onnx float32"]["feature_difference"] < 0.05
    assert rows["onnx int8"]["file_mb"] < rows["onnx float32"]["file_mb"] and rows["pytorch"]["file_mb"] is None
    assert json.loads((mel_run / "metric-export.jsonl").read_text().splitlines()[-1])["variants"] == result["variants"]


def test_live_play_takes_each_hit_from_a_buffer_made_ahead_of_its_trigger(mel_onnx, tmp_path):
    from gansynth_zoo.runtime import Hit, render_live

    model = ExportedModel(mel_onnx)
    hits = [Hit(0.3, "drums/kick", 0.5, 0), Hit(0.0, "drums/kick", 1.0, 0), Hit(0.6, "bass/sub", 1.0, 0)]
    mix, waits = render_live(model, hits, depth=2, n_iter=4, seed=10)
    assert mix.shape == (1, 9600 + 4096) and waits.shape == (3,) and (waits >= 0).all()
    names, table = model.metadata["label_names"], np.asarray(model.metadata["conditioning"], np.float32)

    def clip(category, k):  # the k-th hit the buffer makes for a category
        index = names.index(category)
        z = np.random.default_rng(10 + 1000003 * index + k).standard_normal((1, 8)).astype(np.float32)
        return model.audio(z, table[[index]], n_iter=4)[0]

    for onset, velocity, expected in ((0, 1.0, clip("drums/kick", 0)), (4800, 0.5, clip("drums/kick", 1)),
                                      (9600, 1.0, clip("bass/sub", 0))):
        assert np.abs(mix[:, onset:onset + 4096] - velocity * expected).max() < 1e-5
    done = CliRunner().invoke(main, ["play", "--live", str(_pattern(tmp_path)), "--model", str(mel_onnx),
                                     "--out", str(tmp_path / "live.wav"), "--n-iter", "4"])
    assert done.exit_code == 0, done.output
    assert "triggers waited" in done.output and "with 2 clips ready per category" in done.output


def test_live_play_reports_a_failing_generator_instead_of_waiting_for_it(mel_onnx, monkeypatch):
    from gansynth_zoo.runtime import Hit, render_live

    model = ExportedModel(mel_onnx)

    def broken(*args, **kwargs):
        raise RuntimeError("the generator failed")

    monkeypatch.setattr(model, "clips", broken)
    with pytest.raises(RuntimeError, match="the generator failed"):
        render_live(model, [Hit(0.0, "drums/kick", 1.0, 0)], n_iter=4)


def _pattern(folder):
    (folder / "short.csv").write_text("time,category,velocity\n0,drums/kick,1\n0.1,bass/sub,0.5\n")
    return folder / "short.csv"
