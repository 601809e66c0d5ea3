"""Articles from the web: a page URL, or an RSS/Atom feed whose entries are fetched."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import urlparse

import feedparser
import httpx
import lxml.etree
import lxml.html

from ingest.cleaning import clean_text
from ingest.dates import read_date
from ingest.sources.files import Loaded, extract_html
from ingest.sources.items import web_url
from ingest.types import Article, Failure, Notice

_USER_AGENT = "newsbot/0.1 (+offline news QA)"
_FEED_TYPES = ("rss", "atom", "xml")
_FEED_PATH = re.compile(r"(\.(rss|xml|atom)$|/(feed|rss|atom)/?$)", re.IGNORECASE)
# A feed entry whose own text is at least this long is used as is, without a fetch.
_FULL_ENTRY_CHARS = 1200


@dataclass(frozen=True)
class FetchPolicy:
    """What one fetch may cost and where it may go.

    `deadline` bounds the whole request (a server that sends a byte every second never
    holds an ingest longer); `allow_private` lets URLs reach loopback, private,
    link-local and cloud-metadata addresses, which a server reachable by others must not
    fetch for a visitor."""

    deadline: float = 15.0
    max_bytes: int = 20 * 2**20
    max_html_bytes: int = 5 * 2**20  # of a page's markup, checked before it is parsed
    max_redirects: int = 5
    allow_private: bool = False


class FetchRefused(httpx.HTTPError):
    """A fetch stopped by the policy: the message says which limit and the setting."""


def load_url(url: str, policy: FetchPolicy) -> Iterator[Loaded]:
    try:
        response = fetch(url, policy)
    except FetchRefused as error:
        yield Failure(url, str(error))
        return
    except httpx.HTTPError as error:
        yield Failure(url, f"cannot fetch ({describe(error)}); check the URL and your network")
        return
    content_type = response.headers.get("content-type", "").lower()
    body = response.text
    if _looks_like_feed(url, content_type, body):
        yield from _load_feed(url, body, policy)
    else:
        yield from extract_html(body, url, url=str(response.url), max_bytes=policy.max_html_bytes)


def fetch(url: str, policy: FetchPolicy, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET `url` within the policy, following redirects hop by hop: each hop's name is
    resolved once, every address checked, and the connection made to a checked address,
    so a name that answers differently when asked again (DNS rebinding) cannot lead
    inside. The body is read in pieces against the deadline and the size limit.
    `headers`: a conditional request's (If-None-Match, If-Modified-Since), whose
    "304 Not Modified" is returned, not raised. The response's URL is the last hop's,
    by name, never the address it was sent to."""
    started = time.monotonic()
    target = _web_url(httpx.URL(url))
    with httpx.Client(
        headers={"User-Agent": _USER_AGENT, **(headers or {})},
        # A connection made (and its certificate checked) for one name must not carry a
        # request for another name that happens to share the address.
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        for _ in range(policy.max_redirects + 1):
            request = client.build_request("GET", target, timeout=_time_left(policy, started))
            with closing(_send_pinned(client, request, policy)) as response:
                # The client filed the cookies under the address; the next hop asks by name.
                client.cookies.extract_cookies(
                    httpx.Response(response.status_code, headers=response.headers, request=request)
                )
                if not response.has_redirect_location:
                    return _read(response, request, policy, started)
                target = _redirect_target(response, request)
    raise FetchRefused(
        f"the page redirects more than {policy.max_redirects} times; "
        "raise NEWSBOT_MAX_REDIRECTS to follow more"
    )


def _web_url(url: httpx.URL) -> httpx.URL:
    """`url` if it is one to fetch: a feed's link or a redirect may name anything."""
    if web_url(str(url)) is None:
        raise httpx.UnsupportedProtocol(f"{url} is not an http:// or https:// URL with a host")
    return url


def _send_pinned(
    client: httpx.Client, request: httpx.Request, policy: FetchPolicy
) -> httpx.Response:
    """Send `request` to one of the addresses its host name has now, all of them checked.

    As a connection by name would, a name's next address is tried when one cannot be
    reached (an IPv6 address on an IPv4-only network)."""
    *others, last = _addresses(request, policy)
    for address in others:
        try:
            return client.send(_pinned(request, address), stream=True)
        except httpx.ConnectError:
            continue
    return client.send(_pinned(request, last), stream=True)


def _addresses(request: httpx.Request, policy: FetchPolicy) -> list[str]:
    """The addresses of the request's host, asked once: a second answer is never used."""
    host = request.url.raw_host.decode("ascii")
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:  # UnicodeError: a label over 63 chars
        raise httpx.ConnectError(f"{host} cannot be resolved ({error})", request=request) from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not policy.allow_private:
        for address in addresses:
            _refuse_private(host, address)
    return addresses


def _refuse_private(host: str, address: str) -> None:
    """Refuse an address inside this machine's networks (loopback, private, link-local,
    cloud metadata): a server reachable by others must not fetch those for a visitor."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        raise FetchRefused(
            f"{host} is a local or private address ({ip}); newsbot fetches only public "
            "sites unless NEWSBOT_ALLOW_PRIVATE_URLS=true"
        )


def _pinned(request: httpx.Request, address: str) -> httpx.Request:
    """`request` sent to `address`. Its `Host` header keeps the name, and for https so do
    SNI and the certificate check (httpcore's `sni_hostname` is the name it verifies)."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.raw_host.decode("ascii")
    return httpx.Request(
        "GET", request.url.copy_with(host=address), headers=request.headers, extensions=extensions
    )


def _redirect_target(response: httpx.Response, request: httpx.Request) -> httpx.URL:
    try:
        return _web_url(request.url.join(response.headers["Location"]))
    except httpx.InvalidURL as error:
        raise httpx.RemoteProtocolError(f"bad redirect ({error})", request=request) from error


def _read(
    response: httpx.Response, request: httpx.Request, policy: FetchPolicy, started: float
) -> httpx.Response:
    """The final hop's response, its body read, under the URL by name (`request`'s)."""
    if response.status_code == httpx.codes.NOT_MODIFIED:
        return httpx.Response(response.status_code, headers=response.headers, request=request)
    httpx.Response(response.status_code, request=request).raise_for_status()
    # The body is read decompressed: the wire's encoding and length no longer describe it,
    # and a gzip header left on would have the body decompressed a second time.
    headers = httpx.Headers(response.headers)
    for name in ("Content-Encoding", "Content-Length"):
        headers.pop(name, None)
    body = _body(response, policy, started)
    return httpx.Response(response.status_code, headers=headers, content=body, request=request)


def _body(response: httpx.Response, policy: FetchPolicy, started: float) -> bytes:
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > policy.max_bytes:
            raise FetchRefused(
                f"the page is larger than {policy.max_bytes / 2**20:g} MB; "
                "raise NEWSBOT_MAX_FILE_MB to fetch it"
            )
        _time_left(policy, started)
    return bytes(body)


def _time_left(policy: FetchPolicy, started: float) -> float:
    """Seconds the fetch may still take: the deadline holds for all hops together."""
    left = policy.deadline - (time.monotonic() - started)
    if left <= 0:
        raise FetchRefused(
            f"the page took longer than {policy.deadline:g} s in all; "
            "raise NEWSBOT_FETCH_TIMEOUT to wait longer"
        )
    return left


def describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return type(error).__name__ + (f": {error}" if str(error) else "")


def _looks_like_feed(url: str, content_type: str, body: str) -> bool:
    if any(kind in content_type for kind in _FEED_TYPES):
        return True
    head = body.lstrip()[:200].lower()
    return head.startswith(("<?xml", "<rss", "<feed")) or bool(
        _FEED_PATH.search(urlparse(url).path) and "<html" not in head
    )


def _load_feed(url: str, body: str, policy: FetchPolicy) -> Iterator[Loaded]:
    feed = feedparser.parse(body)
    if not feed.entries:
        problem = getattr(feed, "bozo_exception", None) or "no entries"
        yield Failure(url, f"not a valid RSS/Atom feed ({problem})")
        return
    for number, entry in enumerate(feed.entries, 1):
        yield from load_entry(url, feed, number, entry, policy)


def load_entry(
    url: str,
    feed: feedparser.FeedParserDict,
    number: int,
    entry: feedparser.FeedParserDict,
    policy: FetchPolicy,
) -> Iterator[Loaded]:
    """Entry `number` of the feed at `url` as an article (its page fetched when the
    entry holds only a summary); whatever goes wrong is this entry's failure only."""
    publisher = feed.feed.get("title", "") or urlparse(url).hostname or ""
    try:
        yield from _load_entry(entry, publisher, policy)
    except Exception as error:  # one odd entry must not stop the feed
        where = entry.get("link") or f"{url} (entry {number})"
        yield Failure(where, f"cannot read this feed entry ({type(error).__name__}: {error})")


def _load_entry(
    entry: feedparser.FeedParserDict, publisher: str, policy: FetchPolicy
) -> Iterator[Loaded]:
    link = entry.get("link", "")
    published, problem = read_date(entry.get("published_parsed") or entry.get("updated_parsed"))
    if problem:
        yield Notice(link or publisher, f"{problem}; stored as undated")
    inline = _entry_text(entry)
    if link and len(inline) < _FULL_ENTRY_CHARS:
        try:
            page = fetch(link, policy)
        except httpx.HTTPError as error:
            if not inline:
                reason = str(error) if isinstance(error, FetchRefused) else describe(error)
                yield Failure(link, f"feed entry cannot be fetched ({reason})")
                return
        else:
            for loaded in extract_html(
                page.text, link, url=link, max_bytes=policy.max_html_bytes, source=publisher
            ):
                if isinstance(loaded, Article):
                    # The feed's date and title are the publisher's own; prefer them.
                    yield Article(
                        entry.get("title") or loaded.title,
                        loaded.text,
                        publisher,
                        link,
                        published or loaded.published,
                        link,
                    )
                    return
    text = clean_text(inline)
    if len(text.split()) < 3:
        yield Failure(link or publisher, "feed entry has no text and no fetchable link")
        return
    yield Article(
        entry.get("title", ""), text, publisher, link, published, link or entry.get("id", "")
    )


def _entry_text(entry: feedparser.FeedParserDict) -> str:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    if not html:
        return ""
    if "<" not in html:
        return str(html)
    try:
        return str(lxml.html.fromstring(html).text_content())
    except (lxml.etree.ParserError, ValueError):  # only a comment, or not markup at all
        return ""
