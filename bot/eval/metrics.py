"""How an answer is scored against a question's gold answer, and the rates over a run.

Small pure functions, so that tests can pin each one down.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.types import NO_ANSWER

Question = dict[str, Any]

RECALL_AT = 5
_Z95 = 1.959963984540054  # two-sided 95% normal quantile

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
        "reliability": reliability(records),
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


def reliability(records: Sequence[dict[str, Any]], bins: int = 5) -> list[dict[str, Any]]:
    """The evidence of the drafted answers in bins, beside how often they held the gold:
    where the evidence is a calibrated probability (the trained reader's), the two agree
    in every bin."""
    drafted = [r for r in records if r["evidence"] > 0]
    curve = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [
            r
            for r in drafted
            if low <= r["evidence"] < high or (b == bins - 1 and r["evidence"] == 1)
        ]
        if inside:
            curve.append(
                {
                    "evidence": f"{low:.1f}-{high:.1f}",
                    "answers": len(inside),
                    "mean_evidence": round(sum(r["evidence"] for r in inside) / len(inside), 3),
                    "held_gold": round(
                        sum(r["drafted_contained"] for r in inside) / len(inside), 3
                    ),
                }
            )
    return curve


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
