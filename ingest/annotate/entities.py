"""The organisations, people, indices and tickers an article names.

Kept for what a reader filters and browses by, so only names of a known kind: a name
with an organisation's word in it ("Huatai Securities"), a firm known by a bare name
("Morgan Stanley"), a stock index, a ticker, and every speaker and employer the article
quotes. "Alibaba (9988.HK)" also links the ticker to the name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.annotate.names import (
    INDEX,
    KNOWN_ORGS,
    NAME,
    TICKER,
    clean_name,
    entity_key,
    is_org,
    is_role_word,
)
from ingest.annotate.quotes import Quote
from ingest.sentences import split_sentences

_MAX_WORDS = 6  # longer capitalised runs are headlines, not names


def find_entities(quotes: Sequence[Quote], named: Sequence[str]) -> list[str]:
    """The names, as first written, one per key: the speakers and their employers first,
    then the names the text gives (`names_in`)."""
    found: dict[str, str] = {}
    spoken = [name for quote in quotes for name in (quote.speaker, quote.org) if name]
    for name in [*spoken, *named]:
        key = entity_key(name)
        if key and len(name.split()) <= _MAX_WORDS:
            found.setdefault(key, name)
    return list(found.values())


def names_in(title: str, text: str) -> list[str]:
    """The indices, tickers and organisations a title and text name, in order."""
    named: list[str] = []
    for body in [title, *split_sentences(text)]:  # a name never runs over a full stop
        named += [match.group(0) for match in INDEX.finditer(body)]
        named += [match.group(0) for match in TICKER.finditer(body)]
        for raw in NAME.findall(body):
            name = _before_title(clean_name(raw))
            if name and (is_org(name) or entity_key(name) in KNOWN_ORGS):
                named.append(name)
    return named


def _before_title(name: str) -> str:
    """ "Legislative Council President Andrew Leung": the body, not the person."""
    words = name.split()
    titled = [i for i, word in enumerate(words) if is_role_word(word)]
    return " ".join(words[: titled[0]]) if titled else name


_LINKED = re.compile(rf"(?P<name>{NAME.pattern})\s*\((?P<ticker>{TICKER.pattern})\)")


def find_aliases(text: str) -> dict[str, str]:
    """Tickers written beside a name: {"9988.HK": "Alibaba Group"}."""
    aliases: dict[str, str] = {}
    for match in _LINKED.finditer(text):
        name = clean_name(match.group("name"))
        if name:
            aliases.setdefault(match.group("ticker"), name)
    return aliases
