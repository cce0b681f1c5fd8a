"""The object model: certificates, keys, chains and keystores as immutable values.

Nothing here knows about files, formats or the command line. Equality is by canonical DER,
and key material never appears in a ``repr``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

import attrs

from certkit._crypto import der as _der
from certkit._crypto.password import Password
from certkit.errors import AliasError, DecodeError, PasswordError

# cryptography is imported where it is used, not here: a keystore copied from one file to
# another (JKS to JKS, say) never parses a certificate or key, and importing cryptography's
# x509 and serialization modules costs more than the whole copy (see docs/benchmarks.md).
if TYPE_CHECKING:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificatePublicKeyTypes,
        PrivateKeyTypes,
    )

__all__ = [
    "Attributes",
    "Certificate",
    "CertificateRequest",
    "Chain",
    "Entry",
    "KeyEntry",
    "KeyStore",
    "LockedKey",
    "LockedSecret",
    "Password",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "SecretKeyEntry",
    "TrustedCertEntry",
]

#: A password as the API accepts it: text (encoded as each format requires), raw bytes,
#: or ``None`` for "no password", which PKCS#12 keeps apart from the empty password.

#: The OID of Java's trusted-usage bag attribute; its value names the permitted key usages.
JAVA_TRUSTED_USAGE_OID = "2.16.840.1.113894.746875.1.1"
#: anyExtendedKeyUsage: what keytool writes as the trusted usage of a trusted certificate.
ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0"

_CURVE_NAMES = {
    "secp256r1": "P256",
    "secp384r1": "P384",
    "secp521r1": "P521",
    "secp224r1": "P224",
    "secp192r1": "P192",
}

_HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512", "md5"})


def _digest(data: bytes, algorithm: str) -> str:
    name = algorithm.lower().replace("-", "")
    if name not in hashlib.algorithms_available and name not in _HASHES:
        raise ValueError(f"unknown digest algorithm {algorithm!r}; use sha256, sha1, sha512, md5")
    return hashlib.new(name, data).hexdigest()


def _spki_of(public_key: CertificatePublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see the imports

    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_algorithm_name(key: object) -> str:
    """Describe a key (public or private) as ``RSA-2048``, ``EC-P256``, ``Ed25519``…."""
    from cryptography.hazmat.primitives.asymmetric import (  # noqa: PLC0415 - see the imports
        dsa,
        ec,
        ed448,
        ed25519,
        rsa,
        x448,
        x25519,
    )

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"EC-{_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, (dsa.DSAPrivateKey, dsa.DSAPublicKey)):
        return f"DSA-{key.key_size}"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "Ed25519"
    if isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return "Ed448"
    if isinstance(key, (x25519.X25519PrivateKey, x25519.X25519PublicKey)):
        return "X25519"
    if isinstance(key, (x448.X448PrivateKey, x448.X448PublicKey)):
        return "X448"
    return type(key).__name__


def _name(owner: object, which: str) -> cx509.Name | None:
    """``owner.subject`` or ``owner.issuer``, or ``None`` when cryptography cannot parse it.

    cryptography parses names lazily, so a malformed name only fails here (ValueError,
    KeyError for an unknown string type, TypeError for a BIT STRING value under another
    attribute than x500UniqueIdentifier), and it warns about out-of-range attribute
    lengths (a four-letter country) that real certificates do have.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            name: cx509.Name = getattr(owner, which)
            return name
    except (ValueError, KeyError, TypeError):
        return None


def _rfc4514(name: cx509.Name | None) -> str:
    if name is None:
        return "<unrenderable name>"
    try:
        return name.rfc4514_string()
    except ValueError:  # names with attribute values cryptography cannot render
        return "<unrenderable name>"


