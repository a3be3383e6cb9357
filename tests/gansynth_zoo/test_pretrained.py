"""The generators shipped inside the package sample right after install: no data, no training."""
from __future__ import annotations

import pytest
import soundfile as sf
from click.testing import CliRunner

from gansynth_zoo.cli import main
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.pretrained import PRETRAINED, pretrained_path


@pytest.mark.parametrize("name, category", [("demo", "drums/kick"), ("oneshots", "drums/kick"), ("oneshots", "drums")])
def test_sample_pretrained_writes_wavs_and_spectrograms(name, category, tmp_path):
    result = CliRunner().invoke(main, ["sample", "--pretrained", name, "--class", category, "--n", "2",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for i in range(2):
        audio, rate = sf.read(tmp_path / category / f"sample_{i:03d}.wav")
        assert rate == 16000 and audio.shape == (16384,) and abs(audio).max() > 0.01
        assert (tmp_path / category / f"sample_{i:03d}.png").read_bytes()[:4] == b"\x89PNG"


def test_pretrained_demo_samples_by_genre(tmp_path):
    listing = CliRunner().invoke(main, ["sample", "--pretrained", "demo", "--list"])
    assert listing.output.splitlines()[:2] == ["genre: acoustic", "genre: electronic"]
    result = CliRunner().invoke(main, ["sample", "--pretrained", "demo", "--class", "drums/snare", "--genre",
                                       "electronic=0.5,acoustic=0.5", "--n", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "acoustic0.5+electronic0.5/drums/snare/sample_000.wav").is_file()


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_generators_are_small_and_self_describing(name):
    path = pretrained_path(name)
    assert path.stat().st_size <= 5 * 2**20
    G, export = load_generator(path)
    assert export["model_name"] == "sngan" and G.c_dim == export["conditioning"].shape[1]
    assert export["data"]["representation"]["features"] == ["mel"]
