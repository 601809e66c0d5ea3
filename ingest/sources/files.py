"""Readers for local files: each yields Articles, or a Failure naming file and fix."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingest.cleaning import clean_line, clean_text
from ingest.dates import read_date
from ingest.errors import BadInput
from ingest.types import Article, Failure, Limits, Notice

Loaded = Article | Failure | Notice
Reader = Callable[[Path, Limits], Iterator[Loaded]]

_HEADER = re.compile(r"^(title|source|publisher|published|date|url)\s*:\s*(.+)$", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
# trafilatura's time grows with the tags, the more so the deeper they nest, and with the
# tags side by side in one element times the page's size (the text they leave behind when
# removed is joined to their parent's piece by piece). Measured on 5 MB pages: 50,000 flat
# paragraphs 3 s; 20,000 paragraphs 250 elements deep 3.9 s; 49,000 spans in one paragraph
# 32 s, 1,900 asides in one div 7.2 s. A page past any limit below (each about 2.6 s) is
# read plainly instead, in one pass: at most 1.1 s for 5 MB of any of those shapes. News
# pages are far inside them (Rust's 0.9 MB page on Vec: 16,000 tags, 14 deep, at most 132
# side by side); the whole Rust Book on one page, 5,184 sections side by side, is not.
_MAX_TAGS = 50_000
_MAX_TAGS_BY_DEPTH = 1_500_000  # tags times the deepest nesting
_MAX_SIDE_BY_SIDE = 3 * 10**9  # tags side by side in one element, times the page's bytes
_UNSEEN = frozenset({"script", "style", "noscript", "template"})
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip


def read_text_file(path: Path, max_bytes: int) -> str:
    """Read UTF-8 text, refusing binary files and other encodings with the fix named.

    A `.gz` file is decompressed in pieces and refused past `max_bytes`: 500 KB can
    unpack to gigabytes."""
    if path.suffix == ".gz":
        data = _gunzip(path, max_bytes)
    else:
        _refuse_bigger(path, max_bytes)
        data = path.read_bytes()
    if not data.strip():
        raise BadInput("empty file")
    if b"\x00" in data[:8192]:
        raise BadInput("binary file, not text; give .txt, .md, .html, .pdf, .json or .jsonl")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadInput(
            f"not UTF-8 text (bad byte at offset {error.start}); re-save the file as UTF-8"
        ) from None


def _gunzip(path: Path, max_bytes: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    try:
        with gzip.open(path, "rb") as stream:
            while piece := stream.read(1 << 20):
                size += len(piece)
                if size > max_bytes:
                    raise BadInput(_too_big(size, max_bytes, "unpacks to"))
                pieces.append(piece)
    except (OSError, EOFError) as error:
        raise BadInput(f"broken gzip file ({error})") from None
    return b"".join(pieces)


def _refuse_bigger(path: Path, max_bytes: int) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise BadInput(_too_big(size, max_bytes))


def _too_big(size: int, limit: int, verb: str = "is") -> str:
    return (
        f"file {verb} more than {limit / 2**20:g} MB ({size / 2**20:.1f} MB read); split it, "
        "or raise NEWSBOT_MAX_FILE_MB"
    )


def load_plain(path: Path, limits: Limits) -> Iterator[Loaded]:
    """`.txt`/`.md`: optional `Title:`/`Source:`/`Published:`/`URL:` header lines."""
    text = read_text_file(path, limits.max_file_bytes)
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
    published = (
        meta.get("published") or meta.get("date") or (name_date.group(1) if name_date else None)
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


def load_html(path: Path, limits: Limits) -> Iterator[Loaded]:
    yield from extract_html(
        read_text_file(path, limits.max_file_bytes),
        str(path),
        url=path.resolve().as_uri(),
        max_bytes=limits.max_html_bytes,
    )


def extract_html(
    html: str, origin: str, url: str, *, max_bytes: int, source: str = ""
) -> Iterator[Loaded]:
    """Main text, title, date and site name of a web page, by trafilatura.

    Its time and memory grow with the markup (a flat 30 MB page: 80 s and 2.9 GB), so a
    page over `max_bytes` is refused before it is parsed, and one shaped to take
    trafilatura more than a few seconds is read as plain text instead."""
    size = len(html) if html.isascii() else len(html.encode())  # isascii: no copy
    if size > max_bytes:
        yield Failure(
            origin,
            f"page is {size / 2**20:.1f} MB of HTML, more than {max_bytes / 2**20:g} MB; "
            "raise NEWSBOT_MAX_HTML_MB",
        )
        return
    try:
        import trafilatura
    except ImportError as error:
        yield Failure(origin, _missing_reader("HTML", error, "trafilatura lxml_html_clean"))
        return
    if plain := _read_plainly(html, size):
        why, title, body = plain
        yield Notice(origin, f"page has {why}: read as plain text, with no date and perhaps menus")
        yield from _article_or_failure(
            origin, title=title, text=body, source=source, url=url, published=None
        )
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
        published=getattr(document, "date", None),
    )


def _read_plainly(html: str, size: int) -> tuple[str, str, str] | None:
    """Why trafilatura would take more than a few seconds over this page, with the page's
    title and text read plainly instead; None when it would not."""
    import lxml.etree
    import lxml.html

    # Bytes: lxml refuses a str that declares its encoding, and such a page must not slip by.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        tree = lxml.html.document_fromstring(html.encode(errors="replace"), parser=parser)
    except lxml.etree.ParserError:
        return None  # empty: trafilatura says so
    tags, deepest, widest = _shape(tree)
    if tags > _MAX_TAGS:
        why = f"{tags:,} tags, more than {_MAX_TAGS:,}"
    elif tags * deepest > _MAX_TAGS_BY_DEPTH:
        why = f"{tags:,} tags nested {deepest} deep"
    elif widest * size > _MAX_SIDE_BY_SIDE:
        why = f"{widest:,} tags side by side in one element of {size / 2**20:.1f} MB"
    else:
        return None
    body = clean_text(_plain_text(tree))
    return why, clean_line(tree.findtext(".//title") or "") or _title_from_body(body), body


def _shape(tree: Any) -> tuple[int, int, int]:
    """The tags of the tree, how deep they nest, and the most side by side in one."""
    import lxml.etree

    tags = depth = deepest = widest = 0
    for event, element in lxml.etree.iterwalk(tree, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        tags += 1
        depth += 1
        deepest = max(deepest, depth)
        widest = max(widest, len(element))
    return tags, deepest, widest


def _plain_text(tree: Any) -> str:
    """The body's text, a line per block, in one pass over the tree. Not trafilatura's
    `html2txt` or `baseline`: they move text between elements as they go, which took 80
    and 30 s on some 5 MB pages."""
    import lxml.etree

    body = tree.find("body")
    parts: list[str] = []
    for event, element in lxml.etree.iterwalk(
        tree if body is None else body, events=("start", "end")
    ):
        tag = element.tag
        if event == "start":
            if isinstance(tag, str) and tag not in _UNSEEN and element.text:
                parts.append(element.text)
            continue
        if tag in _BLOCKS:
            parts.append("\n")
        if element.tail:
            parts.append(element.tail)
    return "".join(parts)


def load_pdf(path: Path, limits: Limits) -> Iterator[Loaded]:
    _refuse_bigger(path, limits.max_file_bytes)
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


def load_jsonl(path: Path, limits: Limits) -> Iterator[Loaded]:
    """One record per line; a bad line is reported by number and the rest still load."""
    text = read_text_file(path, limits.max_file_bytes)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Failure(where, f"invalid JSON ({error.msg}); fix or remove line {number}")
            continue
        except RecursionError:
            yield Failure(where, f"JSON nested too deeply; fix or remove line {number}")
            continue
        yield from _guarded(article_from_record, record, where, path.name)


def load_json(path: Path, limits: Limits) -> Iterator[Loaded]:
    """A record, a list of records, or `{"articles": [...]}`."""
    try:
        data = json.loads(read_text_file(path, limits.max_file_bytes))
    except json.JSONDecodeError as error:
        yield Failure(str(path), f"invalid JSON at line {error.lineno} ({error.msg})")
        return
    except RecursionError:
        yield Failure(str(path), "JSON nested too deeply to be articles")
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for index, record in enumerate(records):
        where = f"{path}[{index}]" if len(records) > 1 else str(path)
        yield from _guarded(article_from_record, record, where, path.name)


def _guarded(
    read: Callable[[Any, str, str], Iterator[Loaded]], record: Any, where: str, collection: str
) -> Iterator[Loaded]:
    """One record read; what it raises is its own failure, and the file goes on."""
    try:
        yield from read(record, where, collection)
    except Exception as error:
        yield Failure(where, f"cannot read this record ({type(error).__name__}: {error})")


def article_from_record(record: Any, origin: str, collection: str = "") -> Iterator[Loaded]:
    """A record with fields `title, text, url, published, source` (`id` optional).

    A field of the wrong type is refused by name (the body) or left out with a notice
    (the rest): one odd record must not stop the file."""
    if not isinstance(record, dict):
        yield Failure(origin, "expected a JSON object with at least a 'text' field")
        return
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        yield Failure(
            origin, "record has no 'text'; each record needs the article body as a string"
        )
        return
    fields: dict[str, str] = {}
    for name in ("title", "url", "source", "id"):
        value = record.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            fields[name] = str(value).strip()
        elif value is not None:
            yield Notice(origin, f"'{name}' is a {type(value).__name__}, not text; left out")
    body = clean_text(text)
    url = fields.get("url", "")
    record_id = fields.get("id")
    yield from _article_or_failure(
        # A stable origin lets an edited record replace its earlier version.
        f"{collection}#{record_id}" if record_id else (url or origin),
        title=fields.get("title") or _title_from_body(body),
        text=body,
        source=fields.get("source", ""),
        url=url,
        published=record.get("published"),
    )


def _article_or_failure(
    origin: str, *, title: str, text: str, source: str, url: str, published: object
) -> Iterator[Loaded]:
    """The article, if it has words; its date read, or left unknown with a notice."""
    if sum(any(c.isalnum() for c in word) for word in text.split()[:50]) < 3:
        yield Failure(origin, "no article text after cleaning (empty, too short or only symbols)")
        return
    day, problem = read_date(published)
    if problem:
        yield Notice(origin, f"{problem}; stored as undated")
    yield Article(clean_line(title), text, clean_line(source), url, day, origin)


def reader_for(path: Path) -> Reader | None:
    """The reader for a file name; `.gz` is looked through (`corpus.jsonl.gz`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return READERS.get(suffixes[-1]) if suffixes else None


READERS: dict[str, Reader] = {
    ".txt": load_plain,
    ".md": load_plain,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".json": load_json,
    ".jsonl": load_jsonl,
}
