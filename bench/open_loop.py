"""`python -m bench.open_loop`: answer latency when questions come at random while feeds arrive.

A desk is an open loop: people ask when they like, whether or not anyone else's answer
is done, while the wires keep coming in. Questions arrive here as a Poisson process at
each `--rates` (questions per second) for `--seconds`, each sent at its own moment on a
thread of its own; its latency runs from that moment to the complete answer (Gradio's
HTTP API, the calls the web chat makes). Meanwhile `newsbot watch` reads a feed on
127.0.0.1 every `--every` seconds, which gains `--per-round` further DEV articles at each
round, and stores them (handed to the running server, as the docs describe).

Two layouts: one `newsbot serve` on an embedded store, and `--workers` serves with data
dirs of their own on one `chroma run` (the questions dealt out in turn). Each starts from
the first `--articles` DEV articles. Reported per rate: answers, errors, p50/p95/p99;
the highest rate whose p95 stays within `--target-ms`; and the CPU, in cores, that the
clients (this process) and the servers (serve, watch, chroma) used over the run, since
all share this machine's cores.
"""

from __future__ import annotations

import argparse
import email.utils
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np

from bench.corpus import DEV, dev_articles, dev_questions
from bench.serving import free_port, stop, wait_for
from bot.eval.metrics import percentile
from ingest.types import Article

_ENV = {
    "HF_HUB_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "NEWSBOT_ALLOW_PRIVATE_URLS": "true",  # the feed is on 127.0.0.1
}
_TIMEOUT_S = 120.0  # an answer later than this counts as an error


class _Wire(BaseHTTPRequestHandler):
    """An RSS feed that gains `per_round` articles each time it is read after `every`
    seconds, with each article's page; ETag by the number listed."""

    articles: ClassVar[list[Article]] = []
    listed: ClassVar[int] = 0
    per_round: ClassVar[int] = 0
    every: ClassVar[float] = 15.0
    released_at: ClassVar[float] = 0.0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            self._feed()
        elif self.path.startswith("/a/") and self.path[3:].isdigit():
            article = self.articles[int(self.path[3:]) % len(self.articles)]
            page = f"<html><head><title>{html.escape(article.title)}</title></head><body>"
            page += f"<article><h1>{html.escape(article.title)}</h1>"
            page += "".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p)
            self._answer(200, page + "</article></body></html>", "text/html; charset=utf-8")
        else:
            self._answer(404, "", "text/plain")

    def _feed(self) -> None:
        cls = type(self)
        with cls.lock:
            now = time.monotonic()
            if now - cls.released_at >= cls.every * 0.8:
                cls.listed = min(cls.listed + cls.per_round, len(cls.articles))
                cls.released_at = now
            listed = cls.listed
        etag = f'"{listed}"'
        if self.headers.get("If-None-Match") == etag:
            self._answer(304, "", "")
            return
        base = f"http://{self.headers.get('Host', '127.0.0.1')}"
        items = "".join(_item(base, n, a) for n, a in enumerate(self.articles[:listed]))
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk Wire</title>'
            f"<link>{base}/</link><description>DEV news</description>{items}</channel></rss>"
        )
        self._answer(200, feed, "application/rss+xml", ETag=etag)

    def _answer(self, status: int, body: str, kind: str, **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": kind, **headers}.items():
            if value:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def _item(base: str, number: int, article: Article) -> str:
    published = ""
    if article.published:
        moment = datetime(*article.published.timetuple()[:3], 8, tzinfo=UTC)
        published = f"<pubDate>{email.utils.format_datetime(moment)}</pubDate>"
    return (
        f"<item><title>{html.escape(article.title)}</title><link>{base}/a/{number}</link>"
        f"<guid>{base}/a/{number}</guid>{published}"
        f"<description>{html.escape(article.text)}</description></item>"
    )


@contextmanager
def wire(articles: list[Article], per_round: int, every: float) -> Iterator[str]:
    """The feed's URL, served from a thread of this process while inside."""
    _Wire.articles, _Wire.listed, _Wire.per_round = articles, 0, per_round
    _Wire.every, _Wire.released_at = every, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Wire)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def ask(url: str, question: str, client: httpx.Client) -> None:
    """One question through the chat's HTTP API, to its complete answer; raises on error."""
    started = client.post(
        f"{url}gradio_api/call/ask", json={"data": [question, "", "", "", [], []]}
    )
    started.raise_for_status()
    event = started.json()["event_id"]
    with client.stream("GET", f"{url}gradio_api/call/ask/{event}") as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event: complete"):
                return
            if line.startswith("event: error"):
                raise RuntimeError(f"the server answered with an error: {line}")
    raise RuntimeError("the answer stream ended without a complete event")


