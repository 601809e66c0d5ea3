"""Answers about who said what: the quotes stored with each chunk at ingest
(`ingest.annotate`), with speaker, role, employer and date, each cited.

"What did Federated Hermes say about DeepSeek?" gives that firm's people's quotes on
DeepSeek; "Who said the rally makes sense?" names the speaker of the quote that says so.
A named speaker with no quote on the subject gets that said first (`no_statement`), so
that what is offered instead is never read as their words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.answer.entities import question_names
from bot.answer.extractive import Drafted, cite, group_by_article, readable, sources_of
from bot.question.words import terms
from bot.retrieval.retriever import Passage
from ingest.annotate.names import entity_key
from ingest.index.store import QUOTES

_WHAT_SAID = re.compile(
    r"^\s*what\s+(?:did|does|do|has|have|had)\s+(?P<speaker>.+?)\s+"
    r"(?:say|said|think|thought|tell|told|comment|write|wrote|warn|warned)"
    r"(?:\s+(?:about|on|of|regarding|concerning)\s+(?P<about>.+?))?\s*\??\s*$",
    re.IGNORECASE,
)
_WHO_SAID = re.compile(
    r"^\s*who\s+(?:said|says|told|argued|warned|predicted|thinks|believes|claimed|called)"
    r"\s+(?:that\s+)?(?P<about>.+?)\s*\??\s*$",
    re.IGNORECASE,
)
_MAX_QUOTES = 3
# Who said a claim: the quote must hold this share of the claim's words.
_CLAIM_COVERAGE = 0.6


@dataclass(frozen=True)
class QuoteQuestion:
    speaker: str  # whose words are asked for; "" when the question asks who spoke
    about: str  # the subject ("DeepSeek") or the claim ("the rally makes sense")


def quote_question(question: str) -> QuoteQuestion | None:
    """The speaker and subject of a who-said-what question, or None for any other."""
    match = _WHAT_SAID.match(question)
    if match:
        return QuoteQuestion(match.group("speaker").strip(), (match.group("about") or "").strip())
    match = _WHO_SAID.match(question)
    if match:
        return QuoteQuestion("", match.group("about").strip())
    return None


def names_a_speaker(asked: QuoteQuestion) -> bool:
    """Whether the question names whose words it wants ("Federated Hermes", "Powell")
    rather than a crowd ("analysts"): only a name can be said to have said nothing."""
    return bool(asked.speaker and question_names(asked.speaker))


def no_statement(asked: QuoteQuestion, mentioned: bool) -> str:
    """What the bot says first when a named speaker has no quote on the subject."""
    if not mentioned:
        return (
            f"I found no statement by {asked.speaker} in the ingested news; "
            f"no article mentions {asked.speaker}."
        )
    about = f" about {asked.about}" if asked.about else ""
    return f"I found no statement by {asked.speaker}{about} in the ingested news."


def draft_quotes(asked: QuoteQuestion, passages: list[Passage]) -> Drafted | None:
    """The matching quotes, best first, each with who said it and when; None when the
    passages hold none (the ordinary answer then has its turn)."""
    if not asked.speaker:
        return _draft(passages, asked.about, _CLAIM_COVERAGE, 1)
    return _draft(passages, asked.about, 1e-9 if asked.about else 0.0, _MAX_QUOTES, asked.speaker)


def statements_about(about: str, passages: list[Passage]) -> Drafted | None:
    """Anyone's quotes that name the subject, best first: what the news has instead of
    the quotes of a speaker it never quotes."""
    return _draft(passages, about, 1e-9, _MAX_QUOTES) if terms(about) else None


def _draft(
    passages: list[Passage], subject: str, needed: float, limit: int, speaker: str = ""
) -> Drafted | None:
    """The `limit` quotes (of `speaker`'s, when given) that hold the largest share of
    the subject's words, at least `needed` of them."""
    articles = group_by_article(passages)
    about = set(terms(subject))
    found: list[tuple[float, int, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for index, group in enumerate(articles):
        for passage in group:
            for quote in _stored(passage):
                key = (quote["speaker"], quote["words"])
                if key in seen or (speaker and not _by(speaker, quote)):
                    continue
                seen.add(key)
                said = set(terms(f"{quote['words']} {quote['sentence']}"))
                coverage = len(about & said) / len(about) if about else 1.0
                found.append((coverage, index, quote))
    found = [item for item in found if item[0] >= needed]
    if not found:
        return None
    found.sort(key=lambda item: (-item[0], item[1]))
    chosen = found[:limit]
    cited: dict[int, list[str]] = {}
    pieces = []
    for _, index, quote in chosen:
        published = articles[index][0].hit.metadata.get("published")
        n = cite(cited, index, quote["sentence"])
        pieces.append(f"{_line(quote, str(published) if published else '')} [{n}]")
    text = "\n".join(f"- {piece}" for piece in pieces) if len(pieces) > 1 else pieces[0]
    return Drafted(text, [text], sources_of(articles, cited), abstained=False, evidence=1.0)


def _stored(passage: Passage) -> list[dict[str, Any]]:
    """The passage's quotes, their sentence and words read back from its text."""
    raw = passage.hit.metadata.get(QUOTES)
    if not isinstance(raw, str) or not raw:
        return []
    text = passage.hit.text
    quotes = []
    for quote in json.loads(raw):
        start, end = quote["at"]
        sentence = text[start:end]
        words = quote.get("words") or text[slice(*quote.get("w", (start, end)))]
        quotes.append({"role": "", "org": "", **quote, "sentence": sentence, "words": words})
    return quotes


def _by(speaker: str, quote: dict[str, Any]) -> bool:
    """Whether a quote is `speaker`'s: the person, by full name or surname, or their
    employer ("Federated Hermes" for James Cook's words)."""
    asked = entity_key(speaker).split()
    for name in (quote["speaker"], quote["org"]):
        words = entity_key(name).split() if name else []
        if words and (asked == words or (len(asked) < len(words) and _within(asked, words))):
            return True
    return False


def _within(part: list[str], words: list[str]) -> bool:
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


def _line(quote: dict[str, Any], published: str) -> str:
    """ "James Cook, investment director at Federated Hermes, on 21 Feb 2025: “…”" """
    title = " at ".join(part for part in (quote["role"], quote["org"]) if part)
    who = ", ".join(part for part in (quote["speaker"], title) if part)
    when = f" on {readable(published)}" if published else ""
    words = quote["words"]
    if words in quote["sentence"] and not re.search(r"[“\"]", quote["sentence"]):
        return f"{who}{',' if title else ''}{when} said {words}."  # reported, as written
    return f"{who}{when}: “{words}”"
