"""`python -m bot.reader.training.train`: fit the reader, report it out of fold, save it.

Input: the file `bot.reader.training.collect` writes (each DEV question's shortlisted
sentences, labelled). The reader (`bot.reader.network`) is fitted with two losses per
question: a listwise one (the gold sentences' share of the softmax over its shortlist:
the answering sentence first) and a pointwise one (binary cross-entropy on every
sentence, questions with no gold included: a probability to abstain on).

Figures are out of fold, two ways (never on a question whose week was trained on):
- by week: the weeks dealt into `--folds` folds; each fold answered by a model fitted
  on the others;
- by time: fitted on the earliest 70% of weeks, read on the latest 30%: the drift a
  year of news brings, which week folds hide.
A Platt scaling fitted on the week-fold logits makes the final model's logits into
probabilities. The final model is fitted on every week and written with its manifest.
Seeded; single-threaded numerics on 2 cores give the same weights run to run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.reader import files as reader_files
from bot.reader.network import build, trained_state

log = logging.getLogger("train-reader")


@dataclass(frozen=True)
class Group:
    """One question's shortlist as the reader reads it, with its labels."""

    id: str
    week: str
    reading: str
    texts: list[str]
    labels: np.ndarray
    baseline: np.ndarray
    teacher: np.ndarray


def load_groups(path: Path) -> list[Group]:
    groups = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            r = json.loads(line)
            sentences = r["sentences"]
            groups.append(
                Group(
                    r["id"],
                    r["week"],
                    r["reading"],
                    [s["text"] for s in sentences],
                    np.array([s["label"] for s in sentences], dtype=bool),
                    np.array([s["baseline"] for s in sentences], dtype=float),
                    np.array([s["teacher"] for s in sentences], dtype=float),
                )
            )
    return groups


class Pairs:
    """Tokenised (question, sentence) pairs, padded per batch."""

    def __init__(self, base: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self.tokenizer.no_padding()

    def tensors(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        import torch

        encodings = self.tokenizer.encode_batch(list(pairs))
        width = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(pairs), width), dtype=torch.long)
        types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = torch.tensor(e.ids)
            types[row, :n] = torch.tensor(e.type_ids)
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _batches(groups: list[Group], per_batch: int, rng: random.Random) -> Iterator[list[Group]]:
    order = [g for g in groups if g.texts]
    rng.shuffle(order)
    for start in range(0, len(order), per_batch):
        yield order[start : start + per_batch]


def fit(groups: list[Group], args: argparse.Namespace, pairs: Pairs) -> Any:
    """A reader fitted on `groups` (seeded by `args.seed`)."""
    import torch

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = build(args.base, args.rank, args.alpha)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * -(-sum(1 for g in groups if g.texts) // args.questions_per_batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=max(steps, 1), pct_start=0.1
    )
    model.train()
    step, started = 0, time.perf_counter()
    for _ in range(args.epochs):
        for batch in _batches(groups, args.questions_per_batch, rng):
            inputs = pairs.tensors([(g.reading, t) for g in batch for t in g.texts])
            logits = model(**inputs)
            labels = torch.tensor(np.concatenate([g.labels for g in batch]), dtype=torch.float)
            loss = args.pointwise * torch.nn.functional.binary_cross_entropy_with_logits(
                logits, labels
            )
            listwise, start = [], 0
            for g in batch:
                z = logits[start : start + len(g.texts)]
                start += len(g.texts)
                if g.labels.any():
                    gold = torch.tensor(g.labels)
                    listwise.append(torch.logsumexp(z, 0) - torch.logsumexp(z[gold], 0))
            if listwise:
                loss = loss + torch.stack(listwise).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                log.info(
                    "step %d/%d loss %.3f (%.0f s)",
                    step,
                    steps,
                    loss.item(),
                    time.perf_counter() - started,
                )
    return model.eval()


def predict(model: Any, groups: list[Group], pairs: Pairs, batch: int = 64) -> list[np.ndarray]:
    """The raw logit of every sentence, per question."""
    import torch

    flat = [(g.reading, t) for g in groups for t in g.texts]
    out = np.zeros(len(flat), dtype=float)
    order = sorted(range(len(flat)), key=lambda i: len(flat[i][1]))
    with torch.no_grad():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            out[chunk] = model(**pairs.tensors([flat[i] for i in chunk])).numpy()
    result, start = [], 0
    for g in groups:
        result.append(out[start : start + len(g.texts)])
        start += len(g.texts)
    return result


def week_folds(groups: list[Group], folds: int) -> list[int]:
    weeks = sorted({g.week for g in groups})
    fold_of = {week: index % folds for index, week in enumerate(weeks)}
    return [fold_of[g.week] for g in groups]


def time_split(groups: list[Group], share: float = 0.7) -> tuple[list[int], list[int]]:
    weeks = sorted({g.week for g in groups})
    cut = weeks[int(len(weeks) * share)]
    early = [i for i, g in enumerate(groups) if g.week < cut]
    late = [i for i, g in enumerate(groups) if g.week >= cut]
    return early, late


