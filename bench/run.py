"""`python -m bench.run`: ingest speed, answer latency and cold start, on Reuters-21578.

Ingest: the first `--sample` records (default 1000; `--full` all) of
`../shared/data/reuters21578.jsonl.gz` into a fresh temporary store; articles/s and
chunks/s exclude loading the model, which is timed on its own.

Latency: `--questions` questions made from the titles of ingested articles
("What happened with <title lowercased>?"), asked with the model already loaded, after
one unrecorded warm-up; the loop runs `--repeats` times and the table shows the median
of the runs' p50 and p95.

Cold start: `newsbot ask` as a fresh subprocess on the same store, wall time until the
first answer is printed (median of `--cold-runs`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.evaluate import open_text, percentile
from bot.newsbot import NewsBot
from bot.settings import Settings

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578.jsonl.gz"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="A .jsonl[.gz] corpus.")
    parser.add_argument("--full", action="store_true", help="Ingest every record.")
    parser.add_argument(
        "--sample", type=int, default=1000, help="Ingest the first N records (default 1000)."
    )
    parser.add_argument(
        "--questions", type=int, default=50, help="Questions per latency run (default 50)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Latency runs (default 3).")
    parser.add_argument(
        "--cold-runs", type=int, default=3, help="Cold `newsbot ask` starts (default 3)."
    )
    parser.add_argument("--out", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    if min(args.sample, args.questions, args.repeats, args.cold_runs) < 1:
        parser.error("--sample, --questions, --repeats and --cold-runs must be at least 1")
    return args


def read_records(path: Path, limit: int | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with open_text(path) as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def make_questions(records: list[dict[str, Any]], n: int, seed: int = 0) -> list[str]:
    """Title questions of a seeded sample of the ingested articles."""
    titles = sorted({str(r.get("title") or "").strip() for r in records} - {""})
    chosen = random.Random(seed).sample(titles, min(n, len(titles)))
    return [f"What happened with {title.lower()}?" for title in chosen]


def newsbot_command() -> list[str]:
    script = Path(sys.executable).parent / "newsbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def cold_start(data_dir: Path, question: str) -> float:
    """Seconds from starting `newsbot ask` to its exit with the answer printed."""
    started = time.perf_counter()
    subprocess.run(
        [*newsbot_command(), "--data-dir", str(data_dir), "ask", question],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"},
    )
    return time.perf_counter() - started


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    records = read_records(args.data, None if args.full else args.sample)
    settings = Settings().model_copy(update={"data_dir": data_dir})
    bot = NewsBot(settings)

    started = time.perf_counter()
    bot.embedder.encode(["warm up"])
    model_load = time.perf_counter() - started

    corpus = data_dir / "bench-corpus.jsonl"
    with corpus.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    report = bot.ingest([corpus], progress=True)
    read = len(report.added) + len(report.unchanged) + len(report.replaced)

    questions = make_questions(records, args.questions)
    bot.ask(questions[0])  # warm-up: first query opens the index
    p50s: list[float] = []
    p95s: list[float] = []
    for run in range(args.repeats):
        seconds = [bot.ask(question).seconds * 1000 for question in questions]
        p50s.append(percentile(seconds, 50))
        p95s.append(percentile(seconds, 95))
        print(
            f"latency run {run + 1}: p50 {p50s[-1]:.0f} ms, p95 {p95s[-1]:.0f} ms", file=sys.stderr
        )

    colds = [cold_start(data_dir, questions[0]) for _ in range(args.cold_runs)]
    return {
        "data": str(args.data),
        "articles_read": read,
        "failed": len(report.failed),
        "chunks": report.chunks,
        "ingest_seconds": round(report.seconds, 2),
        "ingest_articles_per_s": round(read / report.seconds, 2),
        "ingest_chunks_per_s": round(report.chunks / report.seconds, 2),
        "model_load_seconds": round(model_load, 2),
        "questions": len(questions),
        "question_source": "titles of ingested Reuters articles",
        "latency_p50_ms_runs": [round(v, 1) for v in p50s],
        "latency_p95_ms_runs": [round(v, 1) for v in p95s],
        "latency_p50_ms": round(statistics.median(p50s), 1),
        "latency_p95_ms": round(statistics.median(p95s), 1),
        "cold_start_seconds_runs": [round(v, 2) for v in colds],
        "cold_start_seconds": round(statistics.median(colds), 2),
        "cpu_count": os.cpu_count(),
    }


def format_table(results: dict[str, Any]) -> str:
    rows = [
        ("articles ingested", f"{results['articles_read']}", f"{results['chunks']} chunks"),
        ("ingest articles/s", f"{results['ingest_articles_per_s']:.1f}", "model load excluded"),
        ("ingest chunks/s", f"{results['ingest_chunks_per_s']:.1f}", ""),
        ("model load (s)", f"{results['model_load_seconds']:.1f}", ""),
        (
            "answer p50 (ms)",
            f"{results['latency_p50_ms']:.0f}",
            f"median of {len(results['latency_p50_ms_runs'])} runs x {results['questions']} q",
        ),
        ("answer p95 (ms)", f"{results['latency_p95_ms']:.0f}", "median of the runs"),
        (
            "cold `newsbot ask` (s)",
            f"{results['cold_start_seconds']:.1f}",
            f"median of {len(results['cold_start_seconds_runs'])}",
        ),
    ]
    first = max(len(r[0]) for r in rows)
    second = max(len(r[1]) for r in rows)
    return "\n".join(
        f"{name.ljust(first)}  {value.rjust(second)}  {note}".rstrip() for name, value, note in rows
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_file():
        print(f"bench: {args.data} does not exist", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        results = bench(args, Path(scratch))
    print(format_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
