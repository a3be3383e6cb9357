"""Tests of ``audiofeat plot`` (MDCT amplitude, MDCT spectrogram and log STFT of a clip)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiofeat.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def clip(tmp_path, rng):
    """0.5 s at 8 kHz: a rising chirp plus a little noise, as a 16-bit WAV."""
    sample_rate = 8000
    t = np.arange(sample_rate // 2) / sample_rate
    x = 0.5 * np.sin(2 * np.pi * (200 * t + 3000 * t ** 2)) + 0.01 * rng.standard_normal(t.size)
    path = tmp_path / "chirp.wav"
    sf.write(path, x, sample_rate, subtype="PCM_16")
    return path


def test_plot_writes_a_png(tmp_path, clip):
    out = tmp_path / "figures" / "chirp.png"
    result = CliRunner().invoke(main, ["plot", str(clip), "--out", str(out), "--sample-rate", "8000",
                                       "--n-bins", "64", "--n-fft", "256", "--window", "kbd"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 300


def test_plot_reports_bad_parameters(tmp_path, clip):
    result = CliRunner().invoke(main, ["plot", str(clip), "--out", str(tmp_path / "x.png"), "--n-bins", "63"])
    assert result.exit_code == 2
    assert "n_bins must be even" in result.output
    assert not (tmp_path / "x.png").exists()


def test_plot_without_matplotlib_names_the_extra(tmp_path, clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    result = CliRunner().invoke(main, ["plot", str(clip), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "pip install .[plot]" in result.output
