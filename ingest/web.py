"""Articles from the web: a page URL, or an RSS/Atom feed whose entries are fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlparse

import feedparser
import httpx
import lxml.etree
import lxml.html

from ingest.cleaning import clean_text
from ingest.dates import read_date
from ingest.files import Loaded, extract_html
from ingest.types import Article, Failure, Notice

_USER_AGENT = "newsbot/0.1 (+offline news QA)"
_FEED_TYPES = ("rss", "atom", "xml")
_FEED_PATH = re.compile(r"(\.(rss|xml|atom)$|/(feed|rss|atom)/?$)", re.IGNORECASE)
# A feed entry whose own text is at least this long is used as is, without a fetch.
_FULL_ENTRY_CHARS = 1200


def is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


def load_url(url: str, timeout: float) -> Iterator[Loaded]:
    try:
        response = _fetch(url, timeout)
    except httpx.HTTPError as error:
        yield Failure(url, f"cannot fetch ({_describe(error)}); check the URL and your network")
        return
    content_type = response.headers.get("content-type", "").lower()
    body = response.text
    if _looks_like_feed(url, content_type, body):
        yield from _load_feed(url, body, timeout)
    else:
        yield from extract_html(body, url, url=str(response.url))


def _fetch(url: str, timeout: float) -> httpx.Response:
    response = httpx.get(
        url, timeout=timeout, follow_redirects=True, headers={"User-Agent": _USER_AGENT}
    )
    response.raise_for_status()
    return response


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return type(error).__name__ + (f": {error}" if str(error) else "")


def _looks_like_feed(url: str, content_type: str, body: str) -> bool:
    if any(kind in content_type for kind in _FEED_TYPES):
        return True
    head = body.lstrip()[:200].lower()
    return head.startswith(("<?xml", "<rss", "<feed")) or bool(
        _FEED_PATH.search(urlparse(url).path) and "<html" not in head
    )


def _load_feed(url: str, body: str, timeout: float) -> Iterator[Loaded]:
    feed = feedparser.parse(body)
    if not feed.entries:
        problem = getattr(feed, "bozo_exception", None) or "no entries"
        yield Failure(url, f"not a valid RSS/Atom feed ({problem})")
        return
    publisher = feed.feed.get("title", "") or urlparse(url).hostname or ""
    for number, entry in enumerate(feed.entries, 1):
        try:
            yield from _load_entry(entry, publisher, timeout)
        except Exception as error:  # one odd entry must not stop the feed
            where = entry.get("link") or f"{url} (entry {number})"
            yield Failure(where, f"cannot read this feed entry ({type(error).__name__}: {error})")


def _load_entry(
    entry: feedparser.FeedParserDict, publisher: str, timeout: float
) -> Iterator[Loaded]:
    link = entry.get("link", "")
    published, problem = read_date(entry.get("published_parsed") or entry.get("updated_parsed"))
    if problem:
        yield Notice(link or publisher, f"{problem}; stored as undated")
    inline = _entry_text(entry)
    if link and len(inline) < _FULL_ENTRY_CHARS:
        try:
            page = _fetch(link, timeout)
        except httpx.HTTPError as error:
            if not inline:
                yield Failure(link, f"feed entry cannot be fetched ({_describe(error)})")
                return
        else:
            for loaded in extract_html(page.text, link, url=link, source=publisher):
                if isinstance(loaded, Article):
                    # The feed's date and title are the publisher's own; prefer them.
                    yield Article(
                        entry.get("title") or loaded.title,
                        loaded.text,
                        publisher,
                        link,
                        published or loaded.published,
                        link,
                    )
                    return
    text = clean_text(inline)
    if len(text.split()) < 3:
        yield Failure(link or publisher, "feed entry has no text and no fetchable link")
        return
    yield Article(
        entry.get("title", ""), text, publisher, link, published, link or entry.get("id", "")
    )


def _entry_text(entry: feedparser.FeedParserDict) -> str:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    if not html:
        return ""
    if "<" not in html:
        return str(html)
    try:
        return str(lxml.html.fromstring(html).text_content())
    except (lxml.etree.ParserError, ValueError):  # only a comment, or not markup at all
        return ""
