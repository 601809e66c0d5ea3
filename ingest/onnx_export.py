"""One-time export of a local sentence-transformers model to int8 ONNX, cached on disk.

Only weight matrices are quantised (per channel); the feed-forward output projections
stay fp32 because their activations have the widest range: quantising them too was 10%
faster but moved some vectors to cosine 0.98 of the fp32 model, below our 0.99 bar.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

from ingest.embedder import model_fingerprint

log = logging.getLogger(__name__)

_RECIPE = "int8-v1"  # change when the export or quantisation recipe changes


def int8_model(model_path: Path, cache_dir: Path) -> Path:
    """The cached int8 model for `model_path`, exported on first use."""
    target = cache_dir / f"{model_path.name}-{model_fingerprint(model_path, _RECIPE)}.onnx"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.warning("exporting %s to int8 ONNX (once, about 10 s)", model_path)
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch, warnings.catch_warnings():
        # The tracer's notes on the model's Python branches are for exporter authors.
        warnings.simplefilter("ignore")
        fp32 = Path(scratch) / "model.onnx"
        int8 = Path(scratch) / "model-int8.onnx"
        _export_fp32(model_path, fp32)
        _quantise(fp32, int8)
        os.replace(int8, target)  # atomic: a half-written model is never picked up
    return target


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
