"""The ``gansynth-zoo`` command line. Commands are thin: they parse options and call the library."""
from __future__ import annotations

import click

from gansynth_zoo import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="gansynth-zoo")
def main() -> None:
    """Train, sample, time and evaluate audio GANs built on audiofeat feature caches."""


if __name__ == "__main__":  # pragma: no cover
    main()
