"""newsbot as a LangChain retriever: `NewsBot.as_retriever()` plugs the news into the
chains LangChain users already have (`create_retrieval_chain` and friends).

It passes LangChain's standard retriever tests (`langchain-tests`,
`RetrieversIntegrationTests`, run by `make test`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class NewsRetriever(BaseRetriever):
    """The passages of the stored news that best match a query, as `Document`s whose
    metadata cites them: title, publisher, url, published (YYYY-MM-DD or None),
    article_id, chunk_id, score.

    >>> retriever = nb.as_retriever(k=4, entities=["Alibaba"])   # doctest: +SKIP
    >>> retriever.invoke("How much will Alibaba invest in AI?")  # doctest: +SKIP
    """

    newsbot: Any
    """The `NewsBot` searched (typed loosely: it is the class that builds retrievers)."""
    k: int = 4
    since: date | str | None = None
    until: date | str | None = None
    as_of: date | str | None = None
    publishers: list[str] | None = None
    entities: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """`k` here overrides the retriever's own for one call (`invoke(q, k=2)`)."""
        found = self.newsbot.search(
            query,
            k=k or self.k,
            since=self.since,
            until=self.until,
            as_of=self.as_of,
            publishers=self.publishers,
            entities=self.entities,
        )
        documents = []
        for passage in found:
            metadata = passage.to_dict()
            documents.append(Document(page_content=metadata.pop("text"), metadata=metadata))
        return documents
