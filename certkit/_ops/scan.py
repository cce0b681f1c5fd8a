"""Inventory folders: every certificate, key and keystore, found by content, paired across files.

:func:`scan` walks folders (never twice into the same directory, so symbolic-link loops
end), sniffs the first bytes of each file to skip what cannot be certificate material
quickly, loads the rest, and keeps only small records (names, dates, fingerprints) rather
than parsed objects, so memory grows with the number of certificates found, not with
their size. Keys are paired with certificates by the SHA-256 of their public key, across
files; issuers are found by name and key identifier (signatures are not verified, which
keeps the scan fast: use ``certkit verify`` on a chain that matters).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias

import attrs
from cryptography import x509

from certkit import formats
from certkit._model import Certificate, KeyEntry, LockedKey, Password, PrivateKey
from certkit._ops.api import (
    Passwords,
    file_kind,
    load,
    open_regular,
    password_for,
    read_bounded,
)
from certkit.errors import CertkitError, DecodeError, PasswordError

if TYPE_CHECKING:
    from certkit._ops.chains import CertificatePool, TrustSource

__all__ = [
    "MAX_FILE",
    "InventoryItem",
    "Place",
    "ScanIssue",
    "ScanProgress",
    "ScanReport",
    "ScannedCertificate",
    "ScannedChain",
    "ScannedKey",
    "scan",
]

#: Files larger than this are not read (a big truststore is a few megabytes).
MAX_FILE = 16 * 1024 * 1024
#: How much of a text file is searched for a ``-----BEGIN`` line.
_TEXT_PREFIX = 1024 * 1024
_SNIFF = 4096
_BARE_BASE64 = re.compile(rb"[A-Za-z0-9+/=\s]{16,}")
#: Extensions that promise certificate material: a failure to read them is reported.
_CERT_EXTENSIONS = frozenset({
    ".pem", ".crt", ".cer", ".der", ".key", ".p7b", ".p7c", ".pfx", ".p12", ".jks",
    ".jceks", ".keystore", ".truststore", ".bks", ".csr", ".ca-bundle"})

#: Called after each file with the number of files seen so far and the path.
ScanProgress: TypeAlias = Callable[[int, str], None]


@attrs.frozen
class ScannedCertificate:
    """What the scan keeps of one certificate found in a file (not the certificate itself)."""

    path: str
    alias: str | None
    subject: str
    issuer: str
    serial_number: str
    not_before: _dt.datetime
    not_after: _dt.datetime
    is_ca: bool
    self_signed: bool
    sha256: str
    public_key_sha256: str


@attrs.frozen
class ScannedKey:
    """A private key found in a file: where, its algorithm and its public key's SHA-256."""

    path: str
    alias: str | None
    algorithm: str
    public_key_sha256: str


@attrs.frozen
class ScannedChain:
    """The verdict on one key entry's own chain (what a server given that file would send).

    ``code`` and ``message`` are :func:`~certkit.chain_verdict`'s, as every command words them.
    """

    path: str
    alias: str
    subject: str
    code: str
    message: str

    @property
    def ok(self) -> bool:
        """Whether the chain is complete and trusted, with or without its root (as
        :attr:`ChainVerdict.ok <certkit.ChainVerdict.ok>` says)."""
        return self.code in {"trusted", "server-ready"}

    @property
    def problem(self) -> bool:
        """Whether the verdict asks for a fix (broken, missing intermediate, unverifiable)."""
        return self.fault or self.code == "missing-intermediate"

    @property
    def fault(self) -> bool:
        """Whether the chain is broken or cannot be checked: a problem whatever other files
        hold (a missing intermediate may be in another file; the report's ``incomplete``
        says when it is nowhere)."""
        return self.code in {"broken", "unverifiable"}


@attrs.frozen
class Place:
    """Where something was found: a file, and the alias inside it (``None`` for PEM/DER)."""

    path: str
    alias: str | None = None


@attrs.frozen
class InventoryItem:
    """One distinct certificate (by SHA-256) with every place it was found.

    ``role`` is ``root`` (a self-signed CA), ``intermediate`` (another CA) or ``leaf``;
    ``not_before`` is ``None`` only for an item built by hand without it;
    ``days_left`` counts whole days to expiry at the scan's time (negative once expired);
    ``keys`` lists where its private key was found (empty when nowhere in the scan).
    """

    sha256: str
    subject: str
    issuer: str
    serial_number: str
    not_after: _dt.datetime
    role: str
    days_left: int
    places: tuple[Place, ...]
    keys: tuple[Place, ...] = ()
    key_algorithm: str | None = None
    not_before: _dt.datetime | None = None


