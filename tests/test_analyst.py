"""What analysts ask beyond a search box: who said what, filters by company, how a story
moved, what moved the market. Oracles are read off the seed article and the sample news
by hand, not from the code under test."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from bench.quotes import GOLD, sample_articles, score
from bot import NewsBot
from bot.cli import main
from bot.question.time_phrases import latest_instead
from ingest.annotate.article import annotate
from tests.conftest import SAMPLE_NEWS

MARKER = re.compile(r"\[(\d+)\]")


def sample_titles_naming(name: str) -> set[str]:
    """The titles of the sample articles that name `name`, read from the file itself."""
    articles = map(json.loads, SAMPLE_NEWS.read_text(encoding="utf-8").splitlines())
    return {a["title"] for a in articles if name in a["title"] + a["text"]}


def test_the_seed_articles_speakers_with_role_and_employer(seed_article: Path) -> None:
    quotes = annotate("", seed_article.read_text(encoding="utf-8")).quotes
    found = {(q.speaker, q.role, q.org) for q in quotes}
    # By hand from the article: each attributed statement's speaker, title and firm.
    assert ("James Cook", "investment director of emerging markets", "Federated Hermes") in found
    assert ("Kinger Lau", "Chief China Equity Strategist", "Goldman Sachs Research") in found
    assert ("Andrew Leung Kwan-yuen", "President", "Legislative Council") in found
    speakers = {q.speaker for q in quotes}
    assert {"Huatai Securities", "Goldman Sachs", "Institute of International Finance"} <= speakers
    # "Cook explained" and "Lau said" are the people named in full earlier.
    assert "Cook" not in speakers and "Lau" not in speakers


def test_who_said_a_claim_names_the_speaker(bot: NewsBot) -> None:
    answer = bot.ask("Who said the rally makes sense?")
    assert answer.text.startswith("Kinger Lau"), answer.text
    assert "Goldman Sachs" in answer.text and "rally makes sense" in answer.text
    cited = answer.cited_sources
    assert len(cited) == 1 and "Lau said he believed that the rally makes sense" in cited[0].text


def test_what_a_firm_said_about_a_subject_gives_its_peoples_quotes(bot: NewsBot) -> None:
    answer = bot.ask("What did Federated Hermes say about DeepSeek?")
    assert "James Cook" in answer.text and "investment director" in answer.text
    assert "The primary driver has been DeepSeek’s advancements in AI" in answer.text
    assert "Kinger Lau" not in answer.text  # Goldman's strategist is not Federated Hermes
    assert MARKER.search(answer.text) and not answer.abstained


def test_a_quote_is_dated_when_its_article_is(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What did Kestrel Capital say about Hong Kong stocks?")
    assert "Nadia Okafor" in answer.text and "10 Jan 2025" in answer.text
    assert "cheap is not a catalyst" in answer.text


@pytest.mark.parametrize("company", ["Alibaba", "Alibaba Group", "9988.HK"])
def test_a_company_filter_knows_its_names_and_ticker(sample_bot: NewsBot, company: str) -> None:
    answer = sample_bot.ask("How much will be invested in AI infrastructure?", entities=[company])
    assert "380 billion yuan" in answer.text, answer.text
    # Every source is an article naming Alibaba (the sample news alone: no seed here).
    naming = sample_titles_naming("Alibaba")
    assert answer.sources
    assert all(s.title in naming for s in answer.sources)


def test_a_filter_on_a_company_the_news_never_names_says_so(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("Why did shares jump?", entities=["Nowhere Dynamics"])
    assert answer.abstained and "Nowhere Dynamics" in answer.text and not answer.sources


def test_how_targets_changed_is_a_dated_list_oldest_first(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("How have Hang Seng targets changed?")
    lines = answer.text.splitlines()
    days = [line.split(":", 1)[0] for line in lines]
    assert days[:5] == ["- 10 Jan 2025", "- 7 Feb 2025", "- 13 Feb 2025", "- 14 Feb 2025",
                        "- 21 Feb 2025"]  # fmt: skip
    # Two brokers on one day disagree: both on that day's line, each with its publisher.
    same_day = lines[1]
    assert "20,500" in same_day and "23,000" in same_day and " | " in same_day
    assert "Harbour Markets Daily:" in same_day and "Pacific Finance Review:" in same_day
    assert "23,800" in lines[3] and "24,000 from 19,400" in lines[4]
    by_n = {s.n: s for s in answer.sources}
    for line in lines:  # every figure verbatim from the article it cites
        for n in MARKER.findall(line):
            assert by_n[int(n)].quote and by_n[int(n)].quote in line


def test_brief_puts_the_story_three_publishers_carried_first(sample_bot: NewsBot) -> None:
    brief = sample_bot.brief(since="2025-02-18", until="2025-02-24")
    first = brief.text.splitlines()[0]
    assert "380 billion yuan" in first and "(3 publishers)" in first
    cited = [s for s in brief.sources if f"[{s.n}]" in first]
    publishers = {s.publisher for s in cited}
    assert publishers == {"Harbour Markets Daily", "Pacific Finance Review",
                          "Continental Business Post"}  # fmt: skip
    # One line per story: the copies are not repeated further down.
    assert sum("380 billion yuan" in line for line in brief.text.splitlines()) == 1
    assert all(s.published and "2025-02-18" <= s.published.isoformat() <= "2025-02-24"
               for s in brief.sources)  # fmt: skip


def test_what_moved_markets_this_week_is_the_brief(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What moved markets this week?", as_of="2025-02-24")
    assert answer.text.splitlines()[0].endswith("[1][2][3]"), answer.text


def test_cli_brief_and_entity_flags(bot: NewsBot, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = str(bot.settings.data_dir)
    flags = ["--since", "2025-02-18", "--until", "2025-02-24"]
    assert main(["--data-dir", data_dir, "brief", "--json", *flags, "--entity", "9988.HK"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "(3 publishers)" in data["answer"]
    assert {s["title"] for s in data["sources"]} <= sample_titles_naming("Alibaba")
    question = "What did Kestrel Capital say about Hong Kong stocks?"
    assert main(["--data-dir", data_dir, "ask", "--entity", "Kestrel Capital", question]) == 0
    assert "Nadia Okafor" in capsys.readouterr().out
    assert main(["--data-dir", data_dir, "ask", "Who said the rally makes sense?"]) == 0
    assert capsys.readouterr().out.startswith("Kinger Lau")
    assert main(["--data-dir", data_dir, "ask", "How have Hang Seng targets changed?"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("10 Jan 2025") < printed.index("21 Feb 2025")


def test_quote_attribution_against_hand_labels(seed_article: Path) -> None:
    """Every statement the sample news and the seed attribute to a named speaker, as
    labelled by reading them (`bench/quotes_gold.jsonl`)."""
    gold_lines = GOLD.read_text(encoding="utf-8").splitlines()
    result = score(sample_articles(seed_article), [json.loads(line) for line in gold_lines])
    assert result.labelled >= 60
    assert result.precision >= 0.9 and result.recall >= 0.9, result


def test_a_firm_the_news_names_but_never_quotes_on_a_subject_is_said_so(
    sample_bot: NewsBot,
) -> None:
    """Morgan Stanley lifts a target in the sample news but is quoted nowhere: its action
    is offered, after saying that no statement of its is stored."""
    answer = sample_bot.ask("What did Morgan Stanley say about Hang Seng?")
    expected = "I found no statement by Morgan Stanley about Hang Seng in the ingested news."
    assert answer.text.startswith(expected), answer.text
    assert "24,000" in answer.text and answer.abstained
    assert answer.cited_sources
    assert {s.title for s in answer.cited_sources} <= sample_titles_naming("Morgan Stanley")


def test_what_a_crowd_said_is_an_ordinary_answer(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask("What did analysts say about copper?")
    assert "no statement" not in answer.text, answer.text


def test_filters_that_leave_no_news_are_named(sample_bot: NewsBot) -> None:
    answer = sample_bot.ask(
        "Who raised Hang Seng targets?", since="2025-01-01", publishers=["Reuters"]
    )
    assert answer.text == "No news from Reuters since 2025-01-01 is stored." and answer.abstained


def test_this_week_counts_from_the_newest_news_when_the_news_ends_before_it() -> None:
    today, newest = date(2026, 12, 5), date(2025, 3, 6)
    assert latest_instead("What moved markets this week?", today, newest) == (
        newest,
        "No news is stored for this week (28 Nov–5 Dec 2026); "
        "the latest news is from 27 Feb–6 Mar 2025:",
    )
    # "Yesterday" of the newest news would be the day before it: the span moves whole.
    assert latest_instead("What happened yesterday?", today, newest) == (
        date(2025, 3, 7),
        "No news is stored for yesterday (4 Dec 2026); the latest news is from 6 Mar 2025:",
    )
    assert latest_instead("What moved markets this week?", today, date(2026, 12, 1)) is None
    assert latest_instead("What moved markets in March 2025?", today, newest) is None
    assert latest_instead("Who raised Hang Seng targets?", today, newest) is None


def test_an_ordinary_question_this_week_answers_for_the_latest_week(
    sample_bot: NewsBot,
) -> None:
    answer = sample_bot.ask("What happened to gold this week?")
    first, _, rest = answer.text.partition("\n")
    assert first.startswith("No news is stored for this week"), answer.text
    assert "6 Mar 2025" in first and "$2,947" in rest  # the newest gold story's record


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("As of 2026-12-05: What moved markets this week?", {}),
        ("What moved markets this week?", {"as_of": "2026-12-05"}),
        ("What moved markets this week?", {"until": "2026-12-05"}),
        ("What moved markets this week?", {"since": "2026-11-28"}),
    ],
)
def test_dates_the_user_gives_are_not_moved(
    sample_bot: NewsBot, question: str, options: dict[str, str]
) -> None:
    answer = sample_bot.ask(question, **options)
    assert answer.text.startswith("No news was published between"), answer.text
