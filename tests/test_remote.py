"""Fetching what a live TLS server sends, as sent, and checking it like a sysadmin would."""

from __future__ import annotations

import datetime as dt
import pathlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import servers
from conftest import PKI, issue

import certkit
from certkit import Certificate, KeyEntry, KeyStore, check_host, fetch_chain
from certkit._ops.remote import REASON_NOT_RELOADED, REASON_OTHER_VHOST
from certkit.errors import CertkitError, NetworkError

HOST = servers.HOST


@pytest.fixture(scope="module")
def root_pem(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The test root as the trust store."""
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(pki.root.certificate.to_pem())
    return path


def _serve(pki: PKI, tmp_path: pathlib.Path, *certs: Certificate,
           starttls: str | None = None) -> servers.PythonServer:
    manager = servers.python_tls(tmp_path, certs, pki.leaf.key.to_pem(), starttls=starttls)
    server = manager.__enter__()
    _OPEN.append(manager)
    return server


_OPEN: list[object] = []


@pytest.fixture(autouse=True)
def _close_servers() -> Iterator[None]:
    """Stop every Python TLS server a test started."""
    yield
    while _OPEN:
        _OPEN.pop().__exit__(None, None, None)  # type: ignore[attr-defined]


def _ders(chain: certkit.Chain) -> list[bytes]:
    return [c.der for c in chain]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and then says nothing."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(4)
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.fixture
def http_port() -> Iterator[int]:
    """A port that answers anything with a plain HTTP response."""
    yield from _plain_server(greeting=None)


@pytest.fixture
def refusing_smtp_port() -> Iterator[int]:
    """An SMTP server that greets with 554 (no service)."""
    yield from _plain_server(greeting=b"554 no service here\r\n")


def _plain_server(greeting: bytes | None) -> Iterator[int]:
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if greeting is not None:
                        conn.sendall(greeting)
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    listener.close()


class TestFetchChain:
    """fetch_chain returns what the server sends, in its order, unverified."""

    def test_chain_as_sent(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Leaf then intermediate, the same DER."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        assert _ders(fetch_chain(HOST, server.port)) == _ders(certkit.Chain(pki.chain[:2]))

    def test_misordered_chain_is_not_reordered(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Leaf, root, intermediate comes back in exactly that order."""
        sent = (pki.leaf.certificate, pki.root.certificate, pki.intermediate.certificate)
        server = _serve(pki, tmp_path, *sent)
        assert _ders(fetch_chain(HOST, server.port)) == [c.der for c in sent]

    def test_untrusted_leaf_only_is_fetchable(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Nothing is verified: a lone leaf from an unknown CA is returned."""
        server = _serve(pki, tmp_path, pki.leaf.certificate)
        assert _ders(fetch_chain(HOST, server.port)) == [pki.leaf.certificate.der]

    def test_sni_defaults_to_the_host_name(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A name sends itself as SNI, an IP address sends none unless servername is given."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        fetch_chain("localhost", server.port)
        fetch_chain(HOST, server.port)
        fetch_chain(HOST, server.port, servername="www.example.test")
        assert server.sni == ["localhost", None, "www.example.test"]

    @pytest.mark.parametrize("protocol", ["smtp", "imap", "pop3"])
    def test_starttls(self, pki: PKI, tmp_path: pathlib.Path, protocol: str) -> None:
        """SMTP, IMAP and POP3 upgrades reach the same chain."""
        server = _serve(pki, tmp_path, *pki.chain[:2], starttls=protocol)
        chain = fetch_chain(HOST, server.port, starttls=protocol, timeout=5)
        assert _ders(chain) == _ders(certkit.Chain(pki.chain[:2]))

    def test_starttls_refused_is_explained(self, refusing_smtp_port: int) -> None:
        """An SMTP server that does not greet with 220 fails as a STARTTLS error."""
        with pytest.raises(NetworkError, match=r"STARTTLS.*554") as info:
            fetch_chain(HOST, refusing_smtp_port, starttls="smtp", timeout=2)
        assert info.value.reason == "starttls"


class TestNetworkErrors:
    """Failures say what failed, as NetworkError (a CertkitError and an OSError)."""

    def test_refused(self) -> None:
        """Nothing listening: 'refused'."""
        with pytest.raises(NetworkError, match="refused") as info:
            fetch_chain(HOST, servers.free_port(), timeout=2)
        assert info.value.reason == "refused"
        assert isinstance(info.value, CertkitError)
        assert isinstance(info.value, OSError)

    def test_timeout(self, silent_port: int) -> None:
        """A port that never answers the handshake times out."""
        with pytest.raises(NetworkError, match="timed out") as info:
            fetch_chain(HOST, silent_port, timeout=0.5)
        assert info.value.reason == "timeout"

    def test_not_tls(self, http_port: int) -> None:
        """A plain HTTP port is recognised as not TLS."""
        with pytest.raises(NetworkError, match="does not speak TLS") as info:
            fetch_chain(HOST, http_port, timeout=2)
        assert info.value.reason == "not-tls"

    def test_unknown_starttls_protocol(self) -> None:
        """An unsupported STARTTLS protocol is a usage error before any connection."""
        with pytest.raises(ValueError, match="smtp"):
            fetch_chain(HOST, 25, starttls="xmpp")


class TestOneDeadline:
    """``timeout`` bounds the whole exchange: a server dripping one byte every 0.5 s is cut off."""

    @pytest.mark.parametrize(("prefix", "starttls"), [
        (b"\x16\x03\x03\x40\x00\x02", None),  # a 16 KiB handshake record, never finished
        (b"220", "smtp"),  # a greeting line that never ends
        (b"220 fake.test ESMTP\r\n250-fake.test\r\n", "smtp"),  # an endless EHLO reply
        (b"* OK", "imap"),
        (b"", "pop3"),
    ])
    def test_dripping_server(self, prefix: bytes, starttls: str | None) -> None:
        """A peer that keeps every read alive still ends at the deadline, as a timeout."""
        with servers.dripping(prefix, byte=b"-") as server:
            started = time.monotonic()
            with pytest.raises(NetworkError, match="timed out") as info:
                check_host(HOST, server.port, timeout=1, starttls=starttls, trust=None)
            elapsed = time.monotonic() - started
        assert info.value.reason == "timeout"
        assert elapsed < 8  # the deadline (1 s) plus slack; without it this never returns

    def test_silent_server(self, silent_port: int) -> None:
        """check_host against a port that accepts and never speaks ends at the deadline."""
        with pytest.raises(NetworkError, match="timed out"):
            check_host(HOST, silent_port, timeout=1, trust=None)


class TestCheckHost:
    """check_host: order, completeness, expiry, name, and the expected certificate."""

    def test_good_server(self, pki: PKI, tmp_path: pathlib.Path, root_pem: pathlib.Path) -> None:
        """Leaf + intermediate, trusted root: ok."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        report = check_host(HOST, server.port, servername="localhost", trust=root_pem,
                            at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
        assert report.ok, report.problems
        assert report.ordered
        assert report.complete
        assert report.trusted
        assert report.name_matches
        assert report.days_left == (dt.datetime(2099, 12, 31, tzinfo=dt.timezone.utc)
                                    - dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)).days

    def test_leaf_only_names_the_missing_intermediate(self, pki: PKI, tmp_path: pathlib.Path,
                                                      root_pem: pathlib.Path) -> None:
        """Only the leaf served: incomplete, the intermediate named."""
        server = _serve(pki, tmp_path, pki.leaf.certificate)
        report = check_host(HOST, server.port, servername="localhost", trust=root_pem)
        assert not report.ok
        assert not report.complete
        assert report.missing_issuer == pki.intermediate.certificate.subject
        assert any("missing intermediate: " + pki.intermediate.certificate.subject in p
                   for p in report.problems)

    def test_misordered(self, pki: PKI, tmp_path: pathlib.Path, root_pem: pathlib.Path) -> None:
        """Leaf, root, intermediate: reported as not in order, but complete."""
        sent = (pki.leaf.certificate, pki.root.certificate, pki.intermediate.certificate)
        server = _serve(pki, tmp_path, *sent)
        report = check_host(HOST, server.port, servername="localhost", trust=root_pem)
        assert not report.ordered
        assert report.complete
        assert any("not in order" in p for p in report.problems)

    def test_name_mismatch_and_expiry(self, pki: PKI, tmp_path: pathlib.Path,
                                      root_pem: pathlib.Path) -> None:
        """Another name, and a moment after expiry, are both problems."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        report = check_host(HOST, server.port, servername="mail.example.test", trust=root_pem,
                            at=dt.datetime(2100, 6, 1, tzinfo=dt.timezone.utc))
        assert not report.name_matches
        assert report.days_left < 0
        assert any("expired" in p for p in report.problems)
        assert any("not valid for mail.example.test" in p for p in report.problems)

    def test_expected_certificate_served(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """expect= the local store with the root: matches, and the private root is a note."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        local = KeyStore([KeyEntry("localhost", pki.leaf.key, pki.chain)])
        report = check_host(HOST, server.port, servername="localhost", expect=local,
                            trust=[])
        assert report.matches_expected is True
        assert report.ok, report.problems
        assert report.notes

    def test_old_certificate_still_served(self, pki: PKI, tmp_path: pathlib.Path,
                                          root_pem: pathlib.Path) -> None:
        """A renewed certificate not yet served: the reload reasons come first."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        renewed = issue("localhost", issuer=pki.intermediate, sans=("localhost",),
                        not_after=dt.datetime(2100, 12, 31, tzinfo=dt.timezone.utc))
        expected = tmp_path / "renewed.crt"
        expected.write_bytes(renewed.certificate.to_pem())
        report = check_host(HOST, server.port, servername="localhost", expect=expected,
                            trust=root_pem)
        assert report.matches_expected is False
        assert report.reasons[0] == REASON_NOT_RELOADED
        assert any("older certificate" in p for p in report.problems)

    def test_another_site_answers(self, pki: PKI, other_pki: PKI, tmp_path: pathlib.Path,
                                  root_pem: pathlib.Path) -> None:
        """An unrelated certificate answers: another virtual host is the first suspect."""
        server = _serve(pki, tmp_path, *pki.chain[:2])
        report = check_host(HOST, server.port, servername="localhost",
                            expect=other_pki.leaf.certificate, trust=root_pem)
        assert report.reasons[0] == REASON_OTHER_VHOST


@pytest.mark.interop
class TestRealServer:
    """fetch_chain and check_host against nginx serving what a user configured."""

    def test_leaf_only_nginx(self, pki: PKI, tmp_path: pathlib.Path,
                             root_pem: pathlib.Path) -> None:
        """nginx with only the leaf: fetched as is, and the intermediate is named missing."""
        cert = tmp_path / "leaf.pem"
        cert.write_bytes(pki.leaf.certificate.to_pem())
        key = tmp_path / "key.pem"
        key.write_bytes(pki.leaf.key.to_pem())
        with servers.nginx(tmp_path / "nginx",
                           f"ssl_certificate {cert};\nssl_certificate_key {key};") as server:
            fetched = fetch_chain(HOST, server.port, servername="localhost")
            assert _ders(fetched) == [pki.leaf.certificate.der]
            report = check_host(HOST, server.port, servername="localhost", trust=root_pem)
        assert report.missing_issuer == pki.intermediate.certificate.subject
        assert not report.ok

    def test_misordered_nginx(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """nginx with leaf, root, intermediate: fetch_chain keeps the configured order."""
        sent = (pki.leaf.certificate, pki.root.certificate, pki.intermediate.certificate)
        cert = tmp_path / "chain.pem"
        cert.write_bytes(b"".join(c.to_pem() for c in sent))
        key = tmp_path / "key.pem"
        key.write_bytes(pki.leaf.key.to_pem())
        with servers.nginx(tmp_path / "nginx",
                           f"ssl_certificate {cert};\nssl_certificate_key {key};") as server:
            assert _ders(fetch_chain(HOST, server.port, servername="localhost")) == [
                c.der for c in sent]
