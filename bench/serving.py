"""Serving under load: concurrent users, and questions asked while news is being added.

A real `newsbot serve` process on the bench's store; the users are gradio_client
`Client`s in threads of this process, each asking its own run of DEV questions.

- Concurrency: `clients` users ask `per_client` questions each, all at once; answers per
  second over the wall time, and each request's latency (p50, p95), errors counted.
- Upload: one user asks questions one after another, first idle, then while another
  uploads `len(articles)` new articles through "Add news"; the ratio of the medians says
  whether adding news holds questions up.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bot.eval.metrics import percentile
from ingest.types import Article

_OFFLINE = {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def measure(
    command: list[str],
    data_dir: Path,
    questions: list[str],
    clients: int,
    per_client: int,
    articles: list[Article],
) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, **_OFFLINE, "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, server, seconds=120)
        _client(url).predict(questions[0], "", "", "", api_name="/ask")  # warm up
        results = _concurrent(url, questions, clients, per_client)
        if articles:
            results.update(_during_upload(url, questions, articles))
        results["server_peak_rss_mb"] = _peak_rss_mb(server.pid)
        return results
    finally:
        stop(server, seconds=60)


def _concurrent(url: str, questions: list[str], clients: int, per_client: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []

    def user(number: int) -> None:
        client = _client(url)
        for turn in range(per_client):
            question = questions[(number * per_client + turn) % len(questions)]
            started = time.perf_counter()
            try:
                client.predict(question, "", "", "", api_name="/ask")
            except Exception as error:  # counted, not fatal: the figure is the error rate
                errors.append(f"{type(error).__name__}: {error}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "answers": len(latencies),
        "errors": len(errors),
        "answers_per_s": round(len(latencies) / wall, 2),
        "concurrent_p50_ms": round(percentile(latencies, 50), 1),
        "concurrent_p95_ms": round(percentile(latencies, 95), 1),
    }


def _during_upload(url: str, questions: list[str], articles: list[Article]) -> dict[str, Any]:
    asker = _client(url)

    def ask(question: str) -> float:
        started = time.perf_counter()
        asker.predict(question, "", "", "", api_name="/ask")
        return (time.perf_counter() - started) * 1000

    idle = [ask(q) for q in questions[:10]]
    with tempfile.TemporaryDirectory(prefix="newsbot-upload-") as folder:
        upload = Path(folder) / "upload.jsonl"
        with upload.open("w", encoding="utf-8") as out:
            for article in articles:
                record = {"title": article.title, "text": article.text, "url": article.url}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        report: list[str] = []
        uploading = threading.Thread(target=_upload, args=(url, upload, report))
        started = time.perf_counter()
        uploading.start()
        during: list[float] = []
        while uploading.is_alive():
            during.append(ask(questions[len(during) % len(questions)]))
        uploading.join()
        upload_seconds = time.perf_counter() - started
    idle_p50, during_p50 = percentile(idle, 50), percentile(during, 50) if during else 0.0
    return {
        "idle_p50_ms": round(idle_p50, 1),
        "during_upload_p50_ms": round(during_p50, 1),
        "during_upload_questions": len(during),
        "during_to_idle_ratio": round(during_p50 / idle_p50, 2) if during else None,
        "upload_articles": len(articles),
        "upload_seconds": round(upload_seconds, 1),
        "upload_report": report[0] if report else "",
    }


def _upload(url: str, path: Path, report: list[str]) -> None:
    from gradio_client import handle_file

    report.append(str(_client(url).predict([handle_file(str(path))], "", api_name="/add_news")[0]))


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any], seconds: float = 30) -> None:
    """SIGTERM (a service manager's stop; `newsbot serve` ends as on Ctrl-C), then SIGKILL
    if it has not ended within `seconds`: no process is left behind."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for(url: str, process: subprocess.Popen[bytes] | None = None, seconds: float = 60) -> None:
    """Wait until `url` answers (any status below 500); fail early if `process` exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {seconds} s")
