"""Work beside the answers (an upload's ingest) leaves them the CPU and the GIL."""

from __future__ import annotations

import contextvars
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest.index.store import NewsStore, StoredArticle, connect
from ui.background import LOWEST, NICENESS, at_low_priority

LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="unset")


def own_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_work_runs_lowered_and_the_caller_keeps_its_priority() -> None:
    before = own_priority()
    seen = at_low_priority(lambda: (own_priority(), threading.current_thread().name))
    assert seen == (min(LOWEST, before + NICENESS), "newsbot-ingest")
    assert own_priority() == before  # a pool thread that answers next is not slowed


def test_results_errors_and_context_come_through() -> None:
    LABEL.set("the caller's")  # gradio finds an event's progress bar through such a var
    assert at_low_priority(LABEL.get) == "the caller's"
    with pytest.raises(ZeroDivisionError):
        at_low_priority(lambda: 1 / 0)


def test_a_yielding_write_leaves_other_threads_room(tmp_path: Path) -> None:
    """Embedded Chroma holds the GIL while it writes: one write of 3,000 chunks freezes
    every other thread (the web chat's answers and server) for all of it; a store write
    that yields to answers never freezes them for long."""
    store = NewsStore(connect(tmp_path), "yield-test", tmp_path / "index.sqlite")
    rng = np.random.default_rng(0)

    def articles(tag: str) -> list[StoredArticle]:
        return [
            StoredArticle(
                f"{tag}{n}",
                {"title": f"Story {n}", "source": "Wire", "origin": f"{tag}{n}"},
                [f"Paragraph {i} of story {n} about markets and rates." * 8 for i in range(30)],
                rng.random((30, 384), dtype=np.float32),
            )
            for n in range(100)
        ]

    def longest_freeze(write: Callable[[], object]) -> float:
        ticks: list[float] = []
        done = threading.Event()

        def tick() -> None:
            while not done.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.001)

        ticker = threading.Thread(target=tick)
        ticker.start()
        started = time.perf_counter()
        write()
        ended = time.perf_counter()
        done.set()
        ticker.join()
        during = [started, *(t for t in ticks if started < t < ended), ended]
        return float(np.diff(during).max())

    def one_write() -> None:  # the yardstick: Chroma alone, every chunk in one call
        batch = articles("one")
        store.client.get_or_create_collection("one-write", embedding_function=None).upsert(
            ids=[f"{a.article_id}:{n}" for a in batch for n in range(len(a.chunk_texts))],
            embeddings=np.concatenate([a.embeddings for a in batch]),
            documents=[text for a in batch for text in a.chunk_texts],
        )

    whole = longest_freeze(one_write)
    yielding = longest_freeze(lambda: store.add_articles(articles("y"), yield_to_answers=True))
    assert store.chunk_count() == 100 * 30  # it wrote everything
    assert yielding < whole / 3, (whole, yielding)
