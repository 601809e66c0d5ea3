"""One writer per data dir: a running web chat claims it, and `newsbot ingest` hands it news.

Chroma's embedded store must not be written by two processes at once: the second one's
writes are invisible to the first ("Error finding id") until it restarts. So
`newsbot serve` leaves a lock file in the data dir with its address and a secret, and
`newsbot ingest` on that data dir sends its items to the running server, which ingests
them itself: the new articles answer in the server at once, dense and lexical.

The secret is what lets the server read local paths for a caller: only someone who can
read the data dir (the file is the owner's alone) can ask it to.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import BadInput, BadSetting

LOCK_NAME = "serve.lock"
HANDOFF_API = "/ingest_local"


@dataclass(frozen=True)
class ServerLock:
    pid: int
    url: str  # where this machine reaches the server
    token: str


def claim(data_dir: Path, url: str) -> ServerLock:
    """Write the lock of this process; refused while another live server holds one."""
    held = live_lock(data_dir)
    if held is not None and held.pid != os.getpid():
        raise BadSetting(
            f"{data_dir} is already served by process {held.pid} at {held.url}; "
            "stop it, or give this server another --data-dir"
        )
    lock = ServerLock(os.getpid(), url, secrets.token_urlsafe(32))
    path = Path(data_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"pid": lock.pid, "url": lock.url, "token": lock.token}, file)
    temporary.replace(path)
    return lock


def release(data_dir: Path, lock: ServerLock) -> None:
    """Remove the lock, if it is still this server's."""
    if live_lock(data_dir) == lock:
        (Path(data_dir) / LOCK_NAME).unlink(missing_ok=True)


def live_lock(data_dir: Path) -> ServerLock | None:
    """The lock of a server that still runs; a crashed server's lock is ignored."""
    try:
        data = json.loads((Path(data_dir) / LOCK_NAME).read_text(encoding="utf-8"))
        lock = ServerLock(int(data["pid"]), str(data["url"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return lock if _running(lock.pid) else None


def hand_over(lock: ServerLock, items: list[str], auth: tuple[str, str] | None) -> dict[str, Any]:
    """Have the running server ingest `items`; returns its report as a dict."""
    from gradio_client import Client

    try:
        client = Client(lock.url, auth=auth, verbose=False, analytics_enabled=False)
        report: dict[str, Any] = client.predict(json.dumps(items), lock.token, api_name=HANDOFF_API)
    except Exception as error:
        raise BadInput(
            f"the web chat serving this data dir (process {lock.pid}, {lock.url}) did not "
            f"take the news ({type(error).__name__}: {error}); retry, or stop it and ingest"
        ) from error
    return report


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
