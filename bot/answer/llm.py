"""Optional language-model back-ends: fluent answers that stay as grounded as the quotes.

`NEWSBOT_LLM` picks one: `extractive` (the default: no model, quotes only), `openai:MODEL`
(OpenAI or any OpenAI-compatible server at `NEWSBOT_LLM_BASE_URL`: vLLM, Ollama,
llama.cpp's server, LM Studio) or `gguf:PATH` (a local GGUF file run in-process by
llama-cpp-python). All are LangChain chat models, so the answer layer streams tokens from
one interface. The extras: `pip install 'newsbot[llm]'`.

The model writes from the same retrieved sources the extractive answer uses; its answer
is checked (`grounding.py`) and falls back to the extractive answer, saying so, when
the back-end fails or nothing it wrote survives the check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.answer.extractive import Drafted
from bot.answer.grounding import best_quote, build_messages, check_answer
from bot.answer.writer import QuotingWriter, Writer, Written, fallback
from bot.question.followup import plain_turns
from bot.question.words import terms
from bot.settings import EXTRACTIVE, Settings
from bot.types import NO_ANSWER
from ingest.errors import ModelUnavailable

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


def load_writer(settings: Settings) -> Writer:
    """The writer of the `llm` setting. A model that cannot be loaded (extras not
    installed, no GGUF file) gives the extractive writer, whose answers say why."""
    kind, value = settings.llm_backend
    if kind == EXTRACTIVE:
        return QuotingWriter()
    try:
        model = _openai(settings, value) if kind == "openai" else _gguf(settings, Path(value))
    except ValueError as error:  # ModelUnavailable, or the back-end refusing its options
        return QuotingWriter(why_not_a_model=str(error))
    return ChatModelWriter(model)


class ChatModelWriter:
    """A LangChain chat model writes the answer from the draft's sources; what it writes
    is checked against them, sentence by sentence."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def write(self, question: str, drafted: Drafted) -> Written:
        return (yield from model_answer(self.model, question, drafted))

    def standalone(self, question: str, history: Sequence[Any]) -> str | None:
        return rewrite_question(self.model, question, history)


def _openai(settings: Settings, model: str) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as error:
        raise _without_extras(settings, error) from error

    options: dict[str, Any] = {}
    if settings.llm_base_url:
        # Self-hosted servers (llama.cpp's among them) ignore `max_completion_tokens`,
        # which langchain-openai sends: without `max_tokens` they never stop.
        options["extra_body"] = {"max_tokens": settings.llm_max_tokens}
    return ChatOpenAI(
        model=model,
        base_url=settings.llm_base_url or None,
        api_key=SecretStr(settings.llm_api_key or "not-needed"),
        temperature=0,
        max_completion_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        **options,
    )


def _gguf(settings: Settings, path: Path) -> BaseChatModel:
    path = path.expanduser()
    if not path.is_file():
        raise ModelUnavailable(f"NEWSBOT_LLM: no GGUF file at {path}")
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as error:
        raise _without_extras(settings, error) from error

    return ChatLlamaCpp(
        model_path=str(path),
        n_ctx=settings.llm_context,
        n_threads=settings.llm_threads,
        n_batch=512,  # the wrapper's default of 8 reads long prompts slowly
        max_tokens=settings.llm_max_tokens,
        temperature=0,
        verbose=False,
        model_kwargs=_chat_format(path),
    )


def _without_extras(settings: Settings, error: ImportError) -> ModelUnavailable:
    return ModelUnavailable(
        f"NEWSBOT_LLM={settings.llm!r} needs the LLM extras: pip install 'newsbot[llm]' ({error})"
    )


def _chat_format(path: Path) -> dict[str, Any]:
    """Gemma GGUFs without a chat template need llama.cpp's built-in "gemma" format
    (without it llama-cpp-python falls back to llama-2's)."""
    return {"chat_format": "gemma"} if "gemma" in path.name.lower() else {}


def model_answer(model: BaseChatModel, question: str, drafted: Drafted) -> Written:
    """Stream the model's answer over the extractive draft's sources, then return the
    checked result: its supported sentences, or the extractive draft with the reason."""
    sources = drafted.sources
    if not sources:
        return drafted  # nothing retrieved: the bot's own message stands
    written = ""
    try:
        for chunk in model.stream(build_messages(question, sources)):
            piece = chunk.content if isinstance(chunk.content, str) else ""
            written += piece
            yield piece
    except Exception as error:
        log.warning("the language model failed: %s", error)
        return fallback(drafted, f"the language model could not answer ({_brief(error)})")
    checked = check_answer(written, sources)
    if checked.not_in_sources:
        plain = [replace(s, quote="") for s in sources]
        return replace(drafted, text=NO_ANSWER, pieces=[NO_ANSWER], sources=plain, abstained=True)
    if checked.empty:
        return fallback(drafted, "nothing the language model wrote passed the source check")
    text = checked.text
    if checked.dropped:
        text += "\n\n(Checked against the sources; left out: " + "; ".join(checked.dropped) + ")"
    quoted = [
        replace(s, quote=best_quote(s, checked.cited[s.n]) if s.n in checked.cited else "")
        for s in sources
    ]
    return replace(drafted, text=text, pieces=[text], sources=quoted, abstained=False)


_REWRITE = """\
Rewrite the last question as one standalone question that can be searched without the \
conversation: name the companies, people and dates it refers to. Reply with the question only.

Conversation:
{turns}
Last question: {question}
Standalone question:"""


def rewrite_question(model: BaseChatModel, question: str, history: Sequence[Any]) -> str | None:
    """The follow-up as a standalone question, or None when the model gave nothing usable
    (the caller then keeps the earlier turn's words, as without a model)."""
    turns = "\n".join(f"{t['role']}: {t['content'][:300]}" for t in plain_turns(history)[-4:])
    if not turns:
        return None
    try:
        reply = model.invoke([("human", _REWRITE.format(turns=turns, question=question))])
    except Exception as error:
        log.warning("rewriting the follow-up failed: %s", error)
        return None
    text = reply.content if isinstance(reply.content, str) else ""
    line = text.strip().splitlines()[0].strip(' "') if text.strip() else ""
    # Usable: one question, about what the conversation is about, not the prompt echoed.
    talked = set(terms(question + " " + turns))
    if (
        not line.endswith("?")
        or len(line) > 300
        or not talked & set(terms(line))
        or line.lower().startswith(("rewrite", "conversation", "user:", "assistant:", "last"))
    ):
        return None
    return line


def _brief(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
