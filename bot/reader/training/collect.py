"""`python -m bot.reader.training.collect`: the reader's training data, from DEV.

For every DEV question, the sentences the answerer itself would read: newsbot's own
retrieval on the full DEV store, dated as `newsbot eval` dates it, then the cheap
shortlist the answerer scores. Each sentence is labelled by whether it holds the gold
choice (normalised as `newsbot eval` does). Questions whose gold no shortlisted sentence
holds stay in as negatives only: on-topic news that does not answer is what the reader
must learn to refuse. Beside each sentence go today's answerer's score (the baseline) and
the packaged ms-marco cross-encoder's logit (a teacher).

Needs a store filled by `newsbot --data-dir D eval ../shared/data/realtimeqa-dev --corpus
full`. Writes one JSON line per question (gzip).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bot import NewsBot, Settings
from bot.answer.extractive import _shortlist, candidate_sentences, group_by_article
from bot.answer.sentence_features import WEIGHTS
from bot.eval.data import load_questions
from bot.eval.metrics import contains
from bot.question.asking import ask_clause
from bot.question.followup import reading_query
from bot.question.time_phrases import without_time_phrases
from bot.retrieval.retriever import Filters

DEV = Path(__file__).resolve().parents[4] / "shared" / "data" / "realtimeqa-dev"


def collect_one(bot: NewsBot, q: dict) -> dict:
    """One question's shortlist, labels, baseline scores and teacher logits."""
    text = str(q["question"])
    as_of = date.fromisoformat(q["date"])
    passages = bot.passages(text, Filters(), as_of)
    articles = group_by_article(passages)
    sentences = candidate_sentences(articles)
    gold = str(q["answer"])
    record = {
        "id": q["id"],
        "week": q["week"],
        "date": q["date"],
        "question": text,
        "reading": reading_query(text, text),
        "answer": gold,
        "choices": q.get("choices", []),
        "answerable": bool(q.get("answer_in_pool")),
        "any_candidate": any(contains(s.text, gold) for s in sentences),
        "sentences": [],
    }
    if not sentences:
        return record
    shortlist, prior, _ = _shortlist(without_time_phrases(text), sentences, WEIGHTS)
    texts = [s.text for s in shortlist]
    encoded = bot.embedder.encode([text, ask_clause(text), *texts])
    vectors = encoded[2:]
    teacher = bot.reader.score(record["reading"], texts) if bot.reader else np.zeros(len(texts))
    baseline = (
        WEIGHTS["similarity"] * (vectors @ encoded[0])
        + WEIGHTS["similarity_ask"] * (vectors @ encoded[1])
        + prior
        + WEIGHTS["rerank"] * teacher
    )
    published = [str(a[0].hit.metadata.get("published") or "") for a in articles]
    days = [
        (as_of - date.fromisoformat(published[s.article])).days if published[s.article] else None
        for s in shortlist
    ]
    record["sentences"] = [
        {
            "text": s.text,
            "title": s.title,
            "label": contains(s.text, gold),
            "article": s.article,
            "position": list(s.position),
            "days_before": days[i],
            "baseline": round(float(baseline[i]), 4),
            "teacher": round(float(teacher[i]), 4),
        }
        for i, s in enumerate(shortlist)
    ]
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="Store with full DEV.")
    parser.add_argument("--dir", type=Path, default=DEV, help="DEV folder (questions.jsonl).")
    parser.add_argument("--out", type=Path, required=True, help="Output .jsonl.gz file.")
    parser.add_argument("--limit", type=int, help="Only the first N questions (a trial run).")
    args = parser.parse_args(argv)
    questions = load_questions(args.dir / "questions.jsonl")[: args.limit]
    bot = NewsBot(Settings(data_dir=args.data_dir, reader="rerank"))
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for q in tqdm(questions, desc="Collecting", unit="question", file=sys.stderr):
            out.write(json.dumps(collect_one(bot, q), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
