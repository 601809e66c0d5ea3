"""`newsbot watch`: rounds over feeds, each storing only what changed since the last.

Each round asks every feed for what changed (`ingest.sources.feeds`), writes the new
and changed entries' articles to one JSON-lines file in the data dir and stores that
file the way `newsbot ingest` stores any file: here, or through the web chat serving
this data dir. A feed that is down is reported and asked again next round; a round in
which no feed could be read ends the watch, so that a wrong address or a lost network
shows as a failed command, not as a process that only prints failures.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.errors import BadInput
from ingest.sources.feeds import (
    FeedState,
    Polled,
    articles_of,
    load_states,
    poll,
    remember,
    save_states,
)
from ingest.sources.web import FetchPolicy
from ingest.types import Article, Failure

ROUND_FILE = Path("watch") / "feeds.jsonl"  # in the data dir: a stable name, stable origins
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Store = Callable[[list[str]], dict[str, Any]]  # items -> the ingest report, as JSON


@dataclass
class Round:
    """What one round did, summed over its feeds."""

    number: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "item: reason"
    not_modified: int = 0
    feeds: int = 0
    unread: int = 0  # feeds that gave no answer; a 304 is one
    stored: str = ""

    @property
    def read_nothing(self) -> bool:
        return self.unread == self.feeds

    def line(self) -> str:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        head = (
            f"{when} round {self.number}: new {self.new}, changed {self.changed}, "
            f"unchanged {self.unchanged}, failed {len(self.failed)} "
            f"({self.feeds} feed{'s' if self.feeds != 1 else ''}, "
            f"{self.not_modified} not modified)"
        )
        return head + (f"; stored: {self.stored}" if self.stored else "")


def every_seconds(text: str) -> float:
    """ "15m" -> 900; "30s", "2h", "1d", or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise BadInput(f"--every {text!r} is not a period; write it like 30s, 15m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def run_round(
    number: int, feeds: Sequence[str], data_dir: Path, policy: FetchPolicy, store: Store
) -> Round:
    """Ask each feed what changed, store the new and changed entries, note each feed's
    answer for the next round (only once what it gave is stored)."""
    states = load_states(data_dir)
    done = Round(number, feeds=len(feeds))
    polls: list[tuple[FeedState, Polled]] = []
    for url in feeds:
        state = states.get(url) or FeedState(url)
        polled = poll(state, policy)
        polls.append((state, polled))
        done.new += polled.new
        done.changed += polled.changed
        done.unchanged += polled.unchanged
        done.not_modified += polled.not_modified
        if polled.error:
            done.unread += 1
            done.failed.append(f"{url}: {polled.error}")
    articles: list[Article] = []
    for _, polled in polls:
        for item in articles_of(polled):
            if isinstance(item, Article):
                articles.append(item)
            elif isinstance(item, Failure):
                done.failed.append(f"{item.item}: {item.reason}")
    if articles:
        report = store([str(_write_round(data_dir, articles))])
        done.stored = str(report.get("summary", ""))
        done.failed += [f"{f['item']}: {f['reason']}" for f in report.get("failed", [])]
    for state, polled in polls:
        states[state.url] = remember(state, polled)
    save_states(data_dir, states)
    return done


def watch(
    feeds: Sequence[str],
    data_dir: Path,
    policy: FetchPolicy,
    store: Store,
    every: float,
    rounds: int | None,
    report: Callable[[Round], None],
) -> Round | None:
    """Rounds every `every` seconds (counted from each round's start), `rounds` of them
    or until interrupted; the first round in which no feed could be read is the last,
    and is returned (None when all rounds ran)."""
    number = 0
    while rounds is None or number < rounds:
        number += 1
        started = time.monotonic()
        done = run_round(number, feeds, data_dir, policy, store)
        report(done)
        if done.read_nothing:
            return done
        if rounds is None or number < rounds:
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    return None


def _write_round(data_dir: Path, articles: Sequence[Article]) -> Path:
    """The round's articles as JSON lines; an entry's link is its origin, as when the
    feed is ingested directly, so a changed entry replaces its earlier version."""
    path = data_dir / ROUND_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for article in articles:
            record = {
                "title": article.title,
                "text": article.text,
                "source": article.source,
                "url": article.url or article.origin,
                "published": article.published.isoformat() if article.published else None,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
