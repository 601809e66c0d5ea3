"""Text for the web chat: corpus summary, answers and source cards.

Plain functions of newsbot data (no gradio), so they are easy to test. Everything that
comes from an article (titles, publishers, passages, even the answer, which is made of
article sentences) is untrusted: it is HTML-escaped, and markdown syntax in it is
neutralised so that an article cannot inject links, images or formatting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot.types import Answer, Source
from ingest.sources.items import WebUrl, web_url

EMPTY_CORPUS_NOTE = (
    "No news has been ingested yet, so there are no example questions. "
    "Add some with `newsbot ingest PATH_OR_URL` and reload this page."
)

# Citation markers such as [1] or [1, 2] stay as they are; other markdown syntax is escaped.
_MARKER = r"\[\d+(?:,\s*\d+)*\]"
_MD_TOKEN = re.compile(rf"({_MARKER})|([\\*_~\[\]()#|!$])")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
# gradio keeps each upload as <temp dir>/gradio/<sha256>/<file name>.
_UPLOADED = re.compile(r"[\\/]gradio[\\/][0-9a-f]{32,}[\\/]")


def md_text(text: str) -> str:
    """`text` for a markdown message: HTML-escaped, markdown punctuation backslashed."""

    def escape(match: re.Match[str]) -> str:
        return match.group(1) or "\\" + match.group(2)

    return _MD_TOKEN.sub(escape, html.escape(text, quote=False))


def html_text(text: str) -> str:
    """`text` for HTML: escaped, including the characters template engines act on."""
    escaped = html.escape(text, quote=True)
    for char, entity in (("{", "&#123;"), ("}", "&#125;"), ("$", "&#36;"), ("`", "&#96;")):
        escaped = escaped.replace(char, entity)
    return escaped.replace("\\", "&#92;")


def safe_url(url: str) -> str:
    """`url` when it is an http(s) link, else "" (no `javascript:`, no local paths)."""
    link = web_url(url)
    return quote(link.text, safe=":/?#[]@!&'*+,;=%~-._") if link else ""


def local_path(url: str) -> str:
    """The file a `file:` URL or bare path names (shown as text, never linked), else "".

    A file uploaded through the page shows as its own name: the server's temporary copy
    (gradio's upload folder) means nothing to the reader."""
    url = url.strip()
    upload = _UPLOADED.search(url)
    if upload:
        return f"uploaded file {url[upload.end() :]}"
    if url.lower().startswith("file:"):
        return url
    return url if url.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", url) else ""


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


# ----------------------------------------------------------------------- corpus


def corpus_summary(stats: Mapping[str, Any]) -> str:
    """One markdown line: how many articles, from which publishers, over which dates."""
    articles = int(stats.get("articles") or 0)
    if articles == 0:
        return "**No news ingested yet.** Add some with `newsbot ingest PATH_OR_URL`."
    publishers: dict[str, int] = dict(stats.get("publishers") or {})
    named = [name for name in publishers if name and name != "unknown"]
    shown = ", ".join(md_text(name) for name in named[:4])
    if len(named) > 4:
        shown += f" and {len(named) - 4} more"
    head = f"**{articles} article{'s' if articles != 1 else ''}**"
    if named:
        head += f" from {len(named)} publisher{'s' if len(named) != 1 else ''} ({shown})"
    parts = [head]
    first, last = stats.get("first_published"), stats.get("last_published")
    if first and last:
        parts.append(f"published {first} to {last}" if first != last else f"published {first}")
    undated = int(stats.get("undated_articles") or 0)
    if undated:
        parts.append(f"{undated} undated")
    feeds: dict[str, Any] = dict(stats.get("feeds") or {})
    if feeds:
        parts.append("feeds: " + ", ".join(_feed_read(url, feed) for url, feed in feeds.items()))
    return " · ".join(parts)


def chat_placeholder(articles: int, questions: int) -> str:
    """The empty chat's note: how to begin, or that there is no news to ask about (a
    corpus can hold articles and still offer no example question: undated, unnamed)."""
    if not articles:
        return EMPTY_CORPUS_NOTE
    return "**Ask about the news**" + (
        ", or pick one of the example questions." if questions else "."
    )


def _feed_read(url: str, feed: Mapping[str, Any]) -> str:
    """ "news.example.com/feed.xml read 2025-02-21 08:15 UTC" (or why it could not be)."""
    where = md_text(url.split("://", 1)[-1])
    read = str(feed.get("last_read") or "")
    when = f"read {read[:16].replace('T', ' ')} UTC" if read else "not read yet"
    error = str(feed.get("last_error") or "")
    return f"{where} {when}" + (f" (last try failed: {md_text(error)})" if error else "")


# ----------------------------------------------------------------------- answers


def linked_markers(markdown: str) -> str:
    """`[2]` markers as links to their source cards (`#nb-source-2`); a click on one
    scrolls to its card and highlights it (see `MARKER_JS`)."""

    def link(match: re.Match[str]) -> str:
        numbers = re.findall(r"\d+", match.group(0))
        return "".join(f"[[{n}]](#{card_id(int(n))})" for n in numbers)

    return re.sub(_MARKER, link, markdown)


# The uncited sources are numbered after the cited ones, in retrieval's order, so the
# lowest-numbered of them are the nearest misses; all of them buried the cited ones (an
# answer on Hang Seng targets came with 15 cards, 8 of them uncited: the ECB, the Fed,
# the Bank of England).
MAX_RELATED = 3


def card_id(n: int) -> str:
    return f"nb-source-{n}"


def chat_markdown(answer: Answer) -> str:
    """The chat message: the answer alone, its markers linked to the cards of the sources
    panel, which is the one list of sources (beside the chat, or under it on a narrow
    screen)."""
    text = linked_markers(md_text(answer.text))
    if answer.searched:
        text += f"\n\n*Searched for: {md_text(answer.searched)}*"
    if answer.abstained and answer.sources and not answer.cited_sources:
        text += "\n\n*The closest articles, none of which answers it, are under Sources.*"
    return text


def answer_markdown(answer: Answer) -> str:
    """An answer shown without the sources panel (the Brief tab): the text, then the
    cited sources with their quoted passages. Its markers stay plain text: the panel's
    cards they would link to belong to the chat's latest answer."""
    text = md_text(answer.text)
    if answer.searched:
        text += f"\n\n*Searched for: {md_text(answer.searched)}*"
    cited = answer.cited_sources
    if answer.abstained and answer.sources and not cited:
        related = [f"- {_source_line(source)}" for source in answer.sources]
        return "\n".join(
            [text, "", "**The closest articles** (none of them answers it)", "", *related]
        )
    if not cited:
        return text
    lines = [text, "", "**Sources**", ""]
    for source in cited:
        lines.append(f"- {_source_line(source)}")
        lines.append(f"  > “{md_text(_one_line(source.quote))}”")
    return "\n".join(lines)


def _source_line(source: Source) -> str:
    title = md_text(_one_line(source.title) or "Untitled")
    url = safe_url(source.url)
    head = f"**[{source.n}]** [{title}]({url})" if url else f"**[{source.n}] {title}**"
    details = [md_text(source.publisher) if source.publisher else "unknown publisher"]
    details.append(source.published.isoformat() if source.published else "undated")
    path = "" if url else local_path(source.url)
    if path:
        details.append(f"`{path.replace('`', '')}`")
    return f"{head} — {', '.join(details)}"


def sources_html(answer: Answer | None) -> str:
    """The sources panel: the cited sources in marker order, each with its quote marked,
    then at most `MAX_RELATED` related ones (uncited, the best matches first) in a fold;
    open when nothing was cited, as they are then all there is to show."""
    if answer is None:
        return _panel("<p class='nb-empty'>Sources of the latest answer appear here.</p>")
    if not answer.sources:
        return _panel("<p class='nb-empty'>No sources for this answer.</p>")
    cited = sorted(answer.cited_sources, key=lambda s: s.n)
    related = sorted((s for s in answer.sources if not s.cited), key=lambda s: s.n)
    related = related[:MAX_RELATED]
    cards = [source_card(s) for s in cited]
    if related:
        fold = "<details class='nb-related'>" if cited else "<details class='nb-related' open>"
        cards.append(
            f"{fold}<summary>Related articles ({len(related)})</summary>"
            + "".join(source_card(s) for s in related)
            + "</details>"
        )
    return _panel("\n".join(cards))


def message_html(message: str) -> str:
    return _panel(f"<p class='nb-empty'>{html_text(message)}</p>")


def _panel(body: str) -> str:
    return f"<div class='nb-sources'>{body}</div>"


def source_card(source: Source) -> str:
    title = html_text(_one_line(source.title) or "Untitled")
    url = safe_url(source.url)
    if url:
        title = f"<a href='{html_text(url)}' target='_blank' rel='noopener noreferrer'>{title}</a>"
    meta = [html_text(source.publisher) if source.publisher else "unknown publisher"]
    meta.append(source.published.isoformat() if source.published else "undated")
    meta.append("cited" if source.cited else "related, not cited")
    path = "" if url else local_path(source.url)
    local = f"<div class='nb-local'>{html_text(path)}</div>" if path else ""
    kind = "nb-card nb-cited" if source.cited else "nb-card"
    return (
        f"<div class='{kind}' id='{card_id(source.n)}'>"
        f"<div class='nb-title'><span class='nb-n'>[{source.n}]</span> {title}</div>"
        f"<div class='nb-meta'>{' · '.join(meta)}</div>{local}"
        f"<div class='nb-text'>{highlight(source.text, source.quote)}</div>"
        "</div>"
    )


def highlight(text: str, quote_text: str) -> str:
    """Escaped `text` with the sentences of `quote_text` wrapped in <mark>."""
    spans = _quote_spans(text, quote_text)
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(html_text(text[position:start]))
        out.append(f"<mark>{html_text(text[start:end])}</mark>")
        position = end
    out.append(html_text(text[position:]))
    marked = "".join(out)
    if quote_text.strip() and not spans:  # quote not found verbatim: show it on its own
        marked = f"<mark>{html_text(_one_line(quote_text))}</mark><br>{marked}"
    return marked


def _quote_spans(text: str, quote_text: str) -> list[tuple[int, int]]:
    sentences = [s for s in _SENTENCE_END.split(_one_line(quote_text)) if s]
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        pattern = r"\s+".join(re.escape(word) for word in sentence.split())
        for match in re.finditer(pattern, text):
            spans.append(match.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


PANEL_CSS = """
.nb-sources { display: flex; flex-direction: column; gap: 0.6rem; }
.nb-empty { color: var(--body-text-color-subdued); margin: 0.5rem 0; }
.nb-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.6rem 0.75rem; background: var(--background-fill-secondary); }
.nb-card.nb-cited { border-left: 4px solid var(--color-accent); }
.nb-title { font-weight: 600; }
.nb-n { color: var(--body-text-color-subdued); margin-right: 0.25rem; }
.nb-meta, .nb-local { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0.15rem 0; }
.nb-local { font-family: var(--font-mono); word-break: break-all; }
.nb-text { font-size: 0.9em; max-height: 14rem; overflow-y: auto; margin-top: 0.35rem;
  line-height: 1.45; }
.nb-text mark { background: #fde68a; color: #111; padding: 0 0.1em; border-radius: 2px; }
.nb-card.nb-flash { outline: 3px solid var(--color-accent); outline-offset: 2px; }
.nb-related > summary { cursor: pointer; color: var(--body-text-color-subdued); }
.nb-related[open] > summary { margin-bottom: 0.6rem; }
.nb-related .nb-card + .nb-card { margin-top: 0.6rem; }
"""

# The page's script (gradio runs it once, on load), two jobs:
# - A click on a `[n]` marker in the chat scrolls to card n and highlights it. Capturing
#   the click first keeps the chat from opening the "#nb-source-n" link in a new tab.
# - A new question's answer is read from its start. The chat does not follow the bottom
#   (`autoscroll=False`, else a long answer scrolls away while it streams); instead the
#   question is brought to the chat's top edge, its answer under it, and held there
#   while the answer grows until the chat can scroll that far. A question taller than a
#   third of the chat shows its last third. Scrolling or touching the chat lets go.
MARKER_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href*='#nb-source-']");
    if (!link) return;
    const card = document.getElementById(link.getAttribute("href").split("#").pop());
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    document.querySelectorAll(".nb-flash").forEach((el) => el.classList.remove("nb-flash"));
    card.classList.add("nb-flash");
    card.scrollIntoView({ behavior: "smooth", block: "center" });
  }, true);

  let held = null;  // the row of the question being held at the top
  let asking = false;  // the last row is a question, its answer not begun
  const hold = () => {
    const chat = document.querySelector("#chat .bubble-wrap");
    const rows = chat ? chat.querySelectorAll(".message-row") : [];
    const last = rows[rows.length - 1];
    const question = Boolean(last) && last.classList.contains("user-row");
    if (question && !asking) held = last;
    asking = question;
    if (!held?.isConnected) return;
    const box = chat.getBoundingClientRect();
    const row = held.getBoundingClientRect();
    const top = Math.max(row.top, row.bottom - box.height / 3) - box.top - 8;
    const wanted = chat.scrollTop + top;
    chat.scrollTop = wanted;
    if (chat.scrollTop >= wanted - 1) held = null;
  };
  new MutationObserver(hold).observe(document.body, {
    childList: true, subtree: true, characterData: true,
  });
  for (const kind of ["wheel", "touchstart", "pointerdown", "keydown"]) {
    document.addEventListener(kind, (event) => {
      if (event.target.closest && event.target.closest("#chat .bubble-wrap")) held = null;
    }, { capture: true, passive: true });
  }
}
"""


def ingest_report(report: Any, rejected: Sequence[tuple[str, str]] = ()) -> str:
    """What an upload or URL ingest did, for the page: counts, then each failure's reason."""
    failed = [(_display_name(f.item), f.reason) for f in report.failed] + list(rejected)
    lines = [
        f"**Added {len(report.added)}**, unchanged {len(report.unchanged)}, "
        f"replaced {len(report.replaced)}, failed {len(failed)} "
        f"({report.chunks} chunks in {report.seconds:.1f} s)."
    ]
    for item, reason in failed:
        lines.append(f"- ⚠️ {md_text(item)}: {md_text(reason)}")
    for notice in report.notices:
        lines.append(f"- ℹ️ {md_text(_display_name(notice.item))}: {md_text(notice.message)}")
    if report.added or report.replaced:
        lines.append("")
        lines.append("The new articles answer questions now.")
    return "\n".join(lines)


def split_urls(text: str) -> tuple[list[WebUrl], list[tuple[str, str]]]:
    """http(s) URLs from the page's box, one per line; anything else is refused (the
    server reads no path a visitor types, only gradio's copies of uploaded files)."""
    urls: list[WebUrl] = []
    rejected: list[tuple[str, str]] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        url = web_url(line)
        if url:
            urls.append(url)
        else:
            rejected.append((line.strip(), "not an http(s) URL; upload files with the file box"))
    return urls, rejected


def _display_name(item: str) -> str:
    """An upload's own file name, not the server's temporary path to it."""
    return item if safe_url(item) else re.split(r"[\\/]", item)[-1] or item
