"""The command line as a script would use it: JSON out, one line per stdin question."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import NewsBot, Settings
from bot.cli import METAVARS, build_parser, main
from ingest.index.store import StoredArticle
from ingest.sources.feeds import FeedState, save_states
from tests.conftest import NEWSBOT, REPO, SAMPLE_ARTICLES, SEED_QUESTION, sharing_models

# What a terminal acts on: every C0 character but newline and tab, DEL, every C1.
TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A title that colours the screen and sets the window's title, a publisher that is a
# hidden hyperlink, a URL that clears the screen, bells, DEL and 8-bit controls.
HOSTILE = {
    "title": "\x1b[31mCobalt\x1b[0m miners \x1b]0;pwned\x07strike\x07 at\x9bKatanga\x85",
    "source": "\x1b]8;;https://evil.example/\x1b\\Ore\x1b]8;;\x1b\\ \x07Daily\x7f",
    "url": "https://ore.example/\x1b[2J\x1b[Hcobalt\x9d0;x\x9c\x07",
}
HOSTILE_TEXT = (
    "Cobalt miners at the Katanga mine walked out on Monday\x1b[5m over pay\x9b, halting "
    "output at the \x1b]0;pwned\x07world's largest cobalt mine. The strike cut supply "
    "by a fifth, traders said, and cobalt prices rose 6 percent in London."
)


def test_ask_json_contract(bot: NewsBot, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--data-dir", str(bot.settings.data_dir), "ask", "--json", SEED_QUESTION])
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["question"] == SEED_QUESTION
    assert "24,500" in data["answer"] and "Morgan Stanley" in data["answer"]
    for source in data["sources"]:
        assert {"n", "title", "url", "published", "text", "score"} <= set(source)
    assert any(s["cited"] and f"[{s['n']}]" in data["answer"] for s in data["sources"])


def test_ask_as_of_flag_and_prefix_agree(
    sample_bot: NewsBot, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(sample_bot.settings.data_dir)
    question = "What did the Bank of Japan do with rates?"
    main(["--data-dir", data_dir, "ask", "--json", "--as-of", "2024-12-31", question])
    by_flag = json.loads(capsys.readouterr().out)
    main(["--data-dir", data_dir, "ask", "--json", f"As of 2024-12-31: {question}"])
    by_prefix = json.loads(capsys.readouterr().out)
    assert by_flag["as_of"] == by_prefix["as_of"] == "2024-12-31"
    assert by_flag["answer"] == by_prefix["answer"]


def test_bad_date_is_a_clear_error(sample_bot: NewsBot, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = str(sample_bot.settings.data_dir)
    status = main(["--data-dir", data_dir, "ask", "--since", "soon", "x?"])
    assert status == 2
    assert "since='soon' is not a date; use YYYY-MM-DD" in capsys.readouterr().err


def test_what_others_said_is_listed_as_cited_not_as_none_answering(
    sample_bot: NewsBot, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample news quotes no one from Federated Hermes: the answer says so, then quotes
    what others said about DeepSeek, and those sources are the cited ones."""
    data_dir = str(sample_bot.settings.data_dir)
    main(["--data-dir", data_dir, "ask", "What did Federated Hermes say about DeepSeek?"])
    out = capsys.readouterr().out
    assert "I found no statement by Federated Hermes" in out, out
    assert re.search(r"^\*\[1\] .*DeepSeek", out, re.MULTILINE), out
    assert "none of them answers it" not in out, out


