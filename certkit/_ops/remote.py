"""Ask a live TLS server for the chain it sends, and check it against what should be served.

:func:`fetch_chain` returns the certificates exactly as the server sends them (its order,
duplicates and strays included) without verifying anything, so broken chains can be
looked at. :func:`check_host` turns that into a :class:`HostReport`: order, completeness
(naming the missing intermediate), expiry, the name, and whether the server serves the
certificate a local file holds — and if not, the usual reasons why.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import ipaddress
import math
import os
import socket
import ssl
import warnings
from collections.abc import Callable

import attrs

from certkit._model import Certificate, Chain, KeyStore
from certkit._ops import _net
from certkit._ops import chains as _chains
from certkit.errors import ChainError, DecodeError, NetworkError

__all__ = ["STARTTLS_PROTOCOLS", "HostReport", "check_host", "fetch_chain"]

#: Protocols :func:`fetch_chain` can upgrade with STARTTLS before the handshake.
STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3")

#: Longest line read from a STARTTLS server, and most lines of one reply.
_MAX_LINE = 4096
_MAX_LINES = 100

#: What :func:`check_host` suggests when the server does not serve the expected certificate.
REASON_NOT_RELOADED = (
    "the server was not restarted or reloaded after the files were replaced "
    "(apachectl graceful, nginx -s reload, restart Tomcat, reload HAProxy)")
REASON_OTHER_FILE = (
    "the configuration points at another file than the one that was replaced (check "
    "SSLCertificateFile, ssl_certificate, certificateKeystoreFile, the crt path; an Include "
    "further down may override it)")
REASON_OTHER_VHOST = (
    "another virtual host or SNI name answers: a server block or <VirtualHost> for this name "
    "is missing or not matched, so the default one answers (try --servername)")
REASON_PROXY = (
    "a load balancer, reverse proxy or CDN in front terminates TLS with its own copy of the "
    "certificate; install the new one there")
REASON_SEVERAL_SERVERS = (
    "several servers answer for this name (DNS round robin, a cluster): one of them was not "
    "updated; check each address")
REASON_IIS_BINDING = (
    "IIS: the site's https binding still selects the old certificate (Site > Bindings > "
    "https > SSL certificate), or the new one was imported without its private key")
REASON_CACHED_CHAIN = (
    "the leaf is the expected one but the chain differs: an old intermediate file is still "
    "configured (SSLCertificateChainFile, a cached ca-bundle)")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # broken and untrusted chains must be fetchable too
    # Old servers (TLS 1.0, SHA-1, small keys) are the ones most worth diagnosing.
    with contextlib.suppress(ssl.SSLError, ValueError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    with contextlib.suppress(ValueError, AttributeError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated for clients, not here
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


def _peer(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect(host: str, port: int, deadline: _net.Deadline) -> socket.socket:
    where = _peer(host, port)
    timeout = deadline.timeout
    try:
        return _net.connect(host.strip("[]"), port, deadline)
    except socket.gaierror as err:
        raise NetworkError(f"cannot resolve {host}: {err.strerror or err}", host=host, port=port,
                           reason="resolve") from err
    except ConnectionRefusedError as err:
        raise NetworkError(f"connection to {where} refused: nothing listens on that port "
                           "(wrong port, or the server is not running)", host=host, port=port,
                           reason="refused") from err
    except TimeoutError as err:
        raise NetworkError(f"connection to {where} timed out after {timeout:g}s (a firewall, "
                           "or the wrong address)", host=host, port=port,
                           reason="timeout") from err
    except OSError as err:
        raise NetworkError(f"cannot connect to {where}: {err.strerror or err}", host=host,
                           port=port, reason="unreachable") from err


class _Lines:
    """Line reading for the STARTTLS dialogues, bounded in length and count."""

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        self.sock = sock
        self.host = host
        self.port = port
        self.buffer = b""

    def fail(self, message: str) -> NetworkError:
        return NetworkError(f"STARTTLS with {_peer(self.host, self.port)} failed: {message}",
                            host=self.host, port=self.port, reason="starttls")

    def line(self) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                raise self.fail("the server sent an overlong line")
            chunk = self.sock.recv(1024)
            if not chunk:
                raise self.fail("the server closed the connection")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\n", 1)
        return raw.rstrip(b"\r").decode("latin-1")

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("ascii") + b"\r\n")

    def smtp_reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        for _ in range(_MAX_LINES):
            text = self.line()
            lines.append(text)
            if len(text) < 4 or not text[:3].isdigit():
                raise self.fail(f"not an SMTP reply: {text[:80]!r}")
            if text[3] != "-":
                return int(text[:3]), lines
        raise self.fail("the SMTP reply has too many lines")


def _starttls(sock: socket.socket, protocol: str, host: str, port: int) -> None:
    lines = _Lines(sock, host, port)
    if protocol == "smtp":
        code, _ = lines.smtp_reply()
        if code != 220:
            raise lines.fail(f"the SMTP greeting is {code}, not 220")
        lines.send("EHLO certkit.invalid")
        code, ehlo = lines.smtp_reply()
        if code != 250 or not any(x[4:].strip().upper() == "STARTTLS" for x in ehlo):
            raise lines.fail("the SMTP server does not offer STARTTLS")
        lines.send("STARTTLS")
        code, reply = lines.smtp_reply()
        if code != 220:
            raise lines.fail(f"the SMTP server answered STARTTLS with {reply[-1][:80]!r}")
    elif protocol == "imap":
        greeting = lines.line()
        if not greeting.upper().startswith("* OK"):
            raise lines.fail(f"not an IMAP greeting: {greeting[:80]!r}")
        lines.send("a1 STARTTLS")
        for _ in range(_MAX_LINES):
            text = lines.line()
            if text.startswith("a1 "):
                if not text[3:].upper().startswith("OK"):
                    raise lines.fail(f"the IMAP server answered STARTTLS with {text[:80]!r}")
                break
        else:
            raise lines.fail("no answer to STARTTLS from the IMAP server")
    elif protocol == "pop3":
        greeting = lines.line()
        if not greeting.startswith("+OK"):
            raise lines.fail(f"not a POP3 greeting: {greeting[:80]!r}")
        lines.send("STLS")
        answer = lines.line()
        if not answer.startswith("+OK"):
            raise lines.fail(f"the POP3 server answered STLS with {answer[:80]!r}")
    else:
        raise ValueError(f"unknown STARTTLS protocol {protocol!r}; choose "
                         f"{', '.join(STARTTLS_PROTOCOLS)}")
    if lines.buffer:
        raise lines.fail("the server sent data after agreeing to STARTTLS")


def _handshake_error(err: Exception, host: str, port: int, timeout: float) -> NetworkError:
    where = _peer(host, port)
    text = str(err)
    if isinstance(err, TimeoutError):
        return NetworkError(f"the TLS handshake with {where} timed out after {timeout:g}s "
                            "(is it a TLS port?)", host=host, port=port, reason="timeout")
    markers = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
               "packet length too long", "HTTP_REQUEST", "http request", "unknown protocol")
    if any(marker in text for marker in markers):
        return NetworkError(f"{where} does not speak TLS (plain HTTP, or a protocol that needs "
                            "STARTTLS?)", host=host, port=port, reason="not-tls")
    if isinstance(err, (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError)):
        return NetworkError(f"{where} closed the connection during the TLS handshake (no "
                            "certificate configured for that name, or not a TLS port)",
                            host=host, port=port, reason="closed")
    if isinstance(err, ssl.SSLError):
        reason = getattr(err, "reason", None) or text
        return NetworkError(f"TLS handshake with {where} failed: {reason}", host=host, port=port,
                            reason="handshake")
    return NetworkError(f"talking to {where} failed: {text}", host=host, port=port,
                        reason="closed")


def _der_items(tls: ssl.SSLSocket) -> list[bytes]:
    """The DER certificates the peer sent, through whichever API this Python has."""
    public: Callable[[], object] | None = getattr(tls, "get_unverified_chain", None)
    # Python 3.13+ has the public method (a list of DER bytes); 3.10-3.12 only the private
    # _ssl one, which returns _ssl.Certificate objects.
    items = public() if public is not None else tls._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
    out: list[bytes] = []
    for item in items or []:  # type: ignore[union-attr]
        if isinstance(item, (bytes, bytearray)):
            out.append(bytes(item))
        else:
            out.append(item.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
    return out


def fetch_chain(
    host: str,
    port: int = 443,
    *,
    servername: str | None = None,
    timeout: float = 10.0,
    starttls: str | None = None,
) -> Chain:
    """Return the certificates ``host:port`` sends, **in the order it sends them**.

    Nothing is verified or reordered, so a misordered or incomplete chain comes back as
    served (the first is normally the leaf). The SNI name is ``servername``, else ``host``
    unless it is an IP address (then no SNI is sent). ``starttls`` (``"smtp"``,
    ``"imap"``, ``"pop3"``) upgrades a plain-text mail connection first. ``timeout``
    bounds the whole exchange (resolving, connecting, the STARTTLS dialogue and the
    handshake), however slowly the server answers. Failures raise
    :class:`~certkit.errors.NetworkError` saying what failed.
    """
    if starttls is not None and starttls not in STARTTLS_PROTOCOLS:
        raise ValueError(f"unknown STARTTLS protocol {starttls!r}; choose "
                         f"{', '.join(STARTTLS_PROTOCOLS)}")
    sni = servername if servername is not None else (None if _is_ip(host) else host)
    # One deadline for the whole exchange: a server that drips its greeting or handshake
    # one byte at a time costs ``timeout`` seconds, not forever.
    deadline = _net.Deadline(timeout)
    sock = _connect(host, port, deadline)
    try:
        if starttls is not None:
            try:
                _starttls(sock, starttls, host, port)
            except TimeoutError as err:
                raise NetworkError(f"STARTTLS with {_peer(host, port)} timed out after "
                                   f"{timeout:g}s", host=host, port=port,
                                   reason="timeout") from err
            except OSError as err:
                if isinstance(err, NetworkError):
                    raise
                raise NetworkError(f"STARTTLS with {_peer(host, port)} failed: {err}",
                                   host=host, port=port, reason="starttls") from err
        try:
            with _net.wrap_tls(_context(), sock, sni) as tls:
                ders = _der_items(tls)
        except (ssl.SSLError, OSError) as err:
            raise _handshake_error(err, host, port, timeout) from err
    finally:
        sock.close()
    if not ders:
        raise NetworkError(f"{_peer(host, port)} completed the handshake without sending a "
                           "certificate", host=host, port=port, reason="no-certificate")
    try:
        return Chain(Certificate(der) for der in ders)
    except DecodeError as err:
        raise DecodeError(f"{_peer(host, port)} sent a certificate certkit cannot read: {err}",
                          source=_peer(host, port)) from err


@attrs.frozen
class HostReport:
    """What a server serves and what is wrong with it; ``ok`` when ``problems`` is empty.

    ``chain`` is as served (leaf first when the server is configured right). ``verdict``
    is :func:`~certkit.chain_verdict`'s word on it, worded as every command words it.
    ``complete`` is true when every intermediate was sent (a chain ending at a private root
    the trust store lacks is complete, and the verdict says so in ``notes``); otherwise
    ``missing_issuer`` names what is missing.
    ``matches_expected`` is ``None`` without ``expect``; when it is false, ``reasons``
    lists the usual causes, most likely first. ``notes`` say what is worth knowing but not
    wrong (a chain ending at a private root the trust store does not hold).
    """

    host: str
    port: int
    servername: str | None
    chain: Chain
    ordered: bool
    complete: bool
    missing_issuer: str | None
    trusted: bool
    not_after: _dt.datetime
    days_left: int
    name_matches: bool
    expected: Certificate | None = None
    matches_expected: bool | None = None
    reasons: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    verdict: _chains.ChainVerdict | None = None

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def leaf(self) -> Certificate:
        """The first certificate the server sent."""
        return self.chain.certificates[0]


def _expected_chain(expect: Certificate | Chain | KeyStore | str | os.PathLike[str]) -> Chain:
    if isinstance(expect, Certificate):
        return Chain([expect])
    if isinstance(expect, Chain):
        return expect
    if not isinstance(expect, KeyStore):
        from certkit._ops.api import load  # noqa: PLC0415 - avoids a cycle at import time

        expect = load(expect)
    keyed = [e for e in expect.key_entries if e.chain]
    if len(keyed) == 1:
        return keyed[0].chain
    certs = expect.certificates
    if not certs:
        raise ChainError("the expected file holds no certificate to compare with")
    leaves = [c for c in certs if not c.is_ca] or list(certs)
    try:
        return _chains.order_chain(certs)
    except ChainError:
        return Chain(leaves[:1])


def check_host(
    host: str,
    port: int = 443,
    *,
    servername: str | None = None,
    expect: Certificate | Chain | KeyStore | str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    at: _dt.datetime | None = None,
    trust: _chains.TrustSource | None = "system",
    starttls: str | None = None,
) -> HostReport:
    """Fetch what ``host:port`` serves and report order, completeness, expiry and the name.

    ``trust`` (default the system store; a PEM path or certificates for a private CA)
    decides whether the chain's top reaches a known root; the certificates of ``expect``
    (a certificate, chain, store or file) count too. With ``expect``, the report says
    whether the server serves that leaf, and if not, the usual reasons. ``at`` is the
    moment for expiry (default now).
    """
    served = fetch_chain(host, port, servername=servername, timeout=timeout, starttls=starttls)
    moment = at if at is not None else _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    name = servername if servername is not None else host
    leaf = served.certificates[0]
    problems: list[str] = []
    notes: list[str] = []

    ordered = served.broken_link is None
    links = judged = served
    if not ordered:
        try:
            links = judged = _chains.order_chain(served)
            problems.append("the chain is not in order (each certificate should be followed by "
                            "its issuer, leaf first): served as "
                            + " → ".join(c.subject for c in served))
        except ChainError as err:
            problems.append(f"the server sends certificates that are not one chain: {err}")
            links = Chain(served.certificates[: (served.broken_link or 0) + 1])
        if links.leaf is not None and links.leaf.der != leaf.der:
            problems.append(f"the first certificate sent is {leaf.subject}, not the leaf "
                            f"({links.leaf.subject})")
            leaf = links.leaf

    expected_chain = _expected_chain(expect) if expect is not None else None
    anchors = _chains.trust_pool(trust)
    local = _chains.CertificatePool(expected_chain or ())
    # Judged in order when it can be put in order, else as sent (then it is broken).
    verdict = _chains.chain_verdict(judged, trust=anchors, pool=local)
    missing = verdict.missing_issuer if verdict.code == "missing-intermediate" else None
    trusted = verdict.trusted
    complete = verdict.code not in {"missing-intermediate", "broken"}
    if verdict.problem:
        problems.append(f"{verdict.message}; {verdict.fix}")
    elif not verdict.ok:
        notes.append(verdict.message)

    not_after = leaf.not_after
    days_left = math.floor((not_after - moment).total_seconds() / 86400)
    if not_after < moment:
        problems.append(f"the certificate {leaf.subject} expired on {not_after:%Y-%m-%d}")
    elif leaf.not_before > moment:
        problems.append(f"the certificate {leaf.subject} is valid only from "
                        f"{leaf.not_before:%Y-%m-%d}")
    problems.extend(f"the chain certificate {cert.subject} expired on {cert.not_after:%Y-%m-%d}"
                    for cert in links.certificates[1:] if cert.not_after < moment)

    name_matches = leaf.matches_hostname(name.strip("[]"))
    if not name_matches:
        problems.append(f"the certificate is not valid for {name} (its names: "
                        f"{', '.join(leaf.san) or 'none'})")

    expected: Certificate | None = None
    matches: bool | None = None
    reasons: list[str] = []
    if expected_chain is not None:
        expected = expected_chain.leaf
        matches = expected is not None and expected.der == leaf.der
        if not matches and expected is not None:
            older = leaf.not_after < expected.not_after
            problems.append(
                f"the server serves {leaf.subject} (serial {leaf.serial_number:x}, expires "
                f"{leaf.not_after:%Y-%m-%d}), not the expected {expected.subject} (serial "
                f"{expected.serial_number:x}, expires {expected.not_after:%Y-%m-%d})"
                + (": an older certificate" if older else ""))
            same_names = (leaf.subject == expected.subject
                          or bool(set(leaf.san) & set(expected.san)))
            if same_names:
                reasons = [REASON_NOT_RELOADED, REASON_OTHER_FILE, REASON_IIS_BINDING,
                           REASON_PROXY, REASON_SEVERAL_SERVERS, REASON_OTHER_VHOST]
            else:
                reasons = [REASON_OTHER_VHOST, REASON_PROXY, REASON_OTHER_FILE,
                           REASON_NOT_RELOADED, REASON_IIS_BINDING, REASON_SEVERAL_SERVERS]
        elif matches:
            wanted = [c.der for c in expected_chain.certificates[1:] if not c.is_self_signed]
            sent = [c.der for c in links.certificates[1:] if not c.is_self_signed]
            if wanted and sent != wanted:
                problems.append("the server serves the expected certificate but a different "
                                "chain than the expected file holds")
                reasons = [REASON_CACHED_CHAIN, REASON_NOT_RELOADED]
    return HostReport(
        host=host, port=port, servername=servername, chain=served, ordered=ordered,
        complete=complete, missing_issuer=missing, trusted=trusted, not_after=not_after,
        days_left=days_left, name_matches=name_matches, expected=expected,
        matches_expected=matches, reasons=tuple(reasons), problems=tuple(problems),
        notes=tuple(notes), verdict=verdict)
