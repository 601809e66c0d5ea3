"""`python -m bench.fit_answerer`: fit the answerer's sentence weights on real questions.

The answerer ranks in two steps (`bot.answer.extractive`): cheap features
(`bot.answer.sentence_features`) shortlist a question's candidate sentences, then the
shortlist alone is scored with the encoder's similarities and the cross-encoder's
relevance added. This fits both weight sets
on DEV questions of `../shared/data/realtimeqa-dev`, each on what it will score:

1. for each question, every sentence newsbot itself would consider (same retrieval,
   question dated as in `newsbot eval`), labelled by whether it contains the gold answer;
   `PRIOR_WEIGHTS` are fitted on their cheap features;
2. those weights pick each question's shortlist, as the answerer does, and `WEIGHTS` are
   fitted on the shortlisted sentences with every feature.

Both fits are a listwise softmax (the gold sentences' share of probability) with a little
L2, by L-BFGS. Questions none (or all) of whose candidates hold the gold teach nothing and
are skipped.

The sample `newsbot eval --limit 300 --seed 0` asks is left out by default, so the
figures reported from it are not fitted on. Needs a data dir filled by
`newsbot --data-dir D eval ../shared/data/realtimeqa-dev --corpus full`. Prints the
weights as Python, to paste into `bot/answer/sentence_features.py`.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

from bench.corpus import DEV
from bot import NewsBot, Settings
from bot.answer.extractive import candidate_sentences, group_by_article, shortlisted
from bot.answer.sentence_features import ENCODED, FEATURES, WEIGHTS, sentence_features
from bot.eval.data import load_questions, sample_questions
from bot.eval.metrics import contains
from bot.question.asking import ask_clause
from bot.question.followup import reading_query
from bot.question.time_phrases import without_time_phrases
from bot.retrieval.retriever import Filters

NAMES = (*ENCODED, *FEATURES)
Group = tuple[np.ndarray, np.ndarray]  # (one row of features per sentence, gold labels)


@dataclass(frozen=True)
class Candidates:
    """One question's candidate sentences with their cheap features and gold labels."""

    question: str
    texts: list[str]
    features: np.ndarray
    labels: np.ndarray


def collect_candidates(bot: NewsBot, questions: list[dict]) -> list[Candidates]:
    """Step 1's data: the questions some but not all of whose candidates hold the gold."""
    found = []
    for q in tqdm(questions, desc="Retrieving", unit="question", file=sys.stderr):
        text = str(q["question"])
        passages = bot.passages(text, Filters(), date.fromisoformat(q["date"]))
        sentences = candidate_sentences(group_by_article(passages))
        labels = np.array([contains(s.text, str(q["answer"])) for s in sentences], dtype=bool)
        if not labels.any() or labels.all():
            continue
        features, _ = sentence_features(without_time_phrases(text), sentences)
        found.append(Candidates(text, [s.text for s in sentences], features, labels))
    return found


def shortlist_groups(bot: NewsBot, candidates: list[Candidates], prior: np.ndarray) -> list[Group]:
    """Step 2's data: each question's shortlist by `prior`, with the encoded columns."""
    groups = []
    for c in tqdm(candidates, desc="Encoding shortlists", unit="question", file=sys.stderr):
        keep = shortlisted(c.features @ prior)
        labels = c.labels[keep]
        if not labels.any() or labels.all():
            continue
        texts = [c.texts[i] for i in keep]
        encoded = bot.embedder.encode([c.question, ask_clause(c.question), *texts])
        similarity = encoded[2:] @ encoded[:2].T
        reading = reading_query(c.question, c.question)
        relevance = bot.reader.score(reading, texts) if bot.reader else np.zeros(len(texts))
        groups.append((np.column_stack([similarity, relevance, c.features[keep]]), labels))
    return groups


