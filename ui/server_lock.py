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
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.errors import BadInput, BadSetting

LOCK_NAME = "serve.lock"
_LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp
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
    """Remove the lock, if it is still this server's (it no longer listens by now)."""
    path = Path(data_dir) / LOCK_NAME
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(held, dict) and held.get("token") == lock.token:
        path.unlink(missing_ok=True)


def live_lock(data_dir: Path) -> ServerLock | None:
    """The lock of a server of this user's that still runs and listens where the lock
    says; None when there is none or it is stale (its process gone, or another user's).

    The CLI hands the server articles and the login, so nothing in the file is taken on
    trust: it must be this user's alone (0600), and its process must be this user's and
    listen on its port. A lock that fails a check is refused with the way out."""
    path = Path(data_dir) / LOCK_NAME
    try:
        status = path.stat()
        data = json.loads(path.read_text(encoding="utf-8"))
        lock = ServerLock(int(data["pid"]), str(data["url"]), str(data["token"]))
        port = urlsplit(lock.url).port
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if status.st_uid != os.getuid() or stat.S_IMODE(status.st_mode) & 0o077:
        raise BadSetting(
            f"{path} is not yours alone (mode {stat.S_IMODE(status.st_mode):o}); newsbot "
            "hands news only to a web chat it can trust: delete the file, then start "
            "`newsbot serve` again if one should run there"
        )
    if not _ours_and_running(lock.pid):
        return None
    if port is None or not _listens(lock.pid, port):
        raise BadInput(
            f"process {lock.pid}, named in {path}, does not listen on {lock.url}: wait until "
            "that web chat has started, or, if no `newsbot serve` runs there, delete the file"
        )
    return lock


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


def _ours_and_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}").stat().st_uid == os.getuid()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): alive, and signalable by this user
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds a TCP socket listening on `port` (Linux: /proc); where
    /proc cannot tell, the pid check above is all there is."""
    try:
        sockets = {
            target.removeprefix("socket:[").removesuffix("]")
            for target in (os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
            if target.startswith("socket:[")
        }
    except OSError:
        return not Path("/proc/self/fd").is_dir()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port and inode in sockets:
                return True
    return False
