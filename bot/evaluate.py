"""`newsbot eval DIR`: answer a question set and measure how well the answers hold up.

DIR holds `corpus.jsonl[.gz]` (articles with `id`) and `questions.jsonl` (RealTimeQA
style: `question`, `choices`, `answer`, `answer_index`, `date`, `pool`, `answer_in_pool`).
The corpus is ingested into a store of its own (or the `--data-dir` given), reused on
later runs through a marker file, then every sampled question is asked "as of" its date.

The metric helpers at the top are small pure functions so that tests can pin them down.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.settings import Settings
from bot.types import NO_ANSWER

Question = dict[str, Any]

MARKER_VERSION = 1
RECALL_AT = 5
_CORPUS_MB = 16_384.0
_Z95 = 1.959963984540054  # two-sided 95% normal quantile

# ---------------------------------------------------------------------------------------
# Metric helpers
# ---------------------------------------------------------------------------------------

# Quotes, apostrophes, periods and commas sit inside tokens ("U.S.", "1,000", "Macy's"):
# deleting them keeps the token whole. Any other punctuation (dashes, slashes, brackets,
# colons, "…") separates words, so it becomes a space.
_DELETED = frozenset("\"'`´‘’‚‛“”„‟′″«»‹›.,")
_ARTICLES = frozenset({"a", "an", "the"})
_CITATION = re.compile(r"\s*\[\d+\]")
# "Antarctica's glacier" answers "Antarctica": a possessive ending is not part of the name.
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")


def normalise(text: str) -> str:
    """Text reduced to what an answer match should depend on.

    Gold answers come as `“Squid Game”` while articles write `'Squid Game'` or
    `Squid Game`; case, Unicode forms (NFKC folds full-width and ligature characters),
    quote styles, punctuation, articles and spacing must not decide a match.
    """
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", text).lower())
    kept = []
    for char in text:
        if char in _DELETED:
            continue
        kept.append(" " if unicodedata.category(char).startswith("P") else char)
    return " ".join(word for word in "".join(kept).split() if word not in _ARTICLES)


def first_sentence(answer: str) -> str:
    """The answer up to its first `[n]` marker: the sentence a reader sees first."""
    return _CITATION.split(answer, maxsplit=1)[0]


def strip_citations(text: str) -> str:
    """Answer text without its `[n]` markers: "[2]" must not match a choice like "2"."""
    return _CITATION.sub("", text)


def contains(haystack: str, needle: str) -> bool:
    """Whether normalised `needle` occurs in normalised `haystack` as whole words.

    Plain substring search would find the gold "8" in "18" or "Ford" in "Stanford";
    both sides are space-separated words after `normalise`, so padding with spaces
    restricts matches to word boundaries. An empty needle never matches.
    """
    needle = normalise(needle)
    if not needle:
        return False
    return f" {needle} " in f" {normalise(haystack)} "


def token_f1(candidate: str, reference: str) -> float:
    """SQuAD-style F1 of the normalised word multisets of two texts (0 when disjoint).

    Unlike containment it gives partial credit and, through precision, prefers the
    choice that overlaps most relative to its length.
    """
    a = normalise(candidate).split()
    b = normalise(reference).split()
    common = sum((Counter(a) & Counter(b)).values())
    if common == 0:
        return 0.0
    precision = common / len(a)
    recall = common / len(b)
    return 2 * precision * recall / (precision + recall)


def best_choice(answer: str, choices: Sequence[str]) -> int | None:
    """Index of the choice whose words overlap the answer most, or None.

    The answerer writes free text, not a letter; the choice it supports best is taken as
    its pick. A tie (or no overlap at all) is no pick: guessing among tied choices would
    reward vague answers that mention several of them.
    """
    text = strip_citations(answer)
    scores = [token_f1(text, choice) for choice in choices]
    if not scores:
        return None
    top = max(scores)
    if top <= 0.0 or scores.count(top) > 1:
        return None
    return scores.index(top)


def wilson(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a rate `successes / n` (95% by default).

    With 20-question samples and rates near 0 or 1, the textbook normal interval
    collapses to zero width or leaves [0, 1]; Wilson's stays inside and is honest about
    small n. No data (n = 0) tells nothing: (0, 1).
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} is outside 0..{n}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Exact ends: floating point must not put 0/n above 0 or n/n below 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default does.

    Latency is reported as p50/p95 because a mean hides the slow tail users notice.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q} is outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(successes: int, n: int) -> dict[str, Any]:
    """A rate with its counts and 95% Wilson interval, as written to the JSON report."""
    low, high = wilson(successes, n)
    return {
        "rate": successes / n if n else None,
        "k": successes,
        "n": n,
        "ci95": [round(low, 4), round(high, 4)],
    }


# ---------------------------------------------------------------------------------------
# The question set
# ---------------------------------------------------------------------------------------


def find_corpus(folder: Path) -> Path:
    for name in ("corpus.jsonl.gz", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"{folder} holds no corpus.jsonl or corpus.jsonl.gz")


def load_questions(path: Path) -> list[Question]:
    if not path.is_file():
        raise ValueError(f"{path} does not exist; DIR needs a questions.jsonl")
    questions = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                questions.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: invalid JSON ({error.msg})") from None
    return questions


def sample_questions(
    questions: Sequence[Question], limit: int | None, seed: int, markets_only: bool
) -> list[Question]:
    """Filter, then `random.Random(seed).sample`: the same seed gives the same questions."""
    pool = [q for q in questions if q.get("markets")] if markets_only else list(questions)
    if limit is None or limit >= len(pool):
        return pool
    return random.Random(seed).sample(pool, limit)


def open_text(path: Path, mode: str = "rt") -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8", compresslevel=1 if "w" in mode else 9)
    return path.open(mode, encoding="utf-8")


def _records(path: Path) -> Iterator[tuple[str, str]]:
    """(id, raw line) of each corpus record; the line is copied as is."""
    with open_text(path) as lines:
        for line in lines:
            if line.strip():
                record_id = str(json.loads(line).get("id") or "")
                yield record_id, line if line.endswith("\n") else line + "\n"


def write_pool_corpus(corpus: Path, ids: set[str], folder: Path) -> tuple[Path, int]:
    """Copy the records with these ids to `folder`/same file name; returns (path, count).

    The same file name keeps the records' origins (`corpus.jsonl.gz#id`) as a full
    ingest of the corpus would give them.
    """
    target = folder / corpus.name
    written = 0
    with open_text(target, "wt") as out:
        for record_id, line in _records(corpus):
            if record_id in ids:
                out.write(line)
                written += 1
    return target, written


# ---------------------------------------------------------------------------------------
# The store: a fresh one per corpus selection, or the --data-dir given; reused by marker
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What gets ingested: a corpus file, whole (`full`) or the sampled pools (`pool`)."""

    corpus: Path
    mode: str
    ids: frozenset[str] | None  # None: every record of the file

    @property
    def ids_sha256(self) -> str:
        if self.ids is None:
            return "all"
        return hashlib.sha256("\n".join(sorted(self.ids)).encode()).hexdigest()

    def key(self) -> str:
        text = f"{self.corpus}|{self.mode}|{self.ids_sha256}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def identity(self, settings: Settings) -> dict[str, Any]:
        """What a store must have been built from to be reused for this run."""
        return {
            "version": MARKER_VERSION,
            "corpus": str(self.corpus),
            "size": self.corpus.stat().st_size,
            "mode": self.mode,
            "ids_sha256": self.ids_sha256,
            "n_ids": None if self.ids is None else len(self.ids),
            "collection": settings.collection_name(),
            "chroma_url": settings.chroma_url,
        }


