"""The audio path end to end on a tiny cache: features -> training -> samples, RTF and metrics."""
from __future__ import annotations

import json
import math
import re
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from audiofeat.cache import build_cache
from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.features import AudioSettings, FeatureConfig, MelSettings, StftSettings
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.data.sources import load_training_data
from gansynth_zoo.evaluation.audio import _balanced, split_indices
from gansynth_zoo.evaluation.metrics.diversity import mean_pairwise_distance
from gansynth_zoo.evaluation.metrics.ndb import jensen_shannon, kmeans, ndb_jsd
from gansynth_zoo.evaluation.registry import EvalContext, calc_metric
from gansynth_zoo.synthesis import genre_weights
from gansynth_zoo.training.run import run_training
from tests.browser import check_page, chromium_or_skip

SUBCLASSES = ("drums/kick", "drums/snare", "bass/sub")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    write_oneshots(root / "data", OneShotsConfig(per_subclass=6, duration=0.05, subclasses=SUBCLASSES))
    config = FeatureConfig(features=("log_mag", "if"), audio=AudioSettings(length=128, min_duration=0.001),
                           stft=StftSettings(n_fft=32, hop_length=8, n_frames=16))
    build_cache(root / "data", root / "tiny.h5", config)
    return root / "tiny.h5"


def _overrides(cache, features="log_mag,if"):
    feats = ", ".join(f'"{f}"' for f in features.split(","))
    return ["name=tiny-audio", "data.source=cache", f"data.path={cache}", f"data.features=[{feats}]",
            "model.name=dcgan", "model.z_dim=8", "model.generator.channels_base=4",
            "model.discriminator.channels_base=4", "train.batch_size=4", "train.steps=2", "train.log_every=1",
            "eval.samples=12", "eval.classifier_steps=20"]


def test_cache_data_and_representation_round_trip(cache):
    data = load_training_data("cache", path=str(cache))
    assert data.x.shape == (18, 2, 16, 16) and data.c.shape == (18, 5)
    assert data.label_names == ("bass/sub", "drums/kick", "drums/snare")
    assert data.x.abs().max() <= 1.0
    rep = Representation.from_dict(data.info["representation"])
    assert rep.features == ("log_mag", "if") and rep.channels_of("if") == slice(1, 2)  # canonical order
    decoded = rep.decode(data.x)
    with __import__("h5py").File(cache, "r") as f:
        np.testing.assert_allclose(decoded["if"].numpy(), f["features/if"][()], atol=1e-6)
        log_mag = f["features/log_mag"][()]
    np.testing.assert_allclose(decoded["log_mag"].numpy(), np.clip(log_mag, None, (1 - 0.11372) / 0.06614), atol=1e-4)
    audio = rep.to_audio(data.x[:2])
    assert audio.shape == (2, 1, 128) and audio.abs().max() <= 1
    bins = load_training_data("cache", path=str(cache), features=("log_mag",), normalization="bins")
    assert bins.x.shape == (18, 1, 16, 16)
    per_bin = bins.x.mean(dim=(0, 1, 3))
    assert per_bin.abs().max() < 0.2  # standardised per bin (then /3 and clipped)
    audio = Representation.from_dict(bins.info["representation"]).to_audio(bins.x[:1], n_iter=4)
    assert audio.shape == (1, 1, 128) and torch.isfinite(audio).all()


def _genre_cache(folder, per_subclass=2):
    """A tiny cache of kicks and snares whose manifest gives three of every four files a genre."""
    from audiofeat.datasets.manifest import write_manifest

    write_oneshots(folder / "data", OneShotsConfig(per_subclass=per_subclass, duration=0.05, subclasses=SUBCLASSES[:2]))
    files = sorted((folder / "data").rglob("*.wav"))
    genres = ["electronic", "acoustic", "", "electronic"] * per_subclass
    write_manifest(folder / "m.csv", [{"path": str(f.relative_to(folder)), "label": f.parent.parent.name + "/"
                                       + f.parent.name, "genre": g} for f, g in zip(files, genres)])
    config = FeatureConfig(features=("log_mag",), audio=AudioSettings(length=128, min_duration=0.001),
                           stft=StftSettings(n_fft=32, hop_length=8, n_frames=16))
    build_cache(folder / "m.csv", folder / "g.h5", config)
    return folder / "g.h5"


