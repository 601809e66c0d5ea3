"""A real `chroma run` server behind the server-URL setting answers like the embedded store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import NewsBot, Settings
from tests.conftest import SAMPLE_NEWS, SEED_QUESTION

QUESTIONS = [
    SEED_QUESTION,
    "Why did the Bank of Japan raise rates in January 2025?",
    "Which company agreed to buy Brightwater Coatings and for how much?",
]


@pytest.mark.slow
def test_server_store_gives_the_same_answers(
    bot: NewsBot, chroma_server: str, seed_article: Path, tmp_path: Path
) -> None:
    remote = NewsBot(Settings(data_dir=tmp_path, chroma_url=chroma_server), embedder=bot.embedder)
    report = remote.ingest([seed_article, SAMPLE_NEWS])
    assert len(report.added) == 31 and not report.failed
    assert not (tmp_path / "chroma").exists()  # nothing went to an embedded store
    assert remote.ingest([SAMPLE_NEWS]).added == []  # idempotent on the server too
    for question in QUESTIONS:
        local, served = bot.ask(question), remote.ask(question)
        assert served.text == local.text
        assert [s.article_id for s in served.sources] == [s.article_id for s in local.sources]
    assert remote.stats()["articles"] == bot.stats()["articles"] == 31
