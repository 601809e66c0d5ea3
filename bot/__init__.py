"""newsbot: answers about market news, with numbered citations, offline.

`from bot import NewsBot` is the whole public API; see `NewsBot` for an example. The
errors a user can fix all derive from `NewsbotError`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from bot.types import Answer, AnswerStream, Passage, Source, Turn
from ingest.errors import (
    BadDate,
    BadInput,
    BadSetting,
    ModelUnavailable,
    NewsbotError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from bot.newsbot import NewsBot

try:
    __version__ = version("newsbot")  # one place for it: pyproject.toml
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"


def __getattr__(name: str) -> Any:
    """`NewsBot` on first use (PEP 562): it brings Chroma, ONNX Runtime and LangChain
    (about 1 s), which `newsbot --help` and `import bot.settings` do not need."""
    if name == "NewsBot":
        from bot.newsbot import NewsBot

        return NewsBot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Answer",
    "AnswerStream",
    "BadDate",
    "BadInput",
    "BadSetting",
    "ModelUnavailable",
    "NewsBot",
    "NewsbotError",
    "Passage",
    "Settings",
    "Source",
    "StoreUnavailable",
    "Turn",
    "__version__",
]
