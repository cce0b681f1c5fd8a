"""The object model: certificates, keys, chains and keystores as immutable values.

Nothing here knows about files, formats or the command line. Equality is by canonical DER,
and key material never appears in a ``repr``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

import attrs

from certkit._crypto import der as _der
from certkit._crypto.password import Password
from certkit.errors import (
    AliasError,
    CertkitError,
    ChainError,
    DecodeError,
    Hint,
    KeyMismatchError,
    PasswordError,
)

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
    "Link",
    "LockedKey",
    "LockedSecret",
    "OpaqueEntry",
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
        # NULL parameters where the RFC says absent: parse a copy without them; the
        # certificate keeps its own bytes (and fingerprint), only the parsed view differs.
        fixed = _der.certificate_without_null_parameters(der)
        if fixed is not None:
            with contextlib.suppress(ValueError, cx509.InvalidVersion), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                cert = cx509.load_der_x509_certificate(fixed)
                return cert, cert.serial_number
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


def _check_certificate_framing(_: object, __: object, der: bytes) -> None:
    """One DER SEQUENCE of TBS, algorithm, signature: what every certificate is checked for."""
    if _der.certificate_shaped(der):
        return  # the usual case, without the keyword call that explains a failure
    _check_framing(der, _der.CERTIFICATE_SHAPE, whole=True, what="not a valid X.509 certificate",
                   shape="a SEQUENCE of to-be-signed data, signature algorithm and signature",
                   format="der")


#: Links judged so far: (certificate DER, issuer DER) -> Link; emptied when full.
_LINKS: dict[tuple[bytes, bytes], Link] = {}
_LINKS_LIMIT = 4096

#: Link statuses, strongest first.
LINK_STATUSES = ("verified", "unverified", "broken")


@attrs.frozen
class Link:
    """How a certificate links to its issuer: ``verified``, ``unverified`` or ``broken``.

    Names (and the authority/subject key identifiers, where both are present) make the
    link; the signature check confirms it (``verified``) or breaks it (``broken``). When
    no check can run — a SHA-1, MD5 or MD2 signature, or an algorithm cryptography does
    not support — the link stands as ``unverified`` and ``reason`` says why.
    """

    status: str
    reason: str | None = None

    @property
    def holds(self) -> bool:
        """Whether the link stands (verified or unverified), as keytool would chain it."""
        return self.status != "broken"


def _canonical_name(name: cx509.Name | None) -> tuple[Any, ...] | None:
    # Names compare canonically, as openssl and Java's X500Principal do: case and runs of
    # spaces do not matter.
    if name is None:
        return None
    return tuple(
        tuple(sorted((a.oid.dotted_string,
                      " ".join(a.value.split()).casefold() if isinstance(a.value, str)
                      else a.value) for a in rdn))
        for rdn in name.rdns
    )


def _names_link(cert: Certificate, issuer: Certificate) -> bool:
    try:
        issuer_name = _der.certificate_names(cert.der)[0]
        subject_name = _der.certificate_names(issuer.der)[1]
    except DecodeError:
        return False
    if issuer_name == subject_name:
        return True
    wanted = _canonical_name(_name(cert.x509, "issuer"))
    return wanted is not None and wanted == _canonical_name(_name(issuer.x509, "subject"))


def _signature_algorithm(cert: Certificate) -> str:
    try:
        oid = cert.x509.signature_algorithm_oid
    except ValueError:
        return "an unknown signature algorithm"
    name: str = getattr(oid, "_name", "") or ""
    return name if name and name != "Unknown OID" else oid.dotted_string


def _judge_link(cert: Certificate, issuer: Certificate) -> Link:
    from cryptography.exceptions import (  # noqa: PLC0415 - see the imports
        InvalidSignature,
        UnsupportedAlgorithm,
    )

    # The signature is tried first: cryptography compares the encoded names itself, and a
    # signature that verifies settles the link without looking at key identifiers.
    try:
        written = _der.certificate_tbs(cert.der)
    except DecodeError:
        written = None
    if written is not None and written != cert.x509.tbs_certificate_bytes:
        return _verify_as_written(cert, issuer, written)
    try:
        cert.x509.verify_directly_issued_by(issuer.x509)
    except InvalidSignature:
        return _bad_signature(cert, issuer)
    except ValueError as err:
        text = str(err)
        if "does not match issuer key type" in text:
            return _bad_signature(cert, issuer)
        if not _names_link(cert, issuer):
            return Link("broken", f"{cert.subject} names {cert.issuer} as its issuer, "
                                  f"not {issuer.subject}")
        if "subject does not match" in text:
            # The same name in another string encoding (keytool writes PrintableString
            # where openssl writes UTF8String): check the signature with the key itself.
            link = _verify_with_key(cert, issuer, _bad_signature(cert, issuer))
        else:
            link = _unverified(cert, err)
    except (TypeError, UnsupportedAlgorithm) as err:
        if not _names_link(cert, issuer):
            return Link("broken", f"{cert.subject} names {cert.issuer} as its issuer, "
                                  f"not {issuer.subject}")
        link = _unverified(cert, err)
    else:
        return Link("verified")
    if link.status == "unverified":
        # No signature check: the names linked, and the key identifiers must not disagree.
        authority = cert.authority_key_identifier
        subject_key = issuer.subject_key_identifier if authority is not None else None
        if subject_key is not None and subject_key != authority:
            return Link("broken", f"the authority key identifier of {cert.subject} is not "
                                  f"the subject key identifier of {issuer.subject}")
    return link


def _bad_signature(cert: Certificate, issuer: Certificate) -> Link:
    return Link("broken", f"the signature on {cert.subject} does not verify with the key of "
                          f"{issuer.subject}")


def _unverified(cert: Certificate, err: Exception) -> Link:
    # Not a verdict on the link: cryptography cannot check this signature (a SHA-1, MD5
    # or MD2 signature, a key type it lacks), so the names and key identifiers decide.
    detail = "" if "Unsupported signature algorithm" in str(err) else f" ({err})"
    return Link("unverified", f"signed with {_signature_algorithm(cert)}, which cryptography "
                              f"does not verify{detail}")


def _verify_with_key(cert: Certificate, issuer: Certificate, bad: Link) -> Link:
    """Check ``cert``'s signature with ``issuer``'s public key, whatever the names' encoding."""
    from cryptography.exceptions import (  # noqa: PLC0415 - see the imports
        InvalidSignature,
        UnsupportedAlgorithm,
    )
    from cryptography.hazmat.primitives.asymmetric import (  # noqa: PLC0415
        dsa,
        ec,
        ed448,
        ed25519,
        padding,
        rsa,
    )

    x = cert.x509
    try:
        key = issuer.x509.public_key()
        params = x.signature_algorithm_parameters
        digest = x.signature_hash_algorithm
        if digest is not None and digest.name in {"sha1", "md5"}:
            # What verify_directly_issued_by refuses stays unverified here too.
            return _unverified(cert, ValueError("Unsupported signature algorithm"))
        if isinstance(key, rsa.RSAPublicKey) and isinstance(params, (padding.PKCS1v15,
                                                                     padding.PSS)):
            if digest is None:
                return bad
            key.verify(x.signature, x.tbs_certificate_bytes, params, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            key.verify(x.signature, x.tbs_certificate_bytes, params)
        elif isinstance(key, dsa.DSAPublicKey) and digest is not None and params is None:
            key.verify(x.signature, x.tbs_certificate_bytes, digest)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)) \
                and params is None and digest is None:
            key.verify(x.signature, x.tbs_certificate_bytes)
        else:
            return bad
    except InvalidSignature:
        return bad
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        return _unverified(cert, err)
    return Link("verified")


