"""`newsbot`: ingest, ask, stats, serve and eval from the terminal.

Every setting of `Settings` is also a global flag (`--data-dir`, `--chroma-url`, ...),
generated from the settings object so that the two never drift apart. Global flags go
before or after the command. This module imports only what parsing needs: `newsbot
--help` must not wait for Chroma, ONNX Runtime or the web chat (each command imports
its own).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from bot import __version__
from bot.eval import command as eval_command
from bot.settings import GROUPS, Settings
from ingest.cleaning import printable
from ingest.errors import NewsbotError

# Secrets: a flag shows in every user's `ps`, so these come only from the environment.
ENV_ONLY = ("auth",)
# What a setting's value is where its type alone does not say: the unit of a number, the
# kind of a path or text. The others show N (whole number), NUMBER or TEXT.
METAVARS = {
    "data_dir": "DIR",
    "model_cache_dir": "DIR",
    "auth_file": "FILE",
    "embedding_model": "NAME_OR_DIR",
    "chroma_url": "URL",
    "llm_base_url": "URL",
    "llm": "WRITER",
    "llm_api_key": "KEY",
    "chunk_size": "CHARS",
    "chunk_overlap": "CHARS",
    "max_chunk_chars": "CHARS",
    "max_article_chars": "CHARS",
    "llm_context": "TOKENS",
    "llm_max_tokens": "TOKENS",
    "fetch_timeout": "SECONDS",
    "llm_timeout": "SECONDS",
    "max_file_mb": "MB",
    "max_html_mb": "MB",
    "max_upload_mb": "MB",
    "min_evidence": "0-1",
}
_NUMBER = {int: "N", float: "NUMBER"}
# Publishers `stats` lists by name; a store of a whole news archive has thousands.
STATS_PUBLISHERS = 10


class _SettingsFormatter(argparse.HelpFormatter):
    """Usage names a command's own options and `[--SETTING VALUE]` for the settings: all
    of them in every usage line made a 25-line dump of each mistyped command."""

    _SETTING = argparse.Action(["--SETTING"], dest="setting", metavar="VALUE")

    def add_usage(
        self,
        usage: str | None,
        actions: Any,
        groups: Any,
        prefix: str | None = None,
    ) -> None:
        own = [action for action in actions if action.dest not in Settings.model_fields]
        if len(own) < len(actions):
            own.append(self._SETTING)
        super().add_usage(usage, own, groups, prefix)


def _global_flags(parser: argparse.ArgumentParser) -> None:
    """`-v` and one flag per setting, on the main parser and on every command's.

    Their default is SUPPRESS: a flag not given leaves no value behind, so a value given
    before the command is not overwritten by the command's parser (it parses after).
    """
    parser.formatter_class = _SettingsFormatter
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="Log debug details."
    )
    for title, names in GROUPS.items():
        group = parser.add_argument_group(f"settings: {title} (also NEWSBOT_* variables)")
        for name in names:
            flag = "--" + name.replace("_", "-")
            if name in ENV_ONLY:
                # Taken only to be refused with the reason and the way that works.
                parser.add_argument(
                    flag, dest=f"refused_{name}", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                )
                continue
            group.add_argument(flag, dest=name, default=argparse.SUPPRESS, **_flag_shape(name))


def _flag_shape(name: str) -> dict[str, Any]:
    """What a setting's flag takes (type, choices, metavar) and its help with the default."""
    field = Settings.model_fields[name]
    annotation = _without_none(field.annotation)
    description = field.description or ""
    shape: dict[str, Any] = {"type": str, "metavar": METAVARS.get(name, "TEXT")}
    if annotation is bool:
        shape = {"type": str.lower, "choices": ("true", "false")}
    elif get_origin(annotation) is Literal:
        shape = {"type": str, "choices": get_args(annotation)}
    elif annotation in (int, float):
        shape = {"type": annotation, "metavar": METAVARS.get(name, _NUMBER[annotation])}
    # A description that speaks of its default explains it better than a value would.
    default = "" if "default" in description else f" (default {_shown(field)})"
    # argparse formats help with %
    shape["help"] = f"{description}{default} [NEWSBOT_{name.upper()}]".replace("%", "%%")
    return shape


