"""The web chat in a real headless Chromium (Debian's `chromium`, driven by Playwright).

One walk through the page as an analyst would use it: ask the seed question, follow a
citation to its source card, upload a file and ask about it, then narrow the dates and
see the answer change. Screenshots of each state go to `test-artifacts/browser/`.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import NewsBot, Settings
from tests.conftest import REPO, SAMPLE_NEWS, SEED_QUESTION, free_port, sharing_models

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "browser"
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,  # a running web app
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def app_url(
    bot: NewsBot, seed_article: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The real app over a store of its own: the test adds news to it."""
    from ui.server import start

    newsbot = sharing_models(bot, Settings(data_dir=tmp_path_factory.mktemp("browser")))
    assert newsbot.ingest([seed_article, SAMPLE_NEWS]).ok
    demo = start(newsbot, "127.0.0.1", free_port())
    try:
        yield str(demo.local_url)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh tab on the app for each test: an empty chat, no filters set."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(app_url, wait_until="networkidle")  # the page load's refresh is done
    settled_summary(tab)
    yield tab
    tab.close()


SETTLED = "() => /^[\\d,]+ articles/.test(document.querySelector('#corpus-summary')?.innerText)"


def settled_summary(page: Any) -> str:
    """The corpus summary once an update has filled it in (no progress timer left)."""
    page.wait_for_function(SETTLED)
    return str(page.locator("#corpus-summary").inner_text())


ASKED = """(question) => [...document.querySelectorAll('#chat .message.user')]
    .filter((m) => m.innerText.includes(question)).length"""
ANSWERED = """([question, before]) => {
    const messages = [...document.querySelectorAll('#chat .message')];
    const turns = messages.filter(
        (m) => m.classList.contains('user') && m.innerText.includes(question));
    if (turns.length <= before) return false;  // this asking has not shown yet
    const asked = messages.indexOf(turns[turns.length - 1]);
    const reply = messages.slice(asked + 1).find((m) => m.classList.contains('bot'));
    const sources = document.querySelector('#sources').innerText;
    return reply !== undefined && reply.innerText.trim() !== ''
        && !sources.includes('Searching the news');
}"""


def ask(page: Any, question: str) -> str:
    """Type a question, submit it, and wait for its streamed answer to finish.

    Waits on this asking's own turn: the reply after a user message holding the question
    that was not there before (the same question asked earlier has its own reply, which
    must not be taken for this one's), never on a message count alone, which a re-render
    of the chat can reset for a moment.
    The sources panel says "Searching the news" from the moment the question shows and
    is written once, with the final answer.
    """
    before = page.evaluate(ASKED, question)
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(ANSWERED, arg=[question, before])
    page.wait_for_timeout(300)  # the last streamed chunk settles
    return str(page.locator("#chat .message.bot").last.inner_text())


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_seed_question_cites_and_a_marker_leads_to_its_card(page: Any) -> None:
    assert "articles" in page.locator("#corpus-summary").inner_text()
    shot(page, "1-start")
    answer = ask(page, SEED_QUESTION)
    for fact in ("Morgan Stanley", "24,000", "Citi"):  # the seed article's own words
        assert fact in answer, (fact, answer)
    marker = page.locator("#chat .message.bot a[href*='#nb-source-']").first
    card_id = str(marker.get_attribute("href")).split("#")[-1]
    card = page.locator(f"#{card_id}")
    assert card.locator("mark").count() >= 1  # the quoted passage, highlighted
    assert "nb-flash" not in (card.get_attribute("class") or "")
    marker.click()
    page.wait_for_function(
        "(id) => document.getElementById(id).classList.contains('nb-flash')", arg=card_id
    )
    assert len(page.context.pages) == 1  # the click scrolled, it opened no tab
    shot(page, "2-answer-with-card-highlighted")