def _verify_as_written(cert: Certificate, issuer: Certificate, tbs: bytes) -> Link:
    """The link for a certificate whose parsed view was re-encoded (NULL signature
    parameters dropped): its signature is checked over the to-be-signed bytes as written."""
    from cryptography.exceptions import (  # noqa: PLC0415 - see the imports
        InvalidSignature,
        UnsupportedAlgorithm,
    )
    from cryptography.hazmat.primitives.asymmetric import (  # noqa: PLC0415
        dsa,
        ec,
        ed448,
        ed25519,
    )

    if not _names_link(cert, issuer):
        return Link("broken", f"{cert.subject} names {cert.issuer} as its issuer, "
                              f"not {issuer.subject}")
    try:
        public = issuer.x509.public_key()
        digest = cert.x509.signature_hash_algorithm
        signature = cert.x509.signature
        if isinstance(public, ec.EllipticCurvePublicKey) and digest is not None:
            public.verify(signature, tbs, ec.ECDSA(digest))
        elif isinstance(public, dsa.DSAPublicKey) and digest is not None:
            public.verify(signature, tbs, digest)
        elif isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            public.verify(signature, tbs)
        else:
            return _unverified(cert, ValueError("Unsupported signature algorithm"))
    except InvalidSignature:
        return _bad_signature(cert, issuer)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        return _unverified(cert, err)
    return Link("verified")


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
    def subject_key_identifier(self) -> bytes | None:
        """The subjectKeyIdentifier extension's bytes (``None`` when absent or malformed)."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.x509.oid import ExtensionOID  # noqa: PLC0415

        try:
            ext = self._extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        except DecodeError:
            return None
        return ext.value.digest if ext is not None and isinstance(
            ext.value, cx509.SubjectKeyIdentifier) else None

    @property
    def authority_key_identifier(self) -> bytes | None:
        """The keyIdentifier of the authorityKeyIdentifier extension (``None`` when absent,
        malformed, or naming the issuer by name and serial only)."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.x509.oid import ExtensionOID  # noqa: PLC0415

        try:
            ext = self._extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        except DecodeError:
            return None
        return ext.value.key_identifier if ext is not None and isinstance(
            ext.value, cx509.AuthorityKeyIdentifier) else None

    @property
    def is_ca(self) -> bool:
        """Whether basicConstraints marks this as a CA certificate."""
        from cryptography import x509 as cx509  # noqa: PLC0415 - see the imports
        from cryptography.x509.oid import ExtensionOID  # noqa: PLC0415

        ext = self._extension(ExtensionOID.BASIC_CONSTRAINTS)
        return ext is not None and isinstance(ext.value, cx509.BasicConstraints) and ext.value.ca

    def link_to(self, issuer: Certificate) -> Link:
        """How this certificate links to ``issuer``: ``verified``, ``unverified`` or ``broken``.

        Names and key identifiers make the link, the signature check confirms or breaks it;
        an algorithm that cannot be checked leaves it ``unverified`` (see :class:`Link`).
        The answer depends on the two certificates' bytes alone, so it is remembered (up to
        a few thousand pairs): chains over a shared pool, or a batch of PFX files from one
        CA, check each intermediate's signature once, not once per leaf.
        """
        key = (self.der, issuer.der)
        known = _LINKS.get(key)
        if known is None:
            known = _judge_link(self, issuer)
            if len(_LINKS) >= _LINKS_LIMIT:
                _LINKS.clear()  # one atomic step, safe when threads share the memory
            _LINKS[key] = known
        return known

    def is_issued_by(self, issuer: Certificate) -> bool:
        """Whether this certificate links to ``issuer``: its name, key identifier and a
        signature that does not fail (one that cannot be checked counts; see :meth:`link_to`)."""
        return self.link_to(issuer).holds

    @property
    def is_self_signed(self) -> bool:
        """Whether the certificate is its own issuer: by name and key identifier, with a
        self-signature that verifies or cannot be checked (an MD5 root is still a root)."""
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

    @property
    def known_fingerprint(self) -> str:
        """The public key fingerprint (always known for a key that is not locked)."""
        return self.public_key_fingerprint

    def _spki_if_cheap(self) -> bytes | None:
        """The SPKI without parsing kept PKCS#8 bytes: ``None`` when only parsing can tell."""
        if self._key is not None:
            return self.spki
        return _der.pkcs8_public_spki(self._encoded or b"")

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

    It answers everything its entry's certificate can tell — :attr:`algorithm`,
    :attr:`public_key_fingerprint`, :meth:`matches` — so listing and matching work without
    the password; only what needs the secret itself (:attr:`key`, :attr:`pkcs8`,
    :meth:`to_pem`) raises :class:`PasswordError` naming the alias. :meth:`unlock` decrypts.
    A :class:`KeyEntry` gives its locked key its ``alias`` and leaf ``certificate``.

    A key is also left encrypted when the store was loaded only to be listed
    (``load(..., decrypt_keys=False)``): then :attr:`deferred` is true, the key is expected
    to open with the password given at load, and no key derivation was spent on it.
    """

    format: str
    data: bytes = attrs.field(eq=True)
    unlocker: Callable[[Password], PrivateKey] = attrs.field(eq=False)
    _fingerprint: str | None = attrs.field(default=None, eq=False, alias="public_key_fingerprint")
    certificate: Certificate | None = attrs.field(default=None, eq=False, kw_only=True)
    alias: str | None = attrs.field(default=None, eq=False, kw_only=True)
    deferred: bool = attrs.field(default=False, eq=False, kw_only=True)

    def __repr__(self) -> str:
        return (f"LockedKey(format={self.format!r}, alias={self.alias!r}, "
                f"spki_sha256={self.known_fingerprint!r})")

    def _locked(self, what: str) -> PasswordError:
        alias = self.alias if self.alias is not None else "…"
        if self.deferred:
            return PasswordError(
                f"the key of entry {alias!r} was not decrypted (the store was loaded with "
                f"decrypt_keys=False, for listing), and {what} needs the key itself: load "
                "again without decrypt_keys=False, or unlock the entry with the store's "
                "password", alias=self.alias, missing=True)
        hint = Hint("key_passwords", alias=self.alias)
        return PasswordError(
            f"the key of entry {alias!r} is locked under its own password, and {what} needs "
            f"the key itself: pass {hint.api} when loading, or unlock "
            "the entry", alias=self.alias, missing=True).with_hint(hint)

    @property
    def known_fingerprint(self) -> str | None:
        """The public key fingerprint if the container or the certificate says it, else ``None``."""
        if self._fingerprint is not None:
            return self._fingerprint
        return self.certificate.public_key_fingerprint if self.certificate is not None else None

    @property
    def public_key_fingerprint(self) -> str:
        """SHA-256 of the public key's SubjectPublicKeyInfo DER, from the entry's certificate."""
        known = self.known_fingerprint
        if known is None:
            raise self._locked("its public key fingerprint (the entry has no certificate)")
        return known

    @property
    def algorithm(self) -> str:
        """The algorithm and size, e.g. ``RSA-2048``, as the entry's certificate states it."""
        if self.certificate is None:
            raise self._locked("its algorithm (the entry has no certificate)")
        return self.certificate.key_algorithm

    @property
    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo, as the entry's certificate states it."""
        if self.certificate is None:
            raise self._locked("its public key (the entry has no certificate)")
        return self.certificate.spki

    def matches(self, certificate: Certificate | CertificateRequest) -> bool:
        """Whether this key belongs to ``certificate`` (by public key fingerprint)."""
        return self.public_key_fingerprint == certificate.public_key_fingerprint

    @property
    def key(self) -> PrivateKeyTypes:
        """Always :class:`PasswordError`: the key object needs the entry's key password."""
        raise self._locked("the key object")

    @property
    def pkcs8(self) -> bytes:
        """Always :class:`PasswordError`: the PKCS#8 bytes need the entry's key password."""
        raise self._locked("its PKCS#8 encoding")

    def to_pem(self, password: Password = None) -> bytes:
        """Always :class:`PasswordError`: writing the key needs the entry's key password."""
        raise self._locked("writing it as PEM")

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
    """An ordered sequence of certificates, **leaf first**, each issued by the next.

    Each certificate links to the next by name and key identifier; :attr:`links` says
    per link whether the signature verified, could not be checked, or broke it.
    """

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

    def __repr__(self) -> str:
        def subject(cert: Certificate) -> str:
            try:
                return cert.subject
            except DecodeError:
                return f"<unreadable sha256={cert.fingerprint()[:16]}…>"
        return f"Chain([{', '.join(repr(subject(c)) for c in self.certificates)}])"

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

    @property
    def links(self) -> tuple[Link, ...]:
        """How each certificate links to the next, leaf first (one fewer than certificates)."""
        certs = self.certificates
        return tuple(certs[i].link_to(certs[i + 1]) for i in range(len(certs) - 1))

    @property
    def broken_link(self) -> int | None:
        """Index of the first certificate that does not link to its successor, or ``None``.

        A link breaks when the names or key identifiers differ or the signature check
        fails; a signature that cannot be checked does not break it (see :attr:`links`).
        """
        for index, link in enumerate(self.links):
            if not link.holds:
                return index
        return None

    @property
    def unverified_links(self) -> tuple[int, ...]:
        """Indexes of the certificates whose signature by their successor could not be checked."""
        return tuple(i for i, link in enumerate(self.links) if link.status == "unverified")

    @property
    def is_complete(self) -> bool:
        """True when every link holds and the chain ends in a self-signed certificate.

        Links that hold without a signature check (:attr:`unverified_links`) count, as they
        do for keytool; whether a chain is trusted is for ``chain_verdict`` to say.
        """
        return self.root is not None and self.broken_link is None

    @property
    def missing_issuer(self) -> str | None:
        """The issuer name (RFC 4514) that would extend or mend this chain, or ``None``."""
        if not self.certificates:
            return None
        broken = self.broken_link
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


