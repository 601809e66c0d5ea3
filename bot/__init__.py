"""newsbot: answers about market news, with numbered citations, offline.

`from bot import NewsBot` is the whole public API; see `NewsBot` for an example.
"""

from importlib.metadata import PackageNotFoundError, version

from bot.newsbot import NewsBot
from bot.settings import Settings
from bot.types import Answer, Source

try:
    __version__ = version("newsbot")  # one place for it: pyproject.toml
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"

__all__ = ["Answer", "NewsBot", "Settings", "Source", "__version__"]
