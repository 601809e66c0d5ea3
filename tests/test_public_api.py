"""The package as other code sees it: the public names, their types, `python -m bot`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bot
from tests.conftest import REPO


def test_the_public_names_are_exported_and_typed() -> None:
    wanted = {"NewsBot", "Settings", "Answer", "Source", "Turn", "AnswerStream"}
    errors = {"NewsbotError", "BadDate", "BadInput", "BadSetting", "ModelUnavailable"}
    assert wanted | errors | {"__version__"} <= set(bot.__all__)
    assert all(hasattr(bot, name) for name in bot.__all__)
    assert all(issubclass(getattr(bot, name), bot.NewsbotError) for name in errors)
    for package in ("bot", "ingest", "ui"):  # PEP 561: type checkers read our hints
        assert (REPO / package / "py.typed").is_file()


def test_python_dash_m_bot_is_the_command_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(tmp_path), "stats", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert '"articles": 0' in run.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert shown.stdout.startswith("newsbot ") and shown.returncode == 0
