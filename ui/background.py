"""Work the web chat does beside answering, at a lower CPU priority than the answers.

An upload of a thousand articles is minutes of reading, chunking and writing; a
question is a fraction of a second. On a machine with few cores both compete for the
same CPUs, so the server runs an ingest in a thread of its own whose scheduling
priority is lowered (Linux `nice` applies per thread): the operating system then gives
the cores to the answers first, and the ingest takes what they leave.

The thread is new for each ingest and ends with it: an unprivileged process cannot
raise a priority back, so a pool thread that was lowered would answer slowly forever.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# How much lower than the answers: at nice 10 the scheduler weighs a thread about 10x
# less than one at 0, so an ingest still moves on while questions keep the cores busy.
NICENESS = 10
LOWEST = 19  # the highest nice value there is


def at_low_priority(work: Callable[[], T]) -> T:
    """Run `work` in a new thread at lower priority, wait for it, return what it returns.

    The caller's context variables go along (gradio finds an event's progress bar
    through them), and whatever `work` raises is raised here."""
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}

    def run() -> None:
        _lower_this_thread()
        try:
            outcome["value"] = context.run(work)
        except BaseException as error:  # handed to the waiting caller, which raises it
            outcome["error"] = error

    thread = threading.Thread(target=run, name="newsbot-ingest", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _lower_this_thread() -> None:
    if not sys.platform.startswith("linux"):
        return  # elsewhere nice is per process: lowering it would slow the answers too
    thread = threading.get_native_id()
    try:
        lowered = min(LOWEST, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)
        os.setpriority(os.PRIO_PROCESS, thread, lowered)
    except OSError as error:
        log.info("could not lower the ingest thread's priority: %s", error)
