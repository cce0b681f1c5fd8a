"""Chains, leaf first: put a bag of certificates in order, complete a leaf's chain, judge one.

Issuers are found by subject name through an index (and key identifier); a signature
check confirms or rules out each candidate when it can run, and when it cannot (SHA-1,
MD5, an algorithm cryptography lacks) the link stands, unverified — linking never
depends on what cryptography can verify. :func:`build_chain` looks in the pool, then the
trust store, then — only when asked — the issuer URLs (AIA caIssuers) the certificates
themselves name. :func:`chain_verdict` is the one place that says what a chain is
(complete and trusted, private root, server-ready, missing intermediate, broken,
unverifiable link), in the words every command prints. :func:`verify_chain` adds a TLS
client's full check (``cryptography.x509.verification``) with stable reason codes.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import functools
import ipaddress
import os
import re
import ssl
import stat
import urllib.parse
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias

import attrs
from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from certkit._model import Certificate, Chain, KeyStore, Password
from certkit.errors import CertkitError, ChainError, DecodeError, Hint, ReadError

if TYPE_CHECKING:  # the network code loads only when a chain is fetched (start-up time)
    import http.client

    from certkit._ops import _net

__all__ = [
    "MAX_FETCH_BYTES",
    "VERDICTS",
    "CertificatePool",
    "ChainBuild",
    "ChainReport",
    "ChainVerdict",
    "PoolSource",
    "Reason",
    "TrustSource",
    "VerificationResult",
    "build",
    "build_chain",
    "chain_of",
    "chain_report",
    "chain_verdict",
    "order_chain",
    "trust_pool",
    "verify_chain",
]

#: One item of a pool: a certificate, a chain, a store, a file or a folder of files.
PoolSource: TypeAlias = "Certificate | Chain | KeyStore | str | os.PathLike[str]"
#: A trust store: certificates, a store, a pool, a PEM bundle (or folder) path, ``"system"``
#: (the operating system's bundle) or ``"certifi"`` (Mozilla's, if certifi is installed).
TrustSource: TypeAlias = (
    "CertificatePool | KeyStore | str | os.PathLike[str] | Iterable[Certificate]"
)

#: Largest AIA answer read; an issuer certificate is a few kilobytes.
MAX_FETCH_BYTES = 1024 * 1024
#: Most AIA downloads made for one chain (a loop guard besides the visited-URL set).
MAX_FETCHES = 8
#: Longest chain built or ordered.
MAX_DEPTH = 16
#: Files larger than this are skipped when a folder is searched.
_MAX_SCANNED_FILE = 16 * 1024 * 1024
_PEM_CERT = re.compile(rb"-----BEGIN (?:TRUSTED )?CERTIFICATE-----.*?-----END (?:TRUSTED )?"
                       rb"CERTIFICATE-----", re.DOTALL)


def _norm_value(value: str | bytes) -> Hashable:
    # openssl compares names canonically: case and runs of spaces do not matter.
    return " ".join(value.split()).casefold() if isinstance(value, str) else value


def _name_key(name: x509.Name) -> tuple[Hashable, ...]:
    return tuple(
        tuple(sorted((a.oid.dotted_string, _norm_value(a.value)) for a in rdn))
        for rdn in name.rdns
    )


def _subject_key(cert: Certificate) -> tuple[Hashable, ...] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _name_key(cert.x509.subject)
    except (ValueError, KeyError, TypeError):  # TypeError: a name cryptography cannot render
        return None


def _issuer_key(cert: Certificate) -> tuple[Hashable, ...] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _name_key(cert.x509.issuer)
    except (ValueError, KeyError, TypeError):  # TypeError: a name cryptography cannot render
        return None


def _iter_files(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(root, name)


def _certificate_or_none(block: bytes) -> Certificate | None:
    body = b"".join(block.splitlines()[1:-1])
    try:
        # Certificate(der) keeps the model's tolerance of real-world oddities (warnings).
        return Certificate(base64.b64decode(body, validate=False))
    except (CertkitError, ValueError):
        return None


def _certificates_in_bundle(data: bytes) -> list[Certificate]:
    """Every parseable certificate in a PEM bundle, skipping the odd malformed one."""
    parsed = (_certificate_or_none(block) for block in _PEM_CERT.findall(data))
    return [cert for cert in parsed if cert is not None]


def _read_small(path: str) -> bytes:
    """A file of a system trust folder (regular files only, bounded); empty if unreadable."""
    from certkit._ops.api import read_file  # noqa: PLC0415 - operations sit above the API

    try:
        return read_file(path, limit=_MAX_SCANNED_FILE)
    except CertkitError:
        return b""


class CertificatePool:
    """Certificates indexed by subject name, so finding an issuer is a lookup, not a scan.

    Build one pool and pass it to :func:`build_chain` for every leaf: the index is made
    once, and each lookup costs the same whether the pool holds a thousand certificates
    or a hundred thousand. Files in folders that are not certificates are skipped and
    listed in :attr:`skipped`.
    """

    def __init__(self, sources: Iterable[PoolSource] = (), *, password: Password = None) -> None:
        self._by_subject: dict[tuple[Hashable, ...], list[Certificate]] = {}
        self._ders: set[bytes] = set()
        self._origin: dict[bytes, str] = {}
        self._password = password
        self.skipped: list[tuple[str, str]] = []
        for source in sources:
            self.add(source)

    def __len__(self) -> int:
        return len(self._ders)

    def __contains__(self, cert: object) -> bool:
        return isinstance(cert, Certificate) and cert.der in self._ders

    def __iter__(self) -> Iterator[Certificate]:
        for group in self._by_subject.values():
            yield from group

    def origin(self, cert: Certificate) -> str | None:
        """Where ``cert`` came from (the file path), when it came from a file."""
        return self._origin.get(cert.der)

    def add(self, source: PoolSource, *, origin: str | None = None) -> None:
        """Add a certificate, a chain, every certificate of a store, or a file or folder."""
        if isinstance(source, Certificate):
            self._add_certificate(source, origin)
        elif isinstance(source, Chain):
            for cert in source:
                self._add_certificate(cert, origin)
        elif isinstance(source, KeyStore):
            for cert in source.certificates:
                self._add_certificate(cert, origin)
        else:
            path = os.fspath(source)
            if os.path.isdir(path):
                for file in _iter_files(path):
                    self._add_file(file, explicit=False)
            else:
                self._add_file(path, explicit=True)

    def _add_certificate(self, cert: Certificate, origin: str | None) -> None:
        if cert.der in self._ders:
            return
        key = _subject_key(cert)
        if key is None:
            return
        self._ders.add(cert.der)
        self._by_subject.setdefault(key, []).append(cert)
        if origin is not None:
            self._origin[cert.der] = origin

    def _add_file(self, path: str, *, explicit: bool) -> None:
        # Operations sit above the API in imports.
        from certkit._ops.api import load, load_file, skipped_reason  # noqa: PLC0415

        if explicit:
            store = load(path, password=self._password)
        else:
            try:
                info = os.stat(path)
            except OSError as err:
                self.skipped.append((path, err.strerror or str(err)))
                return
            if not stat.S_ISREG(info.st_mode):
                # A FIFO would block the walk and a device would feed it forever.
                self.skipped.append((path, skipped_reason(info.st_mode)))
                return
            if info.st_size > _MAX_SCANNED_FILE:
                self.skipped.append((path, "too large for a certificate file"))
                return
            try:
                store = load_file(path, limit=_MAX_SCANNED_FILE, password=self._password)
            except CertkitError as err:
                self.skipped.append((path, str(err)))
                return
        for cert in store.certificates:
            self._add_certificate(cert, path)

    def named_issuers(self, cert: Certificate) -> list[Certificate]:
        """Certificates whose subject is ``cert``'s issuer name (signatures not checked)."""
        key = _issuer_key(cert)
        return list(self._by_subject.get(key, ())) if key is not None else []

    def issuers_of(self, cert: Certificate) -> list[Certificate]:
        """Certificates in the pool that ``cert`` links to (itself excluded): by name and key
        identifier, the signature confirming it where it can be checked (see ``Link``)."""
        return [c for c in self.named_issuers(cert)
                if c.der != cert.der and cert.is_issued_by(c)]


