"""Work beside the answers (an upload's ingest) runs at a lower CPU priority."""

from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest

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
