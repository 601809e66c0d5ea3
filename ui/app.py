"""The web chat of newsbot: a gradio app over `NewsBot`, plus a JSON API for programs.

Start it with `newsbot serve` (binds 127.0.0.1:7860 by default) or from Python::

    from bot.newsbot import NewsBot
    from ui.app import serve
    serve(NewsBot(data_dir="/path/to/data"), host="127.0.0.1", port=7860)

The page shows a corpus summary, a chat whose answers stream in with their cited
sources listed under them (each `[n]` a link to its card), a panel with one card per
source (cited first, the quoted passage marked in the article text), date and publisher
filters, and "Add news" for uploads and URLs. Nothing is fetched from the network:
analytics are off, there is no share link, and the fonts are gradio's bundled ones.

Programmatic use, with `gradio_client` (2.x, the version that matches gradio 6)::

    import os
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # the client's telemetry ping, off
    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/", verbose=False, analytics_enabled=False)
    result = client.predict(
        "Who raised Hang Seng targets and why?",  # question
        "",  # since: YYYY-MM-DD or "" for no lower bound
        "",  # until: YYYY-MM-DD or ""
        "",  # as_of: the date "this week" and the like refer to, "" for today
        api_name="/ask",
    )
    print(result["answer"])
    for source in result["sources"]:
        print(source["n"], source["cited"], source["title"], source["url"], source["quote"])

`result` is `Answer.to_dict()`: question, answer (text with [n] markers), sources
(n, article_id, title, source, url, published, text, quote, score, cited), searched,
as_of, abstained, seconds. A bad date or an empty question raises
`gradio_client.exceptions.AppError` with a readable message. Keyword arguments work
too: `client.predict(question="...", since="2025-02-01", api_name="/ask")`.

The chat itself is the `/chat` endpoint (streaming): `client.submit(question, history,
since, until, publishers, as_of, api_name="/chat")` yields (textbox, chat messages,
sources panel HTML) tuples; pass `[]` as history to start a conversation.
"""

from __future__ import annotations

import os

# Before gradio is imported: gradio reads this at import and launch time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import contextlib
import hmac
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from bot import server_lock
from bot.question.followup import message_text, plain_turns
from bot.server_lock import ServerLock
from bot.types import Answer
from ui import render
from ui.background import at_low_priority

if TYPE_CHECKING:
    from bot.newsbot import NewsBot

log = logging.getLogger(__name__)

TITLE = "newsbot"
INTRO = (
    "# newsbot\n"
    "Ask about the ingested market news. Every answer is built from the articles "
    "themselves and cites them as [n]; the sources are listed under each answer and "
    "on the right."
)
# The chat and the API share `answer_workers` slots; adding news has one slot of its
# own, so a slow feed or a big upload never holds questions.
_CONCURRENCY = "newsbot"
_INGEST_CONCURRENCY = "newsbot-ingest"
ChatUpdate = tuple[Any, Any, Any]
# An ingest's tqdm bar ("Indexing") shown as the page's progress bar.
_TRACK_TQDM = gr.Progress(track_tqdm=True)


