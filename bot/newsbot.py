"""`NewsBot`: the public Python API that the CLI and the web chat both call.

A question goes down the folders in order: `question/` reads it (follow-ups, time
phrases), `retrieval/` finds the passages, `answer/` drafts the cited answer and hands
it to the writer. The parts (store, encoders, reader, writer) are built from the
settings when first needed, or handed in, so that tests and the web chat share them.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from bot.answer.brief import MAX_STORIES, asks_for_brief, draft_brief
from bot.answer.entities import nothing_about
from bot.answer.extractive import Drafted, draft_answer
from bot.answer.llm import load_writer
from bot.answer.quotes import (
    QuoteQuestion,
    draft_quotes,
    names_a_speaker,
    no_statement,
    quote_question,
    statements_about,
)
from bot.answer.timeline import draft_timeline, timeline_question
from bot.answer.writer import QuotingWriter, Writer
from bot.langchain_retriever import NewsRetriever
from bot.question.followup import reading_query, search_query
from bot.question.time_phrases import (
    asks_about_time,
    latest_instead,
    relative_span,
    split_as_of,
    time_window,
    without_time_phrases,
)
from bot.retrieval.retriever import Filters, Passage, Retriever
from bot.settings import Settings
from bot.types import EMPTY_CORPUS, Answer, AnswerStream, Turn
from bot.types import Passage as PublicPassage
from ingest.data_dir import keep_private
from ingest.dates import from_day_number, parse_date
from ingest.encoders.base import Embedder
from ingest.encoders.reranker import Reranker, load_reranker
from ingest.encoders.static_table import load_static_embedder
from ingest.encoders.transformer import load_embedder
from ingest.errors import BadDate
from ingest.index.migrate import legacy_collection_name, migrate_legacy
from ingest.index.store import NewsStore, collection_name, open_store
from ingest.pipeline import Item, ingest
from ingest.sources.feeds import load_states
from ingest.sources.web import FetchPolicy
from ingest.types import IngestReport, Limits
from ingest.write_lock import exclusive

OTHER_SETTINGS = (
    "No news has been ingested with the current settings, but this data dir holds {} chunks "
    "ingested with other settings (embedding model, index vectors or chunking, e.g. by an "
    "older newsbot). Ingest the news again to use it with these settings."
)
INGEST_LOCK = "ingest.lock"
_TIMELINE_ARTICLES = 15  # a story's reports over time: more articles than one answer

DateLike = date | str | None
_Part = TypeVar("_Part")
_UNSET: Any = object()  # a part not built yet (None is a valid reader: `none`)
# The order `ask`/`stream` took their options in before they became keyword-only.
_POSITIONAL = ("history", "since", "until", "sources", "as_of")


@dataclass(frozen=True)
class _Draft:
    """A draft, and whether it is the bot's own account of what the news has instead of
    the answer asked for ("I found no statement by ..."): that is quoted as drafted,
    whoever writes, since a model asked the question would pass it off as the answer."""

    drafted: Drafted
    instead: bool = False


class NewsBot:
    """Ingest news and answer questions about it, with numbered citations.

    >>> nb = NewsBot(Settings(data_dir="/tmp/newsbot-doc"))      # doctest: +SKIP
    >>> nb.ingest(["news/"]).summary()                          # doctest: +SKIP
    >>> print(nb.ask("Who raised Hang Seng targets and why?").text)  # doctest: +SKIP

    Any part left out is built from `settings` on first use; pass one in to share it
    between bots (the same loaded model, the same store) or to supply your own.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: NewsStore | None = None,
        embedder: Embedder | None = None,
        index_embedder: Embedder | None = None,
        reader: Reranker | None = None,
        writer: Writer | None = None,
        **overrides: Any,
    ) -> None:
        if overrides:
            warnings.warn(
                "NewsBot(field=value) is deprecated; pass NewsBot(Settings(field=value)) "
                "or settings.replace(field=value)",
                DeprecationWarning,
                stacklevel=2,
            )
            settings = settings.replace(**overrides) if settings else Settings(**overrides)
        self.settings = settings or Settings()
        keep_private(Path(self.settings.data_dir))
        given = {
            "store": store,
            "embedder": embedder,
            "index_embedder": index_embedder,
            "reader": reader,
            "writer": writer,
        }
        self._parts: dict[str, Any] = {
            name: _UNSET if part is None else part for name, part in given.items()
        }
        self._building = threading.RLock()  # a part may need another (the store: its encoder)
        self._retriever: Retriever | None = None

    def _part(self, name: str, build: Callable[[], _Part]) -> _Part:
        """The part `name`, built once even when the first questions arrive together."""
        part = self._parts[name]
        if part is _UNSET:
            with self._building:
                if self._parts[name] is _UNSET:
                    self._parts[name] = build()
                part = self._parts[name]
        return part

    @property
    def embedder(self) -> Embedder:
        """The sentence model that reads questions and shortlisted sentences."""
        settings = self.settings
        return self._part(
            "embedder",
            lambda: load_embedder(
                settings.embedding_model,
                settings.embedding_backend,
                Path(settings.model_cache_dir),
                settings.embed_batch_size,
                settings.model_threads,
            ),
        )

    @property
    def index_embedder(self) -> Embedder:
        """The encoder of the stored vectors: the static table by default, else the model."""
        if self.settings.index_vectors == "full":
            return self._part("index_embedder", lambda: self.embedder)
        return self._part(
            "index_embedder",
            lambda: load_static_embedder(
                self.settings.embedding_model, Path(self.settings.model_cache_dir)
            ),
        )

    @property
    def reader(self) -> Reranker | None:
        """The cross-encoder that reads the question with each sentence (`reader=rerank`);
        None with `reader=none`."""
        name = "ms-marco-minilm-l12" if self.settings.reader == "rerank" else "none"
        return self._part("reader", lambda: load_reranker(name, self.settings.model_threads))

    @property
    def writer(self) -> Writer:
        """Who writes the answer from the draft: the `llm` setting's writer."""
        return self._part("writer", lambda: load_writer(self.settings))

    @property
    def store(self) -> NewsStore:
        """The chunks and their BM25 index, in the collection of these encoders and
        this chunking (other settings keep theirs apart in the same data dir)."""
        return self._part("store", self._open_store)

    def _open_store(self) -> NewsStore:
        settings = self.settings
        recipe = self.index_embedder.recipe
        chunking = (settings.chunk_size, settings.chunk_overlap)
        name = collection_name(
            settings.embedding_model, recipe, *chunking, settings.max_chunk_chars
        )
        store = open_store(Path(settings.data_dir), settings.chroma_url, name)
        legacy = legacy_collection_name(settings.embedding_model, recipe, *chunking)
        migrate_legacy(store.client, legacy, store, Path(settings.data_dir))
        return store

    def warm_up(self) -> None:
        """Open the store and load the models now rather than in the first question, so
        that a server's first questions are answered at full speed."""
        _ = self.store, self.reader, self.writer
        self.index_embedder.encode(["warm up"])
        self.embedder.encode(["warm up"])

    def ingest(
        self,
        items: Sequence[Item],
        *,
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
        self, items: Sequence[Item], progress: bool, yield_to_answers: bool
    ) -> IngestReport:
        max_bytes = int(self.settings.max_file_mb * 2**20)  # a file's, or a fetched page's
        return ingest(
            items,
            self.store,
            self.index_embedder,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            fetch=self.fetch_policy(),
            limits=Limits(
                max_file_bytes=max_bytes,
                max_html_bytes=int(self.settings.max_html_mb * 2**20),
                max_article_chars=self.settings.max_article_chars,
                max_chunk_chars=self.settings.max_chunk_chars,
            ),
            progress=progress,
            yield_to_answers=yield_to_answers,
        )

    def fetch_policy(self) -> FetchPolicy:
        """What fetching a page or feed may cost and where it may go (the settings')."""
        return FetchPolicy(
            deadline=self.settings.fetch_timeout,
            max_bytes=int(self.settings.max_file_mb * 2**20),
            max_html_bytes=int(self.settings.max_html_mb * 2**20),
            max_redirects=self.settings.max_redirects,
            allow_private=self.settings.allow_private_urls,
        )

    def ask(self, question: str, *legacy: Any, **options: Any) -> Answer:
        """Answer from the stored news. Options (keyword-only), all optional:

        - `history`: the conversation so far (`Turn`s), for follow-up questions;
        - `since`, `until`: only news published in this range (dates or YYYY-MM-DD);
        - `publishers`: only news from these publishers;
        - `entities`: only news naming any of these companies, people, indices or
          tickers ("Alibaba", "Alibaba Group" and "9988.HK" are one company);
        - `as_of`: the day "this week" and "latest" count from (default today).
        """
        options = _legacy_options(legacy, options, "ask")
        return AnswerStream(self._answer(question, **options)).answer

    def stream(self, question: str, *legacy: Any, **options: Any) -> AnswerStream:
        """As `ask`, but the text comes as it is written: iterate the result for the
        text, then read its `answer` for the sources (see `AnswerStream`)."""
        return AnswerStream(self._answer(question, **_legacy_options(legacy, options, "stream")))

    def _answer(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        since: DateLike = None,
        until: DateLike = None,
        publishers: Sequence[str] | None = None,
        entities: Sequence[str] | None = None,
        as_of: DateLike = None,
    ) -> Generator[str, None, Answer]:
        started = time.perf_counter()
        question, prefixed_as_of = split_as_of(question)
        filters = _filters(since, until, publishers, entities)
        reference, moved = self._reference(
            question, filters, _to_date(as_of, "as_of") or prefixed_as_of
        )
        query = self._search_query(question, history or [])
        planned = self._draft(question, query, filters, reference)
        drafted = planned.drafted
        # Nothing retrieved, or what the news has instead: the bot's own words stand,
        # whoever writes.
        writer = self.writer if drafted.sources and not planned.instead else QuotingWriter()
        if moved:
            yield f"{moved}\n"
        drafted = yield from writer.write(question, drafted)
        return Answer(
            question=question,
            text=f"{moved}\n{drafted.text}" if moved else drafted.text,
            sources=drafted.sources,
            searched=query if query != question else "",
            as_of=reference,
            abstained=drafted.abstained or planned.instead,
            seconds=time.perf_counter() - started,
            evidence=drafted.evidence,
            timings=drafted.timings,
        )

    def _reference(
        self, question: str, filters: Filters, given: date | None
    ) -> tuple[date | None, str]:
        """The day "this week" and the like count from, and what to say first when it is
        not the day asked. A date the user gave stands (`as_of`, "As of", `since`,
        `until`); without one, a phrase whose days hold no news, because the news ends
        before them, counts from the newest news instead. The store is read only for a
        question with such a phrase, not on every question's way."""
        if given is not None or filters.since or filters.until:
            return given, ""
        if relative_span(question, date.today()) is None:
            return None, ""
        self.store.catch_up()  # the newest news of other processes too
        newest = self.store.newest_day()
        if newest is None:
            return None, ""
        return latest_instead(question, date.today(), from_day_number(newest)) or (None, "")

    def _search_query(self, question: str, history: Sequence[Turn]) -> str:
        """What to search for: a follow-up rewritten by the language model when there is
        one (and it gives something usable), else with the earlier question's words."""
        rewritten = self.writer.standalone(question, history) if history else None
        return rewritten or search_query(question, history)

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.store, self.settings.k)
        return self._retriever

    def passages(
        self, query: str, filters: Filters, as_of: date | None, k: int | None = None
    ) -> list[Passage]:
        """The retrieved passages of the best articles, ranked (the answerer's input)."""
        self.store.catch_up()  # what other processes wrote to a shared Chroma server
        return self.retriever.search(
            without_time_phrases(query),
            self.index_embedder.encode([query])[0],
            filters,
            as_of,
            time_window(query, as_of or date.today()),
            k,
        )

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        since: DateLike = None,
        until: DateLike = None,
        publishers: Sequence[str] | None = None,
        entities: Sequence[str] | None = None,
        as_of: DateLike = None,
    ) -> list[PublicPassage]:
        """The `k` passages that best match `query`, best first, each with the article
        it comes from: what an answer is drafted from, for callers that write their own
        (a LangChain chain, an assistant through MCP). Options as for `ask`."""
        filters = _filters(since, until, publishers, entities)
        if filters.entities and not self.store.articles_naming(filters.entities):
            return []
        found = self.passages(query, filters, _to_date(as_of, "as_of"), k=k)
        best = sorted(found, key=lambda passage: -passage.score)[:k]
        return [_public(passage) for passage in best]

    def as_retriever(self, **options: Any) -> NewsRetriever:
        """This bot as a LangChain retriever (`langchain_core` `BaseRetriever`), for
        `create_retrieval_chain` and the like: `nb.as_retriever(k=4, since="2025-02-01")`.
        Options as for `search`; each `Document` carries the passage's metadata."""
        return NewsRetriever(newsbot=self, **options)

    def brief(
        self,
        *,
        since: DateLike = None,
        until: DateLike = None,
        publishers: Sequence[str] | None = None,
        entities: Sequence[str] | None = None,
        as_of: DateLike = None,
        limit: int = MAX_STORIES,
    ) -> Answer:
        """The main stories of a window, one cited line each, the most widely carried
        first (copies of one story merged). The window defaults to the 7 days up to
        `until`, else `as_of`, else the newest news stored."""
        started = time.perf_counter()
        filters = _filters(since, until, publishers, entities)
        self.store.catch_up()
        drafted, first, last = draft_brief(self.store, filters, _to_date(as_of, "as_of"), limit)
        question = "What moved markets" + (f", {first} to {last}?" if first and last else "?")
        return Answer(
            question=question,
            text=drafted.text,
            sources=drafted.sources,
            abstained=drafted.abstained,
            seconds=time.perf_counter() - started,
        )

    def _draft(self, question: str, query: str, filters: Filters, as_of: date | None) -> _Draft:
        if filters.entities and not self.store.articles_naming(filters.entities):
            message = nothing_about(list(filters.entities))
            return _Draft(Drafted(message, [message], [], abstained=True))
        return self._special(question, query, filters, as_of) or _Draft(
            self._extractive(question, query, filters, as_of)
        )

    def _special(
        self, question: str, query: str, filters: Filters, as_of: date | None
    ) -> _Draft | None:
        """The answer to a question of a kind that wants a shape of its own: the main
        stories, who said what, how a story moved. None: answer it like any other."""
        if asks_for_brief(question):
            window = time_window(question, as_of or date.today())
            if window and not (filters.since or filters.until):
                filters = replace(filters, since=window[0], until=window[1])
            self.store.catch_up()
            return _Draft(draft_brief(self.store, filters, as_of, MAX_STORIES)[0])
        asked = quote_question(question)
        if asked is not None:
            return self._quotes(asked, query, filters, as_of)
        topic = timeline_question(question)
        if topic is not None:
            passages = self.passages(query, filters, as_of, k=_TIMELINE_ARTICLES)
            timeline = draft_timeline(topic, passages)
            return _Draft(timeline) if timeline else None
        return None

    def _quotes(
        self, asked: QuoteQuestion, query: str, filters: Filters, as_of: date | None
    ) -> _Draft | None:
        """Who said what. A named speaker with no quote on the subject gets that said
        first, then what the news has instead; an unnamed one ("analysts"), the ordinary
        answer (None)."""
        speaker = (asked.speaker,) if asked.speaker else ()
        mentioned = bool(speaker) and bool(self.store.articles_naming(speaker))
        if mentioned:
            filters = replace(filters, entities=filters.entities + speaker)
        quotes = draft_quotes(asked, self.passages(query, filters, as_of))
        if quotes is not None:
            return _Draft(quotes)
        if not names_a_speaker(asked):
            return None
        note = no_statement(asked, mentioned)
        if not mentioned and asked.about:
            others = statements_about(asked.about, self.passages(asked.about, filters, as_of))
            if others is not None:
                return _stand_in(f"{note} What others said about {asked.about}:", others)
        # The subject in the articles that name the speaker, or anywhere when none does.
        subject = " and ".join(
            part for part in (asked.speaker if mentioned else "", asked.about) if part
        )
        if not subject:
            return _Draft(Drafted(note, [note], [], abstained=True), instead=True)
        # Asked bare, the cross-encoder reads how much a sentence is about the subject
        # ("What does the news say about gold?" read as a question, 0.007 on the gold
        # story of the sample news; "gold", 0.987).
        offered = self._extractive(subject, subject, filters, as_of)
        if offered.abstained:  # nothing on it either: said, with the closest as related
            said = f"{note} {nothing_about([subject])}"
            return _Draft(replace(offered, text=said, pieces=[said]), instead=True)
        return _stand_in(f"{note} What the news says about {subject}:", offered)

    def _extractive(
        self, question: str, query: str, filters: Filters, as_of: date | None
    ) -> Drafted:
        started = time.perf_counter()
        passages = self.passages(query, filters, as_of)
        searched = time.perf_counter() - started
        if not passages and self.store.chunk_count() == 0:
            elsewhere = self.store.chunks_elsewhere()
            message = EMPTY_CORPUS if not elsewhere else OTHER_SETTINGS.format(elsewhere)
            return Drafted(message, [message], [], abstained=True)
        if not passages and (as_of or filters != Filters()):
            message = _nothing_within(filters, as_of)
            return Drafted(message, [message], [], abstained=True)
        drafted = draft_answer(
            without_time_phrases(question),
            query,
            passages,
            self.embedder.encode,
            dated=asks_about_time(question),
            min_evidence=self.settings.evidence_threshold(),
            reader=self.reader,
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
            "collection": self.store.name,
            "embedding_model": self.settings.embedding_model,
            "feeds": {
                url: {"last_read": state.last_read or None, "last_error": state.last_error}
                for url, state in load_states(Path(self.settings.data_dir)).items()
            },
        }


