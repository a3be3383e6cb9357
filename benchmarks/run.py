"""Runs every benchmark module and writes docs/benchmarks.md.

Usage: ``python -m benchmarks.run [--only NAME ...] [--out docs/benchmarks.md]`` (``make bench``).
"""
from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
from pathlib import Path

from benchmarks.common import machine_description

#: Benchmark modules in the order their sections appear.
MODULES = ["bench_spectral", "bench_griffinlim", "bench_mdct", "bench_psychoacoustic", "bench_cache",
           "bench_synthesis", "bench_export", "bench_training", "bench_distributed"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="module names to run (default: all present)")
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    names = args.only or [m for m in MODULES if (Path(__file__).parent / f"{m}.py").exists()]
    sections = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        start = time.perf_counter()
        print(f"running {name} ...", flush=True)
        sections.extend(module.run())
        print(f"  {name} took {time.perf_counter() - start:.0f} s", flush=True)
    command = "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = ["# Benchmarks", "",
            f"Produced by `make bench` (`{command.strip()}`) on {time.strftime('%Y-%m-%d')}.", "",
            f"Machine: {machine_description()}.", "",
            "Every figure is the median of several timed runs after a warm-up, measured in the same process "
            "and on the same input as the peer it is compared with.", ""]
    text += [s.markdown() for s in sections]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
