"""Sentence-preserving chunking; every chunk carries its article's title."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.sentences import split_sentences


@dataclass(frozen=True)
class Chunk:
    n: int
    text: str

    def embedding_text(self, title: str) -> str:
        """What the encoder sees: the title gives a lone chunk its subject."""
        return f"{title}\n{self.text}" if title else self.text


def chunk_text(text: str, size: int, overlap: int, max_chars: int) -> list[Chunk]:
    """Pack whole sentences into chunks of about `size` characters.

    The next chunk starts with the previous chunk's last sentences that fit in
    `overlap` characters, so a fact split across a boundary is still found whole.
    A sentence longer than `size` becomes a chunk of its own rather than being cut,
    up to `max_chars`: past that (a table, a line with no sentence end) it is cut at
    spaces, or anywhere when it has none, so no chunk is ever longer.
    """
    sentences = [piece for s in split_sentences(text) for piece in _pieces(s, max_chars)]
    chunks: list[Chunk] = []
    current: list[str] = []
    length = 0
    carried = 0  # sentences at the start of `current` that repeat the previous chunk
    for sentence in sentences:
        if current and length + len(sentence) + 1 > size and len(current) > carried:
            chunks.append(Chunk(len(chunks), " ".join(current)))
            current, length = _overlap_tail(current, overlap)
            carried = len(current)
        current.append(sentence)
        length += len(sentence) + 1
    if len(current) > carried or (not chunks and current):
        chunks.append(Chunk(len(chunks), " ".join(current)))
    return chunks


def _pieces(sentence: str, max_chars: int) -> list[str]:
    """The sentence in pieces of at most `max_chars`, cut at the last space that fits."""
    pieces = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        pieces.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    return [*pieces, sentence] if sentence else pieces


def _overlap_tail(sentences: list[str], overlap: int) -> tuple[list[str], int]:
    tail: list[str] = []
    length = 0
    for sentence in reversed(sentences[1:]):
        if length + len(sentence) + 1 > overlap:
            break
        tail.insert(0, sentence)
        length += len(sentence) + 1
    return tail, length
