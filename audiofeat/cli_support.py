"""What both command-line tools share: errors raised on purpose become clean messages in one place."""
from __future__ import annotations

from typing import Any

import click

from audiofeat.exceptions import AudiofeatError

__all__ = ["CleanErrorGroup"]


class CleanErrorGroup(click.Group):
    """A click group whose commands' :class:`~audiofeat.exceptions.AudiofeatError` (bad input, a missing
    or unreadable file, a diverged training) end the program with ``Error: <message>`` and exit
    status 2, without a traceback. Anything else is a bug and shows its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AudiofeatError as error:
            raise click.UsageError(str(error)) from None