def build_app(bot: NewsBot, handoff: ServerLock | None = None) -> gr.Blocks:
    """The gradio Blocks of the chat and the `/ask` API, over `bot`.

    With `handoff` (the lock this server holds on its data dir), an undocumented
    `/ingest_local` endpoint ingests local paths for a caller that shows the lock's
    secret: how `newsbot ingest` adds news to a data dir while this server runs on it.

    Behind a login the page is built without anything from the store (gradio embeds the
    built page's config in the login page too); the page load fills it in, logged in."""
    private = bot.settings.auth_pair() is not None
    metadatas = [] if private else _metadatas(bot)
    questions = render.example_questions(metadatas)
    publishers = _publishers_of(metadatas)

    def summary() -> str:
        try:
            return render.corpus_summary(bot.stats())
        except Exception as error:
            log.exception("could not read the corpus summary")
            return f"Could not read the corpus: {render.md_text(str(error))}"

    writers = _writers(bot)

    def chat(
        message: str,
        history: list[Any],
        since: str,
        until: str,
        sources: list[str] | None,
        as_of: str,
        writer: str | None = None,
    ) -> Iterator[ChatUpdate]:
        question = (message or "").strip()
        answering = writers.get(writer or "", bot)
        if not question:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        past = plain_turns(history)
        messages: list[dict[str, str]] = [*past, {"role": "user", "content": question}]
        yield "", messages, render.message_html("Searching the news…")
        text = ""
        try:
            for piece in answering.stream(
                question,
                history=past,
                since=since or None,
                until=until or None,
                sources=sources or None,
                as_of=as_of or None,
            ):
                if isinstance(piece, Answer):
                    reply = render.answer_markdown(piece)
                    yield "", [*messages, _assistant(reply)], render.sources_html(piece)
                    return
                text += piece
                partial = render.linked_markers(render.md_text(text))
                yield "", [*messages, _assistant(partial)], gr.skip()
        except ValueError as error:  # bad dates and other input the bot refuses
            note = f"⚠️ {error}"
        except Exception:
            log.exception("answering %r failed", question)
            note = "⚠️ Sorry, answering failed on the server; the log has the details."
        else:
            note = "⚠️ Sorry, no answer came back."
        yield "", [*messages, _assistant(render.md_text(note))], render.message_html(note)

    def retry(
        history: list[Any],
        since: str,
        until: str,
        sources: list[str] | None,
        as_of: str,
        writer: str,
        event: gr.RetryData,
    ) -> Iterator[ChatUpdate]:
        """Ask the retried turn's question again, forgetting that turn and what followed."""
        index = event.index if isinstance(event.index, int) else event.index[0]
        yield from chat(
            message_text(event.value), history[:index], since, until, sources, as_of, writer
        )

    def add_news(
        files: list[str] | None, urls: str, progress: Any = _TRACK_TQDM
    ) -> tuple[Any, ...]:
        """Ingest uploaded files (gradio's temporary copies only) and http(s) URLs."""
        links, rejected = render.split_urls(urls)
        items = [*(files or []), *links]
        if not items and not rejected:
            return ("Choose files or paste URLs first.", *[gr.skip()] * 5)
        try:
            report = at_low_priority(
                lambda: bot.ingest(items, progress=True, yield_to_answers=True)
            )
        except Exception:
            log.exception("ingest from the page failed")
            message = "⚠️ Adding news failed on the server; the log has the details."
            return (message, *[gr.skip()] * 5)
        finally:
            _discard_uploads(files or [])
        metadatas = _metadatas(bot)
        return (
            render.ingest_report(report, rejected),
            summary(),
            gr.update(choices=_publishers_of(metadatas)),
            None,
            "",
            _examples(metadatas),
        )

    def ask_api(question: str, since: str = "", until: str = "", as_of: str = "") -> dict[str, Any]:
        """Answer `question` from the stored news; returns the answer and its sources as data.

        since/until: YYYY-MM-DD bounds on publication dates ("" for none); as_of: the date
        that "this week" and the like refer to ("" for today).
        """
        if not (question or "").strip():
            raise gr.Error("Ask a question: the question is empty.")
        try:
            answer = bot.ask(
                question.strip(), since=since or None, until=until or None, as_of=as_of or None
            )
        except ValueError as error:
            raise gr.Error(str(error)) from error
        except Exception as error:
            log.exception("answering %r failed", question)
            raise gr.Error("Answering failed on the server; the log has the details.") from error
        return answer.to_dict()

    def ingest_local(items_json: str, token: str) -> dict[str, Any]:
        """Ingest paths and URLs sent by `newsbot ingest` on this server's data dir."""
        if handoff is None or not hmac.compare_digest(str(token), handoff.token):
            raise gr.Error("Not allowed: only `newsbot ingest` on this data dir may do that.")
        items = json.loads(items_json)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise gr.Error("Expected a JSON list of paths and URLs.")
        return at_low_priority(lambda: bot.ingest(items, yield_to_answers=True)).to_dict()

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        corpus = gr.Markdown("" if private else summary(), elem_id="corpus-summary")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="chat",
                    height=560,
                    latex_delimiters=[],  # "$5 ... $6" in news is money, not LaTeX
                    buttons=["copy", "copy_all"],
                    feedback_options=None,
                    examples=[{"text": q} for q in questions] or None,
                    placeholder=(
                        "**Ask about the news**, or pick one of the example questions."
                        if questions
                        else render.EMPTY_CORPUS_NOTE
                    ),
                )
                box = gr.Textbox(
                    placeholder="Ask about the news, e.g. who moved the market and why…",
                    show_label=False,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="question",
                )
                with gr.Accordion("Filters", open=True):
                    with gr.Row():
                        since = gr.Textbox(
                            label="Published since", placeholder="YYYY-MM-DD", elem_id="since"
                        )
                        until = gr.Textbox(
                            label="Published until", placeholder="YYYY-MM-DD", elem_id="until"
                        )
                        as_of = gr.Textbox(
                            label='"This week" means the week of', placeholder="YYYY-MM-DD"
                        )
                    sources = gr.Dropdown(
                        choices=publishers,
                        value=[],
                        multiselect=True,
                        label="Only these publishers",
                    )
                    writer = gr.Radio(
                        choices=list(writers),
                        value=bot.settings.llm,
                        label="Answers written by",
                        info="The language model's answers are checked against the sources;"
                        " 'extractive' quotes them.",
                        visible=len(writers) > 1,
                        elem_id="writer",
                    )
                with gr.Accordion("Add news", open=False):
                    uploads = gr.File(
                        label="Files: .txt .md .html .pdf .json .jsonl (or .gz of them)",
                        file_count="multiple",
                        type="filepath",
                        elem_id="uploads",
                    )
                    urls = gr.Textbox(
                        label="Article or feed URLs, one per line",
                        lines=2,
                        placeholder="https://example.com/markets/story.html",
                    )
                    add = gr.Button("Add to the news", variant="secondary", elem_id="add-news")
                    report = gr.Markdown(
                        "The report of what was added appears here.",
                        elem_id="ingest-report",
                        min_height=80,
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                panel = gr.HTML(
                    render.sources_html(None), css_template=render.PANEL_CSS, elem_id="sources"
                )

        answer_slots: dict[str, Any] = {
            "concurrency_id": _CONCURRENCY,
            "concurrency_limit": bot.settings.answer_workers,
        }
        ingest_slot: dict[str, Any] = {
            "concurrency_id": _INGEST_CONCURRENCY,
            "concurrency_limit": 1,
        }
        inputs = [box, chatbot, since, until, sources, as_of, writer]
        outputs = [box, chatbot, panel]
        box.submit(
            chat,
            inputs,
            outputs,
            api_name="chat",
            show_progress="minimal",
            **answer_slots,
        )
        chatbot.example_select(
            _example_text, None, box, api_visibility="private", queue=False
        ).then(chat, inputs, outputs, api_visibility="private", **answer_slots)
        chatbot.clear(
            lambda: render.sources_html(None), None, panel, api_visibility="private", queue=False
        )
        chatbot.retry(
            retry,
            [chatbot, since, until, sources, as_of, writer],
            outputs,
            api_visibility="private",
            **answer_slots,
        )
        add.click(
            add_news,
            [uploads, urls],
            [report, corpus, sources, uploads, urls, chatbot],
            api_name="add_news",
            show_progress_on=report,
            **ingest_slot,
        )
        gr.api(ask_api, api_name="ask", **answer_slots)
        if handoff is not None:
            gr.api(
                ingest_local,
                api_name="ingest_local",
                api_visibility="undocumented",
                **ingest_slot,
            )
        # Fresh numbers on each page load: `newsbot ingest` may run while the chat serves.
        demo.load(
            lambda: _loaded(summary(), _metadatas(bot)),
            None,
            [corpus, chatbot, sources],
            api_visibility="private",
            queue=False,
        )
    return demo


def start(
    bot: NewsBot,
    host: str = "127.0.0.1",
    port: int = 7860,
    handoff: ServerLock | None = None,
) -> gr.Blocks:
    """Launch the web chat on http://host:port/ in the background; returns the app.

    Login is required when the `auth` setting (NEWSBOT_AUTH=user:password) is set;
    uploads above `max_upload_mb` are refused. A port that is taken raises ValueError.
    """
    settings = bot.settings
    bot.warm_up()
    demo = build_app(bot, handoff).queue(default_concurrency_limit=1)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            share=False,
            inbrowser=False,
            show_error=False,
            footer_links=["api", "settings"],
            run_history=False,
            quiet=True,
            prevent_thread_lock=True,
            auth=settings.auth_pair(),
            max_file_size=int(settings.max_upload_mb * 1024 * 1024),
            js=render.MARKER_JS,
        )
    except OSError as error:
        raise ValueError(f"cannot serve on {host}:{port}: {error}") from error
    return demo


