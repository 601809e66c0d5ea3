"""`python -m bench.scale N`: the store alone at N chunks: writes, searches, memory, disk.

Vectors are the static index vectors of real DEV chunks; past the real chunks, copies
with small Gaussian noise (cosine ~0.99 to their original) stand in, so that a million
chunks need not be embedded. Texts and dates travel with their originals.

Per size, writing and searching each run in a process of their own (so that peak RSS
is that phase's): write speed, then the median and p95 over 100 DEV questions of each
first-stage search newsbot runs: vector top-30 without filter, with the reference date
done the way the retriever does it (wide unfiltered search, future dropped), with
Chroma's own date filter, and BM25 top-30 with the date filter; recall@30 of the
approximate searches against exact search over all vectors (computed after the serving
RSS is read); peak RSS and disk.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import DEV, BenchChunk, dev_chunks, dev_questions
from bot.eval.metrics import percentile
from bot.question.words import keywords
from bot.retrieval.retriever import Filters, Retriever
from bot.settings import Settings
from ingest.dates import to_day_number
from ingest.encoders.static_table import load_static_embedder
from ingest.index.fts import DayRange
from ingest.index.store import NewsStore, StoredArticle, connect

_N = 30
_QUESTIONS = 100
_NOISE = 0.008  # per-dimension sigma on unit 256-d vectors: cosine ~0.99 to the original
_WRITE_BATCH = 256  # articles per write, as ingest does
_COLLECTION = "scale_bench"
_SEARCHES = ("vector", "vector_dated", "chroma_filter", "bm25_dated")


def write(size: int, corpus: Path, work: Path) -> dict[str, Any]:
    """Fill a store with `size` chunks; keep their vectors and ids for the exact search."""
    settings = Settings(data_dir=work)
    embedder = load_static_embedder(settings.embedding_model, Path(settings.model_cache_dir))
    chunks = dev_chunks(corpus, limit=size)
    vectors = embedder.encode([c.embedding_text for c in chunks])
    store = NewsStore(connect(work), _COLLECTION, work / "scale.fts.sqlite")
    rng = np.random.default_rng(0)
    ids: list[str] = []
    days: list[int] = []
    written: list[np.ndarray] = []
    started = time.perf_counter()
    for copy in range(0, size, len(chunks)):
        batch = chunks[: size - copy]
        batch_vectors = vectors[: len(batch)]
        if copy:  # past the real chunks: perturbed copies
            batch_vectors = batch_vectors + rng.normal(0, _NOISE, batch_vectors.shape)
            batch_vectors /= np.linalg.norm(batch_vectors, axis=1, keepdims=True)
        articles = _articles(batch, batch_vectors.astype(np.float32), copy)
        for start in range(0, len(articles), _WRITE_BATCH):
            store.add_articles(articles[start : start + _WRITE_BATCH])
        ids += [f"{c.article}-{copy}:{c.n}" for c in batch]
        days += [int(c.metadata.get("published_day", -1)) for c in batch]
        written.append(batch_vectors.astype(np.float32))
    seconds = time.perf_counter() - started
    np.save(work / "vectors.npy", np.concatenate(written))
    np.save(work / "days.npy", np.array(days))
    (work / "ids.json").write_text(json.dumps(ids))
    return {
        "chunks": size,
        "real_chunks": min(size, len(chunks)),
        "write_chunks_per_s": round(size / seconds, 1),
        "write_peak_rss_mb": peak_rss_mb(),
    }


def query(corpus: Path, work: Path) -> dict[str, Any]:
    """Time each first-stage search in a fresh process, then score recall against exact."""
    settings = Settings(data_dir=work)
    embedder = load_static_embedder(settings.embedding_model, Path(settings.model_cache_dir))
    store = NewsStore(connect(work), _COLLECTION, work / "scale.fts.sqlite")
    retriever = Retriever(store, k=5)
    questions = dev_questions(corpus.parent, _QUESTIONS)
    timings: dict[str, list[float]] = {name: [] for name in _SEARCHES}
    found: dict[str, list[set[str]]] = {"vector": [], "vector_dated": []}
    store.query(embedder.encode(["warm up"])[0], _N)
    for question in questions:
        vector = embedder.encode([question["question"]])[0]
        as_of = date.fromisoformat(question["date"])
        words = keywords(question["question"])
        with _timer(timings["vector"]):
            hits = store.query(vector, _N)
        found["vector"].append({h.chunk_id for h in hits})
        with _timer(timings["vector_dated"]):
            hits = retriever._candidates(vector, _N, Filters(), as_of)
        found["vector_dated"].append({h.chunk_id for h in hits})
        with _timer(timings["chroma_filter"]):
            store.chunks.query(query_embeddings=[vector], n_results=_N, where=_where(as_of))
        with _timer(timings["bm25_dated"]):
            store.lexical_query(words, _N, DayRange(last=to_day_number(as_of)))
    serving_rss = peak_rss_mb()  # before the exact search below loads every vector

    matrix = np.load(work / "vectors.npy", mmap_mode="r")
    days = np.load(work / "days.npy")
    ids = json.loads((work / "ids.json").read_text())
    recall: dict[str, list[float]] = {name: [] for name in found}
    for number, question in enumerate(questions):
        vector = embedder.encode([question["question"]])[0]
        day = to_day_number(date.fromisoformat(question["date"]))
        order = np.argsort(-(matrix @ vector))
        exact = {
            "vector": order[:_N],
            "vector_dated": order[days[order] <= day][:_N],
        }
        for name, rows in exact.items():
            wanted = {ids[row] for row in rows.tolist()}
            recall[name].append(len(found[name][number] & wanted) / max(len(wanted), 1))
    disk = sum(p.stat().st_size for p in work.rglob("*") if p.is_file() and p.suffix != ".npy")
    disk -= (work / "ids.json").stat().st_size
    return {
        **{
            f"{name}_ms": {
                "p50": round(percentile(values, 50), 1),
                "p95": round(percentile(values, 95), 1),
            }
            for name, values in timings.items()
        },
        **{f"{name}_recall@{_N}": round(float(np.mean(v)), 3) for name, v in recall.items()},
        "serving_peak_rss_mb": serving_rss,
        "disk_mb": round(disk / 2**20, 1),
    }


def measure(size: int, corpus: Path) -> dict[str, Any]:
    """Both phases, each in a process of its own so that peak RSS is that phase's."""
    with tempfile.TemporaryDirectory(prefix="newsbot-scale-") as scratch:
        results: dict[str, Any] = {}
        for phase in ("write", "query"):
            command = [sys.executable, "-m", "bench.scale", str(size), "--phase", phase]
            command += ["--corpus", str(corpus), "--work", scratch]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results.update(json.loads(done.stdout.strip().splitlines()[-1]))
    results["disk_mb_per_million"] = round(results["disk_mb"] / size * 1e6, 1)
    return results


