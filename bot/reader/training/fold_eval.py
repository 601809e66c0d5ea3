"""`python -m bot.reader.training.fold_eval`: `newsbot eval` with out-of-fold readers.

`train --save-models DIR` leaves one reader per week fold and one fitted on the earliest
weeks. Here each sampled DEV question is answered end to end (retrieval, reader,
abstention, the answer's shape) by the reader that never saw its week, and the figures of
`newsbot eval` are computed over all of them; then the latest weeks alone by the
time-ordered reader, beside the `rerank` reader on the same questions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.eval.data import load_questions, sample_questions
from bot.eval.metrics import compute_metrics
from bot.eval.report import format_curve, format_table
from bot.reader.training.collect import DEV
from bot.settings import Settings


def _eval(
    data_dir: Path, questions: list[dict], out: Path, extra: list[str], scratch: Path
) -> list[dict[str, Any]]:
    """Runs `newsbot eval` on `questions` and returns its records; `extra` are settings
    flags, and `--search-phrases` among them goes to the eval."""
    subset = scratch / f"{out.stem}.jsonl"
    subset.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    command = [
        sys.executable, "-m", "bot", "--data-dir", str(data_dir),
        *[flag for flag in extra if flag != "--search-phrases"], "eval", str(DEV),
        "--corpus", "full", "--questions", str(subset), "--out", str(out),
        *[flag for flag in extra if flag == "--search-phrases"],
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return list(json.loads(out.read_text(encoding="utf-8"))["records"])


def _report(title: str, records: list[dict[str, Any]], threshold: float) -> None:
    metrics = compute_metrics(records, {})
    print(f"\n## {title}\n")
    print(format_table(metrics))
    print(format_curve(metrics["abstention_curve"], threshold))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="Store with full DEV.")
    parser.add_argument("--models", type=Path, required=True, help="train --save-models DIR")
    parser.add_argument("--out", type=Path, required=True, help="Folder for the eval reports.")
    parser.add_argument("--limit", type=int, default=300, help="Questions (default 300).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the sample (default 0).")
    parser.add_argument("--search-phrases", action="store_true", help="Ask as search phrases.")
    args = parser.parse_args(argv)
    splits = json.loads((args.models / "splits.json").read_text())
    questions = sample_questions(
        load_questions(DEV / "questions.jsonl"), args.limit, args.seed, markets_only=False
    )
    extra = ["--search-phrases"] if args.search_phrases else []
    args.out.mkdir(parents=True, exist_ok=True)
    threshold = Settings(data_dir=args.data_dir).evidence_threshold()
    with tempfile.TemporaryDirectory() as scratch:
        records = []
        for fold in sorted(set(splits["week_fold"].values())):
            asked = [q for q in questions if splits["week_fold"][q["week"]] == fold]
            adapter = [*extra, "--reader-adapter", str(args.models / f"week-fold-{fold}")]
            records += _eval(
                args.data_dir, asked, args.out / f"week-fold-{fold}.json", adapter,
                Path(scratch),
            )  # fmt: skip
        _report("trained reader, week folds (out of fold)", records, threshold)
        late = [q for q in questions if q["week"] >= splits["time_cut"]]
        adapter = [*extra, "--reader-adapter", str(args.models / "time-ordered")]
        trained = _eval(args.data_dir, late, args.out / "time-ordered.json", adapter, Path(scratch))
        _report(
            f"trained reader, weeks from {splits['time_cut']} (time-ordered)", trained, threshold
        )
        rerank_flags = [*extra, "--reader", "rerank"]
        rerank = _eval(
            args.data_dir, late, args.out / "time-ordered-rerank.json", rerank_flags, Path(scratch)
        )
        rerank_threshold = Settings(data_dir=args.data_dir, reader="rerank").evidence_threshold()
        _report(f"rerank reader, weeks from {splits['time_cut']}", rerank, rerank_threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
