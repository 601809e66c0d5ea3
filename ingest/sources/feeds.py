"""Feeds kept current: each round asks a feed only for what changed since the last.

A round sends the validators of the feed's last answer (its ETag as If-None-Match, its
Last-Modified as If-Modified-Since), so an unchanged feed answers "304 Not Modified"
without a body. A changed one is read entry by entry: an entry whose fingerprint (title,
link, dates, text) matches the one kept from the last round is skipped, so only new and
changed entries are read, their pages fetched, and ingested. What each feed answered is
kept in the data dir (`feeds.json`), shared by rounds, restarts and the web chat.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx

from ingest.sources.files import Loaded
from ingest.sources.web import FetchPolicy, FetchRefused, describe, fetch, load_entry
from ingest.types import Article

FEEDS_FILE = "feeds.json"


@dataclass
class FeedState:
    """What a feed answered last: its validators, its entries' fingerprints, when."""

    url: str
    etag: str = ""
    last_modified: str = ""
    entries: dict[str, str] = field(default_factory=dict)  # entry key: fingerprint
    last_read: str = ""  # when it last answered (ISO, UTC); "" if it never did
    last_error: str = ""  # why the last round could not read it; "" if it could


@dataclass
class Entry:
    """One new or changed entry of a round, read: its articles, failures, notices."""

    key: str
    fingerprint: str
    loaded: list[Loaded]

    @property
    def read(self) -> bool:
        return any(isinstance(item, Article) for item in self.loaded)


@dataclass
class Polled:
    """One feed's round."""

    url: str
    entries: list[Entry] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str = ""
    etag: str = ""
    last_modified: str = ""
    keys: list[str] = field(default_factory=list)  # every entry the feed now lists


def poll(state: FeedState, policy: FetchPolicy) -> Polled:
    """Ask the feed what changed since `state`; read the new and changed entries."""
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        response = fetch(state.url, policy, headers)
    except FetchRefused as error:
        return Polled(state.url, error=str(error))
    except httpx.HTTPError as error:
        return Polled(state.url, error=f"cannot fetch ({describe(error)})")
    if response.status_code == httpx.codes.NOT_MODIFIED:
        return Polled(state.url, not_modified=True, unchanged=len(state.entries))
    feed = feedparser.parse(response.text)
    if not feed.entries:
        problem = getattr(feed, "bozo_exception", None) or "no entries"
        return Polled(state.url, error=f"not a valid RSS/Atom feed ({problem})")
    polled = Polled(
        state.url,
        etag=response.headers.get("etag", ""),
        last_modified=response.headers.get("last-modified", ""),
    )
    for number, item in enumerate(feed.entries, 1):
        key = str(item.get("id") or item.get("link") or item.get("title") or number)
        polled.keys.append(key)
        print_ = fingerprint(item)
        if state.entries.get(key) == print_:
            polled.unchanged += 1
            continue
        if key in state.entries:
            polled.changed += 1
        else:
            polled.new += 1
        loaded = list(load_entry(state.url, feed, number, item, policy))
        polled.entries.append(Entry(key, print_, loaded))
    return polled


def fingerprint(entry: feedparser.FeedParserDict) -> str:
    """What makes an entry the same as last time: its title, link, dates and text."""
    contents = entry.get("content") or []
    parts = [
        entry.get("title", ""),
        entry.get("link", ""),
        entry.get("updated", "") or entry.get("published", ""),
        contents[0].get("value", "") if contents else entry.get("summary", ""),
    ]
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def remember(state: FeedState, polled: Polled, now: datetime | None = None) -> FeedState:
    """The state after a round whose articles are stored: an entry that could not be
    read is left out, so the next round tries it again."""
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    if polled.error:
        return FeedState(**{**asdict(state), "last_error": polled.error})
    if polled.not_modified:
        return FeedState(**{**asdict(state), "last_read": when, "last_error": ""})
    known = state.entries | {e.key: e.fingerprint for e in polled.entries if e.read}
    # An entry that could not be read is tried again: the feed must then answer in full.
    complete = all(entry.read for entry in polled.entries)
    return FeedState(
        state.url,
        etag=polled.etag if complete else "",
        last_modified=polled.last_modified if complete else "",
        entries={key: known[key] for key in polled.keys if key in known},  # still listed
        last_read=when,
    )


def articles_of(polled: Polled) -> Iterator[Loaded]:
    for entry in polled.entries:
        yield from entry.loaded


def load_states(data_dir: Path) -> dict[str, FeedState]:
    """The feeds this data dir has watched, by URL; none when it has watched none."""
    path = data_dir / FEEDS_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {url: FeedState(**value) for url, value in raw.items()}
    except (ValueError, TypeError):  # damaged: the feeds are read in full once more
        return {}


def save_states(data_dir: Path, states: dict[str, FeedState]) -> None:
    """Written aside and renamed: a reader never sees half a file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FEEDS_FILE
    partial = path.with_suffix(".json.partial")
    payload = {url: asdict(state) for url, state in states.items()}
    partial.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