def _without_none(annotation: Any) -> Any:
    """`float | None` -> float: a flag gives a value or is left out."""
    if get_origin(annotation) in (Union, UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not NoneType]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _shown(field: FieldInfo) -> str:
    """A default as it is typed on the command line."""
    value = field.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    return str(value) or "empty"


def _setting_problem(error: Any) -> str:
    """One pydantic error as the flag and variable it concerns and what is wrong."""
    name = str(error["loc"][0]) if error.get("loc") else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    if not name:
        return message
    return f"--{name.replace('_', '-')} (NEWSBOT_{name.upper()}): {message}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Answer questions about market news, with citations."
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    _global_flags(parser)
    parser.set_defaults(verbose=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    watch = commands.add_parser(
        "watch",
        help="Keep feeds current: read them every --every and ingest what changed.",
        description="Each round asks every feed only for what changed (ETag / "
        "Last-Modified), ingests the new and changed entries, and prints one line. A feed "
        "that is down is reported and asked again next round. While `newsbot serve` runs "
        "on this data dir, the web chat stores what the rounds find. A round in which no "
        "feed could be read (a 304 Not Modified counts as read) ends the command with exit "
        "status 1 and each feed's reason on stderr, so that a service manager or a "
        "scheduler sees the failure (restart it on failure to keep watching).",
    )
    watch.add_argument("feeds", nargs="+", metavar="FEED_OR_URL")
    watch.add_argument(
        "--every",
        default="15m",
        metavar="DURATION",
        help="Time between rounds: 30s, 15m, 2h (default 15m).",
    )
    watch.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="N",
        help="Stop after this many rounds (default never).",
    )

    ingest = commands.add_parser("ingest", help="Add files, folders, URLs or feeds.")
    ingest.add_argument("items", nargs="+", metavar="PATH_OR_URL")
    ingest.add_argument("--json", action="store_true", help="Print the report as JSON.")

    ask = commands.add_parser("ask", help="Answer a question ('-': one per stdin line, JSONL).")
    ask.add_argument("question", help="The question, or '-' to read questions from stdin.")
    ask.add_argument("--json", action="store_true", help="Print the answer as JSON.")
    _filter_flags(ask)

    chat = commands.add_parser(
        "chat",
        help="A conversation in the terminal: follow-ups use the earlier turns.",
        description='Ask, then ask follow-ups ("and why did they do it?"). '
        "/clear forgets the conversation, /quit or Ctrl-D ends it.",
    )
    _filter_flags(chat)

    brief = commands.add_parser(
        "brief",
        help="The main stories of a window, one cited line each, most widely carried first.",
        description="The main stories of a window (default: the 7 days up to --until, else "
        "the newest news stored), copies of one story merged, ranked by how many "
        "publishers carried them.",
    )
    brief.add_argument("--json", action="store_true", help="Print the brief as JSON.")
    brief.add_argument(
        "--limit", type=int, default=8, metavar="N", help="Stories at most (default 8)."
    )
    _filter_flags(brief)

    stats = commands.add_parser("stats", help="Show what is stored.")
    stats.add_argument("--json", action="store_true", help="Print as JSON.")

    serve = commands.add_parser("serve", help="Start the web chat.")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="Interface to bind (default 127.0.0.1: this machine only).",
    )
    serve.add_argument(
        "--port", type=int, default=7860, metavar="PORT", help="Port (default 7860)."
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="Also answer requests addressed to this name (repeatable): the chat answers "
        "only 127.0.0.1, localhost, [::1] and the --host it binds, so that no outside "
        "page can reach it by rebinding its own name to this machine.",
    )
    serve.add_argument(
        "--mcp",
        action="store_true",
        help="Also serve the ask, search and brief tools to MCP clients (Claude Desktop, "
        "Cursor, ...) at /gradio_api/mcp/; needs pip install 'newsbot[mcp]'.",
    )

    evaluation = commands.add_parser("eval", help="Measure answer quality on a question set.")
    eval_command.add_arguments(evaluation)
    for command in commands.choices.values():
        _global_flags(command)
    return parser


