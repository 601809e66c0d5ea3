"""What moved the market: the main stories of a window, one cited line each.

A story many publishers carried is a story that mattered, so stories are ranked by how
many publishers carried them. Syndicated copies and rewrites of one wire story are
merged first: their opening sentences share most words, or their vectors nearly match.
Each line is the story's opening sentence, as written, citing every copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from bot.answer.extractive import Drafted
from bot.question.words import terms
from bot.retrieval.retriever import Filters
from bot.types import EMPTY_CORPUS, Source
from ingest.dates import from_day_number, parse_date, to_day_number
from ingest.index.fts import DayRange
from ingest.index.store import Metadata, NewsStore
from ingest.sentences import split_sentences

_BRIEF = re.compile(
    r"\bwhat\s+(?:moved|drove|moves|drives|rocked|shook)\s+(?:the\s+)?(?:markets?|stocks)\b"
    r"|\b(?:main|top|biggest|key)\s+(?:market\s+)?(?:stories|news)\b"
    r"|\b(?:market|news)\s+(?:brief|briefing|recap|wrap|round-?up)\b",
    re.IGNORECASE,
)
# Same story: opening sentences sharing this share of their words, or article vectors
# this close (the three copies of one wire story in the sample news: 0.71-0.79 shared).
_SAME_OPENING = 0.5
_SAME_VECTOR = 0.95
MAX_STORIES = 8


def asks_for_brief(question: str) -> bool:
    """ "What moved markets this week?", "top stories", "market recap"."""
    return bool(_BRIEF.search(question))


def draft_brief(
    store: NewsStore, filters: Filters, as_of: date | None, limit: int
) -> tuple[Drafted, date | None, date | None]:
    """The brief of the filters' window, and the window: `since`..`until`, or the 7 days
    up to `until`, `as_of` or the newest news stored."""
    newest = store.newest_day()
    last = filters.until or as_of or (from_day_number(newest) if newest is not None else None)
    if last is None:
        return Drafted(EMPTY_CORPUS, [EMPTY_CORPUS], [], abstained=True), None, None
    first = filters.since or last - timedelta(days=6)
    days = DayRange(to_day_number(first), to_day_number(last), undated=False)
    articles = store.articles_naming(filters.entities) if filters.entities else None
    chunk_ids = store.chunk_ids(days, filters.publishers, articles)
    ids = sorted({chunk_id.rsplit(":", 1)[0] for chunk_id in chunk_ids})
    if not ids:
        message = f"No news was published between {first} and {last}."
        return Drafted(message, [message], [], abstained=True), first, last
    found = stories(store.article_records(ids), store.first_chunks(ids))
    text, sources = brief_text(found[:limit])
    return Drafted(text, [text], sources, abstained=False, evidence=1.0), first, last


@dataclass
class Story:
    opening: str
    articles: list[tuple[str, Metadata, str]] = field(default_factory=list)  # and opening
    vector: np.ndarray | None = None
    words: set[str] = field(default_factory=set)

    @property
    def publishers(self) -> int:
        return len({str(meta.get("source") or "") for _, meta, _ in self.articles})

    @property
    def newest(self) -> str:
        return max(str(meta.get("published") or "") for _, meta, _ in self.articles)


def stories(
    records: Sequence[tuple[str, Metadata, np.ndarray]], openings: dict[str, str]
) -> list[Story]:
    """The articles merged into stories, the most widely carried first."""
    found: list[Story] = []
    for article_id, meta, vector in sorted(records, key=lambda r: str(r[1].get("published"))):
        text = openings.get(article_id, "")
        opening = next(iter(split_sentences(text)), "") or str(meta.get("title") or "")
        words = set(terms(opening))
        story = next((s for s in found if _same(s, words, vector)), None)
        if story is None:
            story = Story(opening, vector=vector, words=words)
            found.append(story)
        story.articles.append((article_id, meta, opening))
    found.sort(key=lambda story: story.newest, reverse=True)  # ties: the newest first
    found.sort(key=lambda story: (-story.publishers, -len(story.articles)))
    return found


def _same(story: Story, words: set[str], vector: np.ndarray) -> bool:
    union = story.words | words
    if union and len(story.words & words) / len(union) >= _SAME_OPENING:
        return True
    return story.vector is not None and float(story.vector @ vector) >= _SAME_VECTOR


def brief_text(chosen: Sequence[Story]) -> tuple[str, list[Source]]:
    """One line per story, citing all its copies; the sources numbered in order."""
    lines = []
    sources: list[Source] = []
    for story in chosen:
        numbers = []
        for article_id, meta, opening in story.articles:
            n = len(sources) + 1
            numbers.append(n)
            sources.append(
                Source(
                    n=n,
                    article_id=article_id,
                    title=str(meta.get("title") or ""),
                    publisher=str(meta.get("source") or ""),
                    url=str(meta.get("url") or ""),
                    published=parse_date(meta.get("published")),
                    text=opening,
                    quote=opening,
                    score=float(story.publishers),
                )
            )
        carried = f" ({story.publishers} publishers)" if story.publishers > 1 else ""
        day = _day(story.newest)
        markers = "".join(f"[{n}]" for n in numbers)
        lines.append(f"- {day}{story.opening}{carried} {markers}")
    return "\n".join(lines), sources


def _day(iso: str) -> str:
    published = parse_date(iso)
    return f"{published:%-d %b %Y}: " if isinstance(published, date) else ""