def test_stdin_mode_answers_each_line_as_it_arrives(bot: NewsBot) -> None:
    """Each answer is flushed before the next question is sent: usable as a pipe."""
    process = subprocess.Popen(
        [NEWSBOT, "--data-dir", str(bot.settings.data_dir), "ask", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin and process.stdout
    answers = []
    for question in (SEED_QUESTION, "How much did Alibaba shares jump?"):
        process.stdin.write(question + "\n")
        process.stdin.flush()
        answers.append(json.loads(process.stdout.readline()))
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert answers[0]["question"] == SEED_QUESTION and "24,000" in answers[0]["answer"]
    assert "14.6" in answers[1]["answer"]
    assert {"n", "title", "url", "published", "text", "score"} <= set(answers[1]["sources"][0])


def test_stats_and_help(bot: NewsBot, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(bot.settings.data_dir), "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == SAMPLE_ARTICLES + 1
    for command in ([], ["ingest"], ["ask"], ["stats"], ["serve"], ["eval"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: newsbot" in capsys.readouterr().out


def test_chat_follow_ups_use_the_earlier_turn_until_cleared(bot: NewsBot) -> None:
    script = f"{SEED_QUESTION}\nAnd why did they do it?\n/clear\nAnd why did they do it?\n/quit\n"
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(bot.settings.data_dir), "chat"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split("(conversation cleared)")
    assert "Morgan Stanley" in before and "24,500" in before
    assert f"(searched for: {SEED_QUESTION} And why did they do it?)" in before
    assert "(searched for" not in after  # no earlier turn to lean on any more
    assert "I could not find an answer" in after


def test_a_damaged_store_is_not_passed_off_as_a_user_error(tmp_path: Path) -> None:
    """Only what the user can fix is one line with exit 2; anything else shows its
    traceback, so that a bug report has it."""
    store = tmp_path / "chroma"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(tmp_path), "stats"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode not in (0, 2), done.stderr
    assert "Traceback" in done.stderr


def test_the_publisher_filter_and_its_older_name(
    sample_bot: NewsBot, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "What happened to interest rates?"
    data_dir = str(sample_bot.settings.data_dir)
    for flag in ("--publisher", "--source"):
        argv = ["--data-dir", data_dir, "ask", "--json", flag, "Ledger Wire"]
        assert main([*argv, question]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["sources"] and {s["publisher"] for s in data["sources"]} == {"Ledger Wire"}


def terminal_safe(shown: bytes) -> str:
    """What a command printed, checked to hold nothing a terminal acts on."""
    text = shown.decode("utf-8")
    assert not TERMINAL_CONTROL.search(text), repr(text)
    return text


def test_escape_sequences_in_news_never_reach_the_terminal(tmp_path: Path) -> None:
    """A title, publisher, URL or text may carry escape sequences: they are not stored,
    the ingest, the answer and the stats print none, and the title still reads."""
    news = tmp_path / "hostile.jsonl"
    record = {**HOSTILE, "text": HOSTILE_TEXT, "published": "2025-03-03"}
    news.write_text(json.dumps(record) + "\n", encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    question = "Why did cobalt miners strike?"
    shown = []
    for command in (
        ["ingest", str(news)],
        ["ask", question],
        ["stats"],
        ["ask", "--json", question],
    ):
        done = subprocess.run([NEWSBOT, *data, *command], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        err = done.stderr
        if command[0] == "ingest":  # its progress bar redraws itself after a \r
            err = err.replace(b"\r", b"")
        terminal_safe(err)
        shown.append(terminal_safe(done.stdout))
    ingested, answered, stats, as_json = shown
    assert "added 1, unchanged 0, replaced 0, failed 0" in ingested, ingested
    assert "Cobalt miners strike at Katanga — Ore Daily, 2025-03-03" in answered, answered
    assert "https://ore.example/cobalt" in answered
    assert "\n  Ore Daily (1)\n" in stats, stats
    stored = json.loads(as_json)["sources"][0]  # as stored: JSON would show any escape
    assert (stored["title"], stored["publisher"]) == (
        "Cobalt miners strike at Katanga",
        "Ore Daily",
    )
    assert stored["url"].startswith("https://ore.example/cobalt")
    assert not TERMINAL_CONTROL.search(stored["url"] + stored["text"]), stored


def test_a_store_written_before_still_prints_clean(
    sample_bot: NewsBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """News stored by an earlier version went in unfiltered: what prints it filters too."""
    old = sharing_models(sample_bot, Settings(data_dir=tmp_path / "data"))
    metadata = {**HOSTILE, "origin": "hostile.jsonl#1", "dated": False}
    vectors = old.index_embedder.encode([HOSTILE_TEXT])
    old.store.add_articles([StoredArticle("0badc0de", metadata, [HOSTILE_TEXT], vectors)])
    data = ["--data-dir", str(tmp_path / "data")]
    assert main([*data, "ask", "Why did cobalt miners strike?"]) == 0
    assert main([*data, "stats"]) == 0
    printed = capsys.readouterr()
    shown = terminal_safe(printed.out.encode()) + terminal_safe(printed.err.encode())
    assert "Cobalt miners strike at Katanga" in " ".join(shown.split()), shown


def test_global_flags_after_the_command_mean_what_they_mean_before_it(
    sample_bot: NewsBot, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(sample_bot.settings.data_dir)
    question = "What did the Bank of Japan do with rates?"
    answers = []
    for argv in (
        ["--data-dir", data_dir, "--k", "2", "ask", "--json", question],
        ["ask", "--json", "--data-dir", data_dir, "--k", "2", question],
        ["--data-dir", data_dir, "ask", "--k", "2", "--json", question],  # one each side
    ):
        assert main(argv) == 0
        answer = json.loads(capsys.readouterr().out)
        answers.append((answer["answer"], answer["sources"]))
    assert answers[0][0] and answers[0] == answers[1] == answers[2]
    assert len(answers[0][1]) <= 2
    parse = build_parser().parse_args
    assert parse(["--k", "3", "stats"]).k == 3  # not overwritten by stats' own parser
    assert parse(["eval", "folder", "--llm", "gguf:m.gguf"]).llm == "gguf:m.gguf"
    assert main(["stats", "--auth", "analyst:s3cret"]) == 2  # refused after it too
    assert "NEWSBOT_AUTH" in capsys.readouterr().err


def test_help_shows_each_default_and_what_each_setting_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert set(METAVARS) <= set(Settings.model_fields)  # a typo would silently fall back
    text = " ".join(build_parser().format_help().split())
    assert "--allow-private-urls {true,false}" in text
    assert "(default false) [NEWSBOT_ALLOW_PRIVATE_URLS]" in text
    assert "--chunk-size CHARS" in text and "(default 900)" in text
    assert "--max-upload-mb MB" in text and "--fetch-timeout SECONDS" in text
    assert "--embedding-backend {onnx-int8,torch}" in text
    assert f"(default {Settings().data_dir})" in text
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    shown = capsys.readouterr().out
    assert "settings: store" in shown and "--data-dir DIR" in shown
    assert shown.count("\n", 0, shown.index("\n\n")) < 5  # usage: own options, then [--SETTING]


def test_stats_reads_as_text_one_part_a_line(
    sample_bot: NewsBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--data-dir", str(sample_bot.settings.data_dir)]) == 0
    shown = capsys.readouterr().out
    assert "{" not in shown and "None" not in shown, shown
    for part in ("articles", "published", "publishers", "data dir", "store", "feeds"):
        assert f"\n{part}:" in f"\n{shown}", part
    assert "embedded Chroma" in shown and "Ledger Wire (" in shown
    assert "feeds:           none watched" in shown
    data_dir = tmp_path / "data"
    save_states(
        data_dir,
        {
            "https://a.example/rss": FeedState("https://a.example/rss", last_read="2025-03-06"),
            "https://b.example/rss": FeedState("https://b.example/rss", last_error="timed out"),
        },
    )
    assert main(["stats", "--data-dir", str(data_dir)]) == 0
    shown = capsys.readouterr().out
    assert "published:       no dated news" in shown
    assert "https://a.example/rss: last read 2025-03-06, last error: none" in shown
    assert "https://b.example/rss: never read, last error: timed out" in shown


def test_the_command_line_loads_no_model_or_store_until_a_command_needs_it() -> None:
    """What keeps `newsbot --help` quick (0.2 s, not 1.5 s), whatever the machine."""
    heavy = ("torch", "chromadb", "gradio", "onnxruntime", "transformers", "langchain_core")
    probe = f"import sys, bot.cli; print([m for m in {heavy} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