def _filter_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", metavar="DATE", help="Only news published on or after this date (YYYY-MM-DD)."
    )
    parser.add_argument(
        "--until", metavar="DATE", help="Only news published on or before this date."
    )
    parser.add_argument(
        "--as-of", metavar="DATE", help='Reference date for "this week" and the like.'
    )
    parser.add_argument(
        "--publisher",
        "--source",  # its name before 0.2, kept for one release
        dest="publisher",
        action="append",
        default=[],
        metavar="NAME",
        help="Only news from this publisher (repeatable).",
    )
    parser.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="NAME",
        help="Only news naming this company, person, index or ticker (repeatable: any of "
        'them). "Alibaba", "Alibaba Group" and "9988.HK" are one company.',
    )


def _settings_from(args: argparse.Namespace) -> Settings:
    given = {
        name: getattr(args, name)
        for name in Settings.model_fields
        if getattr(args, name, None) is not None
    }
    return Settings(**given)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ENV_ONLY:
        if getattr(args, f"refused_{name}", None) is not None:
            flag, env = "--" + name.replace("_", "-"), f"NEWSBOT_{name.upper()}"
            print(
                f"newsbot: {flag} is not taken: a value on the command line shows in every "
                f"user's process list (ps); set {env} instead"
                + (", or --auth-file FILE" if name == "auth" else ""),
                file=sys.stderr,
            )
            return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings_from(args)
    except ValidationError as error:
        problems = "; ".join(_setting_problem(e) for e in error.errors())
        print(f"newsbot: bad setting: {problems}", file=sys.stderr)
        return 2
    from bot.newsbot import NewsBot

    bot = NewsBot(settings)
    try:
        if args.command == "ingest":
            return _ingest(bot, args)
        if args.command == "ask":
            return _ask(bot, args)
        if args.command == "chat":
            return _chat(bot, args)
        if args.command == "stats":
            return _stats(bot, args)
        if args.command == "brief":
            return _brief(bot, args)
        if args.command == "watch":
            return _watch(bot, args)
        if args.command == "serve":
            from ui.server import serve

            serve(
                bot,
                host=args.host,
                port=args.port,
                mcp=args.mcp,
                allowed_hosts=args.allowed_host,
            )
            return 0
        return eval_command.run(args, settings)
    except NewsbotError as error:  # what the user can fix; anything else is a bug
        print(f"newsbot: {printable(str(error))}", file=sys.stderr)
        return 2


def _store(bot: Any, items: list[str], progress: bool) -> dict[str, Any]:
    """Ingest here, or, while a web chat serves this data dir, have it ingest the items."""
    from ingest.sources.items import web_url
    from ui import server_lock

    lock = server_lock.live_lock(bot.settings.data_dir)
    if lock is None:
        return dict(bot.ingest(items, progress=progress).to_dict())
    if progress:
        print(f"handing the news to the web chat serving this data dir ({lock.url})")
    local = [item if web_url(item) else str(Path(item).resolve()) for item in items]
    return dict(server_lock.hand_over(lock, local, bot.settings.auth_pair()))


def _watch(bot: Any, args: argparse.Namespace) -> int:
    from bot.watch import Round, every_seconds, watch

    every = every_seconds(args.every)

    def report(done: Round) -> None:
        print(printable(done.line()), flush=True)
        for failure in done.failed:
            print(printable(f"FAILED {failure}"), file=sys.stderr, flush=True)

    last: Round | None = None
    with contextlib.suppress(KeyboardInterrupt):
        last = watch(
            args.feeds,
            Path(bot.settings.data_dir),
            bot.fetch_policy(),
            lambda items: _store(bot, items, progress=False),
            every,
            args.rounds,
            report,
        )
    if last is None:
        return 0
    print(
        f"newsbot watch: no feed could be read in round {last.number}; stopping",
        file=sys.stderr,
    )
    return 1


def _ingest(bot: Any, args: argparse.Namespace) -> int:
    report = _store(bot, args.items, progress=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for failure in report["failed"]:
            print(printable(f"FAILED {failure['item']}: {failure['reason']}"), file=sys.stderr)
        for notice in report["notices"]:
            print(printable(f"NOTE {notice['item']}: {notice['message']}"), file=sys.stderr)
        print(printable(report["summary"]))
    return 0 if not report["failed"] else 1


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "since": args.since,
        "until": args.until,
        "as_of": args.as_of,
        "publishers": args.publisher or None,
        "entities": args.entity or None,
    }