def fit(groups: list[Group], l2: float) -> np.ndarray:
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for x, gold in groups:
            s = x @ w
            s -= s.max()
            p_all = np.exp(s) / np.exp(s).sum()
            p_gold = np.exp(s[gold]) / np.exp(s[gold]).sum()
            total -= float(np.log(np.exp(s[gold]).sum() / np.exp(s).sum()))
            grad += x.T @ p_all - x[gold].T @ p_gold
        return total / len(groups), grad / len(groups)

    result = minimize(loss, np.zeros(groups[0][0].shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(result.x)


def top1(groups: list[Group], w: np.ndarray) -> float:
    return float(np.mean([gold[int(np.argmax(x @ w))] for x, gold in groups]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="Store with the full DEV corpus."
    )
    parser.add_argument("--dir", type=Path, default=DEV, help="DEV folder (questions.jsonl).")
    parser.add_argument("--limit", type=int, default=900, help="Questions to fit on (default 900).")
    parser.add_argument("--seed", type=int, default=1, help="Seed of that sample (default 1).")
    parser.add_argument("--l2", type=float, default=0.01, help="L2 penalty (default 0.01).")
    parser.add_argument(
        "--cache",
        type=Path,
        help="Keep the retrieved candidates in this file and reuse them (to try other --l2).",
    )
    parser.add_argument(
        "--keep-eval-sample",
        action="store_true",
        help="Also fit on the questions `newsbot eval --limit 300 --seed 0` asks.",
    )
    args = parser.parse_args(argv)
    questions = load_questions(args.dir / "questions.jsonl")
    held_out = (
        set()
        if args.keep_eval_sample
        else {q["id"] for q in sample_questions(questions, 300, 0, markets_only=False)}
    )
    pool = [q for q in questions if q["id"] not in held_out]
    chosen = sample_questions(pool, args.limit, args.seed, markets_only=False)
    bot = NewsBot(Settings(data_dir=args.data_dir, reader="rerank"))
    if args.cache and args.cache.exists():
        candidates = pickle.loads(args.cache.read_bytes())
    else:
        candidates = collect_candidates(bot, chosen)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(candidates))
    cheap = [(c.features, c.labels) for c in candidates]
    prior = fit(cheap, args.l2)
    print(f"{len(cheap)} of {len(chosen)} questions have gold among their candidates")
    kept = [shortlist_recall(g, prior) for g in cheap]
    print(f"gold kept in the shortlist by the cheap weights: {np.mean(kept):.3f}")
    groups = shortlist_groups(bot, candidates, prior)
    half = len(groups) // 2
    check = fit(groups[:half], args.l2)
    print(
        f"{len(groups)} shortlists hold gold among others; top-1 gold on the other half "
        f"when fitted on one half: {top1(groups[half:], check):.3f}"
    )
    now = np.array([WEIGHTS.get(name, 0.0) for name in NAMES])
    print(
        f"top-1 gold on that half with the weights now in bot/answer/sentence_features.py: "
        f"{top1(groups[half:], now):.3f}"
    )
    weights = fit(groups, args.l2)
    print(f"top-1 gold, fitted on all: {top1(groups, weights):.3f}")
    # For `reader=none`: the same fit without the cross-encoder's column.
    plain = [i for i, name in enumerate(NAMES) if name != "rerank"]
    plain_groups = [(x[:, plain], gold) for x, gold in groups]
    without = fit(plain_groups, args.l2)
    print(f"top-1 gold without the reranker, fitted on all: {top1(plain_groups, without):.3f}")
    _print_weights("WEIGHTS", NAMES, weights)
    _print_weights("WEIGHTS_WITHOUT_RERANK", tuple(NAMES[i] for i in plain), without)
    _print_weights("PRIOR_WEIGHTS", FEATURES, prior)
    return 0


def shortlist_recall(group: Group, w: np.ndarray) -> bool:
    x, gold = group
    return bool(gold[shortlisted(x @ w)].any())


def _print_weights(name: str, names: tuple[str, ...], values: np.ndarray) -> None:
    print(f"{name}: dict[str, float] = {{")
    for feature, value in zip(names, values, strict=True):
        print(f'    "{feature}": {value:.3f},')
    print("}")


if __name__ == "__main__":
    sys.exit(main())
