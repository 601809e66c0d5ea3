"""Answers a user would check: the right facts, cited, dated, filtered, or honestly none."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import Answer, NewsBot, Settings, Turn, tuning
from bot.answer.extractive import Drafted
from bot.answer.writer import Written
from bot.retrieval import retriever
from tests.conftest import SAMPLE_ARTICLES, SAMPLE_NEWS, SEED_QUESTION, sharing_models

MARKER = re.compile(r"\[(\d+)\]")


def cited_numbers(answer: Answer) -> set[int]:
    return {int(n) for n in MARKER.findall(answer.text)}


def test_seed_question_names_both_banks_targets_and_reason(bot: NewsBot) -> None:
    answer = bot.ask(SEED_QUESTION)
    for fact in ("Morgan Stanley", "Citi", "24,000", "19,400", "24,500", "tech rally"):
        assert fact in answer.text, (fact, answer.text)
    assert not answer.abstained
    # A sentence that answers comes first, not the index close: the sample news has
    # several brokers raising their targets (Morgan Stanley and Citi, Kestrel Capital).
    first = MARKER.split(answer.text, maxsplit=1)[0]
    assert re.search(r"\b(?:raised|lifted)\b.*\btarget\b", first), first
    assert any(broker in first for broker in ("Morgan Stanley", "Kestrel", "Harrow")), first
    numbers = cited_numbers(answer)
    assert numbers
    by_n = {s.n: s for s in answer.sources}
    for n in numbers:
        source = by_n[n]
        assert source.cited and source.quote in answer.text.replace(f" [{n}]", "")
        assert "Hang Seng" in source.text


def test_every_marker_points_to_a_source_with_its_quote(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What happened to gold prices in October 2024?")
    by_n = {s.n: s for s in answer.sources}
    assert cited_numbers(answer) <= set(by_n)
    for source in answer.cited_sources:
        for sentence in re.split(r"(?<=[.!?])\s+", source.quote):
            assert sentence in source.text


@pytest.mark.parametrize(
    "question",
    [
        "Who raised Hang Seng targets and why?",  # sentences from several articles
        "How have Hang Seng targets changed?",  # a dated timeline
        "What did Kestrel Capital say about Hang Seng?",  # quotes
    ],
)
def test_markers_run_one_two_three_in_reading_order(sample_bot: NewsBot, question: str) -> None:
    """A reader meets [1] first, then [2]: the cited sources are numbered in the order the
    answer first cites them, listed first, and the related ones follow."""
    answer = sample_bot.ask(question)
    first_seen = list(dict.fromkeys(int(n) for n in MARKER.findall(answer.text)))
    assert len(first_seen) >= 2, answer.text
    assert first_seen == list(range(1, len(first_seen) + 1)), answer.text
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    assert [s.n for s in answer.cited_sources] == first_seen


def test_answer_and_sources_convert_to_plain_dicts(sample_bot: NewsBot) -> None:
    data = sample_bot.ask(SEED_QUESTION).to_dict()
    assert set(data) >= {"question", "answer", "sources"}
    first = data["sources"][0]
    assert set(first) >= {"n", "article_id", "title", "publisher", "url", "published", "text"}
    assert set(first) >= {"quote", "score"}
    assert first["source"] == first["publisher"]  # the older name, kept for one release


def test_stream_yields_the_answer_text_then_holds_the_answer(sample_bot: NewsBot) -> None:
    stream = sample_bot.stream(SEED_QUESTION)
    pieces = list(stream)
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == stream.answer.text
    assert stream.answer.cited_sources
    assert list(stream) == []  # spent, and the answer stays
    assert stream.answer.text == "".join(pieces)


def test_reading_the_answer_first_writes_the_whole_stream(sample_bot: NewsBot) -> None:
    assert sample_bot.stream(SEED_QUESTION).answer.text == sample_bot.ask(SEED_QUESTION).text


@pytest.mark.parametrize(
    ("question", "said"),
    [
        (
            "Who scored the winning goal in the 1998 football World Cup final?",
            "I found nothing about World Cup in the ingested news.",
        ),
        # "Peru" occurs in a copper story: one shared word is not an answer.
        ("What is the capital of Peru?", "I could not find an answer"),
    ],
)
def test_unrelated_question_gets_a_plain_no_answer(
    sample_bot: NewsBot, question: str, said: str
) -> None:
    answer = sample_bot.ask(question)
    assert answer.abstained
    assert said in answer.text
    assert not cited_numbers(answer)


def test_a_company_the_news_never_mentions_is_named_as_not_found(
    bot: NewsBot, seed_article: Path
) -> None:
    """No Apple story in the sample news: another company's sales are not an answer."""
    corpus = SAMPLE_NEWS.read_text() + seed_article.read_text()
    assert "Apple" not in corpus and "iPhone" not in corpus
    answer = bot.ask("What did Apple report for iPhone sales?")
    assert answer.abstained
    assert answer.text == "I found nothing about Apple or iPhone in the ingested news."
    assert answer.sources and not answer.cited_sources  # the closest, shown as related only