def marker_path(data_dir: Path, settings: Settings) -> Path:
    """One marker per collection: other models or chunkings live in other collections."""
    return data_dir / f"eval-marker-{settings.collection_name()}.json"


def read_marker(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The stored marker when it describes this very selection, else None."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict):
        return None
    return stored if all(stored.get(k) == v for k, v in identity.items()) else None


def write_marker(path: Path, marker: dict[str, Any]) -> None:
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(marker, indent=2), encoding="utf-8")
    partial.replace(path)


# ---------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------


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


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.newsbot import NewsBot

    folder = Path(args.dir).expanduser().resolve()
    corpus = find_corpus(folder)
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    questions = sample_questions(
        load_questions(folder / "questions.jsonl"), args.limit, args.seed, args.markets_only
    )
    if not questions:
        raise ValueError("no questions to ask (is --markets-only leaving none?)")

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

    out = args.out or Path(f"eval-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json")
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics,
        "settings": {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "newsbot": settings.model_dump(mode="json"),
            "collection": settings.collection_name(),
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
    identity = selection.identity(settings)
    marker_file = marker_path(Path(settings.data_dir), settings)
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
        raise ValueError(f"the eval corpus could not be read: {failure.item}: {failure.reason}")
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


def score_answer(q: Question, answer: Any, min_evidence: float = 0.0) -> dict[str, Any]:
    """One question's record: the answer and whether it hit, contained and picked gold.

    `answer` was drafted without an evidence threshold; `min_evidence` turns it into the
    "not found" the bot would have said. `drafted_*` keep what the draft would have
    scored, for the abstention curve.
    """
    gold = str(q.get("answer", ""))
    retrieved = " ".join(source.text for source in answer.sources[:RECALL_AT])
    choices = [str(c) for c in q.get("choices") or []]
    drafted = None if answer.abstained else best_choice(answer.text, choices)
    drafted_contained = not answer.abstained and contains(strip_citations(answer.text), gold)
    abstained = bool(answer.abstained) or answer.evidence < min_evidence
    picked = None if abstained else drafted
    first_contained = not abstained and contains(first_sentence(answer.text), gold)
    return {
        "id": q.get("id"),
        "question": q.get("question"),
        "date": q.get("date"),
        "gold": gold,
        "answer": NO_ANSWER if abstained else answer.text,
        "abstained": abstained,
        "evidence": round(float(answer.evidence), 4),
        "answerable": bool(q.get("answer_in_pool")),
        f"hit@{RECALL_AT}": contains(retrieved, gold),
        "contained": drafted_contained and not abstained,
        "first_contained": first_contained,
        "answer_chars": None if abstained else len(strip_citations(answer.text)),
        "mc_choice": picked,
        # Abstaining picks nothing, whatever words the fixed "not found" text shares.
        "mc_correct": picked is not None and picked == q.get("answer_index"),
        "drafted_contained": drafted_contained,
        "drafted_mc_correct": drafted is not None and drafted == q.get("answer_index"),
        "seconds": round(float(answer.seconds), 4),
        "stage_ms": {k: round(v * 1000, 2) for k, v in answer.timings.items()},
        "source_urls": [source.url for source in answer.sources[:RECALL_AT]],
    }


def compute_metrics(records: Sequence[dict[str, Any]], ingest: dict[str, Any]) -> dict[str, Any]:
    n = len(records)
    hit = f"hit@{RECALL_AT}"
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    latencies = [r["seconds"] * 1000 for r in records]
    lengths = [r["answer_chars"] for r in records if r["answer_chars"] is not None]
    drafted_contained = [r for r in records if r["drafted_contained"]]
    stages = sorted({stage for r in records for stage in r["stage_ms"]})
    return {
        "n_questions": n,
        "n_answerable": len(answerable),
        f"recall@{RECALL_AT}": rate(sum(r[hit] for r in records), n),
        f"recall@{RECALL_AT}_answerable": rate(sum(r[hit] for r in answerable), len(answerable)),
        "containment": rate(sum(r["contained"] for r in records), n),
        "containment_answerable": rate(sum(r["contained"] for r in answerable), len(answerable)),
        "first_sentence_containment": rate(sum(r["first_contained"] for r in records), n),
        "mc_accuracy": rate(sum(r["mc_correct"] for r in records), n),
        "abstention": rate(sum(r["abstained"] for r in records), n),
        "abstention_unanswerable": rate(
            sum(r["abstained"] for r in unanswerable), len(unanswerable)
        ),
        # Answers that held the gold before the evidence threshold turned them into "not found".
        "contained_lost_to_threshold": rate(
            sum(r["abstained"] for r in drafted_contained), len(drafted_contained)
        ),
        "answer_chars_median": round(percentile(lengths, 50)) if lengths else None,
        "abstention_curve": abstention_curve(records),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
        },
        "stage_ms_p50": {
            stage: round(percentile([r["stage_ms"].get(stage, 0.0) for r in records], 50), 1)
            for stage in stages
        },
        "ingest": {
            "articles_per_s": ingest.get("articles_per_s"),
            "chunks_per_s": ingest.get("chunks_per_s"),
            "reused": ingest.get("reused", False),
        },
    }


