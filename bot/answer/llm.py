"""Optional language-model back-ends: fluent answers that stay as grounded as the quotes.

`NEWSBOT_LLM` picks one: `extractive` (the default: no model, quotes only), `openai:MODEL`
(OpenAI or any OpenAI-compatible server at `NEWSBOT_LLM_BASE_URL`: vLLM, Ollama,
llama.cpp's server, LM Studio) or `gguf:PATH` (a local GGUF file run in-process by
llama-cpp-python). All are LangChain chat models, so the answer layer streams tokens from
one interface. The extras: `pip install 'newsbot[llm]'`.

The model writes from the same retrieved sources the extractive answer uses; its answer
is checked (`bot.answer.grounding`) and falls back to the extractive answer, saying so, when the
back-end fails or nothing it wrote survives the check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.answer.grounding import best_quote, build_messages, check_answer
from bot.question.followup import plain_turns
from bot.question.words import terms
from bot.types import NO_ANSWER

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.answer.extractive import Drafted
    from bot.settings import Settings

log = logging.getLogger(__name__)

EXTRACTIVE = "extractive"


def is_extractive(spec: str) -> bool:
    """Whether the `llm` setting asks for no model (empty counts as the default)."""
    return spec.strip() in ("", EXTRACTIVE)


def parse_backend(spec: str) -> tuple[str, str]:
    """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); a clear error for anything else."""
    spec = spec.strip()
    if is_extractive(spec):
        return EXTRACTIVE, ""
    kind, _, value = spec.partition(":")
    if kind not in ("openai", "gguf") or not value:
        raise ValueError(
            f"NEWSBOT_LLM={spec!r}: use 'extractive', 'openai:MODEL' or 'gguf:/path/model.gguf'"
        )
    return kind, value


def load_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None for the extractive answerer."""
    kind, value = parse_backend(settings.llm)
    if kind == EXTRACTIVE:
        return None
    try:
        if kind == "openai":
            return _openai(settings, value)
        return _gguf(settings, Path(value).expanduser())
    except ImportError as error:
        raise ValueError(
            f"NEWSBOT_LLM={settings.llm!r} needs the LLM extras: pip install 'newsbot[llm]' "
            f"({error})"
        ) from error


def _openai(settings: Settings, model: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

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
    if not path.is_file():
        raise ValueError(f"NEWSBOT_LLM: no GGUF file at {path}")
    from langchain_community.chat_models import ChatLlamaCpp

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


def _chat_format(path: Path) -> dict[str, Any]:
    """Gemma GGUFs without a chat template need llama.cpp's built-in "gemma" format
    (without it llama-cpp-python falls back to llama-2's)."""
    return {"chat_format": "gemma"} if "gemma" in path.name.lower() else {}


def model_answer(model: BaseChatModel, question: str, drafted: Drafted) -> Iterator[str | Drafted]:
    """Stream the model's answer over the extractive draft's sources, then yield the
    checked result: its supported sentences, or the extractive draft with the reason."""
    sources = drafted.sources
    if not sources:
        yield drafted  # nothing retrieved: the bot's own message stands
        return
    written = ""
    try:
        for chunk in model.stream(build_messages(question, sources)):
            piece = chunk.content if isinstance(chunk.content, str) else ""
            written += piece
            yield piece
    except Exception as error:
        log.warning("the language model failed: %s", error)
        yield fallback(drafted, f"the language model could not answer ({_brief(error)})")
        return
    checked = check_answer(written, sources)
    if checked.not_in_sources:
        plain = [replace(s, quote="") for s in sources]
        yield replace(drafted, text=NO_ANSWER, pieces=[NO_ANSWER], sources=plain, abstained=True)
        return
    if checked.empty:
        yield fallback(drafted, "nothing the language model wrote passed the source check")
        return
    text = checked.text
    if checked.dropped:
        text += "\n\n(Checked against the sources; left out: " + "; ".join(checked.dropped) + ")"
    quoted = [
        replace(s, quote=best_quote(s, checked.cited[s.n]) if s.n in checked.cited else "")
        for s in sources
    ]
    yield replace(drafted, text=text, pieces=[text], sources=quoted, abstained=False)


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


def fallback(drafted: Drafted, why: str) -> Drafted:
    """The extractive draft, with a line saying why it is shown instead of the model's."""
    note = f"\n\n(Extractive answer: {why}.)"
    return replace(drafted, text=drafted.text + note, pieces=[*drafted.pieces, note])


def _brief(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