def test_an_uploaded_file_answers_at_once(page: Any, tmp_path: Path) -> None:
    story = tmp_path / "zephyrine.jsonl"
    article = {
        "title": "Zephyrine Mining finds copper in Atacama",
        "text": "Zephyrine Mining said on Tuesday that drilling at its Atacama project found "
        "copper grades of 2.4 percent, sending its shares up 31 percent.",
        "published": "2025-03-10",
    }
    story.write_text(json.dumps(article) + "\n", encoding="utf-8")
    from gradio.utils import get_upload_folder

    def copies() -> set[Path]:
        return set(Path(get_upload_folder()).rglob(story.name))

    earlier = copies()  # of earlier runs on this machine
    page.get_by_text("Add news").click()
    page.locator("#uploads input[type=file]").set_input_files(str(story))
    page.wait_for_timeout(500)
    page.locator("#add-news").click()
    report = page.locator("#ingest-report")
    report.get_by_text("Added 1").wait_for()
    assert "failed 0" in report.inner_text()
    # gradio's copy of the upload is deleted once stored: a long-running server keeps none.
    assert copies() <= earlier
    shot(page, "3-upload-report")
    answer = ask(page, "What did Zephyrine Mining find in Atacama?")
    assert "2.4 percent" in answer, answer
    card = page.locator("#sources .nb-card").first.inner_text()
    assert "2025-03-10" in card and "/tmp" not in card  # no server path shown
    shot(page, "4-answer-from-upload")
    # Once the chat is cleared, its examples come from the newest articles, this one too,
    # asked as a question, not pasted as its headline.
    page.locator("#chat button[aria-label='Clear']").first.click()
    page.locator("#chat").get_by_text("Why did Zephyrine Mining find copper in Atacama?").wait_for()


def test_a_bad_upload_and_a_local_path_are_refused_with_reasons(page: Any, tmp_path: Path) -> None:
    summary = settled_summary(page)
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.4 not really a pdf \x00\x01\x02")
    page.get_by_text("Add news").click()
    page.locator("#uploads input[type=file]").set_input_files(str(binary))
    page.wait_for_timeout(500)
    page.get_by_label("Article or feed URLs, one per line").fill("/etc/passwd")
    page.locator("#add-news").click()
    report = page.locator("#ingest-report")
    report.get_by_text("failed 2").wait_for()
    text = report.inner_text()
    assert "scan.pdf" in text and "/etc/passwd: not an http(s) URL" in text, text
    assert "Traceback" not in text
    assert settled_summary(page) == summary  # nothing stored
    shot(page, "5-bad-upload-report")


def test_a_date_filter_changes_the_answer(page: Any) -> None:
    first = ask(page, SEED_QUESTION)
    page.locator("#since textarea").fill("2025-03-01")
    answer = ask(page, SEED_QUESTION)
    assert answer != first
    assert "23,477.9" not in answer  # the 21 Feb 2025 close is outside the filter
    shot(page, "6-date-filter")


def test_retry_asks_again_and_clear_empties_the_chat(page: Any) -> None:
    """Retry asks the last question again under the filters now set: with the date
    filter cleared, the seed question gets its first, unfiltered answer back."""
    first = ask(page, SEED_QUESTION)
    page.locator("#since textarea").fill("2025-03-01")
    ask(page, SEED_QUESTION)
    page.locator("#since textarea").fill("")
    answers = page.locator("#chat .message.bot")
    count = answers.count()
    assert answers.last.inner_text() != first
    page.locator("#chat button[aria-label='Retry']").last.click()
    page.wait_for_function(
        """(first) => {
            const bots = document.querySelectorAll('#chat .message.bot');
            return bots.length > 0 && bots[bots.length - 1].innerText === first
                && !document.querySelector('#sources').innerText.includes('Searching the news');
        }""",
        arg=first,
    )
    assert answers.count() == count
    page.locator("#chat button[aria-label='Clear']").first.click()
    page.wait_for_function("() => document.querySelectorAll('#chat .message').length === 0")
    page.get_by_text("Sources of the latest answer appear here.").wait_for()
    shot(page, "7-cleared")


def test_an_upload_over_the_size_limit_is_refused_in_the_page(
    sample_bot: NewsBot, browser: Any, tmp_path: Path
) -> None:
    from ui.server import start

    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=0.001)  # 1 KB
    small = sharing_models(sample_bot, settings)
    big = tmp_path / "big.md"
    big.write_text("# Big\n\n" + "Copper rose. " * 500, encoding="utf-8")
    demo = start(small, "127.0.0.1", free_port())
    try:
        tab = browser.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(str(demo.local_url))
        tab.get_by_text("Add news").click()
        tab.locator("#uploads input[type=file]").set_input_files(str(big))
        tab.get_by_text("exceed the maximum allowed size").wait_for()
        tab.close()
    finally:
        demo.close()
    assert small.store.chunk_count() == 0


