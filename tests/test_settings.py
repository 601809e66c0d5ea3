"""The settings object: validated however a value arrives, grouped for --help."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import BadSetting, NewsbotError, Settings
from bot.cli import build_parser
from bot.settings import GROUPS
from tests.conftest import NEWSBOT


def test_every_way_of_changing_a_setting_is_validated(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValidationError, match="min_evidence"):
        settings.replace(min_evidence=5)
    with pytest.raises(ValidationError, match="min_evidence"):
        settings.model_copy(update={"min_evidence": 5})  # pydantic's own copy would not check
    with pytest.raises(ValidationError, match="chunk_size"):
        settings.chunk_size = 10
    with pytest.raises(ValidationError, match="not_a_setting"):
        settings.replace(not_a_setting=1)
    assert settings.replace(k=7).k == 7 and settings.k == 5  # a copy; the original stays


def test_the_answer_writer_is_parsed_when_the_settings_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="openai:MODEL"):
        Settings(data_dir=tmp_path, llm="gpt-4o")  # no back-end named
    with pytest.raises(ValidationError, match="openai:MODEL"):
        Settings(data_dir=tmp_path, llm="gguf:")
    assert Settings(data_dir=tmp_path, llm="").llm == "extractive"
    assert Settings(data_dir=tmp_path, llm=" openai:m ").llm_backend == ("openai", "m")
    with pytest.raises(ValidationError, match="user:password"):
        Settings(data_dir=tmp_path, auth="nopassword")


def test_environment_variables_are_read_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_K", "9")
    assert Settings(data_dir=tmp_path).k == 9
    monkeypatch.setenv("NEWSBOT_K", "0")
    with pytest.raises(ValidationError, match="k"):
        Settings(data_dir=tmp_path)


def test_each_setting_is_in_exactly_one_group_and_help_shows_the_groups() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(Settings.model_fields)
    assert len(grouped) == len(set(grouped))
    text = build_parser().format_help()
    for title in GROUPS:
        assert f"settings: {title}" in text
    assert "--chroma-url" in text and "[NEWSBOT_CHROMA_URL]" in text


def test_user_errors_are_one_family_that_is_still_a_value_error() -> None:
    assert issubclass(BadSetting, NewsbotError) and issubclass(NewsbotError, ValueError)


def test_a_bad_setting_on_the_command_line_is_one_line_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(tmp_path), "--llm", "gpt-4o", "stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "--llm (NEWSBOT_LLM)" in done.stderr and "openai:MODEL" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_login_never_comes_from_a_flag_but_from_the_environment_or_a_private_file(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(tmp_path), "--auth", "analyst:s3cret", "stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "NEWSBOT_AUTH" in done.stderr and "process list" in done.stderr, done.stderr
    assert "s3cret" not in done.stderr
    login = tmp_path / "login"
    login.write_text("analyst:s3cret\n", encoding="utf-8")
    login.chmod(0o644)
    with pytest.raises(ValidationError, match="chmod 600"):
        Settings(data_dir=tmp_path, auth_file=login)
    login.chmod(0o600)
    assert Settings(data_dir=tmp_path, auth_file=login).auth_pair() == ("analyst", "s3cret")
    assert Settings(data_dir=tmp_path, auth="a:b", auth_file=login).auth_pair() == ("a", "b")


def test_a_home_relative_folder_is_the_users_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """`~/news` given in Python names the folder a shell would, not a `./~` beside it."""
    monkeypatch.setenv("HOME", "/home/analyst")
    settings = Settings(data_dir="~/news", model_cache_dir="~/models")
    assert settings.data_dir == Path("/home/analyst/news")
    assert settings.model_cache_dir == Path("/home/analyst/models")
    assert settings.replace(data_dir="~/other").data_dir == Path("/home/analyst/other")


def test_the_renamed_reranker_variable_is_refused_with_its_new_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEWSBOT_RERANKER=none, left from before the rename, must not quietly turn the
    cross-encoder back on."""
    monkeypatch.setenv("NEWSBOT_RERANKER", "none")
    with pytest.raises(ValidationError, match="set NEWSBOT_READER=none"):
        Settings(data_dir=tmp_path)
    monkeypatch.delenv("NEWSBOT_RERANKER")
    monkeypatch.setenv("NEWSBOT_READER", "none")
    assert Settings(data_dir=tmp_path).reader == "none"
