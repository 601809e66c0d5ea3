"""One-time export of a local sentence-transformers model to int8 ONNX, cached on disk.

Only weight matrices are quantised (per channel); the feed-forward output projections
stay fp32 because their activations have the widest range: quantising them too was 10%
faster but moved some vectors to cosine 0.98 of the fp32 model; without them every vector
stays at 0.985 or more on every x86-64 kernel (bench/int8_kernels.py).

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
from typing import Any

from ingest.encoders.base import model_fingerprint
from ingest.encoders.cache import build_progress, cached_file

log = logging.getLogger(__name__)

_RECIPE = "int8-v1"  # change when the export or quantisation recipe changes
_INT8_NAME = "model-int8.onnx"
# Measured: median 7.7 s (7.1-9.7 s) of 3 exports of the packaged MiniLM on 2 Xeon cores
# (farm-bench, 2026-12), 10-12 s while other work shared those cores.
_BUILD_SECONDS = 10
# The child's steps, each announced on its stdout once done: the parent's progress bar.
_STEPS = ("loading the model", "exporting to ONNX", "quantising to int8")
_STEP_DONE = "newsbot-export-step-done"  # a line of its own; the libraries print others


def int8_model(model_path: Path, cache_dir: Path) -> Path:
    """The cached int8 model for `model_path`, exported on first use."""
    target = cache_dir / f"{model_path.name}-{model_fingerprint(model_path, _RECIPE)}.onnx"

    def build(scratch: Path) -> Path:
        _export_in_child(model_path, scratch)
        return scratch / _INT8_NAME

    what = f"exporting {model_path} to int8 ONNX, about {_BUILD_SECONDS} s on 2 cores"
    return cached_file(target, build, what)


def _export_in_child(model_path: Path, scratch: Path) -> None:
    package_root = str(Path(__file__).resolve().parents[2])
    search_path = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
    # Its stderr goes to a file, not a pipe: a pipe nobody reads while the steps are
    # read from stdout would stall the child once full.
    errors = scratch / "export-errors.log"
    with (
        errors.open("w", encoding="utf-8") as stderr,
        build_progress(len(_STEPS), "step", _STEPS[0]) as bar,
    ):
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(model_path)],
            cwd=scratch,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(search_path)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert child.stdout is not None  # asked for above
        done = 0
        with child:
            for line in child.stdout:
                if line.strip() == _STEP_DONE:
                    done += 1
                    bar.update()
                    bar.set_description_str(_STEPS[min(done, len(_STEPS) - 1)])
    if child.returncode != 0 or not (scratch / _INT8_NAME).exists():
        last_lines = " | ".join(errors.read_text(encoding="utf-8").strip().splitlines()[-3:])
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
        model = _load(model_path)
        _step_done()
        _export_fp32(model, fp32)
        _step_done()
        _quantise(fp32, Path(_INT8_NAME))
        _step_done()


def _step_done() -> None:
    print(_STEP_DONE, flush=True)


def _load(model_path: Path) -> Any:
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()


def _export_fp32(model: Any, target: Path) -> None:
    import torch

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
