"""`python -m bench.disk DATA_DIR [DATA_DIR ...]`: where a data dir's bytes go.

Per part, in MB and as a multiple of the article text the store holds:
- Chroma documents: the `chroma:document` rows of Chroma's metadata table and their
  share of its index on string values;
- text in metadata: the same for chunk text kept as a metadata field (today's layout);
- other metadata: every other field, with the rest of that table and its indexes;
- Chroma full-text: Chroma's own full-text index of the documents (content and trigrams);
- HNSW: the vector index files;
- Chroma other: the rest of Chroma's SQLite file (vectors' ids, its log, free pages);
- BM25 cache: newsbot's SQLite file beside it.

SQLite's `dbstat` gives the bytes of each table and index; within the metadata table and
its indexes, the bytes are shared out among fields by what each field's rows hold (the
value, the key and a fixed overhead per row), so those three parts are estimates.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sqlite3
import sys
from pathlib import Path

_METADATA = ("embedding_metadata", "sqlite_autoindex_embedding_metadata")
_FULL_TEXT = "embedding_fulltext_search"
_ROW_OVERHEAD = 16  # bytes per metadata row beside its key and value: ids, header
_TEXT_FIELDS = {"chroma:document": "Chroma documents", "text": "text in metadata"}
PARTS = (
    "Chroma documents",
    "text in metadata",
    "other metadata",
    "Chroma full-text",
    "HNSW",
    "Chroma other",
    "BM25 cache",
)


def disk_parts(data_dir: Path) -> dict[str, float]:
    """Bytes of each part of the data dir (see the module), in MB."""
    parts = dict.fromkeys(PARTS, 0.0)
    chroma = data_dir / "chroma" / "chroma.sqlite3"
    if chroma.exists():
        with sqlite3.connect(f"file:{chroma}?mode=ro", uri=True) as db:
            tables = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            shares = _field_shares(db)
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            free *= db.execute("PRAGMA page_size").fetchone()[0]
        metadata = 0.0
        for name, size in tables:
            if name.startswith(_METADATA):
                metadata += size
            elif name.startswith(_FULL_TEXT):
                parts["Chroma full-text"] += size
            else:
                parts["Chroma other"] += size
        for part, share in shares.items():
            parts[part] += metadata * share
        parts["Chroma other"] += free
        files = [p for p in (data_dir / "chroma").rglob("*") if p.is_file()]
        parts["HNSW"] = sum(p.stat().st_size for p in files if p.parent != chroma.parent)
        parts["Chroma other"] += sum(
            p.stat().st_size for p in files if p.parent == chroma.parent and p != chroma
        )
    parts["BM25 cache"] = sum(p.stat().st_size for p in data_dir.glob("*.fts.sqlite*"))
    return {part: size / 2**20 for part, size in parts.items()}


def _field_shares(db: sqlite3.Connection) -> dict[str, float]:
    """The share of the metadata table's bytes that each part's fields take."""
    rows = db.execute(
        "SELECT key, SUM(COALESCE(length(CAST(string_value AS BLOB)), 8) + length(key) + ?)"
        " FROM embedding_metadata GROUP BY key",
        (_ROW_OVERHEAD,),
    ).fetchall()
    total = sum(size for _, size in rows) or 1
    shares: dict[str, float] = {}
    for key, size in rows:
        part = _TEXT_FIELDS.get(key, "other metadata")
        shares[part] = shares.get(part, 0.0) + size / total
    return shares


def article_text_mb(corpus: Path) -> float:
    """MB of article text in a .jsonl or .jsonl.gz corpus (the `text` fields, UTF-8)."""
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rt", encoding="utf-8") as lines:
        return sum(len(json.loads(line).get("text", "").encode()) for line in lines) / 2**20


def format_parts(columns: dict[str, dict[str, float]], text_mb: float) -> str:
    """A table: one row per part, one column per data dir (MB and x the article text)."""
    names = list(columns)
    header = ["part", *(f"{name} MB (x text)" for name in names)]
    rows = [header]
    for part in (*PARTS, "total"):
        cells = [part]
        for name in names:
            size = sum(columns[name].values()) if part == "total" else columns[name][part]
            cells.append(f"{size:,.1f} ({size / text_mb:.2f}x)")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "\n".join([f"article text: {text_mb:,.1f} MB", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.disk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data_dirs", type=Path, nargs="+", help="Filled newsbot data dirs.")
    parser.add_argument(
        "--corpus", type=Path, required=True, help="The .jsonl[.gz] corpus they hold."
    )
    args = parser.parse_args(argv)
    columns = {str(d): disk_parts(d) for d in args.data_dirs}
    print(format_parts(columns, article_text_mb(args.corpus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
