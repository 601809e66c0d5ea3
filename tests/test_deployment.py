"""A news desk's deployment with real processes on 127.0.0.1: one `chroma run`, two
`newsbot serve` workers with data dirs of their own, users spread over both."""

from __future__ import annotations

import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NEWSBOT, SAMPLE_NEWS, serving

pytestmark = pytest.mark.slow  # two servers and a minute of load

USERS = 20
LOAD_SECONDS = 60
QUESTIONS = [
    "Who raised Hang Seng targets and why?",
    "Why did the Bank of Japan raise rates in January 2025?",
    "Which company agreed to buy Brightwater Coatings and for how much?",
]
RARE = "How much did Quillon Vantabrite raise?"


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


def _ingest(data: Path, flags: list[str], item: Path) -> None:
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(data), *flags, "ingest", str(item)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "handing the news to the web chat" in done.stdout  # the worker ingested it


def test_two_workers_on_one_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    flags = ["--chroma-url", chroma_server, "--chunk-size", "860"]  # a collection of its own
    with ExitStack() as stack:
        workers = [
            stack.enter_context(serving(tmp_path / name, tmp_path / f"{name}.log", flags))
            for name in ("first", "second")
        ]
        (_, first_url), (_, second_url) = workers
        _ingest(tmp_path / "first", flags, SAMPLE_NEWS)

        story = tmp_path / "quillon.md"
        story.write_text(
            "# Quillon Vantabrite closes its funding round\n\nQuillon Vantabrite, a maker "
            "of industrial coatings, said on Monday it raised $412 million from pension "
            "funds to build two plants in Ohio.\n",
            encoding="utf-8",
        )
        second = _client(second_url)
        _ingest(tmp_path / "first", flags, story)
        ingested = time.monotonic()
        while "$412 million" not in second.predict(RARE, "", "", "", api_name="/ask")["answer"]:
            assert time.monotonic() - ingested < 10, "the second worker never saw the article"
            time.sleep(0.5)

        errors: list[str] = []
        answered: list[str] = []

        def user(number: int) -> None:
            url = (first_url, second_url)[number % 2]
            try:
                client = _client(url)
            except Exception as error:
                errors.append(f"user {number} could not connect: {error}")
                return
            turn = 0
            while time.monotonic() < deadline:
                question = QUESTIONS[(number + turn) % len(QUESTIONS)]
                turn += 1
                try:
                    answered.append(client.predict(question, "", "", "", api_name="/ask")["answer"])
                except Exception as error:  # what this test counts
                    errors.append(f"user {number} ({url}): {type(error).__name__}: {error}")

        deadline = time.monotonic() + LOAD_SECONDS
        users = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
        for thread in users:
            thread.start()
        for thread in users:
            thread.join(timeout=LOAD_SECONDS + 120)
        assert not errors, errors[:3]
        assert len(answered) >= USERS  # every user got at least one answer
        assert all(text.strip() for text in answered)