# -- trust stores --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _bundle_pool(path: str, mtime_ns: int, size: int) -> CertificatePool:
    from certkit._ops.api import read_file  # noqa: PLC0415 - operations sit above the API

    try:
        data = read_file(path)
    except CertkitError as err:
        raise ReadError(f"cannot read the trust store {path}: {err}", path=path) from err
    pool = CertificatePool()
    for cert in _certificates_in_bundle(data):
        pool.add(cert, origin=path)
    return pool


def _cached_bundle(path: str) -> CertificatePool:
    info = os.stat(path)
    return _bundle_pool(path, info.st_mtime_ns, info.st_size)


def _system_pool() -> CertificatePool:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return _cached_bundle(candidate)
    for folder in (paths.capath, paths.openssl_capath):
        if folder and os.path.isdir(folder):
            pool = CertificatePool()
            for file in _iter_files(folder):
                for cert in _certificates_in_bundle(_read_small(file)):
                    pool.add(cert, origin=file)
            return pool
    raise ReadError("no system trust store found (looked for "
                    f"{paths.cafile or paths.openssl_cafile} and {paths.capath}); pass a PEM "
                    "bundle path as the trust store instead")


def _certifi_pool() -> CertificatePool:
    try:
        import certifi  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
    except ImportError as err:
        raise ReadError("the certifi trust store was asked for but the certifi package is not "
                        "installed: `pip install certifi`, or use the system store") from err
    where: str = certifi.where()
    return _cached_bundle(where)


def trust_pool(trust: TrustSource | None) -> CertificatePool | None:
    """Resolve a trust argument (``"system"``, ``"certifi"``, a path, certificates) to a pool."""
    if trust is None or isinstance(trust, CertificatePool):
        return trust
    if isinstance(trust, str) and trust == "system":
        return _system_pool()
    if isinstance(trust, str) and trust == "certifi":
        return _certifi_pool()
    if isinstance(trust, (str, os.PathLike)):
        return CertificatePool([os.fspath(trust)])
    if isinstance(trust, KeyStore):
        return CertificatePool([trust])
    return CertificatePool(trust)


