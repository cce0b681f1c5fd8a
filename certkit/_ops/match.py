"""Which key belongs to which certificate: openssl-compatible modulus hashes and a key index.

``modulus``/``modulus_hash`` print exactly what ``openssl x509 -noout -modulus`` (piped to
``openssl md5``) prints, so a handbook's "compare the two md5 values" advice works with
certkit's output. Anything beyond RSA is compared by SubjectPublicKeyInfo, the only
comparison that works for every key type. :class:`KeyIndex` files keys under the SHA-256 of
their SubjectPublicKeyInfo, so finding the key of a certificate among thousands of
candidates is one dictionary lookup after one pass over the candidates.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeAlias

import attrs
from cryptography.hazmat.primitives.asymmetric import rsa

from certkit._model import (
    Certificate,
    CertificateRequest,
    KeyEntry,
    KeyStore,
    LockedKey,
    Password,
    PrivateKey,
    TrustedCertEntry,
    key_algorithm_name,
)
from certkit.errors import (
    CertkitError,
    Hint,
    KeyMismatchError,
    PasswordError,
    UnsupportedKeyError,
)

if TYPE_CHECKING:
    from certkit._ops.api import Passwords

__all__ = [
    "Fingerprints",
    "KeyCandidate",
    "KeyIndex",
    "KeyLocation",
    "KeyMatch",
    "ModulusSource",
    "find_key",
    "fingerprints",
    "first_leaf",
    "identify",
    "match_key",
    "modulus",
    "modulus_hash",
    "pair_keys",
    "subject_of",
]

#: Anything :func:`modulus` can take the public key of.
ModulusSource: TypeAlias = (
    Certificate | PrivateKey | CertificateRequest | KeyStore | KeyEntry | TrustedCertEntry
    | rsa.RSAPublicKey | rsa.RSAPrivateKey
)

#: What :func:`find_key` searches: keys, stores, entries, key files and folders.
KeyCandidate: TypeAlias = "PrivateKey | KeyStore | KeyEntry | str | os.PathLike[str]"

def first_leaf(certificates: Sequence[Certificate]) -> Certificate:
    """The first certificate that issued none of the others (the first one, if all did).

    Raises :class:`ValueError` for no certificates.
    """
    if not certificates:
        raise ValueError("no certificates")
    issuers = {c.der for c in certificates for other in certificates
               if other.der != c.der and other.is_issued_by(c)}
    return next((c for c in certificates if c.der not in issuers), certificates[0])


def subject_of(store: KeyStore) -> Certificate | CertificateRequest | None:
    """What a file is "about" when a key is matched against it or searched for.

    A key entry's leaf certificate, else the first certificate that issued none of the
    others (the leaf of a bundle, whatever its order), else the first certificate
    request; ``None`` when the store holds none of these.
    """
    for entry in store.key_entries:
        if entry.certificate is not None:
            return entry.certificate
    if store.certificates:
        return first_leaf(store.certificates)
    return store.requests[0] if store.requests else None


#: Files larger than this are skipped when a folder is searched (keys are kilobytes).
MAX_SCANNED_FILE = 16 * 1024 * 1024


def _public_key_of(obj: ModulusSource) -> object:
    """The public (or private) key object behind ``obj``, unwrapping stores and entries."""
    if isinstance(obj, KeyStore):
        keys = [e for e in obj.key_entries if not e.is_locked or e.certificate is not None]
        if len(keys) == 1:
            return _public_key_of(keys[0])
        certificates = obj.certificates
        if not keys and len(certificates) == 1 and not obj.requests:
            return _public_key_of(certificates[0])
        if not keys and not certificates and len(obj.requests) == 1:
            return _public_key_of(obj.requests[0])
        raise UnsupportedKeyError(
            f"the store holds {len(keys)} keys, {len(certificates)} certificates and "
            f"{len(obj.requests)} requests; pass the one certificate, key or request whose "
            "modulus you want")
    if isinstance(obj, KeyEntry):
        if isinstance(obj.key, PrivateKey):
            return obj.key.key
        if obj.certificate is not None:
            return obj.certificate.x509.public_key()
        hint = Hint("key_passwords", alias=obj.alias)
        raise PasswordError(f"the key of entry {obj.alias!r} is locked and has no certificate; "
                            f"unlock it first ({hint.api} when loading)", alias=obj.alias,
                            missing=True).with_hint(hint)
    if isinstance(obj, TrustedCertEntry):
        return obj.certificate.x509.public_key()
    if isinstance(obj, (Certificate, CertificateRequest)):
        return obj.x509.public_key()
    if isinstance(obj, PrivateKey):
        return obj.key
    return obj


def _rsa_modulus(obj: ModulusSource) -> int:
    key = _public_key_of(obj)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.private_numbers().public_numbers.n
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_numbers().n
    algorithm = key_algorithm_name(key)
    raise UnsupportedKeyError(
        f"a modulus exists only for RSA keys, and this key is {algorithm}; compare "
        "public_key_fingerprint (the SHA-256 of the public key, equal for a key and its "
        "certificate) instead, or run `certkit match KEY CERT`",
        algorithm=algorithm,
    )


def modulus(obj: ModulusSource) -> str:
    """The line ``openssl x509|rsa|req -noout -modulus`` prints: ``Modulus=`` and upper-case hex.

    No newline, and no leading zero digit (openssl prints the number, not its DER bytes).
    Raises :class:`~certkit.errors.UnsupportedKeyError` for keys other than RSA.
    """
    return f"Modulus={_rsa_modulus(obj):X}"


def modulus_hash(obj: ModulusSource, algorithm: str = "md5") -> str:
    """The hex digest ``openssl x509 -noout -modulus -in F | openssl md5`` prints for ``obj``.

    The digest covers the :func:`modulus` line plus its newline, as the pipe does; pass
    ``algorithm="sha256"`` for the ``openssl sha256`` variant.
    """
    name = algorithm.lower().replace("-", "")
    if name not in hashlib.algorithms_available:
        raise ValueError(f"unknown digest algorithm {algorithm!r}; use md5, sha1 or sha256")
    return hashlib.new(name, (modulus(obj) + "\n").encode("ascii")).hexdigest()



@attrs.frozen
class Fingerprints:
    """How a key, certificate or CSR is told apart: its key algorithm, the SHA-256 of its
    public key (SubjectPublicKeyInfo), and for RSA the :func:`modulus` line and its hash
    with ``digest`` (what ``openssl … -modulus | openssl md5`` prints; ``None`` otherwise).
    """

    algorithm: str
    spki_sha256: str
    modulus: str | None = None
    modulus_hash: str | None = None
    digest: str = "md5"

    def as_dict(self) -> dict[str, str]:
        """The fingerprints as JSON names them: ``spki_sha256``, ``modulus``, ``modulus_md5``."""
        found = {"spki_sha256": self.spki_sha256}
        if self.modulus is not None and self.modulus_hash is not None:
            found["modulus"] = self.modulus
            found[f"modulus_{self.digest}"] = self.modulus_hash
        return found


def _algorithm(obj: PrivateKey | Certificate | CertificateRequest) -> str:
    if isinstance(obj, PrivateKey):
        return obj.algorithm
    if isinstance(obj, Certificate):
        return obj.key_algorithm
    try:
        return key_algorithm_name(obj.x509.public_key())
    except ValueError:
        return "unknown"


def fingerprints(obj: PrivateKey | Certificate | CertificateRequest,
                 digest: str = "md5") -> Fingerprints:
    """The :class:`Fingerprints` of a key, certificate or certificate request."""
    try:
        line: str | None = modulus(obj)
        hashed: str | None = modulus_hash(obj, digest)
    except UnsupportedKeyError:
        line = hashed = None
    return Fingerprints(_algorithm(obj), obj.public_key_fingerprint, line, hashed, digest)


def identify(store: KeyStore, digest: str = "md5") -> list[tuple[
        str, PrivateKey | Certificate | CertificateRequest, Fingerprints]]:
    """Every private key, certificate and request in ``store`` with its :class:`Fingerprints`:
    ``(kind, object, fingerprints)`` with kind ``private key``, ``certificate`` or
    ``request``, in the store's order (what ``certkit modulus`` lists)."""
    found: list[tuple[str, PrivateKey | Certificate | CertificateRequest]] = []
    for entry in store.entries:
        if isinstance(entry, KeyEntry):
            if isinstance(entry.key, PrivateKey):
                found.append(("private key", entry.key))
            found.extend(("certificate", cert) for cert in entry.chain)
        elif isinstance(entry, TrustedCertEntry):
            found.append(("certificate", entry.certificate))
    found.extend(("request", request) for request in store.requests)
    return [(kind, obj, fingerprints(obj, digest)) for kind, obj in found]


