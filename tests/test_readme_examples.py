"""Every question the README (and the docs pages it links) shows, and every example
question the web chat offers, gets a sensible answer on the `make demo` data: the bundled
sample news alone, in a store of its own (conftest's `sample_bot`: no seed article).

The questions are read from the pages themselves, so a rewritten page is checked as it
stands: `newsbot ask ... "QUESTION"` command lines (parsed by the CLI's own parser, so
their flags apply), `.ask(...)`/`.stream(...)` calls in Python blocks (their literal
options apply; `history=` makes a follow-up of the question it was built from), any other
quoted question in a code block, and the quoted questions of the README's opening and
quick start. The oracles are read off the sample news file, not from the code under test.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import Answer, NewsBot
from bot.cli import build_parser
from tests.conftest import REPO, SAMPLE_NEWS, SEED_QUESTION
from ui.examples import example_questions

README = REPO / "README.md"
MARKER = re.compile(r"\[(\d+)\]")
_FENCE = re.compile(r"^(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_QUOTED = re.compile(r"“([^”\n]+\?)”|\"([^\"\n]+\?)\"|'([^'\n]+\?)'")
_DOC_LINK = re.compile(r"\]\((docs/[\w./-]+\.md)\)")
_ASKING = frozenset({"ask", "stream"})
_OPTIONS = ("since", "until", "as_of", "publishers", "entities")
# Words that carry no subject, for the oracle's own "content word" test.
_FILLER = frozenset(
    """a an and any are as at be been by can could did do does for from had has have how i
    in into is it its of on or said say says should that the their them there these they
    this to was were what when where which who whom why will with would you week today
    latest recently last month year moved move happen happened""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Shown:
    """A question a page shows, with the options it is shown with."""

    question: str
    where: str  # "docs/cli.md:6"
    options: tuple[tuple[str, Any], ...] = ()
    follows: Shown | None = field(default=None, compare=False)  # `history=` built from it

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)


# ------------------------------------------------------------------ the pages, read


def pages() -> list[tuple[str, str]]:
    """The README and the docs pages it links, as (name, text)."""
    text = README.read_text(encoding="utf-8")
    linked = dict.fromkeys(_DOC_LINK.findall(text))
    found = [("README.md", text)]
    found += [(page, (REPO / page).read_text(encoding="utf-8")) for page in linked]
    return found


def shown_questions(name: str, text: str, opening: bool) -> list[Shown]:
    """The questions `text` shows; with `opening`, also those quoted in its prose up to
    the end of its quick start (the README's)."""
    found: list[Shown] = []
    for match in _FENCE.finditer(text):
        first_line = text.count("\n", 0, match.start(3)) + 1
        found += _block_questions(name, match.group(2), match.group(3), first_line)
    for number, line in enumerate(text.splitlines(), start=1):
        for span in re.findall(r"`([^`\n]+)`", line):  # a command in running text
            found += _command(span, f"{name}:{number}")
    if opening:
        prose = re.sub(r"`[^`\n]+`", "", _FENCE.sub("", _opening(text)))
        for match in _QUOTED.finditer(prose):
            question = next(group for group in match.groups() if group)
            found.append(Shown(question, f"{name} (opening)"))
    return list(dict.fromkeys(found))


def _opening(text: str) -> str:
    """The text before the section after "Quick start" (or before the first section)."""
    headings = list(re.finditer(r"^## +(.*)$", text, re.MULTILINE))
    for index, heading in enumerate(headings):
        if heading.group(1).strip().lower().startswith("quick start"):
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            return text[:end]
    return text[: headings[0].start()] if headings else text


def _block_questions(name: str, language: str, body: str, first_line: int) -> list[Shown]:
    found: list[Shown] = []
    taken: set[int] = set()  # lines whose question came with its options
    for offset, line in enumerate(body.splitlines()):
        commanded = _command(line, f"{name}:{first_line + offset}")
        if commanded:
            found += commanded
            taken.add(offset)
    try:
        tree = ast.parse(body) if language in ("python", "py", "") else None
    except SyntaxError:
        tree = None
    if tree is not None:
        for shown, lines in _calls(tree, name, first_line):
            found.append(shown)
            taken.update(lines)
    for offset, line in enumerate(body.splitlines()):
        if offset in taken:
            continue
        for match in _QUOTED.finditer(line):
            question = next(group for group in match.groups() if group)
            found.append(Shown(question, f"{name}:{first_line + offset}"))
    return found


