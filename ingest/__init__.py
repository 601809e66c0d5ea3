"""Turn news (files, folders, URLs, feeds) into cleaned, chunked, embedded articles."""

from ingest.types import Article, Failure, IngestReport

__all__ = ["Article", "Failure", "IngestReport"]