# -- ordering ------------------------------------------------------------------------------


def _longest_path(start: Certificate, issuers: dict[bytes, list[Certificate]],
                  budget: list[int]) -> tuple[Certificate, ...]:
    """The longest simple issuer path from ``start``; ties go to the smaller DER sequence."""
    best: tuple[Certificate, ...] = (start,)

    def better(a: tuple[Certificate, ...], b: tuple[Certificate, ...]) -> bool:
        return (len(a), [c.der for c in b]) > (len(b), [c.der for c in a])

    def walk(path: tuple[Certificate, ...], seen: frozenset[bytes]) -> None:
        nonlocal best
        budget[0] -= 1
        if better(path, best):
            best = path
        if budget[0] <= 0 or len(path) >= MAX_DEPTH:
            return
        for issuer in issuers[path[-1].der]:
            if issuer.der not in seen:
                walk((*path, issuer), seen | {issuer.der})

    walk((start,), frozenset({start.der}))
    return best


def chain_of(store: KeyStore) -> list[Certificate]:
    """The chain a file holds, **leaf first**, as a client would be sent it.

    The first key entry's chain when it has one; else the store's certificates in chain
    order, or, when they are not one chain, its leaf (see
    :func:`~certkit._ops.match.first_leaf`) followed by the others as found.
    """
    from certkit._ops.match import first_leaf  # noqa: PLC0415 - match is the lighter module

    if store.key_entries and store.key_entries[0].chain:
        return list(store.key_entries[0].chain)
    certs = list(store.certificates)
    if not certs:
        return []
    try:
        return list(order_chain(certs))
    except ChainError:
        leaf = first_leaf(certs)
        return [leaf, *(c for c in certs if c != leaf)]


def order_chain(certificates: Iterable[Certificate]) -> Chain:
    """Put a bag of certificates in order, **leaf first**, following the links (name, key
    identifier, and the signature where it can be checked; see :attr:`Chain.links`).

    Duplicates are dropped. Raises :class:`~certkit.errors.ChainError` (its ``strays``
    lists their subjects) when the certificates are not one chain: unrelated
    certificates, a second leaf, or a cross-signed alternative that forks the chain.
    """
    bag: dict[bytes, Certificate] = {}
    for cert in certificates:
        bag.setdefault(cert.der, cert)
    if not bag:
        return Chain()
    pool = CertificatePool(bag.values())
    issuers = {der: sorted(pool.issuers_of(cert), key=lambda c: c.der)
               for der, cert in bag.items()}
    issuing = {issuer.der for found in issuers.values() for issuer in found}
    starts = [cert for der, cert in sorted(bag.items()) if der not in issuing] or [
        cert for _, cert in sorted(bag.items())]
    budget = [10_000]
    best: tuple[Certificate, ...] = ()
    for start in starts:
        path = _longest_path(start, issuers, budget)
        key = (len(path), not path[0].is_ca)
        if not best or key > (len(best), not best[0].is_ca):
            best = path
    if len(best) == len(bag):
        return Chain(best)
    in_chain = {c.der for c in best}
    strays = [cert for cert in bag.values() if cert.der not in in_chain]
    names = "; ".join(cert.subject for cert in strays)
    path_text = " → ".join(cert.subject for cert in best)
    raise ChainError(
        f"these {len(bag)} certificates are not one chain: the longest chain is {path_text}, "
        f"and {len(strays)} certificate(s) do not belong to it: {names}. Remove them, or use "
        "build_chain to pick the chain of one leaf",
        strays=[cert.subject for cert in strays],
    ).with_hint(Hint("build_chain"))


# -- building ------------------------------------------------------------------------------


@attrs.frozen
class ChainBuild:
    """A built chain (leaf first) with where each certificate came from and what went wrong.

    ``origins`` runs parallel to the chain: ``"leaf"``, ``"pool"`` (or the pool file),
    ``"trust store"`` or the AIA URL it was downloaded from; ``notes`` tells why a
    download failed, when one did.
    """

    chain: Chain
    origins: tuple[str, ...]
    trusted: bool
    notes: tuple[str, ...] = ()


def _newest_first(cert: Certificate, at: _dt.datetime) -> tuple[int, float, float, bytes]:
    valid = cert.not_before <= at <= cert.not_after
    return (0 if valid else 1, -cert.not_before.timestamp(), -cert.not_after.timestamp(),
            cert.der)


