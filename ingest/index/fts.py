"""The lexical index beside the vectors: SQLite FTS5 with BM25 ranking over chunk text.

Dense vectors blur names, tickers and numbers; BM25 does not. SQLite ships with
Python, writes 100k chunks in seconds and answers in milliseconds, so the index lives
in the data dir, one file per collection, and is written in the same step as the
vectors. It holds only what search needs, and no copy of the text: its full-text
table is contentless (SQLite 3.40 cannot delete a row from one, so a chunk replaced or
deleted leaves its words behind, unreachable since every search joins the live `chunk`
rows; `stale_share` says how much, and the store rebuilds the index from Chroma when it
is too much). Chroma stays the store of record. The index
also remembers when each article it holds was written to Chroma, and the latest such
time it has caught up to (the watermark): how a process keeps it in step with articles
that other processes write to a shared Chroma server (see `store.NewsStore.catch_up`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    published_day INTEGER,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_article ON chunk(article_id);
CREATE INDEX IF NOT EXISTS chunk_day ON chunk(published_day);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_text USING fts5(
    title, body, content = '', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS article (
    article_id TEXT PRIMARY KEY,
    written_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS watermark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    written_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entity (
    article_id TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (article_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_key ON entity(key);
CREATE TABLE IF NOT EXISTS alias (
    article_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (article_id, alias)
) WITHOUT ROWID;
"""
# Raised when the tables change: an index of an older layout is rebuilt from Chroma.
_LAYOUT = 3
_TABLES = ("chunk", "chunk_text", "article", "watermark", "entity", "alias")
# A title word says more about a chunk than a body word.
_TITLE_WEIGHT = 2.0
# A word in more than this share of the chunks ("market" in market news) adds little to
# BM25 but most of its cost, since every chunk holding it gets scored: left out of the
# search in stores big enough for the cost to matter (136k chunks: 50 -> 17 ms).
_COMMON_SHARE = 0.05
_PRUNE_FROM_CHUNKS = 5_000
_MIN_WORDS = 3


@dataclass(frozen=True)
class IndexedChunk:
    chunk_id: str
    article_id: str
    published_day: int | None
    source: str
    title: str
    body: str


@dataclass(frozen=True)
class Named:
    """The names an article was filed under (see `ingest.annotate`), by their keys."""

    entities: dict[str, str]  # key: the name as written
    aliases: dict[str, str]  # a ticker's key: the key of the name it stands beside


@dataclass(frozen=True)
class DayRange:
    """Which publication days a search may return; undated chunks only if `undated`."""

    first: int | None = None
    last: int | None = None
    undated: bool = True


