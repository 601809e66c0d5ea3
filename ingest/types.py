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


@dataclass
class IngestReport:
    """What one ingest did, counted per article; failures carry their reason."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, unchanged {len(self.unchanged)}, "
            f"replaced {len(self.replaced)}, failed {len(self.failed)} "
            f"({self.chunks} chunks in {self.seconds:.1f} s)"
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["summary"] = self.summary()
        return data