def _fields(chain: Chain) -> list[tuple[bytes, bytes, bytes]] | None:
    """Each certificate's encoded issuer, subject and SPKI (``None`` if one is not DER)."""
    try:
        return [_der.certificate_fields(c.der) for c in chain.certificates]
    except DecodeError:
        return None


def _out_of_order(alias: str, chain: Chain,
                  fields: list[tuple[bytes, bytes, bytes]] | None) -> ChainError | None:
    """A :class:`ChainError` naming the first certificate whose issuer is in the chain but
    not right after it (an issuer before its subject, or further down); ``None`` if leaf first.

    Names are compared as encoded, so no certificate is parsed; a gap (an issuer that is not
    in the chain at all) is an incomplete chain, not a disordered one.
    """
    certs = chain.certificates
    if len(certs) < 2 or fields is None:
        return None
    position: dict[bytes, int] = {}
    for index, (_, subject, _) in enumerate(fields):
        position.setdefault(subject, index)
    for index, (issuer, subject, _) in enumerate(fields):
        if issuer == subject:
            continue
        found = position.get(issuer)
        if (found is not None and found < index == len(certs) - 1
                and position.get(fields[found][0]) == found + 1):
            continue  # the top certificate closes a loop (A signs B signs A): keytool's chain
        if found is not None and found != index + 1:
            where = "before" if found < index else "further down than"
            return ChainError(
                f"the chain of entry {alias!r} is not leaf first: certificate {index + 1} "
                f"({certs[index].subject}) is issued by certificate {found + 1} "
                f"({certs[found].subject}), which comes {where} it; pass the certificates "
                "through certkit.order_chain() to put each right before its issuer",
                strays=[certs[index].subject])
    return None


