"""check_page and ``certkit check-page`` against a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import io
import json
import pathlib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator

import attrs
import pytest
from conftest import PKI

from certkit import MixedResource, PageReport, check_page
from certkit.cli import main
from certkit.errors import CertkitError, NetworkError, PageError, ReadError

HOST = "127.0.0.1"

CLEAN = """<!doctype html>
<html><head>
<link rel="stylesheet" href="https://cdn.example.test/site.css">
<link rel="canonical" href="http://www.example.test/">
<link rel="alternate" hreflang="en" href="http://www.example.test/en/">
<script src="//cdn.example.test/app.js"></script>
<script src="/local.js"></script>
<style>body { background: url(img/bg.png) } @import "https://cdn.example.test/x.css";</style>
</head><body style="background-image: url('//cdn.example.test/b.png')">
<a href="http://elsewhere.example.test/">a plain link is not mixed content</a>
<img src="https://cdn.example.test/logo.png" srcset="logo2x.png 2x">
<!-- <script src="http://commented.example.test/out.js"></script> -->
<script>document.write('<img src="http://inside-a-script.example.test/x.png">');</script>
<form action="/login" method="post"></form>
</body></html>
"""

# One resource per line from line 3 on, so the expected lines read off the list below.
MIXED = """<!doctype html>
<html><head>
<script src="http://cdn.example.test/app.js"></script>
<link rel="stylesheet" href="http://cdn.example.test/site.css">
<link rel="icon" href="http://cdn.example.test/favicon.ico">
<link rel="preload" as="font" href="http://cdn.example.test/f.woff2">
<meta http-equiv="refresh" content="30; url=http://www.example.test/">
<style>
  @import "http://cdn.example.test/import.css";
  .hero { background: url( "http://img.example.test/hero.jpg" ) }
  @font-face { font-family: X; src: url(http://cdn.example.test/x.woff) }
</style>
</head><body>
<img src="http://img.example.test/a.png" alt="">
<img src="/ok.png" srcset="http://img.example.test/b.png 1x, https://img.example.test/c.png 2x">
<picture><source srcset="http://img.example.test/d.webp"><img src="e.png"></picture>
<video poster="http://img.example.test/poster.jpg" src="http://media.example.test/v.mp4">
<source src="http://media.example.test/v.webm"><track src="http://media.example.test/v.vtt">
</video>
<audio src="HTTP://media.example.test/a.mp3"></audio>
<iframe src="http://widgets.example.test/frame"></iframe>
<object data="http://plugins.example.test/o.swf"></object>
<embed src="http://plugins.example.test/e.swf">
<form action="http://forms.example.test/post"><input type="image" src="http://img.example.test/go.png"></form>
<div style="background: url(http://img.example.test/div.png)">&amp;</div>
</body></html>
"""

EXPECTED = [
    ("http://cdn.example.test/app.js", "script", "src", 3, True),
    ("http://cdn.example.test/site.css", "link", "href", 4, True),
    ("http://cdn.example.test/favicon.ico", "link", "href", 5, True),
    ("http://cdn.example.test/f.woff2", "link", "href", 6, True),
    ("http://www.example.test/", "meta", "content", 7, False),
    ("http://cdn.example.test/import.css", "style", "@import", 9, True),
    ("http://img.example.test/hero.jpg", "style", "url()", 10, False),
    ("http://cdn.example.test/x.woff", "style", "@font-face", 11, True),
    ("http://img.example.test/a.png", "img", "src", 14, False),
    ("http://img.example.test/b.png", "img", "srcset", 15, True),
    ("http://img.example.test/d.webp", "source", "srcset", 16, True),
    ("http://media.example.test/v.mp4", "video", "src", 17, False),
    ("http://img.example.test/poster.jpg", "video", "poster", 17, False),
    ("http://media.example.test/v.webm", "source", "src", 18, False),
    ("http://media.example.test/v.vtt", "track", "src", 18, True),
    ("http://media.example.test/a.mp3", "audio", "src", 20, False),
    ("http://widgets.example.test/frame", "iframe", "src", 21, True),
    ("http://plugins.example.test/o.swf", "object", "data", 22, True),
    ("http://plugins.example.test/e.swf", "embed", "src", 23, True),
    ("http://forms.example.test/post", "form", "action", 24, True),
    ("http://img.example.test/go.png", "input", "src", 24, False),
    ("http://img.example.test/div.png", "div", "style", 25, False),
]

BASE = """<html><head>
<base href="http://static.example.test/">
<script src="js/app.js"></script>
<link rel="stylesheet" href="//cdn.example.test/x.css">
</head><body><img src="https://img.example.test/ok.png"><img src="logo.png"></body></html>
"""


@attrs.frozen
class Page:
    """What the test server answers for one path."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    length: bool = True  # send Content-Length (else the body ends when the connection does)
    hang: bool = False
    drip: str = ""  # "headers" or "body": one byte every 0.5 s until the test ends


def _html(text: str, **kwargs: object) -> Page:
    return Page(text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def _redirect(location: str, status: int = 301) -> Page:
    return Page(b"", status, (("Location", location),))


BIG = 6 * 1024 * 1024

PAGES: dict[str, Page] = {
    "/clean": _html(CLEAN),
    "/mixed": _html(MIXED),
    "/base": _html(BASE),
    "/to-clean": _redirect("/clean", 302),
    "/to-http": _redirect("http://www.example.test/"),
    "/loop-a": _redirect("/loop-b"),
    "/loop-b": _redirect("/loop-a"),
    "/missing": Page(b"not here", 404, (("Content-Type", "text/plain"),)),
    "/data.json": Page(b'{"a": "http://x.test/"}', 200, (("Content-Type", "application/json"),)),
    "/big": Page(b"<p>" + b"x" * BIG),
    "/big-stream": Page(b"<p>" + b"x" * BIG, length=False),
    "/utf16": Page('<img src="http://img.example.test/u.png">'.encode("utf-16-le"), 200,
                   (("Content-Type", "text/html; charset=utf-16le"),)),
    "/bom": Page(b"\xff\xfe" + '<script src="http://x.test/b.js"></script>'
                 .encode("utf-16-le"), 200, (("Content-Type", "text/html"),)),
    "/gzip": Page(gzip.compress(b'<img src="http://img.example.test/z.png">'), 200,
                  (("Content-Type", "text/html"), ("Content-Encoding", "gzip"))),
    "/no-type": Page(b'<script src="http://x.test/n.js"></script>', 200, ()),
    "/hang": Page(hang=True),
    "/drip-headers": Page(drip="headers"),
    "/drip-body": Page(drip="body"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answer from :data:`PAGES`; quietly."""

    protocol_version = "HTTP/1.1"
    release: threading.Event

    def do_GET(self) -> None:
        page = PAGES.get(self.path.split("?", 1)[0])
        if page is None:
            page = Page(b"", 404)
        if page.hang:
            self.release.wait(10)
            return
        if page.drip:
            self._drip(page.drip)
            return
        self.send_response(page.status)
        for name, value in page.headers:
            self.send_header(name, value)
        if page.length:
            self.send_header("Content-Length", str(len(page.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may stop reading (size cap)
            for start in range(0, len(page.body), 65536):
                self.wfile.write(page.body[start:start + 65536])

    def _drip(self, where: str) -> None:
        """Keep every read alive with a byte every half second, never finishing."""
        start = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        if where == "body":
            start += b"Content-Length: 100000\r\n\r\n"
        with contextlib.suppress(OSError):
            self.wfile.write(start + b"X-Drip: " * (where == "headers"))
            self.wfile.flush()
            while not self.release.wait(0.5):
                self.wfile.write(b"x")
                self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Say nothing: pytest would show it as noise."""


class _QuietServer(http.server.ThreadingHTTPServer):
    """Threaded server that does not print clients hanging up or refusing its certificate."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Print unexpected errors only; the tests make clients reject and abort on purpose."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@attrs.frozen
class Server:
    """The running HTTPS server and a trust bundle for it."""

    port: int
    root_pem: pathlib.Path

    def url(self, path: str, host: str = "localhost") -> str:
        """The https URL of ``path`` on this server."""
        return f"https://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def server(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A threaded HTTPS server for ``localhost`` (leaf + intermediate sent) on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("https")
    cert_file = folder / "chain.pem"
    cert_file.write_bytes(pki.leaf.certificate.to_pem() + pki.intermediate.certificate.to_pem())
    key_file = folder / "key.pem"
    key_file.write_bytes(pki.leaf.key.to_pem())
    root_pem = folder / "root.pem"
    root_pem.write_bytes(pki.root.certificate.to_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    httpd = _QuietServer((HOST, 0), handler)
    # The handshake runs in each request's thread, so a stuck client stalls only itself.
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield Server(int(httpd.server_address[1]), root_pem)
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _found(report: PageReport) -> list[tuple[str, str, str, int, bool]]:
    return [(r.url, r.element, r.attribute, r.line, r.blocked) for r in report.resources]


class TestFindings:
    """What check_page lists for real pages served over https."""

    def test_clean_page_is_ok(self, server: Server) -> None:
        """https, protocol-relative, relative URLs, links, comments and script text are fine."""
        report = check_page(server.url("/clean"), trust=server.root_pem)
        assert report.ok
        assert report.resources == ()
        assert report.problems == ()
        assert (report.status, report.final_url) == (200, server.url("/clean"))

    def test_every_kind_of_mixed_content(self, server: Server) -> None:
        """Each insecure resource is listed once, in page order, with its line and verdict."""
        report = check_page(server.url("/mixed"), trust=server.root_pem)
        assert _found(report) == EXPECTED
        assert not report.ok
        assert report.problems == ()
        assert all(isinstance(r, MixedResource) for r in report.resources)
        assert [r.url for r in report.blocked] == [e[0] for e in EXPECTED if e[4]]

    def test_http_base_makes_relative_urls_insecure(self, server: Server) -> None:
        """A ``<base href="http://…">`` makes relative and protocol-relative URLs http too."""
        report = check_page(server.url("/base"), trust=server.root_pem)
        assert _found(report) == [
            ("http://static.example.test/js/app.js", "script", "src", 3, True),
            ("http://cdn.example.test/x.css", "link", "href", 4, True),
            ("http://static.example.test/logo.png", "img", "src", 5, False),
        ]
        assert len(report.problems) == 1
        assert '<base href="http://static.example.test/"> (line 2)' in report.problems[0]

    def test_trust_as_certificates(self, server: Server, pki: PKI) -> None:
        """The trust anchors may be given as Certificate objects instead of a file."""
        report = check_page(server.url("/clean"), trust=[pki.root.certificate])
        assert report.ok

    @pytest.mark.parametrize(("path", "expected"), [
        ("/utf16", "http://img.example.test/u.png"),
        ("/bom", "http://x.test/b.js"),
        ("/gzip", "http://img.example.test/z.png"),
        ("/no-type", "http://x.test/n.js"),
    ])
    def test_encodings(self, server: Server, path: str, expected: str) -> None:
        """The declared charset, a BOM, gzip, and no Content-Type at all are all read right."""
        report = check_page(server.url(path), trust=server.root_pem)
        assert [r.url for r in report.resources] == [expected]
        assert report.resources[0].line == 1


class TestRedirects:
    """Redirects are followed over https only."""

    def test_https_redirect_is_followed(self, server: Server) -> None:
        """The report names the page the redirect led to."""
        report = check_page(server.url("/to-clean"), trust=server.root_pem)
        assert report.ok
        assert (report.url, report.final_url) == (server.url("/to-clean"), server.url("/clean"))
        assert report.status == 200

    def test_redirect_to_http_is_a_problem(self, server: Server) -> None:
        """A redirect to http:// is reported, not followed."""
        report = check_page(server.url("/to-http"), trust=server.root_pem)
        assert not report.ok
        assert (report.status, report.final_url) == (301, "http://www.example.test/")
        assert report.resources == ()
        assert "redirects (301) to http://www.example.test/" in report.problems[0]

    def test_not_following(self, server: Server) -> None:
        """Without following, the redirect itself is the answer and nothing is scanned."""
        report = check_page(server.url("/to-clean"), trust=server.root_pem,
                            follow_redirects=False)
        assert (report.status, report.final_url, report.ok) == (302, server.url("/to-clean"),
                                                                True)

    def test_loop(self, server: Server) -> None:
        """A redirect loop is an error that says so."""
        with pytest.raises(PageError, match="loop") as info:
            check_page(server.url("/loop-a"), trust=server.root_pem)
        assert info.value.reason == "redirects"


class TestErrors:
    """Pages that cannot be checked raise errors that say why."""

    def test_http_url_is_refused(self) -> None:
        """An http:// page is not mixed content but wholly insecure: a usage error."""
        with pytest.raises(PageError, match="plain http") as info:
            check_page("http://www.example.test/")
        assert info.value.reason == "not-https"

    @pytest.mark.parametrize("url", ["ftp://example.test/", "example.test", "https://"])
    def test_not_an_https_url(self, url: str) -> None:
        """Other schemes and host-less URLs are refused before any connection."""
        with pytest.raises(PageError, match="https://"):
            check_page(url)

    def test_system_store_does_not_trust_a_private_ca(self, server: Server) -> None:
        """Verification is never skipped: without the private root the page is refused."""
        with pytest.raises(NetworkError, match="not trusted") as info:
            check_page(server.url("/clean"))
        assert info.value.reason == "handshake"
        assert "certkit check-host" in str(info.value)

    def test_wrong_name(self, server: Server) -> None:
        """An address the certificate does not cover fails verification and says so."""
        with pytest.raises(NetworkError, match=r"not trusted.*(?i:hostname|IP address)"):
            check_page(server.url("/clean", host=HOST), trust=server.root_pem)

    def test_http_error_status(self, server: Server) -> None:
        """A 404 is an error naming the status."""
        with pytest.raises(PageError, match="404") as info:
            check_page(server.url("/missing"), trust=server.root_pem)
        assert info.value.reason == "http-status"

    def test_not_html(self, server: Server) -> None:
        """A JSON document is not a page to scan."""
        with pytest.raises(PageError, match="application/json") as info:
            check_page(server.url("/data.json"), trust=server.root_pem)
        assert info.value.reason == "not-html"

    @pytest.mark.parametrize("path", ["/big", "/big-stream"])
    def test_oversized_page(self, server: Server, path: str) -> None:
        """More than 5 MiB is refused, whether announced by Content-Length or streamed."""
        with pytest.raises(PageError, match="larger than 5242880 bytes") as info:
            check_page(server.url(path), trust=server.root_pem)
        assert info.value.reason == "too-large"

    def test_size_cap_is_adjustable(self, server: Server) -> None:
        """max_bytes applies to the decompressed body, so a small cap refuses a small page."""
        with pytest.raises(PageError, match="larger than 10 bytes"):
            check_page(server.url("/gzip"), trust=server.root_pem, max_bytes=10)

    def test_hanging_page_times_out(self, server: Server) -> None:
        """A server that never answers is given up on after the timeout."""
        start = time.monotonic()
        with pytest.raises(NetworkError, match=r"did not answer within 0\.5s") as info:
            check_page(server.url("/hang"), trust=server.root_pem, timeout=0.5)
        assert info.value.reason == "timeout"
        assert time.monotonic() - start < 5

    @pytest.mark.parametrize("path", ["/drip-headers", "/drip-body"])
    def test_dripping_page_times_out(self, server: Server, path: str) -> None:
        """A byte every 0.5 s keeps every read alive; the one deadline still ends the fetch."""
        start = time.monotonic()
        with pytest.raises(NetworkError, match=r"did not answer within 1s") as info:
            check_page(server.url(path), trust=server.root_pem, timeout=1)
        assert info.value.reason == "timeout"
        assert time.monotonic() - start < 6

    def test_refused(self) -> None:
        """Nothing listening is an error that says so."""
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        with pytest.raises(NetworkError, match="refused") as info:
            check_page(f"https://{HOST}:{port}/")
        assert info.value.reason == "refused"

    def test_trust_without_certificates(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A trust bundle with no certificate in it (a key, say) is refused before connecting."""
        key_only = tmp_path / "key.pem"
        key_only.write_bytes(pki.leaf.key.to_pem())
        with pytest.raises(ReadError, match="holds no certificate"):
            check_page("https://localhost:1/", trust=key_only)

    def test_errors_are_certkit_errors(self) -> None:
        """PageError is a CertkitError and a ValueError."""
        assert issubclass(PageError, CertkitError)
        assert issubclass(PageError, ValueError)


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


class TestCommandLine:
    """``certkit check-page`` exit codes, text and JSON."""

    def test_clean_exits_0(self, server: Server) -> None:
        """A clean page exits 0 and says ok."""
        code, text = _run("check-page", server.url("/clean"), "--trust", str(server.root_pem))
        assert code == 0
        assert "ok: no mixed content" in text

    def test_mixed_exits_1(self, server: Server) -> None:
        """Mixed content exits 1 and lists each resource with line and verdict."""
        code, text = _run("check-page", server.url("/mixed"), "--trust", str(server.root_pem))
        assert code == 1
        assert "22 insecure resource(s) over http:// (13 blocked by browsers, 9 upgraded" in text
        assert "line     3  BLOCKED  <script src>  http://cdn.example.test/app.js" in text
        assert "line    14  warned   <img src>  http://img.example.test/a.png" in text
        assert "upgrade-insecure-requests" in text

    def test_json(self, server: Server) -> None:
        """--json gives the report as data."""
        code, text = _run("check-page", server.url("/base"), "--trust", str(server.root_pem),
                          "--json")
        assert code == 1
        data = json.loads(text)
        assert data["url"] == data["final_url"] == server.url("/base")
        assert (data["status"], data["ok"]) == (200, False)
        assert data["resources"] == [
            {"url": "http://static.example.test/js/app.js", "element": "script",
             "attribute": "src", "line": 3, "blocked": True},
            {"url": "http://cdn.example.test/x.css", "element": "link",
             "attribute": "href", "line": 4, "blocked": True},
            {"url": "http://static.example.test/logo.png", "element": "img",
             "attribute": "src", "line": 5, "blocked": False},
        ]
        assert len(data["problems"]) == 1

    def test_redirect_to_http_exits_1(self, server: Server) -> None:
        """A redirect to http is a problem found."""
        code, text = _run("check-page", server.url("/to-http"), "--trust", str(server.root_pem))
        assert code == 1
        assert "problem:" in text

    def test_http_url_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An http:// URL is a usage error on one line."""
        code, _ = _run("check-page", "http://www.example.test/")
        assert code == 2
        assert capsys.readouterr().err.startswith("certkit: error: http://www.example.test/ is "
                                                  "plain http")

    def test_untrusted_exits_2(self, server: Server, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --trust the private CA is not trusted: exit 2 and why."""
        code, _ = _run("check-page", server.url("/clean"), "--timeout", "5")
        assert code == 2
        assert "not trusted" in capsys.readouterr().err
