"""Text normalisation and the content hash that makes ingest idempotent."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Cross-links and page furniture that news sites put inside article bodies; left in,
# they become "sentences" that the answerer could quote.
_FURNITURE = re.compile(
    r"^\s*(?:READ MORE|ALSO READ|RELATED(?: STORIES)?|SEE ALSO|Advertisement|"
    r"Sign up\b|Subscribe\b|Click here\b)[:\s].*$|^\s*Advertisement\s*$",
    re.IGNORECASE | re.MULTILINE,
)


# Control characters (NUL and the like) other than tab and newline: never text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Unicode-normalise, drop control characters and page furniture, and collapse
    whitespace within lines."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    text = _FURNITURE.sub("", text)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_line(text: str) -> str:
    """A title or a publisher's name: cleaned like text, on one line."""
    return " ".join(clean_text(text).split())


def content_hash(text: str) -> str:
    """Article id: the same story with other whitespace or case is the same article."""
    normalised = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]