class LexicalIndex:
    """Writes go through one connection, one at a time; each thread reads through a
    connection of its own. In WAL mode a reader sees the last commit and never waits
    for a writer, so questions go on while an upload writes thousands of chunks."""

    def __init__(self, path: Path) -> None:
        """Open the index at `path`. A file there that SQLite cannot read (overwritten,
        cut short) is moved aside to `set_aside` and an empty index started, which,
        like one of an older layout, has no watermark: the store refills it from Chroma."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self.unreadable = ""  # why the file found at `path` was set aside ('' if it was not)
        self.set_aside = path.with_name(path.name + ".unreadable")
        try:
            self._db = _open(path)
        except sqlite3.DatabaseError as error:
            self.unreadable = " ".join(str(error).split()) or type(error).__name__
            path.replace(self.set_aside)  # kept for a post-mortem; only the latest
            for journal in ("-wal", "-shm"):  # the old file's: never to be replayed here
                path.with_name(path.name + journal).unlink(missing_ok=True)
            self._db = _open(path)
        self._lock = threading.Lock()  # the writer's
        self._readers = threading.local()
        # Chunks holding each word, and in all; forgotten by every write.
        self._document_counts: dict[str, int] = {}
        self._total: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    def add(self, chunks: Iterable[IndexedChunk]) -> None:
        """Insert or replace chunks by id, in one transaction."""
        with self._writing():
            self._insert(chunks)

    def _insert(self, chunks: Iterable[IndexedChunk]) -> None:
        for chunk in chunks:
            self._delete_where("chunk_id = ?", (chunk.chunk_id,))
            cursor = self._db.execute(
                "INSERT INTO chunk (chunk_id, article_id, published_day, source)"
                " VALUES (?, ?, ?, ?)",
                (chunk.chunk_id, chunk.article_id, chunk.published_day, chunk.source),
            )
            self._db.execute(
                "INSERT INTO chunk_text (rowid, title, body) VALUES (?, ?, ?)",
                (cursor.lastrowid, chunk.title, chunk.body),
            )

    def replace_articles(
        self,
        chunks: Iterable[IndexedChunk],
        written: dict[str, float],
        named: dict[str, Named],
    ) -> None:
        """The articles `written` (id: when Chroma got it), now exactly these chunks,
        filed under these names."""
        with self._writing():
            for article_id in written:
                self._delete_where("article_id = ?", (article_id,))
            self._note_written(written, named)
            self._insert(chunks)

    def mark_articles(self, written: dict[str, float], named: dict[str, Named]) -> None:
        """Note when Chroma got these articles, whose chunks are already indexed."""
        with self._writing():
            self._note_written(written, named)

    def _note_written(self, written: dict[str, float], named: dict[str, Named]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO article (article_id, written_at) VALUES (?, ?)",
            list(written.items()),
        )
        for article_id, names in named.items():
            self._forget_names(article_id)
            self._db.executemany(
                "INSERT OR IGNORE INTO entity (article_id, key, name) VALUES (?, ?, ?)",
                [(article_id, key, name) for key, name in names.entities.items()],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO alias (article_id, alias, key) VALUES (?, ?, ?)",
                [(article_id, alias, key) for alias, key in names.aliases.items()],
            )

    def _forget_names(self, article_id: str) -> None:
        self._db.execute("DELETE FROM entity WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM alias WHERE article_id = ?", (article_id,))

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        with self._writing():
            for article_id in article_ids:
                self._delete_where("article_id = ?", (article_id,))
                self._db.execute("DELETE FROM article WHERE article_id = ?", (article_id,))
                self._forget_names(article_id)

    def clear(self) -> None:
        with self._writing():
            self._db.execute("INSERT INTO chunk_text (chunk_text) VALUES ('delete-all')")
            for table in _TABLES:
                if table != "chunk_text":
                    self._db.execute(f"DELETE FROM {table}")

    def stale_share(self) -> float:
        """The share of the full-text rows left behind by replaced or deleted chunks."""
        reader = self._reader()
        rows = int(reader.execute("SELECT count(*) FROM chunk_text_docsize").fetchone()[0])
        return 1.0 - self.count() / rows if rows else 0.0

    def written_at(self, article_ids: Sequence[str]) -> dict[str, float]:
        """When Chroma got each of these articles, as this index knows it."""
        found: dict[str, float] = {}
        reader = self._reader()
        for start in range(0, len(article_ids), 500):
            batch = list(article_ids[start : start + 500])
            marks = ", ".join("?" * len(batch))
            query = f"SELECT article_id, written_at FROM article WHERE article_id IN ({marks})"
            found.update(reader.execute(query, batch).fetchall())
        return found

    def article_ids(self) -> set[str]:
        return {row[0] for row in self._reader().execute("SELECT article_id FROM article")}

    def article_count(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM article").fetchone()[0])

    def watermark(self) -> float | None:
        """The latest write time caught up to; None for an index never filled from Chroma."""
        row = self._reader().execute("SELECT written_at FROM watermark").fetchone()
        return None if row is None else float(row[0])

    def raise_watermark(self, written_at: float) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO watermark (id, written_at) VALUES (1, ?) ON CONFLICT(id)"
                " DO UPDATE SET written_at = max(written_at, excluded.written_at)",
                (written_at,),
            )

    def count(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM chunk").fetchone()[0])

    def search(
        self,
        words: Sequence[str],
        n: int,
        days: DayRange,
        sources: Sequence[str] = (),
        articles: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, BM25 score) pairs, best first; any word may match.
        `articles`: only chunks of these articles (None: of any)."""
        words = [word.replace('"', "") for word in words]
        if not words or articles == []:
            return []
        match = " OR ".join(f'"{word}"' for word in self._selective(words))
        conditions, values = _filters(days, sources, articles)
        sql = (
            f"SELECT c.chunk_id, bm25(chunk_text, {_TITLE_WEIGHT}, 1.0) AS rank"
            " FROM chunk_text JOIN chunk c ON c.id = chunk_text.rowid"
            f" WHERE {' AND '.join(['chunk_text MATCH ?', *conditions])} ORDER BY rank LIMIT ?"
        )
        rows = self._reader().execute(sql, (match, *values, n)).fetchall()
        # SQLite's bm25() is negative, lower is better; callers get higher-is-better.
        return [(str(chunk_id), -float(rank)) for chunk_id, rank in rows]

    def _selective(self, words: list[str]) -> list[str]:
        """The words worth searching: all of them, less the very common in a big store."""
        if self._total is None:
            self._total = self.count()
        total = self._total
        if total < _PRUNE_FROM_CHUNKS or len(words) <= _MIN_WORDS:
            return words
        counts = {word: self._document_count(word) for word in words}
        rarest = sorted(words, key=counts.__getitem__)
        return [
            w for i, w in enumerate(rarest) if i < _MIN_WORDS or counts[w] < _COMMON_SHARE * total
        ]

    def _forget_counts(self) -> None:
        self._document_counts.clear()
        self._total = None

    def _document_count(self, word: str) -> int:
        if word not in self._document_counts:
            row = (
                self._reader()
                .execute("SELECT count(*) FROM chunk_text WHERE chunk_text MATCH ?", (f'"{word}"',))
                .fetchone()
            )
            self._document_counts[word] = int(row[0])
        return self._document_counts[word]

    def chunk_ids(
        self, days: DayRange, sources: Sequence[str] = (), articles: Sequence[str] | None = None
    ) -> list[str]:
        """Every chunk id within the date range and publishers (and `articles`)."""
        if articles == []:
            return []
        conditions, values = _filters(days, sources, articles)
        sql = "SELECT c.chunk_id FROM chunk c"
        if conditions:
            sql += f" WHERE {' AND '.join(conditions)}"
        return [str(row[0]) for row in self._reader().execute(sql, values)]

    def articles_naming(self, keys: Sequence[str]) -> list[str]:
        """The articles that name any of these entity keys (or a ticker linked to one)
        in their title or text, matched as phrases of the index's words."""
        reader = self._reader()
        wanted = set(keys)
        for key in keys:  # "9988.hk" <-> "alibaba", as any article linked them
            rows = reader.execute(
                "SELECT key FROM alias WHERE alias = ? UNION SELECT alias FROM alias WHERE key = ?",
                (key, key),
            )
            wanted.update(row[0] for row in rows)
        phrases = " OR ".join(f'"{key.replace(chr(34), "")}"' for key in sorted(wanted) if key)
        if not phrases:
            return []
        sql = (
            "SELECT DISTINCT c.article_id FROM chunk_text JOIN chunk c ON c.id = chunk_text.rowid"
            " WHERE chunk_text MATCH ?"
        )
        return [str(row[0]) for row in reader.execute(sql, (phrases,))]

    def entity_names(self, limit: int) -> list[tuple[str, int]]:
        """The most-named entities: (name as most often written, articles naming it)."""
        sql = (
            "SELECT key, name, count(*) FROM entity GROUP BY key, name ORDER BY key, count(*) DESC"
        )
        best: dict[str, tuple[str, int]] = {}
        for key, name, count in self._reader().execute(sql):
            held = best.get(key)
            best[key] = (held[0] if held else name, (held[1] if held else 0) + count)
        ranked = sorted(best.values(), key=lambda pair: (-pair[1], pair[0].lower()))
        return ranked[:limit]

    def newest_day(self) -> int | None:
        row = self._reader().execute("SELECT max(published_day) FROM chunk").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def article_chunk_ids(self, article_ids: Sequence[str]) -> list[str]:
        """Every chunk id of these articles."""
        if not article_ids:
            return []
        sql = (
            f"SELECT chunk_id FROM chunk WHERE article_id IN ({', '.join('?' * len(article_ids))})"
        )
        return [str(row[0]) for row in self._reader().execute(sql, tuple(article_ids))]

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection, opened on first use (autocommit: each
        statement reads the latest committed state)."""
        reader: sqlite3.Connection | None = getattr(self._readers, "db", None)
        if reader is None:
            reader = sqlite3.connect(str(self._path), isolation_level=None)
            self._readers.db = reader
        return reader

    def _delete_where(self, condition: str, values: tuple[str, ...]) -> None:
        """Forget chunks; their full-text rows stay, unreachable (see the module)."""
        self._db.execute(f"DELETE FROM chunk WHERE {condition}", values)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write at a time, in a transaction; the word counts are forgotten once it
        commits (forgotten before, a reader could count the old state back in)."""
        with self._lock:
            try:
                with _Transaction(self._db):
                    yield
            finally:
                self._forget_counts()