def _search(
    leaf: Certificate,
    pools: list[CertificatePool],
    is_target: Callable[[Certificate], bool],
    at: _dt.datetime,
) -> tuple[tuple[Certificate, ...], bool]:
    """Breadth-first: the shortest path to a target, the newest issuers first at each step.

    Without a target, the path to a self-signed certificate; without that, the longest.
    """
    frontier: list[tuple[Certificate, ...]] = [(leaf,)]
    seen = {leaf.der}
    self_signed: tuple[Certificate, ...] | None = None
    deepest: tuple[Certificate, ...] = (leaf,)
    while frontier:
        deepest = frontier[0]
        following: list[tuple[Certificate, ...]] = []
        for path in frontier:
            tip = path[-1]
            if is_target(tip):
                return path, True
            if tip.is_self_signed:
                if self_signed is None:
                    self_signed = path
                continue
            if len(path) >= MAX_DEPTH:
                continue
            candidates: dict[bytes, Certificate] = {}
            for pool in pools:
                for issuer in pool.issuers_of(tip):
                    candidates.setdefault(issuer.der, issuer)
            ranked = sorted(candidates.values(), key=lambda c: (
                tip.link_to(c).status != "verified", _newest_first(c, at)))
            for issuer in ranked:
                if issuer.der not in seen:
                    seen.add(issuer.der)
                    following.append((*path, issuer))
        frontier = following
    return (self_signed or deepest), False


def _aia_urls(cert: Certificate) -> list[str]:
    try:
        ext = cert.x509.extensions.get_extension_for_oid(
            ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, ValueError, x509.DuplicateExtension):
        return []
    if not isinstance(ext.value, x509.AuthorityInformationAccess):
        return []
    return [
        desc.access_location.value
        for desc in ext.value
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(desc.access_location, x509.UniformResourceIdentifier)
    ]


class _FetchError(Exception):
    """An AIA download failed; the message says why (for ``ChainBuild.notes``)."""


#: Redirects an AIA fetch follows (real CAs redirect once, from http to their CDN).
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _read_capped(url: str, response: http.client.HTTPResponse, deadline: _net.Deadline,
                 limit: int) -> bytes:
    """Read the answer in chunks, giving up past ``limit`` bytes or the deadline."""
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(65536):
        size += len(chunk)
        if size > limit:
            raise _FetchError(f"{url}: answer larger than {limit} bytes; not a certificate")
        deadline.remaining()
        chunks.append(chunk)
    return b"".join(chunks)


def _fetch_once(url: str, addresses: list[_net.Address], deadline: _net.Deadline,
                limit: int) -> tuple[int, str | None, bytes]:
    """GET ``url`` from exactly ``addresses``: (status, Location, body of a 200)."""
    import ssl  # noqa: PLC0415

    from certkit._ops import _net  # noqa: PLC0415

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        connection = _net.HTTPSConnection(host, parts.port or 443, deadline=deadline,
                                          context=ssl.create_default_context(),
                                          addresses=addresses)
    else:
        connection = _net.HTTPConnection(host, parts.port or 80, deadline=deadline,
                                         addresses=addresses)
    with contextlib.closing(connection):
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"User-Agent": "certkit"})
        response = connection.getresponse()
        if response.status in _REDIRECTS:
            return response.status, response.getheader("Location"), b""
        if response.status != 200:
            raise _FetchError(f"{url}: HTTP {response.status} {response.reason}")
        return 200, None, _read_capped(url, response, deadline, limit)


def _download(url: str, deadline: _net.Deadline, limit: int) -> bytes:
    """GET ``url`` before ``deadline``, reading at most ``limit`` bytes.

    Redirects: at most :data:`MAX_REDIRECTS`, to http or https only, and never from a
    public address to a loopback, link-local or private one (a certificate's URL may
    name an internal server; a public server may not send certkit to one). Each hop
    connects to exactly the addresses that were checked.
    """
    import http.client  # noqa: PLC0415 - see the imports
    import socket  # noqa: PLC0415

    if urllib.parse.urlsplit(url).scheme.lower() != "http":
        raise _FetchError(f"{url}: only http issuer URLs are followed")
    hops = [url]
    try:
        return _follow(hops, deadline, limit)
    except _FetchError:
        raise
    except socket.gaierror as err:
        host = urllib.parse.urlsplit(hops[-1]).hostname
        raise _FetchError(f"{hops[-1]}: cannot resolve {host} ({err.strerror or err})") from err
    except TimeoutError as err:
        raise _FetchError(f"{hops[-1]}: no complete answer within {deadline.timeout:g}s"
                          ) from err
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise _FetchError(f"{hops[-1]}: {err or type(err).__name__}") from err


def _follow(hops: list[str], deadline: _net.Deadline, limit: int) -> bytes:
    """Fetch ``hops[0]``, appending each redirect's target to ``hops`` as it is followed."""
    from certkit._ops import _net  # noqa: PLC0415 - see the imports

    came_from_public = False
    while True:
        current = hops[-1]
        parts = urllib.parse.urlsplit(current)
        default_port = 443 if parts.scheme.lower() == "https" else 80
        addresses = _net.resolve(parts.hostname or "", parts.port or default_port, deadline)
        internal = [a[4][0] for a in addresses if _net.is_internal(a)]
        if came_from_public and internal:
            raise _FetchError(f"{hops[0]}: redirected from a public address to {current}, "
                              f"which is an internal address ({internal[0]}); not followed")
        status, location, body = _fetch_once(current, addresses, deadline, limit)
        if location is None:
            if status != 200:
                raise _FetchError(f"{current}: HTTP {status} without a Location")
            return body
        target = urllib.parse.urljoin(current, location.strip())
        if urllib.parse.urlsplit(target).scheme.lower() not in ("http", "https"):
            raise _FetchError(f"{hops[0]}: redirected to {target}, which is not an http or "
                              "https URL; not followed")
        if len(hops) > MAX_REDIRECTS:
            raise _FetchError(f"{hops[0]}: more than {MAX_REDIRECTS} redirects; not followed")
        came_from_public = not internal
        hops.append(target)


