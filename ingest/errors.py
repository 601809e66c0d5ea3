"""The errors a user can cause and fix: each message names the item and the fix.

Everything else that goes wrong is a bug and raises as itself, with its traceback. The
CLI prints a `NewsbotError` as one line and exits with status 2; the web chat shows it
as a plain message. Each class is also a `ValueError`, as these errors were before
they had a family, so that older callers catching `ValueError` keep working.

Defined in `ingest`, the lowest layer, because the encoders and the index raise them
too; `from bot import NewsbotError` is the public name.
"""

from __future__ import annotations


class NewsbotError(ValueError):
    """Something the user gave or configured is wrong; the message says how to fix it."""


class BadSetting(NewsbotError):
    """A setting (flag, `NEWSBOT_*` variable or `Settings` field) has an unusable value."""


class BadDate(NewsbotError):
    """A date given to filter or anchor the news is not a date."""


class BadInput(NewsbotError):
    """A file, folder, URL or question set cannot be read as what it claims to be."""


class ModelUnavailable(NewsbotError):
    """A model's files or its optional packages are missing or altered."""


class StoreUnavailable(NewsbotError):
    """The Chroma server cannot be reached; the message names it and how to fix that."""
