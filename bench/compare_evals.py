"""`python -m bench.compare_evals BEFORE.json AFTER.json`: paired wins and losses.

Two `newsbot eval` reports over the same questions: for each yes/no outcome, how many
questions the change won (no -> yes) and lost (yes -> no), beside both rates. A change
is kept on its paired balance, not on a rate difference inside the noise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

OUTCOMES = ("hit@5", "contained", "first_contained", "mc_correct", "abstained")


def load(path: Path) -> dict[str, dict[str, Any]]:
    report = json.loads(path.read_text(encoding="utf-8"))
    return {str(record["id"]): record for record in report["records"]}


def compare(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> str:
    shared = sorted(before.keys() & after.keys())
    if not shared:
        raise SystemExit("the two reports share no question ids")
    lines = [f"{len(shared)} questions in both reports", "outcome  before  after  wins  losses"]
    for outcome in OUTCOMES:
        a = [bool(before[q].get(outcome)) for q in shared]
        b = [bool(after[q].get(outcome)) for q in shared]
        wins = sum(not x and y for x, y in zip(a, b, strict=True))
        losses = sum(x and not y for x, y in zip(a, b, strict=True))
        lines.append(f"{outcome}  {sum(a) / len(a):.3f}  {sum(b) / len(b):.3f}  +{wins}  -{losses}")
    for name, report in (("before", before), ("after", after)):
        lengths = [r["answer_chars"] for q in shared if (r := report[q]).get("answer_chars")]
        median = statistics.median(lengths) if lengths else float("nan")
        latency = statistics.median(report[q]["seconds"] * 1000 for q in shared)
        lines.append(f"{name}: median answer {median:.0f} chars, median latency {latency:.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    print(compare(load(args.before), load(args.after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
