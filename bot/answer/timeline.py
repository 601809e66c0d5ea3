"""How a story moved: one dated, cited line per article, oldest first.

"How have Hang Seng targets changed?" wants each report's figure in order, not the best
sentence. Each dated article gives its sentence that holds a figure and the subject's
words (the title may supply some: "Kestrel raises Hang Seng target" above "raised its
target to 25,000"); reports of one day from different publishers stand side by side,
so that where they disagree the reader sees both.
"""

from __future__ import annotations

import re
from itertools import groupby

from bot.answer.extractive import Drafted, cite, group_by_article, readable, sources_of
from bot.question.words import terms
from bot.retrieval.retriever import Passage
from ingest.sentences import split_sentences

_CHANGED = re.compile(
    r"^\s*how\s+(?:have|has|did|do)\s+(?P<topic>.+?)\s+(?:changed|moved|evolved|shifted|"
    r"developed|changed over time)\b.*$|^\s*(?:timeline|history)\s+of\s+(?P<listed>.+?)\s*\??$",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"\d")
_MIN_ENTRIES = 2


def timeline_question(question: str) -> str | None:
    """The subject of a how-has-it-changed question ("Hang Seng targets"), else None."""
    match = _CHANGED.match(question)
    if not match:
        return None
    return (match.group("topic") or match.group("listed") or "").strip() or None


def draft_timeline(topic: str, passages: list[Passage]) -> Drafted | None:
    """The dated lines, or None when fewer than two dated articles report the subject."""
    wanted = set(terms(topic))
    articles = group_by_article(passages)
    entries: list[tuple[str, int, str]] = []  # (published, article index, sentence)
    for index, group in enumerate(articles):
        meta = group[0].hit.metadata
        published = str(meta.get("published") or "")
        if not published or not wanted:
            continue
        title = set(terms(str(meta.get("title") or "")))
        sentence = _reporting(wanted, title, [p.hit.text for p in group])
        if sentence:
            entries.append((published, index, sentence))
    if len(entries) < _MIN_ENTRIES:
        return None
    entries.sort()
    cited: dict[int, list[str]] = {}
    lines = []
    for published, day in groupby(entries, key=lambda entry: entry[0]):
        reports = []
        same_day = list(day)
        for _, index, sentence in same_day:
            n = cite(cited, index, sentence)
            publisher = str(articles[index][0].hit.metadata.get("source") or "")
            label = f"{publisher}: " if len(same_day) > 1 and publisher else ""
            reports.append(f"{label}{sentence} [{n}]")
        lines.append(f"- {readable(published)}: " + " | ".join(reports))
    text = "\n".join(lines)
    return Drafted(text, [text], sources_of(articles, cited), abstained=False, evidence=1.0)


def _reporting(wanted: set[str], title: set[str], texts: list[str]) -> str:
    """The article's first sentence with a figure and the subject: every subject word in
    it or the title, and at least one in the sentence itself."""
    for text in texts:
        for sentence in split_sentences(text):
            words = set(terms(sentence))
            if _FIGURE.search(sentence) and wanted & words and wanted <= words | title:
                return sentence
    return ""
