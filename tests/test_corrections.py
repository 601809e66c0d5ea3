"""A correction supersedes what it corrects: its withdrawn figure is not quoted as fact."""

from __future__ import annotations

import re

import pytest

from bot import NewsBot
from bot.answer.corrections import withdrawn_phrases
from tests.conftest import sharing_models


def answer_sentences(text: str) -> list[str]:
    plain = re.sub(r"\s*\[\d+\]", "", text)
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", plain) if s.strip()]


def test_corrections_name_what_they_withdraw() -> None:
    assert withdrawn_phrases(
        [
            "Kestrel raised its target to 23,800 from 21,000, not to 23,500 as reported on Feb 13.",
            "The firm earned $4.5 billion, not $5.4 billion as previously reported.",
            "He is not, as reported, the chief.",  # nothing named: nothing withdrawn
            "Shares rose, not as much as reported.",  # one plain word: too loose to strike
        ]
    ) == ["23,500", "$5.4 billion"]


@pytest.mark.parametrize("reader", ["rerank", "none"])
def test_the_withdrawn_figure_is_not_stated_as_fact(sample_bot: NewsBot, reader: str) -> None:
    """The sample news reports Kestrel's new target as 23,500, then corrects it to 23,800;
    before, the answer quoted the 23,500 story as fact."""
    settings = sample_bot.settings.replace(reader=reader)
    other = sharing_models(sample_bot, settings, store=sample_bot.store)
    answer = other.ask("What is Kestrel Capital's new Hang Seng target?")
    assert not answer.abstained, answer.text
    assert "23,800" in answer.text, answer.text
    for sentence in answer_sentences(answer.text):
        if "23,500" in sentence:
            assert "not to 23,500" in sentence, answer.text
