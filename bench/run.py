"""`python -m bench.run`: ingest speed, answer latency, cold start and store scaling.

Corpus: RealTimeQA DEV from `../shared/data/realtimeqa-dev` (11.6k news articles,
about 100k chunks). By default the first `--sample` articles (1,000) keep the run to a
few minutes; `--full` ingests all of them and scales the store to a million chunks.

Ingest: articles/s and chunks/s end to end (read, clean, chunk, embed, write vectors
and the BM25 index) into a fresh store, model loading excluded (timed on its own);
beside it the raw speed of the index encoder alone on the same chunks, and the ratio.

Latency: `--questions` DEV questions (seed 0) asked with the model loaded, after one
unrecorded warm-up, once with each question's own date as the reference (the date
filter) and once without; `--repeats` runs, the table shows the medians of the runs'
p50 and p95. Cold start: `newsbot ask` as a fresh process on the same store, wall time
to the printed answer (median of `--cold-runs`).

Serving: `bench.serving` on the same store: `--clients` users asking at once through a
real `newsbot serve`, and one user's questions idle and during an upload of `--upload`
further DEV articles (not with `--store`, whose store already holds them all).

Open loop: `bench.open_loop`: questions arriving at random at each of `--rates` per
second for `--rate-seconds`, while `newsbot watch` stores a feed round every 15 s; one
serve on an embedded store, and two on one `chroma run`.

Disk: `bench.disk`: the data dir per part, in MB and as a multiple of the article text.
Deployment: `bench.deployment`: how soon a second worker on a shared `chroma run`
answers from what the first ingested.

Scaling: `bench.scale` at each size of `--scale` (default 10k chunks; `--full`: 10k,
100k and 1M), see its docstring.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import deployment, disk, open_loop, scale, serving
from bench.corpus import DEV, dev_articles, dev_questions
from bot.eval.metrics import percentile
from bot.newsbot import NewsBot
from bot.settings import Settings
from ingest.chunking import chunk_text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--corpus", type=Path, default=DEV / "corpus.jsonl.gz", help="A .jsonl[.gz] corpus."
    )
    parser.add_argument("--full", action="store_true", help="Every article; scale to 1M chunks.")
    parser.add_argument(
        "--sample", type=int, default=1000, help="Ingest the first N articles (default 1000)."
    )
    parser.add_argument(
        "--questions", type=int, default=50, help="Questions per latency run (default 50)."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Latency runs (default 3).")
    parser.add_argument(
        "--cold-runs", type=int, default=3, help="Cold `newsbot ask` starts (default 3)."
    )
    parser.add_argument(
        "--catch-up-rounds",
        type=int,
        default=5,
        help="Articles the second worker of a shared chroma run must catch up on (0: skip).",
    )
    parser.add_argument(
        "--scale",
        help="Comma-separated store sizes in chunks (default 10000; with --full "
        "10000,100000,1000000; 0 skips).",
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="Time answers and cold starts on this filled data dir (e.g. the one "
        "`newsbot --data-dir D eval ... --corpus full` made) instead of ingesting; "
        "no ingest or scaling figures.",
    )
    parser.add_argument(
        "--clients", type=int, default=20, help="Concurrent users served (default 20; 0 skips)."
    )
    parser.add_argument(
        "--upload",
        type=int,
        default=1000,
        help="Articles uploaded while a user asks (default 1000; 0 skips).",
    )
    parser.add_argument(
        "--rates",
        default="1,2,4",
        help="Open-loop question rates per second, comma-separated ('' skips).",
    )
    parser.add_argument(
        "--rate-seconds", type=float, default=60.0, help="Open loop: seconds per rate."
    )
    parser.add_argument("--out", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    if min(args.sample, args.questions, args.repeats, args.cold_runs) < 1:
        parser.error("--sample, --questions, --repeats and --cold-runs must be at least 1")
    default = "10000,100000,1000000" if args.full else "10000"
    args.scale_sizes = [int(n) for n in (args.scale or default).split(",") if int(n) > 0]
    return args


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


def bench_ingest(bot: NewsBot, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    articles = dev_articles(args.corpus, None if args.full else args.sample)
    started = time.perf_counter()
    bot.index_embedder.encode(["warm up"])
    bot.embedder.encode(["warm up"])
    model_load = time.perf_counter() - started

    if args.full:
        corpus = args.corpus
    else:  # the same records, in a file of their own
        corpus = data_dir / "bench-corpus.jsonl"
        with corpus.open("w", encoding="utf-8") as out:
            for article in articles:
                record = {
                    "title": article.title,
                    "text": article.text,
                    "source": article.source,
                    "url": article.url,
                    "published": article.published.isoformat() if article.published else None,
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    report = bot.ingest([corpus], progress=True)
    read = len(report.added) + len(report.unchanged) + len(report.replaced)
    ingest_rss = scale.peak_rss_mb()

    settings = bot.settings
    texts = [
        chunk.embedding_text(article.title)
        for article in articles
        for chunk in chunk_text(
            article.text, settings.chunk_size, settings.chunk_overlap, settings.max_chunk_chars
        )
    ]
    started = time.perf_counter()
    bot.index_embedder.encode(texts)
    raw = len(texts) / (time.perf_counter() - started)
    sample = texts[:256]
    started = time.perf_counter()
    bot.embedder.encode(sample)
    full_model = len(sample) / (time.perf_counter() - started)
    chunks_per_s = report.chunks / report.seconds
    return {
        "articles_read": read,
        "failed": len(report.failed),
        "chunks": report.chunks,
        "ingest_seconds": round(report.seconds, 1),
        "ingest_articles_per_s": round(read / report.seconds, 1),
        "ingest_chunks_per_s": round(chunks_per_s, 1),
        "index_encoder_chunks_per_s": round(raw, 1),
        "ingest_to_encoder_ratio": round(chunks_per_s / raw, 3),
        "full_model_chunks_per_s": round(full_model, 1),
        "ingest_peak_rss_mb": round(ingest_rss, 1),
        "text_mb": sum(len(article.text.encode()) for article in articles) / 2**20,
        "model_load_seconds": round(model_load, 2),
    }


def bench_latency(bot: NewsBot, args: argparse.Namespace) -> dict[str, Any]:
    questions = dev_questions(args.corpus.parent, args.questions)
    bot.ask(questions[0]["question"])  # warm-up: the first query opens the indexes
    results: dict[str, Any] = {"questions": len(questions)}
    stages: dict[str, list[float]] = {}
    for label in ("dated", "undated", "window"):
        p50s: list[float] = []
        p95s: list[float] = []
        cpu: list[float] = []
        for run in range(args.repeats):
            cpu_before = time.process_time()
            answers = [_ask(bot, q, label) for q in questions]
            cpu.append((time.process_time() - cpu_before) * 1000 / len(answers))
            seconds = [answer.seconds * 1000 for answer in answers]
            if label == "dated":
                for answer in answers:
                    for stage, value in answer.timings.items():
                        stages.setdefault(stage, []).append(value * 1000)
            p50s.append(percentile(seconds, 50))
            p95s.append(percentile(seconds, 95))
            print(
                f"latency {label} run {run + 1}: p50 {p50s[-1]:.0f} ms, p95 {p95s[-1]:.0f} ms",
                file=sys.stderr,
            )
        results[f"{label}_p50_ms_runs"] = [round(v, 1) for v in p50s]
        results[f"{label}_p50_ms"] = round(statistics.median(p50s), 1)
        results[f"{label}_p95_ms"] = round(statistics.median(p95s), 1)
        results[f"{label}_cpu_ms_per_answer"] = round(statistics.median(cpu), 1)
    results["dated_stage_p50_ms"] = {
        stage: round(percentile(values, 50), 1) for stage, values in stages.items()
    }
    return results


# ONNX Runtime's int8 matrix kernel as MLAS picks it from CPUID, best first.
_KERNELS = (
    ("amx_int8", "AMX"),
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx512bw", "AVX-512 BW (int16 pair sums)"),
    ("avx2", "AVX2 (int16 pair sums)"),
)


def int8_kernel() -> str:
    """The int8 kernel ONNX Runtime uses on this CPU, by its flags in /proc/cpuinfo."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return next((name for flag, name in _KERNELS if flag in flags), "SSE")