def figures(groups: list[Group], scores: list[np.ndarray]) -> dict[str, float]:
    """Sentence-level figures of one scoring: how often its top sentence holds the gold,
    of all questions and of those whose shortlist holds it (the ceiling)."""
    with_gold = [i for i, g in enumerate(groups) if g.labels.any()]
    top = [bool(groups[i].labels[int(np.argmax(scores[i]))]) for i in with_gold]
    return {
        "questions": len(groups),
        "ceiling": len(with_gold) / max(len(groups), 1),
        "first": sum(top) / max(len(groups), 1),
        "first_of_ceiling": float(np.mean(top)) if top else 0.0,
    }


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """a, b of p = sigmoid(a * logit + b), fitted by maximum likelihood (Newton steps)."""
    w = np.array([1.0, 0.0])
    x = np.column_stack([logits, np.ones_like(logits)])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - labels)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def reliability(
    logits: np.ndarray, labels: np.ndarray, calibration: tuple[float, float], bins: int = 10
) -> list[dict[str, Any]]:
    """The calibrated probabilities in bins of 0.1: mean predicted against the share that
    answered (a calibrated reader has the two close in every bin)."""
    p = 1 / (1 + np.exp(-(calibration[0] * logits + calibration[1])))
    curve = []
    for b in range(bins):
        inside = (p >= b / bins) & (p < (b + 1) / bins if b < bins - 1 else p <= 1)
        if inside.any():
            curve.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "sentences": int(inside.sum()),
                    "predicted": round(float(p[inside].mean()), 3),
                    "answered": round(float(labels[inside].mean()), 3),
                }
            )
    return curve


def out_of_fold(
    groups: list[Group], args: argparse.Namespace, pairs: Pairs
) -> tuple[list[np.ndarray], dict[str, Any], dict[str, Any]]:
    """Week-fold logits for every question, the time-ordered split's figures, and the
    models fitted on the way (by name: `week-fold-K`, `time-ordered`)."""
    fold = week_folds(groups, args.folds)
    oof: list[np.ndarray] = [np.zeros(0)] * len(groups)
    models: dict[str, Any] = {}
    for k in range(args.folds):
        train = [g for g, f in zip(groups, fold, strict=True) if f != k]
        held = [i for i, f in enumerate(fold) if f == k]
        log.info("fold %d/%d: fitting on %d questions", k + 1, args.folds, len(train))
        models[f"week-fold-{k}"] = model = fit(train, args, pairs)
        for i, scores in zip(held, predict(model, [groups[i] for i in held], pairs), strict=True):
            oof[i] = scores
    early, late = time_split(groups)
    log.info("time-ordered: fitting on %d questions of the earliest weeks", len(early))
    models["time-ordered"] = model = fit([groups[i] for i in early], args, pairs)
    late_groups = [groups[i] for i in late]
    late_scores = predict(model, late_groups, pairs)
    report = {
        "week_folds": {
            name: figures(groups, s)
            for name, s in (
                ("reader", oof),
                ("today", [g.baseline for g in groups]),
                ("cross-encoder", [g.teacher for g in groups]),
            )
        },
        "time_ordered": {
            "first_test_week": groups[late[0]].week if late else None,
            **{
                name: figures(late_groups, s)
                for name, s in (
                    ("reader", late_scores),
                    ("today", [g.baseline for g in late_groups]),
                    ("cross-encoder", [g.teacher for g in late_groups]),
                )
            },
        },
    }
    return oof, report, models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="collect's .jsonl.gz file")
    parser.add_argument("--out", type=Path, default=reader_files.ADAPTER_DIR, help="where to write")
    parser.add_argument("--base", type=Path, default=None, help="base model folder (packaged)")
    parser.add_argument("--folds", type=int, default=4, help="week folds (0: skip out-of-fold)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32.0)
    parser.add_argument("--pointwise", type=float, default=1.0, help="weight of the BCE loss")
    parser.add_argument("--questions-per-batch", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--limit", type=int, help="first N questions only (a trial run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--oof-out", type=Path, help="write out-of-fold logits here (JSON)")
    parser.add_argument(
        "--save-models",
        type=Path,
        help="also write each out-of-fold model here (for `newsbot eval` per fold)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    torch.set_num_threads(args.threads)
    args.base = args.base or reader_files.base_model_path()
    groups = load_groups(args.data)[: args.limit]
    pairs = Pairs(args.base, args.max_tokens)
    started = time.perf_counter()
    calibration = (1.0, 0.0)
    report: dict[str, Any] = {}
    meta = {
        "rank": args.rank,
        "alpha": args.alpha,
        "max_tokens": args.max_tokens,
        "arguments": {k: str(v) for k, v in vars(args).items()},
    }
    if args.folds:
        oof, report, models = out_of_fold(groups, args, pairs)
        logits = np.concatenate(oof)
        labels = np.concatenate([g.labels for g in groups]).astype(float)
        calibration = platt(logits, labels)
        report["calibration_curve"] = reliability(logits, labels, calibration)
        if args.oof_out:
            args.oof_out.write_text(
                json.dumps({g.id: s.tolist() for g, s in zip(groups, oof, strict=True)})
            )
        print(json.dumps(report, indent=2))
        if args.save_models:
            folds = week_folds(groups, args.folds)
            split = {
                "week_fold": {g.week: f for g, f in zip(groups, folds, strict=True)},
                "time_cut": report["time_ordered"]["first_test_week"],
            }
            args.save_models.mkdir(parents=True, exist_ok=True)
            (args.save_models / "splits.json").write_text(json.dumps(split, indent=1))
            for name, model in models.items():
                reader_files.write_adapter(
                    args.save_models / name,
                    trained_state(model),
                    {**meta, "calibration": list(calibration)},
                    data_files=[args.data],
                )
    log.info("final model: fitting on all %d questions", len(groups))
    model = fit(groups, args, pairs)
    reader_files.write_adapter(
        args.out,
        trained_state(model),
        {
            **meta,
            "calibration": list(calibration),
            "trained_seconds": round(time.perf_counter() - started),
            "out_of_fold": report,
        },
        data_files=[args.data],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
