"""The critic's real-fake gap over training, one line per run (the MP3net trials in docs/results.md).

    .venv/bin/python report/critic_gap.py RUN [RUN ...] --out docs/results/NAME-critic-gap.png

The gap is ``score/real - score/fake``, the mean critic score of the real batch minus that of the
generated batch, as the trainer logs it every ``log_every`` steps (``metrics.jsonl``). A critic that
tells them apart keeps it positive; one that has stopped separating them brings it to about zero.
Each run's line is labelled with its ``name`` (``config.json``).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
from matplotlib.figure import Figure


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def main(runs: tuple[Path, ...], out: Path) -> None:
    figure = Figure(figsize=(8, 4), layout="constrained")
    ax = figure.subplots()
    for run in runs:
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        name = json.loads((run / "config.json").read_text())["name"]
        ax.plot([r["step"] for r in records], [r["score/real"] - r["score/fake"] for r in records], label=name)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("generator step")
    ax.set_ylabel("critic score: real - generated")
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    click.echo(out)


if __name__ == "__main__":
    main()