def test_genres_add_a_genre_part_to_c_that_the_per_label_conditioning_leaves_open(cache, tmp_path):
    from audiofeat.exceptions import ConfigError

    _genre_cache(tmp_path)
    plain = load_training_data("cache", path=str(tmp_path / "g.h5"))
    assert plain.c.shape == (4, 3) and plain.genre_names == ()  # class + subclass only, as before
    data = load_training_data("cache", path=str(tmp_path / "g.h5"), genres=True)
    assert data.genre_names == ("acoustic", "electronic") and data.info["vocabulary"]["genres"] == ["acoustic",
                                                                                                 "electronic"]
    assert data.c[:, 3:].tolist() == [[0, 1], [1, 0], [0, 0], [0, 1]]
    assert torch.equal(data.c[:, :3], plain.c)
    assert data.conditioning(torch.tensor([0, 1])).tolist() == [[1, 1, 0, 0, 0], [1, 0, 1, 0, 0]]
    with pytest.raises(ConfigError, match="has no genres; relabel"):
        load_training_data("cache", path=str(cache), genres=True)
    with pytest.raises(ConfigError, match="data.genres needs data.source = 'cache'"):
        load_training_data("digits", genres=True)


def _png_pixels(path):
    """The grey pixels of a PNG written by gansynth_zoo.tools.images.write_png (one IDAT, filter 0 rows)."""
    png = path.read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    at = png.index(b"IDAT")
    raw = zlib.decompress(png[at + 4:at + 4 + struct.unpack(">I", png[at - 4:at])[0]])
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)[:, 1:]


