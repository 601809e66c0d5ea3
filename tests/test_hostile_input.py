"""Hostile input, as an ordinary user might feed it by accident or on purpose.

Each case is a file (or a feed on a real local HTTP server) ingested in one batch beside a
good article. What must hold for every one: the batch finishes, the hostile item gets a
line naming it and its problem (a failure, or a notice when what is usable is kept), the
good article goes in, and nothing is stored twice or misdated.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot import NewsBot, Settings
from bot.cli import main
from tests.conftest import sharing_models, stored_texts

GOOD = {
    "title": "Zinc climbs on smelter cuts",
    "text": "Zinc rose 3 percent in London on Monday after two smelters in China cut output.",
    "published": "2025-03-03",
}
TEXT = "Nickel fell 2 percent on Tuesday as Indonesian supply rose again this month."

# One record per line, each wrong in one way; (record, what the line must say).
RECORDS: list[tuple[Any, str]] = [
    ({"title": "Numeric body", "text": 12345}, "text"),
    ({"title": "List body", "text": ["a", "b"]}, "text"),
    ({"title": "Null body", "text": None}, "text"),
    ({"title": "Symbols only", "text": "<>&; " * 2000}, "only symbols"),
    ([1, 2, 3], "JSON object"),
    ("just a string", "JSON object"),
    ({"title": ["not", "text"], "text": TEXT + " one"}, "'title' is a list"),
    ({"title": "Odd url", "url": {"href": "x"}, "text": TEXT + " two"}, "'url' is a dict"),
    ({"title": "Huge year", "text": TEXT + " three", "published": 1e20}, "not a date"),
    ({"title": "Negative", "text": TEXT + " four", "published": -1e20}, "not a date"),
    ({"title": "Boolean date", "text": TEXT + " five", "published": True}, "not a date"),
    ({"title": "Zero date", "text": TEXT + " six", "published": 0}, "not a date"),
    ({"title": "Far future", "text": TEXT + " seven", "published": "2999-01-01"}, "plausible"),
    ({"title": "Words", "text": TEXT + " eight", "published": "last Tuesday"}, "not a date"),
    ({"title": "List date", "text": TEXT + " nine", "published": [2025, 1, 1]}, "not a date"),
    ({"title": "NUL \x00 title", "text": "Copper \x00 rose 1 percent \x00 in Shanghai today."}, ""),
]
# Records above that keep an article (with a notice, or clean): stored, all undated.
KEPT = 10


def _jsonl_lines() -> str:
    lines = [json.dumps(record) for record, _ in RECORDS]
    lines.append("[" * 100_000 + "]" * 100_000)  # nesting deeper than any parser allows
    lines.append('{"title": "NaN", "text": "' + TEXT + ' ten", "published": NaN}')
    return "\n".join(lines) + "\n"


class _Feeds(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _feed(items: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>Hostile Wire</title>'
        f"<link>http://example.invalid/</link><description>x</description>{items}"
        "</channel></rss>"
    )


LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
    '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
)


@pytest.fixture(scope="module")
def feeds() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    base = f"http://127.0.0.1:{server.server_port}"
    good_item = (
        "<item><title>Tin jumps</title><description>Tin jumped 5 percent in London on "
        "Wednesday after Myanmar mines stayed shut.</description>"
        "<pubDate>Wed, 05 Mar 2025 08:00:00 GMT</pubDate><guid>tin-1</guid></item>"
    )
    _Feeds.pages = {
        "/comment.rss": _feed(
            "<item><title>Empty</title><description>&lt;!-- nothing here --&gt;</description>"
            "<guid>c-1</guid></item>" + good_item
        ),
        "/laughs.rss": _feed(
            "<item><title>Laughs</title><description>&h;</description><guid>l</guid></item>",
            LAUGHS,
        ),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture
def small_bot(sample_bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store with small limits, so that hostile sizes stay cheap to build."""
    settings = Settings(
        data_dir=tmp_path / "data",
        max_file_mb=2,
        max_article_chars=50_000,
        max_chunk_chars=1_500,
        allow_private_urls=True,  # the feeds are served on 127.0.0.1
    )
    return sharing_models(sample_bot, settings)


def _lines(report: Any) -> dict[str, str]:
    said = [(f.item, f.reason) for f in report.failed] + [
        (n.item, n.message) for n in report.notices
    ]
    lines: dict[str, str] = {}
    for item, text in said:
        lines[item] = f"{lines.get(item, '')} {text}".strip()
    return lines


def test_every_hostile_record_gets_its_own_line_and_the_rest_goes_in(
    small_bot: NewsBot, tmp_path: Path
) -> None:
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(_jsonl_lines(), encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD), encoding="utf-8")
    report = small_bot.ingest([hostile, good])
    lines = _lines(report)
    for number, (_, expected) in enumerate(RECORDS, 1):
        if expected:
            assert expected in lines.get(f"{hostile}:{number}", ""), (number, lines)
    deep, nan = len(RECORDS) + 1, len(RECORDS) + 2
    assert "nested too deeply" in lines[f"{hostile}:{deep}"]
    assert "not a date" in lines[f"{hostile}:{nan}"]
    assert len(report.added) == KEPT + 2  # the NaN-dated record, and the good file
    metadatas = small_bot.store.article_metadatas()
    assert len(metadatas) == KEPT + 2
    dated = {m["title"]: m.get("published") for m in metadatas if m.get("dated")}
    assert dated == {GOOD["title"]: GOOD["published"]}  # no 1970, no 2999
    assert not any("\x00" in m["title"] for m in metadatas)


