"""What the web chat does when a user acts: ask, retry, add news, and the JSON API.

`Handlers` holds the bot the page serves (and the extractive twin offered beside a
language model); `layout.py` wires its methods to the page's components.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from bot.answer.writer import QuotingWriter
from bot.newsbot import NewsBot
from bot.question.followup import message_text, plain_turns
from bot.settings import EXTRACTIVE
from ingest.errors import NewsbotError
from ingest.pipeline import Item
from ingest.sources.items import Upload, upload
from ui import render
from ui.background import at_low_priority
from ui.examples import example_questions
from ui.server_lock import ServerLock

log = logging.getLogger(__name__)

ChatUpdate = tuple[Any, Any, Any]
# An ingest's tqdm bar ("Indexing") shown as the page's progress bar.
_TRACK_TQDM = gr.Progress(track_tqdm=True)


class Handlers:
    """The page's event handlers over one bot.

    With `handoff` (the lock this server holds on its data dir), `ingest_local` ingests
    local paths for a caller that shows the lock's secret: how `newsbot ingest` adds
    news to a data dir while this server runs on it."""

    def __init__(self, bot: NewsBot, handoff: ServerLock | None = None) -> None:
        self.bot = bot
        self.handoff = handoff
        self.writers = _writers(bot)
        # The API's calls (and MCP's) run beside the queue: as many at once as it allows.
        self._api_slots = threading.BoundedSemaphore(bot.settings.answer_workers)

    def summary(self) -> str:
        try:
            return render.corpus_summary(self.bot.stats())
        except Exception as error:
            log.exception("could not read the corpus summary")
            return f"Could not read the corpus: {render.md_text(str(error))}"

    def chat(
        self,
        message: str,
        history: list[Any],
        since: str,
        until: str,
        publishers: list[str] | None,
        as_of: str,
        writer: str | None = None,
        entities: list[str] | None = None,
    ) -> Iterator[ChatUpdate]:
        question = (message or "").strip()
        answering = self.writers.get(writer or "", self.bot)
        if not question:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        past = plain_turns(history)
        messages: list[dict[str, str]] = [*past, {"role": "user", "content": question}]
        yield "", messages, render.message_html("Searching the news…")
        text = ""
        try:
            stream = answering.stream(
                question,
                history=past,
                since=since or None,
                until=until or None,
                publishers=publishers or None,
                entities=entities or None,
                as_of=as_of or None,
            )
            for piece in stream:
                text += piece
                partial = render.linked_markers(render.md_text(text))
                yield "", [*messages, _assistant(partial)], gr.skip()
            reply = render.chat_markdown(stream.answer)
            yield "", [*messages, _assistant(reply)], render.sources_html(stream.answer)
            return
        except NewsbotError as error:  # bad dates and other input the bot refuses
            note = f"⚠️ {error}"
        except Exception:
            log.exception("answering %r failed", question)
            note = "⚠️ Sorry, answering failed on the server; the log has the details."
        yield "", [*messages, _assistant(render.md_text(note))], render.message_html(note)

    def retry(
        self,
        history: list[Any],
        since: str,
        until: str,
        publishers: list[str] | None,
        as_of: str,
        writer: str,
        entities: list[str] | None,
        event: gr.RetryData,
    ) -> Iterator[ChatUpdate]:
        """Ask the retried turn's question again, forgetting that turn and what followed."""
        index = event.index if isinstance(event.index, int) else event.index[0]
        question = message_text(event.value)
        turns = history[:index]
        yield from self.chat(question, turns, since, until, publishers, as_of, writer, entities)

    def show_brief(self, since: str, until: str, entities: list[str] | None) -> str:
        """The main stories of the window, as the Brief tab shows them."""
        try:
            answer = self.bot.brief(
                since=since or None, until=until or None, entities=entities or None
            )
        except NewsbotError as error:
            return render.md_text(f"⚠️ {error}")
        except Exception:
            log.exception("the brief failed")
            return "⚠️ Sorry, the brief failed on the server; the log has the details."
        return f"### {render.md_text(answer.question)}\n\n" + render.answer_markdown(answer)

    # The three methods below are the API (`/ask`, `/search`, `/brief`) and, with
    # `newsbot serve --mcp`, the MCP tools: their names and docstrings are what an
    # assistant sees, so the docstrings are written for it.

    def brief(
        self, since: str = "", until: str = "", entities: list[str] | None = None
    ) -> dict[str, Any]:
        """What moved the markets: the main news stories of a period, one cited line each.

        Copies of one story from different publishers are merged, and the story most
        publishers carried comes first. Returns the text (one line per story, with [n]
        markers) and the numbered sources (title, publisher, url, published date).

        Args:
            since: First publication day, YYYY-MM-DD; "" for 6 days before `until`.
            until: Last publication day, YYYY-MM-DD; "" for the newest news stored.
            entities: Only stories naming any of these companies, people, indices or tickers.
        """
        try:
            with self._api_slots:
                answer = self.bot.brief(
                    since=since or None, until=until or None, entities=entities or None
                )
        except NewsbotError as error:
            raise gr.Error(str(error)) from error
        return answer.to_dict()

    def search(
        self,
        query: str,
        k: int = 5,
        since: str = "",
        until: str = "",
        publishers: list[str] | None = None,
        entities: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Search the ingested market news: the passages that best match a query.

        Use it to read the news yourself; `ask` writes a cited answer instead. Each
        passage has its text and the article it comes from: title, publisher, url,
        published date (YYYY-MM-DD), article_id, chunk_id, and a relevance score.

        Args:
            query: What to look for, e.g. "Hang Seng index targets".
            k: How many passages to return (1-50).
            since: Only news published on or after this day, YYYY-MM-DD; "" for no bound.
            until: Only news published on or before this day, YYYY-MM-DD; "" for no bound.
            publishers: Only news from these publishers; empty for all.
            entities: Only news naming any of these companies, people, indices or tickers.
        """
        if not (query or "").strip():
            raise gr.Error("Search for something: the query is empty.")
        try:
            with self._api_slots:
                found = self.bot.search(
                    query.strip(),
                    k=max(1, min(int(k), 50)),
                    since=since or None,
                    until=until or None,
                    publishers=publishers or None,
                    entities=entities or None,
                )
        except NewsbotError as error:
            raise gr.Error(str(error)) from error
        return [passage.to_dict() for passage in found]

    def add_news(
        self, files: list[str] | None, urls: str, progress: Any = _TRACK_TQDM
    ) -> tuple[Any, ...]:
        """Ingest uploaded files (gradio's copies only) and http(s) URLs.

        A visitor's input reaches the pipeline only as `WebUrl`s and `Upload`s: the
        pipeline reads no path from the page, so nothing typed here can open a file."""
        links, rejected = render.split_urls(urls)
        uploads, refused = _uploads(files or [])
        items: list[Item] = [*uploads, *links]
        rejected += refused
        if not items and not rejected:
            return ("Choose files or paste URLs first.", *[gr.skip()] * 7)
        try:
            report = at_low_priority(
                lambda: self.bot.ingest(items, progress=True, yield_to_answers=True)
            )
        except Exception:
            log.exception("ingest from the page failed")
            message = "⚠️ Adding news failed on the server; the log has the details."
            return (message, *[gr.skip()] * 7)
        finally:
            _discard(uploads)
        stored = metadatas(self.bot)
        names = gr.update(choices=entity_choices(self.bot))
        return (
            render.ingest_report(report, rejected),
            self.summary(),
            gr.update(choices=publishers_of(stored)),
            None,
            "",
            _examples(stored),
            names,
            names,
        )

    def ask(
        self,
        question: str,
        since: str = "",
        until: str = "",
        as_of: str = "",
        entities: list[str] | None = None,
        publishers: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question about the ingested market news, citing the articles used.

        Returns the answer text with [n] markers and the numbered sources (title,
        publisher, url, published date, the quoted passage, whether it was cited). When
        the news has nothing on the question it says so (abstained is true).

        Args:
            question: The question, e.g. "Who raised Hang Seng targets and why?".
            since: Only news published on or after this day, YYYY-MM-DD; "" for no bound.
            until: Only news published on or before this day, YYYY-MM-DD; "" for no bound.
            as_of: The day "this week" and "latest" count from, YYYY-MM-DD; "" for today.
            entities: Only news naming any of these companies, people, indices or tickers.
            publishers: Only news from these publishers; empty for all.
        """
        if not (question or "").strip():
            raise gr.Error("Ask a question: the question is empty.")
        try:
            with self._api_slots:
                answer = self.bot.ask(
                    question.strip(),
                    since=since or None,
                    until=until or None,
                    as_of=as_of or None,
                    entities=entities or None,
                    publishers=publishers or None,
                )
        except NewsbotError as error:
            raise gr.Error(str(error)) from error
        except Exception as error:
            log.exception("answering %r failed", question)
            raise gr.Error("Answering failed on the server; the log has the details.") from error
        return answer.to_dict()

    def ingest_local(self, items_json: str, token: str) -> dict[str, Any]:
        """Ingest paths and URLs sent by `newsbot ingest` on this server's data dir."""
        if self.handoff is None or not hmac.compare_digest(str(token), self.handoff.token):
            raise gr.Error("Not allowed: only `newsbot ingest` on this data dir may do that.")
        items = json.loads(items_json)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise gr.Error("Expected a JSON list of paths and URLs.")
        return at_low_priority(lambda: self.bot.ingest(items, yield_to_answers=True)).to_dict()


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _uploads(files: Sequence[str]) -> tuple[list[Upload], list[tuple[str, str]]]:
    """The page's files as `Upload`s; a name outside gradio's upload folder is refused
    by its last part alone, so the reply says nothing of the server's disk."""
    folder = Path(get_upload_folder())
    uploads: list[Upload] = []
    refused: list[tuple[str, str]] = []
    for name in files:
        copy = upload(name, folder)
        if copy:
            uploads.append(copy)
        else:
            refused.append((Path(str(name)).name, "not a file uploaded through this page"))
    return uploads, refused


def _discard(uploads: Sequence[Upload]) -> None:
    """Delete gradio's copies of uploaded files once read: what they held is stored, and
    a server that runs for weeks must not keep every upload in its temp dir."""
    for copy in uploads:
        copy.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # gradio's per-upload folder, when empty
            copy.path.parent.rmdir()


def loaded(summary: str, metadatas: list[Any], names: list[tuple[str, str]]) -> tuple[Any, ...]:
    """The page's store-dependent parts: summary, example questions, publishers, and the
    names of the chat's and the brief's entity pickers."""
    picked = gr.update(choices=names)
    return (
        summary,
        _examples(metadatas),
        gr.update(choices=publishers_of(metadatas)),
        picked,
        picked,
    )


def entity_choices(bot: NewsBot, limit: int = 300) -> list[tuple[str, str]]:
    """The entity pickers' choices, the most-named first: ("Hang Seng Index (7)", name)."""
    try:
        return [(f"{name} ({count})", name) for name, count in bot.store.entity_names(limit)]
    except Exception:
        log.exception("could not read the entities")
        return []


def example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")


def _writers(bot: NewsBot) -> dict[str, NewsBot]:
    """The answer writers the page offers: the configured one, and the extractive
    answerer beside a language model (sharing the store and the loaded models)."""
    writers = {bot.settings.llm: bot}
    if bot.settings.llm != EXTRACTIVE:
        writers[EXTRACTIVE] = NewsBot(
            bot.settings.replace(llm=EXTRACTIVE),
            store=bot.store,
            embedder=bot.embedder,
            index_embedder=bot.index_embedder,
            reader=bot.reader,
            writer=QuotingWriter(),
        )
    return writers


def publishers_of(metadatas: Sequence[Any]) -> list[str]:
    return sorted({str(m.get("source")) for m in metadatas if m.get("source")})


def _examples(metadatas: Sequence[Any]) -> Any:
    """The chat's example questions, from the newest articles now stored, and the note
    above them."""
    questions = example_questions(metadatas)
    return gr.update(
        examples=[{"text": q} for q in questions] or None,
        placeholder=render.chat_placeholder(len(metadatas), len(questions)),
    )


def metadatas(bot: NewsBot) -> list[Any]:
    """The stored articles' metadata; none (logged) when the store cannot be read."""
    try:
        return list(bot.store.article_metadatas())
    except Exception:
        log.exception("could not read the corpus")
        return []
