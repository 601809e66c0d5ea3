"""Follow-up questions without an LLM: carry the previous question's subject along."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_REFERS_BACK = re.compile(
    r"\b(they|them|their|it|its|he|she|his|her|this|that|these|those|there|"
    r"the (?:company|bank|firm|index|stock|move|decision))\b",
    re.IGNORECASE,
)
_SHORT = 6


def last_user_question(history: Sequence[Any]) -> str:
    """The latest user turn in `[(user, bot), ...]` or `[{"role", "content"}, ...]`."""
    for turn in reversed(history):
        if isinstance(turn, dict):
            if turn.get("role") == "user":
                return _plain(turn.get("content"))
        elif isinstance(turn, list | tuple) and turn and isinstance(turn[0], str):
            return turn[0]
    return ""


def plain_turns(history: Sequence[Any]) -> list[dict[str, str]]:
    """`[(user, bot), ...]` or role dicts as role dicts with plain-text content."""
    turns: list[dict[str, str]] = []
    for turn in history:
        if isinstance(turn, dict) and turn.get("role") in ("user", "assistant"):
            turns.append({"role": str(turn["role"]), "content": _plain(turn.get("content"))})
        elif isinstance(turn, list | tuple) and len(turn) == 2:
            turns += [
                {"role": "user", "content": str(turn[0] or "")},
                {"role": "assistant", "content": str(turn[1] or "")},
            ]
    return [t for t in turns if t["content"]]


def _plain(content: Any) -> str:
    """Message content as text: a string, or Gradio 6's list of `{"type": "text"}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        ).strip()
    return ""


def search_query(question: str, history: Sequence[Any]) -> str:
    """ "And why did they do it?" is searched together with the question before it."""
    previous = last_user_question(history)
    if not previous:
        return question
    if _REFERS_BACK.search(question) or len(question.split()) <= _SHORT:
        return f"{previous} {question}"
    return question