def _parse_answer(url: str, data: bytes) -> list[Certificate]:
    from certkit._ops.api import load  # noqa: PLC0415 - operations sit above the API in imports

    try:
        certificates = list(load(data).certificates)
    except CertkitError as err:
        raise _FetchError(f"{url}: the answer is not a certificate ({err})") from err
    if not certificates:
        raise _FetchError(f"{url}: the answer holds no certificate")
    return certificates


def build(
    leaf: Certificate,
    pool: CertificatePool | Iterable[PoolSource] = (),
    *,
    trust: TrustSource | None = None,
    fetch: bool = False,
    timeout: float = 10.0,
    at: _dt.datetime | None = None,
) -> ChainBuild:
    """Like :func:`build_chain`, also saying where each certificate came from."""
    at = _aware(at)
    local = pool if isinstance(pool, CertificatePool) else CertificatePool(pool)
    anchors = trust_pool(trust)
    fetched = CertificatePool()
    pools = [local, *([anchors] if anchors is not None else []), fetched]

    def search() -> tuple[tuple[Certificate, ...], bool]:
        if anchors is None:
            return _search(leaf, pools, lambda c: c.is_self_signed, at)
        # A trusted root first; a trusted intermediate (a bundle holding the whole chain)
        # only when no trusted root can be reached. The leaf never trusts itself.
        path, found = _search(leaf, pools, lambda c: c in anchors and c.is_self_signed, at)
        if found:
            return path, found
        return _search(leaf, pools, lambda c: c in anchors and c.der != leaf.der, at)

    from certkit._ops import _net  # noqa: PLC0415 - see the imports

    notes: list[str] = []
    visited: set[str] = set()
    deadline = _net.Deadline(timeout)
    origins: dict[bytes, str] = {}
    path, found = search()
    fetches = 0
    while fetch and not found and not path[-1].is_self_signed and fetches < MAX_FETCHES:
        urls = [u for u in _aia_urls(path[-1]) if u not in visited]
        if not urls:
            break
        progressed = False
        for url in urls:
            visited.add(url)
            fetches += 1
            try:
                answer = _parse_answer(url, _download(url, deadline, MAX_FETCH_BYTES))
            except _FetchError as err:
                notes.append(f"could not fetch the issuer of {path[-1].subject}: {err}")
                continue
            for cert in answer:
                if cert not in fetched:
                    origins.setdefault(cert.der, url)
                    fetched.add(cert)
            if any(path[-1].is_issued_by(cert) for cert in answer):
                progressed = True
                break
            notes.append(f"{url} did not hold the issuer of {path[-1].subject}")
        if not progressed:
            break
        path, found = search()

    def origin(index: int, cert: Certificate) -> str:
        if index == 0:
            return "leaf"
        if cert in local:
            return local.origin(cert) or "pool"
        if anchors is not None and cert in anchors:
            return "trust store"
        return origins.get(cert.der, "fetched")

    return ChainBuild(
        chain=Chain(path),
        origins=tuple(origin(i, c) for i, c in enumerate(path)),
        trusted=found and anchors is not None,
        notes=tuple(notes),
    )


@attrs.frozen
class ChainReport:
    """The certificates of some files as one chain, leaf first (what ``certkit chain`` says).

    Ordered only (``completed`` false): the files' own certificates in issuing order, with
    no judgement of completeness. Completed: built from the leaf through the files, the
    trust store and, with ``fetch``, AIA downloads; ``origins`` runs parallel to the chain
    (see :class:`ChainBuild`), ``notes`` says why a download failed, and ``verdict`` is
    :func:`chain_verdict`'s word on it.
    """

    chain: Chain
    completed: bool = False
    origins: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    verdict: ChainVerdict | None = None

    @property
    def complete(self) -> bool | None:
        """Whether the completed chain ends at a self-signed root (``None`` when only ordered)."""
        return self.chain.is_complete if self.completed else None


def chain_report(
    stores: Mapping[str, KeyStore] | Iterable[KeyStore],
    *,
    complete: bool = False,
    trust: TrustSource | None = "system",
    fetch: bool = False,
    timeout: float = 10.0,
) -> ChainReport:
    """Order the certificates of ``stores`` (by origin name, or unnamed) leaf first, or with
    ``complete`` build the chain of their leaf through them, ``trust`` and (``fetch``) AIA.

    Raises :class:`~certkit.errors.ChainError` when the stores hold no certificate, and
    when ordering finds more than one chain (its ``strays`` name the odd ones out; with
    ``complete`` the leaf's chain is built and the rest left out instead).
    """
    from certkit._ops.match import first_leaf  # noqa: PLC0415 - operations import lazily

    named = (stores.items() if isinstance(stores, Mapping)
             else ((None, store) for store in stores))
    bag: list[Certificate] = []
    pool = CertificatePool()
    for origin, store in named:
        bag.extend(store.certificates)
        pool.add(store, origin=origin)
    if not bag:
        raise ChainError("the files hold no certificate")
    if not complete:
        return ChainReport(order_chain(bag))
    built = build(first_leaf(bag), pool, trust=trust, fetch=fetch, timeout=timeout)
    verdict = chain_verdict(built.chain, trust=trust, pool=pool)
    return ChainReport(built.chain, completed=True, origins=built.origins, notes=built.notes,
                       verdict=verdict)