def _command(line: str, where: str) -> list[Shown]:
    """The question of a `newsbot ... ask ... "QUESTION"` line, with its flags."""
    if "ask" not in line or "?" not in line:
        return []
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return []
    start = next((i for i, w in enumerate(words) if Path(w).name == "newsbot"), None)
    if start is None:
        return []
    argv = []
    for word in words[start + 1 :]:
        if word in ("|", "||", "&&", ";", ">", "2>&1"):
            break
        argv.append(word)
    if "ask" not in argv or not any(w.endswith("?") for w in argv):
        return []
    with contextlib.redirect_stderr(io.StringIO()) as errors:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: the CLI refuses the command shown: {errors.getvalue()}")
    options = {
        "since": args.since,
        "until": args.until,
        "as_of": args.as_of,
        "publishers": tuple(args.publisher) or None,
        "entities": tuple(args.entity) or None,
    }
    kept = tuple((key, value) for key, value in options.items() if value)
    return [Shown(args.question, where, kept)]


def _calls(tree: ast.AST, name: str, first_line: int) -> Iterator[tuple[Shown, set[int]]]:
    """`.ask("...")`/`.stream("...")` calls, in order, with their literal options; one
    with `history=` follows the question whose answer the history was built from."""
    by_variable: dict[str, Shown] = {}
    assigned: dict[str, ast.expr] = {}
    earlier: Shown | None = None
    nodes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.Expr)),
        key=lambda n: n.lineno,
    )
    for node in nodes:
        call = node.value
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                assigned[target.id] = node.value
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in _ASKING
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            continue
        options: list[tuple[str, Any]] = []
        follows: Shown | None = None
        for keyword in call.keywords:
            if keyword.arg == "history":
                follows = _built_from(keyword.value, assigned, by_variable) or earlier
            elif keyword.arg in _OPTIONS:
                with contextlib.suppress(ValueError):
                    value = ast.literal_eval(keyword.value)
                    options.append(
                        (keyword.arg, tuple(value) if isinstance(value, list) else value)
                    )
        where = f"{name}:{first_line + call.lineno - 1}"
        shown = Shown(call.args[0].value, where, tuple(options), follows)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            by_variable[node.targets[0].id] = shown
        if call.func.attr == "ask":
            earlier = shown
        lines = set(range(call.lineno - 1, (call.end_lineno or call.lineno)))
        yield shown, lines


def _built_from(
    history: ast.expr, assigned: dict[str, ast.expr], by_variable: dict[str, Shown]
) -> Shown | None:
    """The asked question whose answer a `history` value names (`answer.text`)."""
    value = assigned.get(history.id, history) if isinstance(history, ast.Name) else history
    names = [n.id for n in ast.walk(value) if isinstance(n, ast.Name)]
    return next((by_variable[n] for n in names if n in by_variable), None)


def all_shown() -> list[Shown]:
    found: list[Shown] = []
    for index, (name, text) in enumerate(pages()):
        found += shown_questions(name, text, opening=index == 0)
    unique: dict[tuple[str, tuple[tuple[str, Any], ...], str], Shown] = {}
    for shown in found:
        key = (shown.question, shown.options, shown.follows.question if shown.follows else "")
        unique.setdefault(key, shown)
    return list(unique.values())


SHOWN = all_shown()


# ------------------------------------------------------------ the sample news, read


def sample_articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE_NEWS.read_text(encoding="utf-8").splitlines()]


def newest_sample_day() -> date:
    return max(date.fromisoformat(a["published"]) for a in sample_articles() if a.get("published"))


def hang_seng_raisers() -> set[str]:
    """Who raised a Hang Seng target in the sample news ("Morgan Stanley lifted its
    year-end target for the Hang Seng Index ...", "Harrow & Vane raised its ...")."""
    raised = re.compile(r"((?:[A-Z][\w]*\s(?:&\s)?)+?)(?:raised|lifted) its (?:year-end )?target")
    return {
        match.group(1).strip()
        for article in sample_articles()
        if "Hang Seng" in article["text"]
        for match in raised.finditer(article["text"])
    }


