"""A correction supersedes what it corrects: a withdrawn figure is not stated as fact.

Wires correct a story with a story of its own ("Correction: Kestrel Capital raised its
target to 23,800 from 21,000, not to 23,500 as reported by Ledger Wire on February 13").
The original stays in the store, and its sentence stating the withdrawn figure often
reads as the better answer. When a correction is among the passages read, every other
sentence stating what it withdraws is dropped from the answer's candidates; the
correction's own sentence, which names both, stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answer.sentence_features import Sentence

# "..., not (to) 23,500 as (first / originally / previously) reported ...": the phrase
# ends at a clause mark, but not at the comma or point inside a number.
_WITHDRAWN = re.compile(
    r"\bnot (?:to |at |of |by |as |in )?(?P<phrase>(?:[^,;.!?]|(?<=\d)[,.](?=\d)){1,60}?),? as "
    r"(?:first |originally |previously |earlier |wrongly |incorrectly )?(?:reported|stated)\b",
    re.IGNORECASE,
)
_CORRECTION_TITLE = re.compile(r"^\s*(?:correction|corrected|clarification)\b", re.IGNORECASE)


def withdrawn_phrases(texts: Sequence[str]) -> list[str]:
    """What the corrections among `texts` withdraw: phrases of a figure or of two words
    or more (a lone word would strike sentences that merely share it)."""
    phrases = []
    for text in texts:
        for match in _WITHDRAWN.finditer(text):
            phrase = match.group("phrase").strip()
            if re.search(r"\d", phrase) or len(phrase.split()) >= 2:
                phrases.append(phrase)
    return phrases


def is_correction(title: str, text: str) -> bool:
    return bool(_CORRECTION_TITLE.match(title) or _CORRECTION_TITLE.match(text))


def superseded(sentences: list[Sentence], corrections: dict[int, str]) -> list[Sentence]:
    """`sentences` less those that state what a correction withdraws.

    `corrections` maps the index of each correcting article to its text; a sentence of
    a correcting article is never dropped, since it says what is right.
    """
    withdrawn = withdrawn_phrases(list(corrections.values()))
    if not withdrawn:
        return sentences
    patterns = [re.compile(rf"(?<![\w,.]){re.escape(p)}(?![\w]|[,.]\d)", re.I) for p in withdrawn]
    return [
        s
        for s in sentences
        if s.article in corrections or not any(p.search(s.text) for p in patterns)
    ]
