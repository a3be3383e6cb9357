"""Exported generators for embedded synthesis: latency of one hit at batch 1 on one thread, peak
memory and file size, for the two shipped generators (``--pretrained demo`` and ``oneshots``).

For each generator, in one process with one thread:

* PyTorch eager: the EMA generator ``G(z, c)`` under ``torch.no_grad()`` (the peer);
* ONNX float32 and ONNX int8 (:mod:`gansynth_zoo.export`, onnxruntime with one intra-op thread):
  the generator plus the fixed part of the inversion (mel pseudo-inverse), ``(z, c)`` -> magnitude;
* the numpy inversion (:mod:`gansynth_zoo.runtime`): PGHI, 32 Griffin-Lim iterations and the
  inverse STFT of one clip;
* one hit, trigger to audio ready: ONNX float32 then the numpy inversion, the path of
  ``gansynth-zoo play``.

Peak resident memory is measured in a fresh Python process per format that loads the file and makes
one hit (the child's ``VmHWM``), so that each figure holds only what that runtime needs.
Audio block deadlines are those of 64 and 256 samples at 44.1 kHz (1.45 and 5.8 ms).
``run(quick=True)`` times one run per figure (a smoke check, not a result).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.common import Section, time_call, torch_threads
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.export import export_generator
from gansynth_zoo.pretrained import pretrained_path
from gansynth_zoo.runtime import ExportedModel, to_audio

MODELS = ("demo", "oneshots")
BLOCKS_MS = {64: 64 / 44.1, 256: 256 / 44.1}
N_ITER = 32

_PEAK_MEMORY = """
import sys
import numpy as np
from gansynth_zoo.runtime import ExportedModel
model = ExportedModel(sys.argv[1], threads=1)
meta = model.metadata
z = np.zeros((1, meta["z_dim"]), np.float32)
c = np.asarray(meta["conditioning"], np.float32)[:1]
model.audio(z, c)
"""

_PEAK_MEMORY_TORCH = """
import sys
import torch
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import load_generator
torch.set_num_threads(1)
G, export = load_generator(sys.argv[1])
with torch.no_grad():
    x = G(torch.zeros(1, export["z_dim"]), export["conditioning"][:1])
    Representation.from_dict(export["data"]["representation"]).to_audio(x)
"""

# VmHWM, not ru_maxrss: Linux carries a process's ru_maxrss over an exec from the parent it forked from
_PRINT_PEAK_KB = """
import re, pathlib
print(re.search(r"VmHWM:\\s*(\\d+) kB", pathlib.Path("/proc/self/status").read_text()).group(1))
"""


def _peak_mb(path: Path, code: str = _PEAK_MEMORY) -> float:
    """Peak resident memory (MB) of a fresh process that runs ``code`` on ``path`` (one hit)."""
    done = subprocess.run([sys.executable, "-c", code + _PRINT_PEAK_KB, str(path)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"


def _measure(name: str, folder: Path, repeat: int) -> tuple[list[list[str]], dict[str, float]]:
    source = pretrained_path(name)
    G, export = load_generator(source)
    z = torch.randn(1, export["z_dim"], generator=torch.Generator().manual_seed(0))
    c = export["conditioning"][:1]
    float_path = export_generator(source, folder / f"{name}.onnx")
    int8_path = export_generator(source, folder / f"{name}-int8.onnx", quantize="int8")
    models = {"float32": ExportedModel(float_path, threads=1), "int8": ExportedModel(int8_path, threads=1)}
    zn, cn = z.numpy(), c.numpy()
    magnitude = models["float32"](zn, cn)
    with torch.no_grad():
        eager = time_call(lambda: G(z, c), repeat=repeat)
    times = {"eager": eager, **{k: time_call(lambda m=m: m(zn, cn), repeat=repeat) for k, m in models.items()}}
    times["inversion"] = time_call(lambda: to_audio(magnitude, models["float32"].metadata, n_iter=N_ITER),
                                   repeat=repeat)
    times["hit"] = time_call(lambda: models["float32"].audio(zn, cn, n_iter=N_ITER), repeat=repeat)
    size = {k: p.stat().st_size / 1e6 for k, p in (("float32", float_path), ("int8", int8_path))}
    torch_size = sum(p.numel() * p.element_size() for p in G.parameters()) / 1e6
    peak = {k: _peak_mb(p) for k, p in (("float32", float_path), ("int8", int8_path))}
    duration = export["data"]["representation"]["feature_config"]["audio"]["length"] / \
        export["data"]["representation"]["feature_config"]["audio"]["sample_rate"]
    rows = [
        [name, "PyTorch eager generator (peer; memory: one hit with PyTorch's inversion)", _ms(times["eager"]),
         f"{torch_size:.2f} (weights)", f"{_peak_mb(source, _PEAK_MEMORY_TORCH):.0f}"],
        [name, "ONNX float32: generator + mel inverse", _ms(times["float32"]), f"{size['float32']:.2f}",
         f"{peak['float32']:.0f}"],
        [name, "ONNX int8: generator + mel inverse", _ms(times["int8"]), f"{size['int8']:.2f}", f"{peak['int8']:.0f}"],
        [name, f"numpy inversion: PGHI + {N_ITER} Griffin-Lim iterations", _ms(times["inversion"]), "-", "-"],
        [name, f"one hit (ONNX float32 + numpy inversion, {duration:.3f} s of audio)", _ms(times["hit"]), "-",
         "-"],
    ]
    return rows, times


def run(quick: bool = False) -> list[Section]:
    section = Section("Exported generators: one hit at batch 1, one thread (embedded synthesis)",
                      ["model", "what", "latency (ms)", "file size (MB)", "peak RSS (MB)"])
    repeat = 1 if quick else 20
    with torch_threads(1), tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name in MODELS:
            rows, results[name] = _measure(name, Path(tmp), repeat)
            section.rows += rows
    for name, t in results.items():
        speedup = t["eager"] / t["float32"]
        section.notes.append(
            f"{name}: ONNX float32 runs the generator (and the mel inverse) in {_ms(t['float32'])} ms against "
            f"{_ms(t['eager'])} ms for PyTorch eager ({speedup:.1f}x), int8 in {_ms(t['int8'])} ms; "
            f"the numpy inversion takes {_ms(t['inversion'])} ms, so one hit is ready "
            f"{_ms(t['hit'])} ms after its trigger, against an audio block of {BLOCKS_MS[64]:.2f} to "
            f"{BLOCKS_MS[256]:.2f} ms at 44.1 kHz (64 to 256 samples): "
            + ("within one block." if t["hit"] <= BLOCKS_MS[64] / 1e3 else
               f"{t['hit'] * 1e3 / BLOCKS_MS[256]:.0f} blocks of 256 samples, so a player must generate "
               "ahead of the trigger (a buffer of ready hits per category)."))
    return [section]


if __name__ == "__main__":
    for part in run(quick="--quick" in sys.argv):
        print(part.markdown())
