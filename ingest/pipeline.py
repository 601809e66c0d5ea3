"""The ingest run: expand items, read articles, skip what is stored, embed, upsert."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from ingest.annotate.article import Notes, annotate
from ingest.annotate.quotes import Quote
from ingest.chunking import Chunk, chunk_text
from ingest.cleaning import content_hash, printable
from ingest.dates import to_day_number
from ingest.encoders.base import Embedder
from ingest.index.store import (
    ALIASES,
    ENTITIES,
    QUOTES,
    Metadata,
    NewsStore,
    StoredArticle,
)
from ingest.sources.files import Loaded, reader_for
from ingest.sources.items import Upload, WebUrl, web_url
from ingest.sources.web import FetchPolicy, load_url
from ingest.types import Article, Failure, IngestReport, Limits, Notice

# Articles embedded and written per group: big enough for efficient batches and few
# Chroma calls, small enough that an interrupted run keeps most of its work.
_GROUP = 256
# A plain path or string comes from this machine's user; see `ingest.sources.items`.
Item = str | Path | WebUrl | Upload

log = logging.getLogger(__name__)


def ingest(
    items: Sequence[Item],
    store: NewsStore,
    embedder: Embedder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    fetch: FetchPolicy,
    limits: Limits | None = None,
    progress: bool = True,
    yield_to_answers: bool = False,
) -> IngestReport:
    """Ingest files, folders, URLs and feeds; bad items are reported, never fatal.

    `yield_to_answers`: the process also answers questions (the web chat), so writes
    leave it room (`NewsStore.add_articles`)."""
    started = time.perf_counter()
    report = IngestReport()
    limits = limits or Limits()

    def chunk(text: str) -> list[Chunk]:
        return chunk_text(text, chunk_size, chunk_overlap, limits.max_chunk_chars)

    articles = _read_all(items, report, fetch, limits, progress)
    new = _drop_known(articles, store, report)
    bar = tqdm(total=len(new), unit="article", desc="Indexing", disable=not progress)
    for start in range(0, len(new), _GROUP):
        group = new[start : start + _GROUP]
        report.chunks += _store_group(group, store, embedder, chunk, report, yield_to_answers)
        bar.update(len(group))
    bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _read_all(
    items: Sequence[Item],
    report: IngestReport,
    fetch: FetchPolicy,
    limits: Limits,
    progress: bool,
) -> list[tuple[str, Article]]:
    units = list(_expand(items, report))
    articles: list[tuple[str, Article]] = []
    for unit in tqdm(units, unit="item", desc="Reading", disable=not progress or len(units) < 2):
        for loaded in _load(unit, fetch, limits):
            if isinstance(loaded, Failure):
                report.failed.append(loaded)
            elif isinstance(loaded, Notice):
                report.notices.append(loaded)
            elif len(loaded.text) > limits.max_article_chars:
                report.failed.append(
                    Failure(
                        loaded.origin,
                        f"article is {len(loaded.text):,} characters, more than "
                        f"{limits.max_article_chars:,}; split it, or raise "
                        "NEWSBOT_MAX_ARTICLE_CHARS",
                    )
                )
            else:
                articles.append((content_hash(loaded.text), loaded))
    return articles


def _expand(items: Iterable[Item], report: IngestReport) -> Iterator[WebUrl | Path]:
    """The URLs and files the items name: a URL is fetched, an upload read as the one file
    it is, and only a plain path (this machine's user's own) may name a folder."""
    for item in items:
        if isinstance(item, WebUrl):
            yield item
        elif isinstance(item, Upload):
            yield from _readable(item.path, report)
        elif isinstance(item, str) and (url := web_url(item)):
            yield url
        else:
            yield from _local(Path(item).expanduser().resolve(), report)


def _local(path: Path, report: IngestReport) -> Iterator[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
        supported = [p for p in files if reader_for(p)]
        if not supported:
            report.failed.append(Failure(str(path), "folder holds no supported files"))
        yield from supported
    elif path.is_file():
        yield from _readable(path, report)
    else:
        report.failed.append(Failure(str(path), "no such file or folder"))


def _readable(path: Path, report: IngestReport) -> Iterator[Path]:
    if reader_for(path):
        yield path
    else:
        report.failed.append(
            Failure(
                str(path),
                f"unsupported file type {path.suffix or '(none)'!r}; "
                "use .txt, .md, .html, .htm, .pdf, .json or .jsonl",
            )
        )


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _load(unit: WebUrl | Path, fetch: FetchPolicy, limits: Limits) -> Iterator[Loaded]:
    """What one file or URL holds; whatever it raises becomes its failure, not the batch's.

    Readers report what they expect (bad JSON, a broken PDF) themselves; anything else
    (a parser's own bug on hostile input) is logged with its traceback and named here."""
    try:
        if isinstance(unit, WebUrl):
            yield from load_url(unit.text, fetch)
            return
        reader = reader_for(unit)
        assert reader is not None  # _expand only yields readable files
        yield from reader(unit, limits)
    except (OSError, ValueError) as error:
        yield Failure(str(unit), str(error))
    except RecursionError:
        yield Failure(str(unit), "nested too deeply to read; is it really an article?")
    except Exception as error:
        log.warning("reading %s failed", unit, exc_info=True)
        yield Failure(str(unit), f"cannot read it ({type(error).__name__}: {error})")


def _drop_known(
    articles: list[tuple[str, Article]], store: NewsStore, report: IngestReport
) -> list[tuple[str, Article]]:
    """Stored or repeated articles (same normalised text) are not embedded again."""
    known = store.existing_articles(list({article_id for article_id, _ in articles}))
    new: list[tuple[str, Article]] = []
    seen: set[str] = set()
    for article_id, article in articles:
        if article_id in known or article_id in seen:
            report.unchanged.append(article_id)
        else:
            seen.add(article_id)
            new.append((article_id, article))
    return new


def _store_group(
    group: list[tuple[str, Article]],
    store: NewsStore,
    embedder: Embedder,
    chunk: Callable[[str], list[Chunk]],
    report: IngestReport,
    yield_to_answers: bool,
) -> int:
    """Chunk, embed and store one group."""
    chunked = [(article_id, article, chunk(article.text)) for article_id, article in group]
    texts = [c.embedding_text(article.title) for _, article, chunks in chunked for c in chunks]
    vectors = embedder.encode(texts)
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    stored: list[StoredArticle] = []
    offset = 0
    for article_id, article, chunks in chunked:
        notes = annotate(article.title, article.text)
        texts_of_chunks = [c.text for c in chunks]
        stored.append(
            StoredArticle(
                article_id,
                article_metadata(article, ingested_at),
                texts_of_chunks,
                vectors[offset : offset + len(chunks)],
                record=record_notes(notes),
                chunk_notes=[chunk_quotes(notes.quotes, text) for text in texts_of_chunks],
            )
        )
        offset += len(chunks)
    ids = {article_id for article_id, _ in group}
    origins = [printable(article.origin) for _, article in group]  # as stored
    before = store.articles_from(origins)
    store.add_articles(stored, yield_to_answers)
    # Old versions go only after the new ones are stored: a crash never loses both.
    replaced = {old for olds in before.values() for old in olds if old not in ids}
    store.delete_articles(sorted(replaced))
    for (article_id, _), origin in zip(group, origins, strict=True):
        earlier = [old for old in before.get(origin, []) if old != article_id]
        (report.replaced if earlier else report.added).append(article_id)
    return len(texts)


# What the quotes of one chunk may take: Chroma servers cap a metadata value at 4 kB.
_MAX_QUOTES_BYTES = 4_000
_MAX_QUOTE_CHARS = 600


def record_notes(notes: Notes) -> Metadata:
    """The names an article record is filed under (Chroma allows no empty lists)."""
    record: Metadata = {}
    if notes.entities:
        record[ENTITIES] = notes.entities
    if notes.aliases:
        record[ALIASES] = [f"{ticker}={name}" for ticker, name in notes.aliases.items()]
    return record


def chunk_quotes(quotes: list[Quote], chunk: str) -> Metadata:
    """The quotes whose sentence this chunk holds, as JSON that fits in one field.

    The sentence (`at`) and, where they are one piece of it, the words (`w`) are kept as
    character offsets into the chunk's text, which Chroma already stores: a copy of
    every quoted sentence would add a tenth to the store. An empty role or employer is
    left out."""
    held = []
    size = 2
    for quote in quotes:
        start = chunk.find(quote.sentence[:80])
        if start < 0:
            continue
        end = min(start + len(quote.sentence), len(chunk))
        item: dict[str, object] = {"speaker": quote.speaker, "at": [start, end]}
        for key, value in (("role", quote.role), ("org", quote.org)):
            if value:
                item[key] = value
        inside = chunk.find(quote.words, start, end)
        if inside >= 0:
            item["w"] = [inside, inside + len(quote.words)]
        else:  # quoted words in several pieces ("…"), or beyond this chunk
            item["words"] = quote.words[:_MAX_QUOTE_CHARS]
        size += len(_compact_json(item).encode()) + 1
        if size > _MAX_QUOTES_BYTES:
            break
        held.append(item)
    return {QUOTES: _compact_json(held)} if held else {}


def _compact_json(value: object) -> str:
    """JSON without the spaces or empty fields that would be stored, and indexed, per chunk."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def article_metadata(article: Article, ingested_at: str) -> Metadata:
    """What every chunk of the article carries. Its text fields hold nothing a terminal
    acts on, whichever reader made the article: answers print them. The origin, the key
    an edited article replaces its old version by, keeps its whitespace, which may be
    part of a file's name."""
    metadata: Metadata = {
        "title": _one_line(article.title),
        "source": _one_line(article.source),
        "url": _one_line(article.url),
        "origin": printable(article.origin),
        "ingested_at": ingested_at,
        "dated": article.published is not None,
    }
    if article.published is not None:
        # Chroma has no null: an unknown date is an absent key plus `dated: False`.
        metadata["published"] = article.published.isoformat()
        metadata["published_day"] = to_day_number(article.published)
    return metadata


def _one_line(text: str) -> str:
    return " ".join(printable(text).split())