def test_sample_by_genre_alone_with_a_category_and_mixed_and_list(tmp_path, report_script):
    genre_cache = _genre_cache(tmp_path, per_subclass=4)
    overrides = [*_overrides(genre_cache, "log_mag"), "data.genres=true", "train.condition_dropout=0.2"]
    run = run_training(load_config(None, overrides), out=tmp_path / "runs")
    runner = CliRunner()
    listing = runner.invoke(main, ["sample", str(run), "--list"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.splitlines() == ["genre: acoustic", "genre: electronic", "class: drums", "class: drums/kick",
                                           "class: drums/snare"]
    out = tmp_path / "out"
    for args in (["--class", "drums/kick", "--genre", "electronic"], ["--genre", "acoustic"],
                 ["--class", "drums/snare", "--genre", "electronic=0.5, acoustic=0.5"], ["--class", "drums/kick"]):
        result = runner.invoke(main, ["sample", str(run), *args, "--n", "2", "--out", str(out)])
        assert result.exit_code == 0, result.output
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert found == [f"{folder}/sample_00{i}.wav" for folder in ("acoustic", "acoustic0.5+electronic0.5/drums/snare",
                                                                  "drums/kick", "electronic/drums/kick")
                     for i in (0, 1)]
    assert genre_weights("electronic=0.25, acoustic=0.75", ("acoustic", "electronic")).tolist() == [0.75, 0.25]
    assert genre_weights("electronic", ("acoustic", "electronic")).tolist() == [0, 1]
    evaluated = runner.invoke(main, ["evaluate", str(run), "--classifier", str(tmp_path / "clf" / "x.pt")])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((run / "metric-audio.jsonl").read_text().splitlines()[-1])
    cells = {(row["genre"], row["subclass"]): row for row in metrics["genre_table"]}
    assert {cell: row["real_files"] for cell, row in cells.items()} == {
        ("electronic", "drums/kick"): 2, ("acoustic", "drums/kick"): 1, ("electronic", "drums/snare"): 2,
        ("acoustic", "drums/snare"): 1}
    assert all(0 <= row["genre_accuracy"] <= 1 and 0 <= row["subclass_accuracy"] <= 1 for row in cells.values())
    assert 0 <= metrics["genre_accuracy"] <= 1 and 0 <= metrics["genre_accuracy_real"] <= 1
    assert 0 <= metrics["genre_instrument_accuracy"] <= 1
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["x-genre.pt", "x.pt"]  # --classifier FILE
    assert "| subclass | acoustic | electronic |" in evaluated.output and "genre accuracy " in evaluated.output
    grid = report_script("real_vs_generated").main
    for genre, real_kicks in (("electronic", 2), ("acoustic", 1)):
        made = runner.invoke(grid, [str(run), "--category", "drums/kick", "--genre", genre, "--n", "2",
                                    "--out", str(tmp_path / f"{genre}.png")])
        assert made.exit_code == 0, made.output
        tiles = _png_pixels(tmp_path / f"{genre}.png")  # 2 real 16 x 16 tiles, then 2 generated
        assert (tiles[2:18, 20:36].max() > 0) == (real_kicks == 2) and tiles[2:18, 38:].max() > 0  # black: no real
    unknown_genre = runner.invoke(grid, [str(run), "--category", "drums/kick", "--genre", "world", "--out",
                                         str(tmp_path / "w.png")])
    assert unknown_genre.exit_code == 2 and "the run's genres are ['acoustic', 'electronic']" in unknown_genre.output
    for args, message in ((["--genre", "world"], "unknown genre 'world'; this model knows acoustic, electronic"),
                          (["--genre", "acoustic=x"], "genre weight 'x' of 'acoustic' is not a number"),
                          (["--genre", "acoustic=0"], "not all zero"), ([], "give --out DIR")):
        result = runner.invoke(main, ["sample", str(run), *args] + (["--out", str(out)] if args else []))
        assert result.exit_code != 0 and message in result.output, result.output


def test_mel_representation_inverts_and_survives_the_round_trip_through_sound(tmp_path):
    from gansynth_zoo.evaluation.audio import through_audio

    write_oneshots(tmp_path / "data", OneShotsConfig(per_subclass=2, duration=0.25, subclasses=SUBCLASSES))
    config = FeatureConfig(features=("mel",), audio=AudioSettings(length=4096, min_duration=0.001),
                           stft=StftSettings(n_fft=256, hop_length=128), mel=MelSettings(n_mels=32))
    build_cache(tmp_path / "data", tmp_path / "mel.h5", config)
    data = load_training_data("cache", path=str(tmp_path / "mel.h5"), features=("mel",))
    rep = Representation.from_dict(data.info["representation"])
    assert data.x.shape == (6, 1, 32, 32) and rep.magnitude_feature == "mel"
    audio = rep.to_audio(data.x, n_iter=16)
    assert audio.shape == (6, 1, 4096) and torch.isfinite(audio).all() and audio.abs().max() > 0.01
    again = through_audio(data.x, rep, n_iter=16)
    assert again.shape == data.x.shape
    # the spectral envelope comes back: mel inversion + Griffin-Lim keep the log-mel close
    assert (again - data.x).abs().mean() < 0.1


@pytest.mark.parametrize("damage", ["not hdf5", "truncated", "no features"])
def test_a_bad_cache_is_a_one_line_error_naming_the_file(cache, tmp_path, damage):
    from audiofeat.exceptions import ConfigError

    bad = tmp_path / "bad.h5"
    if damage == "not hdf5":
        bad.write_text("hello")
    elif damage == "truncated":
        bad.write_bytes(cache.read_bytes()[:5000])
    else:
        __import__("h5py").File(bad, "w").close()
    with pytest.raises(ConfigError, match=f"{bad} is not a readable audiofeat cache") as error:
        load_training_data("cache", path=str(bad))
    assert "\n" not in str(error.value)


def test_split_is_stratified_and_disjoint():
    labels = torch.tensor([0] * 10 + [1] * 5 + [2] * 1)
    train, test = split_indices(labels, seed=3)
    assert set(train.tolist()).isdisjoint(test.tolist()) and len(train) + len(test) == 16
    assert torch.bincount(labels[test], minlength=3).tolist() == [2, 1, 0]


def test_split_by_kit_holds_out_whole_kits():
    # 6 kits with kicks and snares, one kit of toms only, one huge kit
    kits, labels = [], []
    for kit in range(6):
        kits += [f"k{kit}"] * 4
        labels += [0, 0, 1, 1]
    kits += ["toms"] * 3 + ["huge"] * 30
    labels += [2, 2, 2] + [0] * 30
    labels = torch.tensor(labels)
    train, test = split_indices(labels, seed=1, groups=kits)
    assert len(train) + len(test) == len(labels) and set(train.tolist()).isdisjoint(test.tolist())
    held = {kits[i] for i in test.tolist()}
    assert held and not held & {kits[i] for i in train.tolist()}  # no kit on both sides
    assert "huge" not in held and "toms" not in held  # either would take more than half of a label
    share = torch.bincount(labels[test], minlength=3) / torch.bincount(labels, minlength=3)
    assert share[1] >= 0.2 and (share <= 0.5).all()
    assert split_indices(labels, seed=1, groups=kits)[1].tolist() == test.tolist()  # seeded
    with pytest.raises(ValueError, match="3 groups for 57 labels"):
        split_indices(labels, groups=["a", "b", "c"])


def test_real_reference_accuracy_weights_every_label_equally():
    labels = torch.tensor([0, 0, 0, 0, 2])
    correct = torch.tensor([True, True, True, False, False])
    assert _balanced(correct, labels) == pytest.approx((0.75 + 0.0) / 2)  # not 3/5: label 1 is absent


def test_requests_name_a_subclass_or_a_whole_class():
    from gansynth_zoo.synthesis import requested_labels

    names = ("bass/sub", "drums/kick", "drums/snare")
    assert requested_labels(names, "drums/snare", 3).tolist() == [2, 2, 2]
    assert requested_labels(names, "drums", 5).tolist() == [1, 2, 1, 2, 1]
    with pytest.raises(ValueError, match="unknown category 'keys'; this model knows the classes bass, drums"):
        requested_labels(names, "keys", 1)


def test_jensen_shannon_of_histograms():
    assert jensen_shannon(torch.tensor([5, 5]), torch.tensor([1, 1])) == pytest.approx(0)
    assert jensen_shannon(torch.tensor([1, 0]), torch.tensor([0, 1])) == pytest.approx(1)
    # one digit against ten: the mixture is 0.55 on that digit and 0.05 on the nine others
    half = 0.5 * math.log2(1 / 0.55) + 0.5 * (9 * 0.1 * math.log2(0.1 / 0.05) + 0.1 * math.log2(0.1 / 0.55))
    assert jensen_shannon(torch.eye(10)[3], torch.ones(10)) == pytest.approx(half)


def test_kmeans_ndb_and_jsd():
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([c + torch.randn(200, 2, generator=generator) for c in centres])
    found = kmeans(points, 3)
    assert torch.cdist(found, centres).min(dim=1).values.max() < 0.5
    same = ndb_jsd(points, points[torch.randperm(600, generator=generator)][:300], k=3)
    assert same["ndb"] == 0 and same["jsd"] < 0.01
    collapsed = ndb_jsd(points, points[:200], k=3)  # only one mode generated
    # p = (1/3, 1/3, 1/3), q = (1, 0, 0): JSD = (KL(p|m) + KL(q|m)) / 2 = (1/3 + log2(3/2)) / 2
    assert collapsed["ndb"] == 3 and collapsed["jsd"] == pytest.approx((1 / 3 + np.log2(1.5)) / 2)


def test_pairwise_distance():
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0], [5.0, 5.0]])
    out = mean_pairwise_distance(x, torch.tensor([0, 0, 1, 1]))
    assert out[0] == pytest.approx(2 / 2 ** 0.5) and out[1] == 0.0