def _ask(bot: NewsBot, question: dict[str, Any], mode: str) -> Any:
    """dated: the question's date as reference; window: the 30 days up to it, as
    explicit since/until filters; undated: neither."""
    day = date.fromisoformat(question["date"])
    if mode == "dated":
        return bot.ask(question["question"], as_of=day)
    if mode == "window":
        return bot.ask(question["question"], since=day - timedelta(days=30), until=day)
    return bot.ask(question["question"])


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    bot = NewsBot(Settings(data_dir=data_dir))
    results: dict[str, Any] = {
        "corpus": str(args.corpus),
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
        "int8_kernel": int8_kernel(),
        "reader": bot.settings.reader,
    }
    if args.store is None:
        results.update(bench_ingest(bot, args, data_dir))
    results.update(bench_latency(bot, args))
    question = dev_questions(args.corpus.parent, 1)[0]["question"]
    colds = [cold_start(data_dir, question) for _ in range(args.cold_runs)]
    results["cold_start_seconds_runs"] = [round(v, 2) for v in colds]
    results["cold_start_seconds"] = round(statistics.median(colds), 2)
    if args.clients > 0:
        print(f"serving: {args.clients} users at once", file=sys.stderr)
        upload = 0 if args.store else args.upload
        articles = dev_articles(args.corpus, args.sample + upload)[args.sample :]
        results["serving"] = serving.measure(
            newsbot_command(),
            data_dir,
            [q["question"] for q in dev_questions(args.corpus.parent, max(args.questions, 20))],
            args.clients,
            5,
            articles,
        )
    if args.rates:
        print(f"open loop: {args.rates} questions/s", file=sys.stderr)
        options = ["--corpus", str(args.corpus), "--articles", str(args.sample)]
        options += ["--rates", args.rates, "--seconds", str(args.rate_seconds)]
        results["open_loop"] = open_loop.run_all(open_loop.parse_args(options))
    results["disk_mb"] = {k: round(v, 1) for k, v in disk.disk_parts(data_dir).items()}
    results["article_text_mb"] = round(
        results.get("text_mb") or disk.article_text_mb(args.corpus), 1
    )
    if args.catch_up_rounds > 0:
        print("catch-up: two workers on one chroma run", file=sys.stderr)
        fresh = dev_articles(args.corpus, args.sample + args.upload + args.catch_up_rounds)
        results.update(deployment.catch_up_delay(bot, fresh[-args.catch_up_rounds :]))
    results["scale"] = []
    for size in args.scale_sizes if args.store is None else []:
        print(f"scaling: {size} chunks", file=sys.stderr)
        results["scale"].append(scale.measure(size, args.corpus))
    return results


