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