CURVE_THRESHOLDS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)


def abstention_curve(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each `min_evidence` threshold would give: how often the bot abstains, and how
    right it is overall and on the questions it still answers."""
    curve = []
    unanswerable = sum(not r["answerable"] for r in records)
    could_contain = sum(r["drafted_contained"] for r in records)
    for threshold in CURVE_THRESHOLDS:
        answered = [r for r in records if r["evidence"] >= threshold and r["evidence"] > 0]
        contained = sum(r["drafted_contained"] for r in answered)
        correct = sum(r["drafted_mc_correct"] for r in answered)
        refused_unanswerable = unanswerable - sum(not r["answerable"] for r in answered)
        curve.append(
            {
                "min_evidence": threshold,
                "abstention": round(1 - len(answered) / len(records), 4) if records else None,
                "abstention_unanswerable": (
                    round(refused_unanswerable / unanswerable, 4) if unanswerable else None
                ),
                "contained_lost": (
                    round(1 - contained / could_contain, 4) if could_contain else None
                ),
                "containment": round(contained / len(records), 4) if records else None,
                "mc_accuracy": round(correct / len(records), 4) if records else None,
                "containment_answered": round(contained / len(answered), 4) if answered else None,
                "mc_accuracy_answered": round(correct / len(answered), 4) if answered else None,
            }
        )
    return curve


def format_curve(curve: Sequence[dict[str, Any]], chosen: float) -> str:
    """The abstention trade-off as aligned text, the configured threshold marked."""

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    rows = [
        (
            "min_evidence",
            "abstain",
            "abstain (unanswerable)",
            "contained lost",
            "containment",
            "MC",
            "of answered: cont.",
            "MC",
            "",
        )
    ]
    for row in curve:
        rows.append(
            (
                f"{row['min_evidence']:.2f}",
                cell(row["abstention"]),
                cell(row["abstention_unanswerable"]),
                cell(row["contained_lost"]),
                cell(row["containment"]),
                cell(row["mc_accuracy"]),
                cell(row["containment_answered"]),
                cell(row["mc_accuracy_answered"]),
                "<- setting" if abs(row["min_evidence"] - chosen) < 1e-9 else "",
            )
        )
    return "\n" + _aligned(rows, left=(0, 8))


def format_table(metrics: dict[str, Any]) -> str:
    """Plain aligned text: metric, value, 95% interval, n."""
    rows: list[tuple[str, str, str, str]] = [("metric", "value", "95% CI", "n")]
    labels = [
        (f"recall@{RECALL_AT}", f"recall@{RECALL_AT}"),
        (f"recall@{RECALL_AT}_answerable", f"recall@{RECALL_AT} (answerable)"),
        ("containment", "containment"),
        ("containment_answerable", "containment (answerable)"),
        ("first_sentence_containment", "first sentence contains gold"),
        ("mc_accuracy", "MC accuracy"),
        ("abstention", "abstention"),
        ("abstention_unanswerable", "abstention (unanswerable)"),
        ("contained_lost_to_threshold", "contained answers lost to min_evidence"),
    ]
    for key, label in labels:
        item = metrics[key]
        value = "-" if item["rate"] is None else f"{item['rate']:.3f}"
        low, high = item["ci95"]
        rows.append((label, value, f"[{low:.3f}, {high:.3f}]", str(item["n"])))
    n = str(metrics["n_questions"])
    rows.append(("latency p50 (ms)", f"{metrics['latency_ms']['p50']:.0f}", "", n))
    rows.append(("latency p95 (ms)", f"{metrics['latency_ms']['p95']:.0f}", "", n))
    for stage, value in metrics["stage_ms_p50"].items():
        rows.append((f"  {stage} p50 (ms)", f"{value:.0f}", "", n))
    median = metrics["answer_chars_median"]
    rows.append(("answer length median (chars)", "-" if median is None else str(median), "", ""))
    ingest = metrics["ingest"]
    speed = ingest["articles_per_s"]
    label = "ingest articles/s" + (" (earlier run)" if ingest["reused"] else "")
    rows.append((label, "-" if speed is None else f"{speed:.1f}", "", ""))
    return _aligned(rows, left=(0, 2))


def _aligned(rows: Sequence[Sequence[str]], left: tuple[int, ...]) -> str:
    """Columns padded to width (the `left` ones left-aligned), a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
