"""The sentence of a question that asks, apart from any scene it sets first."""

from __future__ import annotations

import re


def ask_clause(question: str) -> str:
    """The sentence of a question that asks; quiz questions often set a scene first.

    "Carnival season closed this week with parades. Mardi Gras is French for what?":
    sentences about the parades match the scene, the answer matches the ask."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", question.strip()) if p]
    asking = [p for p in parts if p.endswith("?")]
    return (asking or parts or [question])[-1]


_WH = re.compile(r"\b(who|whom|what|which|where|when|why|how)\b", re.IGNORECASE)
# "Which banks ...", "what companies ...": a plural asked for, several answers.
_PLURAL_ASK = re.compile(r"\b(?:which|what)\s+(?!\w*ss\b)[a-z]{3,}s\b(?!\s+(?:is|was|has)\b)", re.I)
_NOT_PLURAL = frozenset({"was", "is", "does", "has", "this", "its", "news", "analysis"})


def asks_for_more(question: str) -> bool:
    """Whether the question asks for more than one thing: two question words ("who
    raised the targets, and why?") or a plural ("which banks ..."). One sentence rarely
    answers such a question whole."""
    clause = ask_clause(question)
    if len(_WH.findall(clause)) >= 2:
        return True
    plural = _PLURAL_ASK.search(clause)
    return plural is not None and plural.group(0).split()[-1].lower() not in _NOT_PLURAL
