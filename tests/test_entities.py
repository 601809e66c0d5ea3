"""Names a question asks about, and whether the news at hand mentions them."""

from __future__ import annotations

import pytest

from bot.answer.entities import missing_names, nothing_about, question_names
from bot.eval.metrics import first_sentence
from ingest.annotate.names import is_org


def test_names_are_found_as_written_and_question_words_are_not_names() -> None:
    assert question_names("What did Apple report for iPhone sales?") == ["Apple", "iPhone"]
    assert question_names("Who raised Hang Seng targets and why?") == ["Hang Seng"]
    assert question_names("What did the Bank of Japan do with rates?") == ["Bank of Japan"]
    assert question_names("How did 9988.HK shares move on Friday?") == ["9988.HK"]
    assert question_names("Who said the rally makes sense?") == []


def test_a_name_counts_as_mentioned_in_any_case_and_word_order_of_the_text() -> None:
    texts = ["Shares of ALIBABA jumped.", "The hang seng index rose."]
    assert missing_names(["Alibaba", "Hang Seng", "Tencent"], texts) == ["Tencent"]
    assert missing_names([], texts) == []


def test_the_not_found_message_lists_every_name() -> None:
    assert nothing_about(["Apple"]) == "I found nothing about Apple in the ingested news."
    assert nothing_about(["A", "B", "C"]) == "I found nothing about A, B or C in the ingested news."


def test_first_sentence_is_the_text_before_the_first_marker() -> None:
    assert first_sentence("Gold rose. [1] Oil fell. [2]") == "Gold rose."
    assert first_sentence("No markers here") == "No markers here"


@pytest.mark.parametrize("firm", ["HSBC", "Jefferies", "Morningstar", "CICC", "OPEC", "Barclays"])
def test_a_firm_known_by_a_bare_name_is_an_organisation(firm: str) -> None:
    """Every firm of the list counts, the ones at a line's end or start included."""
    assert is_org(firm)
    assert not is_org("Andrew Leung")
