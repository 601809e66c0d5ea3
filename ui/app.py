"""The web chat of newsbot: a gradio app over `NewsBot`, plus a JSON API for programs.

Start it with `newsbot serve` (binds 127.0.0.1:7860 by default) or from Python::

    from bot.newsbot import NewsBot
    from ui.app import serve
    serve(NewsBot(data_dir="/path/to/data"), host="127.0.0.1", port=7860)

The page shows a corpus summary, a chat whose answers stream in with their cited
sources listed under them, and a panel with one card per source (cited first, the
quoted passage marked in the article text). Nothing is fetched from the network:
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

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import gradio as gr

from bot.types import Answer
from ui import render

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
_CONCURRENCY = "newsbot"  # one answer at a time: the chat and the API share the model
ChatUpdate = tuple[Any, Any, Any]


def build_app(bot: NewsBot) -> gr.Blocks:
    """The gradio Blocks of the chat and the `/ask` API, over `bot`."""
    metadatas = _safe(lambda: bot.store.article_metadatas(), [])
    questions = render.example_questions(metadatas)
    publishers = sorted({str(m.get("source")) for m in metadatas if m.get("source")})

    def summary() -> str:
        try:
            return render.corpus_summary(bot.stats())
        except Exception as error:
            log.exception("could not read the corpus summary")
            return f"Could not read the corpus: {render.md_text(str(error))}"

    def chat(
        message: str,
        history: list[Any],
        since: str,
        until: str,
        sources: list[str] | None,
        as_of: str,
    ) -> Iterator[ChatUpdate]:
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        past = render.plain_history(history)
        messages: list[dict[str, str]] = [*past, {"role": "user", "content": question}]
        yield "", messages, render.message_html("Searching the news…")
        text = ""
        try:
            for piece in bot.stream(
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
                yield "", [*messages, _assistant(render.md_text(text))], gr.skip()
        except ValueError as error:  # bad dates and other input the bot refuses
            note = f"⚠️ {error}"
        except Exception as error:
            log.exception("answering %r failed", question)
            note = f"⚠️ Sorry, answering failed: {type(error).__name__}: {error}"
        else:
            note = "⚠️ Sorry, no answer came back."
        yield "", [*messages, _assistant(render.md_text(note))], render.message_html(note)

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
            raise gr.Error(f"Answering failed: {type(error).__name__}: {error}") from error
        return answer.to_dict()

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        corpus = gr.Markdown(summary(), elem_id="corpus-summary")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
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
                )
                with gr.Accordion("Filters", open=False):
                    with gr.Row():
                        since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD")
                        until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD")
                        as_of = gr.Textbox(
                            label='"This week" means the week of', placeholder="YYYY-MM-DD"
                        )
                    sources = gr.Dropdown(
                        choices=publishers,
                        value=[],
                        multiselect=True,
                        label="Only these publishers",
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                panel = gr.HTML(render.sources_html(None), css_template=render.PANEL_CSS)

        inputs = [box, chatbot, since, until, sources, as_of]
        outputs = [box, chatbot, panel]
        box.submit(
            chat,
            inputs,
            outputs,
            api_name="chat",
            concurrency_id=_CONCURRENCY,
            show_progress="minimal",
        )
        chatbot.example_select(
            _example_text, None, box, api_visibility="private", queue=False
        ).then(chat, inputs, outputs, api_visibility="private", concurrency_id=_CONCURRENCY)
        chatbot.clear(
            lambda: render.sources_html(None), None, panel, api_visibility="private", queue=False
        )
        gr.api(ask_api, api_name="ask", concurrency_id=_CONCURRENCY)
        # Fresh numbers on each page load: `newsbot ingest` may run while the chat serves.
        demo.load(summary, None, corpus, api_visibility="private", queue=False)
    return demo


def serve(bot: NewsBot, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Start the web chat on http://host:port/ and block until interrupted (Ctrl-C).

    A port that is taken raises ValueError, which the CLI reports in one line.
    """
    demo = build_app(bot).queue(default_concurrency_limit=1)
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
        )
    except OSError as error:
        raise ValueError(f"cannot serve on {host}:{port}: {error}") from error
    print(f"newsbot web chat on {demo.local_url}  (API: /ask; Ctrl-C to stop)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")


def _safe(read: Any, default: Sequence[Any]) -> Any:
    try:
        return read()
    except Exception:
        log.exception("could not read the corpus")
        return default
