"""New keys and certificate signing requests, with no OpenSSL configuration file anywhere.

Everything ``openssl req -new`` reads from ``openssl.cnf`` (the subject, the SANs, the
digest) is a parameter here, so the handbook's "Unable to load config info from
…/openssl.cnf" cannot happen.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import re
from collections.abc import Iterable, Mapping

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from certkit._model import (
    Certificate,
    CertificateRequest,
    KeyEntry,
    KeyStore,
    LockedKey,
    Password,
    PrivateKey,
    TrustedCertEntry,
)
from certkit.errors import (
    AliasError,
    CertkitError,
    FileExistsCertkitError,
    Hint,
    PasswordError,
    RequestError,
)

__all__ = ["KEY_ALGORITHMS", "RenewalSource", "RequestFiles", "generate_csr", "generate_key",
           "renewal_csr", "renewal_key", "renewal_source", "request_files", "split_store_alias"]

#: The key types :func:`generate_key` makes, by the names certkit uses everywhere.
KEY_ALGORITHMS = ("RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384", "Ed25519")

_ALIASES = {"RSA": "RSA-2048", "EC": "EC-P256", "ECDSA": "EC-P256", "P256": "EC-P256",
            "P384": "EC-P384", "EC-P-256": "EC-P256", "EC-P-384": "EC-P384",
            "EC-SECP256R1": "EC-P256", "EC-SECP384R1": "EC-P384"}

# RFC 4514 / OpenSSL short names a subject mapping may use, in the order written to the
# name (country first, common name last, as CAs expect).
_NAME_OIDS: dict[str, x509.ObjectIdentifier] = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "UID": NameOID.USER_ID,
    "DC": NameOID.DOMAIN_COMPONENT,
    "CN": NameOID.COMMON_NAME,
}
_LONG_NAMES = {"COUNTRYNAME": "C", "STATEORPROVINCENAME": "ST", "LOCALITYNAME": "L",
               "ORGANIZATIONNAME": "O", "ORGANIZATIONALUNITNAME": "OU", "COMMONNAME": "CN",
               "EMAIL": "EMAILADDRESS", "S": "ST"}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def generate_key(algorithm: str = "RSA-2048") -> PrivateKey:
    """Make a new private key: ``RSA-2048``/``3072``/``4096``, ``EC-P256``/``P384`` or ``Ed25519``.

    Names are case-insensitive; ``RSA`` means RSA-2048 and ``EC`` means EC-P256.
    """
    wanted = algorithm.strip().upper().replace("_", "-")
    wanted = _ALIASES.get(wanted, wanted)
    if wanted.startswith("RSA-") and wanted in KEY_ALGORITHMS:
        return PrivateKey(rsa.generate_private_key(65537, int(wanted[4:])))
    if wanted == "EC-P256":
        return PrivateKey(ec.generate_private_key(ec.SECP256R1()))
    if wanted == "EC-P384":
        return PrivateKey(ec.generate_private_key(ec.SECP384R1()))
    if wanted == "ED25519":
        return PrivateKey(ed25519.Ed25519PrivateKey.generate())
    raise RequestError(f"unknown key type {algorithm!r}; choose one of "
                       f"{', '.join(KEY_ALGORITHMS)}", field="algorithm")


def _name_oid(key: str) -> x509.ObjectIdentifier:
    upper = key.strip().upper()
    upper = _LONG_NAMES.get(upper, upper)
    if upper in _NAME_OIDS:
        return _NAME_OIDS[upper]
    if re.fullmatch(r"[0-2](\.[0-9]+)+", key.strip()):
        return x509.ObjectIdentifier(key.strip())
    raise RequestError(f"unknown subject attribute {key!r}; use C, ST, L, O, OU, CN, "
                       "emailAddress… or a dotted OID", field="subject")


def _attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    try:
        return x509.NameAttribute(oid, value)
    except ValueError as err:
        raise RequestError(f"bad subject attribute {oid.dotted_string}={value!r}: {err}",
                           field="subject") from err


def _subject(common_name: str, subject: str | Mapping[str, str] | None) -> x509.Name:
    if not common_name.strip():
        raise RequestError("the common name is empty; give the server's host name, e.g. "
                           "www.example.com", field="common_name")
    attributes: list[x509.NameAttribute[str]] = []
    if isinstance(subject, str):
        try:
            parsed = x509.Name.from_rfc4514_string(subject)
        except ValueError as err:
            raise RequestError(f"cannot read the subject {subject!r} as an RFC 4514 name "
                               f"(like 'O=Example Ltd,L=Taipei,C=TW'): {err}",
                               field="subject") from err
        attributes = [a for a in parsed if isinstance(a.value, str)]  # type: ignore[misc]
    elif subject is not None:
        order = list(_NAME_OIDS.values())
        pairs = [(_name_oid(key), value) for key, value in subject.items()]
        pairs.sort(key=lambda p: order.index(p[0]) if p[0] in order else len(order))
        attributes = [_attribute(oid, value) for oid, value in pairs]
    names = [a for a in attributes if a.oid == NameOID.COMMON_NAME]
    if any(a.value != common_name for a in names):
        raise RequestError(f"the subject names CN={names[0].value} but the common name is "
                           f"{common_name}; give it once", field="subject")
    if not names:
        attributes.append(_attribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _dns_name(name: str) -> str | None:
    """``name`` as an ASCII DNS name (IDNA for non-ASCII labels), or ``None`` if it is not one."""
    text = name.strip().rstrip(".").lower()
    labels = text.split(".")
    out: list[str] = []
    for index, label in enumerate(labels):
        if label == "*" and index == 0 and len(labels) > 2:
            out.append(label)
            continue
        try:
            ascii_label = label.encode("idna").decode("ascii") if not label.isascii() else label
        except UnicodeError:
            return None
        if not _LABEL.match(ascii_label):
            return None
        out.append(ascii_label)
    dns = ".".join(out)
    return dns if len(dns) <= 253 else None


def _general_name(value: str) -> x509.GeneralName:
    text = value.strip()
    kind, _, rest = text.partition(":")
    if kind.upper() in ("DNS", "IP") and rest:
        text = rest.strip()
    if kind.upper() != "DNS":
        try:
            return x509.IPAddress(ipaddress.ip_address(text))
        except ValueError:
            if kind.upper() == "IP" and rest:
                raise RequestError(f"{value!r} is not an IP address", field="san") from None
    dns = _dns_name(text)
    if dns is None:
        raise RequestError(f"{value!r} is neither a DNS name (like www.example.com or "
                           "*.example.com) nor an IP address", field="san")
    return x509.DNSName(dns)


def _digest_for(key: PrivateKey) -> hashes.HashAlgorithm | None:
    raw = key.key
    if isinstance(raw, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    if isinstance(raw, ec.EllipticCurvePrivateKey) and raw.curve.key_size > 256:
        return hashes.SHA384() if raw.curve.key_size <= 384 else hashes.SHA512()
    if isinstance(raw, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, dsa.DSAPrivateKey)):
        return hashes.SHA256()
    raise RequestError(f"a {key.algorithm} key cannot sign a certificate request",
                       field="algorithm")


def generate_csr(
    key: PrivateKey,
    common_name: str,
    *,
    sans: Iterable[str] = (),
    subject: str | Mapping[str, str] | None = None,
) -> CertificateRequest:
    """Make a PKCS#10 request for ``key``, signed by it (SHA-256, or SHA-384 for EC-P384).

    ``sans`` are DNS names (``*.example.com`` and non-ASCII names too) or IP addresses,
    optionally prefixed ``DNS:``/``IP:``. The common name is put first among the SANs when
    it is a host name, as browsers read only the SANs. ``subject`` adds the other
    attributes, as an RFC 4514 string (``"O=Example Ltd,L=Taipei,C=TW"``) or a mapping
    (``{"O": "Example Ltd", "C": "TW"}``). The key is validated first.
    """
    key.validate()
    digest = _digest_for(key)
    name = _subject(common_name, subject)
    general: list[x509.GeneralName] = []
    with_cn = [common_name, *sans] if _is_host(common_name) else list(sans)
    for value in with_cn:
        entry = _general_name(value)
        if entry not in general:
            general.append(entry)
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    csr = builder.sign(key.key, digest)  # type: ignore[arg-type]
    return CertificateRequest(csr.public_bytes(serialization.Encoding.DER))


def _is_host(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip())
    except ValueError:
        return " " not in name.strip() and _dns_name(name) is not None
    return True


def renewal_csr(key: PrivateKey, certificate: Certificate, *,
                sans: Iterable[str] = ()) -> CertificateRequest:
    """Make the PKCS#10 request that renews ``certificate``: its exact subject and SANs.

    ``key`` is the key the renewed certificate will carry: a new one (the usual advice) or
    the certificate's own (``keytool -certreq`` does that for a keystore entry). The
    subject is copied attribute for attribute, in its order and string types, and the
    subject alternative names as they are (DNS names, IP addresses and any other kind);
    ``sans`` adds names to them. Signed with SHA-256 (SHA-384 for EC-P384). The key is
    validated first.
    """
    key.validate()
    digest = _digest_for(key)
    old = certificate.x509
    names: list[x509.GeneralName] = []
    try:
        names.extend(old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        pass
    except ValueError as err:
        raise RequestError(f"the certificate's subject alternative names cannot be read "
                           f"({err}); give them with sans=…",
                           field="certificate").with_hint(Hint("sans")) from err
    for value in sans:
        entry = _general_name(value)
        if entry not in names:
            names.append(entry)
    if not len(old.subject) and not names:
        raise RequestError("the certificate has neither a subject nor alternative names to "
                           "copy", field="certificate")
    builder = x509.CertificateSigningRequestBuilder().subject_name(old.subject)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    csr = builder.sign(key.key, digest)  # type: ignore[arg-type]
    return CertificateRequest(csr.public_bytes(serialization.Encoding.DER))


@attrs.frozen
class RenewalSource:
    """What renewing starts from: the certificate to renew, where it was found, and — for a
    key entry whose key is open — that entry's own key (what ``keytool -certreq`` signs with)."""

    certificate: Certificate
    alias: str | None = None
    key: PrivateKey | None = attrs.field(default=None, repr=False)
    source: str | None = None


