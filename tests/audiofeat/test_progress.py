"""Progress bars: drawn on a terminal with rate and ETA, one bar per task, nothing off a terminal."""
from __future__ import annotations

import io

from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.progress import ProgressBars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_on_a_terminal_one_per_task():
    screen = Terminal()
    with ProgressBars(file=screen, min_interval=0) as progress:
        for done in range(1, 5):
            progress("generate", done, 4)
        progress("train classifier", 7, 10)  # a task resumed at 7 of 10: rate and ETA count from there
        progress("train classifier", 10, 10)
    shown = screen.getvalue()
    assert "generate: 100%" in shown and "4/4 [" in shown and "it/s]" in shown
    assert "train classifier:  70%" in shown and "train classifier: 100%" in shown and "10/10 [" in shown


def test_nothing_is_drawn_off_a_terminal():
    stream = io.StringIO()
    with ProgressBars(file=stream) as progress:
        progress("generate", 1, 2)
        progress("generate", 2, 2)
    assert stream.getvalue() == ""


def test_dataset_synthesis_reports_every_file(tmp_path):
    heard = []
    config = OneShotsConfig(per_subclass=2, duration=0.05, subclasses=("drums/kick", "bass/sub"))
    write_oneshots(tmp_path, config, progress=lambda task, done, total: heard.append((task, done, total)))
    assert heard == [("synthesise", done, 4) for done in range(1, 5)]