def format_table(results: dict[str, Any]) -> str:
    runs = len(results["dated_p50_ms_runs"])
    rows = _ingest_rows(results) if "articles_read" in results else []
    rows += [
        (
            "answer p50, dated (ms)",
            f"{results['dated_p50_ms']:.0f}",
            f"median of {runs} runs x {results['questions']} q",
        ),
        ("answer p95, dated (ms)", f"{results['dated_p95_ms']:.0f}", ""),
        (
            "CPU per dated answer (ms)",
            f"{results['dated_cpu_ms_per_answer']:.0f}",
            "all of the process's threads; median of the runs",
        ),
        ("reader", results["reader"], f"int8 kernel: {results['int8_kernel']}"),
        *(
            (f"  {stage} p50 (ms)", f"{value:.0f}", "dated answers")
            for stage, value in results["dated_stage_p50_ms"].items()
        ),
        ("answer p50, undated (ms)", f"{results['undated_p50_ms']:.0f}", ""),
        ("answer p95, undated (ms)", f"{results['undated_p95_ms']:.0f}", ""),
        ("answer p50, 30-day window (ms)", f"{results['window_p50_ms']:.0f}", "since/until"),
        ("answer p95, 30-day window (ms)", f"{results['window_p95_ms']:.0f}", ""),
        (
            "cold `newsbot ask` (s)",
            f"{results['cold_start_seconds']:.1f}",
            f"median of {len(results['cold_start_seconds_runs'])}",
        ),
    ]
    rows += _serving_rows(results.get("serving"))
    text = results["article_text_mb"]
    parts = results["disk_mb"]
    rows += [
        (f"disk: {part} (MB)", f"{size:,.1f}", f"{size / text:.2f}x the article text")
        for part, size in parts.items()
    ]
    total = sum(parts.values())
    rows.append(("disk: data dir (MB)", f"{total:,.1f}", f"{total / text:.2f}x {text:,.1f} MB"))
    if "catch_up_seconds" in results:
        rows.append(
            (
                "second worker catch-up (s)",
                f"{results['catch_up_seconds']:.1f}",
                f"median of {len(results['catch_up_seconds_runs'])}, shared chroma run",
            )
        )
    first = max(len(r[0]) for r in rows)
    second = max(len(r[1]) for r in rows)
    lines = [
        f"{name.ljust(first)}  {value.rjust(second)}  {note}".rstrip() for name, value, note in rows
    ]
    if results.get("open_loop"):
        lines += ["", open_loop.format_table(results["open_loop"], 1500.0)]
    if results["scale"]:
        lines += ["", scale_table(results["scale"])]
    return "\n".join(lines)