def _where(name: str | None) -> str:
    return f" in {name}" if name else ""


def _is_ca(cert: Certificate) -> bool:
    try:
        return cert.is_ca
    except CertkitError:
        return False


def renewal_source(
    source: KeyStore | str | os.PathLike[str] | bytes,
    alias: str | None = None,
    *,
    password: Password = None,
    key_passwords: Mapping[str, Password] | None = None,
) -> RenewalSource:
    """Find the certificate to renew in a certificate file or keystore (``alias`` picks an entry).

    Without ``alias``: the one key entry's leaf; with no key entry, the one certificate
    that is not a CA (a ``www.crt``, or a bundle with its chain). Several candidates raise
    :class:`~certkit.errors.AliasError` naming them. The entry's key comes along when it
    is open, so a keystore entry can sign its own renewal request (``keytool -certreq``).
    """
    from certkit._ops.api import opened  # noqa: PLC0415 - operations import one another lazily

    store, name = opened(source, password=password, key_passwords=key_passwords)
    if alias is not None:
        entry = store[alias]
        if isinstance(entry, KeyEntry):
            if entry.chain.leaf is None:
                raise RequestError(f"entry {alias!r}{_where(name)} is a key without a "
                                   "certificate: there is nothing to renew; make a new "
                                   "request with a common name instead", field="certificate")
            key = entry.key if isinstance(entry.key, PrivateKey) else None
            return RenewalSource(entry.chain.leaf, alias, key, name)
        if isinstance(entry, TrustedCertEntry):
            return RenewalSource(entry.certificate, alias, None, name)
        raise RequestError(f"entry {alias!r}{_where(name)} is a secret key, not a "
                           "certificate", field="certificate")
    with_certs = [e for e in store.key_entries if e.chain]
    if len(with_certs) == 1:
        entry = with_certs[0]
        key = entry.key if isinstance(entry.key, PrivateKey) else None
        return RenewalSource(entry.chain.certificates[0], entry.alias, key, name)
    if len(with_certs) > 1:
        raise AliasError(
            f"{name or 'the store'} holds {len(with_certs)} key entries "
            f"({', '.join(repr(e.alias) for e in with_certs)}); say which one to renew",
            alias=None)
    leaves = [e for e in store.trusted_entries if not _is_ca(e.certificate)]
    if len(leaves) == 1:
        return RenewalSource(leaves[0].certificate, leaves[0].alias, None, name)
    if not leaves:
        raise RequestError(f"{name or 'the source'} holds no server certificate to renew "
                           "(only CA certificates or keys)", field="certificate")
    raise AliasError(
        f"{name or 'the source'} holds {len(leaves)} server certificates "
        f"({', '.join(repr(e.alias) for e in leaves)}); say which one to renew", alias=None)