def _role(cert: ScannedCertificate) -> str:
    if cert.is_ca:
        return "root" if cert.self_signed else "intermediate"
    return "leaf"


def _inventory(certificates: Iterable[ScannedCertificate], keys: Iterable[ScannedKey],
               moment: _dt.datetime) -> tuple[InventoryItem, ...]:
    """Each distinct certificate once, in the order first found, with its places and keys."""
    places: dict[str, list[Place]] = {}
    first: dict[str, ScannedCertificate] = {}
    for cert in certificates:
        first.setdefault(cert.sha256, cert)
        place = Place(cert.path, cert.alias)
        found = places.setdefault(cert.sha256, [])
        if place not in found:
            found.append(place)
    key_places: dict[str, list[ScannedKey]] = {}
    for key in keys:
        key_places.setdefault(key.public_key_sha256, []).append(key)
    items = []
    for sha256, cert in first.items():
        owned = key_places.get(cert.public_key_sha256, [])
        items.append(InventoryItem(
            sha256=sha256, subject=cert.subject, issuer=cert.issuer,
            serial_number=cert.serial_number, not_after=cert.not_after, role=_role(cert),
            days_left=(cert.not_after - moment) // _dt.timedelta(days=1),
            places=tuple(places[sha256]),
            keys=tuple(dict.fromkeys(Place(k.path, k.alias) for k in owned)),
            key_algorithm=owned[0].algorithm if owned else None, not_before=cert.not_before))
    return tuple(items)


@attrs.frozen
class ScanIssue:
    """A file the scan could not (or would not) read: ``reason`` is ``unreadable``,
    ``password-needed``, ``wrong-password``, ``damaged``, ``too-large`` or (in
    :attr:`ScanReport.skipped`) ``not-a-regular-file``; ``detail`` says more."""

    path: str
    reason: str
    detail: str


@attrs.frozen
class ScanReport:
    """What :func:`scan` found, and what is wrong with it.

    ``pairs`` holds each certificate that has a key anywhere in the scan with that key;
    ``without_key`` lists leaf certificates with no key anywhere in the scan (CA
    certificates are not expected to have one); ``incomplete`` lists leaves whose issuer
    is nowhere in the scan or the trust store, with that issuer's name. ``chains`` holds
    the verdict on each key entry's own chain; a broken or unverifiable one is a problem
    (a missing intermediate is one when ``incomplete`` says so: it may be in another file).
    ``skipped`` lists what was never opened because it is not a regular file (FIFOs,
    sockets, devices and links to them; reason ``not-a-regular-file``): not a problem, but
    worth knowing.
    ``inventory`` lists each distinct certificate once (by SHA-256) with every place it was
    found, its role, days left and where its key is; ``certificates`` has one record per
    place.
    """

    files_seen: int
    files_read: int
    certificates: tuple[ScannedCertificate, ...]
    keys: tuple[ScannedKey, ...]
    pairs: tuple[tuple[ScannedCertificate, ScannedKey], ...]
    expired: tuple[ScannedCertificate, ...]
    expiring: tuple[ScannedCertificate, ...]
    orphaned_keys: tuple[ScannedKey, ...]
    without_key: tuple[ScannedCertificate, ...]
    incomplete: tuple[tuple[ScannedCertificate, str], ...]
    unreadable: tuple[ScanIssue, ...]
    at: _dt.datetime
    chains: tuple[ScannedChain, ...] = ()
    skipped: tuple[ScanIssue, ...] = ()
    inventory: tuple[InventoryItem, ...] = ()

    @property
    def has_problems(self) -> bool:
        """Whether anything needs attention (expired or expiring, orphans, gaps, unreadable,
        a broken or unverifiable chain)."""
        return bool(self.expired or self.expiring or self.orphaned_keys or self.without_key
                    or self.incomplete or self.unreadable
                    or any(c.fault for c in self.chains))


def chains_by_place(report: ScanReport) -> dict[tuple[str, str | None, str], ScannedChain]:
    """The report's chain verdicts by ``(path, alias, leaf subject)``: what was judged at
    each place, for looking up many certificates' places at once."""
    return {(c.path, c.alias, c.subject): c for c in report.chains}


