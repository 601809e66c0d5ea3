"""The web chat end to end: a real NewsBot, a real gradio server, the real gradio_client.

The quick tests at the bottom check the escaping and formatting helpers of `ui.render`.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio / gradio_client imports
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.newsbot import EMPTY_CORPUS, NewsBot
from bot.question.followup import plain_turns
from bot.settings import Settings
from bot.types import Answer, Source
from tests.conftest import (
    SAMPLE_NEWS,
    SEED_QUESTION,
    free_port,
    sharing_models,
    trickling_site,
)
from ui import render
from ui.examples import example_questions

QUESTION = SEED_QUESTION
MARKER = re.compile(r"\[(\d+)\]")

# gradio's queue trips pandas deprecation warnings that are none of newsbot's business.
pytestmark = [
    pytest.mark.slow,  # a running web app
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _launch(bot: NewsBot) -> Iterator[str]:
    from ui.server import start

    demo = start(bot, "127.0.0.1", free_port())
    try:
        yield str(demo.local_url)
    finally:
        demo.close()


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def server(bot: NewsBot) -> Iterator[str]:
    """The real app over the session's bot (seed article and sample news)."""
    yield from _launch(bot)


@pytest.fixture(scope="module")
def client(server: str) -> Any:
    return _client(server)


@pytest.fixture(scope="module")
def asked(client: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.predict(QUESTION, "", "", "", api_name="/ask")
    return result


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


@pytest.mark.slow
def test_ask_api_returns_a_cited_answer(asked: dict[str, Any]) -> None:
    text = asked["answer"]
    for name in ("Morgan Stanley", "Citibank", "24,000", "24,500"):
        assert name in text
    assert asked["question"] == QUESTION
    assert not asked["abstained"]
    cited = {source["n"] for source in asked["sources"] if source["cited"]}
    markers = {int(n) for n in MARKER.findall(text)}
    assert markers, text
    assert markers <= cited, (markers, cited)
    for source in asked["sources"]:
        assert {"title", "source", "url", "published", "quote", "text"} <= source.keys()


@pytest.mark.slow
def test_ask_api_keyword_arguments_and_bad_dates(client: Any) -> None:
    from gradio_client.exceptions import AppError

    result = client.predict(question=QUESTION, until="2024-12-31", api_name="/ask")
    assert result["sources"]
    assert all(s["published"] and s["published"] <= "2024-12-31" for s in result["sources"])
    with pytest.raises(AppError, match="not a date"):
        client.predict(QUESTION, "last Tuesday-ish", "", "", api_name="/ask")


@pytest.mark.slow
def test_chat_streams_the_answer_and_the_panel_lists_its_sources(
    client: Any, asked: dict[str, Any]
) -> None:
    job = client.submit(QUESTION, [], "", "", [], "", api_name="/chat")
    box, messages, panel = job.result(timeout=60)
    assert len(job.outputs()) >= 2  # the question first, then the answer as it streams
    assert box == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply = _text(messages[-1])
    for name in ("Morgan Stanley", "Citibank", "24,000", "24,500"):
        assert name in reply
    assert reply.startswith(render.linked_markers(render.md_text(asked["answer"])))
    # The message is the answer alone; the panel is the one list of its sources.
    assert "**Sources**" not in reply and "](http" not in reply and "> “" not in reply
    cited = [s for s in asked["sources"] if s["cited"]]
    assert cited
    for source in cited:
        assert render.html_text(source["title"]) in panel
    assert "<mark>" in panel

    # A follow-up carries the previous question along through the chat history.
    follow = client.submit("And why did they do it?", messages, "", "", [], "", api_name="/chat")
    _, messages, _ = follow.result(timeout=60)
    assert len(messages) == 4
    assert QUESTION in _text(messages[-1])  # "Searched for: <previous> <follow-up>"


@pytest.mark.slow
def test_chat_shows_errors_as_messages(client: Any) -> None:
    job = client.submit(QUESTION, [], "not-a-date", "", [], "", api_name="/chat")
    _, messages, panel = job.result(timeout=60)
    reply = _text(messages[-1])
    assert "not a date" in reply
    assert "Traceback" not in reply
    assert "not a date" in panel


@pytest.mark.slow
def test_page_and_config_load(server: str) -> None:
    with httpx.Client(trust_env=False, timeout=30) as http:
        page = http.get(server)
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        config = http.get(server.rstrip("/") + "/config").json()
    values = [str(c.get("props", {}).get("value", "")) for c in config["components"]]
    assert any(re.search(r"\*\*\d+ articles\*\*", v) for v in values), "no corpus summary"
    chatbots = [c for c in config["components"] if c.get("type") == "chatbot"]
    examples = [e["text"] for e in chatbots[0]["props"]["examples"]]
    assert 3 <= len(examples) <= 5
    assert "How have Hang Seng targets changed?" in examples
    assert any(e.startswith("What moved markets in ") for e in examples), examples
    assert any(e.startswith("Why did ") for e in examples), examples
    assert "Ask about the news" in chatbots[0]["props"]["placeholder"]


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _launch(NewsBot(Settings(data_dir=tmp_path_factory.mktemp("web-empty"))))


@pytest.mark.slow
def test_empty_corpus_gets_the_bots_message(empty_server: str) -> None:
    client = _client(empty_server)
    result = client.predict(QUESTION, api_name="/ask")
    assert result["answer"] == EMPTY_CORPUS
    assert result["abstained"]
    _, messages, _ = client.submit(QUESTION, [], "", "", [], "", api_name="/chat").result(60)
    assert _text(messages[-1]) == render.md_text(EMPTY_CORPUS)
    with httpx.Client(trust_env=False, timeout=30) as http:
        config = http.get(empty_server.rstrip("/") + "/config").json()
    chatbot = next(c for c in config["components"] if c.get("type") == "chatbot")
    assert not chatbot["props"].get("examples")
    assert "No news has been ingested" in chatbot["props"]["placeholder"]


# ------------------------------------------------------------------- render helpers


def _source(n: int, quote: str = "", **fields: Any) -> Source:
    values: dict[str, Any] = {
        "article_id": f"a{n}",
        "title": f"Title {n}",
        "publisher": "Wire",
        "url": f"https://example.com/{n}",
        "published": date(2025, 2, 21),
        "text": "First sentence. Second <b>bold</b> sentence. Third one.",
        "score": 0.5,
    }
    values.update(fields)
    return Source(n=n, quote=quote, **values)


def test_markdown_text_is_escaped_but_keeps_markers() -> None:
    text = render.md_text("See [1] and [2, 3]: <script>x</script> ![i](javascript:x) *b* $5")
    assert "[1]" in text and "[2, 3]" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\\!\\[i\\]\\(javascript:x\\)" in text
    assert "\\*b\\*" in text and "\\$5" in text


def test_cards_escape_and_mark_the_quote() -> None:
    cited = _source(2, quote="Second <b>bold</b> sentence.", title="A {{x}} `y` ${z} <i>t</i>")
    plain = _source(1, url="javascript:alert(1)")
    html = render.sources_html(Answer("q", "Second bold sentence. [2]", [plain, cited]))
    assert html.index("[2]") < html.index("[1]")  # cited first
    assert "<mark>Second &lt;b&gt;bold&lt;/b&gt; sentence.</mark>" in html
    assert "<i>" not in html and "{" not in html and "$" not in html and "`" not in html
    assert "javascript:" not in html  # neither a link nor shown
    assert "href='https://example.com/2'" in html


def test_the_chat_message_is_the_answer_alone_its_markers_linked_to_the_cards() -> None:
    answer = Answer(
        "q", "It rose. [1]", [_source(1, quote="It rose."), _source(2)], searched="q it"
    )
    assert render.chat_markdown(answer) == "It rose. [[1]](#nb-source-1)\n\n*Searched for: q it*"


def test_the_panel_lists_cited_sources_in_marker_order_then_three_related_in_a_fold() -> None:
    """Numbers come from retrieval, so cited and uncited interleave: 9, 1, 4 cited."""
    cited = [_source(n, quote=f"Quote {n}.") for n in (9, 1, 4)]
    uncited = [_source(n) for n in (2, 3, 5, 6, 7, 8)]
    answer = Answer("q", "A. [4] B. [1] C. [9]", [*uncited[:2], *cited, *uncited[2:]])
    html = render.sources_html(answer)
    cards = re.findall(r"id='nb-source-(\d+)'", html)
    assert cards == ["1", "4", "9", "2", "3", "5"]
    fold = html.index("<details class='nb-related'><summary>Related articles (3)</summary>")
    assert html.index("nb-source-9") < fold < html.index("nb-source-2")
    assert html.count("related, not cited") == 3 and "</details>" in html


def test_the_brief_tab_lists_its_sources_under_plain_markers() -> None:
    """The Brief tab has no panel: its cards would be the chat's latest answer's."""
    answer = Answer("q", "It rose. [1]", [_source(1, quote="It rose."), _source(2)])
    text = render.answer_markdown(answer)
    assert text.startswith("It rose. [1]") and "(#nb-source-" not in text
    assert "[Title 1](https://example.com/1) — Wire, 2025-02-21" in text
    assert "Title 2" not in text


def test_a_not_found_answer_shows_the_closest_articles_as_related_only() -> None:
    said = "I found nothing about Apple in the ingested news."
    answer = Answer("q", said, [_source(1), _source(2)], abstained=True)
    message = render.chat_markdown(answer)
    assert message.startswith(said) and "(#nb-source-" not in message  # no citation marker
    assert "Title 1" not in message and "closest articles" in message
    html = render.sources_html(answer)
    assert "<details class='nb-related' open><summary>Related articles (2)" in html
    assert html.count("related, not cited") == 2
    text = render.answer_markdown(answer)
    assert "**The closest articles** (none of them answers it)" in text
    assert "[Title 1](https://example.com/1)" in text and "[Title 2]" in text
    assert "**Sources**" not in text


def test_examples_are_questions_from_the_names_and_dates_of_the_news() -> None:
    def article(title: str, published: str | None, *names: str) -> dict[str, Any]:
        return {"title": title, "published": published, "entities": list(names)}

    metadatas = [
        article("ECB cuts rates to 2.5% as euro jumps", "2025-03-06", "ECB", "DAX"),
        article("Nikkei slides as yen climbs toward 150", "2025-02-20", "Nikkei 225"),
        article("DAX closes at record above 22,600 on peace hopes", "2025-02-14", "DAX"),
        article("Apple shares fall after results", "2025-02-13", "Apple"),  # no verb
        article("Stocks slump as Fed cuts rates", "2025-02-12", "Fed"),  # not its subject
        article("Kestrel raises Hang Seng target to 23,500", "2025-02-13", "Hang Seng"),
        article("Harrow lifts Hang Seng target to 23,000", "2025-02-07", "Hang Seng"),
        article("Tamsin keeps Hang Seng target at 20,500", "2025-02-07", "Hang Seng"),
        article("Hong Kong stocks have resumed their rally...", None, "Hang Seng Index"),
    ]
    assert example_questions(metadatas) == [
        "Why did ECB cut rates to 2.5%?",
        "Why did Nikkei slide?",
        "Why did DAX close at record above 22,600?",
        "How have Hang Seng targets changed?",
        "What moved markets in March 2025?",
    ]
    assert example_questions(metadatas[:2], limit=2) == [
        "Why did ECB cut rates to 2.5%?",
        "What moved markets in March 2025?",
    ]
    assert example_questions([]) == []


def test_each_example_question_gets_a_cited_answer_from_the_sample_news(bot: NewsBot) -> None:
    questions = example_questions(bot.store.article_metadatas())
    assert len(questions) == 5
    for question in questions:
        answer = bot.ask(question)
        assert not answer.abstained and answer.cited_sources, (question, answer.text)


def test_the_summary_and_the_empty_chat_say_what_is_stored() -> None:
    assert render.chat_placeholder(0, 0) == render.EMPTY_CORPUS_NOTE
    assert render.chat_placeholder(3, 0) == "**Ask about the news**."  # undated, unnamed
    assert "example questions" in render.chat_placeholder(3, 2)
    assert "No news" in render.corpus_summary({"articles": 0})
    summary = render.corpus_summary(
        {
            "articles": 3,
            "publishers": {"A": 2, "unknown": 1},
            "first_published": "2024-01-01",
            "last_published": "2025-03-01",
            "undated_articles": 1,
        }
    )
    assert summary == (
        "**3 articles** from 1 publisher (A) · published 2024-01-01 to 2025-03-01 · 1 undated"
    )


def test_plain_history_flattens_gradio_messages() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Who?"}]},
        {"role": "assistant", "content": "Them. [1]"},
        {"role": "assistant", "content": [{"type": "file", "file": {}}]},
    ]
    assert plain_turns(history) == [
        {"role": "user", "content": "Who?"},
        {"role": "assistant", "content": "Them. [1]"},
    ]