def _open(path: Path) -> sqlite3.Connection:
    """The write connection to the index at `path`, in the current layout. Raises
    sqlite3.DatabaseError if the file is not a whole SQLite database: its header at once,
    the rest by `quick_check` (0.12 s for 100,000 chunks, 200 MB), since a page lost in
    the middle would otherwise fail a question much later."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(problem)
        if db.execute("PRAGMA user_version").fetchone()[0] < _LAYOUT:
            for table in _TABLES:  # older: refilled from Chroma (no watermark)
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("VACUUM")  # the old layout's pages back to the disk
            db.execute(f"PRAGMA user_version = {_LAYOUT}")
        db.executescript(_SCHEMA)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def _filters(
    days: DayRange, sources: Sequence[str], articles: Sequence[str] | None = None
) -> tuple[list[str], list[str | int]]:
    """SQL conditions on the `chunk` table (alias c) and their values."""
    conditions: list[str] = []
    values: list[str | int] = []
    bounds = []
    if days.first is not None:
        bounds.append("c.published_day >= ?")
        values.append(days.first)
    if days.last is not None:
        bounds.append("c.published_day <= ?")
        values.append(days.last)
    if bounds:
        dated = " AND ".join(bounds)
        conditions.append(f"(({dated}) OR c.published_day IS NULL)" if days.undated else dated)
    elif not days.undated:
        conditions.append("c.published_day IS NOT NULL")
    if sources:
        conditions.append(f"c.source IN ({', '.join('?' * len(sources))})")
        values.extend(sources)
    if articles is not None:
        conditions.append(f"c.article_id IN ({', '.join('?' * len(articles))})")
        values.extend(articles)
    return conditions, values


class _Transaction:
    """BEGIN/COMMIT around a block, ROLLBACK on error (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if error is None else "ROLLBACK")
