"""What an ingest item is: a web URL, a file uploaded through the web chat, or a local path.

The kinds are types, not strings to be guessed at, because who may name each differs:
anyone may hand in a `WebUrl` (it is fetched, never opened on disk); an `Upload` is a
copy gradio made of a visitor's file, and nothing outside gradio's upload folder can be
one; a plain path (`str` or `Path`) is read from this machine's disk and comes only from
its own user (the command line, Python, the `newsbot ingest` hand-off). The web chat
builds only the first two, so nothing a visitor types reaches the code that reads paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_WEB_SCHEMES = ("http", "https")
# No URL a user means holds these: control characters (NUL included), spaces, backslashes.
_NEVER_IN_URL = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class WebUrl:
    """An http(s) URL with a host, scheme in lower case: made only by `web_url`."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Upload:
    """A file the web chat received, as gradio's copy of it in its upload folder."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


def web_url(text: str) -> WebUrl | None:
    """`text` as a web URL, or None: the one place that decides what is a URL.

    The scheme is read case-insensitively ("HTTP://" is a URL), only http and https
    count, and a host is required; anything else (a path, `file:`, `javascript:`, a
    string with a NUL byte or a backslash) is not a URL."""
    text = text.strip()
    if _NEVER_IN_URL.search(text):
        return None
    try:
        parts = urlsplit(text)
        host, _ = parts.hostname, parts.port  # reading .port raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not host:
        return None
    return WebUrl(parts.scheme.lower() + text[len(parts.scheme) :])


def upload(path: str | Path, upload_folder: Path) -> Upload | None:
    """`path` as an upload when it is a regular file inside `upload_folder` (after links
    are resolved), else None: a name sent to the web chat cannot point elsewhere."""
    folder = upload_folder.resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(folder) or resolved == folder:
        return None
    return Upload(resolved) if resolved.is_file() else None