def _common_name(name: cx509.Name | None) -> str | None:
    if name is None:
        return None
    from cryptography.x509.oid import NameOID  # noqa: PLC0415 - see the imports

    try:
        attrs_ = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return None
    if not attrs_:
        return None
    value = attrs_[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _general_names(ext_value: cx509.SubjectAlternativeName) -> tuple[str, ...]:
    from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports

    out: list[str] = []
    for name in ext_value:
        if isinstance(name, cx509.DNSName):
            out.append(name.value)
        elif isinstance(name, cx509.IPAddress):
            out.append(str(name.value))
        elif isinstance(name, cx509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, cx509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
    return tuple(out)


def _parse_certificate(der: bytes) -> tuple[cx509.Certificate, int]:
    """The parsed certificate and its serial number (which cryptography warns about on
    every access when it is not positive, so certkit reads it once, inside a filter)."""
    from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
    from cryptography.utils import CryptographyDeprecationWarning  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            # Real-world certificates with non-positive serials still load (cryptography
            # only warns); certkit must read what the servers out there hold.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            cert = cx509.load_der_x509_certificate(der)
            return cert, cert.serial_number
    except (ValueError, cx509.InvalidVersion) as err:
        raise DecodeError(f"not a valid X.509 certificate: {err}", format="der") from err


def _serial_of(cert: cx509.Certificate) -> int:
    from cryptography.utils import CryptographyDeprecationWarning  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return cert.serial_number


_T = TypeVar("_T")


def _memo(owner: object, slot: str, compute: Callable[[], _T]) -> _T:
    """The value cached in ``owner.slot`` (a frozen instance's private slot), computed once."""
    value: _T | None = getattr(owner, slot)
    if value is None:
        value = compute()
        object.__setattr__(owner, slot, value)
    return value


def _check_framing(data: bytes, tags: Sequence[int], *, whole: bool, what: str, shape: str,
                   **where: Any) -> None:
    """The cheap check kept objects get: ``data`` is one DER SEQUENCE whose elements have
    ``tags`` (exactly, or as a prefix unless ``whole``); else :class:`DecodeError`."""
    found = _der.sequence_tags(data)
    if found is not None and (found == list(tags) if whole else found[:len(tags)] == list(tags)):
        return
    try:
        _der.read_tlv(data)  # says what is wrong with the framing, if that is it
    except DecodeError as err:
        raise DecodeError(f"{what}: {err}", **where) from err
    raise DecodeError(f"{what}: the DER is not {shape}", **where)


_CERTIFICATE_SHAPE = [0x30, 0x30, 0x03]


def _check_certificate_framing(_: object, __: object, der: bytes) -> None:
    """One DER SEQUENCE of TBS, algorithm, signature: what every certificate is checked for."""
    if _der.sequence_tags(der) == _CERTIFICATE_SHAPE:
        return  # the usual case, without the keyword call that explains a failure
    _check_framing(der, _CERTIFICATE_SHAPE, whole=True, what="not a valid X.509 certificate",
                   shape="a SEQUENCE of to-be-signed data, signature algorithm and signature",
                   format="der")


#: Signature checks done so far: (certificate DER, issuer DER) -> verified; emptied when full.
_ISSUED_BY: dict[tuple[bytes, bytes], bool] = {}
_ISSUED_BY_LIMIT = 4096


def _verify_issued_by(cert: Certificate, issuer: Certificate) -> bool:
    from cryptography.exceptions import (  # noqa: PLC0415 - see the imports
        InvalidSignature,
        UnsupportedAlgorithm,
    )

    try:
        cert.x509.verify_directly_issued_by(issuer.x509)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


@attrs.frozen(repr=False)
class Certificate:
    """An X.509 certificate, kept as its exact DER bytes with a parsed view in ``x509``.

    ``Certificate(der)`` parses at once and raises :class:`DecodeError` for anything that
    is not a certificate. ``Certificate(der, lazy=True)`` checks only the DER framing and
    parses on first use of a parsed property (a :class:`DecodeError` then): what a codec
    uses to carry thousands of certificates from one keystore file to another.
    """

    der: bytes = attrs.field(converter=bytes, validator=_check_certificate_framing)
    lazy: bool = attrs.field(default=False, kw_only=True, eq=False)
    _parsed: tuple[cx509.Certificate, int] | None = attrs.field(init=False, default=None,
                                                                eq=False)

    def __attrs_post_init__(self) -> None:
        if not self.lazy:
            object.__setattr__(self, "_parsed", _parse_certificate(self.der))

    def _view(self) -> tuple[cx509.Certificate, int]:
        return _memo(self, "_parsed", lambda: _parse_certificate(self.der))

    @property
    def x509(self) -> cx509.Certificate:
        """The certificate parsed by ``cryptography`` (parsed on first use if ``lazy``)."""
        return self._view()[0]

    @classmethod
    def from_x509(cls, certificate: cx509.Certificate) -> Certificate:
        """Wrap a certificate object from ``cryptography``."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

        wrapped = cls(certificate.public_bytes(serialization.Encoding.DER), lazy=True)
        object.__setattr__(wrapped, "_parsed", (certificate, _serial_of(certificate)))
        return wrapped

    @classmethod
    def load(cls, data: bytes) -> Certificate:
        """Read one certificate from PEM or DER bytes."""
        if data.lstrip().startswith(b"-----BEGIN"):
            from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports

            try:
                return cls.from_x509(cx509.load_pem_x509_certificate(data))
            except ValueError as err:
                raise DecodeError(f"not a PEM certificate: {err}", format="pem") from err
        return cls(data)

    def __repr__(self) -> str:
        return (
            f"Certificate(subject={self.subject!r}, serial_number={self.serial_number:#x}, "
            f"not_after={self.not_after.isoformat()!r}, sha256={self.fingerprint()!r})"
        )

    @property
    def subject(self) -> str:
        """The subject name as an RFC 4514 string (most specific attribute first)."""
        return _rfc4514(_name(self.x509, "subject"))

    @property
    def issuer(self) -> str:
        """The issuer name as an RFC 4514 string."""
        return _rfc4514(_name(self.x509, "issuer"))

    @property
    def common_name(self) -> str | None:
        """The subject's first commonName, if it has one."""
        return _common_name(_name(self.x509, "subject"))

    @property
    def serial_number(self) -> int:
        """The serial number as an integer (non-positive ones, which RFC 5280 forbids, too)."""
        return self._view()[1]

    @property
    def not_before(self) -> _dt.datetime:
        """Start of validity, timezone-aware UTC."""
        return self.x509.not_valid_before_utc

    @property
    def not_after(self) -> _dt.datetime:
        """End of validity, timezone-aware UTC."""
        return self.x509.not_valid_after_utc

    def _extension(
        self, oid: cx509.ObjectIdentifier
    ) -> cx509.Extension[cx509.ExtensionType] | None:
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.utils import CryptographyDeprecationWarning  # noqa: PLC0415

        try:
            with warnings.catch_warnings():
                # An authorityCertSerialNumber may be non-positive too (see _parse_certificate).
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                return self.x509.extensions.get_extension_for_oid(oid)
        except cx509.ExtensionNotFound:
            return None
        except (ValueError, cx509.DuplicateExtension, cx509.UnsupportedGeneralNameType) as err:
            raise DecodeError(
                f"certificate {self.subject} has a malformed extension: {err}"
            ) from err

    @property
    def san(self) -> tuple[str, ...]:
        """Subject alternative names: DNS names and IP addresses bare, e-mail and URI prefixed."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.x509.oid import ExtensionOID  # noqa: PLC0415

        ext = self._extension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if ext is None or not isinstance(ext.value, cx509.SubjectAlternativeName):
            return ()
        return _general_names(ext.value)

    @property
    def is_ca(self) -> bool:
        """Whether basicConstraints marks this as a CA certificate."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.x509.oid import ExtensionOID  # noqa: PLC0415

        ext = self._extension(ExtensionOID.BASIC_CONSTRAINTS)
        return ext is not None and isinstance(ext.value, cx509.BasicConstraints) and ext.value.ca

    def is_issued_by(self, issuer: Certificate) -> bool:
        """Whether ``issuer``'s name and public key signed this certificate.

        The answer depends on the two certificates' bytes alone, so it is remembered (up to
        a few thousand pairs): chains over a shared pool, or a batch of PFX files from one
        CA, check each intermediate's signature once, not once per leaf.
        """
        key = (self.der, issuer.der)
        known = _ISSUED_BY.get(key)
        if known is None:
            known = _verify_issued_by(self, issuer)
            if len(_ISSUED_BY) >= _ISSUED_BY_LIMIT:
                _ISSUED_BY.clear()  # one atomic step, safe when threads share the memory
            _ISSUED_BY[key] = known
        return known

    @property
    def is_self_signed(self) -> bool:
        """Whether the certificate names itself as issuer and its own key verifies its signature."""
        subject = _name(self.x509, "subject")
        return (subject is not None and _name(self.x509, "issuer") == subject
                and self.is_issued_by(self))

    def fingerprint(self, algorithm: str = "sha256") -> str:
        """The digest of the DER certificate, lower-case hex without colons."""
        return _digest(self.der, algorithm)

    @property
    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo, canonical where cryptography knows the key type."""
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415

        try:
            return _spki_of(self.x509.public_key())
        except (ValueError, UnsupportedAlgorithm):
            return _der.certificate_spki(self.der)

    @property
    def public_key_fingerprint(self) -> str:
        """SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex (equal for key and cert)."""
        return hashlib.sha256(self.spki).hexdigest()

    @property
    def key_algorithm(self) -> str:
        """The public key's algorithm and size, e.g. ``RSA-2048`` or ``EC-P256``."""
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415

        try:
            return key_algorithm_name(self.x509.public_key())
        except (ValueError, UnsupportedAlgorithm):
            return "unknown"

    def matches_hostname(self, hostname: str) -> bool:
        """Whether a SAN entry (with single-label wildcards) covers ``hostname``."""
        import ipaddress  # noqa: PLC0415 - only hostname checks need it

        host = hostname.rstrip(".").lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        for name in self.san:
            if address is not None:
                if name == str(address):
                    return True
                continue
            pattern = name.lower().rstrip(".")
            if pattern == host:
                return True
            if pattern.startswith("*.") and "." in host and host.split(".", 1)[1] == pattern[2:]:
                return True
        return False

    def to_pem(self) -> bytes:
        """The certificate as one PEM ``CERTIFICATE`` block."""
        return _der.pem_armor("CERTIFICATE", self.der)


def _pkcs8_of(key: PrivateKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see the imports

    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _check_pkcs8_framing(encoded: bytes) -> None:
    """PrivateKeyInfo: SEQUENCE { INTEGER version, AlgorithmIdentifier, OCTET STRING, … }."""
    _check_framing(encoded, (0x02, 0x30, 0x04), whole=False, what="not a readable private key",
                   shape="a PKCS#8 PrivateKeyInfo")


def _parse_pkcs8(encoded: bytes) -> PrivateKeyTypes:
    from certkit._crypto.keys import load_private_key  # noqa: PLC0415 - model stays light

    return load_private_key(encoded)


@attrs.frozen(repr=False, eq=False)
class PrivateKey:
    """A private key; equal to another when their unencrypted PKCS#8 DER is identical.

    Keys are loaded without RSA's expensive consistency check (a conversion never uses the
    key); call :meth:`validate` before trusting a key from an unknown source to sign.
    ``PrivateKey(key)`` wraps a ``cryptography`` key object; :meth:`from_pkcs8` keeps PKCS#8
    bytes as read (checking their framing) and parses them on first use.
    """

    _key: PrivateKeyTypes | None = attrs.field(default=None, alias="key")
    _encoded: bytes | None = attrs.field(default=None, kw_only=True, alias="encoded")
    _canonical: bytes | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if (self._key is None) == (self._encoded is None):
            raise TypeError("PrivateKey takes a key object or encoded=PKCS#8 bytes, not both")
        if self._encoded is not None:
            object.__setattr__(self, "_encoded", bytes(self._encoded))
            _check_pkcs8_framing(self._encoded)

    @classmethod
    def from_pkcs8(cls, encoded: bytes) -> PrivateKey:
        """Keep unencrypted PKCS#8 DER as read; it is parsed on first use (DecodeError then)."""
        return cls(encoded=encoded)

    @classmethod
    def load(cls, data: bytes, password: Password = None) -> PrivateKey:
        """Read one private key from PEM or DER (PKCS#8, encrypted PKCS#8 or traditional)."""
        from certkit._crypto.keys import load_private_key  # noqa: PLC0415 - model stays light

        return cls(load_private_key(data, password))

    @property
    def key(self) -> PrivateKeyTypes:
        """The ``cryptography`` key object (parsed on first use for :meth:`from_pkcs8` keys)."""
        encoded = self._encoded or b""  # one of key and encoded is always set
        return _memo(self, "_key", lambda: _parse_pkcs8(encoded))

    @property
    def pkcs8(self) -> bytes:
        """The key as canonical unencrypted PKCS#8 DER (what equality compares)."""
        return _memo(self, "_canonical", lambda: _pkcs8_of(self.key))

    @property
    def encoded(self) -> bytes:
        """The PKCS#8 DER as read, byte for byte, where the key came from bytes; else canonical.

        Java keystores write this, so a key copied from one keystore to another keeps the
        encoding the JDK gave it.
        """
        return self._encoded if self._encoded is not None else self.pkcs8

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrivateKey):
            return NotImplemented
        if self._encoded is not None and self._encoded == other._encoded:
            return True
        return self.pkcs8 == other.pkcs8

    def __hash__(self) -> int:
        return hash(self.pkcs8)

    def __repr__(self) -> str:
        return (f"PrivateKey(algorithm={self.algorithm!r}, "
                f"spki_sha256={self.public_key_fingerprint!r})")

    @property
    def algorithm(self) -> str:
        """The algorithm and size, e.g. ``RSA-2048``, ``EC-P256``, ``Ed25519``."""
        return key_algorithm_name(self.key)

    @property
    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo of the matching public key."""
        return _spki_of(self.key.public_key())  # type: ignore[arg-type]

    @property
    def public_key_fingerprint(self) -> str:
        """SHA-256 of the public key's SubjectPublicKeyInfo DER, lower-case hex."""
        return hashlib.sha256(self.spki).hexdigest()

    def matches(self, certificate: Certificate | CertificateRequest) -> bool:
        """Whether this key belongs to ``certificate`` (compared by SubjectPublicKeyInfo bytes)."""
        return self.spki == certificate.spki

    def validate(self) -> PrivateKey:
        """Run the full consistency check the fast loader skips; return ``self`` if it passes."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

        try:
            serialization.load_der_private_key(self.pkcs8, None)
        except ValueError as err:
            raise DecodeError(f"the {self.algorithm} private key is inconsistent: {err}") from err
        return self

    def to_pem(self, password: Password = None) -> bytes:
        """The key as PKCS#8 PEM, encrypted (PBES2, AES-256-CBC) when a password is given."""
        from certkit._crypto.keys import dump_private_key  # noqa: PLC0415 - model stays light

        if password is None:
            return dump_private_key(self.key, "pem")
        return dump_private_key(self.key, "pem", password)


@attrs.frozen(repr=False)
class LockedKey:
    """A private key still encrypted under its own password (a keystore entry not yet opened).

    ``public_key_fingerprint`` is known when the entry's certificate is, so listing and
    matching work without the password; :meth:`unlock` decrypts.
    """

    format: str
    data: bytes = attrs.field(eq=True)
    unlocker: Callable[[Password], PrivateKey] = attrs.field(eq=False)
    public_key_fingerprint: str | None = attrs.field(default=None, eq=False)

    def __repr__(self) -> str:
        return f"LockedKey(format={self.format!r}, spki_sha256={self.public_key_fingerprint!r})"

    def unlock(self, password: Password) -> PrivateKey:
        """Decrypt with the entry's key password; :class:`PasswordError` if it is wrong."""
        return self.unlocker(password)


@attrs.frozen(repr=False)
class LockedSecret:
    """A secret key still sealed under its own password (a keystore entry not yet opened).

    JCEKS and BKS seal the algorithm name together with the key bytes, so neither is known
    until :meth:`unlock`; equality is by the sealed bytes, which a write back into the same
    format keeps unchanged.
    """

    format: str
    data: bytes = attrs.field(eq=True)
    unlocker: Callable[[Password], tuple[str, bytes]] = attrs.field(eq=False)

    def __repr__(self) -> str:
        return f"LockedSecret(format={self.format!r})"

    def unlock(self, password: Password) -> tuple[str, bytes]:
        """Decrypt with the entry's key password into ``(algorithm, key bytes)``.

        Raises :class:`PasswordError` if the password is wrong.
        """
        return self.unlocker(password)


def _parse_csr(der: bytes) -> cx509.CertificateSigningRequest:
    from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports

    try:
        return cx509.load_der_x509_csr(der)
    except (ValueError, cx509.InvalidVersion) as err:
        raise DecodeError(f"not a valid certificate request: {err}") from err


@attrs.frozen(repr=False)
class CertificateRequest:
    """A PKCS#10 certificate signing request, kept as its DER with a parsed view in ``x509``."""

    der: bytes = attrs.field(converter=bytes)
    x509: cx509.CertificateSigningRequest = attrs.field(
        init=False,
        eq=False,
        default=attrs.Factory(lambda self: _parse_csr(self.der), takes_self=True),
    )

    def __repr__(self) -> str:
        return f"CertificateRequest(subject={self.subject!r})"

    @property
    def subject(self) -> str:
        """The requested subject as an RFC 4514 string."""
        return _rfc4514(_name(self.x509, "subject"))

    @property
    def san(self) -> tuple[str, ...]:
        """Requested subject alternative names, in the form :attr:`Certificate.san` uses."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports

        try:
            ext = self.x509.extensions.get_extension_for_class(cx509.SubjectAlternativeName)
        except cx509.ExtensionNotFound:
            return ()
        except (ValueError, cx509.DuplicateExtension, cx509.UnsupportedGeneralNameType) as err:
            raise DecodeError(f"certificate request has a malformed extension: {err}") from err
        return _general_names(ext.value)

    @property
    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo of the requested key."""
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415

        try:
            return _spki_of(self.x509.public_key())
        except (ValueError, UnsupportedAlgorithm) as err:
            raise DecodeError(f"certificate request has an unusable public key: {err}") from err

    @property
    def public_key_fingerprint(self) -> str:
        """SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex."""
        return hashlib.sha256(self.spki).hexdigest()

    def to_pem(self) -> bytes:
        """The request as one PEM ``CERTIFICATE REQUEST`` block."""
        return _der.pem_armor("CERTIFICATE REQUEST", self.der)


def _to_certificates(value: Iterable[Certificate]) -> tuple[Certificate, ...]:
    return tuple(value)


def _to_bytes_tuple(value: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(value)


def _to_str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Chain:
    """An ordered sequence of certificates, **leaf first**, each signed by the next."""

    certificates: tuple[Certificate, ...] = attrs.field(default=(), converter=_to_certificates)

    def __len__(self) -> int:
        return len(self.certificates)

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self.certificates)

    @overload
    def __getitem__(self, index: int) -> Certificate: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Certificate, ...]: ...
    def __getitem__(self, index: int | slice) -> Certificate | tuple[Certificate, ...]:
        return self.certificates[index]

    def __bool__(self) -> bool:
        return bool(self.certificates)

    @property
    def leaf(self) -> Certificate | None:
        """The end-entity certificate (the first), or ``None`` for an empty chain."""
        return self.certificates[0] if self.certificates else None

    @property
    def root(self) -> Certificate | None:
        """The last certificate if it is self-signed, else ``None``."""
        if self.certificates and self.certificates[-1].is_self_signed:
            return self.certificates[-1]
        return None

    def broken_link(self) -> int | None:
        """Index of the first certificate not signed by its successor, or ``None``."""
        for index in range(len(self.certificates) - 1):
            if not self.certificates[index].is_issued_by(self.certificates[index + 1]):
                return index
        return None

    @property
    def is_complete(self) -> bool:
        """True when every link verifies and the chain ends in a self-signed certificate."""
        return self.root is not None and self.broken_link() is None

    @property
    def missing_issuer(self) -> str | None:
        """The issuer name (RFC 4514) that would extend or mend this chain, or ``None``."""
        if not self.certificates:
            return None
        broken = self.broken_link()
        if broken is not None:
            return self.certificates[broken].issuer
        if self.root is None:
            return self.certificates[-1].issuer
        return None


@attrs.frozen
class RawAttribute:
    """A container attribute certkit does not interpret: its OID and the DER of each value."""

    oid: str
    values: tuple[bytes, ...] = attrs.field(converter=_to_bytes_tuple)


def _to_raw_attributes(value: Iterable[RawAttribute]) -> tuple[RawAttribute, ...]:
    return tuple(value)


@attrs.frozen
class Attributes:
    """What a container attaches to an entry and a lossless round trip must keep.

    ``trusted_usage`` holds the OIDs of Java's trusted-usage attribute when the source had
    one; ``other`` keeps every attribute certkit does not interpret, in order.
    """

    friendly_name: str | None = None
    local_key_id: bytes | None = None
    csp_name: str | None = None
    trusted_usage: tuple[str, ...] | None = None
    other: tuple[RawAttribute, ...] = attrs.field(default=(), converter=_to_raw_attributes)

    def evolve(self, **changes: Any) -> Attributes:
        """Return a copy with the given fields replaced."""
        return attrs.evolve(self, **changes)

    @property
    def is_empty(self) -> bool:
        """Whether no attribute is set."""
        return (self.friendly_name is None and self.local_key_id is None
                and self.csp_name is None and self.trusted_usage is None and not self.other)


def _to_certificate_attributes(value: Iterable[Attributes]) -> tuple[Attributes, ...]:
    """Normalise: all-empty attributes are the same as none recorded."""
    items = tuple(value)
    return items if any(not a.is_empty for a in items) else ()


def _to_chain(value: Chain | Iterable[Certificate]) -> Chain:
    return value if isinstance(value, Chain) else Chain(tuple(value))


@attrs.frozen
class KeyEntry:
    """A private key with its certificate chain (leaf first) under one alias.

    ``attributes`` are the key's own (a PKCS#12 key bag's); ``certificate_attributes``,
    when not empty, holds the attributes each chain certificate carried, index for index
    with ``chain``, so a PKCS#12 round trip keeps those of the certificate bags too.
    """

    alias: str
    key: PrivateKey | LockedKey
    chain: Chain = attrs.field(default=Chain(), converter=_to_chain)
    attributes: Attributes = Attributes()
    created: _dt.datetime | None = None
    certificate_attributes: tuple[Attributes, ...] = attrs.field(
        default=(), converter=_to_certificate_attributes, kw_only=True
    )

    @certificate_attributes.validator
    def _check_certificate_attributes(
        self, _: attrs.Attribute[tuple[Attributes, ...]], value: tuple[Attributes, ...]
    ) -> None:
        if value and len(value) != len(self.chain):
            raise ValueError(
                f"certificate_attributes has {len(value)} items for a chain of {len(self.chain)}"
            )

    def with_chain(self, chain: Chain | Iterable[Certificate]) -> KeyEntry:
        """Return the entry with a new chain (certificate attributes follow their certificates)."""
        new_chain = _to_chain(chain)
        kept = {c.der: a for c, a in zip(self.chain, self.certificate_attributes, strict=False)}
        return attrs.evolve(self, chain=new_chain, certificate_attributes=tuple(
            kept.get(c.der, Attributes()) for c in new_chain) if kept else ())

    @property
    def certificate(self) -> Certificate | None:
        """The entry's own (leaf) certificate, if it has a chain."""
        return self.chain.leaf

    @property
    def is_locked(self) -> bool:
        """Whether the key is still encrypted under a per-entry password."""
        return isinstance(self.key, LockedKey)

    @property
    def private_key(self) -> PrivateKey:
        """The decrypted key; :class:`PasswordError` naming the alias if it is still locked."""
        if isinstance(self.key, LockedKey):
            raise PasswordError(
                f"the key of entry {self.alias!r} has its own password; "
                "pass it in key_passwords={alias: password} when loading",
                alias=self.alias,
                missing=True,
            )
        return self.key

    def unlock(self, password: Password) -> KeyEntry:
        """Return the entry with its key decrypted (unchanged if it is not locked)."""
        if isinstance(self.key, LockedKey):
            try:
                key = self.key.unlock(password)
            except PasswordError as err:
                raise PasswordError(
                    f"wrong key password for entry {self.alias!r}", alias=self.alias
                ) from err
            return attrs.evolve(self, key=key)
        return self


@attrs.frozen
class TrustedCertEntry:
    """A certificate trusted on its own (a CA in a truststore), under one alias.

    ``trusted`` marks it for Java: PKCS#12 output writes Java's trusted-usage attribute
    only for trusted entries, so loose certificates read from a PKCS#12 without that
    attribute keep ``trusted=False`` and are written back the same way.
    """

    alias: str
    certificate: Certificate
    attributes: Attributes = Attributes()
    created: _dt.datetime | None = None
    trusted: bool = True


def _to_secret(value: bytes | bytearray | memoryview | LockedSecret) -> bytes | LockedSecret:
    return value if isinstance(value, LockedSecret) else bytes(value)


@attrs.frozen(repr=False)
class SecretKeyEntry:
    """A symmetric key (Java's ``SecretKeyEntry``) under one alias.

    ``key`` is the raw key, or a :class:`LockedSecret` while the entry is sealed under a
    password of its own; ``algorithm`` (``"AES"``, ``"HmacSHA256"``…) is ``None`` only for
    such a locked entry, whose container seals the name with the key.
    """

    alias: str
    algorithm: str | None = attrs.field()
    key: bytes | LockedSecret = attrs.field(converter=_to_secret)
    attributes: Attributes = Attributes()
    created: _dt.datetime | None = None

    @algorithm.validator
    def _check_algorithm(self, _: attrs.Attribute[str | None], value: str | None) -> None:
        if value is None and not isinstance(self.key, LockedSecret):
            raise ValueError(f"secret key {self.alias!r} needs an algorithm name")

    def __repr__(self) -> str:
        size = "locked" if isinstance(self.key, LockedSecret) else f"bits={len(self.key) * 8}"
        return f"SecretKeyEntry(alias={self.alias!r}, algorithm={self.algorithm!r}, {size})"

    @property
    def is_locked(self) -> bool:
        """Whether the key is still sealed under a per-entry password."""
        return isinstance(self.key, LockedSecret)

    @property
    def secret(self) -> bytes:
        """The key bytes; :class:`PasswordError` naming the alias if the entry is still locked."""
        if isinstance(self.key, LockedSecret):
            raise PasswordError(
                f"the secret key {self.alias!r} has its own password; "
                "pass it in key_passwords={alias: password} when loading",
                alias=self.alias,
                missing=True,
            )
        return self.key

    def unlock(self, password: Password) -> SecretKeyEntry:
        """Return the entry with its key unsealed (unchanged if it is not locked)."""
        if isinstance(self.key, LockedSecret):
            try:
                algorithm, key = self.key.unlock(password)
            except PasswordError as err:
                what = "no" if err.missing else "wrong"
                raise PasswordError(f"{what} key password for entry {self.alias!r}",
                                    alias=self.alias, missing=err.missing) from err
            return attrs.evolve(self, algorithm=algorithm, key=key)
        return self


Entry: TypeAlias = KeyEntry | TrustedCertEntry | SecretKeyEntry


@attrs.frozen
class Protection:
    """How one part of a container is protected, as read; ``weak`` says why it is weak, if it is."""

    part: str
    algorithm: str
    iterations: int | None = None
    weak: str | None = None


def _check_aliases(_: object, __: object, entries: tuple[Entry, ...]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.alias in seen:
            raise AliasError(f"alias {entry.alias!r} is used by more than one entry",
                             alias=entry.alias)
        seen.add(entry.alias)


def _to_entries(value: Iterable[Entry]) -> tuple[Entry, ...]:
    return tuple(value)


def _to_requests(value: Iterable[CertificateRequest]) -> tuple[CertificateRequest, ...]:
    return tuple(value)


def _to_protection(value: Iterable[Protection]) -> tuple[Protection, ...]:
    return tuple(value)


@attrs.frozen
class KeyStore:
    """An ordered collection of entries, each under a unique alias; edits return a new store.

    ``format``, ``protection`` and ``notes`` describe where the store came from and are not
    part of its value (two stores with the same entries are equal whatever they were read from).
    """

    entries: tuple[Entry, ...] = attrs.field(
        default=(), converter=_to_entries, validator=_check_aliases
    )
    requests: tuple[CertificateRequest, ...] = attrs.field(default=(), converter=_to_requests)
    format: str | None = attrs.field(default=None, eq=False)
    protection: tuple[Protection, ...] = attrs.field(default=(), eq=False, converter=_to_protection)
    notes: tuple[str, ...] = attrs.field(default=(), eq=False, converter=_to_str_tuple)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __contains__(self, alias: object) -> bool:
        return any(entry.alias == alias for entry in self.entries)

    def __getitem__(self, alias: str) -> Entry:
        for entry in self.entries:
            if entry.alias == alias:
                return entry
        known = ", ".join(repr(a) for a in self.aliases) or "none"
        raise AliasError(f"no entry with alias {alias!r}; aliases in this store: {known}",
                         alias=alias)

    def get(self, alias: str) -> Entry | None:
        """The entry under ``alias``, or ``None``."""
        return next((entry for entry in self.entries if entry.alias == alias), None)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every alias, in store order."""
        return tuple(entry.alias for entry in self.entries)

    @property
    def key_entries(self) -> tuple[KeyEntry, ...]:
        """The private-key entries, in store order."""
        return tuple(e for e in self.entries if isinstance(e, KeyEntry))

    @property
    def trusted_entries(self) -> tuple[TrustedCertEntry, ...]:
        """The trusted-certificate entries, in store order."""
        return tuple(e for e in self.entries if isinstance(e, TrustedCertEntry))

    @property
    def secret_entries(self) -> tuple[SecretKeyEntry, ...]:
        """The secret-key entries, in store order."""
        return tuple(e for e in self.entries if isinstance(e, SecretKeyEntry))

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        """Every distinct certificate in the store, in order of first appearance."""
        seen: dict[bytes, Certificate] = {}
        for entry in self.entries:
            if isinstance(entry, KeyEntry):
                for cert in entry.chain:
                    seen.setdefault(cert.der, cert)
            elif isinstance(entry, TrustedCertEntry):
                seen.setdefault(entry.certificate.der, entry.certificate)
        return tuple(seen.values())

    def add(self, entry: Entry) -> KeyStore:
        """Return a store with ``entry`` appended; :class:`AliasError` if its alias is taken."""
        if entry.alias in self:
            raise AliasError(f"alias {entry.alias!r} already exists; remove or rename it first",
                             alias=entry.alias)
        return attrs.evolve(self, entries=(*self.entries, entry))

    def replace(self, entry: Entry) -> KeyStore:
        """Return a store where the entry with ``entry.alias`` is replaced in place."""
        self[entry.alias]  # raises AliasError naming the known aliases
        return attrs.evolve(
            self, entries=tuple(entry if e.alias == entry.alias else e for e in self.entries)
        )

    def remove(self, alias: str) -> KeyStore:
        """Return a store without the entry under ``alias``."""
        self[alias]
        return attrs.evolve(self, entries=tuple(e for e in self.entries if e.alias != alias))

    def rename(self, old: str, new: str) -> KeyStore:
        """Return a store with entry ``old`` renamed to ``new`` (its friendly name follows)."""
        entry = self[old]
        if new != old and new in self:
            raise AliasError(f"alias {new!r} already exists", alias=new)
        attributes = entry.attributes
        if attributes.friendly_name is not None:
            attributes = attributes.evolve(friendly_name=new)
        renamed = attrs.evolve(entry, alias=new, attributes=attributes)
        return attrs.evolve(
            self, entries=tuple(renamed if e.alias == old else e for e in self.entries)
        )

    def unlock(self, passwords: Mapping[str, Password]) -> KeyStore:
        """Return a store whose locked private and secret keys named in ``passwords`` are opened."""
        entries: list[Entry] = []
        for entry in self.entries:
            if (isinstance(entry, (KeyEntry, SecretKeyEntry)) and entry.is_locked
                    and entry.alias in passwords):
                entries.append(entry.unlock(passwords[entry.alias]))
            else:
                entries.append(entry)
        return attrs.evolve(self, entries=tuple(entries))

    def with_entries(self, entries: Sequence[Entry]) -> KeyStore:
        """Return a store with the same provenance and the given entries."""
        return attrs.evolve(self, entries=tuple(entries))
