"""One-time export of a local sentence-transformers model to int8 ONNX, cached on disk.

Only weight matrices are quantised (per channel); the feed-forward output projections
stay fp32 because their activations have the widest range: quantising them too was 10%
faster but moved some vectors to cosine 0.98 of the fp32 model, below our 0.99 bar.

The export runs in a child process whose working directory is a scratch folder: the
exporter and onnxruntime's quantiser write temporaries into the working directory
(`sym_shape_infer_temp.onnx`, weights in UUID-named `.data` files), which must never land
in the user's. The child also keeps torch out of the asking process's memory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

from ingest.encoders.base import model_fingerprint
from ingest.encoders.cache import cached_file

log = logging.getLogger(__name__)

_RECIPE = "int8-v1"  # change when the export or quantisation recipe changes
_INT8_NAME = "model-int8.onnx"


def int8_model(model_path: Path, cache_dir: Path) -> Path:
    """The cached int8 model for `model_path`, exported on first use."""
    target = cache_dir / f"{model_path.name}-{model_fingerprint(model_path, _RECIPE)}.onnx"

    def build(scratch: Path) -> Path:
        _export_in_child(model_path, scratch)
        return scratch / _INT8_NAME

    return cached_file(target, build, f"exporting {model_path} to int8 ONNX (about 10 s)")


def _export_in_child(model_path: Path, scratch: Path) -> None:
    package_root = str(Path(__file__).resolve().parents[2])
    search_path = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
    result = subprocess.run(
        [sys.executable, "-m", __name__, str(model_path)],
        cwd=scratch,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(search_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not (scratch / _INT8_NAME).exists():
        last_lines = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise RuntimeError(
            f"exporting {model_path} to int8 ONNX failed ({last_lines or 'no output'}); "
            "set NEWSBOT_EMBEDDING_BACKEND=torch to run the model without the export"
        )


def _export_here(model_path: Path) -> None:
    """The child's work: fp32 export, then int8, both in the current (scratch) folder."""
    with warnings.catch_warnings():
        # The tracer's notes on the model's Python branches are for exporter authors.
        warnings.simplefilter("ignore")
        fp32 = Path("model.onnx")
        _export_fp32(model_path, fp32)
        _quantise(fp32, Path(_INT8_NAME))


def _export_fp32(model_path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            output = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    # A padded example, so that the traced graph keeps the attention-mask path.
    input_ids = torch.randint(1000, 2000, (2, 8))
    attention_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    example = (input_ids, attention_mask, torch.zeros_like(input_ids))
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(
            LastHiddenState(),
            example,
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    matmuls = [node.name for node in onnx.load(str(source)).graph.node if node.op_type == "MatMul"]
    ffn_output = [name for name in matmuls if "/output/dense/" in name and "attention" not in name]
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=ffn_output,
        extra_options={"MatMulConstBOnly": True},
    )


if __name__ == "__main__":
    _export_here(Path(sys.argv[1]))
