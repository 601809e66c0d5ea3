"""The trained reader at answer time: an int8 ONNX cross-encoder and its calibration.

At first use the packaged all-MiniLM-L6-v2 and the repository's adapter are merged and
exported to int8 ONNX in the model cache (as the embedder's export is), in a child
process; the adapter is checked against its manifest first, and the cached file's name
carries both checksums, so a retrained adapter gets an export of its own. Nothing is
downloaded.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.reader import files
from ingest.encoders.cache import cached_file
from ingest.encoders.onnx_int8 import INT8_NAME, export_fp32, export_in_child, quantise, step_done
from ingest.encoders.reranker import CrossEncoderReranker, Reranker, load_reranker

if TYPE_CHECKING:
    from bot.settings import Settings

_RECIPE = "reader-int8-v1"  # change when the merge, export or quantisation changes
_STEPS = ("merging the adapter", "exporting to ONNX", "quantising to int8")
# Measured: about 10 s on 2 Xeon cores, as the embedder's export.
_BUILD_SECONDS = 10


class TrainedReader:
    """Reads (question, sentence) pairs; `probability` is the calibrated chance that the
    sentence answers the question, `score` the raw logit (the `Reranker` protocol)."""

    def __init__(self, folder: Path, calibration: Sequence[float], max_tokens: int, threads: int):
        self.model = CrossEncoderReranker(folder, threads, max_tokens)
        self.scale, self.shift = float(calibration[0]), float(calibration[1])

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.model.score(query, texts)

    def probability(self, query: str, texts: Sequence[str]) -> np.ndarray:
        logits = self.score(query, texts).astype(float)
        return np.asarray(1.0 / (1.0 + np.exp(-(self.scale * logits + self.shift))))

    def probability_of_logit(self, logit: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.scale * logit + self.shift)))


def load_reader(settings: Settings) -> Reranker | None:
    """The reader the `reader` setting names: trained, the ms-marco cross-encoder
    (`rerank`), or None (`none`)."""
    if settings.reader == "none":
        return None
    if settings.reader == "rerank":
        return load_reranker("ms-marco-minilm-l12", settings.model_threads)
    return load_trained_reader(
        Path(settings.model_cache_dir), settings.model_threads, settings.reader_adapter
    )


def load_trained_reader(
    cache_dir: Path, threads: int = 1, adapter_dir: Path | None = None
) -> TrainedReader:
    """The reader of `adapter_dir` (the shipped one by default), exported into
    `cache_dir` on first use."""
    adapter_dir = adapter_dir or files.ADAPTER_DIR
    manifest = files.read_manifest(adapter_dir)
    base = files.base_model_path()
    key = f"{manifest['adapter']['sha256'][:12]}-{manifest['base']['sha256'][:8]}-{_RECIPE}"
    folder = cache_dir / f"reader-{key}"
    if not (folder / "model.onnx").exists():
        files.check_base(manifest, base)

        def build(scratch: Path) -> Path:
            export_in_child(
                __name__,
                [str(base), str(adapter_dir), str(manifest["alpha"])],
                scratch,
                _STEPS,
                "set NEWSBOT_READER=rerank to answer without the trained reader",
            )
            made = scratch / "reader"
            made.mkdir()
            shutil.move(scratch / INT8_NAME, made / "model.onnx")
            shutil.copy(base / "tokenizer.json", made / "tokenizer.json")
            return made

        what = (
            f"merging the trained reader into its base and exporting it (about {_BUILD_SECONDS} s)"
        )
        cached_file(folder, build, what)
    return TrainedReader(folder, manifest["calibration"], int(manifest["max_tokens"]), threads)


def _export_here(base: Path, adapter_dir: Path, alpha: float) -> None:
    """The child's work, in the current (scratch) folder."""
    import warnings

    from safetensors.torch import load_file

    from bot.reader.network import merged

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = merged(base, load_file(str(adapter_dir / files.ADAPTER_FILE)), alpha)
        step_done()
        export_fp32(model, Path("model.onnx"), "logit")
        step_done()
        quantise(Path("model.onnx"), Path(INT8_NAME))
        step_done()


if __name__ == "__main__":
    _export_here(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