def _stand_in(lead: str, offered: Drafted) -> _Draft:
    """What the news has instead of the answer asked for, after `lead` says so: never
    marked as an answer to the question."""
    head = f"{lead}\n"
    drafted = replace(
        offered,
        text=head + offered.text,
        pieces=[head, *offered.pieces],
        abstained=True,
        evidence=0.0,
    )
    return _Draft(drafted, instead=True)


def _nothing_within(filters: Filters, as_of: date | None) -> str:
    """ "No news from Reuters since 2025-01-01 is stored.": the filters that left
    nothing, so that the user sees what to widen."""
    parts = []
    if filters.publishers:
        parts.append("from " + " or ".join(filters.publishers))
    if filters.entities:
        parts.append("naming " + " or ".join(filters.entities))
    if filters.since:
        parts.append(f"since {filters.since}")
    if filters.until or as_of:
        parts.append(f"up to {filters.until or as_of}")
    return f"No news {' '.join(parts)} is stored."


def _public(passage: Passage) -> PublicPassage:
    meta = passage.hit.metadata
    return PublicPassage(
        text=passage.hit.text,
        title=str(meta.get("title") or ""),
        publisher=str(meta.get("source") or ""),
        url=str(meta.get("url") or ""),
        published=parse_date(meta.get("published")),
        article_id=passage.article_id,
        chunk_id=passage.hit.chunk_id,
        score=round(passage.score, 4),
    )


