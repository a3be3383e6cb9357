"""Atomic file writes (write under a temporary name in the destination folder, then rename) and
an exclusive lock for commands that build one output."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path next to ``path``; renamed onto ``path`` when the block succeeds,
    removed when it fails. A crash therefore never leaves a half-written file under ``path``.
    The file gets the permissions of any new file (0666 less the umask), not ``mkstemp``'s 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class LockHeldError(OSError):
    """Another live process holds the lock; the message names its PID."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Holds an exclusive lock on ``path`` (created holding this process's PID, removed on exit).

    The lock is an ``flock`` on the open file, so the kernel releases it when the holder dies, even
    by ``kill -9``; a stale lock file is then simply taken over.

    Raises:
        LockHeldError: another live process holds the lock; the message names its PID and ``what``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = path.read_text().strip() if path.exists() else "?"
            raise LockHeldError(errno.EAGAIN, f"another process (PID {holder}) is {what}; wait for it to "
                                                f"finish, or stop it (its lock is {path})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file the previous holder unlinked between our open and our flock
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.unlink(path)
        os.close(fd)