def build_chain(
    leaf: Certificate,
    pool: CertificatePool | Iterable[PoolSource] = (),
    *,
    trust: TrustSource | None = None,
    fetch: bool = False,
    timeout: float = 10.0,
) -> Chain:
    """Complete ``leaf``'s chain, **leaf first**, from ``pool``, then ``trust``, then AIA URLs.

    ``pool`` holds certificates, chains, stores, files and folders (or a prepared
    :class:`CertificatePool`, which makes building for many leaves cost the same per
    leaf whatever its size). ``trust`` is certificates, a PEM bundle path, ``"system"`` or
    ``"certifi"``; the chain ends at a trusted certificate when one can be reached. With
    ``fetch=True`` the caIssuers URLs in the certificates are downloaded (http only, no
    proxy, :data:`MAX_FETCH_BYTES` each, no URL twice, at most :data:`MAX_REDIRECTS`
    redirects and never from a public address to an internal one); ``timeout`` seconds
    bound all the fetching together, connecting, headers and bodies included, however
    slowly a server answers. Where
    cross-signing offers several paths, the shortest to a trusted root wins, then the
    newest issuer. Never raises for a chain it cannot complete: check
    :attr:`Chain.is_complete` and :attr:`Chain.missing_issuer`.
    """
    return build(leaf, pool, trust=trust, fetch=fetch, timeout=timeout).chain


# -- the verdict ---------------------------------------------------------------------------

#: Every verdict code, from best to worst; :class:`ChainVerdict` says what each means.
VERDICTS = ("trusted", "server-ready", "untrusted-root", "unverifiable",
            "missing-intermediate", "broken")

_TRUST_FIX = ("if you run this CA (or trust it), give its root certificate as a trust file: "
              "trust=ROOT.pem (--trust ROOT.pem)")