def hang_seng_days() -> set[str]:
    return {
        f"{date.fromisoformat(a['published']):%-d %b %Y}"
        for a in sample_articles()
        if a.get("published") and "Hang Seng" in a["text"]
    }


def check_raisers(answer: Answer) -> None:
    named = {broker for broker in hang_seng_raisers() if broker in answer.text}
    assert len(named) >= 2, (named, answer.text)


def check_timeline(answer: Answer) -> None:
    days = [line[2:].split(":", 1)[0] for line in answer.text.splitlines()]
    assert len(days) >= 3 and set(days) <= hang_seng_days(), days
    parsed = [datetime.strptime(day, "%d %b %Y").date() for day in days]
    assert parsed == sorted(parsed), days  # oldest first


def check_alibaba(answer: Answer) -> None:
    pledged = {
        match
        for article in sample_articles()
        for match in re.findall(r"invest at least ([\d,.]+ billion yuan)", article["text"])
    }
    assert pledged and any(figure in answer.text for figure in pledged), answer.text


# What the sample news says the answers to the pages' own questions hold.
EXPECTED = {
    (SEED_QUESTION, ()): check_raisers,
    ("How have Hang Seng targets changed?", ()): check_timeline,
    ("How much will Alibaba invest in AI?", (("entities", ("9988.HK",)),)): check_alibaba,
}


def content_words(text: str) -> set[str]:
    """The words of a question that say what it is about, cut to 5 letters so that
    "targets" finds "target" and "invest" "investment"."""
    words = re.findall(r"[a-z0-9][a-z0-9.&'-]*", text.lower())
    return {w.strip(".'")[:5] for w in words if w not in _FILLER and len(w.strip(".'")) > 1}


def names_in(question: str) -> list[str]:
    """Capitalised words after the first, joined ("Hang Seng", "ECB", "Alibaba")."""
    body = re.sub(r"^\s*(?:as of \d{4}-\d{2}-\d{2}:\s*)?\S+", "", question, flags=re.I)
    found = re.findall(r"\b[A-Z][\w&.]*(?:\s+[A-Z][\w&.]*)*", body)
    return [n.rstrip(".") for n in found if n.lower() not in _FILLER]


def mentions(text: str, words: set[str]) -> bool:
    found = {w[:5] for w in re.findall(r"[a-z0-9][a-z0-9.&'-]*", text.lower())}
    return bool(words & found)


# -------------------------------------------------------------------- the checks


def asked(bot: NewsBot, shown: Shown) -> tuple[Answer, str]:
    """The answer, and the words the conversation so far was about."""
    if shown.follows is None:
        return bot.ask(shown.question, **shown.kwargs), shown.question
    before, talked = asked(bot, shown.follows)
    history = [
        {"role": "user", "content": before.question},
        {"role": "assistant", "content": before.text},
    ]
    return bot.ask(shown.question, history=history, **shown.kwargs), f"{talked} {shown.question}"


def check_sensible(answer: Answer, talked: str, options: dict[str, Any]) -> None:
    """Not empty, not an error; cited sources that are about the question and within its
    dates; an abstention that says what it did find."""
    text = answer.text
    assert text.strip() and "Traceback" not in text and not text.startswith("⚠"), text
    by_n = {s.n: s for s in answer.sources}
    assert {int(n) for n in MARKER.findall(text)} <= set(by_n), text
    prefixed = re.match(r"\s*as of (\d{4}-\d{2}-\d{2})", talked, re.I)
    first = options.get("since")
    last = options.get("until") or options.get("as_of") or (prefixed.group(1) if prefixed else None)
    for source in answer.sources:
        if first:
            assert source.published and source.published.isoformat() >= str(first), source
        if last:
            assert source.published is None or source.published.isoformat() <= str(last)
    if answer.abstained:
        named = {*names_in(talked), *(str(v) for v in options.values() if isinstance(v, str))}
        for value in options.values():
            named.update(value if isinstance(value, tuple) else ())
        assert answer.sources or any(n.lower() in text.lower() for n in named), text
        return
    cited = answer.cited_sources
    assert cited, text
    if re.match(r"\s*what moved (?:the )?markets\b", talked, re.I):
        return  # a brief: its stories are whatever moved markets, checked by date above
    wanted = content_words(talked)
    for source in cited:
        assert mentions(f"{source.title} {source.text}", wanted), (source.title, wanted)
    for name in names_in(talked):
        assert any(name.lower() in f"{s.title} {s.text}".lower() for s in cited), (name, text)


