"""The web chat's page: its components, and which handler each event calls."""

from __future__ import annotations

from typing import Any

import gradio as gr

from bot.newsbot import NewsBot
from ui import render
from ui.examples import example_questions
from ui.handlers import (
    Handlers,
    entity_choices,
    example_text,
    loaded,
    metadatas,
    publishers_of,
)
from ui.server_lock import HANDOFF_API, ServerLock

TITLE = "newsbot"
INTRO = (
    "# newsbot\n"
    "Ask about the ingested market news. Every answer is built from the articles "
    "themselves and cites them as [n]; a click on a marker shows its source under "
    "Sources, beside the chat (below it on a narrow screen)."
)
BRIEF_INTRO = (
    "The main stories of a window, one cited line each: copies of one story merged, "
    "the story most publishers carried first. Without dates: the 7 days up to the "
    "newest news."
)
# The chat and the API share `answer_workers` slots; adding news has one slot of its
# own, so a slow feed or a big upload never holds questions.
_CONCURRENCY = "newsbot"
_INGEST_CONCURRENCY = "newsbot-ingest"
_SWEEP_S = 3600


def build_app(bot: NewsBot, handoff: ServerLock | None = None, mcp: bool = False) -> gr.Blocks:
    """The gradio Blocks of the chat and the `/ask` API, over `bot`.

    With `handoff` (the lock this server holds on its data dir), an undocumented
    `/ingest_local` endpoint ingests local paths for a caller that shows the lock's
    secret: how `newsbot ingest` adds news to a data dir while this server runs on it.

    Behind a login the page is built without anything from the store (gradio embeds the
    built page's config in the login page too); the page load fills it in, logged in.

    With `mcp`, the documented endpoints are the ones an assistant should call, since
    gradio makes each of them an MCP tool: `/ask`, `/search`, `/brief`. The page's own
    `/chat` and `/add_news` stay callable but undocumented."""
    private = bot.settings.auth_pair() is not None
    stored = [] if private else metadatas(bot)
    questions = example_questions(stored)
    publishers = publishers_of(stored)
    names = [] if private else entity_choices(bot)
    act = Handlers(bot, handoff)
    page_api: Any = "undocumented" if mcp else "public"
    writers = act.writers

    # Uploads never added (a page closed before "Add news") go after an hour, and all
    # at shutdown; those added are deleted as soon as they are stored.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(_SWEEP_S, _SWEEP_S)) as demo:
        gr.Markdown(INTRO)
        corpus = gr.Markdown("" if private else act.summary(), elem_id="corpus-summary")
        with gr.Tab("Chat", elem_id="chat-tab"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="chat",
                    height=560,
                    # The reader starts an answer at its top: MARKER_JS keeps a new
                    # question at the top edge while its answer streams in below.
                    autoscroll=False,
                    latex_delimiters=[],  # "$5 ... $6" in news is money, not LaTeX
                    buttons=["copy", "copy_all"],
                    feedback_options=None,
                    examples=[{"text": q} for q in questions] or None,
                    # Behind a login the page load writes it, with the examples.
                    placeholder=None
                    if private
                    else render.chat_placeholder(len(stored), len(questions)),
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
                    only = gr.Dropdown(
                        choices=publishers,
                        value=[],
                        multiselect=True,
                        label="Only these publishers",
                    )
                    naming = _entity_picker(names, "entities")
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
        with gr.Tab("Brief", elem_id="brief-tab"):
            gr.Markdown(BRIEF_INTRO)
            with gr.Row():
                brief_since = gr.Textbox(
                    label="Published since", placeholder="YYYY-MM-DD", elem_id="brief-since"
                )
                brief_until = gr.Textbox(
                    label="Published until", placeholder="YYYY-MM-DD", elem_id="brief-until"
                )
            brief_naming = _entity_picker(names, "brief-entities")
            brief_go = gr.Button("Show the main stories", variant="primary", elem_id="brief-go")
            brief = gr.Markdown("", elem_id="brief", min_height=80)

        answer_slots: dict[str, Any] = {
            "concurrency_id": _CONCURRENCY,
            "concurrency_limit": bot.settings.answer_workers,
        }
        ingest_slot: dict[str, Any] = {
            "concurrency_id": _INGEST_CONCURRENCY,
            "concurrency_limit": 1,
        }
        inputs = [box, chatbot, since, until, only, as_of, writer, naming]
        outputs = [box, chatbot, panel]
        box.submit(
            act.chat,
            inputs,
            outputs,
            api_name="chat",
            api_visibility=page_api,
            show_progress="minimal",
            **answer_slots,
        )
        chatbot.example_select(example_text, None, box, api_visibility="private", queue=False).then(
            act.chat, inputs, outputs, api_visibility="private", **answer_slots
        )
        chatbot.clear(
            lambda: render.sources_html(None), None, panel, api_visibility="private", queue=False
        )
        chatbot.retry(
            act.retry,
            [chatbot, since, until, only, as_of, writer, naming],
            outputs,
            api_visibility="private",
            **answer_slots,
        )
        add.click(
            act.add_news,
            [uploads, urls],
            [report, corpus, only, uploads, urls, chatbot, naming, brief_naming],
            api_name="add_news",
            api_visibility=page_api,
            show_progress_on=report,
            **ingest_slot,
        )
        brief_go.click(
            act.show_brief,
            [brief_since, brief_until, brief_naming],
            brief,
            api_visibility="private",
            show_progress_on=brief,
            **answer_slots,
        )
        # Not queued: MCP then calls them in this process, under its own login, instead
        # of through an HTTP client of gradio's that has none; `Handlers` bounds them.
        gr.api(act.ask, api_name="ask", queue=False)
        gr.api(act.search, api_name="search", queue=False)
        gr.api(act.brief, api_name="brief", queue=False)
        if handoff is not None:
            gr.api(
                act.ingest_local,
                api_name=HANDOFF_API.lstrip("/"),
                api_visibility="undocumented",
                **ingest_slot,
            )
        # Fresh numbers on each page load: `newsbot ingest` may run while the chat serves.
        demo.load(
            lambda: loaded(act.summary(), metadatas(bot), entity_choices(bot)),
            None,
            [corpus, chatbot, only, naming, brief_naming],
            api_visibility="private",
            queue=False,
        )
    return demo


def _entity_picker(names: list[tuple[str, str]], elem_id: str) -> gr.Dropdown:
    """Companies, people, indices and tickers to keep the news to; any name may be typed,
    not only those listed ("9988.HK" finds the articles that write "Alibaba")."""
    return gr.Dropdown(
        choices=names,
        value=[],
        multiselect=True,
        allow_custom_value=True,
        label="Only news naming (companies, people, indices, tickers)",
        elem_id=elem_id,
    )