def _key_verdict(key: PrivateKey | LockedKey, leaf: Certificate, raw: bytes) -> bool | None:
    """Whether ``key`` belongs to ``leaf``; ``None`` when only parsing the key could tell.

    Bytes first: the certificate's SPKI as written (``raw``) against the key's (a parsed
    key's, or the one kept PKCS#8 spells out), so a 1,000-entry keystore parses nothing;
    the parsed, canonical comparison runs only when those bytes differ.
    """
    try:
        if isinstance(key, LockedKey):
            # Only a fingerprint the container recorded says anything: the one borrowed
            # from the entry's certificate would agree with it by definition.
            known = key._fingerprint
            if known is None:
                return None
            return known in (hashlib.sha256(raw).hexdigest(), leaf.public_key_fingerprint)
        spki = key._spki_if_cheap()
        if spki is None:
            return None
        return spki == raw or key.spki == leaf.spki
    except (CertkitError, ValueError, TypeError):
        return None  # a key or certificate only parsing can judge: checked when it is used


@attrs.frozen
class KeyEntry:
    """A private key with its certificate chain (leaf first) under one alias.

    An entry is consistent by construction: building one whose key does not belong to its
    first certificate raises :class:`~certkit.errors.KeyMismatchError`, and one whose chain
    is not leaf first raises :class:`~certkit.errors.ChainError` naming the first
    certificate out of place (``certkit.order_chain(certificates)`` puts them in order).
    The comparison is by public-key bytes and parses nothing it need not; a locked key
    with no known fingerprint, or a key kept as read whose PKCS#8 does not spell out its
    public key (the JDK's EC keys), is checked when it is unlocked or first used
    (:attr:`private_key`, :meth:`check`, or :func:`certkit.dump`).

    :meth:`unchecked` builds an entry anyway, for forensics and for loaders, which must
    read what a container holds: the entry then carries the error in ``problem``, and
    :func:`certkit.dump` refuses to write it.

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
    #: Why the entry is inconsistent, for one built with :meth:`unchecked`; else ``None``.
    problem: KeyMismatchError | ChainError | None = attrs.field(default=None, kw_only=True,
                                                                eq=False)
    _pending: bool = attrs.field(init=False, default=False, eq=False, repr=False)

    @certificate_attributes.validator
    def _check_certificate_attributes(
        self, _: attrs.Attribute[tuple[Attributes, ...]], value: tuple[Attributes, ...]
    ) -> None:
        if value and len(value) != len(self.chain):
            raise ValueError(
                f"certificate_attributes has {len(value)} items for a chain of {len(self.chain)}"
            )

    def __attrs_post_init__(self) -> None:
        key = self.key
        leaf = self.chain.leaf
        if isinstance(key, LockedKey) and (key.alias != self.alias or key.certificate is not leaf):
            object.__setattr__(self, "key", attrs.evolve(key, alias=self.alias, certificate=leaf))
        found = self._find_problem(parse=False)
        if self.problem is None:
            if found is not None:
                raise found
        elif found is not None:  # a flagged entry renamed or edited: its problem, as it now is
            object.__setattr__(self, "problem", found)

    def _find_problem(self, *, parse: bool) -> KeyMismatchError | ChainError | None:
        fields = _fields(self.chain)
        disorder = _out_of_order(self.alias, self.chain, fields)
        if disorder is not None:
            return disorder
        leaf = self.chain.leaf
        if leaf is None:
            return None
        spkis = [f[2] for f in fields] if fields is not None else [b""] * len(self.chain)
        verdict = _key_verdict(self.key, leaf, spkis[0])
        if verdict is None and parse and isinstance(self.key, PrivateKey):
            try:
                verdict = self.key.matches(leaf)
            except (CertkitError, ValueError, TypeError):
                verdict = None
        object.__setattr__(self, "_pending", verdict is None)
        if verdict is None or verdict:
            return None
        elsewhere = next((i + 1 for i, c in enumerate(self.chain.certificates)
                          if i and _key_verdict(self.key, c, spkis[i])), None)
        hint = (f"; it matches certificate {elsewhere} of the chain, so put the chain in order "
                "with certkit.order_chain()" if elsewhere else
                "; pair the key with its own certificate (certkit.find_key finds it)")
        return KeyMismatchError(
            f"the private key of entry {self.alias!r} does not belong to its certificate "
            f"{leaf.subject} (their public keys differ){hint}", alias=self.alias)

    @classmethod
    def unchecked(
        cls,
        alias: str,
        key: PrivateKey | LockedKey,
        chain: Chain | Iterable[Certificate] = (),
        attributes: Attributes | None = None,
        created: _dt.datetime | None = None,
        *,
        certificate_attributes: Iterable[Attributes] = (),
    ) -> KeyEntry:
        """Build an entry even if its key and chain disagree, flagging what is wrong.

        For forensics (and for loaders, which must read what a container really holds):
        :attr:`problem` holds the :class:`~certkit.errors.KeyMismatchError` or
        :class:`~certkit.errors.ChainError` a normal construction would raise, and
        :func:`certkit.dump` refuses to write the entry. A consistent entry comes back
        unflagged.
        """
        placeholder = ChainError("not checked yet")
        entry = cls(alias, key, chain, attributes if attributes is not None else Attributes(),
                    created, certificate_attributes=tuple(certificate_attributes),
                    problem=placeholder)
        if entry.problem is placeholder:  # nothing found: the entry is consistent
            object.__setattr__(entry, "problem", None)
        return entry

    @property
    def is_consistent(self) -> bool:
        """Whether no problem is known (see :meth:`check` for one deferred until use)."""
        return self.problem is None

    def check(self) -> KeyEntry:
        """Run every consistency check, parsing the key if need be; return ``self``.

        Raises the entry's :attr:`problem`, or the :class:`~certkit.errors.KeyMismatchError`
        a deferred check finds (an unlocked key that was locked, the JDK's EC keys); such
        an entry is flagged from then on, as if built with :meth:`unchecked`.
        """
        if self.problem is not None:
            raise type(self.problem)(str(self.problem), **_error_data(self.problem))
        if self._pending:
            found = self._find_problem(parse=True)
            if found is not None:
                object.__setattr__(self, "problem", found)  # flagged from now on
                raise found
        return self

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
        """The decrypted key; :class:`PasswordError` naming the alias if it is still locked.

        A consistency check deferred until the key is used runs here
        (:class:`~certkit.errors.KeyMismatchError` if the key is not the leaf's).
        """
        if isinstance(self.key, LockedKey):
            if self.key.deferred:
                raise self.key._locked("the private key")
            hint = Hint("key_passwords", alias=self.alias)
            raise PasswordError(
                f"the key of entry {self.alias!r} has its own password; "
                f"pass it in {hint.api} when loading",
                alias=self.alias,
                missing=True,
            ).with_hint(hint)
        if self._pending:
            self.check()
        return self.key

    def unlock(self, password: Password) -> KeyEntry:
        """Return the entry with its key decrypted (unchanged if it is not locked).

        The decrypted key is checked against the leaf certificate:
        :class:`~certkit.errors.KeyMismatchError` if it does not belong to it.
        """
        if isinstance(self.key, LockedKey):
            try:
                key = self.key.unlock(password)
            except PasswordError as err:
                raise PasswordError(
                    f"wrong key password for entry {self.alias!r}", alias=self.alias
                ) from err
            if self.problem is not None:
                return attrs.evolve(self, key=key)
            return attrs.evolve(self, key=key).check()
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


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    """The setters of the slots behind ``cls``'s attrs fields, which must be ``names``.

    For :func:`kept_trusted_entry`, which fills instances as attrs' ``__init__`` does; a
    field added to the class without adding it there stops the import here.
    """
    fields = tuple(field.name for field in attrs.fields(cls))
    if fields != names:
        raise AssertionError(f"{cls.__name__} has the fields {fields}, not {names}")
    return tuple(cls.__dict__[name].__set__ for name in names)


_SET_CERTIFICATE = _slot_setters(Certificate, "der", "lazy", "_parsed")
_SET_TRUSTED = _slot_setters(TrustedCertEntry, "alias", "certificate", "attributes", "created",
                             "trusted")
_NO_ATTRIBUTES = Attributes()


def kept_trusted_entry(alias: str, der: bytes,
                       created: _dt.datetime | None) -> TrustedCertEntry | None:
    """``TrustedCertEntry(alias, Certificate(der, lazy=True), created=created)``, or
    ``None`` where that would not simply keep ``der``: for a codec reading thousands.

    The same objects after the same framing check of the certificate. ``None`` (``der``
    is not ``bytes`` or fails the check) tells the caller to use the constructors, which
    convert it or raise the :class:`DecodeError` that says what is wrong. What is skipped
    is only the generated ``__init__`` methods' own work (a converter that returns
    ``bytes`` unchanged, a validator call, an ``__attrs_post_init__`` that does nothing
    when lazy): most of what a truststore's load spent per certificate. Every field is
    set (see :func:`_slot_setters`) through its slot, as attrs' ``__init__`` sets a frozen
    instance's, so equality, hashing and immutability are the classes' own.
    """
    if type(der) is not bytes or not _der.certificate_shaped(der):
        return None
    set_der, set_lazy, set_parsed = _SET_CERTIFICATE
    cert = _new_instance(Certificate)
    set_der(cert, der)
    set_lazy(cert, True)  # noqa: FBT003 - a slot's setter, as attrs calls it
    set_parsed(cert, None)
    set_alias, set_certificate, set_attributes, set_created, set_trusted = _SET_TRUSTED
    entry = _new_instance(TrustedCertEntry)
    set_alias(entry, alias)
    set_certificate(entry, cert)
    set_attributes(entry, _NO_ATTRIBUTES)
    set_created(entry, created)
    set_trusted(entry, True)  # noqa: FBT003 - as above
    return entry


_new_instance = object.__new__


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
            hint = Hint("key_passwords", alias=self.alias)
            raise PasswordError(
                f"the secret key {self.alias!r} has its own password; "
                f"pass it in {hint.api} when loading",
                alias=self.alias,
                missing=True,
            ).with_hint(hint)
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


#: What an :class:`OpaqueEntry` holds: a private key's PKCS#8, a secret key, a certificate.
OPAQUE_KINDS = ("private key", "secret key", "certificate")


def _check_kind(_: object, __: object, value: str) -> None:
    if value not in OPAQUE_KINDS:
        raise ValueError(f"opaque entry kind {value!r} is not one of {', '.join(OPAQUE_KINDS)}")


@attrs.frozen(repr=False)
class OpaqueEntry:
    """An entry certkit cannot parse, kept byte for byte with the reason, under one alias.

    ``kind`` is ``"private key"`` (``data`` is the unencrypted PKCS#8 DER as read),
    ``"secret key"`` (the key bytes as the container held them) or ``"certificate"`` (the
    DER as read). ``chain`` holds the entry's certificates that do parse, leaf first.
    Writing it into a format that can hold such an entry (a private key into JKS, JCEKS or
    PKCS#12) copies ``data`` unchanged; any other format refuses it by alias, or drops it
    with a note when loss is allowed. ``data`` never appears in a ``repr``.
    """

    alias: str
    kind: str = attrs.field(validator=_check_kind)
    data: bytes = attrs.field(converter=bytes)
    reason: str
    chain: Chain = attrs.field(default=Chain(), converter=_to_chain)
    attributes: Attributes = Attributes()
    created: _dt.datetime | None = None

    def __repr__(self) -> str:
        return (f"OpaqueEntry(alias={self.alias!r}, kind={self.kind!r}, "
                f"reason={self.reason!r}, chain_length={len(self.chain)}, "
                f"size={len(self.data)})")

    @property
    def certificate(self) -> Certificate | None:
        """The entry's own (leaf) certificate, if one parses."""
        return self.chain.leaf


def opaque_label(entry: OpaqueEntry) -> str:
    """How a codec names an opaque entry it cannot hold: alias, kind and why it is opaque."""
    return f"{entry.kind} {entry.alias!r} (kept as bytes certkit cannot parse: {entry.reason})"


Entry: TypeAlias = KeyEntry | TrustedCertEntry | SecretKeyEntry | OpaqueEntry
_E = TypeVar("_E", KeyEntry, TrustedCertEntry, SecretKeyEntry, OpaqueEntry)

_KIND_NAMES = {KeyEntry: "a key entry (KeyEntry)",
               TrustedCertEntry: "a trusted certificate (TrustedCertEntry)",
               SecretKeyEntry: "a secret key (SecretKeyEntry)",
               OpaqueEntry: "an entry certkit cannot parse (OpaqueEntry)"}


def _error_data(error: KeyMismatchError | ChainError) -> dict[str, Any]:
    if isinstance(error, KeyMismatchError):
        return {"alias": error.alias, "matching_alias": error.matching_alias}
    return {"strays": error.strays}


@attrs.frozen
class Protection:
    """How one part of a container is protected, as read; ``weak`` says why it is weak, if it is."""

    part: str
    algorithm: str
    iterations: int | None = None
    weak: str | None = None


#: How many aliases a KeyStore's repr lists before it says how many more there are.
_REPR_ALIASES = 8


def _check_aliases(_: object, __: object, entries: tuple[Entry, ...]) -> None:
    aliases = [entry.alias for entry in entries]
    if len(set(aliases)) == len(aliases):
        return  # every store that is valid, without a call per entry
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

    def __repr__(self) -> str:
        counts = (f"key_entries={sum(isinstance(e, KeyEntry) for e in self.entries)}, "
                  f"trusted_entries={sum(isinstance(e, TrustedCertEntry) for e in self.entries)}, "
                  f"secret_entries={sum(isinstance(e, SecretKeyEntry) for e in self.entries)}")
        shown = ", ".join(repr(a) for a in self.aliases[:_REPR_ALIASES])
        more = len(self.entries) - _REPR_ALIASES
        aliases = f"[{shown}{f', … {more} more' if more > 0 else ''}]"
        opaque = sum(isinstance(e, OpaqueEntry) for e in self.entries)
        if opaque:
            counts += f", opaque_entries={opaque}"
        requests = f", requests={len(self.requests)}" if self.requests else ""
        return f"KeyStore(format={self.format!r}, {counts}, aliases={aliases}{requests})"

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

    @overload
    def get(self, alias: str) -> Entry | None: ...
    @overload
    def get(self, alias: str, kind: type[_E]) -> _E: ...
    def get(self, alias: str, kind: type[_E] | None = None) -> Entry | None:
        """The entry under ``alias``, or ``None``; with ``kind``, that entry as that type.

        ``store.get("site", KeyEntry)`` is typed ``KeyEntry`` for mypy, and raises
        :class:`~certkit.errors.AliasError` if there is no such alias or the entry is of
        another kind (a trusted certificate, say), naming what it is.
        """
        found = next((entry for entry in self.entries if entry.alias == alias), None)
        if kind is None:
            return found
        if found is None:
            self[alias]  # raises AliasError naming the aliases there are
        if not isinstance(found, kind):
            wanted = _KIND_NAMES.get(kind, kind.__name__)
            same = ", ".join(repr(e.alias) for e in self.entries if isinstance(e, kind)) or "none"
            raise AliasError(f"entry {alias!r} is {_KIND_NAMES[type(found)]}, not {wanted}; "
                             f"entries of that kind here: {same}", alias=alias)
        return found

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every alias, in store order."""
        return tuple(entry.alias for entry in self.entries)

    @property
    def key_entries(self) -> tuple[KeyEntry, ...]:
        """The private-key entries, in store order."""
        return tuple([e for e in self.entries if isinstance(e, KeyEntry)])  # every load asks

    @property
    def trusted_entries(self) -> tuple[TrustedCertEntry, ...]:
        """The trusted-certificate entries, in store order."""
        return tuple(e for e in self.entries if isinstance(e, TrustedCertEntry))

    @property
    def secret_entries(self) -> tuple[SecretKeyEntry, ...]:
        """The secret-key entries, in store order."""
        return tuple(e for e in self.entries if isinstance(e, SecretKeyEntry))

    @property
    def opaque_entries(self) -> tuple[OpaqueEntry, ...]:
        """The entries kept as bytes because certkit cannot parse them, in store order."""
        return tuple(e for e in self.entries if isinstance(e, OpaqueEntry))

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        """Every distinct certificate in the store, in order of first appearance."""
        seen: dict[bytes, Certificate] = {}
        for entry in self.entries:
            if isinstance(entry, (KeyEntry, OpaqueEntry)):
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
