"""Progress of long work, reported by the library and drawn by the command-line tools.

Library functions stay quiet: those that loop for more than a few seconds take an optional
``progress`` callback, called as ``progress(task, done, total)`` after each unit of work (a file, a
batch, a classifier step). The CLIs pass a :class:`ProgressBars`, which draws one tqdm bar per task
on a terminal and nothing otherwise, so that logs and ``make`` output stay clean.
"""
from __future__ import annotations

from typing import IO, Protocol

from tqdm import tqdm

__all__ = ["Progress", "ProgressBars"]


class Progress(Protocol):
    """``progress(task, done, total)``: ``done`` of ``total`` units of ``task`` are finished."""

    def __call__(self, task: str, done: int, total: int) -> None: ...


class ProgressBars:
    """A :class:`Progress` that shows the current task as a tqdm bar (rate, ETA) on a terminal.

    Work already done at a task's first report (a resumed build) does not count in its rate. A new
    task name closes the previous bar and opens another. Off a terminal (``file`` not a TTY) tqdm
    draws nothing. The bar is redrawn at most every ``min_interval`` seconds. :meth:`write` prints a
    line above the bar. Use it as a context manager so that the last bar is closed.

    Example:
        >>> import io
        >>> with ProgressBars(file=io.StringIO()) as progress:
        ...     for done in range(1, 4):
        ...         progress("generate", done, 3)
    """

    def __init__(self, file: IO[str] | None = None, *, min_interval: float = 0.1) -> None:
        self._file, self._min_interval = file, min_interval
        self._task: str | None = None
        self._bar: tqdm | None = None

    def __call__(self, task: str, done: int, total: int) -> None:
        if task != self._task or self._bar is None:
            self.close()
            self._task = task
            # work already done when the task starts (a resumed build) counts neither in rate nor in ETA
            self._bar = tqdm(total=total, initial=done, desc=task, dynamic_ncols=True, leave=False, disable=None,
                             file=self._file, mininterval=self._min_interval)
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def write(self, line: str) -> None:
        """Prints ``line`` (to standard output) without breaking the bar."""
        tqdm.write(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._task = None, None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