def _walk(paths: Iterable[str], *,
          follow_symlinks: bool) -> Iterator[tuple[str, os.stat_result | None]]:
    """Every file below ``paths`` with its ``stat`` (``None`` when it cannot be stat'ed).

    Directories are entered once each, keyed by ``(st_dev, st_ino)``, so a symbolic link
    pointing back up the tree ends the walk instead of looping.
    """
    visited: set[tuple[int, int]] = set()
    stack: list[str] = []
    for top in paths:
        try:
            info = os.stat(top)
        except OSError:
            yield top, None
            continue
        if stat.S_ISDIR(info.st_mode):
            stack.append(top)
        else:
            yield top, info
        while stack:
            folder = stack.pop()
            try:
                info = os.stat(folder)
            except OSError:
                yield folder, None
                continue
            key = (info.st_dev, info.st_ino)
            if key in visited:
                continue
            visited.add(key)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError:
                yield folder, None
                continue
            subfolders: list[str] = []
            for entry in entries:
                try:
                    is_link = entry.is_symlink()
                    if entry.is_dir(follow_symlinks=True):
                        if follow_symlinks or not is_link:
                            subfolders.append(entry.path)
                        continue
                    yield entry.path, entry.stat(follow_symlinks=True)
                except OSError:  # a broken link, or a file that vanished
                    yield entry.path, None
            stack.extend(reversed(subfolders))


