"""newsbot as an MCP server (`newsbot serve --mcp`), reached by a real MCP client: the
`mcp` package's own client over gradio's streamable-HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot import NewsBot
from tests.conftest import SEED_QUESTION, free_port

pytestmark = pytest.mark.slow  # a running web app


@pytest.fixture(scope="module")
def mcp_url(bot: NewsBot) -> Iterator[str]:
    from ui.server import MCP_PATH, start

    demo = start(bot, "127.0.0.1", free_port(), mcp=True)
    try:
        yield f"{demo.local_url}{MCP_PATH}"
    finally:
        demo.close()


def over_mcp(url: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[Any, list[Any]]:
    """The server's tools, and the result of each call, from one client session."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> tuple[Any, list[Any]]:
        async with (
            streamable_http_client(url) as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = await client.list_tools()
            results = [await client.call_tool(name, arguments) for name, arguments in calls]
            return tools, results

    return asyncio.run(session())


def text_of(result: Any) -> str:
    assert not result.isError, result
    return "\n".join(part.text for part in result.content if getattr(part, "text", None))


def test_an_mcp_client_lists_the_tools_and_gets_cited_answers(mcp_url: str) -> None:
    tools, (answer, passages) = over_mcp(
        mcp_url,
        [
            ("ask", {"question": SEED_QUESTION}),
            ("search", {"query": "Hang Seng index target", "k": 3}),
        ],
    )
    described = {tool.name: tool for tool in tools.tools}
    assert {"ask", "search", "brief"} <= set(described), set(described)
    assert not {"chat", "add_news"} & set(described)  # the page's own endpoints
    assert "cit" in described["ask"].description  # the docstring is the description
    assert "publishers" in json.dumps(described["ask"].inputSchema)
    text = text_of(answer)
    for fact in ("Morgan Stanley", "24,000", "Citi"):  # the seed article's own words
        assert fact in text, text
    assert "[1]" in text and "https://" in text  # markers, and the sources they cite
    found = text_of(passages)
    assert found.count("chunk_id") == 3 and "Hang Seng" in found
