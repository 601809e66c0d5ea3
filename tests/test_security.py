"""A served chat against someone who wants in: real `newsbot serve` processes, reached by
real HTTP and MCP clients, and the web handler fed hostile input under an audit hook.

The oracles are this machine's own: which files the process opened (Python's audit
events), what the server's store holds afterwards, and the HTTP status a request got.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio / gradio_client imports

import asyncio
import base64
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import NewsBot, Settings
from tests.conftest import SAMPLE_NEWS, SEED_QUESTION, serving, sharing_models, stop

pytestmark = [
    pytest.mark.slow,  # running web apps
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

SECRET = "Quokkaledger"
LOGIN = ("analyst", "s3cret")
ALLOWED = "news.internal"


# Files and folders opened while a test watches (Python's audit events, process-wide).
_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    watched = _opened is not None and event in ("open", "os.listdir", "os.scandir")
    if watched and args and isinstance(args[0], str | bytes | os.PathLike):
        assert _opened is not None
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def secret_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the server's user that no visitor may read."""
    folder = tmp_path_factory.mktemp("private-notes")
    (folder / "notes.txt").write_text(
        f"The {SECRET} memo says Quokka Holdings hides a 99 percent margin, the CFO said.\n",
        encoding="utf-8",
    )
    return folder


def _served_store(bot: NewsBot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("served")
    assert sharing_models(bot, Settings(data_dir=data)).ingest([SAMPLE_NEWS]).ok
    return data


@pytest.fixture(scope="module")
def open_chat(sample_bot: NewsBot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served chat with no login, as most people run it, allowing one more name."""
    data = _served_store(sample_bot, tmp_path_factory)
    with serving(data, data / "serve.log", serve_flags=["--allowed-host", ALLOWED]) as (_, url):
        yield url


@pytest.fixture(scope="module")
def guarded_chat(sample_bot: NewsBot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served chat with a login (NEWSBOT_AUTH) and the MCP server."""
    data = _served_store(sample_bot, tmp_path_factory)
    env = {"NEWSBOT_AUTH": ":".join(LOGIN)}
    with serving(data, data / "serve.log", serve_flags=["--mcp"], env=env) as (_, url):
        yield url


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


# 1. What a web visitor sends never reaches the code that reads local paths.


def _tricks(folder: Path) -> list[str]:
    up = "../" * 16
    return [
        f"HTTP://x/{up}{folder}/",
        f"hTtPs://x/{up}{folder}/notes.txt",
        f"HTTP:{up}{folder}",
        f"http:/{folder}/notes.txt",
        f"file://{folder}/notes.txt",
        f"FILE:{folder}",
        str(folder),
        f"{folder}/notes.txt",
        f"HTTP://x/{'%2e%2e/' * 16}{folder}/notes.txt",
        f"HTTP://x\\..\\..\\{folder}",
        f"{folder}/notes.txt\x00.html",
    ]


def test_links_typed_in_the_chat_never_read_the_servers_disk(
    open_chat: str, secret_dir: Path
) -> None:
    client = _client(open_chat)
    report = client.predict(None, "\n".join(_tricks(secret_dir)), api_name="/add_news")[0]
    assert "**Added 0**" in report, report
    found = client.predict(SECRET, 5, "", "", [], [], api_name="/search")
    assert not [p for p in found if SECRET in p["text"]], found
    # The reply is the same whether the folder exists or not: it tells nothing of the disk.
    missing = secret_dir.with_name("no-such-folder")
    other = client.predict(None, "\n".join(_tricks(missing)), api_name="/add_news")[0]
    assert _unclocked(other, missing.name) == _unclocked(report, secret_dir.name)


def _unclocked(report: str, folder: str) -> str:
    """The report with the folder's name and the time it took taken out."""
    return re.sub(r"in [0-9.]+ s\b", "in T s", report.replace(folder, "F"))


_SCHEMES = st.sampled_from(["http", "HTTP", "hTtPs", "file", "FILE", "", "ftp", "javascript"])
_SEPARATORS = st.sampled_from(["://", ":/", ":", ":///", ":\\\\", "//", ""])
_HOSTS = st.sampled_from(["x", "", "127.0.0.1", "localhost", "[::1]"])
_UP = st.sampled_from(["../", "..\\", "%2e%2e/", "%2E%2E%2F", ".%2e/", "..%2f", "....//"])
_TAILS = st.sampled_from(["", "/", "/notes.txt", "\\notes.txt", "/notes.txt\x00.html", "%00"])


@st.composite
def _hostile_lines(draw: st.DrawFn, folder: str) -> str:
    place = draw(st.sampled_from([folder, folder.replace("/", "\\"), folder.replace("/", "%2f")]))
    up = draw(_UP) * draw(st.integers(0, 20))
    start = draw(_SCHEMES) + draw(_SEPARATORS) + draw(_HOSTS)
    return f"{start}/{up}{place.lstrip('/')}{draw(_TAILS)}"


@pytest.fixture(scope="module")
def handlers(sample_bot: NewsBot, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ui.handlers import Handlers

    return Handlers(sharing_models(sample_bot, Settings(data_dir=tmp_path_factory.mktemp("web"))))


def test_no_odd_link_is_read_from_disk(handlers: Any, secret_dir: Path) -> None:
    """Odd schemes and case, `..`, `%2e%2e`, `file:`, backslashes and NUL bytes, typed
    into the links box: the handler opens nothing in the folder they point at."""
    global _opened

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=st.lists(_hostile_lines(str(secret_dir)), min_size=1, max_size=4))
    @example(lines=[f"HTTP://x/{'../' * 16}{str(secret_dir).lstrip('/')}/"])
    def check(lines: list[str]) -> None:
        global _opened
        _opened = []
        try:
            report = handlers.add_news(None, "\n".join(lines))[0]
        finally:
            seen, _opened = _opened, None
        assert not [path for path in seen if secret_dir.name in path], (lines, seen)
        assert "**Added 0**" in report or report.startswith("Choose"), report

    check()


# 2. Only this machine's names (and those allowed) reach the chat; only its own pages drive it.


def test_a_rebound_name_gets_400_and_allowed_names_get_the_chat(open_chat: str) -> None:
    port = urlsplit(open_chat).port

    def status(host: str, path: str = "") -> int:
        return httpx.get(f"{open_chat}{path}", headers={"Host": host}, timeout=30).status_code

    for outside in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}"):
        assert status(outside) == 400, outside
        assert status(outside, "config") == 400, outside
    for own in (f"127.0.0.1:{port}", f"localhost:{port}", f"{ALLOWED}:{port}"):
        assert status(own) == 200, own


def test_another_origin_cannot_ask_or_add_news(open_chat: str) -> None:
    port = urlsplit(open_chat).port
    ask = {"data": [SEED_QUESTION, "", "", "", [], []]}
    for foreign in ("http://attacker.example", f"http://127.0.0.1:{port + 1}", "null"):
        sent = httpx.post(
            f"{open_chat}gradio_api/run/ask", json=ask, headers={"Origin": foreign}, timeout=60
        )
        assert sent.status_code == 403, (foreign, sent.text)
        added = httpx.post(
            f"{open_chat}gradio_api/call/add_news",
            json={"data": [None, "https://example.com/a"]},
            headers={"Origin": foreign},
            timeout=60,
        )
        assert added.status_code == 403, (foreign, added.text)
    own = httpx.post(
        f"{open_chat}gradio_api/run/ask",
        json=ask,
        headers={"Origin": f"http://127.0.0.1:{port}"},
        timeout=120,
    )
    assert own.status_code == 200 and "Morgan Stanley" in own.text, own.text


# 5. MCP asks for the chat's login (HTTP Basic) and works with it.


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _over_mcp(url: str, headers: dict[str, str]) -> tuple[list[str], str]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> tuple[list[str], str]:
        async with (
            httpx.AsyncClient(headers=headers, timeout=120) as http,
            streamable_http_client(url, http_client=http) as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("ask", {"question": SEED_QUESTION})
            assert not result.isError, result
            text = "\n".join(getattr(part, "text", "") for part in result.content)
            return tools, text

    return asyncio.run(session())


def test_mcp_needs_the_login_and_works_with_it(guarded_chat: str) -> None:
    from ui.server import MCP_PATH

    url = f"{guarded_chat}{MCP_PATH}"
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, _basic("analyst", "wrong"), _basic("someone", LOGIN[1])):
        listed = httpx.post(url, json=hello, headers={**accept, **headers}, timeout=30)
        assert listed.status_code == 401, listed.text
        assert "ask" not in listed.text
        assert httpx.get(f"{url}schema", headers=headers, timeout=30).status_code == 401
    tools, answer = _over_mcp(url, _basic(*LOGIN))
    assert {"ask", "search", "brief"} <= set(tools)
    assert "Morgan Stanley" in answer and "[1]" in answer, answer


# 11. Guessing the login: after 5 failures from one address, that address waits.


def test_failed_logins_make_the_address_wait_twice_as_long_each_time(guarded_chat: str) -> None:
    # From an address of its own (127.0.0.2), so other tests' logins are not held up.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as guesser:

        def login(password: str) -> httpx.Response:
            form = {"username": LOGIN[0], "password": password}
            return guesser.post(f"{guarded_chat}login", data=form)

        assert [login(f"guess{n}").status_code for n in range(5)] == [400] * 5
        held = login(LOGIN[1])  # even the right password waits now
        assert held.status_code == 429, held.text
        wait = int(held.headers["retry-after"])
        assert wait >= 1
        time.sleep(wait + 0.5)
        assert login("guess6").status_code == 400
        assert int(login(LOGIN[1]).headers["retry-after"]) >= 2 * wait  # doubled
    form = {"username": LOGIN[0], "password": LOGIN[1]}
    # Another address logs in meanwhile.
    assert httpx.post(f"{guarded_chat}login", data=form, timeout=30).is_success


# 14. Uploads are deleted: at once when added, and at shutdown when never added.


def test_an_upload_never_added_is_deleted_when_the_server_stops(
    sample_bot: NewsBot, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = _served_store(sample_bot, tmp_path_factory)
    with serving(data, data / "serve.log") as (server, url):
        story = data / "abandoned.txt"
        story.write_text("Left behind: an upload whose page was closed.", encoding="utf-8")
        with story.open("rb") as file:
            sent = httpx.post(f"{url}gradio_api/upload", files={"files": file}, timeout=30)
        (copy,) = [Path(p) for p in sent.json()]
        assert copy.is_file()
        stop(server)
    assert not copy.exists()