def _legacy_options(legacy: tuple[Any, ...], options: dict[str, Any], method: str) -> Any:
    """The options as keywords. Positional options and `sources=` (now `publishers=`)
    still work for one release, with a warning."""
    if len(legacy) > len(_POSITIONAL):
        raise TypeError(f"{method}() takes the question and keyword options only")
    if legacy:
        names = ", ".join(f"{name}=" for name in _POSITIONAL[: len(legacy)])
        warnings.warn(
            f"positional options of NewsBot.{method}() are deprecated; pass {names}",
            DeprecationWarning,
            stacklevel=3,
        )
        for name, value in zip(_POSITIONAL, legacy, strict=False):
            if name in options:
                raise TypeError(f"{method}() got {name} twice")
            options[name] = value
    if "sources" in options:
        if options["sources"] and options.get("publishers"):
            raise TypeError(f"{method}() got both sources= and publishers=")
        if "sources" not in _POSITIONAL[: len(legacy)]:
            warnings.warn(
                f"NewsBot.{method}(sources=...) is deprecated; use publishers=...",
                DeprecationWarning,
                stacklevel=3,
            )
        options["publishers"] = options.get("publishers") or options.pop("sources")
    return options


def _filters(
    since: DateLike,
    until: DateLike,
    publishers: Sequence[str] | None,
    entities: Sequence[str] | None,
) -> Filters:
    """The filters of an `ask`, `search` or `brief` call, its dates checked."""
    return Filters(
        _to_date(since, "since"),
        _to_date(until, "until"),
        tuple(publishers or ()),
        tuple(entities or ()),
    )


def _to_date(value: DateLike, name: str) -> date | None:
    if value is None or value == "":
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise BadDate(f"{name}={value!r} is not a date; use YYYY-MM-DD")
    return parsed
