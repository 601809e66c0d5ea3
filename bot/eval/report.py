"""The tables `newsbot eval` prints: the metrics with their intervals, and the
abstention trade-off with the configured threshold marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.eval.metrics import RECALL_AT


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


def format_reliability(curve: Sequence[dict[str, Any]]) -> str:
    """Evidence against how often the drafted answer held the gold, per evidence bin."""
    rows = [("evidence", "answers", "mean evidence", "held gold")]
    rows += [
        (
            row["evidence"],
            str(row["answers"]),
            f"{row['mean_evidence']:.3f}",
            f"{row['held_gold']:.3f}",
        )
        for row in curve
    ]
    return "\n" + _aligned(rows, left=(0,))


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