def _serving_rows(served: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not served:
        return []
    users = f"{served['clients']} users at once"
    rows = [
        ("served answers/s", f"{served['answers_per_s']:.1f}", users),
        ("served answer p50 (ms)", f"{served['concurrent_p50_ms']:.0f}", users),
        ("served answer p95 (ms)", f"{served['concurrent_p95_ms']:.0f}", users),
        ("served errors", f"{served['errors']}", f"of {served['answers'] + served['errors']}"),
        ("served peak RSS (MB)", f"{served['server_peak_rss_mb']:.0f}", "the `newsbot serve`"),
    ]
    if "idle_p50_ms" in served:
        rows += [
            ("one user, idle p50 (ms)", f"{served['idle_p50_ms']:.0f}", ""),
            (
                "one user, during upload p50 (ms)",
                f"{served['during_upload_p50_ms']:.0f}",
                f"{served['upload_articles']} articles in {served['upload_seconds']:.0f} s, "
                f"ratio {served['during_to_idle_ratio']}",
            ),
        ]
    return rows


def _ingest_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("articles ingested", f"{results['articles_read']}", f"{results['chunks']} chunks"),
        ("ingest articles/s", f"{results['ingest_articles_per_s']:.1f}", "model load excluded"),
        ("ingest chunks/s", f"{results['ingest_chunks_per_s']:.1f}", "end to end"),
        (
            "index encoder chunks/s",
            f"{results['index_encoder_chunks_per_s']:.0f}",
            f"raw, same chunks; ingest/encoder = {results['ingest_to_encoder_ratio']:.2f}",
        ),
        ("full model chunks/s", f"{results['full_model_chunks_per_s']:.1f}", "for comparison"),
        (
            "ingest peak RSS (MB)",
            f"{results['ingest_peak_rss_mb']:.0f}",
            "bench process, with both models and the article list",
        ),
        ("model load (s)", f"{results['model_load_seconds']:.1f}", ""),
    ]


def scale_table(rows: list[dict[str, Any]]) -> str:
    header = (
        "chunks",
        "write/s",
        "vector p50/p95",
        "dated p50/p95",
        "chroma-filter p50/p95",
        "bm25 p50/p95",
        "recall@30 vec/dated",
        "RSS MB",
        "disk MB/1M",
    )
    table = [header]
    for r in rows:
        table.append(
            (
                f"{r['chunks']:,}",
                f"{r['write_chunks_per_s']:.0f}",
                _pair(r["vector_ms"]),
                _pair(r["vector_dated_ms"]),
                _pair(r["chroma_filter_ms"]),
                _pair(r["bm25_dated_ms"]),
                f"{r['vector_recall@30']:.3f} / {r['vector_dated_recall@30']:.3f}",
                f"{r['serving_peak_rss_mb']:.0f}",
                f"{r['disk_mb_per_million']:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "store only (ms; RSS = peak of a process serving the searches)\n" + "\n".join(lines)


def _pair(timing: dict[str, float]) -> str:
    return f"{timing['p50']:.1f} / {timing['p95']:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.corpus.is_file():
        print(f"bench: {args.corpus} does not exist", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as scratch:
        results = bench(args, args.store or Path(scratch))
    print(format_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
