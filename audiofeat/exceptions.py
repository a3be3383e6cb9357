"""The error types of audiofeat. Everything raised on purpose derives from `AudiofeatError`."""
from __future__ import annotations

import os


class AudiofeatError(Exception):
    """Base class of every error raised on purpose by audiofeat."""


class ParameterError(AudiofeatError, ValueError):
    """An argument has a bad value; the message names the argument and the value."""


class ConfigError(AudiofeatError, ValueError):
    """A configuration file or override is invalid; the message names the key and the file."""


class WriteError(AudiofeatError, OSError):
    """An output cannot be written (disk full, read-only folder, a file where a folder should be);
    the message names the path and the system's reason. What was written before stays intact."""


class DataSourceError(AudiofeatError, RuntimeError):
    """External data (a Debian package, an archive, a wheel) cannot be fetched or read.

    The message names the source and says how to fix the problem.
    """


class AudioFileError(AudiofeatError, ValueError):
    """An audio file cannot be used; the message names the file and the problem.

    Attributes:
        path: the offending file.
        reason: the problem, without the path (stored in skip reports).
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
