"""The web chat of newsbot: a gradio app over `NewsBot`, plus a JSON API for programs.

Start it with `newsbot serve` (binds 127.0.0.1:7860 by default) or from Python::

    from bot import NewsBot, Settings
    from ui.server import serve
    serve(NewsBot(Settings(data_dir="/path/to/data")), host="127.0.0.1", port=7860)

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

import importlib.util
import signal
from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from bot.newsbot import NewsBot
from ingest.errors import BadSetting
from ui import guard, render, server_lock
from ui.guard import guards
from ui.layout import build_app
from ui.server_lock import ServerLock

MCP_PATH = "gradio_api/mcp/"  # gradio's MCP endpoint, streamable HTTP (…/sse: SSE)


def start(
    bot: NewsBot,
    host: str = "127.0.0.1",
    port: int = 7860,
    handoff: ServerLock | None = None,
    mcp: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> gr.Blocks:
    """Launch the web chat on http://host:port/ in the background; returns the app.

    Login is required when the `auth` setting (NEWSBOT_AUTH=user:password) is set;
    uploads above `max_upload_mb` are refused. A port that is taken raises BadSetting.
    `mcp`: also an MCP server (gradio's, at /gradio_api/mcp/) whose tools are ask,
    search and brief; it needs the `mcp` extra. Requests are answered only under this
    machine's own names, `host`'s and `allowed_hosts` (see `ui.guard`).
    """
    settings = bot.settings
    if mcp and importlib.util.find_spec("mcp") is None:
        raise BadSetting(
            "--mcp needs the MCP extra, which is not installed: pip install 'newsbot[mcp]'"
        )
    bot.warm_up()
    demo = build_app(bot, handoff, mcp).queue(default_concurrency_limit=1)
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
            mcp_server=mcp,
            app_kwargs={
                "middleware": guards(guard.allowed_hosts(host, allowed_hosts), settings.auth_pair())
            },
        )
    except OSError as error:
        raise BadSetting(f"cannot serve on {host}:{port}: {error}") from error
    return demo


def serve(
    bot: NewsBot,
    host: str = "127.0.0.1",
    port: int = 7860,
    mcp: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Start the web chat and block until interrupted (Ctrl-C or SIGTERM).

    It claims the data dir (`ui.server_lock`) for as long as it runs, so that
    `newsbot ingest` there hands its news to this process instead of writing beside it.
    """
    data_dir = Path(bot.settings.data_dir)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    lock = server_lock.claim(data_dir, f"http://{local}:{port}/")
    # SIGTERM (a service manager's stop) ends it as Ctrl-C does: the lock is released
    # and gradio deletes the uploads it still holds.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        demo = start(bot, host, port, handoff=lock, mcp=mcp, allowed_hosts=allowed_hosts)
        print(f"newsbot web chat on {demo.local_url}  (API: /ask; Ctrl-C to stop)", flush=True)
        names = ", ".join(guard.allowed_hosts(host, allowed_hosts))
        print(f"answering requests addressed to: {names} (more: --allowed-host)", flush=True)
        if mcp:
            print(f"MCP server (streamable HTTP): {demo.local_url}{MCP_PATH}", flush=True)
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    finally:
        server_lock.release(data_dir, lock)