def _where(as_of: date) -> dict[str, Any]:
    """Chroma's own filter for the reference date, for comparison only."""
    day = to_day_number(as_of)
    return {"$or": [{"published_day": {"$lte": day}}, {"dated": False}]}


def _articles(chunks: list[BenchChunk], vectors: np.ndarray, copy: int) -> list[StoredArticle]:
    """Chunks regrouped into their articles, as ingest writes them."""
    articles: list[StoredArticle] = []
    start = 0
    for end in range(1, len(chunks) + 1):
        if end == len(chunks) or chunks[end].article != chunks[start].article:
            first = chunks[start]
            articles.append(
                StoredArticle(
                    f"{first.article}-{copy}",
                    first.metadata,
                    [c.text for c in chunks[start:end]],
                    vectors[start:end],
                )
            )
            start = end
    return articles


@contextmanager
def _timer(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append((time.perf_counter() - started) * 1000)


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from
    the parent across fork and exec, so a child of a big bench process would inherit it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("size", type=int, help="Chunks to store.")
    parser.add_argument("--corpus", type=Path, default=DEV / "corpus.jsonl.gz")
    parser.add_argument("--phase", choices=["write", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "write":
        result = write(args.size, args.corpus, args.work)
    elif args.phase == "query":
        result = query(args.corpus, args.work)
    else:
        result = measure(args.size, args.corpus)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