def test_train_sample_rtf_evaluate(cache, tmp_path, report_script):
    run_dir = run_training(load_config(None, [*_overrides(cache), "train.sample_every=1"]), out=tmp_path / "runs")
    snapshot = run_dir / "snapshots" / "00000001"  # one clip per category and their spectrograms, every step
    assert sorted(p.name for p in snapshot.iterdir()) == ["bass-sub.wav", "drums-kick.wav", "drums-snare.wav",
                                                         "spectrograms.png"]
    assert sf.read(snapshot / "drums-kick.wav")[0].shape == (128,)
    runner = CliRunner()
    out = tmp_path / "samples"
    result = runner.invoke(main, ["sample", str(run_dir), "--class", "drums/kick", "--n", "2", "--out", str(out),
                                  "--device", "cpu"])
    assert result.exit_code == 0, result.output
    wav = out / "drums/kick/sample_001.wav"
    data, rate = sf.read(wav)
    assert rate == 16000 and data.shape == (128,)
    assert (out / "drums/kick/sample_001.png").read_bytes()[:4] == b"\x89PNG"
    bad = runner.invoke(main, ["sample", str(run_dir), "--class", "drums/cowbell", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown category 'drums/cowbell'" in bad.output
    whole_class = runner.invoke(main, ["sample", str(run_dir), "--class", "drums", "--n", "2", "--out", str(out)])
    assert whole_class.exit_code == 0, whole_class.output
    assert sorted(p.name for p in (out / "drums").glob("*.wav")) == ["sample_000.wav", "sample_001.wav"]
    # a crafted generator file whose label names climb out of --out writes nothing
    crafted = torch.load(run_dir / "generator.pt", weights_only=True)
    crafted["label_names"] = ["../../escaped", *crafted["label_names"][1:]]
    torch.save(crafted, tmp_path / "crafted.pt")
    from gansynth_zoo.synthesis import sample_files
    with pytest.raises(ValueError, match="'../../escaped' is not a safe folder name"):
        sample_files(tmp_path / "crafted.pt", tmp_path / "inside" / "out", n=1)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "inside").exists()
    neither = runner.invoke(main, ["sample", "--out", str(out)])
    assert neither.exit_code == 2 and "give either RUN_DIR or --pretrained NAME" in neither.output
    unknown = runner.invoke(main, ["sample", "--pretrained", "nope", "--out", str(out)])
    assert unknown.exit_code == 2 and "unknown pretrained generator 'nope'" in unknown.output
    reel = runner.invoke(report_script("sample_reel").main,
                         [str(out), "--category", "drums/kick", "--gap", "0.01", "--out", str(tmp_path / "reel.wav")])
    assert reel.exit_code == 0, reel.output
    joined, rate = sf.read(tmp_path / "reel.wav")
    assert rate == 16000 and joined.shape == (128 + 160 + 128,)
    assert np.array_equal(joined[-128:], data) and not joined[128:288].any()
    grid = runner.invoke(report_script("real_vs_generated").main,
                         [str(run_dir), "--category", "drums/kick", "--category", "bass/sub",
                          "--n", "2", "--out", str(tmp_path / "grid.png"), "--arrays", str(tmp_path / "grid.npz")])
    assert grid.exit_code == 0, grid.output
    arrays = np.load(tmp_path / "grid.npz")
    assert list(arrays["categories"]) == ["drums/kick", "bass/sub"]
    assert arrays["real"].shape == arrays["generated"].shape == (2, 2, 16, 16)
    png = (tmp_path / "grid.png").read_bytes()
    width, height = struct.unpack(">II", png[16:24])  # IHDR: 2 rows of 2 real + 2 generated tiles
    assert (width, height) == (4 * (16 + 2) + 2, 2 * (16 + 2) + 2)  # 16 x 16 tiles, 2-pixel padding
    page = runner.invoke(main, ["gallery", str(run_dir), "--n", "1", "--out", str(tmp_path / "gallery")])
    assert page.exit_code == 0, page.output
    index = (tmp_path / "gallery" / "index.html").read_text()
    sources = re.findall(r'(?:src)="([^"]+)"', index)
    assert len([s for s in sources if s.endswith(".wav")]) == 2 * 3 and "http" not in index  # gen + real, 3 labels
    assert all((tmp_path / "gallery" / s).is_file() for s in sources)
    assert all((tmp_path / "gallery" / s).read_bytes()[:4] == b"\x89PNG" for s in sources if s.endswith(".png"))
    timed = runner.invoke(main, ["rtf", str(run_dir), "--batch", "1", "--batch", "4", "--repeat", "1",
                                 "--device", "cpu"])
    assert timed.exit_code == 0, timed.output
    rows = [json.loads(line) for line in (run_dir / "metric-rtf.jsonl").read_text().splitlines()]
    assert [r["batch"] for r in rows] == [1, 4]
    assert all(r["rtf_total"] > 0 and r["clip_seconds"] == 128 / 16000 for r in rows)
    evaluated = runner.invoke(main, ["evaluate", str(run_dir), "--device", "cpu", "--classifier",
                                     str(tmp_path / "clf" / "x.pt")])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((run_dir / "metric-audio.jsonl").read_text().splitlines()[-1])
    assert 0 <= metrics["conditional_accuracy"] <= 1 and metrics["samples"] == 12
    assert set(metrics["conditional_accuracy_per_subclass"]) == {"bass/sub", "drums/kick", "drums/snare"}
    # the real held-out reference: a right subclass is always a right class
    assert 0 <= metrics["conditional_accuracy_real"] <= metrics["class_accuracy_real"] <= 1
    assert np.isfinite(metrics["frechet_distance"]) and 0 <= metrics["ndb_k"] <= 1 and 0 <= metrics["jsd"] <= 1
    assert np.isfinite(metrics["frechet_distance_real_floor"]) and np.isfinite(metrics["kid_real_floor"])
    assert 0 <= metrics["conditional_accuracy_audio"] <= 1 and metrics["held_out_kits"] is None
    assert "| subclass | accuracy | accuracy (audio)" in evaluated.output and "generated / real: " in evaluated.output
    assert metrics["pairwise_log_mag"] >= 0 and metrics["classifier_held_out_accuracy"] >= 0
    assert [p.name for p in (tmp_path / "clf").iterdir()] == ["x.pt"]  # the file --classifier named
    # the long steps report progress as (task, done, total), ending at done == total
    heard: dict[str, list[tuple[int, int]]] = {}
    record = lambda task, done, total: heard.setdefault(task, []).append((done, total))  # noqa: E731
    sample_files(run_dir, tmp_path / "more", categories=("drums/kick", "bass/sub"), n=1, progress=record)
    calc_metric("audio", EvalContext(run_dir, samples=12, classifier_path=tmp_path / "clf" / "y.pt", progress=record))
    calc_metric("rtf", EvalContext(run_dir, progress=record))
    assert heard["sample"] == [(1, 2), (2, 2)] and heard["time batch sizes"] == [(1, 2), (2, 2)]
    steps = load_config(None, _overrides(cache)).eval.classifier_steps
    assert heard["train classifier"][-1] == (steps, steps) and len(heard["train classifier"]) == steps
    assert heard["generate"][-1] == (12, 12) and heard["through audio"][-1] == (12, 12)


def test_tensorboard_gets_the_snapshot_clips_and_spectrograms(cache, tmp_path):
    pytest.importorskip("tensorboard", reason="train.tensorboard needs the tensorboard extra")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = run_training(load_config(None, [*_overrides(cache), "train.steps=2", "train.sample_every=2",
                                              "train.tensorboard=true"]), out=tmp_path)
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"audio": 0, "images": 0}).Reload()
    assert sorted(events.Tags()["audio"]) == ["snapshot/bass-sub", "snapshot/drums-kick", "snapshot/drums-snare"]
    clip = events.Audio("snapshot/drums-kick")[0]
    assert clip.step == 2 and clip.sample_rate == 16000 and clip.encoded_audio_string[:4] == b"RIFF"
    assert [e.step for e in events.Images("snapshot/spectrograms")] == [2]


