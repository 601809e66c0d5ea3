"""`python -m bench.quotes`: how well ingest attributes quotes, against hand labels.

`bench/quotes_gold.jsonl` lists every statement in the sample news and the seed article
that the text attributes to a named speaker (a person, or an organisation speaking as
one), labelled by reading the articles: the speaker and a snippet of the sentence.
Statements of unnamed speakers ("Analysts said", "The central bank said") are not in it,
so a speaker named for one of them counts against precision.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ingest.annotate.article import annotate
from ingest.annotate.names import entity_key
from ingest.annotate.quotes import Quote

HERE = Path(__file__).parent
GOLD = HERE / "quotes_gold.jsonl"
SAMPLE_NEWS = HERE.parent / "ingest" / "samples" / "sample_news.jsonl"


@dataclass(frozen=True)
class Scores:
    found: int  # attributions extracted
    correct: int  # of them, a labelled statement with its speaker
    labelled: int
    recalled: int  # labelled statements extracted with their speaker

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.recalled / self.labelled if self.labelled else 0.0


def same_speaker(a: str, b: str) -> bool:
    """One speaker: the same key, or one a longer form ("Alibaba Group Holding")."""
    x, y = entity_key(a).split(), entity_key(b).split()
    shorter, longer = sorted((x, y), key=len)
    return bool(shorter) and longer[: len(shorter)] == shorter


def score(articles: dict[str, str], gold: list[dict[str, str]]) -> Scores:
    extracted = {key: annotate("", text).quotes for key, text in articles.items()}

    def labelled_as(article: str, quote: Quote) -> bool:
        return any(
            g["article"] == article and g["in"] in quote.sentence
            and same_speaker(g["speaker"], quote.speaker)
            for g in gold
        )  # fmt: skip

    def extracted_as(label: dict[str, str]) -> bool:
        return any(
            label["in"] in quote.sentence and same_speaker(label["speaker"], quote.speaker)
            for quote in extracted.get(label["article"], [])
        )

    found = [(article, q) for article, quotes in extracted.items() for q in quotes]
    return Scores(
        found=len(found),
        correct=sum(labelled_as(article, q) for article, q in found),
        labelled=len(gold),
        recalled=sum(extracted_as(label) for label in gold),
    )


def sample_articles(seed: Path | None) -> dict[str, str]:
    articles = {}
    for line in SAMPLE_NEWS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        articles[record["id"]] = record["text"]
    if seed is not None:
        articles["seed"] = seed.read_text(encoding="utf-8")
    return articles


def main() -> int:
    shared = Path(os.environ.get("NEWSBOT_SHARED_DIR") or HERE.parents[1] / "shared")
    seed = next((shared / "seeds").glob("*.txt"), None)
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    if seed is None:
        gold = [label for label in gold if label["article"] != "seed"]
    result = score(sample_articles(seed), gold)
    print("quote attribution on the sample news (hand labels: bench/quotes_gold.jsonl)")
    print("labelled  extracted  correct  recalled  precision  recall")
    print(
        f"{result.labelled:>8}  {result.found:>9}  {result.correct:>7}  {result.recalled:>8}"
        f"  {result.precision:>9.2f}  {result.recall:>6.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
