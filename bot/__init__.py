"""newsbot: answers about market news, with numbered citations, offline.

`from bot import NewsBot` is the whole public API; see `NewsBot` for an example. The
errors a user can fix all derive from `NewsbotError`.
"""

from importlib.metadata import PackageNotFoundError, version

from bot.newsbot import NewsBot
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

try:
    __version__ = version("newsbot")  # one place for it: pyproject.toml
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"

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
