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


# Terminal escape sequences, each removed whole so that "\x1b[31mRed" reads "Red", not
# "[31mRed": CSI (ESC [, parameters, a final byte), the strings OSC, DCS and the like
# (ESC ] P X ^ _) up to BEL or ST, and two-character ESC codes. A string's body stops
# at any control character, so an unterminated one eats no text. The one-character C1
# forms (U+009B for CSI) are left to `_CONTROL`, which takes only the character:
# Windows-1252 text read as Latin-1 has them for "›", "œ", "Ÿ", and the words after
# them must stay.
_ESCAPE = re.compile(
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|\x1b[\]PX^_][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"
)
# Every other control character but tab and newline: C0, DEL and C1. Never text, and a
# terminal acts on them (bell, carriage return, 8-bit escapes).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` as a terminal shows it, acting on nothing: escape sequences removed, other
    control characters but tab and newline each a space (a form feed between two words
    must not join them). Stored news goes through it on the way in, and what the CLI
    prints on the way out, since a store written before may hold anything."""
    return _CONTROL.sub(" ", _ESCAPE.sub("", text))


def clean_text(text: str) -> str:
    """Unicode-normalise, drop control characters and page furniture, and collapse
    whitespace within lines."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = printable(text)
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