def _looks_binary_container(head: bytes) -> bool:
    if head[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        return True
    if head[:1] == b"\x30" and len(head) > 4:
        return True
    return formats.spec("bks").sniff(head)


def _is_text(head: bytes) -> bool:
    return b"\x00" not in head[:_SNIFF] or head.startswith((b"\xff\xfe", b"\xfe\xff"))


class _Sniffed:
    """The verdict of the quick look: skip, or read (and whether failure should be told)."""

    def __init__(self, data: bytes | None, *, promised: bool) -> None:
        self.data = data
        self.promised = promised


def _sniff(path: str) -> _Sniffed:
    promised = os.path.splitext(path)[1].lower() in _CERT_EXTENSIONS
    with open_regular(path) as handle:
        head = handle.read(_SNIFF) or b""
        if _is_text(head):
            if b"-----BEGIN " not in head:
                head += handle.read(_TEXT_PREFIX - len(head)) or b""
                if b"-----BEGIN " not in head:
                    if formats.spec("kubernetes").sniff(head):
                        # A Secret's certificates are base64 without PEM lines; an
                        # Opaque Secret or a List of other objects is no finding.
                        return _Sniffed(read_bounded(handle, MAX_FILE, name=path, start=head),
                                        promised=promised)
                    # Text without a PEM line is not certificate material, whatever its
                    # name says, unless it is bare base64 (a PEM body that lost its armour).
                    if not (promised and _BARE_BASE64.fullmatch(head.strip())):
                        return _Sniffed(None, promised=False)
                    return _Sniffed(read_bounded(handle, MAX_FILE, name=path, start=head),
                                    promised=True)
            return _Sniffed(read_bounded(handle, MAX_FILE, name=path, start=head),
                            promised=True)
        if not _looks_binary_container(head):
            return _Sniffed(None, promised=promised)
        strong = head[:4] in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")
        return _Sniffed(read_bounded(handle, MAX_FILE, name=path, start=head),
                        promised=promised or strong)


@attrs.frozen
class _Issuers:
    """CA certificates by subject name, with their key identifiers (no DER kept)."""

    by_subject: dict[str, set[bytes | None]] = attrs.field(factory=dict)

    def add(self, cert: Certificate) -> None:
        self.by_subject.setdefault(cert.subject, set()).add(
            cert.subject_key_identifier)

    def has_issuer(self, issuer: str, authority_key_id: bytes | None) -> bool:
        found = self.by_subject.get(issuer)
        if not found:
            return False
        return authority_key_id is None or authority_key_id in found or None in found


def _record(cert: Certificate, path: str, alias: str | None) -> ScannedCertificate:
    try:
        is_ca = cert.is_ca
    except CertkitError:
        is_ca = False
    self_signed = cert.subject == cert.issuer and cert.is_self_signed
    # An old version 1 root has no extensions to say it is a CA; self-signed, it is one
    # (the rule of inspect's roles, so both commands name it the same).
    is_ca = is_ca or (self_signed and cert.x509.version == x509.Version.v1)
    return ScannedCertificate(
        path=path, alias=alias, subject=cert.subject, issuer=cert.issuer,
        serial_number=format(cert.serial_number, "x"), not_before=cert.not_before,
        not_after=cert.not_after, is_ca=is_ca, self_signed=self_signed,
        sha256=cert.fingerprint(), public_key_sha256=cert.public_key_fingerprint)


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    passwords: Password | Passwords | Mapping[str, Password] | None = None,
    expiring: _dt.timedelta | None = None,
    follow_symlinks: bool = False,
    progress: ScanProgress | None = None,
    at: _dt.datetime | None = None,
    trust_system: bool = True,
    trust: TrustSource | None = "system",
) -> ScanReport:
    """Walk ``paths`` and inventory every certificate, key and keystore, identified by content.

    Keys are paired with certificates across files; the report lists expired
    certificates, those ending within ``expiring`` (if given), keys without a certificate,
    leaf certificates without a key, leaves whose issuer is nowhere (neither scanned nor
    in the trust store), and files that could not be read — a scan never stops for one
    file. ``trust`` is the trust store key entries' chains are judged against and issuers
    are looked up in: the system's by default, a PEM bundle, folder, pool or certificates
    (a private CA's root), or ``None`` for none (``trust_system=False`` says the same).
    Symbolic links to files are read; links to folders are followed only with
    ``follow_symlinks`` (loops end either way).
    ``progress(files_seen, path)`` is called after each file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    scanner = _Scanner(passwords, trust=trust if trust_system else None)
    for path, info in _walk([os.fspath(p) for p in paths], follow_symlinks=follow_symlinks):
        scanner.seen += 1
        try:
            scanner.read += scanner.scan_file(path, info)
        finally:
            if progress is not None:
                progress(scanner.seen, path)
    for cert in scanner.trusted() or ():
        scanner.issuers.add(cert)
    return scanner.report(at or _dt.datetime.now(_dt.timezone.utc), expiring)


class _Scanner:
    """The running state of one scan: small records, never parsed objects."""

    def __init__(self, passwords: Password | Passwords | Mapping[str, Password] | None, *,
                 trust: TrustSource | None = "system") -> None:
        self.passwords = passwords
        self.trust = trust
        self.anchors: CertificatePool | None = None
        if trust is not None and not (isinstance(trust, str) and trust == "system"):
            self.trusted()  # a store the caller named must be readable: fail before walking
        self.chains: list[ScannedChain] = []
        self.seen = 0
        self.read = 0
        self.certificates: list[ScannedCertificate] = []
        self.keys: list[ScannedKey] = []
        self.issues: list[ScanIssue] = []
        self.skipped: list[ScanIssue] = []
        self.issuers = _Issuers()
        self.authority_ids: dict[str, bytes | None] = {}

    def scan_file(self, path: str, info: os.stat_result | None) -> bool:
        """Record what one file holds; return whether it held certificate material."""
        issues = self.issues
        if info is None:
            detail = ("broken symbolic link" if os.path.islink(path)
                      else "cannot be listed or stat'ed")
            issues.append(ScanIssue(path, "unreadable", detail))
            return False
        if not stat.S_ISREG(info.st_mode):
            # FIFOs, sockets and devices are never opened: a FIFO would block the scan, a
            # device (a link to /dev/zero) would feed it forever.
            self.skipped.append(ScanIssue(path, "not-a-regular-file",
                                          f"{file_kind(info.st_mode)}; not opened"))
            return False
        if info.st_size == 0:
            return False
        if info.st_size > MAX_FILE:
            if os.path.splitext(path)[1].lower() in _CERT_EXTENSIONS:
                issues.append(ScanIssue(path, "too-large", f"{info.st_size} bytes; not read"))
            return False
        try:
            sniffed = _sniff(path)
        except DecodeError:  # grew past the limit since it was listed
            issues.append(ScanIssue(path, "too-large", f"more than {MAX_FILE} bytes; not read"))
            return False
        except OSError as err:
            issues.append(ScanIssue(path, "unreadable", getattr(err, "strerror", None)
                                    or str(err)))
            return False
        if sniffed.data is None:
            return False
        try:
            # Keys are matched by the public key their certificate states: none is decrypted.
            store = load(sniffed.data, password=password_for(path, self.passwords),
                         decrypt_keys=False)
        except PasswordError as err:
            reason = "password-needed" if err.missing else "wrong-password"
            issues.append(ScanIssue(path, reason, str(err)))
            return False
        except CertkitError as err:
            if sniffed.promised:
                issues.append(ScanIssue(path, "damaged", str(err)))
            return False
        for key_entry in store.key_entries:
            _scan_key(key_entry, path, self.keys)
            self._judge(key_entry, path)
        for entry in store.entries:
            chain = entry.chain if isinstance(entry, KeyEntry) else None
            own = getattr(entry, "certificate", None)
            for cert in (chain or ((own,) if own is not None else ())):
                self._add_certificate(cert, path, entry.alias)
        return bool(store.entries)

    def _judge(self, entry: KeyEntry, path: str) -> None:
        """The verdict on a key entry's chain, as inspect and doctor give it."""
        from certkit._ops import chains as _chains  # noqa: PLC0415 - only when a scan runs

        if not entry.chain:
            return
        try:
            verdict = _chains.chain_verdict(entry.chain, trust=self.trusted())
        except CertkitError:
            return
        self.chains.append(ScannedChain(path, entry.alias, entry.chain[0].subject, verdict.code,
                                        verdict.message))

    def trusted(self) -> CertificatePool:
        """The trust store's certificates, read once (an unreadable system store is empty;
        a store the caller named raises)."""
        if self.anchors is None:
            from certkit._ops import chains as _chains  # noqa: PLC0415 - only when a scan runs

            try:
                found = _chains.trust_pool(self.trust)
            except CertkitError:
                if isinstance(self.trust, str) and self.trust == "system":
                    found = None
                else:
                    raise
            self.anchors = found or _chains.CertificatePool()
        return self.anchors

    def _add_certificate(self, cert: Certificate, path: str, alias: str) -> None:
        record = _record(cert, path, alias)
        self.certificates.append(record)
        if record.is_ca or record.self_signed:
            self.issuers.add(cert)
        else:
            self.authority_ids.setdefault(
                record.sha256, cert.authority_key_identifier)

    def report(self, moment: _dt.datetime, expiring: _dt.timedelta | None) -> ScanReport:
        """Pair keys and certificates and sort out what needs attention."""
        certificates, keys = self.certificates, self.keys
        key_by_spki: dict[str, ScannedKey] = {}
        for key in keys:
            key_by_spki.setdefault(key.public_key_sha256, key)
        cert_spkis = {c.public_key_sha256 for c in certificates}
        pairs = tuple((c, key_by_spki[c.public_key_sha256]) for c in certificates
                      if c.public_key_sha256 in key_by_spki)
        issuing = set(self.issuers.by_subject)
        # CA certificates without the basicConstraints flag still issue: not leaves.
        leaves = [c for c in certificates
                  if not c.is_ca and not c.self_signed and c.subject not in issuing]
        without_key = tuple(c for c in leaves if c.public_key_sha256 not in key_by_spki)
        incomplete = tuple(
            (c, c.issuer) for c in leaves
            if not self.issuers.has_issuer(c.issuer, self.authority_ids.get(c.sha256)))
        expired = tuple(c for c in certificates if c.not_after < moment)
        soon = tuple(c for c in certificates
                     if expiring is not None and moment <= c.not_after < moment + expiring)
        return ScanReport(
            files_seen=self.seen, files_read=self.read, certificates=tuple(certificates),
            keys=tuple(keys), pairs=pairs, expired=expired, expiring=soon,
            orphaned_keys=tuple(k for k in keys if k.public_key_sha256 not in cert_spkis),
            without_key=without_key, incomplete=incomplete, unreadable=tuple(self.issues),
            at=moment, chains=tuple(self.chains), skipped=tuple(self.skipped),
            inventory=_inventory(certificates, keys, moment))


def _scan_key(entry: KeyEntry, path: str, keys: list[ScannedKey]) -> None:
    key = entry.key
    if isinstance(key, PrivateKey):
        keys.append(ScannedKey(path, entry.alias, key.algorithm, key.public_key_fingerprint))
    elif isinstance(key, LockedKey) and key.public_key_fingerprint:
        algorithm = entry.certificate.key_algorithm if entry.certificate else "locked"
        keys.append(ScannedKey(path, entry.alias, algorithm, key.public_key_fingerprint))
