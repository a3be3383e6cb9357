"""Throughput of audiofeat's ``mdct`` / ``imdct`` against the ``mdct`` 0.4 package.

Inputs (uniform noise, seeded): MP3net's 95 s stereo slice at 22,016 Hz, and a batch of 64 one-second
mono clips, both with N = 128 bins. The peer is the ``mdct`` package (numpy/scipy, loaded through
``tests/reference/mdct_shim.py``), run in the same process on the same samples with the same
convention (orthonormal, sine window: there our output equals its output). A dense O(N^2) variant
(``conv1d`` / ``conv_transpose1d`` with the windowed MDCT basis) is timed too, to show whether the
FFT algorithm is the right choice at N = 128.
"""
from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import torch

from audiofeat.functional.mdct import imdct, mdct, sine_window
from benchmarks.common import Section, time_call
from tests.reference.mdct_shim import import_mdct

SAMPLE_RATE = 22016
N_BINS = 128
LONG_SECONDS = 95.0
CLIPS, CLIP_SECONDS = 64, 1.0
TARGET = 10.0
OURS = "audiofeat (FFT DCT-IV)"
DENSE = "dense O(N^2) basis (conv1d), not used"
PACKAGE = "`mdct` 0.4 package (numpy)"


def _dense_basis(n_bins: int) -> torch.Tensor:
    """``(N, 1, 2N)`` float32 windowed orthonormal MDCT basis (sine window, phase +N/2), for conv1d."""
    n = torch.arange(2 * n_bins, dtype=torch.float64)
    k = torch.arange(n_bins, dtype=torch.float64)
    kernel = torch.cos(math.pi / n_bins * torch.outer(k + 0.5, n + 0.5 + n_bins / 2))
    window = sine_window(2 * n_bins, dtype=torch.float64)
    return (math.sqrt(2 / n_bins) * kernel * window).float().unsqueeze(1)


def _rows(implementation: str, device: str, dtype: str, forward: float, inverse: float) -> list[list]:
    return [[implementation, device, dtype, direction, value] for direction, value in
            (("MDCT", forward), ("IMDCT", inverse), ("MDCT + IMDCT", forward + inverse))]


def _time_ours(x: torch.Tensor) -> tuple[float, float]:
    coeffs = mdct(x, n_bins=N_BINS, window="sine")
    forward = time_call(lambda: mdct(x, n_bins=N_BINS, window="sine"), repeat=7, min_time=1.0)
    inverse = time_call(lambda: imdct(coeffs, window="sine"), repeat=7, min_time=1.0)
    return forward, inverse


def _time_dense(x: torch.Tensor) -> tuple[float, float]:
    basis, n = _dense_basis(N_BINS), N_BINS
    signal = x.unsqueeze(1)
    coeffs = torch.nn.functional.conv1d(signal, basis, stride=n, padding=n)
    forward = time_call(lambda: torch.nn.functional.conv1d(signal, basis, stride=n, padding=n),
                        repeat=7, min_time=1.0)
    inverse = time_call(lambda: torch.nn.functional.conv_transpose1d(coeffs, basis, stride=n, padding=n),
                        repeat=7, min_time=1.0)
    return forward, inverse


def _time_package(x: torch.Tensor, package: ModuleType) -> tuple[float, float]:
    as_numpy = x.double().numpy().T  # the package wants (samples, channels)
    coeffs = package.mdct(as_numpy, framelength=2 * N_BINS)
    forward = time_call(lambda: package.mdct(as_numpy, framelength=2 * N_BINS), repeat=3, warmup=0)
    inverse = time_call(lambda: package.imdct(coeffs, framelength=2 * N_BINS), repeat=3, warmup=0)
    return forward, inverse


