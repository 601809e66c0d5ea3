"""The question set and its corpus (RealTimeQA style), and the marker that lets a later
run reuse a store already holding the same selection of the corpus."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.eval.metrics import Question
from ingest.errors import BadInput

MARKER_VERSION = 1


def find_corpus(folder: Path) -> Path:
    for name in ("corpus.jsonl.gz", "corpus.jsonl"):
        if (folder / name).is_file():
            return folder / name
    raise BadInput(f"{folder} holds no corpus.jsonl or corpus.jsonl.gz")


def load_questions(path: Path) -> list[Question]:
    if not path.is_file():
        raise BadInput(f"{path} does not exist; DIR needs a questions.jsonl")
    questions = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                questions.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise BadInput(f"{path}:{number}: invalid JSON ({error.msg})") from None
    return questions


def sample_questions(
    questions: Sequence[Question], limit: int | None, seed: int, markets_only: bool
) -> list[Question]:
    """Filter, then `random.Random(seed).sample`: the same seed gives the same questions."""
    pool = [q for q in questions if q.get("markets")] if markets_only else list(questions)
    if limit is None or limit >= len(pool):
        return pool
    return random.Random(seed).sample(pool, limit)


def open_text(path: Path, mode: str = "rt") -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8", compresslevel=1 if "w" in mode else 9)
    return path.open(mode, encoding="utf-8")


def _records(path: Path) -> Iterator[tuple[str, str]]:
    """(id, raw line) of each corpus record; the line is copied as is."""
    with open_text(path) as lines:
        for line in lines:
            if line.strip():
                record_id = str(json.loads(line).get("id") or "")
                yield record_id, line if line.endswith("\n") else line + "\n"


def write_pool_corpus(corpus: Path, ids: set[str], folder: Path) -> tuple[Path, int]:
    """Copy the records with these ids to `folder`/same file name; returns (path, count).

    The same file name keeps the records' origins (`corpus.jsonl.gz#id`) as a full
    ingest of the corpus would give them.
    """
    target = folder / corpus.name
    written = 0
    with open_text(target, "wt") as out:
        for record_id, line in _records(corpus):
            if record_id in ids:
                out.write(line)
                written += 1
    return target, written


@dataclass(frozen=True)
class Selection:
    """What gets ingested: a corpus file, whole (`full`) or the sampled pools (`pool`)."""

    corpus: Path
    mode: str
    ids: frozenset[str] | None  # None: every record of the file

    @property
    def ids_sha256(self) -> str:
        if self.ids is None:
            return "all"
        return hashlib.sha256("\n".join(sorted(self.ids)).encode()).hexdigest()

    def key(self) -> str:
        text = f"{self.corpus}|{self.mode}|{self.ids_sha256}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def identity(self, collection: str, chroma_url: str) -> dict[str, Any]:
        """What a store must have been built from to be reused for this run."""
        return {
            "version": MARKER_VERSION,
            "corpus": str(self.corpus),
            "size": self.corpus.stat().st_size,
            "mode": self.mode,
            "ids_sha256": self.ids_sha256,
            "n_ids": None if self.ids is None else len(self.ids),
            "collection": collection,
            "chroma_url": chroma_url,
        }


def marker_path(data_dir: Path, collection: str) -> Path:
    """One marker per collection: other models or chunkings live in other collections."""
    return data_dir / f"eval-marker-{collection}.json"


def read_marker(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The stored marker when it describes this very selection, else None."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict):
        return None
    return stored if all(stored.get(k) == v for k, v in identity.items()) else None


def write_marker(path: Path, marker: dict[str, Any]) -> None:
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(marker, indent=2), encoding="utf-8")
    partial.replace(path)
