"""One ingest at a time per data dir, across threads and processes."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) while inside.

    Two ingests of the same news at once would both find it new and both report it
    added; one after the other, the second finds it stored. Every open of the file is
    its own lock holder, so threads of one process wait for each other too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
