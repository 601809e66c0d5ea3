"""`python -m bench.fit_answerer`: fit the answerer's sentence weights on real questions.

The answerer ranks candidate sentences by a weighted sum of cheap features and the
encoder's similarity (`bot.sentence_features`). This fits those weights on DEV questions
of `../shared/data/realtimeqa-dev`: for each question, the sentences newsbot itself would
consider (same retrieval, question dated as in `newsbot eval`) labelled by whether they
contain the gold answer; a listwise softmax (the gold sentences' share of probability)
with a little L2, by L-BFGS. Questions none of whose candidates hold the gold teach
nothing and are skipped.

The sample `newsbot eval --limit 300 --seed 0` asks is left out by default, so the
figures reported from it are not fitted on. Needs a data dir filled by
`newsbot --data-dir D eval ../shared/data/realtimeqa-dev --corpus full`. Prints the
weights as Python, to paste into `bot/sentence_features.py`.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from datetime import date
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

from bench.corpus import DEV
from bot import NewsBot
from bot.answerer import candidate_sentences, group_by_article
from bot.evaluate import contains, load_questions, sample_questions
from bot.retriever import Filters
from bot.sentence_features import ENCODED, FEATURES, WEIGHTS, ask_clause, sentence_features
from bot.timeparse import without_time_phrases

NAMES = (*ENCODED, *FEATURES)


def collect(bot: NewsBot, questions: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per usable question: the feature matrix (`ENCODED` columns first) and labels."""
    groups = []
    for q in tqdm(questions, desc="Questions", unit="question", file=sys.stderr):
        text = str(q["question"])
        passages = bot.passages(text, Filters(), date.fromisoformat(q["date"]))
        sentences = candidate_sentences(group_by_article(passages))
        labels = np.array([contains(s.text, str(q["answer"])) for s in sentences], dtype=bool)
        if not labels.any() or labels.all():
            continue
        features, _ = sentence_features(without_time_phrases(text), sentences)
        texts = [s.text for s in sentences]
        encoded = bot.embedder.encode([text, ask_clause(text), *texts])
        similarity = encoded[2:] @ encoded[:2].T
        relevance = bot.reranker.score(text, texts) if bot.reranker else np.zeros(len(texts))
        groups.append((np.column_stack([similarity, relevance, features]), labels))
    return groups


def fit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float) -> np.ndarray:
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


def top1(groups: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> float:
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
        help="Keep the collected features in this file and reuse them (to try other --l2).",
    )
    parser.add_argument(
        "--shortlist", type=int, default=24, help="Shortlist size to report recall for."
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
    if args.cache and args.cache.exists():
        groups = pickle.loads(args.cache.read_bytes())
    else:
        groups = collect(NewsBot(data_dir=args.data_dir), chosen)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(groups))
    half = len(groups) // 2
    check = fit(groups[:half], args.l2)
    print(
        f"{len(groups)} of {len(chosen)} questions have gold among their candidates; "
        f"top-1 gold on the other half when fitted on one half: {top1(groups[half:], check):.3f}"
    )
    now = np.array([WEIGHTS.get(name, 0.0) for name in NAMES])
    print(
        f"top-1 gold on that half with the weights now in bot/sentence_features.py: "
        f"{top1(groups[half:], now):.3f}"
    )
    weights = fit(groups, args.l2)
    print(f"top-1 gold, fitted on all: {top1(groups, weights):.3f}")
    # The shortlist's weights: the cheap features alone, fitted on their own (the full
    # model leans on the encoders and would misjudge without them).
    cheap = [(x[:, len(ENCODED) :], gold) for x, gold in groups]
    prior = fit(cheap, args.l2)
    kept = [shortlist_recall(g, prior, args.shortlist) for g in cheap]
    print(f"gold kept in a shortlist of {args.shortlist} by the cheap weights: {np.mean(kept):.3f}")
    _print_weights("WEIGHTS", NAMES, weights)
    _print_weights("PRIOR_WEIGHTS", FEATURES, prior)
    return 0


def shortlist_recall(group: tuple[np.ndarray, np.ndarray], w: np.ndarray, size: int) -> bool:
    x, gold = group
    return bool(gold[np.argsort(-(x @ w), kind="stable")[:size]].any())


def _print_weights(name: str, names: tuple[str, ...], values: np.ndarray) -> None:
    print(f"{name}: dict[str, float] = {{")
    for feature, value in zip(names, values, strict=True):
        print(f'    "{feature}": {value:.3f},')
    print("}")


if __name__ == "__main__":
    sys.exit(main())
