"""The login throttle's arithmetic on a clock of the test's own (the served behaviour is
in test_security.py)."""

from __future__ import annotations

from ui.guard import FREE_FAILURES, Throttle, allowed_hosts


def test_waits_start_after_the_free_failures_and_double() -> None:
    now = [1000.0]
    throttle = Throttle(clock=lambda: now[0])
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("10.0.0.1")
        assert throttle.wait_s("10.0.0.1") == 0
    waits = []
    for _ in range(3):
        throttle.failed("10.0.0.1")
        waits.append(throttle.wait_s("10.0.0.1"))
        now[0] += waits[-1]
    assert waits == [2.0, 4.0, 8.0]
    assert throttle.wait_s("10.0.0.2") == 0  # per address
    throttle.succeeded("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 0  # a good login starts the count again


def test_the_allowed_names_are_this_machines_the_bound_ones_and_the_users() -> None:
    assert allowed_hosts("127.0.0.1", []) == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts("0.0.0.0", ["News.Desk"]) == [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "news.desk",
    ]
    assert "[fe80::1]" in allowed_hosts("fe80::1", [])
    assert "10.1.2.3" in allowed_hosts("10.1.2.3", [])