def renewal_key(
    source: KeyStore | str | os.PathLike[str] | bytes,
    alias: str | None = None,
    *,
    password: Password = None,
    key_passwords: Mapping[str, Password] | None = None,
) -> tuple[PrivateKey, str | None]:
    """The private key to reuse for a request: a key file's key, or a keystore entry's.

    Returns the key and its entry's alias. Without ``alias`` the source must hold exactly
    one key (:class:`~certkit.errors.AliasError` names them otherwise); a key still
    locked raises :class:`~certkit.errors.PasswordError` naming the alias.
    """
    from certkit._ops.api import opened  # noqa: PLC0415 - operations import one another lazily

    store, name = opened(source, password=password, key_passwords=key_passwords)
    entries = store.key_entries
    if alias is not None:
        entry = store[alias]
        if not isinstance(entry, KeyEntry):
            raise AliasError(f"entry {alias!r}{_where(name)} holds no private key; key "
                             f"entries: {', '.join(repr(e.alias) for e in entries) or 'none'}",
                             alias=alias)
    elif len(entries) == 1:
        entry = entries[0]
    else:
        listed = ", ".join(repr(e.alias) for e in entries)
        raise AliasError(f"{name or 'the source'} holds " + (
            f"{len(entries)} private keys ({listed}); say which one to use" if entries
            else "no private key"), alias=None)
    if isinstance(entry.key, LockedKey):
        raise PasswordError(f"the key of entry {entry.alias!r}{_where(name)} is locked by its "
                            "own password; give the key password for that alias",
                            alias=entry.alias, missing=True)
    return entry.key, entry.alias