def test_a_login_is_required_when_auth_is_set(sample_bot: NewsBot) -> None:
    from ui.server import start

    guarded = sharing_models(sample_bot, sample_bot.settings.replace(auth="analyst:s3cret"))
    demo = start(guarded, "127.0.0.1", free_port())
    try:
        url = str(demo.local_url)
        page = httpx.get(url, timeout=10).text  # the login page, not logged in
        stored = guarded.store.article_metadatas()
        for name in {str(m["source"]) for m in stored if m.get("source")}:
            assert name not in page, name  # no publisher of the store
        for title in (str(m["title"]) for m in stored):
            assert title not in page, title  # no example question from a title
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        login = httpx.post(
            f"{url}login", data={"username": "analyst", "password": "s3cret"}, timeout=10
        )
        assert login.status_code == 200
        assert httpx.get(f"{url}config", cookies=login.cookies, timeout=10).status_code == 200
        wrong = httpx.post(f"{url}login", data={"username": "analyst", "password": "x"})
        assert wrong.status_code >= 400
    finally:
        demo.close()
    with pytest.raises(ValueError, match="user:password"):
        sample_bot.settings.model_copy(update={"auth": "no-colon"}).auth_pair()


def test_an_upload_shows_by_its_name_and_urls_must_be_http() -> None:
    upload = "file:///tmp/gradio/" + "ab" * 32 + "/notes.md"
    assert render.local_path(upload) == "uploaded file notes.md"
    urls, rejected = render.split_urls("https://example.com/a\n\n/etc/passwd\nftp://x/y\n")
    assert [url.text for url in urls] == ["https://example.com/a"]
    assert [item for item, _ in rejected] == ["/etc/passwd", "ftp://x/y"]