def serve(bot: NewsBot, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Start the web chat and block until interrupted (Ctrl-C).

    It claims the data dir (`bot.server_lock`) for as long as it runs, so that
    `newsbot ingest` there hands its news to this process instead of writing beside it.
    """
    data_dir = Path(bot.settings.data_dir)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    lock = server_lock.claim(data_dir, f"http://{local}:{port}/")
    try:
        demo = start(bot, host, port, handoff=lock)
        print(f"newsbot web chat on {demo.local_url}  (API: /ask; Ctrl-C to stop)", flush=True)
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    finally:
        server_lock.release(data_dir, lock)


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _discard_uploads(files: Sequence[str]) -> None:
    """Delete gradio's copies of uploaded files once read: what they held is stored, and
    a server that runs for weeks must not keep every upload in its temp dir."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    for name in files:
        path = Path(name).resolve()
        if path.is_relative_to(folder) and path.is_file():
            path.unlink()
            with contextlib.suppress(OSError):  # gradio's per-upload folder, when empty
                path.parent.rmdir()


def _loaded(summary: str, metadatas: list[Any]) -> tuple[Any, ...]:
    """The page's store-dependent parts: summary, example questions, publishers."""
    return summary, _examples(metadatas), gr.update(choices=_publishers_of(metadatas))


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")


def _writers(bot: NewsBot) -> dict[str, NewsBot]:
    """The answer writers the page offers: the configured one, and the extractive
    answerer beside a language model (same store and encoders, no model)."""
    from bot.answer.llm import EXTRACTIVE, is_extractive

    writers = {bot.settings.llm: bot}
    if not is_extractive(bot.settings.llm):
        quoting = type(bot)(bot.settings.model_copy(update={"llm": EXTRACTIVE}))
        for shared in ("store", "embedder", "index_embedder"):
            quoting.__dict__[shared] = getattr(bot, shared)
        writers[EXTRACTIVE] = quoting
    return writers


def _publishers_of(metadatas: Sequence[Any]) -> list[str]:
    return sorted({str(m.get("source")) for m in metadatas if m.get("source")})


def _examples(metadatas: Sequence[Any]) -> Any:
    """The chat's example questions, from the newest articles now stored."""
    questions = render.example_questions(metadatas)
    return gr.update(examples=[{"text": q} for q in questions] or None)


def _metadatas(bot: NewsBot) -> list[Any]:
    """The stored articles' metadata; none (logged) when the store cannot be read."""
    try:
        return list(bot.store.article_metadatas())
    except Exception:
        log.exception("could not read the corpus")
        return []
