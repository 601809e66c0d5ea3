"""newsbot as a LangChain retriever: LangChain's own standard retriever tests, and the
retriever inside a chain, over the real store of the sample news."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

from bot import NewsBot
from bot.langchain_retriever import NewsRetriever


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    """The standard suite builds retrievers itself, from these parameters."""

    newsbot: NewsBot

    @pytest.fixture(autouse=True)
    def _the_bot(self, sample_bot: NewsBot) -> None:
        type(self).newsbot = sample_bot

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"newsbot": self.newsbot, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "Who raised Hang Seng targets?"


def test_documents_carry_what_cites_them(sample_bot: NewsBot) -> None:
    retriever = sample_bot.as_retriever(k=3, entities=["9988.HK"], since="2025-02-01")
    documents = retriever.invoke("How much will be invested in AI infrastructure?")
    assert len(documents) == 3
    first = documents[0]
    assert "380 billion yuan" in first.page_content
    wanted = {"title", "publisher", "url", "published", "article_id", "chunk_id", "score"}
    assert wanted <= set(first.metadata)
    assert first.metadata["chunk_id"].startswith(first.metadata["article_id"] + ":")
    assert all(d.metadata["published"] >= "2025-02-01" for d in documents)


def test_create_retrieval_chain_takes_it_unchanged(sample_bot: NewsBot) -> None:
    """LangChain's own retrieval chain; the step that would call a language model here
    lists the passages it was given, with their publishers (no model runs in this test)."""
    from langchain_classic.chains import create_retrieval_chain

    def cite(inputs: dict[str, Any]) -> str:
        documents: list[Document] = inputs["context"]
        return "\n".join(f"[{d.metadata['publisher']}] {d.page_content}" for d in documents)

    chain = create_retrieval_chain(sample_bot.as_retriever(k=2), RunnableLambda(cite))
    result = chain.invoke({"input": "Who raised Hang Seng targets?"})
    assert len(result["context"]) == 2
    assert result["answer"].count("\n") == 1 and "target" in result["answer"]