@pytest.mark.browser
def test_gallery_in_a_real_browser_plays_every_clip_and_shows_every_image(cache, tmp_path):
    chromium = chromium_or_skip()
    run_dir = run_training(load_config(None, _overrides(cache)), out=tmp_path / "runs")
    gallery = tmp_path / "gallery"
    page = CliRunner().invoke(main, ["gallery", str(run_dir), "--n", "1", "--out", str(gallery)])
    assert page.exit_code == 0, page.output
    seen = check_page(chromium, gallery / "index.html", gallery / "screenshot.png")
    assert len(seen["audio"]) == 2 * len(SUBCLASSES) and len(seen["images"]) == 2 * len(SUBCLASSES)
    assert all(a["error"] is None and a["duration"] == pytest.approx(128 / 16000) for a in seen["audio"]), seen
    assert all(i["decoded"] and i["width"] > 0 and i["height"] > 0 for i in seen["images"]), seen
    assert all(status == 200 for _, status in seen["requests"]), seen["requests"]  # nothing missing, nothing remote
    shot = (gallery / "screenshot.png").read_bytes()
    assert shot[:4] == b"\x89PNG" and struct.unpack(">II", shot[16:24]) == (1280, 1600)
    # the check sees what a user would: a clip that is not audio and a missing image are reported
    audio, image = seen["audio"][0]["src"], seen["images"][0]["src"]
    (gallery / audio).write_bytes(b"not a wav file")
    (gallery / image).unlink()
    broken = check_page(chromium, gallery / "index.html", tmp_path / "broken.png")
    assert [a["src"] for a in broken["audio"] if a["error"] is not None] == [audio]
    assert [i["src"] for i in broken["images"] if not i["decoded"]] == [image]
    assert (f"/{image}", 404) in broken["requests"]
