"""Ingest: every format, idempotent, and bad input reported without harm to the store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot import NewsBot, Settings
from bot.cli import main
from ingest.index.fts import DayRange
from tests.conftest import (
    SAMPLE_ARTICLES,
    SAMPLE_NEWS,
    free_port,
    sharing_models,
    stored_texts,
    trickling_site,
)

ARTICLE_HTML = """<!doctype html><html><head>
<title>Copper hits record on tariff fears | Metals Desk</title>
<meta property="og:site_name" content="Metals Desk">
<meta property="article:published_time" content="2025-02-26T08:00:00Z">
</head><body><nav>Home | Markets</nav><article><h1>Copper hits record on tariff fears</h1>
<p>Copper futures in New York jumped 4.2 percent to a record 5.12 dollars a pound on
Wednesday after the White House ordered a probe into possible tariffs on imported copper.</p>
<p>Traders said the premium over London prices widened to its highest in years as
metal was shipped to the United States ahead of any levy.</p></article>
<footer>Copyright Metals Desk</footer></body></html>"""

FEED_XML = """<?xml version="1.0"?><rss version="2.0"><channel><title>Metals Desk</title>
<link>{base}/</link><description>Metals news</description>
<item><title>Copper hits record on tariff fears</title><link>{base}/copper.html</link>
<pubDate>Wed, 26 Feb 2025 08:00:00 GMT</pubDate></item>
</channel></rss>"""


class _Site(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, str]]] = {}

    def do_GET(self) -> None:
        page = self.pages.get(self.path)
        if page is None:
            self.send_error(404)
            return
        content_type, body = page
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving an article, a feed and a broken feed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    base = f"http://127.0.0.1:{server.server_port}"
    _Site.pages = {
        "/copper.html": ("text/html; charset=utf-8", ARTICLE_HTML),
        "/feed.xml": ("application/rss+xml", FEED_XML.format(base=base)),
        "/broken.rss": ("application/rss+xml", "this is not XML at all, just words"),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with real text objects, written by hand (no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_reingesting_the_same_news_adds_nothing(fresh_bot: NewsBot) -> None:
    first = fresh_bot.ingest([SAMPLE_NEWS])
    chunks = fresh_bot.store.chunk_count()
    second = fresh_bot.ingest([SAMPLE_NEWS])
    assert len(first.added) == SAMPLE_ARTICLES and not first.failed
    assert second.added == [] and len(second.unchanged) == SAMPLE_ARTICLES
    assert fresh_bot.store.chunk_count() == chunks
    assert fresh_bot.store.lexical.count() == chunks
    assert fresh_bot.stats()["articles"] == SAMPLE_ARTICLES


def test_a_changed_article_replaces_its_old_chunks(fresh_bot: NewsBot, tmp_path: Path) -> None:
    story = tmp_path / "2025-03-01-ecb.md"
    story.write_text("# ECB holds rates\n\nThe ECB kept its deposit rate at 2.75 percent today.\n")
    fresh_bot.ingest([story])
    story.write_text("# ECB cuts rates\n\nThe ECB cut its deposit rate to 2.5 percent today.\n")
    report = fresh_bot.ingest([story])
    assert len(report.replaced) == 1 and not report.added
    texts = stored_texts(fresh_bot)
    assert texts == ["The ECB cut its deposit rate to 2.5 percent today."]
    everything = DayRange()
    assert fresh_bot.store.lexical_query(["kept"], 5, everything) == []
    assert len(fresh_bot.store.lexical_query(["cut"], 5, everything)) == 1
    stats = fresh_bot.stats()
    assert stats["articles"] == 1 and stats["first_published"] == "2025-03-01"


def test_each_file_format_keeps_title_source_and_date(fresh_bot: NewsBot, tmp_path: Path) -> None:
    (tmp_path / "copper.html").write_text(ARTICLE_HTML)
    (tmp_path / "note.txt").write_text(
        "Title: Oil steadies\nSource: Energy Brief\nPublished: 2025-01-10\n\n"
        "Brent crude steadied near 80 dollars a barrel as traders weighed new sanctions.\n"
    )
    (tmp_path / "report.pdf").write_bytes(minimal_pdf("Nikkei gains 2 percent as exporters rally."))
    (tmp_path / "batch.json").write_text(
        json.dumps(
            [
                {
                    "title": "DAX record",
                    "text": "The DAX closed at a record 22,600 points.",
                    "url": "https://news.example.com/dax",
                    "published": "2025-02-24",
                    "source": "Frankfurt Desk",
                }
            ]
        )
    )
    report = fresh_bot.ingest([tmp_path])
    assert len(report.added) == 4, report.failed
    by_title = {m["title"]: m for m in fresh_bot.store.article_metadatas()}
    assert by_title["Copper hits record on tariff fears"]["published"] == "2025-02-26"
    assert by_title["Copper hits record on tariff fears"]["source"] == "Metals Desk"
    assert by_title["Oil steadies"]["source"] == "Energy Brief"
    assert by_title["Oil steadies"]["published"] == "2025-01-10"
    assert by_title["DAX record"]["url"] == "https://news.example.com/dax"
    pdf = next(m for m in by_title.values() if m["origin"].endswith("report.pdf"))
    assert "published" not in pdf and pdf["dated"] is False  # unknown stays unknown
    answer = fresh_bot.ask("How much did copper futures jump?")
    assert "4.2 percent" in answer.text


def test_urls_and_feeds_are_fetched(web_bot: NewsBot, site: str) -> None:
    report = web_bot.ingest([f"{site}/feed.xml"])
    assert len(report.added) == 1, report.failed
    meta = web_bot.store.article_metadatas()[0]
    assert meta["title"] == "Copper hits record on tariff fears"
    assert meta["source"] == "Metals Desk" and meta["published"] == "2025-02-26"
    assert meta["url"] == f"{site}/copper.html"
    again = web_bot.ingest([f"{site}/copper.html"])  # the same story by its page URL
    assert again.unchanged and not again.added


def test_local_addresses_are_refused_unless_allowed(fresh_bot: NewsBot, site: str) -> None:
    """By default a URL may not reach this machine or its private network: the web
    chat's "Add news" would otherwise fetch the host's internal services for a visitor."""
    for url in (f"{site}/copper.html", "http://localhost:9/", "http://169.254.169.254/"):
        report = fresh_bot.ingest([url])
        assert len(report.failed) == 1, url
        assert "local or private address" in report.failed[0].reason, report.failed[0]
        assert "NEWSBOT_ALLOW_PRIVATE_URLS" in report.failed[0].reason
    assert fresh_bot.store.chunk_count() == 0


def test_a_trickling_page_is_cut_off_at_the_whole_request_deadline(
    sample_bot: NewsBot, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "d", allow_private_urls=True, fetch_timeout=1.5)
    patient = sharing_models(sample_bot, settings)
    with trickling_site() as slow:
        report = patient.ingest([slow])
    assert len(report.failed) == 1
    assert "longer than 1.5 s in all" in report.failed[0].reason
    assert "NEWSBOT_FETCH_TIMEOUT" in report.failed[0].reason


def test_bad_input_is_reported_per_item_and_harms_nothing(
    web_bot: NewsBot, tmp_path: Path, site: str
) -> None:
    web_bot.ingest([SAMPLE_NEWS])
    before = web_bot.store.chunk_count()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (bad / "latin1.txt").write_bytes("Le march\xe9 a progress\xe9 de 2 pourcent.".encode("latin-1"))
    (bad / "broken.html").write_text("<html><body><div><script>var x=1;</script>")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    (bad / "mixed.jsonl").write_text(
        '{"title": "Good one", "text": "The KOSPI rose 1.5 percent on chip optimism today."}\n'
        '{"title": "Broken", "text": \n'
        '{"title": "No body"}\n'
    )
    closed = free_port()
    report = web_bot.ingest(
        [bad, tmp_path / "missing.txt", f"http://127.0.0.1:{closed}/news", f"{site}/broken.rss"]
    )
    reasons = {
        Path(f.item).name if "://" not in f.item else f.item: f.reason for f in report.failed
    }
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "HTML" in reasons["broken.html"]
    assert "PDF" in reasons["broken.pdf"]
    assert "line 2" in reasons["mixed.jsonl:2"]
    assert "text" in reasons["mixed.jsonl:3"]
    assert "no such file" in reasons["missing.txt"]
    assert "cannot fetch" in reasons[f"http://127.0.0.1:{closed}/news"]
    assert "not a valid RSS/Atom feed" in reasons[f"{site}/broken.rss"]
    assert len(report.failed) == 10
    assert len(report.added) == 1  # the good JSONL line still went in
    assert web_bot.store.chunk_count() == before + 1
    assert web_bot.stats()["articles"] == SAMPLE_ARTICLES + 1


def test_cli_ingest_reports_failures_and_exits_non_zero(
    sample_bot: NewsBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.md"
    good.write_text("# Yen slides\n\nThe yen fell to 158 per dollar on Tuesday after the BoJ.\n")
    status = main(["--data-dir", str(tmp_path / "d"), "ingest", str(good), str(tmp_path / "nope")])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"FAILED {tmp_path / 'nope'}: no such file or folder" in err
    assert "added 1, unchanged 0, replaced 0, failed 1" in out


def test_news_ingested_with_other_settings_is_pointed_out(fresh_bot: NewsBot) -> None:
    fresh_bot.ingest([SAMPLE_NEWS])
    other = sharing_models(fresh_bot, fresh_bot.settings.replace(chunk_size=600))
    answer = other.ask("What did the ECB decide?")
    assert answer.abstained
    chunks = fresh_bot.store.chunk_count()
    assert f"holds {chunks} chunks ingested with other settings" in answer.text
