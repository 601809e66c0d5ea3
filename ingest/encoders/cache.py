"""Files derived once from a model (the int8 export, the static table), kept on disk.

Both are slow to make (10-15 s) and shared by every data dir, so they are built once into
a scratch folder beside their final place and then renamed there: a reader never picks
up a half-written file, even when two processes build the same one at once.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def cached_file(target: Path, build: Callable[[Path], Path], what: str) -> Path:
    """`target`, made first by `build(scratch_folder)`, which returns the file it wrote."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.warning("%s (once)", what)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as scratch:
        os.replace(build(Path(scratch)), target)  # atomic on one file system
    return target
