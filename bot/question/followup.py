"""Follow-up questions without an LLM: carry the previous question's subject along."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.question.asking import ask_clause

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
                return message_text(turn.get("content"))
        elif isinstance(turn, list | tuple) and turn and isinstance(turn[0], str):
            return turn[0]
    return ""


def plain_turns(history: Sequence[Any]) -> list[dict[str, str]]:
    """A conversation as user/assistant role dicts with plain-text content: from
    `[(user, bot), ...]`, role dicts, or gradio's chat messages (objects or dicts whose
    content is a list of parts). Turns without text (a file, an image) are left out."""
    turns: list[dict[str, str]] = []
    for turn in history or []:
        if isinstance(turn, list | tuple) and len(turn) == 2:
            turns += [
                {"role": "user", "content": str(turn[0] or "")},
                {"role": "assistant", "content": str(turn[1] or "")},
            ]
            continue
        if isinstance(turn, Mapping):
            role, content = turn.get("role"), turn.get("content")
        else:
            role, content = getattr(turn, "role", None), getattr(turn, "content", None)
        if role in ("user", "assistant"):
            turns.append({"role": str(role), "content": message_text(content)})
    return [t for t in turns if t["content"]]


def message_text(content: Any) -> str:
    """Message content as text: a string, or gradio 6's parts (only `text` parts count)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, Sequence):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def search_query(question: str, history: Sequence[Any]) -> str:
    """ "And why did they do it?" is searched together with the question before it."""
    previous = last_user_question(history)
    if not previous:
        return question
    if _REFERS_BACK.search(question) or len(question.split()) <= _SHORT:
        return f"{previous} {question}"
    return question


def reading_query(question: str, query: str) -> str:
    """What the cross-encoder reads beside each sentence: the question's asking clause,
    after the earlier question a follow-up was searched with.

    Quiz-style questions set a scene first ("Carnival closed this week. Mardi Gras is
    French for what?"); read whole, the scene pulls the reranker toward sentences about
    it. Reading the asking clause alone found the answer sentence first for 0.561 of 305
    DEV questions instead of 0.534 (two-fold fits, `rerank` as the only model feature
    changed). A follow-up keeps its earlier question: "And why?" alone asks nothing.
    """
    if not query.endswith(question):  # rewritten by a language model: read as written
        return query
    earlier = query[: len(query) - len(question)]
    return f"{earlier}{ask_clause(question)}".strip()
