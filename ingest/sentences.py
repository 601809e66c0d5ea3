"""Sentence splitting tuned for news: numbers, tickers and abbreviations stay whole.

Chunks and extractive answers are both built from these sentences, so a split in the
middle of "23,477.9" or "U.S." would show up as a broken answer.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "ltd", "co", "corp", "plc",
    "no", "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "gov", "sen", "rep", "gen", "col", "lt", "sgt", "fig", "approx",
    "est", "dept", "univ", "mt", "ft", "op", "ed", "eg", "ie", "al",
}  # fmt: skip

# A candidate boundary: end punctuation, optional closing quote/bracket, whitespace,
# then something that can start a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])([\"”’')\]]*)\s+(?=[\"“‘'(\[]?[A-Z0-9])")
_INITIAL = re.compile(r"(?:^|\s)(?:[A-Z]\.)+$")


def _ends_with_abbreviation(text: str) -> bool:
    if _INITIAL.search(text):
        return True
    last = text.rsplit(None, 1)[-1] if text.strip() else ""
    word = last.rstrip(".").lstrip("(\"“'").lower()
    return word in _ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split into sentences; paragraphs (blank or single newlines) always end one."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            end = match.end(1)
            candidate = paragraph[start:end]
            if _ends_with_abbreviation(candidate):
                continue
            sentences.append(candidate.strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences
