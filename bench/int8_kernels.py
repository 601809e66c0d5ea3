"""`python -m bench.int8_kernels [FOLDER]`: int8-vs-fp32 agreement under each x86-64 int8 kernel.

ONNX Runtime (MLAS) picks its u8 x s8 matrix kernel from CPUID when it starts. The AMX,
AVX-512 VNNI, AVX-VNNI and baseline SSE kernels sum products exactly in int32, so they give
the same integers; the AVX2 and AVX-512 BW kernels (`vpmaddubsw`, any x86-64 CPU with AVX2
but no VNNI) first add neighbouring products (k = 2j, 2j+1) into an int16 that saturates
at +-32767, which our full-range int8 weights (+-127) against uint8 activations can reach.

Over the texts of `tests/test_embedder.py`, it prints the cosine of each int8 vector to
the fp32 torch one (min, median) and the lowest cosine of 8 texts encoded alone to the
same texts in their batches, for
- `exact`: this CPU's own kernel (exact on a CPU with VNNI or AMX);
- `saturating`: the same model with each int8 product rewritten to clip its pair sums to
  int16, as the AVX2 and AVX-512 BW kernels do (run natively: emulating them takes hours);
- with `qemu-x86_64` installed (`apt-get install qemu-user`), a check of that rewrite: the
  real kernels picked under QEMU's CPU models `Haswell` (AVX2) and `Nehalem` (SSE), on the
  two short queries and the short chunk that saturates most (about a minute each; QEMU
  7.2 emulates no AVX-512, VNNI or AMX).
FOLDER (default /tmp/int8-kernels) keeps the texts, the fp32 vectors and the models.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ingest.encoders.transformer import OnnxEmbedder

REPO = Path(__file__).resolve().parents[1]
SAMPLE_NEWS = REPO / "ingest" / "samples" / "sample_news.jsonl"
ALONE = 8  # texts encoded one by one, as in the test
INT16 = (-32768, 32767)


def prepare(folder: Path) -> None:
    """Natively: the test's texts, their fp32 vectors, the int8 model and its rewrite."""
    from ingest.chunking import chunk_text
    from ingest.encoders.base import DEFAULT_EMBEDDING_MODEL, resolve_model_path
    from ingest.encoders.onnx_int8 import int8_model
    from ingest.encoders.transformer import load_embedder

    texts: list[str] = []
    for line in SAMPLE_NEWS.read_text().splitlines():
        record = json.loads(line)
        chunks = chunk_text(record["text"], 900, 150, 2000)
        texts += [c.embedding_text(record["title"]) for c in chunks]
    texts += ["Who raised Hang Seng targets and why?", "gold price"]
    (folder / "texts.json").write_text(json.dumps(texts))
    model = int8_model(resolve_model_path(DEFAULT_EMBEDDING_MODEL), folder / "cache")
    shutil.copy(model, folder / "exact.onnx")
    saturate(folder / "exact.onnx", folder / "saturating.onnx")
    fp32 = load_embedder(DEFAULT_EMBEDDING_MODEL, "torch", folder / "cache")
    np.save(folder / "fp32.npy", fp32.encode(texts))


