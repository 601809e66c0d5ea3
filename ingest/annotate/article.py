"""One article's notes: its quotes and the names it mentions, read together."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ingest.annotate.entities import find_aliases, find_entities, names_in
from ingest.annotate.names import is_org
from ingest.annotate.quotes import Quote, find_quotes


@dataclass(frozen=True)
class Notes:
    quotes: list[Quote]
    entities: list[str]  # names as first written, one per entity key
    aliases: dict[str, str]  # ticker: the name it stands beside ("9988.HK": "Alibaba")


def annotate(title: str, text: str) -> Notes:
    """Quotes with their speakers, and the names; a speaker the article names in
    short ("Halvorsen said") is the organisation it named in full ("Halvorsen Chemicals")."""
    quotes = find_quotes(text)
    named = names_in(title, text)
    orgs = [n for n in find_entities(quotes, named) if is_org(n) and len(n.split()) > 1]
    quotes = [_in_full(quote, orgs) for quote in quotes]
    entities = [
        name
        for name in find_entities(quotes, named)
        if " " in name or not any(org.split()[0] == name for org in orgs)
    ]
    return Notes(quotes, entities, find_aliases(text))


def _in_full(quote: Quote, orgs: list[str]) -> Quote:
    if " " in quote.speaker or quote.role:
        return quote
    for org in orgs:
        if org.split()[0] == quote.speaker:
            return replace(quote, speaker=org)
    return quote
