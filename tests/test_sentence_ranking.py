"""How the answerer ranks sentences: its features, and the fitting of their weights."""

from __future__ import annotations

import numpy as np

from bench.fit_answerer import NAMES, fit, top1
from bot.answer.sentence_features import FEATURES, WEIGHTS, Sentence, sentence_features
from bot.question.asking import ask_clause
from bot.question.followup import reading_query, search_query


def test_the_asking_clause_is_the_question_sentence() -> None:
    scene = "Carnival season closed this week with parades. Mardi Gras is French for what?"
    assert ask_clause(scene) == "Mardi Gras is French for what?"
    assert ask_clause("Who raised Hang Seng targets and why?") == (
        "Who raised Hang Seng targets and why?"
    )


def test_the_reranker_reads_the_asking_clause_after_a_follow_ups_earlier_question() -> None:
    scene = "Carnival season closed this week with parades. Mardi Gras is French for what?"
    assert reading_query(scene, scene) == "Mardi Gras is French for what?"
    earlier = "Which banks raised their Hang Seng targets?"
    searched = search_query("Why did they do it?", [(earlier, "Morgan Stanley and Citi.")])
    assert reading_query("Why did they do it?", searched) == f"{earlier} Why did they do it?"
    rewritten = "Why did Morgan Stanley raise its Hang Seng target?"
    assert reading_query("Why did they do it?", rewritten) == rewritten


def test_features_favour_the_sentence_with_what_was_asked() -> None:
    def sentence(text: str, position: tuple[int, int]) -> Sentence:
        return Sentence(0, position, text, "Banks raise Hang Seng targets", 1.0)

    restating = sentence("Banks raised their Hang Seng targets again on Monday.", (0, 0))
    answering = sentence("Goldman Sachs lifted its target to 24,000 points.", (0, 1))
    question = "How many points is Goldman's Hang Seng target?"
    rows, _ = sentence_features(question, [restating, answering])
    column = dict(zip(FEATURES, rows.T, strict=True))
    assert list(column["asks_amount_has_number"]) == [0.0, 1.0]  # "24,000" is new
    assert column["first_sentence"][0] == 1.0 and column["second_sentence"][1] == 1.0
    assert column["overlap_previous"][1] > column["overlap_previous"][0] == 0.0
    weights = np.array([WEIGHTS.get(name, 0.0) for name in FEATURES])
    assert set(WEIGHTS) <= set(NAMES)  # no weight for a feature that no longer exists
    assert rows.shape == (2, len(FEATURES)) and np.isfinite(rows @ weights).all()


def test_fitting_finds_the_feature_that_marks_the_answer() -> None:
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(60):
        x = rng.normal(size=(20, len(NAMES)))
        gold = np.zeros(20, dtype=bool)
        gold[int(np.argmax(x[:, 3] + 0.3 * rng.normal(size=20)))] = True
        groups.append((x, gold))
    weights = fit(groups, l2=0.01)
    assert int(np.argmax(weights)) == 3
    assert top1(groups, weights) > 0.6 > top1(groups, -weights)