def test_the_pages_show_questions_and_the_extractor_reads_each_form() -> None:
    questions = {shown.question for shown in SHOWN}
    assert SEED_QUESTION in questions  # the README's opening and quick start ask it
    assert len(SHOWN) >= 3, SHOWN
    page = """Intro (“Why did gold rise?”), then:

## Quick start

```sh
.venv/bin/newsbot -v ask --since 2025-02-01 "What did the ECB decide?"  # a comment?
printf 'one?\\ntwo?\\n' | newsbot ask -
```

```python
answer = nb.ask("Who raised targets?", since="2025-01-01",
                publishers=["Reuters"])
stream = nb.stream("What happened to gold?")
history = [{"role": "user", "content": answer.question},
           {"role": "assistant", "content": answer.text}]
nb.ask("And why?", history=history)
client.predict(
    "Who cut rates?",  # question
)
```

## Later

Prose (“Not this one?”) and `newsbot ask --entity 9988.HK "How much?"`.
"""
    found = shown_questions("page.md", page, opening=True)
    by_question = {shown.question: shown for shown in found}
    assert set(by_question) == {
        "Why did gold rise?",
        "What did the ECB decide?",
        "Who raised targets?",
        "What happened to gold?",
        "And why?",
        "Who cut rates?",
        "How much?",
    }
    assert by_question["What did the ECB decide?"].kwargs == {"since": "2025-02-01"}
    assert by_question["Who raised targets?"].kwargs == {
        "since": "2025-01-01",
        "publishers": ("Reuters",),
    }
    follow_up = by_question["And why?"].follows
    assert follow_up is not None and follow_up.question == "Who raised targets?"
    assert by_question["How much?"].kwargs == {"entities": ("9988.HK",)}


@pytest.mark.parametrize("shown", SHOWN, ids=[f"{s.where} {s.question}" for s in SHOWN])
def test_a_question_the_pages_show_is_answered_sensibly(sample_bot: NewsBot, shown: Shown) -> None:
    answer, talked = asked(sample_bot, shown)
    check_sensible(answer, talked, shown.kwargs)
    expected = EXPECTED.get((shown.question, shown.options))
    if expected is not None and shown.follows is None:
        expected(answer)


def test_the_web_chats_example_questions_are_answered_sensibly(sample_bot: NewsBot) -> None:
    questions = example_questions(sample_bot.store.article_metadatas())
    assert questions
    for question in questions:
        check_sensible(sample_bot.ask(question), question, {})


def test_what_a_speaker_the_news_never_quotes_said_is_not_found_and_others_offered(
    sample_bot: NewsBot,
) -> None:
    """The README's firm is quoted in the seed article only, which the demo lacks."""
    articles = sample_articles()
    assert not any("Federated Hermes" in a["text"] + a["title"] for a in articles)
    deepseek = {a["title"] for a in articles if "DeepSeek" in a["text"] + a["title"]}
    answer = sample_bot.ask("What did Federated Hermes say about DeepSeek?")
    assert answer.text.startswith("I found no statement by Federated Hermes"), answer.text
    assert "no article mentions Federated Hermes" in answer.text
    assert answer.abstained  # what it offers instead is not an answer to the question
    assert answer.cited_sources and all(s.title in deepseek for s in answer.cited_sources)
    assert all("DeepSeek" in s.quote for s in answer.cited_sources)


def test_this_week_on_news_that_ended_long_ago_answers_for_the_latest_week(
    sample_bot: NewsBot,
) -> None:
    newest = newest_sample_day()
    today = date.today()
    assert today - newest > timedelta(days=7)  # the premise: the demo's news is old
    answer = sample_bot.ask("What moved markets this week?")
    first_line = answer.text.splitlines()[0]
    assert first_line.startswith("No news is stored for this week"), answer.text
    assert f"{today:%-d %b %Y}" in first_line and f"{newest:%-d %b %Y}" in first_line
    assert not answer.abstained and answer.cited_sources
    week = (newest - timedelta(days=7)).isoformat(), newest.isoformat()
    for source in answer.sources:
        assert source.published and week[0] <= source.published.isoformat() <= week[1]
    assert answer.as_of == newest  # the day "this week" was counted from
