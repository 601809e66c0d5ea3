"""A static embedding table distilled locally from the sentence model (the model2vec recipe).

Embedding every chunk with the transformer is what made ingest slow (~36 chunks/s on
two cores). A static model is one vector per vocabulary token: a text's vector is the
sum of its tokens' rows, so ingest embeds thousands of chunks a second. It is weaker
than the transformer alone, so it only finds candidates; BM25 and the full model decide.

The table is made once from the packaged model (about 25 s, no download): each
vocabulary token goes through the transformer on its own, the outputs are reduced by
PCA, and frequent tokens are down-weighted (SIF weights under a Zipf law over the
vocabulary order), as model2vec (Tulkens & van Dongen, 2024) does.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ingest.encoders.base import Embedder, model_fingerprint, resolve_model_path
from ingest.encoders.cache import build_progress, cached_file

log = logging.getLogger(__name__)

RECIPE = "static-v1"  # change when the distillation recipe changes
_DIMENSIONS = 256
_SIF = 1e-4
_BATCH = 512
_UNUSED = re.compile(r"\[unused\d+\]")
# Measured: median 23 s (15-41 s) of 3 builds of the packaged MiniLM on 2 Xeon cores
# (farm-bench, 2026-12); 66-118 s while browser tests shared those cores.
_BUILD_SECONDS = 25


class StaticEmbedder(Embedder):
    """Token rows summed and normalised: no truncation, no padding, no matrix products."""

    recipe = RECIPE

    def __init__(self, model_path: Path, table_file: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.table = np.load(table_file).astype(np.float32)
        self.dimension = int(self.table.shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = self.table[encoding.ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def static_table(model_path: Path, cache_dir: Path) -> Path:
    """The cached table for `model_path`, distilled on first use."""
    target = cache_dir / f"{model_path.name}-static-{model_fingerprint(model_path, RECIPE)}.npy"

    def build(scratch: Path) -> Path:
        table = scratch / "table.npy"
        np.save(table, _distill(model_path).astype(np.float16))
        return table

    what = (
        f"distilling a static embedding table from {model_path}, about {_BUILD_SECONDS} s "
        "on 2 cores"
    )
    return cached_file(target, build, what)


def load_static_embedder(model: str, cache_dir: Path) -> StaticEmbedder:
    """The static encoder of `model`, its table distilled into `cache_dir` when missing."""
    path = resolve_model_path(model)
    return StaticEmbedder(path, static_table(path, cache_dir))


def _distill(model_path: Path) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
    vocabulary = tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids)
    kept = sorted(
        token_id
        for token, token_id in vocabulary.items()
        if token_id not in special and not _UNUSED.fullmatch(token)
    )
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    outputs = []
    starts = range(0, len(kept), _BATCH)
    with torch.inference_mode(), build_progress(len(starts), "batch", "distilling") as bar:
        for start in starts:
            ids = torch.tensor([[cls, token, sep] for token in kept[start : start + _BATCH]])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            outputs.append(hidden.mean(dim=1).float().numpy())
            bar.update()
    vectors = np.concatenate(outputs)
    vectors = _pca(vectors, _DIMENSIONS)
    # Zipf: the vocabulary is roughly in frequency order; common tokens say little.
    rank_probability = 1.0 / np.arange(2, len(kept) + 2)
    rank_probability /= rank_probability.sum()
    vectors *= (_SIF / (_SIF + rank_probability))[:, None]
    table = np.zeros((len(vocabulary), vectors.shape[1]), dtype=np.float32)
    table[kept] = vectors  # special and unused tokens stay zero: they add nothing
    return table


def _pca(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    covariance = centred.T @ centred / max(len(vectors) - 1, 1)
    _, eigenvectors = np.linalg.eigh(covariance)
    components = eigenvectors[:, ::-1][:, : min(dimensions, vectors.shape[1])]
    return np.asarray(centred @ components, dtype=np.float32)