def test_hostile_files_fail_alone_with_the_limit_named(small_bot: NewsBot, tmp_path: Path) -> None:
    files = {
        "deep.json": "[" * 200_000 + "]" * 200_000,
        "comment.html": "<html><!-- only a comment --></html>",
        "symbols.html": "<>&;" * 5_000,
        "entities.html": "<!DOCTYPE html [" + LAUGHS[14:-2] + "]><p>&h;</p>",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    # Under the upload limit packed, 50 MB unpacked: refused without unpacking it all.
    with gzip.open(tmp_path / "bomb.jsonl.gz", "wb", compresslevel=9) as bomb:
        bomb.write(b" " * (50 * 2**20))
    (tmp_path / "long.txt").write_text("Title: Long\n\n" + "word " * 20_000, encoding="utf-8")
    (tmp_path / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    report = small_bot.ingest(sorted(tmp_path.iterdir()))
    reasons = {Path(f.item).name: f.reason for f in report.failed}
    assert "nested too deeply" in reasons["deep.json"]
    assert "no article text" in reasons["comment.html"]
    assert "no article text" in reasons["symbols.html"] or "symbols" in reasons["symbols.html"]
    assert "entities.html" in reasons  # refused, not expanded into gigabytes
    assert "unpacks to more than 2 MB" in reasons["bomb.jsonl.gz"]
    assert "NEWSBOT_MAX_FILE_MB" in reasons["bomb.jsonl.gz"]
    assert "more than 50,000" in reasons["long.txt"]
    assert "NEWSBOT_MAX_ARTICLE_CHARS" in reasons["long.txt"]
    assert report.added and small_bot.stats()["articles"] == 1


def test_a_line_without_a_sentence_end_is_still_cut(small_bot: NewsBot, tmp_path: Path) -> None:
    table = tmp_path / "table.md"
    table.write_text("# Prices\n\n" + "copper 9120 zinc 2810 " * 1_000, encoding="utf-8")
    report = small_bot.ingest([table])
    assert report.added, report.failed
    chunks = stored_texts(small_bot)
    assert len(chunks) > 10
    assert max(len(chunk) for chunk in chunks) <= 1_500
    assert "".join(chunks).replace(" ", "") == ("copper9120zinc2810" * 1_000)


def test_hostile_feeds_fail_per_entry(small_bot: NewsBot, feeds: str) -> None:
    report = small_bot.ingest([f"{feeds}/comment.rss", f"{feeds}/laughs.rss"])
    assert [m["title"] for m in small_bot.store.article_metadatas()] == ["Tin jumps"]
    assert len(report.failed) == 2, report.failed  # the comment-only entry, the laughs feed
    assert all(f.reason for f in report.failed)


def test_the_cli_exits_non_zero_and_names_the_bad_line(
    sample_bot: NewsBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps(GOOD) + "\n" + json.dumps({"text": TEXT, "published": 1e20}) + '\n{"text": 5}\n',
        encoding="utf-8",
    )
    status = main(["--data-dir", str(tmp_path / "d"), "ingest", str(mixed)])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"FAILED {mixed}:3:" in err
    assert f"NOTE {mixed}:2: published 1e+20 is not a date; stored as undated" in err
    assert "added 2" in out and "failed 1" in out


# A flat 6.3 MB page, one short paragraph repeated: extracting it took trafilatura 4 s and
# a 30 MB one 21 s and 1.4 GB (the CLI, before newsbot's HTML limit existed).
FLAT_PAGE = (
    "<html><head><title>Flat</title></head><body>"
    + "<p>Copper rose on Monday as two smelters in Chile cut output.</p>\n" * 100_000
    + "</body></html>"
)


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        data = self.pages[self.path].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_an_oversize_page_is_refused_before_it_is_parsed(web_bot: NewsBot, tmp_path: Path) -> None:
    page = tmp_path / "flat.html"
    page.write_text(FLAT_PAGE, encoding="utf-8")
    (tmp_path / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    _Pages.pages = {"/flat.html": FLAT_PAGE}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/flat.html"
    try:
        report = web_bot.ingest([page, url, tmp_path / "good.json"])
    finally:
        server.shutdown()
    reasons = {f.item: f.reason for f in report.failed}
    for item in (str(page), url):
        assert reasons[item] == (
            "page is 6.3 MB of HTML, more than 5 MB; raise NEWSBOT_MAX_HTML_MB"
        ), reasons
    assert len(report.failed) == 2 and len(report.added) == 1
    assert [m["title"] for m in web_bot.store.article_metadatas()] == [GOOD["title"]]


def test_a_page_too_intricate_for_trafilatura_is_read_as_plain_text(
    web_bot: NewsBot, tmp_path: Path
) -> None:
    """60,000 tags in one paragraph took trafilatura seconds (49,000 in 5 MB: 32 s)."""
    page = tmp_path / "tags.html"
    page.write_text(
        "<html><head><title>Tin rallies</title><script>var x = 1;</script></head><body>"
        "<p>Tin rose 4 percent in London on Friday as Myanmar mines stayed shut.</p>"
        "<p>" + "<b>tin</b> " * 60_000 + "</p></body></html>",
        encoding="utf-8",
    )
    report = web_bot.ingest([page])
    assert report.added, report.failed
    assert [n.message for n in report.notices] == [
        "page has 60,007 tags, more than 50,000: read as plain text, with no date and perhaps menus"
    ]
    assert [m["title"] for m in web_bot.store.article_metadatas()] == ["Tin rallies"]
    text = " ".join(stored_texts(web_bot))
    assert "Tin rose 4 percent in London on Friday" in text and "var x" not in text
