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


def clean_text(text: str) -> str:
    """Unicode-normalise, drop page furniture, and collapse whitespace within lines."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _FURNITURE.sub("", text)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def content_hash(text: str) -> str:
    """Article id: the same story with other whitespace or case is the same article."""
    normalised = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]