def test_who_said_and_how_targets_moved_in_the_chat(page: Any) -> None:
    answer = ask(page, "Who said the rally makes sense?")
    assert answer.startswith("Kinger Lau") and "Goldman Sachs" in answer, answer
    timeline = ask(page, "How have Hang Seng targets changed?")
    # Oldest first, each day once; the two reports of 7 Feb side by side.
    days = [timeline.find(day) for day in ("10 Jan 2025", "7 Feb 2025", "21 Feb 2025")]
    assert -1 not in days and days == sorted(days), timeline
    assert "20,500" in timeline and "23,000" in timeline
    shot(page, "8-quote-and-timeline")


def test_the_entity_picker_keeps_the_news_to_one_company(page: Any) -> None:
    picker = page.locator("#entities input")
    picker.fill("9988.HK")
    picker.press("Enter")
    page.locator("#entities").get_by_text("9988.HK").first.wait_for()  # listed, and chosen
    picker.press("Escape")
    answer = ask(page, "How much will be invested in AI infrastructure?")
    assert "380 billion yuan" in answer, answer
    # Every card, those folded away among the related ones too.
    titles = page.locator("#sources .nb-card").all_text_contents()
    assert titles and all("Alibaba" in t or "undated" in t for t in titles), titles
    shot(page, "9-entity-filter")


def test_the_brief_tab_lists_the_story_three_publishers_carried_first(page: Any) -> None:
    page.get_by_role("tab", name="Brief").click()
    page.locator("#brief-since textarea").fill("2025-02-18")
    page.locator("#brief-until textarea").fill("2025-02-24")
    page.locator("#brief-go").click()
    brief = page.locator("#brief")
    brief.get_by_text("3 publishers").wait_for()
    text = str(brief.inner_text())
    first = next(line for line in text.splitlines() if "2025:" in line)
    assert "380 billion yuan" in first and "(3 publishers)" in first, text
    assert "Harbour Markets Daily" in text and "Continental Business Post" in text
    shot(page, "10-brief")


IN_VIEW = """() => {
    const chat = document.querySelector('#chat .bubble-wrap').getBoundingClientRect();
    const rows = [...document.querySelectorAll('#chat .message-row')];
    const last = (kind) => rows.filter((r) => r.classList.contains(kind)).pop()
        .getBoundingClientRect();
    const [question, answer] = [last('user-row'), last('bot-row')];
    return {top: chat.top, bottom: chat.bottom, question: question.top,
            answer: answer.top, height: answer.height};
}"""


def test_a_long_answer_is_read_from_its_start_beside_its_sources_listed_once(page: Any) -> None:
    """The chat holds a new question at its top while the answer streams in under it,
    instead of following the bottom; the sources are the panel's cards alone: the cited
    ones in marker order, then at most three related ones in a closed fold."""
    page.set_viewport_size({"width": 1000, "height": 900})  # a narrower chat: longer answers
    ask(page, SEED_QUESTION)  # an answer above, to scroll past
    answer = ask(page, "How have Hang Seng targets changed?")
    seen = page.evaluate(IN_VIEW)
    assert seen["height"] > seen["bottom"] - seen["top"], seen  # longer than the chat
    assert seen["top"] <= seen["question"] < seen["answer"] < seen["bottom"], seen
    shot(page, "11-long-answer-from-its-start")

    message = page.locator("#chat .message.bot").last
    assert "Sources" not in answer and message.locator("blockquote").count() == 0
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    panel = page.locator("#sources .nb-sources")
    numbers = panel.locator(":scope > .nb-card .nb-n").all_inner_texts()
    cited = [int(n.strip("[]")) for n in numbers]
    assert cited == sorted(markers), (cited, answer)
    fold = panel.locator("details.nb-related")
    related = fold.locator(".nb-card")
    assert fold.count() == 1 and fold.get_attribute("open") is None
    assert 1 <= related.count() <= 3
    assert fold.locator("summary").inner_text() == f"Related articles ({related.count()})"
    assert not related.first.is_visible()
    fold.locator("summary").click()
    related.first.wait_for()  # shown once unfolded
    shot(page, "12-related-unfolded")
