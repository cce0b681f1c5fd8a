"""Tests for certkit._ops.chains: ordering bags, building chains (pool, trust, AIA), verifying."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import itertools
import pathlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
import servers
from conftest import NOT_AFTER, NOT_BEFORE, PKI, issue, make_key, openssl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

import certkit
from certkit import Certificate, CertificatePool, Chain, KeyStore, PrivateKey, TrustedCertEntry
from certkit._ops import _net
from certkit._ops.chains import build
from certkit.errors import ChainError, ReadError


def _name(common_name: str) -> x509.Name:
    """A test subject name."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(
    subject: str, key: PrivateKey, issuer: tuple[str, PrivateKey] | None = None, *,
    ca: bool = True, not_before: dt.datetime = NOT_BEFORE, not_after: dt.datetime = NOT_AFTER,
    aia: str | None = None, sans: Sequence[str] = (),
) -> Certificate:
    """A certificate with full control over names, keys, dates and the AIA caIssuers URL."""
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    if aia:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(aia))]), critical=False)
    return Certificate.from_x509(builder.sign(issuer_key.key, hashes.SHA256()))  # type: ignore[arg-type]


class _Hierarchy:
    """Root → intermediate → leaf, plus a cross-signed and an expired copy of the intermediate."""

    def __init__(self, aia: str | None = None) -> None:
        self.root_key, self.old_root_key = make_key("EC-P256"), make_key("EC-P256")
        self.inter_key, self.leaf_key = make_key("EC-P256"), make_key("EC-P256")
        self.root = _cert("Root", self.root_key)
        self.old_root = _cert("Old Root", self.old_root_key,
                              not_before=dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc))
        self.inter = _cert("Issuing CA", self.inter_key, ("Root", self.root_key))
        # Same subject and key, signed by another root, newer: a cross-signed alternative.
        self.cross = _cert("Issuing CA", self.inter_key, ("Old Root", self.old_root_key),
                           not_before=dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))
        self.expired = _cert("Issuing CA", self.inter_key, ("Root", self.root_key),
                             not_before=dt.datetime(2010, 1, 1, tzinfo=dt.timezone.utc),
                             not_after=dt.datetime(2012, 1, 1, tzinfo=dt.timezone.utc))
        self.leaf = _cert("www.example.test", self.leaf_key, ("Issuing CA", self.inter_key),
                          ca=False, aia=aia, sans=("www.example.test",))


@pytest.fixture(scope="module")
def four(pki: PKI) -> tuple[Certificate, ...]:
    """A four-certificate chain, leaf first: leaf → issuing CA → policy CA → root."""
    policy = issue("Policy CA", issuer=pki.root, ca=True)
    issuing = issue("Issuing CA", issuer=policy, ca=True)
    leaf = issue("four.example.test", issuer=issuing, sans=("four.example.test",))
    return (leaf.certificate, issuing.certificate, policy.certificate, pki.root.certificate)


class TestOrderChain:
    """``order_chain`` puts any bag leaf first by signature, or names what does not belong."""

    def test_every_permutation(self, four: tuple[Certificate, ...]) -> None:
        """All 24 orders of a four-certificate chain give the same leaf-first chain."""
        for permutation in itertools.permutations(four):
            assert order_chain_list(permutation) == list(four)

    def test_duplicates_are_dropped(self, four: tuple[Certificate, ...]) -> None:
        """A certificate given twice appears once."""
        assert order_chain_list([*four, four[1], four[0]]) == list(four)

    def test_empty_and_single(self, pki: PKI) -> None:
        """No certificates give an empty chain; one gives a chain of one."""
        assert certkit.order_chain([]) == Chain()
        assert list(certkit.order_chain([pki.leaf.certificate])) == [pki.leaf.certificate]

    def test_strays_are_named(self, pki: PKI, other_pki: PKI) -> None:
        """Unrelated certificates raise ChainError listing their subjects."""
        with pytest.raises(ChainError, match="Other") as info:
            certkit.order_chain([other_pki.leaf.certificate, *pki.chain,
                                 other_pki.root.certificate])
        assert set(info.value.strays) == {other_pki.leaf.certificate.subject,
                                          other_pki.root.certificate.subject}

    def test_by_signature_not_name(self, pki: PKI) -> None:
        """An impostor with the intermediate's name but another key is not linked in."""
        impostor = issue("certkit Test Intermediate CA", issuer=pki.root, ca=True)
        bag = [pki.root.certificate, pki.leaf.certificate, impostor.certificate]
        with pytest.raises(ChainError) as info:
            certkit.order_chain(bag)
        assert len(info.value.strays) == 1
        chain = certkit.order_chain([pki.leaf.certificate, pki.intermediate.certificate,
                                     pki.root.certificate])
        assert chain.is_complete

    def test_cross_signed_alternative_is_not_one_chain(self) -> None:
        """Two issuers for one certificate fork the bag: the extra one is a stray."""
        h = _Hierarchy()
        with pytest.raises(ChainError) as info:
            certkit.order_chain([h.leaf, h.inter, h.cross, h.root])
        assert info.value.strays == (h.cross.subject,)


