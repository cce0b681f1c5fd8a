"""Find the ``http://`` resources an https page embeds: the "mixed content" warning.

A page served over https with a perfectly good certificate still loses its padlock (or
has parts blocked) when it loads scripts, stylesheets, images… over plain http.
:func:`check_page` fetches one page — verifying its certificate — and lists every such
resource in its HTML with the element, attribute and line, and whether browsers block it.

Which ones browsers block (the rule :attr:`MixedResource.blocked` follows, from the W3C
Mixed Content spec as Chrome, Firefox and Safari implement it): only *upgradeable*
content is not blocked — ``<img src>``, ``<input type=image src>``, ``<video poster>``,
``<audio>``/``<video>`` and their ``<source src>``, and images CSS loads with ``url()``
(backgrounds, borders). Current browsers rewrite those to https (the resource is missing
if the server has no https) and older ones load them and show the padlock as broken or
"not secure". Everything else is *blockable* and simply not loaded: scripts, stylesheets
and CSS ``@import``, fonts (``url()`` in ``@font-face``), frames, ``<object>``/``<embed>``,
``<track>``, ``srcset`` (``<img>`` and ``<picture><source>``), icons, preloads and the
manifest. A form ``action`` (or ``formaction``) to http counts as blocked too: browsers
stop the submission behind a "not secure" warning. A ``<meta http-equiv=refresh>`` to
http is a navigation away from https, not blocked, but reported.

Plain links (``<a href="http://…">``, ``<area>``, ``<link rel=canonical/alternate>``) are
**not** reported: following a link to an http site is a navigation the user chooses, not
content of this page, and browsers neither warn nor block. Protocol-relative URLs
(``//cdn.example.com/x.js``) take the page's https and are fine.
"""

from __future__ import annotations

import codecs
import contextlib
import http.client
import os
import re
import socket
import ssl
import zlib
from email.message import Message
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import attrs

from certkit._ops import _net
from certkit._ops import chains as _chains
from certkit._ops.remote import _handshake_error, _peer
from certkit.errors import NetworkError, PageError, ReadError

__all__ = ["MAX_BYTES", "MixedResource", "PageReport", "check_page"]

#: The largest page :func:`check_page` reads by default (5 MiB).
MAX_BYTES = 5 * 1024 * 1024
#: Redirects followed before giving up, as browsers do (about 20) but stricter.
MAX_REDIRECTS = 10

_USER_AGENT = "certkit-check-page/1 (mixed content check)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHUNK = 64 * 1024


@attrs.frozen
class MixedResource:
    """One ``http://`` resource the page loads, where it is written and whether browsers block it.

    ``url`` is resolved against the page (and its ``<base href>``); ``element`` is the tag
    (``style`` for a ``<style>`` block); ``attribute`` the attribute, or for CSS in a
    ``<style>`` block ``@import``, ``url()`` or ``@font-face``; ``line`` is the 1-based line
    where the tag (or, in a ``<style>`` block, the CSS) is.
    """

    url: str
    element: str
    attribute: str
    line: int
    blocked: bool


