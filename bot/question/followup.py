"""Follow-up questions without an LLM: carry the previous question's subject along.

A follow-up is known by what it lacks, a subject of its own, not by its length: "And
why?" or "What did they say next?" is searched with the question before it, "What did
Zephyrine pay?" alone, however short. Measured on the chat cases in
tests/test_followup.py (33 follow-ups, 40 standalone questions of six words or fewer):

| rule                                     | follow-ups missed | standalone glued |
|------------------------------------------|-------------------|------------------|
| six words or fewer, or any pronoun (old) | 0 of 33           | 40 of 40         |
| no subject of its own (this module)      | 7 of 33           | 1 of 40          |
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.question.asking import ask_clause
from bot.question.words import STOPWORDS, terms
from ingest.annotate.names import INDEX, KNOWN_ORGS, NAME, TICKER, clean_name

# Asks the previous question again about something else: "What about Citi?", "And the
# ECB?", "Did UBS do the same?", "Who else?", "Nomura too?". It may name a company and
# still has no predicate of its own.
_CONTINUES = re.compile(
    r"^(?:(?:and|but|so)\s+)?(?:what|how)\s+about\b"
    r"|^(?:and|or)\s+(?!(?:why|how|what|when|who|whom|whose|where|which|did|does|do|is|are"
    r"|was|were|will|would|can|could|should|has|have|had)\b)"
    r"|\b(?:the same|else)\b|\b(?:too|as well)\W*$",
    re.IGNORECASE,
)
# A subject that points back at the conversation; "this week" points at a date instead.
_REFERS_BACK = re.compile(
    r"\b(?:they|them|their|theirs|it|its|he|him|his|she|her|hers|other|others"
    r"|(?:this|that|these|those)\b(?!\s+(?:week|month|year|quarter|morning|day|days)\b)"
    r"|the (?:company|companies|bank|banks|firm|firms|index|stock|move|decision)\b)",
    re.IGNORECASE,
)
# Names a chat may type in lower case: "did the fed cut?", "hang seng targets".
_INDEX_ANY_CASE = re.compile(INDEX.pattern, re.IGNORECASE)
_KNOWN_ORG = re.compile(
    r"\b(?:" + "|".join(re.escape(org.strip()) for org in KNOWN_ORGS) + r")\b", re.IGNORECASE
)
# "don't", "isn't" without the apostrophe.
_NEGATED = frozenset(
    "don doesn didn isn aren wasn weren won hasn haven couldn wouldn shouldn".split()  # noqa: SIM905
)
# A sentence's first word is capitalised for being first: "Did", "Tell", "What's".
_OPENERS = STOPWORDS | _NEGATED | {"tell", "name", "list", "give", "explain", "describe", "show"}
# Words that ask about whatever was just said: "What happens next?", "Tell me more."
_SAYS_NOTHING = _NEGATED | frozenset(
    terms(
        """happen happens happened mean means meant tell explain elaborate detail details
        reason reasons example examples next else exactly really true sure since long soon"""
    )
)


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
    if previous and follows_on(question):
        return f"{previous} {question}"
    return question


def follows_on(question: str) -> bool:
    """Whether a question leans on the one before: it continues it ("What about Citi?"),
    or names nothing of its own and either refers back ("Why did they do it?") or has
    no content word at all ("And why?"). "Why did oil fall?" has a subject: oil."""
    if _CONTINUES.search(question.strip()):
        return True
    if _names_something(question):
        return False
    content = terms(re.sub(r"['’]", " ", question))
    return bool(_REFERS_BACK.search(question)) or all(t in _SAYS_NOTHING for t in content)


def _names_something(question: str) -> bool:
    """A company, index, person or ticker of its own, in any case for the well known."""
    if TICKER.search(question) or _INDEX_ANY_CASE.search(question):
        return True
    if _KNOWN_ORG.search(question):
        return True
    for sentence in re.split(r"(?<=[.!?])\s+", question.strip()):
        first, _, rest = sentence.partition(" ")
        if re.sub(r"['’].*", "", first.lower()) in _OPENERS:
            sentence = rest
        if any(clean_name(name) for name in NAME.findall(sentence)):
            return True
    return False


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
