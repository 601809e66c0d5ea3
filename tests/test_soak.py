"""Soak: 20 users ask while one uploads and a scheduled `newsbot ingest` runs beside them.

A real `newsbot serve` process, real gradio clients in threads, a real second process.
What must hold: no request fails, every article added is stored once and answerable,
and the server's memory comes back to where it was once warm (within 20%).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NEWSBOT, SAMPLE_NEWS, serving

pytestmark = pytest.mark.slow  # a real `newsbot serve` under load

CLIENTS = 20
QUESTIONS = (
    "Who raised Hang Seng targets and why?",
    "How much did Alibaba shares jump?",
    "What happened to interest rates?",
    "Why did copper prices rise?",
)
UPLOADED = {
    "title": "Zephyrine Mining finds copper in Atacama",
    "text": "Zephyrine Mining said on Tuesday that drilling at its Atacama project found "
    "copper grades of 2.4 percent, sending its shares up 31 percent.",
    "published": "2025-03-10",
}
SCHEDULED = {
    "title": "Quillmark Foods cuts its dividend",
    "text": "Quillmark Foods halved its quarterly dividend to 12 cents a share on Monday, "
    "blaming cocoa costs, and its shares fell 8 percent in Zurich.",
    "published": "2025-03-11",
}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


def test_twenty_users_an_upload_and_a_scheduled_ingest(tmp_path: Path) -> None:
    from gradio_client import handle_file

    data = tmp_path / "data"
    errors: list[str] = []
    answers: list[dict[str, Any]] = []
    with serving(data, tmp_path / "serve.log") as (server, url):
        seeded = subprocess.run(
            [NEWSBOT, "--data-dir", str(data), "ingest", str(SAMPLE_NEWS)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert seeded.returncode == 0, seeded.stderr
        warm = _client(url)
        for question in QUESTIONS:  # warm: models loaded, caches filled
            warm.predict(question, "", "", "", api_name="/ask")
        before = _rss_mb(server.pid)

        def user(number: int) -> None:
            try:
                client = _client(url)
                for turn in range(4):
                    question = QUESTIONS[(number + turn) % len(QUESTIONS)]
                    answers.append(client.predict(question, "", "", "", api_name="/ask"))
            except Exception as error:  # a failed request is what this test counts
                errors.append(f"user {number}: {type(error).__name__}: {error}")

        users = [threading.Thread(target=user, args=(n,)) for n in range(CLIENTS)]
        for thread in users:
            thread.start()
        upload = tmp_path / "zephyrine.jsonl"
        upload.write_text(json.dumps(UPLOADED) + "\n", encoding="utf-8")
        report = warm.predict([handle_file(str(upload))], "", api_name="/add_news")[0]
        scheduled = tmp_path / "quillmark.jsonl"
        scheduled.write_text(json.dumps(SCHEDULED) + "\n", encoding="utf-8")
        ingested = subprocess.run(
            [NEWSBOT, "--data-dir", str(data), "ingest", str(scheduled)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        for thread in users:
            thread.join(timeout=120)
        assert not errors, errors[:3]
        assert len(answers) == CLIENTS * 4
        assert all(a["answer"] and not a["abstained"] for a in answers)
        assert "Added 1" in report and "failed 0" in report, report
        assert ingested.returncode == 0 and "added 1" in ingested.stdout, ingested.stderr
        for question, fact in (
            ("What did Zephyrine Mining find in Atacama?", "2.4 percent"),
            ("Why did Quillmark Foods cut its dividend?", "cocoa"),
        ):
            answer = warm.predict(question, "", "", "", api_name="/ask")
            assert fact in answer["answer"], answer["answer"]
        time.sleep(2)
        after = _rss_mb(server.pid)
        assert after <= before * 1.2, (before, after)
    stats = subprocess.run(
        [NEWSBOT, "--data-dir", str(data), "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    stored = sum(1 for line in SAMPLE_NEWS.read_text().splitlines() if line.strip())
    assert json.loads(stats.stdout)["articles"] == stored + 2  # each once, none lost