def _cases(waveform: torch.Tensor, package: ModuleType) -> list[list]:
    """Rows ``[implementation, device, dtype, direction, seconds]`` for one ``(batch, samples)`` input."""
    waveform = waveform[:, : waveform.shape[-1] // N_BINS * N_BINS].contiguous()
    with torch.no_grad():
        rows = _rows(OURS, "cpu", "float32", *_time_ours(waveform))
        rows += _rows(OURS, "cpu", "float64", *_time_ours(waveform.double()))
        rows += _rows(DENSE, "cpu", "float32", *_time_dense(waveform))
        if torch.cuda.is_available():
            rows += _rows(OURS, "cuda", "float32", *_time_ours(waveform.cuda()))
    return rows + _rows(PACKAGE, "cpu", "float64", *_time_package(waveform, package))


def run() -> list[Section]:
    package = import_mdct()
    generator = torch.Generator().manual_seed(0)
    long = torch.rand(2, int(LONG_SECONDS * SAMPLE_RATE), generator=generator) * 2 - 1
    clips = torch.rand(CLIPS, int(CLIP_SECONDS * SAMPLE_RATE), generator=generator) * 2 - 1
    inputs = {f"{LONG_SECONDS:.0f} s stereo": (long, 2 * LONG_SECONDS),
              f"{CLIPS} x {CLIP_SECONDS:.0f} s mono": (clips, CLIPS * CLIP_SECONDS)}
    timed = [[name, *row] for name, (waveform, _) in inputs.items() for row in _cases(waveform, package)]

    section = Section(
        title=f"MDCT / IMDCT (N = {N_BINS}, {SAMPLE_RATE:,} Hz)",
        header=["input", "implementation", "device", "dtype", "direction", "ms per call",
                "audio s per s", "speed vs `mdct` package"],
    )
    seconds = {(name, implementation, device, dtype, direction): value
               for name, implementation, device, dtype, direction, value in timed}
    for name, implementation, device, dtype, direction, value in timed:
        peer = seconds[(name, PACKAGE, "cpu", "float64", direction)]
        section.rows.append([name, implementation, device, dtype, direction, f"{value * 1e3:.1f}",
                             f"{inputs[name][1] / value:,.0f}", f"{peer / value:.1f}x"])

    def ratios(slow: str, slow_dtype: str, fast: str, fast_dtype: str) -> dict[str, float]:
        return {name: seconds[(name, slow, "cpu", slow_dtype, "MDCT + IMDCT")]
                / seconds[(name, fast, "cpu", fast_dtype, "MDCT + IMDCT")] for name in inputs}

    def listing(values: dict[str, float]) -> str:
        return ", ".join(f"{name} {value:.1f}x" for name, value in values.items())

    float32 = ratios(PACKAGE, "float64", OURS, "float32")
    float64 = ratios(PACKAGE, "float64", OURS, "float64")
    dense = ratios(DENSE, "float32", OURS, "float32")
    verdict = "met" if min(float32.values()) >= TARGET else "missed"
    also = "also meets it" if min(float64.values()) >= TARGET else "does not meet it everywhere"

    waveform = long[:, : long.shape[-1] // N_BINS * N_BINS]
    ours = mdct(waveform.double(), n_bins=N_BINS, window="sine").numpy()
    theirs = np.asarray(package.mdct(waveform.double().numpy().T, framelength=2 * N_BINS))
    deviation = float(np.abs(ours - np.moveaxis(theirs[:, : ours.shape[-1]], -1, 0)).max())
    recon = float((imdct(mdct(waveform, n_bins=N_BINS), length=waveform.shape[-1]) - waveform).abs().max())
    section.notes += [
        "Uniform noise; audio s per s = seconds of audio (all channels/clips) transformed per wall-clock "
        f"second; CPU threads: {torch.get_num_threads()}. Times are medians after a warm-up (the package: "
        "median of 3 without warm-up); on a shared machine they vary by 2-3x from run to run.",
        f"Target: MDCT + IMDCT at least {TARGET:.0f}x faster than the `mdct` package on the CPU, in float32 "
        f"(our working dtype; the package computes in float64 only): {verdict} ({listing(float32)}). "
        f"float64 {also} ({listing(float64)}).",
        "Why: the package loops over frames in Python (one scipy FFT of 2N points per frame, one window and "
        "twiddle product per frame); ours makes one batched N/2-point complex FFT over all frames, between a "
        "gather-based fold and pre/post twiddles, with no Python loop.",
        f"Algorithm choice: the dense O(N^2) basis (one conv1d, one conv_transpose1d) takes {listing(dense)} "
        "the time of the FFT path here (above 1: the FFT path is faster). At N = 128 both are memory-bound on "
        "this CPU: the dense path reads and writes the data once per direction, the FFT path about nine "
        "times (pad, two gathers, two weightings, twiddles, FFT, reordering), so it loses when memory "
        "bandwidth is contended and wins or ties on a quiet machine. The FFT path is kept for its N log N "
        "scaling (dense costs 2N multiply-adds per sample) and because cuDNN runs float32 convolutions in "
        "TF32 by default on recent GPUs, which would cost the 1e-5 reconstruction accuracy.",
        f"Agreement on the 95 s input, float64: max |ours - package| = {deviation:.1e} (same convention); "
        f"float32 round trip (Vorbis, ortho) max error {recon:.1e}.",
    ]
    if not torch.cuda.is_available():
        section.notes.append("No CUDA device in this run: GPU rows omitted.")
    return [section]
