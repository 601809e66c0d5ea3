"""`newsbot eval DIR`: answer a question set and measure how well the answers hold up.

DIR holds `corpus.jsonl[.gz]` (articles with `id`) and `questions.jsonl` (RealTimeQA
style: `question`, `choices`, `answer`, `answer_index`, `date`, `pool`, `answer_in_pool`).
The corpus is ingested into a store of its own (or the `--data-dir` given), reused on
later runs through a marker file, then every sampled question is asked "as of" its date.

"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.eval.data import (
    Selection,
    find_corpus,
    load_questions,
    marker_path,
    read_marker,
    sample_questions,
    write_marker,
    write_pool_corpus,
)
from bot.eval.metrics import Question, compute_metrics, score_answer
from bot.eval.report import format_curve, format_reliability, format_table
from bot.eval.search_phrases import as_search_phrase
from bot.settings import Settings
from ingest.errors import BadInput, BadSetting

_CORPUS_MB = 16_384.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="Folder with corpus.jsonl[.gz] and questions.jsonl.")
    parser.add_argument(
        "--limit", type=int, default=None, help="Ask a random sample of N questions (default all)."
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the sample (default 0).")
    parser.add_argument(
        "--markets-only", action="store_true", help="Only the questions marked `markets`."
    )
    parser.add_argument(
        "--corpus",
        choices=["pool", "full"],
        default="pool",
        help="Ingest only the sampled questions' search pools (default) or the whole corpus.",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON report (default eval-<UTC time>.json)."
    )
    parser.add_argument(
        "--questions",
        type=Path,
        default=None,
        help="Questions file to ask instead of DIR/questions.jsonl (a subset, e.g. one fold).",
    )
    parser.add_argument(
        "--search-phrases",
        action="store_true",
        help="Ask each question as a search phrase, without question words.",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.newsbot import NewsBot

    folder = Path(args.dir).expanduser().resolve()
    corpus = find_corpus(folder)
    if args.limit is not None and args.limit < 1:
        raise BadSetting("--limit must be at least 1")
    questions = sample_questions(
        load_questions(args.questions or folder / "questions.jsonl"),
        args.limit,
        args.seed,
        args.markets_only,
    )
    if args.search_phrases:
        questions = [{**q, "question": as_search_phrase(str(q["question"]))} for q in questions]
    if not questions:
        raise BadInput("no questions to ask (is --markets-only leaving none?)")

    pool_ids = frozenset(str(i) for q in questions for i in q.get("pool") or [])
    selection = Selection(corpus, args.corpus, pool_ids if args.corpus == "pool" else None)
    # An explicit --data-dir is the store to use; otherwise each selection gets its own
    # store under the settings' data dir, so eval never mixes into the user's news.
    if getattr(args, "data_dir", None) is not None:
        data_dir = Path(settings.data_dir)
    else:
        data_dir = Path(settings.data_dir) / "eval" / selection.key()
    settings = settings.model_copy(update={"data_dir": data_dir})
    # Every answer is drafted, whatever its evidence, so that the abstention curve can be
    # drawn; the configured `min_evidence` is then applied exactly as the bot applies it.
    # The corpus is the eval's own, trusted and big (DEV unpacks to 106 MB): the limit on
    # one file, there against uploads that unpack into gigabytes, is not for it.
    bot = NewsBot(settings.model_copy(update={"min_evidence": 0.0, "max_file_mb": _CORPUS_MB}))

    ingest_info = _ensure_ingested(bot, selection, settings)
    print(_ingest_line(ingest_info, data_dir), file=sys.stderr)

    records = _ask_all(bot, questions, settings.evidence_threshold())
    metrics = compute_metrics(records, ingest_info)
    print(format_table(metrics))
    print(format_curve(metrics["abstention_curve"], settings.evidence_threshold()))
    print(format_reliability(metrics["reliability"]))

    out = args.out or Path(f"eval-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json")
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics,
        "settings": {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "newsbot": settings.model_dump(mode="json"),
            "collection": bot.store.name,
            "data_dir": str(data_dir),
            "corpus": str(corpus),
            "corpus_mode": selection.mode,
            "question_ids": [q.get("id") for q in questions],
        },
        "ingest": ingest_info,
        "records": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _ensure_ingested(bot: Any, selection: Selection, settings: Settings) -> dict[str, Any]:
    """Ingest the selection unless the marker says this store already holds it."""
    identity = selection.identity(bot.store.name, settings.chroma_url)
    marker_file = marker_path(Path(settings.data_dir), bot.store.name)
    marker = read_marker(marker_file, identity)
    if marker is not None and bot.store.chunk_count() > 0:
        return {**marker["ingest"], "reused": True, "marker": str(marker_file)}

    held_before = bot.store.chunk_count()
    if held_before:
        print(
            f"note: {settings.data_dir} already holds {held_before} chunks that its marker "
            "does not vouch for; answers draw on them too",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as scratch:
        missing = 0
        if selection.ids is None:
            source = selection.corpus
        else:
            source, written = write_pool_corpus(selection.corpus, set(selection.ids), Path(scratch))
            missing = len(selection.ids) - written
        report = bot.ingest([source], progress=True)
    read = len(report.added) + len(report.unchanged) + len(report.replaced)
    if not read and report.failed:  # not one article: every figure would be a silent zero
        failure = report.failed[0]
        raise BadInput(f"the eval corpus could not be read: {failure.item}: {failure.reason}")
    info = {
        "articles_read": read,
        "added": len(report.added),
        "unchanged": len(report.unchanged),
        "replaced": len(report.replaced),
        "failed": len(report.failed),
        "missing_from_corpus": missing,
        "chunks": report.chunks,
        "seconds": round(report.seconds, 3),
        "articles_per_s": round(read / report.seconds, 2) if report.seconds else None,
        "chunks_per_s": round(report.chunks / report.seconds, 2) if report.seconds else None,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_marker(marker_file, {**identity, "ingest": info})
    return {**info, "reused": False, "marker": str(marker_file)}


def _ingest_line(info: dict[str, Any], data_dir: Path) -> str:
    if info["reused"]:
        return (
            f"reusing the store in {data_dir} (ingested {info['at']}: {info['articles_read']} "
            f"articles at {info['articles_per_s']} articles/s)"
        )
    extra = f", {info['missing_from_corpus']} pool ids not in corpus" * bool(
        info["missing_from_corpus"]
    )
    return (
        f"ingested {info['articles_read']} articles ({info['added']} new, "
        f"{info['failed']} failed{extra}) into {data_dir} in {info['seconds']:.1f} s"
    )


def _ask_all(bot: Any, questions: Sequence[Question], min_evidence: float) -> list[dict[str, Any]]:
    # One unrecorded question first: model loading and index warm-up are not latency.
    bot.ask(str(questions[0]["question"]), as_of=date.fromisoformat(questions[0]["date"]))
    records = []
    for q in tqdm(questions, desc="Asking", unit="question", file=sys.stderr):
        answer = bot.ask(str(q["question"]), as_of=date.fromisoformat(q["date"]))
        records.append(score_answer(q, answer, min_evidence))
    return records