def open_loop(
    urls: Sequence[str], questions: list[str], rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    """Questions at Poisson moments of `rate` per second for `seconds`, dealt to `urls`
    in turn; each on its own thread, timed from its moment."""
    rng = np.random.default_rng(seed)
    moments: list[float] = []
    at = float(rng.exponential(1 / rate))
    while at < seconds:
        moments.append(at)
        at += float(rng.exponential(1 / rate))
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    with httpx.Client(timeout=_TIMEOUT_S, limits=limits) as client:

        def one(number: int, due: float) -> None:
            try:
                ask(urls[number % len(urls)], questions[number % len(questions)], client)
            except Exception as error:  # counted, not fatal: the figure is the error rate
                errors.append(f"{type(error).__name__}: {error}")
                return
            latencies.append((time.monotonic() - due) * 1000)

        start = time.monotonic()
        threads = []
        for number, moment in enumerate(moments):
            due = start + moment
            time.sleep(max(0.0, due - time.monotonic()))
            thread = threading.Thread(target=one, args=(number, due), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(timeout=_TIMEOUT_S)
    return {
        "rate": rate,
        "asked": len(moments),
        "answers": len(latencies),
        "errors": len(errors) + sum(t.is_alive() for t in threads),
        "first_error": errors[0] if errors else "",
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
    }


def cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU seconds of these processes so far (all their threads)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def own_cpu_seconds() -> float:
    return time.process_time()


def run_rates(
    urls: list[str], servers: list[int], questions: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    for number, rate in enumerate(args.rate_list):
        client_cpu, server_cpu = own_cpu_seconds(), cpu_seconds(servers)
        started = time.monotonic()
        row = open_loop(urls, questions, rate, args.seconds, seed=number)
        wall = time.monotonic() - started
        row["client_cores"] = round((own_cpu_seconds() - client_cpu) / wall, 2)
        row["server_cores"] = round((cpu_seconds(servers) - server_cpu) / wall, 2)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _ingest(newsbot: list[str], data_dir: Path, corpus: Path, env: dict[str, str]) -> None:
    command = [*newsbot, "--data-dir", str(data_dir), "ingest", str(corpus)]
    subprocess.run(command, check=True, env=env, capture_output=True)


def _serve(
    newsbot: list[str], data_dir: Path, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [*newsbot, "--data-dir", str(data_dir), "serve", "--port", str(port)]
    process = _start(command, env, log)
    url = f"http://127.0.0.1:{port}/"
    wait_for(url, process, seconds=180)
    return process, url


def measure(
    layout: str, articles: list[Article], questions: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """One layout ("embedded" or "chroma run"): the store, servers, the watch, the rates."""
    env = {**os.environ, **_ENV}
    newsbot = args.newsbot
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="newsbot-open-loop-") as scratch:
        folder = Path(scratch)
        log = folder / "servers.log"
        corpus = folder / "start.jsonl"
        with corpus.open("w", encoding="utf-8") as out:
            for article in articles[: args.articles]:
                out.write(json.dumps(_record(article), ensure_ascii=False) + "\n")
        try:
            if layout == "embedded":
                dirs = [folder / "data"]
            else:
                port = free_port()
                chroma = Path(sys.executable).with_name("chroma")
                command = [str(chroma), "run", "--path", str(folder / "db")]
                processes.append(_start([*command, "--port", str(port)], env, log))
                wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", processes[-1])
                env["NEWSBOT_CHROMA_URL"] = f"http://127.0.0.1:{port}"
                dirs = [folder / f"worker{n}" for n in range(args.workers)]
            print(f"{layout}: storing {args.articles} articles", file=sys.stderr)
            _ingest(newsbot, dirs[0], corpus, env)
            urls = []
            for data_dir in dirs:
                process, url = _serve(newsbot, data_dir, env, log)
                processes.append(process)
                urls.append(url)
            for url in urls:  # warm: models loaded, first answer out of the way
                with httpx.Client(timeout=_TIMEOUT_S) as client:
                    ask(url, questions[0], client)
            arriving = articles[args.articles :]
            with wire(arriving, args.per_round, args.every) as feed:
                watch = [*newsbot, "--data-dir", str(dirs[0]), "watch", feed]
                watched = folder / "watch.log"
                processes.append(_start([*watch, "--every", f"{args.every}s"], env, watched))
                rows = run_rates(urls, [p.pid for p in processes], questions, args)
        finally:
            for process in reversed(processes):
                stop(process, seconds=60)
        rounds = [line for line in _lines(watched) if " round " in line]
        stored = sum(int(n) for line in rounds for n in re.findall(r"stored: added (\d+)", line))
        tail = "\n".join(_lines(log)[-20:])
    passing = [
        r["rate"] for r in rows if not r["errors"] and (r["p95_ms"] or 1e9) <= args.target_ms
    ]
    return {
        "layout": layout,
        "workers": len(urls),
        "rates": rows,
        "feed_rounds": len(rounds),
        "feed_articles_stored": stored,
        "best_rate_within_target": max(passing, default=0.0),
        "best_rate_per_core": round(max(passing, default=0.0) / (os.cpu_count() or 1), 2),
        "log_tail": tail if any(r["errors"] for r in rows) else "",
    }


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _record(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "url": article.url,
        "published": article.published.isoformat() if article.published else None,
    }


def format_table(results: list[dict[str, Any]], target_ms: float) -> str:
    lines = [
        "| layout | q/s | asked | answers | errors | p50 ms | p95 ms | p99 ms "
        "| client cores | server cores |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        name = result["layout"] + (f" x{result['workers']}" if result["workers"] > 1 else "")
        for row in result["rates"]:
            cells = [name, f"{row['rate']:g}", row["asked"], row["answers"], row["errors"]]
            cells += [_ms(row["p50_ms"]), _ms(row["p95_ms"]), _ms(row["p99_ms"])]
            cells += [row["client_cores"], row["server_cores"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    for result in results:
        lines.append(
            f"{result['layout']} x{result['workers']}: highest rate with p95 <= "
            f"{target_ms:.0f} ms and no error: {result['best_rate_within_target']:g} q/s "
            f"({result['best_rate_per_core']:g} per core); the watch stored "
            f"{result['feed_articles_stored']} articles in {result['feed_rounds']} rounds"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.open_loop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", type=Path, default=DEV / "corpus.jsonl.gz")
    parser.add_argument("--articles", type=int, default=1000, help="Stored at the start.")
    parser.add_argument("--rates", default="1,2,4", help="Questions per second, comma-separated.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Per rate (default 60).")
    parser.add_argument("--every", type=float, default=15.0, help="Feed round, s (default 15).")
    parser.add_argument("--per-round", type=int, default=20, help="New feed articles a round.")
    parser.add_argument("--workers", type=int, default=2, help="Serves on one chroma run.")
    parser.add_argument(
        "--layouts", default="embedded,chroma run", help="Comma-separated: embedded, chroma run."
    )
    parser.add_argument("--target-ms", type=float, default=1500.0, help="The p95 target.")
    parser.add_argument(
        "--newsbot",
        default="",
        help="The newsbot command to serve with (default: this checkout's), e.g. "
        "'env PYTHONPATH=/path/to/old python -m bot.cli' for a previous release.",
    )
    parser.add_argument("--out", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    args.rate_list = [float(r) for r in args.rates.split(",") if r]
    from bench.run import newsbot_command

    args.newsbot = args.newsbot.split() if args.newsbot else newsbot_command()
    return args


def run_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every layout asked for, each from the same articles and questions."""
    rounds = len(args.rate_list) * (args.seconds + 120) / args.every + 2  # 120: starts
    articles = dev_articles(args.corpus, args.articles + args.per_round * int(rounds))
    questions = [q["question"] for q in dev_questions(args.corpus.parent, 300)]
    layouts = [layout.strip() for layout in args.layouts.split(",")]
    return [measure(layout, articles, questions, args) for layout in layouts]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_all(args)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    print(format_table(results, args.target_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