@attrs.frozen
class KeyMatch:
    """Whether a private key belongs to a certificate or CSR, with both sides' fingerprints
    (what ``certkit match`` shows)."""

    matched: bool
    key: PrivateKey = attrs.field(repr=False)
    target: Certificate | CertificateRequest
    key_fingerprints: Fingerprints
    target_fingerprints: Fingerprints


def match_key(
    key: KeyStore | str | os.PathLike[str],
    target: KeyStore | str | os.PathLike[str],
    *,
    password: Password | Passwords = None,
) -> KeyMatch:
    """Does the one private key in ``key`` belong to what ``target`` is about (its leaf
    certificate, else its certificate request, see :func:`subject_of`)?

    Files are loaded with ``password`` (one, or :class:`~certkit.Passwords` to try).
    Raises :class:`~certkit.errors.KeyMismatchError` when ``key`` holds no private key or
    several (which one would be meant?) and when ``target`` holds no certificate or request:
    an answer would not be about what the caller meant.
    """
    from certkit._ops.api import opened  # noqa: PLC0415 - operations import one another lazily

    key_store, key_path = opened(key, password=password)
    target_store, target_path = opened(target, password=password)
    key_name, target_name = key_path or "the key store", target_path or "the certificate store"
    keys = list(key_store.key_entries)
    if len(keys) != 1 or not isinstance(keys[0].key, PrivateKey):
        what = ("no private key" if not keys else
                f"{len(keys)} private keys ({', '.join(e.alias for e in keys)}); export the "
                "one you mean to its own file" if len(keys) > 1 else "a locked private key")
        raise KeyMismatchError(f"{key_name} holds {what}")
    private_key = keys[0].key
    subject = subject_of(target_store)
    if subject is None:
        raise KeyMismatchError(f"{target_name} holds no certificate or certificate request")
    return KeyMatch(private_key.matches(subject), private_key, subject,
                    fingerprints(private_key), fingerprints(subject))




