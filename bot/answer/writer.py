"""The `Writer` interface: how the extractive draft becomes the answer a user reads.

The draft (sentences picked and cited by `extractive.py`) is always made first; a writer
then either streams it as it is (`QuotingWriter`, the default) or has a language model
write from its sources (`llm.ChatModelWriter`). Writers are chosen by the `llm` setting,
or handed to `NewsBot(writer=...)`.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot.answer.extractive import Drafted

# What a writer yields (text as it is written) and returns (the checked draft).
Written = Generator[str, None, Drafted]


class Writer(Protocol):
    def write(self, question: str, drafted: Drafted) -> Written:
        """Stream the answer's text, then return the final draft (text and quotes)."""
        ...

    def standalone(self, question: str, history: Sequence[Any]) -> str | None:
        """A follow-up rewritten to stand alone, or None to search with its own words."""
        ...


class QuotingWriter:
    """The extractive answer as drafted: the sources' own sentences, cited.

    `why_not_a_model`: set when a language model was asked for but cannot be used; each
    answer then says so, so that a misconfiguration is never silent."""

    def __init__(self, why_not_a_model: str = "") -> None:
        self.why_not_a_model = why_not_a_model

    def write(self, question: str, drafted: Drafted) -> Written:
        if self.why_not_a_model and drafted.sources:
            drafted = fallback(drafted, self.why_not_a_model)
        yield from drafted.pieces
        return drafted

    def standalone(self, question: str, history: Sequence[Any]) -> str | None:
        return None


def fallback(drafted: Drafted, why: str) -> Drafted:
    """The extractive draft, with a line saying why it is shown instead of the model's."""
    note = f"\n\n(Extractive answer: {why}.)"
    return replace(drafted, text=drafted.text + note, pieces=[*drafted.pieces, note])