def test_questions_are_answered_while_news_is_being_added(
    sample_bot: NewsBot, tmp_path: Path
) -> None:
    """An "Add news" stuck on a slow site (8 s deadline) must not hold a question."""
    settings = Settings(data_dir=tmp_path / "d", allow_private_urls=True, fetch_timeout=8)
    newsbot = sharing_models(sample_bot, settings)
    assert newsbot.ingest([SAMPLE_NEWS]).ok
    with trickling_site() as slow:
        for url in _launch(newsbot):
            client = _client(url)
            adding = client.submit([], slow, api_name="/add_news")
            time.sleep(1)  # the fetch has begun
            answer = client.predict(QUESTION, "", "", "", api_name="/ask")
            assert "Morgan Stanley" in answer["answer"]
            assert not adding.done()  # answered while the slow fetch still ran
            report = adding.result(timeout=60)[0]
            assert "longer than 8 s" in report


@pytest.mark.slow
def test_an_internal_error_is_one_plain_sentence_and_the_log_has_it(
    fresh_bot: NewsBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The store vanishes under a running chat (its collection deleted by another
    client): the user reads one sentence, the server's log keeps the traceback."""
    from gradio_client.exceptions import AppError

    assert fresh_bot.ingest([SAMPLE_NEWS]).ok
    for url in _launch(fresh_bot):
        client = _client(url)
        fresh_bot.store.client.delete_collection(fresh_bot.store.chunks.name)
        with pytest.raises(AppError) as error:
            client.predict(QUESTION, "", "", "", api_name="/ask")
        assert (
            str(error.value).strip() == "Answering failed on the server; the log has the details."
        )
        _, messages, panel = client.submit(QUESTION, [], "", "", [], "", api_name="/chat").result(
            60
        )
        reply = _text(messages[-1])
        assert "answering failed on the server" in reply and "Traceback" not in reply
        assert "answering failed on the server" in panel
    logged = [r for r in caplog.records if r.name == "ui.handlers" and r.exc_info]
    assert len(logged) == 2  # /ask and /chat, each with its traceback
