"""The training benchmarks run (quick mode: two steps, a smoke check, not a result)."""
from __future__ import annotations

from benchmarks import bench_distributed, bench_training


def test_training_benchmark_compares_trainer_and_bare_loop():
    (section,) = bench_training.run(quick=True)
    assert [row[0].split()[0] for row in section.rows] == ["demo", "cgan-oneshots"]
    assert all(float(row[3]) > 0 and float(row[4]) > 0 for row in section.rows)
    assert "Target: the trainer costs at most 10 %" in section.notes[0]


def test_distributed_benchmark_times_one_process_and_two_ranks():
    (section,) = bench_distributed.run(quick=True)
    assert [row[0].split()[0] for row in section.rows] == ["demo", "cgan-oneshots"]
    assert all(float(row[2]) > 0 and float(row[3]) > 0 and float(row[7].split()[0]) > 0 for row in section.rows)
