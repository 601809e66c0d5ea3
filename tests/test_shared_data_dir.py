"""A web chat all day and a scheduled `newsbot ingest` beside it, on one data dir.

Real processes: `newsbot serve` and `newsbot ingest` as a user starts them. The CLI finds
the running server through its lock file and hands it the news, so the server's own store
takes the writes and answers from them at once, with no restart.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NEWSBOT, SAMPLE_NEWS, free_port, serving
from ui.server_lock import LOCK_NAME

pytestmark = pytest.mark.slow  # real `newsbot serve` processes

STORY = {
    "title": "Zephyrine Mining finds copper in Atacama",
    "text": "Zephyrine Mining said on Tuesday that drilling at its Atacama project found "
    "copper grades of 2.4 percent, sending its shares up 31 percent.",
    "published": "2025-03-10",
}


def _ingest(data: Path, item: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSBOT, "--data-dir", str(data), "ingest", str(item)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_news_ingested_beside_a_running_server_answers_there_at_once(tmp_path: Path) -> None:
    from gradio_client import Client

    data = tmp_path / "data"
    story = tmp_path / "zephyrine.jsonl"
    story.write_text(json.dumps(STORY) + "\n", encoding="utf-8")
    with serving(data, tmp_path / "serve.log") as (_, url):
        client = Client(url, verbose=False, analytics_enabled=False)
        question = "What did Zephyrine Mining find in Atacama?"
        before = client.predict(question, "", "", "", api_name="/ask")
        assert before["abstained"]  # nothing stored yet

        done = _ingest(data, story)
        assert done.returncode == 0, done.stderr
        assert "added 1" in done.stdout
        answer = client.predict(question, "", "", "", api_name="/ask")
        assert "2.4 percent" in answer["answer"], answer["answer"]
        assert not answer["abstained"]
        assert "handing the news to the web chat" in done.stdout
        again = _ingest(data, story)  # the same story: the server knows it already
        assert "added 0, unchanged 1" in again.stdout, again.stdout

        second = subprocess.run(
            [NEWSBOT, "--data-dir", str(data), "serve", "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert "already served by process" in second.stderr
    assert not (data / LOCK_NAME).exists()  # stopped by Ctrl-C, it let go of the data dir
    alone = _ingest(data, story)  # no server any more: the CLI writes itself
    assert alone.returncode == 0 and "handing" not in alone.stdout
    assert "unchanged 1" in alone.stdout


def test_two_ingests_at_once_report_what_each_really_added(tmp_path: Path) -> None:
    """Two `newsbot ingest` of the same news started together: one adds, one finds it."""
    data = tmp_path / "data"
    runs = [
        subprocess.Popen(
            [NEWSBOT, "--data-dir", str(data), "ingest", "--json", str(SAMPLE_NEWS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    reports = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    stored = sum(1 for line in SAMPLE_NEWS.read_text().splitlines() if line.strip())
    added = sorted(len(report["added"]) for report in reports)
    unchanged = sorted(len(report["unchanged"]) for report in reports)
    assert added == [0, stored] and unchanged == [0, stored], reports
    stats = subprocess.run(
        [NEWSBOT, "--data-dir", str(data), "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(stats.stdout)["articles"] == stored  # nothing twice