def order_chain_list(certs: Sequence[Certificate]) -> list[Certificate]:
    """``order_chain`` as a plain list."""
    return list(certkit.order_chain(certs))


class TestBuildChain:
    """``build_chain`` completes a leaf from a pool, then a trust store, choosing paths stably."""

    def test_unordered_pool_with_noise(self, other_pki: PKI) -> None:
        """Unrelated, expired and cross-signed certificates in the pool do not confuse it."""
        h = _Hierarchy()
        pool = [other_pki.root.certificate, h.expired, h.cross, h.old_root, h.root, h.inter,
                other_pki.intermediate.certificate]
        chain = certkit.build_chain(h.leaf, pool, trust=[h.root])
        assert list(chain) == [h.leaf, h.inter, h.root]
        assert chain.is_complete

    def test_choice_does_not_depend_on_pool_order(self) -> None:
        """Every order of the pool gives the same chain."""
        h = _Hierarchy()
        pool = [h.expired, h.cross, h.old_root, h.root, h.inter]
        results = {tuple(certkit.build_chain(h.leaf, p)) for p in itertools.permutations(pool)}
        assert len(results) == 1

    def test_newest_wins_between_equal_paths(self) -> None:
        """Without trust, two three-certificate paths tie and the newer issuer wins."""
        h = _Hierarchy()
        chain = certkit.build_chain(h.leaf, [h.inter, h.cross, h.root, h.old_root])
        assert list(chain) == [h.leaf, h.cross, h.old_root]

    def test_shortest_path_to_trusted_root_beats_newest(self) -> None:
        """With trust, the path reaching a trusted root wins over the newer cross-sign."""
        h = _Hierarchy()
        chain = certkit.build_chain(h.leaf, [h.inter, h.cross, h.old_root], trust=[h.root])
        assert list(chain) == [h.leaf, h.inter, h.root]

    def test_shortest_path_wins(self) -> None:
        """When the old root is itself cross-signed by the root, the direct path is shorter."""
        h = _Hierarchy()
        old_by_root = _cert("Old Root", h.old_root_key, ("Root", h.root_key),
                            not_before=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
        chain = certkit.build_chain(h.leaf, [h.cross, old_by_root, h.inter], trust=[h.root])
        assert list(chain) == [h.leaf, h.inter, h.root]
        chain = certkit.build_chain(h.leaf, [h.cross, old_by_root], trust=[h.root])
        assert list(chain) == [h.leaf, h.cross, old_by_root, h.root]

    def test_missing_intermediate_is_named(self) -> None:
        """Without the intermediate the chain stays the leaf, and missing_issuer names it."""
        h = _Hierarchy()
        chain = certkit.build_chain(h.leaf, [h.root, h.old_root], trust=[h.root])
        assert list(chain) == [h.leaf]
        assert not chain.is_complete
        assert chain.missing_issuer == "CN=Issuing CA"

    def test_pool_from_files_and_folders(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Pool files and folders are read by content; non-certificate files are skipped."""
        folder = tmp_path / "cas"
        folder.mkdir()
        (folder / "inter.cer").write_bytes(pki.intermediate.certificate.der)
        (folder / "readme.txt").write_text("hello")
        root_file = tmp_path / "root.pem"
        root_file.write_bytes(pki.root.certificate.to_pem())
        pool = CertificatePool([folder, root_file])
        assert len(pool) == 2
        assert [p for p, _ in pool.skipped] == [str(folder / "readme.txt")]
        built = build(pki.leaf.certificate, pool)
        assert list(built.chain) == list(pki.chain)
        assert built.origins == ("leaf", str(folder / "inter.cer"), str(root_file))

    def test_trust_bundle_path(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A PEM bundle path as trust store supplies the root."""
        bundle = tmp_path / "roots.pem"
        bundle.write_bytes(pki.root.certificate.to_pem())
        built = build(pki.leaf.certificate, [pki.intermediate.certificate], trust=bundle)
        assert built.trusted
        assert built.origins[-1] == "trust store"
        assert list(built.chain) == list(pki.chain)

    def test_trusted_intermediate_then_root(self, pki: PKI) -> None:
        """A trust store holding the intermediate and root ends at the root, not halfway."""
        chain = certkit.build_chain(pki.leaf.certificate, trust=list(pki.chain))
        assert list(chain) == list(pki.chain)

    def test_system_and_certifi_stores(self, pki: PKI) -> None:
        """The named stores load; a private hierarchy stays incomplete, without raising."""
        for name in ("system", "certifi"):
            chain = certkit.build_chain(pki.leaf.certificate, [pki.intermediate.certificate],
                                        trust=name)
            assert list(chain) == [pki.leaf.certificate, pki.intermediate.certificate]
            assert chain.missing_issuer == pki.root.certificate.subject

    def test_certifi_missing(self, pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
        """Asking for certifi when it is not installed says how to fix it."""
        monkeypatch.setitem(sys.modules, "certifi", None)
        with pytest.raises(ReadError, match="pip install certifi"):
            certkit.build_chain(pki.leaf.certificate, trust="certifi")

    def test_self_signed_leaf(self) -> None:
        """A self-signed leaf is its own complete chain."""
        cert = _cert("alone", make_key("EC-P256"), ca=False)
        assert list(certkit.build_chain(cert)) == [cert]


# -- AIA fetching --------------------------------------------------------------------------


class _Server:
    """An http.server on 127.0.0.1 (port 0) in a thread, answering with a given handler."""

    def __init__(self, respond: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[str] = []
        self.sent = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    respond(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # shutdown() waits for the loop to notice; the default half-second poll made every
        # test with two servers wait a second in teardown.
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., _Server]]:
    """Start local HTTP servers for a test (no proxy in the way), stopping them afterwards."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    servers: list[_Server] = []

    def start(respond: Callable[[http.server.BaseHTTPRequestHandler], None]) -> _Server:
        server = _Server(respond)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _answer(body: bytes, content_type: str) -> Callable[[http.server.BaseHTTPRequestHandler],
                                                        None]:
    """A handler that answers every GET with ``body``."""
    def respond(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return respond


class _Late:
    """A handler whose body is chosen after the server (and so its URL) exists."""

    body = b""

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        _answer(self.body, "application/pkix-cert")(handler)


class TestFetch:
    """``fetch=True`` follows the leaf's caIssuers URL to a local server, within limits."""

    @pytest.mark.parametrize("encoding", ["der", "pem", "pkcs7"])
    def test_fetches_intermediate(self, serve: Callable[..., _Server], encoding: str) -> None:
        """The intermediate served as DER, PEM or PKCS#7 completes the chain with the trust."""
        late = _Late()
        server = serve(late)
        h = _Hierarchy(aia=f"{server.url}/issuing-ca.{encoding}")
        store = KeyStore([TrustedCertEntry("ca", h.inter)])
        late.body = {"der": h.inter.der, "pem": h.inter.to_pem(),
                     "pkcs7": certkit.dump(store, "pkcs7")}[encoding]
        assert not certkit.build_chain(h.leaf, trust=[h.root]).is_complete
        built = build(h.leaf, trust=[h.root], fetch=True)
        assert list(built.chain) == [h.leaf, h.inter, h.root]
        assert built.origins[1] == f"{server.url}/issuing-ca.{encoding}"
        assert server.requests == [f"/issuing-ca.{encoding}"]

    def test_no_fetch_without_asking(self, serve: Callable[..., _Server]) -> None:
        """Without fetch=True nothing is downloaded."""
        server = serve(_answer(b"", "text/plain"))
        h = _Hierarchy(aia=f"{server.url}/x.der")
        certkit.build_chain(h.leaf, trust=[h.root])
        assert server.requests == []

    def test_hanging_server_times_out(self, serve: Callable[..., _Server]) -> None:
        """A server that never answers costs one short timeout and leaves a note."""
        release = threading.Event()

        def hang(handler: http.server.BaseHTTPRequestHandler) -> None:
            release.wait(10)

        server = serve(hang)
        h = _Hierarchy(aia=f"{server.url}/slow.der")
        started = time.monotonic()
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=0.5)
        elapsed = time.monotonic() - started
        release.set()
        assert list(built.chain) == [h.leaf]
        assert elapsed < 5
        assert built.notes
        assert "slow.der" in built.notes[0]

    def test_huge_answer_is_capped(self, serve: Callable[..., _Server]) -> None:
        """A 50 MB answer is abandoned after about 1 MiB, without buffering it all."""
        total = 50 * 1024 * 1024
        counter = {"sent": 0}

        def flood(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Length", str(total))
            handler.end_headers()
            chunk = b"\x00" * 65536
            while counter["sent"] < total:
                handler.wfile.write(chunk)
                counter["sent"] += len(chunk)

        server = serve(flood)
        h = _Hierarchy(aia=f"{server.url}/huge.der")
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert list(built.chain) == [h.leaf]
        assert "larger than" in built.notes[0]
        time.sleep(0.2)
        assert counter["sent"] < total

    def test_loop_guard(self, serve: Callable[..., _Server]) -> None:
        """A URL answering with an unrelated certificate is asked once, then building stops."""
        late = _Late()
        server = serve(late)
        h = _Hierarchy(aia=f"{server.url}/self.der")
        late.body = h.leaf.der
        built = build(h.leaf, fetch=True, timeout=2)
        assert list(built.chain) == [h.leaf]
        assert server.requests == ["/self.der"]
        assert "did not hold the issuer" in built.notes[0]

    def test_https_urls_are_not_followed(self) -> None:
        """Only http caIssuers URLs are used; others leave a note and no network use."""
        h = _Hierarchy(aia="https://127.0.0.1:9/ca.der")
        built = build(h.leaf, fetch=True, timeout=1)
        assert "only http" in built.notes[0]


def _redirect(location: str) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def respond(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return respond


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A resolver from a name to a chosen address, and a network that carries public addresses
    to 127.0.0.1 (same port): a local server can then stand for a public one."""
    names: dict[str, str] = {}
    real_lookup = _net._lookup
    real_connect = _net._Socket.connect

    def lookup(host: str, port: int) -> list[_net.Address]:
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real_lookup(host, port)

    def connect(self: _net._Socket, address: tuple[str, int]) -> None:
        host, port = address
        if not ipaddress.ip_address(host).is_private:
            host = "127.0.0.1"
        real_connect(self, (host, port))

    monkeypatch.setattr(_net, "_lookup", lookup)
    monkeypatch.setattr(_net._Socket, "connect", connect)
    return names


class TestFetchLimits:
    """AIA fetches: one deadline for everything, and redirects held on a short lead."""

    @pytest.mark.parametrize("prefix", [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nX-Drip: ",  # headers
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0",  # body
        b"",  # the status line
    ])
    def test_dripping_server(self, prefix: bytes) -> None:
        """A server sending a byte every 0.5 s forever is cut off at the deadline, with a note."""
        with servers.dripping(prefix) as server:
            h = _Hierarchy(aia=f"http://127.0.0.1:{server.port}/drip.der")
            started = time.monotonic()
            built = build(h.leaf, trust=[h.root], fetch=True, timeout=1)
            elapsed = time.monotonic() - started
        assert list(built.chain) == [h.leaf]
        assert elapsed < 6  # the deadline (1 s) plus slack; without it this never returns
        assert "no complete answer within 1s" in built.notes[0]

    @pytest.mark.slow
    def test_build_chain_with_a_two_second_timeout(self) -> None:
        """The issue's case: build_chain(fetch=True, timeout=2) on a dripping server returns."""
        with servers.dripping(b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n") as server:
            h = _Hierarchy(aia=f"http://127.0.0.1:{server.port}/drip.der")
            started = time.monotonic()
            chain = certkit.build_chain(h.leaf, trust=[h.root], fetch=True, timeout=2)
            elapsed = time.monotonic() - started
        assert list(chain) == [h.leaf]
        assert elapsed < 8

    def test_redirects_are_followed(self, serve: Callable[..., _Server]) -> None:
        """A redirect (internal to internal, as the certificate named) is followed."""
        late = _Late()
        target = serve(late)
        first = serve(_redirect(f"{target.url}/real.der"))
        h = _Hierarchy(aia=f"{first.url}/moved.der")
        late.body = h.inter.der
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert list(built.chain) == [h.leaf, h.inter, h.root]
        assert target.requests == ["/real.der"]

    def test_at_most_three_redirects(self, serve: Callable[..., _Server]) -> None:
        """A fourth redirect is not followed, and the note says why."""
        hops: list[str] = []

        def again(handler: http.server.BaseHTTPRequestHandler) -> None:
            hops.append(handler.path)
            _redirect(f"/hop{len(hops)}")(handler)

        server = serve(again)
        h = _Hierarchy(aia=f"{server.url}/hop0")
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert hops == ["/hop0", "/hop1", "/hop2", "/hop3"]
        assert "more than 3 redirects" in built.notes[0]

    @pytest.mark.parametrize("location", ["ftp://127.0.0.1/ca.der", "file:///etc/passwd"])
    def test_only_http_and_https(self, serve: Callable[..., _Server], location: str) -> None:
        """A redirect to another scheme is refused."""
        server = serve(_redirect(location))
        h = _Hierarchy(aia=f"{server.url}/ca.der")
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert "not an http or https URL" in built.notes[0]

    @pytest.mark.parametrize("inside", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
    def test_public_name_cannot_redirect_inside(self, serve: Callable[..., _Server],
                                                fake_dns: dict[str, str], inside: str) -> None:
        """A public server redirecting to a loopback, private or link-local address: refused."""
        victim = serve(_answer(b"secret", "text/plain"))
        port = victim.server.server_address[1]
        fake_dns["intranet.example"] = inside
        public = serve(_redirect(f"http://intranet.example:{port}/admin"))
        fake_dns["ca.example"] = "93.184.216.34"
        h = _Hierarchy(aia=f"http://ca.example:{public.server.server_address[1]}/ca.der")
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert public.requests == ["/ca.der"]
        assert victim.requests == []
        assert "internal address" in built.notes[0]

    def test_public_name_can_redirect_to_public(self, serve: Callable[..., _Server],
                                                fake_dns: dict[str, str]) -> None:
        """A public server redirecting to another public name is followed (a CA's CDN)."""
        late = _Late()
        cdn = serve(late)
        fake_dns["cdn.example"] = "93.184.216.35"
        first = serve(_redirect(f"http://cdn.example:{cdn.server.server_address[1]}/ca.der"))
        fake_dns["ca.example"] = "93.184.216.34"
        h = _Hierarchy(aia=f"http://ca.example:{first.server.server_address[1]}/ca.der")
        late.body = h.inter.der
        built = build(h.leaf, trust=[h.root], fetch=True, timeout=5)
        assert list(built.chain) == [h.leaf, h.inter, h.root]


# -- verification --------------------------------------------------------------------------


class TestVerifyChain:
    """``verify_chain`` gives cryptography's verdict and stable reason codes."""

    def test_valid(self, pki: PKI) -> None:
        """A complete chain for the right host at a valid time verifies, with its path."""
        result = certkit.verify_chain(pki.chain[:2], trust=[pki.root.certificate],
                                      host="localhost")
        assert result.ok
        assert result.reasons == ()
        assert result.path is not None
        assert list(result.path) == list(pki.chain)

    def test_without_host(self, pki: PKI) -> None:
        """Without a host name the chain is checked without the name check."""
        assert certkit.verify_chain(pki.chain, trust=[pki.root.certificate]).ok

    @pytest.mark.parametrize(("year", "code"), [(2100, "expired"), (2010, "not-yet-valid")])
    def test_dates(self, pki: PKI, year: int, code: str) -> None:
        """Outside the validity period the reason is expired or not-yet-valid."""
        at = dt.datetime(year, 6, 1, tzinfo=dt.timezone.utc)
        result = certkit.verify_chain(pki.chain, trust=[pki.root.certificate], at=at)
        assert not result.ok
        assert code in result.codes

    def test_naive_time_is_utc(self, pki: PKI) -> None:
        """A naive ``at`` is read as UTC."""
        assert certkit.verify_chain(pki.chain, trust=[pki.root.certificate],
                                    at=dt.datetime(2030, 1, 1)).ok

    def test_hostname_mismatch(self, pki: PKI) -> None:
        """Another host name fails with hostname-mismatch listing the SANs."""
        result = certkit.verify_chain(pki.chain, trust=[pki.root.certificate],
                                      host="evil.example")
        assert result.codes == ("hostname-mismatch",)
        assert "www.example.test" in result.reasons[0].message

    def test_untrusted_root(self, pki: PKI, other_pki: PKI) -> None:
        """A chain to a root outside the trust store fails with untrusted-root."""
        result = certkit.verify_chain(pki.chain, trust=[other_pki.root.certificate])
        assert result.codes == ("untrusted-root",)
        assert result.reasons[0].subject == pki.root.certificate.subject

    def test_missing_intermediate(self, pki: PKI) -> None:
        """A leaf sent alone fails with missing-intermediate naming the issuer."""
        result = certkit.verify_chain([pki.leaf.certificate], trust=[pki.root.certificate],
                                      host="localhost")
        assert result.codes == ("missing-intermediate",)
        assert result.reasons[0].subject == pki.intermediate.certificate.subject

    def test_bad_signature(self, pki: PKI) -> None:
        """An intermediate with the right name but the wrong key fails with bad-signature."""
        impostor = issue("certkit Test Intermediate CA", issuer=pki.root, ca=True)
        result = certkit.verify_chain([pki.leaf.certificate, impostor.certificate],
                                      trust=[pki.root.certificate])
        assert result.codes == ("bad-signature",)
        assert not result.ok

    def test_leaf_in_trust_store_proves_nothing(self, pki: PKI) -> None:
        """Trusting the leaf itself does not make an incomplete chain valid."""
        result = certkit.verify_chain([pki.leaf.certificate], trust=[pki.leaf.certificate])
        assert not result.ok

    def test_empty_chain(self, pki: PKI) -> None:
        """Nothing to verify is a ChainError."""
        with pytest.raises(ChainError):
            certkit.verify_chain([], trust=[pki.root.certificate])

    @pytest.mark.interop
    def test_agrees_with_openssl_verify(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """openssl verify accepts the chain verify_chain accepts, and rejects the impostor."""
        root, inter, leaf = (tmp_path / n for n in ("root.pem", "inter.pem", "leaf.pem"))
        root.write_bytes(pki.root.certificate.to_pem())
        inter.write_bytes(pki.intermediate.certificate.to_pem())
        leaf.write_bytes(pki.leaf.certificate.to_pem())
        good = openssl("verify", "-CAfile", root, "-untrusted", inter, leaf, check=False)
        assert good.returncode == 0
        assert certkit.verify_chain(pki.chain[:2], trust=[pki.root.certificate]).ok
        bad = openssl("verify", "-CAfile", root, leaf, check=False)
        assert bad.returncode != 0
        assert b"unable to get local issuer certificate" in bad.stdout + bad.stderr
        assert not certkit.verify_chain([pki.leaf.certificate],
                                        trust=[pki.root.certificate]).ok


class TestChainOf:
    """The chain a file holds, leaf first (what `certkit verify` verifies)."""

    def test_unordered_bundle_is_ordered(self, pki: PKI) -> None:
        """Certificates in any order come back leaf first."""
        from certkit._ops.chains import chain_of

        bundle = KeyStore([TrustedCertEntry(f"c{i}", c) for i, c in
                           enumerate((pki.intermediate.certificate, pki.root.certificate,
                                      pki.leaf.certificate))])
        assert chain_of(bundle) == list(pki.chain)

    def test_stray_goes_after_the_leaf(self, pki: PKI, other_pki: PKI) -> None:
        """Not one chain: the leaf first, the others after it as found."""
        from certkit._ops.chains import chain_of

        bundle = KeyStore([TrustedCertEntry("ca", other_pki.intermediate.certificate),
                           TrustedCertEntry("leaf", pki.leaf.certificate),
                           TrustedCertEntry("other", other_pki.leaf.certificate)])
        assert chain_of(bundle) == [pki.leaf.certificate, other_pki.intermediate.certificate,
                                    other_pki.leaf.certificate]


class TestChainReport:
    """certkit.chain_report and save_chain: the library calls behind `certkit chain`."""

    def test_orders_a_shuffled_bundle_leaf_first(self, pki: PKI) -> None:
        """Certificates from several stores come back in issuing order, not judged."""
        stores = {"a.pem": certkit.KeyStore([certkit.TrustedCertEntry("r", pki.root.certificate)]),
                  "b.pem": certkit.KeyStore([
                      certkit.TrustedCertEntry("l", pki.leaf.certificate),
                      certkit.TrustedCertEntry("i", pki.intermediate.certificate)])}
        report = certkit.chain_report(stores)
        assert list(report.chain) == list(pki.chain)
        assert report.complete is None
        assert report.verdict is None

    def test_completes_from_trust_and_names_origins(self, pki: PKI) -> None:
        """With complete=True the leaf's chain is built through the pool and the trust
        store, each certificate with where it came from, and judged."""
        stores = {"leaf.pem": certkit.KeyStore([
            certkit.TrustedCertEntry("l", pki.leaf.certificate),
            certkit.TrustedCertEntry("i", pki.intermediate.certificate)])}
        report = certkit.chain_report(stores, complete=True, trust=[pki.root.certificate])
        assert list(report.chain) == list(pki.chain)
        assert report.complete is True
        assert report.origins[1] == "leaf.pem"
        assert report.verdict is not None
        assert report.verdict.code == "trusted"

    def test_two_chains_are_a_chain_error_with_strays(self, pki: PKI, other_pki: PKI) -> None:
        """Two unrelated leaves cannot be ordered: ChainError names the stray."""
        store = certkit.KeyStore([certkit.TrustedCertEntry("a", pki.leaf.certificate),
                                  certkit.TrustedCertEntry("b", other_pki.leaf.certificate)])
        with pytest.raises(ChainError) as caught:
            certkit.chain_report([store])
        assert caught.value.strays

    def test_save_chain_without_root_is_read_by_openssl(self, pki: PKI,
                                                        tmp_path: pathlib.Path) -> None:
        """save_chain(include_root=False) writes leaf and intermediate; openssl reads two."""
        path = certkit.save_chain(pki.chain, tmp_path / "chain.pem", include_root=False)
        text = openssl("crl2pkcs7", "-nocrl", "-certfile", path).stdout
        printed = openssl("pkcs7", "-print_certs", "-noout", input=text).stdout.decode()
        assert printed.count("subject=") == 2
        assert "Root" not in printed.split("subject=")[1]
