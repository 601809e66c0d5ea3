"""newsbot: answers about market news, with numbered citations, offline.

`from bot import NewsBot` is the whole public API; see `NewsBot` for an example.
"""

from bot.newsbot import NewsBot
from bot.settings import Settings
from bot.types import Answer, Source

__all__ = ["Answer", "NewsBot", "Settings", "Source"]
