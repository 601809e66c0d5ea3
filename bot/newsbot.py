"""`NewsBot`: the public Python API that the CLI and the web chat both call."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answer.extractive import Drafted, draft_answer
from bot.answer.llm import fallback, is_extractive, load_chat_model, model_answer, rewrite_question
from bot.question.followup import reading_query, search_query
from bot.question.time_phrases import (
    asks_about_time,
    split_as_of,
    time_window,
    without_time_phrases,
)
from bot.retrieval.retriever import Filters, Passage, Retriever
from bot.settings import Settings
from bot.types import Answer
from ingest.dates import parse_date
from ingest.encoders.base import Embedder
from ingest.encoders.reranker import Reranker, load_reranker
from ingest.encoders.static_table import load_static_embedder
from ingest.encoders.transformer import load_embedder
from ingest.index.store import NewsStore, connect
from ingest.pipeline import ingest
from ingest.sources.web import FetchPolicy
from ingest.types import IngestReport, Limits
from ingest.write_lock import exclusive

EMPTY_CORPUS = "No news has been ingested yet. Add some with `newsbot ingest PATH_OR_URL`."
OTHER_SETTINGS = (
    "No news has been ingested with the current settings, but this data dir holds {} chunks "
    "ingested with other settings (embedding model, index vectors or chunking, e.g. by an "
    "older newsbot). Ingest the news again to use it with these settings."
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

History = Sequence[Any]
DateLike = date | str | None


INGEST_LOCK = "ingest.lock"


class NewsBot:
    """Ingest news and answer questions about it, with numbered citations.

    >>> nb = NewsBot(data_dir="/tmp/newsbot-doc")            # doctest: +SKIP
    >>> nb.ingest(["news/"]).summary()                       # doctest: +SKIP
    >>> print(nb.ask("Who raised Hang Seng targets and why?").text)  # doctest: +SKIP
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            settings = Settings(**overrides)
        elif overrides:
            settings = settings.model_copy(update=overrides)
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(
            self.settings.embedding_model,
            self.settings.embedding_backend,
            Path(self.settings.model_cache_dir),
            self.settings.embed_batch_size,
            self.settings.model_threads,
        )

    @cached_property
    def index_embedder(self) -> Embedder:
        """The encoder of the stored vectors: the static table by default, else the model."""
        if self.settings.index_vectors == "full":
            return self.embedder
        return load_static_embedder(
            self.settings.embedding_model, Path(self.settings.model_cache_dir)
        )

    @cached_property
    def reranker(self) -> Reranker | None:
        """The cross-encoder of the `reranker` setting; None when it is `none`."""
        return load_reranker(self.settings.reranker, self.settings.model_threads)

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The language model of the `llm` setting; None for the extractive answerer."""
        return load_chat_model(self.settings)

    @cached_property
    def store(self) -> NewsStore:
        client = connect(Path(self.settings.data_dir), self.settings.chroma_url)
        return NewsStore(
            client, self.settings.collection_name(), self.settings.lexical_index_path()
        )

    def warm_up(self) -> None:
        """Open the store and load the models now rather than in the first question, so
        that a server's concurrent first questions never race to build them."""
        _ = self.store, self.reranker
        self.index_embedder.encode(["warm up"])
        self.embedder.encode(["warm up"])

    def ingest(
        self,
        items: Sequence[str | Path],
        progress: bool = False,
        yield_to_answers: bool = False,
    ) -> IngestReport:
        """Add news; one ingest at a time per data dir, and the store is first opened
        inside that turn, so a CLI process never opens it while another one writes.

        `yield_to_answers`: this process answers questions meanwhile (the web chat);
        the writes leave it room, at the cost of a slower ingest."""
        with exclusive(Path(self.settings.data_dir) / INGEST_LOCK):
            return self._ingest(items, progress, yield_to_answers)

    def _ingest(
        self, items: Sequence[str | Path], progress: bool, yield_to_answers: bool
    ) -> IngestReport:
        max_bytes = int(self.settings.max_file_mb * 2**20)  # a file's, or a fetched page's
        return ingest(
            items,
            self.store,
            self.index_embedder,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            fetch=FetchPolicy(
                deadline=self.settings.fetch_timeout,
                max_bytes=max_bytes,
                max_redirects=self.settings.max_redirects,
                allow_private=self.settings.allow_private_urls,
            ),
            limits=Limits(
                max_file_bytes=max_bytes,
                max_article_chars=self.settings.max_article_chars,
                max_chunk_chars=self.settings.max_chunk_chars,
            ),
            progress=progress,
            yield_to_answers=yield_to_answers,
        )

    def ask(
        self,
        question: str,
        history: History | None = None,
        since: DateLike = None,
        until: DateLike = None,
        sources: Sequence[str] | None = None,
        as_of: DateLike = None,
    ) -> Answer:
        """Answer from the stored news; `as_of` anchors "this week" (default today)."""
        answer: Answer | None = None
        for piece in self.stream(question, history, since, until, sources, as_of):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: History | None = None,
        since: DateLike = None,
        until: DateLike = None,
        sources: Sequence[str] | None = None,
        as_of: DateLike = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text in pieces, then the final `Answer`."""
        started = time.perf_counter()
        question, prefixed_as_of = split_as_of(question)
        reference = _to_date(as_of, "as_of") or prefixed_as_of
        filters = Filters(_to_date(since, "since"), _to_date(until, "until"), tuple(sources or ()))
        query = self._search_query(question, history or [])
        drafted = self._draft(question, query, filters, reference)
        model, problem = self._writer() if drafted.sources else (None, "")
        if problem:  # misconfigured: say so, answer anyway
            drafted = fallback(drafted, problem)
        if model is None:
            yield from drafted.pieces
        else:
            for piece in model_answer(model, question, drafted):
                if isinstance(piece, str):
                    yield piece
                else:
                    drafted = piece
        yield Answer(
            question=question,
            text=drafted.text,
            sources=drafted.sources,
            searched=query if query != question else "",
            as_of=reference,
            abstained=drafted.abstained,
            seconds=time.perf_counter() - started,
            evidence=drafted.evidence,
            timings=drafted.timings,
        )

    def _search_query(self, question: str, history: History) -> str:
        """What to search for: a follow-up rewritten by the language model when there is
        one (and it gives something usable), else with the earlier question's words."""
        model, _ = self._writer() if history else (None, "")
        rewritten = rewrite_question(model, question, history) if model else None
        return rewritten or search_query(question, history)

    def _writer(self) -> tuple[BaseChatModel | None, str]:
        """The language model that writes answers (None: the extractive answerer), and
        why there is none when the `llm` setting names one that cannot be loaded."""
        if is_extractive(self.settings.llm):
            return None, ""
        try:
            return self.chat_model, ""
        except ValueError as error:
            return None, str(error)

    def passages(self, query: str, filters: Filters, as_of: date | None) -> list[Passage]:
        """The retrieved passages of the best articles, ranked (the answerer's input)."""
        return Retriever(self.store, self.settings.k).search(
            without_time_phrases(query),
            self.index_embedder.encode([query])[0],
            filters,
            as_of,
            time_window(query, as_of or date.today()),
        )

    def _draft(self, question: str, query: str, filters: Filters, as_of: date | None) -> Drafted:
        started = time.perf_counter()
        passages = self.passages(query, filters, as_of)
        searched = time.perf_counter() - started
        if not passages and self.store.chunk_count() == 0:
            elsewhere = self.store.chunks_elsewhere()
            message = EMPTY_CORPUS if not elsewhere else OTHER_SETTINGS.format(elsewhere)
            return Drafted(message, [message], [], abstained=True)
        drafted = draft_answer(
            without_time_phrases(question),
            query,
            passages,
            self.embedder.encode,
            dated=asks_about_time(question),
            min_evidence=self.settings.evidence_threshold(),
            reranker=self.reranker,
            reading=reading_query(question, query),
        )
        stages = {"search": searched, **drafted.timings}
        stages["compose"] = time.perf_counter() - started - sum(stages.values())
        return replace(drafted, timings=stages)

    def stats(self) -> dict[str, Any]:
        """Corpus summary: articles, chunks, publishers and the span of dates."""
        metadatas = self.store.article_metadatas()
        days = sorted(str(m["published"]) for m in metadatas if m.get("published"))
        publishers = Counter(str(m.get("source") or "unknown") for m in metadatas)
        return {
            "articles": len(metadatas),
            "chunks": self.store.chunk_count(),
            "undated_articles": sum(1 for m in metadatas if not m.get("published")),
            "first_published": days[0] if days else None,
            "last_published": days[-1] if days else None,
            "publishers": dict(publishers.most_common()),
            "data_dir": str(self.settings.data_dir),
            "chroma": self.settings.chroma_url or "embedded",
            "collection": self.settings.collection_name(),
            "embedding_model": self.settings.embedding_model,
        }


def _to_date(value: DateLike, name: str) -> date | None:
    if value is None or value == "":
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"{name}={value!r} is not a date; use YYYY-MM-DD")
    return parsed