def test_until_filter_excludes_newer_articles(bot: NewsBot) -> None:
    answer = bot.ask(SEED_QUESTION, until="2025-02-20")
    assert "24,500" not in answer.text
    assert all(s.published and s.published <= date(2025, 2, 20) for s in answer.sources)


def test_since_filter_keeps_only_newer_articles(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What did the central bank decide?", since="2025-02-01")
    assert answer.sources
    assert all(s.published and s.published >= date(2025, 2, 1) for s in answer.sources)


def test_as_of_prefix_hides_news_from_after_that_day(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("As of 2024-12-31: What did the Bank of Japan do with rates?")
    assert answer.as_of == date(2024, 12, 31)
    assert answer.question.startswith("What did the Bank of Japan")
    assert all(s.published is None or s.published <= date(2024, 12, 31) for s in answer.sources)
    assert "0.5%" not in answer.text  # January's hike had not happened yet


def test_time_questions_carry_the_article_date(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("When did the Bank of Japan raise rates to 0.5%?")
    assert "24 Jan 2025" in answer.text


def test_publisher_filter(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What happened to interest rates?", publishers=["Ledger Wire"])
    assert answer.sources and {s.publisher for s in answer.sources} == {"Ledger Wire"}


def test_the_old_option_names_still_work_with_a_warning(sample_bot: NewsBot) -> None:
    """`sources=`, positional options and `Source.source` were the API before 0.2."""
    question = "What happened to interest rates?"
    wanted = sample_bot.ask(question, publishers=["Ledger Wire"], until="2025-03-31")
    with pytest.warns(DeprecationWarning, match="publishers="):
        renamed = sample_bot.ask(question, sources=["Ledger Wire"], until="2025-03-31")
    with pytest.warns(DeprecationWarning, match="positional"):
        positional = sample_bot.ask(question, None, None, "2025-03-31", ["Ledger Wire"])
    assert renamed.text == positional.text == wanted.text
    with pytest.warns(DeprecationWarning, match="Source.publisher"):
        assert wanted.sources[0].source == "Ledger Wire"
    with pytest.raises(TypeError, match="both"):
        sample_bot.ask(question, sources=["A"], publishers=["B"])


def test_follow_up_uses_the_earlier_question(bot: NewsBot) -> None:
    first = bot.ask("Which banks raised their Hang Seng Index targets?")
    history: list[Turn] = [
        {"role": "user", "content": first.question},
        {"role": "assistant", "content": first.text},
    ]
    answer = bot.ask("Why did they do it?", history=history)
    assert answer.searched and "Hang Seng" in answer.searched
    assert "tech rally" in answer.text


def test_stats_describe_the_corpus(bot: NewsBot) -> None:
    stats = bot.stats()
    assert stats["articles"] == SAMPLE_ARTICLES + 1  # and the seed
    assert stats["undated_articles"] == 2  # the seed text file and the explainer
    assert stats["first_published"] < stats["last_published"]
    assert "Harbour Markets Daily" in stats["publishers"]


def test_empty_store_says_how_to_add_news(fresh_bot: NewsBot) -> None:
    answer = fresh_bot.ask(SEED_QUESTION)
    assert answer.abstained and "newsbot ingest" in answer.text


def test_early_reference_date_still_finds_the_few_older_articles(
    sample_bot: NewsBot, tmp_path: Path
) -> None:
    """Most news is newer than this date: the search must fall back, not come back empty."""
    small_chunks = sharing_models(
        sample_bot, Settings(data_dir=tmp_path, chunk_size=200, chunk_overlap=0)
    )
    small_chunks.ingest([SAMPLE_NEWS])
    assert small_chunks.store.chunk_count() > 3 * 30  # more than one wide search sees
    answer = small_chunks.ask("What did the Federal Reserve do with rates?", as_of="2024-09-19")
    dated = [s.published for s in answer.sources if s.published]
    assert dated and all(day <= date(2024, 9, 19) for day in dated)
    assert "50 basis points" in answer.text


def test_syndicated_copies_are_one_source(fresh_bot: NewsBot, tmp_path: Path) -> None:
    story = (
        "Kestrel Capital downgraded Meridian Motors to hold from buy on Thursday. "
        "The broker cut its price target to $41 from $58, citing weaker electric-vehicle "
        "demand in Europe and rising battery costs. Meridian shares fell 6% in early trade."
    )
    (tmp_path / "wire-a.md").write_text(f"# Kestrel cuts Meridian to hold\n\n{story}\n")
    (tmp_path / "wire-b.md").write_text(
        f"# Broker downgrades Meridian Motors\n\n{story} Reporting by Another Desk.\n"
    )
    report = fresh_bot.ingest([tmp_path])
    assert len(report.added) == 2  # different texts: two articles stored
    answer = fresh_bot.ask("Why did Kestrel Capital cut Meridian Motors?")
    assert "Meridian" in answer.text
    assert len(answer.sources) == 1  # one story, one source


def test_the_best_articles_bring_their_other_chunks(
    sample_bot: NewsBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer a few paragraphs below the matching chunk must reach the answerer, even
    when the first stages return only that chunk."""
    small_chunks = sharing_models(
        sample_bot, Settings(data_dir=tmp_path, chunk_size=200, chunk_overlap=0)
    )
    small_chunks.ingest([SAMPLE_NEWS])
    monkeypatch.setattr(tuning, "MIN_CANDIDATES", 1)  # one dense + one BM25 hit
    question = "What did the Federal Reserve do with rates?"
    passages = retriever.Retriever(small_chunks.store, k=1).search(
        question, sample_bot.index_embedder.encode([question])[0], retriever.Filters(), None, None
    )
    assert len({p.article_id for p in passages}) == 1
    assert len(passages) == 3  # more chunks than the two first stages returned


def test_a_question_in_an_article_is_not_its_answer(fresh_bot: NewsBot, tmp_path: Path) -> None:
    (tmp_path / "quiz.md").write_text(
        "# Weekly markets quiz\n\n"
        "How many banks raised their Hang Seng index targets this week?\n\n"
        "Two banks, Goldman Sachs and Morgan Stanley, raised their Hang Seng index targets "
        "after the stimulus package was announced.\n"
    )
    fresh_bot.ingest([tmp_path])
    answer = fresh_bot.ask("How many banks raised their Hang Seng index targets this week?")
    assert "Two banks" in answer.text and "?" not in answer.text


def test_a_stricter_evidence_setting_abstains_and_says_how_near_it_came(
    sample_bot: NewsBot,
) -> None:
    answer = sample_bot.ask(SEED_QUESTION)
    assert not answer.abstained and 0.3 <= answer.evidence <= 1.0
    strict = sharing_models(sample_bot, sample_bot.settings.replace(min_evidence=1.0))
    refused = strict.ask(SEED_QUESTION)
    assert refused.abstained and refused.evidence == pytest.approx(answer.evidence, abs=1e-4)
    assert refused.sources  # what it looked at is still shown


def test_asking_for_the_latest_prefers_the_newest_story(fresh_bot: NewsBot, tmp_path: Path) -> None:
    older = {
        "title": "Orion Bank raises its copper price forecast",
        "text": "Orion Bank raised its copper price forecast to $9,000 a tonne, citing Chinese "
        "demand for copper.",
        "published": "2024-01-10",
        "url": "https://example.com/orion-january",
    }
    newer = {
        "title": "Orion Bank lifts copper outlook again",
        "text": "Orion Bank raised its copper forecast again, to $10,500 a tonne from $9,000.",
        "published": "2024-02-28",
        "url": "https://example.com/orion-march",
    }
    (tmp_path / "orion.jsonl").write_text("\n".join(json.dumps(a) for a in (older, newer)))
    fresh_bot.ingest([tmp_path / "orion.jsonl"])
    question = "What is Orion Bank's latest copper price forecast?"
    answer = fresh_bot.ask(question, as_of="2024-03-05")
    assert answer.sources[0].published == date(2024, 2, 28)
    assert "$10,500" in answer.text.split("[")[0]  # the first sentence quoted


def test_an_empty_llm_setting_means_the_extractive_answerer(sample_bot: NewsBot) -> None:
    quoting = sharing_models(sample_bot, sample_bot.settings.replace(llm=""))
    assert quoting.ask(SEED_QUESTION).text == sample_bot.ask(SEED_QUESTION).text


class Headline:
    """A writer of our own: the draft's first sentence, in capitals."""

    def write(self, question: str, drafted: Drafted) -> Written:
        text = drafted.text.split("[")[0].strip().upper()
        yield text
        return replace(drafted, text=text, pieces=[text])

    def standalone(self, question: str, history: Sequence[Any]) -> str | None:
        return None


def test_a_bot_is_built_from_parts_handed_in(sample_bot: NewsBot, tmp_path: Path) -> None:
    """Another data dir in the settings, but the store handed in is the one answered from,
    and the writer handed in writes the answer."""
    settings = Settings(data_dir=tmp_path / "unused")
    parts = {"embedder": sample_bot.embedder, "index_embedder": sample_bot.index_embedder}
    twin = NewsBot(
        settings, store=sample_bot.store, reader=sample_bot.reader, writer=Headline(), **parts
    )
    answer = twin.ask(SEED_QUESTION)
    assert "HANG SENG" in answer.text and answer.text == answer.text.upper()
    assert answer.cited_sources
    assert twin.stats()["articles"] == sample_bot.stats()["articles"]
    assert not (tmp_path / "unused").exists()  # nothing was opened there


def test_settings_given_as_keywords_still_work_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="Settings"):
        old_style = NewsBot(data_dir=tmp_path, k=7)
    assert old_style.settings.k == 7 and old_style.settings.data_dir == tmp_path