@attrs.frozen
class KeyLocation:
    """A private key and where it was found: the file (if any) and the store alias (if any)."""

    key: PrivateKey
    source: str | None = None
    alias: str | None = None


@attrs.frozen
class _LockedLocation:
    source: str | None
    alias: str


def _iter_files(folder: str) -> Iterator[str]:
    """Every file below ``folder``, sorted, without following symbolic links to folders
    (what is not a regular file is skipped by the reader, not here, so it is listed)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            yield os.path.join(root, name)


class KeyIndex:
    """Private keys filed under the SHA-256 of their SubjectPublicKeyInfo.

    Building the index costs one public-key derivation per key; each lookup is then a
    dictionary access, however many keys there are. Files that cannot be read, are not
    keys, or need a password that was not given are skipped and listed in :attr:`skipped`.
    """

    def __init__(self, candidates: Iterable[KeyCandidate] = (), *,
                 password: Password | Passwords = None) -> None:
        self._keys: dict[str, KeyLocation] = {}
        self._also: dict[str, list[KeyLocation]] = {}
        self._locked: dict[str, _LockedLocation] = {}
        self._password = password
        self.skipped: list[tuple[str, str]] = []
        self.files_read = 0
        for candidate in candidates:
            self.add(candidate)

    def __len__(self) -> int:
        return len(self._keys)

    def _file(self, location: KeyLocation) -> None:
        fingerprint = location.key.public_key_fingerprint
        if fingerprint in self._keys:
            self._also.setdefault(fingerprint, []).append(location)
        else:
            self._keys[fingerprint] = location

    def locate_all(self, certificate: Certificate | CertificateRequest) -> list[KeyLocation]:
        """Every place the private key of ``certificate`` was found, in search order."""
        fingerprint = certificate.public_key_fingerprint
        first = self._keys.get(fingerprint)
        return [first, *self._also.get(fingerprint, ())] if first else []

    def add(self, candidate: KeyCandidate, *, source: str | None = None) -> None:
        """Add a key, every key of a store or entry, or the keys in a file or folder."""
        if isinstance(candidate, PrivateKey):
            self._file(KeyLocation(candidate, source))
        elif isinstance(candidate, KeyEntry):
            self._add_entry(candidate, source)
        elif isinstance(candidate, KeyStore):
            for entry in candidate.key_entries:
                self._add_entry(entry, source)
        else:
            path = os.fspath(candidate)
            if os.path.isdir(path):
                for file in _iter_files(path):
                    self._add_file(file)
            else:
                self._add_file(path, explicit=True)

    def _add_entry(self, entry: KeyEntry, source: str | None) -> None:
        if isinstance(entry.key, PrivateKey):
            self._file(KeyLocation(entry.key, source, entry.alias))
        elif isinstance(entry.key, LockedKey) and entry.key.known_fingerprint:
            self._locked.setdefault(entry.key.known_fingerprint,
                                    _LockedLocation(source, entry.alias))

    def _add_file(self, path: str, *, explicit: bool = False) -> None:
        # Operations sit above the API in imports.
        from certkit._ops.api import MAX_INPUT, load_file, skipped_reason  # noqa: PLC0415

        try:
            info = os.stat(path)
        except OSError as err:
            if explicit:
                self.skipped.append((path, err.strerror or str(err)))
            return
        if not stat.S_ISREG(info.st_mode):
            # A FIFO would block the search and a device would feed it forever: never opened.
            self.skipped.append((path, skipped_reason(info.st_mode)))
            return
        if not explicit and info.st_size > MAX_SCANNED_FILE:
            self.skipped.append((path, "larger than any key file"))
            return
        try:
            store = load_file(path, limit=MAX_INPUT if explicit else MAX_SCANNED_FILE,
                              password=self._password)
        except PasswordError as err:
            self.skipped.append((path, "needs a password" if err.missing else "wrong password"))
            return
        except CertkitError as err:
            if explicit:
                self.skipped.append((path, str(err)))
            return
        self.files_read += 1
        for entry in store.key_entries:
            self._add_entry(entry, path)

    def locate(self, certificate: Certificate | CertificateRequest) -> KeyLocation | None:
        """Where the private key of ``certificate`` (or request) is, or ``None``.

        Raises :class:`~certkit.errors.PasswordError` naming the entry when the only
        matching key is still locked under its own keystore password.
        """
        fingerprint = certificate.public_key_fingerprint
        found = self._keys.get(fingerprint)
        if found is None and fingerprint in self._locked:
            locked = self._locked[fingerprint]
            where = f" in {locked.source}" if locked.source else ""
            raise PasswordError(
                f"the key of {certificate.subject} is entry {locked.alias!r}{where}, which "
                "has its own key password; give it to unlock the entry",
                source=locked.source, alias=locked.alias, missing=True)
        return found

    def get(self, certificate: Certificate | CertificateRequest) -> KeyLocation | None:
        """Where the unlocked private key of ``certificate`` is, or ``None`` (never raises)."""
        return self._keys.get(certificate.public_key_fingerprint)

    def find(self, certificate: Certificate | CertificateRequest) -> PrivateKey | None:
        """The private key of ``certificate`` (or request), or ``None``."""
        found = self.locate(certificate)
        return found.key if found else None


def find_key(
    certificate: Certificate | CertificateRequest,
    candidates: Iterable[KeyCandidate],
    *,
    password: Password | Passwords = None,
) -> PrivateKey | None:
    """The private key among ``candidates`` that belongs to ``certificate``, or ``None``.

    ``candidates`` may mix :class:`PrivateKey` objects, key stores and entries, key files
    and folders (searched recursively; files that are not keys are skipped, and
    ``password`` is tried on those that need one). Candidates are indexed by public key,
    so thousands of them cost one pass, not one comparison each.
    """
    return KeyIndex(candidates, password=password).find(certificate)


def pair_keys(
    keys: Iterable[KeyCandidate],
    certificates: Iterable[Certificate],
    *,
    password: Password | Passwords = None,
) -> tuple[tuple[Certificate, PrivateKey | None], ...]:
    """Each certificate with its private key from ``keys`` (or ``None``), in certificate order."""
    index = KeyIndex(keys, password=password)
    located = ((cert, index.get(cert)) for cert in certificates)
    return tuple((cert, found.key if found else None) for cert, found in located)