def split_store_alias(text: str) -> tuple[str, str | None]:
    """Read ``FILE`` or ``STORE:ALIAS``: a name that exists as a file is a file, whatever
    colons it has; otherwise the part after the last colon is the alias."""
    if os.path.exists(text) or ":" not in text:
        return text, None
    path, _, alias = text.rpartition(":")
    if path and alias and os.path.exists(path):
        return path, alias
    return text, None


@attrs.frozen
class RequestFiles:
    """What :func:`request_files` wrote: the CSR, and the new key unless one was reused
    (``key_path`` is then ``None``)."""

    csr_path: pathlib.Path
    csr: CertificateRequest
    key: PrivateKey = attrs.field(repr=False)
    key_path: pathlib.Path | None = None
    key_encrypted: bool = False


def request_files(
    csr_path: str | os.PathLike[str],
    *,
    key_path: str | os.PathLike[str] | None = None,
    key: PrivateKey | None = None,
    common_name: str | None = None,
    subject: str | Mapping[str, str] | None = None,
    sans: Iterable[str] = (),
    renew: Certificate | None = None,
    key_type: str = "RSA-2048",
    key_password: Password = None,
) -> RequestFiles:
    """Write a CSR to ``csr_path`` and, unless ``key`` is reused, a new private key to
    ``key_path`` first (PEM, mode 0600, encrypted with ``key_password`` if given).

    The request is for ``common_name``/``subject``/``sans`` (:func:`generate_csr`) or, with
    ``renew``, copies that certificate's subject and names (:func:`renewal_csr`; ``sans``
    adds to them). The key goes to disk before anything else can fail: a CSR whose key was
    lost is what makes an issued certificate "vanish". Neither file may exist: a key file
    may be the only copy of a key. Raises :class:`~certkit.errors.RequestError` for a
    request that cannot be made, :class:`~certkit.errors.FileExistsCertkitError` for an
    existing file.
    """
    from certkit._ops.api import save  # noqa: PLC0415 - operations import one another lazily

    if (key is None) == (key_path is None):
        raise RequestError("give key_path for a new key, or key to reuse one (not both)")
    if renew is None and common_name is None:
        raise RequestError("give common_name for a new request, or renew=CERTIFICATE")
    if renew is not None and (common_name is not None or subject is not None):
        raise RequestError("renew copies the certificate's subject: leave out common_name "
                           "and subject (add names with sans)")
    outputs = [os.fspath(csr_path)] + ([os.fspath(key_path)] if key_path is not None else [])
    if len(outputs) == 2 and os.path.abspath(outputs[0]) == os.path.abspath(outputs[1]):
        raise RequestError("the key and the CSR must go to different files")
    for name in outputs:
        if os.path.lexists(name):
            raise FileExistsCertkitError(name, replaceable=False)
    private_key = key if key is not None else generate_key(key_type)
    csr = (renewal_csr(private_key, renew, sans=sans) if renew is not None
           else generate_csr(private_key, common_name or "", sans=sans, subject=subject))
    written_key = None
    if key_path is not None:
        written_key = save(KeyStore([KeyEntry("private-key", private_key)]), key_path,
                           format="pem", password=key_password)
    try:
        written_csr = save(KeyStore(requests=[csr]), csr_path, format="pem")
    except CertkitError as err:
        if written_key is None:
            raise
        raise CertkitError(f"the key was saved to {written_key}, but the CSR could not be "
                           f"written: {err}") from err
    return RequestFiles(written_csr, csr, private_key, written_key,
                        key_encrypted=key_path is not None and key_password is not None)
