"""Readers for local files: each yields Articles, or a Failure naming file and fix."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingest.cleaning import clean_text
from ingest.dates import parse_date
from ingest.types import Article, Failure

Loaded = Article | Failure

_HEADER = re.compile(r"^(title|source|publisher|published|date|url)\s*:\s*(.+)$", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def read_text_file(path: Path) -> str:
    """Read UTF-8 text, refusing binary files and other encodings with the fix named."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"broken gzip file ({error})") from None
    if not data.strip():
        raise ValueError("empty file")
    if b"\x00" in data[:8192]:
        raise ValueError("binary file, not text; give .txt, .md, .html, .pdf, .json or .jsonl")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"not UTF-8 text (bad byte at offset {error.start}); re-save the file as UTF-8"
        ) from None


def load_plain(path: Path) -> Iterator[Loaded]:
    """`.txt`/`.md`: optional `Title:`/`Source:`/`Published:`/`URL:` header lines."""
    text = read_text_file(path)
    meta: dict[str, str] = {}
    lines = text.strip().splitlines()
    if lines and lines[0].strip() == "---":  # Markdown front matter
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        meta_lines, lines = lines[1:end], lines[end + 1 :]
    else:
        meta_lines = []
        while lines and _HEADER.match(lines[0].strip()):
            meta_lines.append(lines.pop(0))
    for line in meta_lines:
        match = _HEADER.match(line.strip())
        if match:
            meta[match.group(1).lower()] = match.group(2).strip().strip("\"'")
    body = clean_text("\n".join(lines))
    title = meta.get("title", "")
    if not title:
        title, body = _split_title(body)
    name_date = _DATE_IN_NAME.search(path.name)
    published = parse_date(meta.get("published") or meta.get("date")) or (
        parse_date(name_date.group(1)) if name_date else None
    )
    yield from _article_or_failure(
        str(path),
        title=title,
        text=body,
        source=meta.get("source") or meta.get("publisher") or "",
        url=meta.get("url") or path.resolve().as_uri(),
        published=published,
    )


def _split_title(body: str) -> tuple[str, str]:
    """A heading or a short unpunctuated first line is the title, not body text."""
    first, _, rest = body.partition("\n")
    heading = first.startswith("#") or (len(first) <= 120 and not first.endswith((".", '"', "”")))
    if heading and rest.strip():
        return first.lstrip("# ").strip(), rest.strip()
    return _title_from_body(body), body


def _title_from_body(body: str) -> str:
    """A heading line is the title; otherwise the opening words of the first line."""
    first = body.split("\n", 1)[0].lstrip("# ").strip()
    if len(first) <= 120:
        return first.rstrip(".")
    cut = first[:100].rsplit(" ", 1)[0]
    return cut + "…"


def load_html(path: Path) -> Iterator[Loaded]:
    yield from extract_html(read_text_file(path), str(path), url=path.resolve().as_uri())


def extract_html(html: str, origin: str, url: str, source: str = "") -> Iterator[Loaded]:
    """Main text, title, date and site name of a web page, by trafilatura."""
    try:
        import trafilatura
    except ImportError as error:
        yield Failure(origin, _missing_reader("HTML", error, "trafilatura lxml_html_clean"))
        return
    document = trafilatura.bare_extraction(
        html,
        url=url if url.startswith("http") else None,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text:
        yield Failure(origin, "no article text found in the HTML (broken or empty page)")
        return
    title = (getattr(document, "title", None) or "").strip()
    body = clean_text(text)
    if title and body.split("\n", 1)[0].strip() == title:
        body = body.split("\n", 1)[1].strip() if "\n" in body else ""
    yield from _article_or_failure(
        origin,
        title=title or _title_from_body(body),
        text=body,
        source=source
        or (getattr(document, "sitename", None) or getattr(document, "hostname", None) or ""),
        url=url,
        published=parse_date(getattr(document, "date", None)),
    )


def load_pdf(path: Path) -> Iterator[Loaded]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as error:
        yield Failure(str(path), _missing_reader("PDF", error, "pypdf"))
        return
    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        yield Failure(str(path), f"cannot read PDF ({error}); is the file complete?")
        return
    body = clean_text("\n".join(pages))
    yield from _article_or_failure(
        str(path),
        title=str(info_title).strip() or _title_from_body(body),
        text=body,
        source="",
        url=path.resolve().as_uri(),
        published=None,  # a PDF's creation date is not when the news was published
    )


def _missing_reader(kind: str, error: ImportError, packages: str) -> str:
    """Each format imports its library when first read, so a broken one fails only itself."""
    reason = " ".join(str(error).split())
    return f"cannot read {kind} ({reason}); fix it with `pip install {packages}`"


def load_jsonl(path: Path) -> Iterator[Loaded]:
    """One record per line; a bad line is reported by number and the rest still load."""
    text = read_text_file(path)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Failure(where, f"invalid JSON ({error.msg}); fix or remove line {number}")
            continue
        yield from article_from_record(record, where, path.name)


def load_json(path: Path) -> Iterator[Loaded]:
    """A record, a list of records, or `{"articles": [...]}`."""
    try:
        data = json.loads(read_text_file(path))
    except json.JSONDecodeError as error:
        yield Failure(str(path), f"invalid JSON at line {error.lineno} ({error.msg})")
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for index, record in enumerate(records):
        where = f"{path}[{index}]" if len(records) > 1 else str(path)
        yield from article_from_record(record, where, path.name)


def article_from_record(record: Any, origin: str, collection: str = "") -> Iterator[Loaded]:
    """A record with fields `title, text, url, published, source` (`id` optional)."""
    if not isinstance(record, dict):
        yield Failure(origin, "expected a JSON object with at least a 'text' field")
        return
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        yield Failure(origin, "record has no 'text'; each record needs the article body")
        return
    body = clean_text(text)
    url = str(record.get("url") or "")
    record_id = record.get("id")
    yield from _article_or_failure(
        # A stable origin lets an edited record replace its earlier version.
        f"{collection}#{record_id}" if record_id else (url or origin),
        title=str(record.get("title") or "").strip() or _title_from_body(body),
        text=body,
        source=str(record.get("source") or ""),
        url=url,
        published=parse_date(record.get("published")),
    )


def _article_or_failure(
    origin: str, *, title: str, text: str, source: str, url: str, published: Any
) -> Iterator[Loaded]:
    if len(text.split()) < 3:
        yield Failure(origin, "no article text after cleaning (empty or too short)")
        return
    yield Article(title, text, source, url, published, origin)


def reader_for(path: Path) -> Callable[[Path], Iterator[Loaded]] | None:
    """The reader for a file name; `.gz` is looked through (`corpus.jsonl.gz`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return READERS.get(suffixes[-1]) if suffixes else None


READERS: dict[str, Callable[[Path], Iterator[Loaded]]] = {
    ".txt": load_plain,
    ".md": load_plain,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".json": load_json,
    ".jsonl": load_jsonl,
}