def _ask(bot: Any, args: argparse.Namespace) -> int:
    options = _filters(args)
    if args.question == "-":
        for line in sys.stdin:
            if line.strip():
                answer = bot.ask(line.strip(), **options)
                print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        return 0
    answer = bot.ask(args.question, **options)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(printable(answer.text))
    _print_sources(answer)
    return 0


def _brief(bot: Any, args: argparse.Namespace) -> int:
    answer = bot.brief(**_filters(args), limit=args.limit)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(printable(answer.question))
    print(printable(answer.text))
    _print_sources(answer)
    return 0


def _print_sources(answer: Any) -> None:
    if answer.sources:
        # An answer that declines but quotes what it has ("no statement by X; what others
        # said") cites those sources: they are not "none of them answers it".
        unanswered = answer.abstained and not answer.cited_sources
        print("\nThe closest articles (none of them answers it):" if unanswered else "")
    for source in answer.sources:
        mark = "*" if source.cited else " "
        date = source.published or "undated"
        print(printable(f"{mark}[{source.n}] {source.title} — {source.publisher or '?'}, {date}"))
        if source.url:
            print(printable(f"     {source.url}"))


def _chat(bot: Any, args: argparse.Namespace) -> int:
    """Read questions until /quit or end of input; stream each answer as it is written."""
    options = _filters(args)
    interactive = sys.stdin.isatty()
    history: list[dict[str, str]] = []
    if interactive:
        print("Ask about the news; follow-ups use the earlier turns. /clear, /quit.")
    while True:
        if interactive:
            print("\nyou> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() in ("/quit", "/exit"):
            return 0
        question = line.strip()
        if question == "/clear":
            history.clear()
            print("(conversation cleared)", flush=True)
            continue
        if not question:
            continue
        shown = ""
        try:
            stream = bot.stream(question, history=history, **options)
            for piece in stream:
                shown += piece
                print(printable(piece), end="", flush=True)
            answer = stream.answer
        except NewsbotError as error:  # a bad date: say so and keep the conversation
            print(printable(f"newsbot: {error}"), file=sys.stderr, flush=True)
            continue
        print()
        if answer.text != shown:  # a model's answer, after the check against the sources
            print(printable(f"\nChecked answer:\n{answer.text}"))
        if answer.searched:
            print(printable(f"(searched for: {answer.searched})"))
        _print_sources(answer)
        print("", flush=True)
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


def _stats(bot: Any, args: argparse.Namespace) -> int:
    stats = bot.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for line in _stats_lines(stats):
        print(printable(line))
    return 0


def _stats_lines(stats: dict[str, Any]) -> list[str]:
    """`bot.stats()` as a person reads it: one part a line, lists one item a line."""
    articles = f"{stats['articles']} in {stats['chunks']} chunks"
    if stats["undated_articles"]:
        articles += f" ({stats['undated_articles']} undated)"
    first, last = stats["first_published"], stats["last_published"]
    where = stats["chroma"]
    store = "embedded Chroma" if where == "embedded" else f"Chroma server at {where}"
    publishers = list(stats["publishers"].items())
    feeds = stats["feeds"]
    lines = [
        _row("articles", articles),
        _row("published", f"{first} to {last}" if first else "no dated news"),
        _row("publishers", len(publishers) or "none"),
        *(f"  {name} ({count})" for name, count in publishers[:STATS_PUBLISHERS]),
    ]
    if len(publishers) > STATS_PUBLISHERS:
        lines.append(f"  and {len(publishers) - STATS_PUBLISHERS} more (--json lists them all)")
    lines += [
        _row("data dir", stats["data_dir"]),
        _row("store", f"{store}, collection {stats['collection']}"),
        _row("embedding model", stats["embedding_model"]),
        _row("feeds", len(feeds) or "none watched"),
    ]
    for url, feed in feeds.items():
        read = f"last read {feed['last_read']}" if feed["last_read"] else "never read"
        lines.append(f"  {url}: {read}, last error: {feed['last_error'] or 'none'}")
    return lines


def _row(label: str, value: object) -> str:
    return f"{label + ':':<17}{value}"


if __name__ == "__main__":
    sys.exit(main())
