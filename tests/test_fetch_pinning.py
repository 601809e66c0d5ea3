"""`fetch` connects to the address it checked: each hop's name is resolved once, every
address refused when private, and the name kept for `Host`, SNI and the certificate.

The sites are real HTTP(S) servers on 127.0.0.1 that log every request they receive.
The one stand-in is the network around them, since neither a hostile DNS server nor a
public site can run here: `socket.getaddrinfo` answers names from a table (a rebinding
name answers a public address first and 127.0.0.1 afterwards), and connections to the
public address are routed to a local server playing that public site."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from ingest.sources.web import FetchPolicy, FetchRefused, describe, fetch

PUBLIC = "93.184.216.34"  # a global address, so the check lets it through
PAGE = b"<html><body><p>Copper rallied.</p></body></html>"
_getaddrinfo = socket.getaddrinfo
_create_connection = socket.create_connection


class _Site(ThreadingHTTPServer):
    """A web site on 127.0.0.1; `log` holds (path, Host header) of every request received,
    `sni` the server name of every TLS handshake."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Pages)
        self.log: list[tuple[str, str]] = []
        self.sni: list[str | None] = []
        if tls:
            tls.sni_callback = lambda _socket, name, _context: self.sni.append(name)
            self.socket = tls.wrap_socket(self.socket, server_side=True)


class _Pages(BaseHTTPRequestHandler):
    """/hop?to=URL redirects there, /loop to itself, /gzip is a gzip-encoded page, any
    other path the page."""

    server: _Site

    def do_GET(self) -> None:
        self.server.log.append((self.path, self.headers.get("Host", "")))
        path = urlsplit(self.path).path
        if path in ("/hop", "/loop"):
            to = parse_qs(urlsplit(self.path).query).get("to", ["/loop"])[0]
            self._answer(302, b"", Location=to)
        elif path == "/gzip":
            self._answer(200, gzip.compress(PAGE), **{"Content-Encoding": "gzip"})
        else:
            self._answer(200, PAGE)

    def _answer(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/html", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serving(tls: ssl.SSLContext | None = None) -> Iterator[_Site]:
    site = _Site(tls)
    threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()


class _Network:
    """What DNS answers (a name's answers in turn, the last one repeated; none: no such
    name) and where connections to an address go (`routes`: address to a local port)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.routes: dict[str, int] = {}
        self.asked: list[str] = []

    def getaddrinfo(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.answers:  # an address, or a name no test uses
            return _getaddrinfo(host, port, *args, **kwargs)
        self.asked.append(host)
        answers = self.answers[host]
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        number = port if isinstance(port, int) else 0
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number))]

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        """Connect as the real one does, a name asked of DNS again, then routed."""
        host, port = address
        resolved = self.getaddrinfo(host, port)[0][4][0]
        routed = ("127.0.0.1", self.routes[resolved]) if resolved in self.routes else address
        return _create_connection(routed, *args, **kwargs)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> _Network:
    network = _Network()
    monkeypatch.setattr(socket, "getaddrinfo", network.getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", network.create_connection)
    return network


@pytest.fixture
def inside() -> Iterator[_Site]:
    """A service on this machine that a visitor's URL must not reach."""
    with _serving() as site:
        yield site


@pytest.fixture
def public(network: _Network) -> Iterator[_Site]:
    """The public site: where connections to PUBLIC, and public.example, arrive."""
    with _serving() as site:
        network.routes[PUBLIC] = site.server_port
        network.answers["public.example"] = [PUBLIC]
        yield site


def test_a_name_that_rebinds_to_this_machine_never_reaches_it(
    network: _Network, inside: _Site, public: _Site
) -> None:
    network.answers["rebind.example"] = [PUBLIC, "127.0.0.1"]
    url = f"http://rebind.example:{inside.server_port}/"
    response = fetch(url, FetchPolicy(deadline=2))
    assert inside.log == []  # asked again, the name would have led here
    assert public.log == [("/", f"rebind.example:{inside.server_port}")]
    assert response.content == PAGE and str(response.url) == url
    assert network.asked == ["rebind.example"]


def test_every_redirect_hop_is_checked(network: _Network, inside: _Site, public: _Site) -> None:
    network.answers["inside.example"] = ["127.0.0.1"]
    secret = f"http://inside.example:{inside.server_port}/secret"
    start = f"http://public.example:{public.server_port}/hop?to={quote(secret)}"
    with pytest.raises(FetchRefused, match=r"local or private address.*NEWSBOT_ALLOW_PRIVATE"):
        fetch(start, FetchPolicy(deadline=2))
    assert inside.log == []
    assert len(public.log) == 1


def test_an_allowed_private_name_is_fetched_by_name(network: _Network, inside: _Site) -> None:
    network.answers["inside.example"] = ["127.0.0.1"]
    host = f"inside.example:{inside.server_port}"
    response = fetch(f"http://{host}/hop?to=/page", FetchPolicy(deadline=2, allow_private=True))
    assert response.status_code == 200 and response.content == PAGE
    assert str(response.url) == f"http://{host}/page"  # the URL stored is the real one
    assert inside.log == [("/hop?to=/page", host), ("/page", host)]


def test_a_name_that_does_not_resolve_is_a_connect_error(network: _Network) -> None:
    network.answers["gone.example"] = []
    with pytest.raises(httpx.ConnectError) as error:
        fetch("http://gone.example/", FetchPolicy(deadline=2))
    assert describe(error.value).startswith("ConnectError: gone.example cannot be resolved")


def test_a_redirect_loop_stops_at_the_setting(network: _Network, inside: _Site) -> None:
    network.answers["inside.example"] = ["127.0.0.1"]
    policy = FetchPolicy(deadline=2, max_redirects=2, allow_private=True)
    with pytest.raises(FetchRefused, match=r"more than 2 times.*NEWSBOT_MAX_REDIRECTS"):
        fetch(f"http://inside.example:{inside.server_port}/loop", policy)
    assert len(inside.log) == 3


def test_a_gzip_page_is_read_once_decompressed(network: _Network, inside: _Site) -> None:
    network.answers["inside.example"] = ["127.0.0.1"]
    url = f"http://inside.example:{inside.server_port}/gzip"
    response = fetch(url, FetchPolicy(deadline=2, allow_private=True))
    assert response.content == PAGE
    assert "content-encoding" not in response.headers


def test_https_keeps_the_name_for_sni_and_the_certificate(
    network: _Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificate names only secure.example: the fetch succeeds only if it is checked
    against the name, not against the address connected to, and fails for another name."""
    certificate, key = _self_signed("secure.example", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # httpx trusts it
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    network.answers["secure.example"] = ["127.0.0.1"]
    network.answers["other.example"] = ["127.0.0.1"]
    policy = FetchPolicy(deadline=2, allow_private=True)
    with _serving(tls) as site:
        url = f"https://secure.example:{site.server_port}/page"
        response = fetch(url, policy)
        assert response.content == PAGE and str(response.url) == url
        assert site.sni == ["secure.example"]
        assert site.log == [("/page", f"secure.example:{site.server_port}")]
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(f"https://other.example:{site.server_port}/page", policy)
        assert site.sni == ["secure.example", "other.example"]


def _self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `name`, and its key, as PEM files in `folder`."""
    pytest.importorskip("cryptography", reason="generates the test's TLS certificate")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "cert.pem", folder / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file
