"""Files derived once from a model (the int8 export, the static table), kept on disk.

Both are slow to make (seconds to a minute, see each builder) and shared by every data
dir, so they are built once into a scratch folder beside their final place and then
renamed there: a reader never picks up a half-written file, even when two processes
build the same one at once.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

log = logging.getLogger(__name__)


def cached_file(target: Path, build: Callable[[Path], Path], what: str) -> Path:
    """`target`, made first by `build(scratch_folder)`, which returns the file it wrote.

    `what` says what is built and how long that took where it was measured: the user
    waits for it once, with no other sign of life where stderr is not a terminal.
    """
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.warning("%s; once, kept in %s", what, target.parent)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as scratch:
        os.replace(build(Path(scratch)), target)  # atomic on one file system
    return target


def build_progress(total: int, unit: str, first: str) -> tqdm[Any]:
    """The bar of a build's steps on stderr, its current step as its label; left out
    where stderr is not a terminal (a log or a pipe would keep every redraw)."""
    return tqdm(total=total, unit=unit, desc=first, file=sys.stderr, disable=None, leave=False)