@attrs.frozen
class ChainVerdict:
    """What a chain (leaf first) is, as one ``code`` and the sentence every command prints.

    Codes (:data:`VERDICTS`):

    - ``trusted`` — complete and trusted: it ends at a root (or another certificate) in the
      trust store;
    - ``server-ready`` — leaf and intermediates, the root left out as servers should, and
      that root is in the trust store;
    - ``untrusted-root`` — complete to a root that is not trusted (a private CA): ``root``
      names it, ``fix`` says how to trust it;
    - ``unverifiable`` — every link holds by name and key identifier but a signature could
      not be checked (SHA-1, MD5, an unsupported algorithm): ``unverified`` says which;
    - ``missing-intermediate`` — the top certificate's issuer is nowhere: ``missing_issuer``
      names it;
    - ``broken`` — a certificate is not issued by the next one: ``broken_at`` is its index.

    ``ok`` is true for the first two; ``problem`` for the last three (``untrusted-root``
    is not a problem for a server, whose clients may hold the private root, but is not
    ``ok`` either). ``trusted`` and ``root`` are set whatever the code, as far as known.
    """

    code: str
    message: str
    chain: Chain
    trusted: bool = False
    root: str | None = None
    missing_issuer: str | None = None
    broken_at: int | None = None
    unverified: tuple[str, ...] = ()
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the chain is complete and trusted (with or without its root)."""
        return self.code in {"trusted", "server-ready"}

    @property
    def problem(self) -> bool:
        """Whether something must be fixed: broken, a missing intermediate, an unverifiable link."""
        return self.code in {"broken", "missing-intermediate", "unverifiable"}


def chain_verdict(
    chain: Chain | Iterable[Certificate],
    *,
    trust: TrustSource | None = "system",
    pool: CertificatePool | Iterable[PoolSource] = (),
) -> ChainVerdict:
    """Judge ``chain`` (leaf first, as stored or served) in the one vocabulary of certkit.

    The chain is judged as given: its links (names, key identifiers, signatures), then
    where its top leads — a certificate in ``trust`` (default the system store), a root
    in ``pool`` (certificates that are known but not trusted, such as a private root file),
    or nowhere. ``inspect``, ``doctor``, ``check-host``, ``verify``, ``export`` and ``scan``
    all call this, so they agree on the same input. Raises :class:`ChainError` for an
    empty chain.
    """
    certs = tuple(chain)
    if not certs:
        raise ChainError("there is no certificate to judge")
    judged = Chain(certs)
    anchors = trust_pool(trust) or CertificatePool()
    known = pool if isinstance(pool, CertificatePool) else CertificatePool(pool)
    links = judged.links
    broken = judged.broken_link
    if broken is not None:
        cert, nxt = certs[broken], certs[broken + 1]
        return ChainVerdict(
            "broken",
            f"broken: {cert.subject} is not issued by the next certificate, {nxt.subject} "
            f"({links[broken].reason})",
            judged, broken_at=broken, missing_issuer=cert.issuer,
            fix="put the certificates in order, leaf first, and remove the one that does not "
                "belong (certkit chain orders them)")
    unverified = [f"{certs[i].subject} by {certs[i + 1].subject}: {link.reason}"
                  for i, link in enumerate(links) if link.status == "unverified"]
    top = certs[-1]
    # A trusted root beats a trusted intermediate (a trust file holding the whole chain).
    anchor = None if top.is_self_signed else next(
        (c for c in anchors.issuers_of(top) if c.der != top.der and c.is_self_signed), None)
    trusted_at = next((i for i, c in enumerate(certs)
                       if c in anchors and (i > 0 or c.is_self_signed)), None)
    root: str | None = None
    trusted = False
    if top.is_self_signed and top in anchors:
        trusted, root, code = True, top.subject, "trusted"
        ending = f"it ends at {root}, a root in the trust store"
    elif anchor is None and trusted_at is not None:
        trusted, code = True, "trusted"
        ending = f"it reaches {certs[trusted_at].subject}, which is in the trust store"
    elif top.is_self_signed:
        root, code = top.subject, "untrusted-root"
        ending = f"it ends at {root}, a root that is not in the trust store"
    else:
        anchor = anchor or next((c for c in anchors.issuers_of(top) if c.der != top.der), None)
        private = next((c for c in known.issuers_of(top) if c.der != top.der), None)
        if anchor is not None:
            trusted, root, code = True, anchor.subject, "server-ready"
            ending = f"its root {root} is in the trust store"
            link = top.link_to(anchor)
            if link.status == "unverified":
                unverified.append(f"{top.subject} by {anchor.subject}: {link.reason}")
        elif private is not None and private.is_self_signed:
            root, code = private.subject, "untrusted-root"
            ending = (f"it ends at {top.subject}, issued by {root}, a root that is not in the "
                      "trust store")
        elif private is None and len(certs) > 1 and _ca(top):
            # An intermediate whose issuer is nowhere: almost always a private root the
            # client does not hold (servers rightly leave the root out).
            root, code = top.issuer, "untrusted-root"
            ending = (f"it ends at {top.subject}, issued by {root}, which is not in the trust "
                      "store (a private root CA; if it is an intermediate, add it to the chain)")
        else:
            missing = private.subject if private is not None else top.issuer
            where = ("is not in the chain" if private is not None
                     else "is neither in the chain nor in the trust store")
            return ChainVerdict(
                "missing-intermediate",
                f"missing intermediate: {missing} (the issuer of {top.subject}) {where}",
                judged, missing_issuer=missing,
                fix="add the intermediate certificate your CA sent to the chain (the "
                    "server's chain file, the keystore entry)")
    if unverified:
        return ChainVerdict(
            "unverifiable",
            f"unverifiable link: the signature on {unverified[0]}; every link holds by name "
            f"and key identifier, and {ending}",
            judged, trusted=trusted, root=root, unverified=tuple(unverified),
            fix="have the certificates reissued with SHA-256 signatures")
    if code == "trusted":
        message = f"complete and trusted: {ending}"
    elif code == "server-ready":
        message = (f"server-ready: leaf and intermediates, the root left out as servers "
                   f"should; {ending}")
    else:
        message = f"complete to a root that is not trusted (a private CA): {ending}"
    return ChainVerdict(code, message, judged, trusted=trusted, root=root,
                        fix=_TRUST_FIX if code == "untrusted-root" else None)


def _ca(cert: Certificate) -> bool:
    try:
        return cert.is_ca
    except CertkitError:
        return False


# -- verification --------------------------------------------------------------------------


def _aware(at: _dt.datetime | None) -> _dt.datetime:
    if at is None:
        return _dt.datetime.now(_dt.timezone.utc)
    return at if at.tzinfo is not None else at.replace(tzinfo=_dt.timezone.utc)


@attrs.frozen
class Reason:
    """Why a chain fails: a stable ``code``, a sentence, and the certificate concerned.

    Codes: ``expired``, ``not-yet-valid``, ``hostname-mismatch``, ``untrusted-root``,
    ``bad-signature`` (a broken link), ``missing-intermediate``, ``unverifiable`` (a
    signature that cannot be checked; the chain verdict's words are the message), and
    ``policy`` for the rest (a CA
    certificate without CA rights, a missing key usage…), with cryptography's words.
    """

    code: str
    message: str
    subject: str | None = None


@attrs.frozen
class VerificationResult:
    """The verdict on a chain: ``ok``, the ``reasons`` it fails, and the path that verified.

    ``path`` is the chain cryptography validated, leaf first and ending at the trust
    anchor, when ``ok``; ``detail`` is cryptography's own message when not. ``verdict``
    is :func:`chain_verdict`'s word on the chain as given, what every command prints.
    """

    ok: bool
    reasons: tuple[Reason, ...] = ()
    path: Chain | None = None
    detail: str | None = None
    verdict: ChainVerdict | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in the order found (leaf first)."""
        return tuple(reason.code for reason in self.reasons)


def _explain(certs: list[Certificate], verdict: ChainVerdict, host: str | None,
             at: _dt.datetime) -> list[Reason]:
    reasons: list[Reason] = []
    stamp = at.strftime("%Y-%m-%d %H:%M UTC")
    for cert in certs:
        if cert.not_after < at:
            reasons.append(Reason("expired", f"{cert.subject} expired on "
                                  f"{cert.not_after:%Y-%m-%d} (checked at {stamp})",
                                  cert.subject))
        elif cert.not_before > at:
            reasons.append(Reason("not-yet-valid", f"{cert.subject} is valid only from "
                                  f"{cert.not_before:%Y-%m-%d} (checked at {stamp})",
                                  cert.subject))
    leaf = certs[0]
    if host is not None and not leaf.matches_hostname(host):
        names = ", ".join(leaf.san) or "none"
        reasons.append(Reason("hostname-mismatch", f"{leaf.subject} is not valid for {host} "
                              f"(its subject alternative names: {names})", leaf.subject))
    if verdict.code in _REASON_CODES:
        concerned = (certs[verdict.broken_at].subject if verdict.broken_at is not None
                     else verdict.missing_issuer or verdict.root)
        reasons.append(Reason(_REASON_CODES[verdict.code], verdict.message, concerned))
    return reasons


#: The chain verdicts that make a verification fail, as reason codes.
_REASON_CODES = {"broken": "bad-signature", "missing-intermediate": "missing-intermediate",
                 "untrusted-root": "untrusted-root", "unverifiable": "unverifiable"}


_EXTENSION_NAMES = {"2.5.29.15": "keyUsage", "2.5.29.19": "basicConstraints",
                    "2.5.29.37": "extendedKeyUsage", "2.5.29.35": "authorityKeyIdentifier",
                    "2.5.29.14": "subjectKeyIdentifier", "2.5.29.17": "subjectAltName"}


def _from_detail(detail: str, host: str | None) -> Reason:
    if "subjectAltName" in detail and host is not None and "extension" not in detail:
        return Reason("hostname-mismatch", f"the certificate is not valid for {host}")
    if "no interior errors" in detail:
        return Reason("untrusted-root", "no path from the leaf to a trusted certificate")
    readable = detail
    for oid, name in _EXTENSION_NAMES.items():
        readable = readable.replace(oid, f"{name} ({oid})")
    return Reason("policy", f"the chain breaks a web PKI rule: {readable}")


def verify_chain(
    chain: Chain | Iterable[Certificate],
    *,
    trust: TrustSource,
    host: str | None = None,
    at: _dt.datetime | None = None,
) -> VerificationResult:
    """Verify ``chain`` (leaf first) against ``trust`` as a TLS client would, at time ``at``.

    The verdict is ``cryptography.x509.verification``'s (web PKI rules; with ``host`` the
    server-certificate profile and the name check, without it any end-entity usage).
    An invalid chain is not an exception: the result's ``ok`` is false and its
    ``reasons`` say why. ``at`` defaults to now; naive datetimes are taken as UTC.
    """
    certs = list(chain)
    if not certs:
        raise ChainError("there is no certificate to verify")
    moment = _aware(at)
    anchors = trust_pool(trust) or CertificatePool()
    verdict = chain_verdict(certs, trust=anchors)
    explained = _explain(certs, verdict, host, moment)
    if not len(anchors):
        reasons = explained or [Reason("untrusted-root", "the trust store is empty")]
        return VerificationResult(ok=False, reasons=tuple(reasons),
                                  detail="the trust store is empty", verdict=verdict)
    # A leaf that is itself in the trust store proves nothing about its chain.
    roots = [c.x509 for c in anchors if c.der != certs[0].der or c.is_self_signed]
    if not roots:
        reasons = explained or [Reason("untrusted-root", "the trust store holds only the leaf "
                                       "itself, which proves nothing about its chain")]
        return VerificationResult(ok=False, reasons=tuple(reasons), detail="no trust anchor",
                                  verdict=verdict)
    builder = (verification.PolicyBuilder()
               .store(verification.Store(roots))
               .time(moment))
    leaf, intermediates = certs[0].x509, [c.x509 for c in certs[1:]]
    try:
        if host is not None:
            try:
                subject: verification.Subject = x509.IPAddress(ipaddress.ip_address(host))
            except ValueError:
                subject = x509.DNSName(host)
            verified = builder.build_server_verifier(subject).verify(leaf, intermediates)
        else:
            client = builder.extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=verification.ExtensionPolicy.permit_all(),
            ).build_client_verifier()
            verified = client.verify(leaf, intermediates).chain
    except verification.VerificationError as err:
        detail = str(err)
        reasons = explained or [_from_detail(detail, host)]
        return VerificationResult(ok=False, reasons=tuple(reasons), detail=detail,
                                  verdict=verdict)
    except ValueError as err:  # a hostname cryptography cannot take, say
        raise DecodeError(f"cannot verify for {host!r}: {err}") from err
    return VerificationResult(ok=True, path=Chain(Certificate.from_x509(c) for c in verified),
                              verdict=verdict)