@attrs.frozen
class PageReport:
    """What :func:`check_page` found; ``ok`` when there is no insecure resource and no problem.

    ``final_url`` and ``status`` are those of the last response (after redirects).
    ``problems`` are page-level findings: a redirect to ``http://`` (then nothing is
    scanned) or a ``<base href="http://…">`` that makes relative URLs insecure.
    """

    url: str
    final_url: str
    status: int
    resources: tuple[MixedResource, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the page loads nothing over http and no problem was found."""
        return not self.resources and not self.problems

    @property
    def blocked(self) -> tuple[MixedResource, ...]:
        """The resources browsers refuse to load."""
        return tuple(r for r in self.resources if r.blocked)


# -- HTML and CSS ---------------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*(?P<q1>['"]?)(?P<u1>.*?)(?P=q1)\s*\)|(?P<q2>['"])(?P<u2>.*?)(?P=q2))""",
    re.IGNORECASE | re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<u>.*?)(?P=q)\s*\)""",
                      re.IGNORECASE | re.DOTALL)
_CSS_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}?", re.IGNORECASE)
_REFRESH = re.compile(r"""^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(?P<q>['"]?)(?P<u>[^'"]*)""",
                      re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)

#: ``<link rel>`` values that make the browser fetch the target (others are mere links).
_LINK_FETCHES = frozenset({
    "stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon",
    "preload", "modulepreload", "prefetch", "manifest"})
#: ``(element, attribute)`` pairs holding one URL, and whether browsers block it over http.
_URL_ATTRIBUTES: dict[tuple[str, str], bool] = {
    ("img", "src"): False, ("video", "src"): False, ("video", "poster"): False,
    ("audio", "src"): False, ("script", "src"): True, ("iframe", "src"): True,
    ("frame", "src"): True, ("embed", "src"): True, ("object", "data"): True,
    ("track", "src"): True, ("form", "action"): True, ("button", "formaction"): True,
    ("input", "formaction"): True,
}


def css_urls(css: str) -> list[tuple[str, int, str, bool]]:
    """``(url, offset, kind, blocked)`` for each ``@import`` and ``url()`` in a CSS text.

    ``kind`` is ``@import``, ``@font-face`` (a font: blocked) or ``url()`` (an image:
    upgraded, not blocked). Comments are ignored; offsets index ``css``.
    """
    # Blank comments out but keep every offset (and newline) where it was.
    text = _CSS_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), css)
    found: list[tuple[str, int, str, bool]] = []
    imports: list[tuple[int, int]] = []
    for match in _CSS_IMPORT.finditer(text):
        group = "u1" if match.group("u1") is not None else "u2"
        found.append((match.group(group), match.start(group), "@import", True))
        imports.append(match.span())
    fonts = [m.span() for m in _CSS_FONT_FACE.finditer(text)]
    for match in _CSS_URL.finditer(text):
        where = match.start()
        if any(a <= where < b for a, b in imports):
            continue
        in_font = any(a <= where < b for a, b in fonts)
        found.append((match.group("u"), match.start("u"), "@font-face" if in_font else "url()",
                      in_font))
    return sorted(found, key=lambda item: item[1])


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` value (``a.png 1x, b.png 2x``), as HTML splits it."""
    urls: list[str] = []
    position = 0
    while position < len(value):
        while position < len(value) and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < len(value) and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors up to the next comma
            while position < len(value) and value[position] != ",":
                position += 1
        if url:
            urls.append(url)
    return urls


class _Scanner(HTMLParser):
    """Collect insecure resource URLs as the HTML is parsed, resolving each where it appears."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.base = page_url
        self.base_set = False
        self.found: list[MixedResource] = []
        self.problems: list[str] = []
        self.media: list[str] = []  # open <audio>, <video> and <picture> elements
        self.style: list[str] | None = None
        self.style_line = 0

    def add(self, raw: str, element: str, attribute: str, line: int, *, blocked: bool) -> None:
        url = raw.strip()
        if not url:
            return
        try:
            resolved = urljoin(self.base, url)
            scheme = urlsplit(resolved).scheme.lower()
        except ValueError:  # a malformed URL (bad IPv6 literal…) loads nothing
            return
        if scheme == "http":
            resolved = "http" + resolved[len(scheme):]  # HTTP://… as browsers show it
            self.found.append(MixedResource(resolved, element, attribute, line, blocked))

    def add_css(self, css: str, element: str, attribute: str | None, line: int) -> None:
        for url, offset, kind, blocked in css_urls(css):
            where = line if attribute else line + css.count("\n", 0, offset)
            self.add(url, element, attribute or kind, where, blocked=blocked)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = {name: value for name, value in reversed(attrs) if value is not None}
        if tag == "base" and "href" in values and not self.base_set:
            self.base_set = True
            self.base = urljoin(self.page_url, values["href"].strip())
            if urlsplit(self.base).scheme.lower() == "http":
                self.problems.append(
                    f'<base href="{values["href"]}"> (line {line}) makes every relative URL '
                    "on the page http://: make it https:// or remove it")
        for (element, attribute), blocked in _URL_ATTRIBUTES.items():
            if tag == element and attribute in values:
                self.add(values[attribute], tag, attribute, line, blocked=blocked)
        if tag in ("img", "source") and "srcset" in values:
            for url in _srcset_urls(values["srcset"]):
                self.add(url, tag, "srcset", line, blocked=True)
        if tag == "source" and "src" in values and self.media:
            self.add(values["src"], tag, "src", line, blocked=self.media[-1] == "picture")
        if tag == "input" and values.get("type", "").lower() == "image" and "src" in values:
            self.add(values["src"], tag, "src", line, blocked=False)
        if tag == "link" and "href" in values:
            rels = set(values.get("rel", "").lower().split())
            if rels & _LINK_FETCHES:
                self.add(values["href"], tag, "href", line, blocked=True)
        if (tag == "meta" and values.get("http-equiv", "").lower() == "refresh"
                and "content" in values):
            match = _REFRESH.match(values["content"])
            if match and match.group("u").strip():
                self.add(match.group("u"), tag, "content", line, blocked=False)
        if "style" in values:
            self.add_css(values["style"], tag, "style", line)
        if tag in ("audio", "video", "picture"):
            self.media.append(tag)
        if tag == "style":
            self.style = []
            self.style_line = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in ("audio", "video", "picture") and tag in self.media:
            while self.media and self.media.pop() != tag:
                pass
        if tag == "style" and self.style is not None:
            self.add_css("".join(self.style), "style", None, self.style_line)
            self.style = None

    def handle_data(self, data: str) -> None:
        if self.style is not None:
            if not self.style:
                self.style_line = self.getpos()[0]
            self.style.append(data)

    def close(self) -> None:
        super().close()
        if self.style is not None:  # an unclosed <style> still applies
            self.handle_endtag("style")


def scan_html(html: str, page_url: str) -> tuple[list[MixedResource], list[str]]:
    """The insecure resources in ``html`` (served at ``page_url``) and page-level problems."""
    scanner = _Scanner(page_url)
    scanner.feed(html)
    scanner.close()
    return scanner.found, scanner.problems


# -- fetching -------------------------------------------------------------------------------


def _ssl_context(trust: _chains.TrustSource | None) -> ssl.SSLContext:
    """A verifying client context: the system store, or only the certificates of ``trust``."""
    if trust is None or (isinstance(trust, str) and trust == "system"):
        return ssl.create_default_context()
    pool = _chains.trust_pool(trust)
    pem = "".join(cert.to_pem().decode("ascii") for cert in pool or ())
    if not pem:
        where = os.fspath(trust) if isinstance(trust, (str, os.PathLike)) else None
        raise ReadError(f"the trust bundle{f' {where}' if where else ''} holds no certificate; "
                        "give the PEM file of the CA that issued the server's certificate",
                        path=where)
    return ssl.create_default_context(cadata=pem)


def _network_error(err: BaseException, url: str, timeout: float) -> NetworkError:
    """Translate what http.client, ssl or socket raised into a :class:`NetworkError`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    where = _peer(host, port)
    if isinstance(err, ssl.SSLCertVerificationError):
        return NetworkError(
            f"the certificate of {where} is not trusted: {err.verify_message}; look at what "
            f"it sends with `certkit check-host {where}` (for a private CA, give its root as "
            "the trust bundle)", host=host, port=port, reason="handshake")
    if isinstance(err, TimeoutError):
        return NetworkError(f"{url} did not answer within {timeout:g}s (a slow or hung "
                            "application, a firewall, or the wrong address)", host=host,
                            port=port, reason="timeout")
    if isinstance(err, socket.gaierror):
        return NetworkError(f"cannot resolve {host}: {err.strerror or err}", host=host,
                            port=port, reason="resolve")
    if isinstance(err, ConnectionRefusedError):
        return NetworkError(f"connection to {where} refused: nothing listens on that port "
                            "(wrong port, or the server is not running)", host=host, port=port,
                            reason="refused")
    if isinstance(err, ssl.SSLError):
        return _handshake_error(err, host, port, timeout)
    if isinstance(err, (http.client.HTTPException, ConnectionError)):
        return NetworkError(f"{where} closed the connection or sent no valid HTTP answer "
                            f"for {url} ({type(err).__name__}: {err})", host=host, port=port,
                            reason="closed")
    text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return NetworkError(f"cannot fetch {url}: {text}", host=host, port=port,
                        reason="unreachable")


def _read_body(response: http.client.HTTPResponse, url: str, *, max_bytes: int,
               deadline: _net.Deadline, timeout: float) -> bytes:
    """The body; more than ``max_bytes`` (decompressed) or reading past the deadline raise."""
    too_large = PageError(f"{url} is larger than {max_bytes} bytes; certkit reads no more "
                          "(pass a larger max_bytes to check it)", url=url, reason="too-large")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    inflate = (zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None)
    chunks: list[bytes] = []
    total = 0
    while True:
        deadline.remaining()  # TimeoutError once it has passed
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, max_bytes + 1 - total)
            except zlib.error as err:
                raise _network_error(http.client.HTTPException(
                    f"its {encoding} body is corrupt: {err}"), url, timeout) from err
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _get(context: ssl.SSLContext, url: str, *, max_bytes: int,
         deadline: _net.Deadline, timeout: float) -> tuple[int, Message, bytes]:
    """GET ``url`` (https, no proxy) before ``deadline``: its status, headers and (for a
    2xx answer) body; 4xx/5xx raise. The deadline bounds connecting, the handshake, the
    headers and the body, however slowly the server sends them."""
    parts = urlsplit(url)
    connection = _net.HTTPSConnection(parts.hostname or "", parts.port or 443,
                                      deadline=deadline, context=context)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with contextlib.closing(connection):
        try:
            connection.request("GET", target, headers={
                "User-Agent": _USER_AGENT, "Connection": "close",
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"})
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as err:
            raise _network_error(err, url, timeout) from err
        with response:
            status: int = response.status
            if status >= 400:
                raise PageError(f"{url} answered {status} {response.reason}: check the address "
                                "(and that the page is public)", url=url, reason="http-status")
            if not 200 <= status < 300:
                return status, response.headers, b""
            try:
                body = _read_body(response, url, max_bytes=max_bytes, deadline=deadline,
                                  timeout=timeout)
            except (OSError, http.client.HTTPException) as err:
                if isinstance(err, NetworkError):
                    raise
                raise _network_error(err, url, timeout) from err
            return status, response.headers, body


def _charset(body: bytes, headers: Message) -> str:
    """The page's encoding as a browser picks it: BOM, then Content-Type, then ``<meta>``."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return name
    declared = headers.get_content_charset()
    if declared is None:
        match = _META_CHARSET.search(body[:1024])
        declared = match.group(1).decode("ascii") if match else None
    try:
        return codecs.lookup(declared).name if declared else "utf-8"
    except LookupError:
        return "utf-8"  # an unknown label: the URLs that matter are ASCII anyway


def _decode(body: bytes, headers: Message, url: str) -> str:
    """The page's HTML as text; refuses a body that is not HTML."""
    if headers.get("Content-Type") is not None and headers.get_content_type() not in _HTML_TYPES:
        raise PageError(f"{url} is {headers.get_content_type()}, not an HTML page: give the "
                        "address of the page that shows the warning", url=url,
                        reason="not-html")
    return body.decode(_charset(body, headers), errors="replace")


def _https_url(url: str) -> str:
    """``url`` if it is an absolute https:// URL with a host; else a :class:`PageError`."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # a bad port raises here
    except ValueError as err:
        raise PageError(f"{url!r} is not a valid URL: {err}", url=url,
                        reason="not-https") from err
    if parts.scheme.lower() == "http":
        raise PageError(f"{url} is plain http: the whole page is insecure, not mixed content. "
                        "Check its https:// address", url=url, reason="not-https")
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise PageError(f"{url!r} is not an https:// address; write it as "
                        "https://host/path", url=url, reason="not-https")
    return url.strip()


def check_page(
    url: str,
    *,
    timeout: float = 10.0,
    trust: _chains.TrustSource | None = None,
    max_bytes: int = MAX_BYTES,
    follow_redirects: bool = True,
) -> PageReport:
    """Fetch the https page at ``url`` and list the ``http://`` resources it embeds.

    The certificate is always verified: against the system store by default, or only
    against ``trust`` (a PEM bundle path or certificates, for a private CA); failures
    raise :class:`~certkit.errors.NetworkError`. No proxy is used. ``timeout`` bounds
    connecting, each wait for data and the whole fetch, redirects included; a page larger
    than ``max_bytes`` raises :class:`~certkit.errors.PageError`, as do an ``http://``
    ``url``, a 4xx/5xx answer, a body that is not HTML and a redirect loop. A redirect to
    ``http://`` is reported as a problem and not followed. With ``follow_redirects``
    false, a redirect's target is not fetched and nothing is scanned. Only the page's own
    HTML is read: stylesheets, scripts and frames it loads over https are not fetched.
    """
    current = _https_url(url)
    context = _ssl_context(trust)
    deadline = _net.Deadline(timeout)
    seen = {current}
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get(context, current, max_bytes=max_bytes, deadline=deadline,
                                     timeout=timeout)
        location = headers.get("Location") if 300 <= status < 400 else None
        if location is None:
            break
        target = urljoin(current, location.strip())
        scheme = urlsplit(target).scheme.lower()
        if scheme == "http":
            problem = (f"{current} redirects ({status}) to {target}: browsers leave https and "
                       "show the page as not secure; redirect to the https:// address instead")
            return PageReport(url, target, status, problems=(problem,))
        if scheme != "https":
            raise PageError(f"{current} redirects to {target!r}, which is not a web page "
                            "address", url=url, reason="redirects")
        if not follow_redirects:
            return PageReport(url, current, status)
        if target in seen:
            raise PageError(f"{url} redirects in a loop (back to {target}): check the server's "
                            "redirect rules", url=url, reason="redirects")
        seen.add(target)
        current = target
    else:
        raise PageError(f"{url} redirects more than {MAX_REDIRECTS} times: check the server's "
                        "redirect rules", url=url, reason="redirects")
    if not 200 <= status < 300:  # a 3xx without a Location, or 1xx: nothing to scan
        return PageReport(url, current, status)
    resources, problems = scan_html(_decode(body, headers, current), current)
    return PageReport(url, current, status, tuple(resources), tuple(problems))

