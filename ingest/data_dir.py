"""The data dir is its user's alone: the news, the lock's secret and the side files.

Every file newsbot or Chroma creates there (Chroma writes from its own threads, at
times of its choosing) must be unreadable by other users of the machine, so the process
umask is set to 0077 once the data dir is in use, and the folder itself is 0700.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def keep_private(data_dir: Path) -> None:
    """Have this process create files 0600 and folders 0700 from now on, and tighten
    `data_dir` to 0700 when it is this user's and others could read it.

    The folder is not created here: whatever first writes to it does, under this umask,
    so a bot handed a store of its own never leaves an empty data dir behind. The umask
    is the process's: a program that embeds `NewsBot` gets it too, which is what keeps
    Chroma's own files private."""
    os.umask(PRIVATE_UMASK)
    try:
        status = data_dir.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & PRIVATE_UMASK:
        data_dir.chmod(0o700)
        log.warning("%s could be read by other users: made private (0700)", data_dir)