def saturate(source: Path, target: Path) -> None:
    """Each MatMulInteger(u8 A, s8 B) made to return sum_j clip16(a_2j b_2j + a_2j+1 b_2j+1).

    Only pairs of weights that can overflow at all (same sign, |b0| + |b1| > 128) are
    recomputed: their excess over the clip is subtracted from the exact product."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes, constants = [], []
    for node in model.graph.node:
        nodes.append(node)
        if node.op_type != "MatMulInteger":
            continue
        b = weights[node.input[1]].astype(np.int64)  # the weights' zero point is 0
        b0, b1 = b[0::2], b[1::2]
        top = 255 * (np.maximum(b0, 0) + np.maximum(b1, 0))
        bottom = 255 * (np.minimum(b0, 0) + np.minimum(b1, 0))
        j, col = np.nonzero((top > INT16[1]) | (bottom < INT16[0]))
        scatter = np.zeros((len(j), b.shape[1]), np.float32)
        scatter[np.arange(len(j)), col] = 1
        p = node.name + "_sat_"
        output, node.output[0] = node.output[0], p + "exact"
        values: dict[str, object] = {"i0": 2 * j, "i1": 2 * j + 1, "lo": INT16[0], "hi": INT16[1]}
        values.update(w0=b0[j, col], w1=b1[j, col], scatter=scatter)
        for name, value in values.items():
            dtype = np.int64 if name[0] == "i" else np.float32
            constants.append(numpy_helper.from_array(np.asarray(value, dtype), p + name))
        nodes += [
            helper.make_node("Cast", [node.input[0]], [p + "a"], to=TensorProto.FLOAT),
            helper.make_node("Gather", [p + "a", p + "i0"], [p + "a0"], axis=-1),
            helper.make_node("Gather", [p + "a", p + "i1"], [p + "a1"], axis=-1),
            helper.make_node("Mul", [p + "a0", p + "w0"], [p + "m0"]),
            helper.make_node("Mul", [p + "a1", p + "w1"], [p + "m1"]),
            helper.make_node("Add", [p + "m0", p + "m1"], [p + "pair"]),
            helper.make_node("Clip", [p + "pair", p + "lo", p + "hi"], [p + "clipped"]),
            helper.make_node("Sub", [p + "pair", p + "clipped"], [p + "excess"]),
            helper.make_node("MatMul", [p + "excess", p + "scatter"], [p + "loss"]),
            helper.make_node("Cast", [p + "exact"], [p + "float"], to=TensorProto.FLOAT),
            helper.make_node("Sub", [p + "float", p + "loss"], [p + "result"]),
            helper.make_node("Cast", [p + "result"], [output], to=TensorProto.INT32),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(constants)
    onnx.save(model, str(target))


def embedder(model: Path) -> OnnxEmbedder:
    from ingest.encoders.base import DEFAULT_EMBEDDING_MODEL, resolve_model_path
    from ingest.encoders.transformer import OnnxEmbedder

    return OnnxEmbedder(resolve_model_path(DEFAULT_EMBEDDING_MODEL), model)


def agreement(folder: Path, model: str) -> str:
    texts = json.loads((folder / "texts.json").read_text())
    encoder = embedder(folder / model)
    batched = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts[:ALONE]])
    cosine = (batched * np.load(folder / "fp32.npy")).sum(axis=1)
    worst_alone = (alone * batched[:ALONE]).sum(axis=1).min()
    return f"{len(texts):>5} {cosine.min():>8.5f} {np.median(cosine):>8.5f} {worst_alone:>8.5f}"


def probe_texts(folder: Path) -> list[str]:
    """The two queries and the chunk of at most 64 tokens that saturation moves most."""
    texts = json.loads((folder / "texts.json").read_text())
    exact, saturating = embedder(folder / "exact.onnx"), embedder(folder / "saturating.onnx")
    short = [t for t in texts[:-2] if len(exact.tokenizer.encode(t).ids) <= 64]
    moved = (exact.encode(short) * saturating.encode(short)).sum(axis=1)
    return [*texts[-2:], short[int(moved.argmin())]]


def encode_probes(folder: Path, model: str, out: Path) -> None:
    texts = json.loads((folder / "probes.json").read_text())
    encoder = embedder(folder / model)
    np.save(out, np.stack([encoder.encode([t])[0] for t in texts]))


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "fp32.npy").exists():
        prepare(folder)
    print(f"{'kernel':<40} texts {'min':>8} {'median':>8} {'alone':>8}")
    print(f"{'this CPU (exact if VNNI/AMX)':<40} {agreement(folder, 'exact.onnx')}")
    print(f"{'saturating, rewritten (AVX2, AVX512BW)':<40} {agreement(folder, 'saturating.onnx')}")
    if not shutil.which("qemu-x86_64"):
        return
    (folder / "probes.json").write_text(json.dumps(probe_texts(folder)))
    vectors = {}
    for model in ["exact.onnx", "saturating.onnx"]:
        encode_probes(folder, model, folder / f"{model}.npy")
        vectors[model] = np.load(folder / f"{model}.npy")
    for cpu in ["Haswell", "Nehalem"]:
        out = folder / f"{cpu}.npy"
        command = ["qemu-x86_64", "-cpu", cpu, sys.executable, "-m", "bench.int8_kernels"]
        run = subprocess.run(
            [*command, "--probe", str(folder), str(out)], cwd=REPO, capture_output=True, text=True
        )
        if run.returncode != 0:
            raise SystemExit(f"under QEMU {cpu}: {run.stderr.strip()[-2000:]}")
        got = np.load(out)
        gaps = ", ".join(f"{m[:-5]} {np.abs(got - v).max():.1e}" for m, v in vectors.items())
        print(f"QEMU {cpu}: largest difference on 3 probe texts to {gaps}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        encode_probes(Path(sys.argv[2]), "exact.onnx", Path(sys.argv[3]))
    else:
        main(Path(sys.argv[1] if sys.argv[1:] else "/tmp/int8-kernels"))
