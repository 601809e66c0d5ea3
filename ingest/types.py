"""Plain data passed between the ingest stages and returned to callers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True)
class Article:
    """One news article, cleaned, with the metadata every answer cites."""

    title: str
    text: str
    source: str
    url: str
    published: date | None
    origin: str
    """Where it came from (path, path#line or URL): a changed origin replaces old chunks."""


@dataclass(frozen=True)
class Failure:
    item: str
    reason: str


@dataclass(frozen=True)
class Notice:
    """Something kept but changed on the way in (an implausible date stored as unknown)."""

    item: str
    message: str


@dataclass(frozen=True)
class Limits:
    """What one item may cost: hostile input is refused with the limit named, not stored."""

    max_file_bytes: int = 100 * 2**20  # a file's text once read (and decompressed)
    max_html_bytes: int = 5 * 2**20  # a page's markup, before it is parsed
    max_article_chars: int = 500_000
    max_chunk_chars: int = 2_000  # a "sentence" longer than this is cut at a space


@dataclass
class IngestReport:
    """What one ingest did, counted per article; failures carry their reason."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, unchanged {len(self.unchanged)}, "
            f"replaced {len(self.replaced)}, failed {len(self.failed)}"
            + (f", {len(self.notices)} notices" if self.notices else "")
            + f" ({self.chunks} chunks in {self.seconds:.1f} s)"
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["summary"] = self.summary()
        return data
