"""DER: exactly one certificate, private key or certificate request, binary.

``.cer`` and ``.crt`` files are DER as often as PEM; detection is by content, so this
codec is what a binary ``.cer`` loads through.
"""

from __future__ import annotations

import warnings

from cryptography import x509

from certkit._assemble import LooseCertificate, LooseKey, assemble
from certkit._crypto import der as _der
from certkit._crypto.budget import WorkBudget
from certkit._crypto.keys import dump_private_key, load_private_key
from certkit._model import (
    Certificate,
    CertificateRequest,
    KeyEntry,
    KeyStore,
    LockedKey,
    PrivateKey,
    SecretKeyEntry,
    TrustedCertEntry,
    opaque_label,
)
from certkit.errors import (
    DecodeError,
    Hint,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
    WorkLimitError,
)
from certkit.formats._base import Dumped, DumpOptions, LoadOptions

__all__ = ["DER"]


def _try_certificate(data: bytes) -> Certificate | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion):
        return None
    return Certificate(data)


def _certificate_error(data: bytes) -> str | None:
    """Why cryptography rejects ``data`` if it is shaped like a certificate, else ``None``.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, … }, … }; no key or
    request starts that way, so the certificate's own parse error is the useful message.
    """
    try:
        _, start, end = _der.read_tlv(data)
        kids = _der.children(data, start, end)
        if not kids or kids[0][0] != 0x30 or data[kids[0][2] : kids[0][2] + 1] != b"\xa0":
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x509.load_der_x509_certificate(data)
    except DecodeError:
        return None
    except (ValueError, x509.InvalidVersion) as err:
        return str(err)
    return None


#: CMS content types that are messages, not certificate containers: what to tell the user.
_CMS_MESSAGES = {
    "1.2.840.113549.1.7.3": "a CMS EnvelopedData (a message encrypted to its recipients' "
    "keys); decrypt it with the recipient's key first (openssl cms -decrypt)",
    "1.2.840.113549.1.7.4": "a PKCS#7 SignedAndEnvelopedData message",
    "1.2.840.113549.1.7.5": "a CMS DigestedData message",
    "1.2.840.113549.1.7.6": "a CMS EncryptedData (content encrypted with a symmetric key)",
    "1.2.840.113549.1.9.16.1.9": "a CMS CompressedData message",
    "1.2.840.113549.1.9.16.1.23": "a CMS AuthEnvelopedData (an encrypted message)",
}
_PBES2 = bytes.fromhex("06092a864886f70d01050d")
_AES256_CCM = bytes.fromhex("060960864801650304012f")
_HMAC_SHA512 = bytes.fromhex("06082a864886f70d020b")


def _known_structure(data: bytes) -> str | None:
    """Name, in words, a DER structure that is no certificate container certkit reads."""
    try:
        _, start, end = _der.read_tlv(data)
        kids = _der.children(data, start, end)
    except DecodeError:
        return None
    if len(kids) == 2 and kids[0][0] == 0x06 and kids[1][0] == 0xA0:  # a ContentInfo
        try:
            oid = _der.decode_oid(data[kids[0][2] : kids[0][3]])
        except DecodeError:
            return None
        if oid in _CMS_MESSAGES:
            return _CMS_MESSAGES[oid]
    if (len(kids) >= 4 and kids[0][0] == 0x02 and kids[1][0] == 0x31
            and kids[2][0] == 0x30 and data[kids[2][2] : kids[2][2] + 1] == b"\x06"):
        return ("a bare PKCS#7/CMS SignedData without the ContentInfo (signedData type) around "
                "it; wrap it, or export the certificates as a .p7b (openssl pkcs7 -print_certs)")
    if (len(kids) == 2 and kids[0][0] == 0x30 and _PBES2 in data[:96]
            and (_AES256_CCM in data[:160] or _HMAC_SHA512 in data)):
        return ("a Bouncy Castle FIPS keystore (BCFKS), which certkit cannot read; convert it "
                "with keytool and the BC FIPS provider (keytool -importkeystore -srcstoretype "
                "BCFKS -deststoretype PKCS12)")
    return None


def _try_request(data: bytes) -> CertificateRequest | None:
    try:
        x509.load_der_x509_csr(data)
    except (ValueError, x509.InvalidVersion):
        return None
    return CertificateRequest(data)


class DERCodec:
    """Reads and writes single DER objects."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Decode one certificate, key (PKCS#8, encrypted PKCS#8 or traditional) or request."""
        cert = _try_certificate(data)
        if cert is not None:
            return KeyStore(entries=assemble([LooseCertificate(cert)]), format="der")
        request = _try_request(data)
        if request is not None:
            return KeyStore(requests=(request,), format="der")
        try:
            key = PrivateKey(load_private_key(data, options.password, source=options.source,
                                              budget=WorkBudget(options.max_work)))
        except (PasswordError, WorkLimitError):
            raise
        except DecodeError as err:
            known = _known_structure(data)
            if known is not None:
                raise UnsupportedFormatError(f"this file is {known}", source=options.source,
                                             format="der") from err
            cert_error = _certificate_error(data)
            if cert_error is not None:  # shaped like a certificate: say why it is not one
                raise DecodeError(
                    f"this looks like an X.509 certificate but cannot be read: {cert_error}",
                    source=options.source, format="der") from err
            detail = str(err).removeprefix(f"{options.source}: ")
            raise DecodeError(
                "not a DER certificate, private key or certificate request "
                f"({detail}); if this is a .cer/.crt, it may be damaged or a different file type",
                source=options.source, format="der") from err
        return KeyStore(entries=assemble([], [LooseKey(key)]), format="der")

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Write the one object the store holds; choose with ``content="certificate"|"key"``."""
        opts = options.take({"content": None, "key_format": "pkcs8"}, "der")
        content = opts["content"]
        if content not in (None, "certificate", "key", "request"):
            raise DecodeError("content must be 'certificate', 'key' or 'request'")
        certs = store.certificates
        keys = [e for e in store.entries if isinstance(e, KeyEntry)]
        secrets = [e for e in store.entries if isinstance(e, SecretKeyEntry)]
        if not certs and not keys and not store.requests and store.opaque_entries:
            lost = [opaque_label(e) for e in store.opaque_entries]
            raise UnrepresentableError(f"DER cannot hold: {'; '.join(lost)}", format="der",
                                       lost=lost)
        if content is None:
            if len(certs) == 1 and not keys and not store.requests:
                content = "certificate"
            elif len(keys) == 1 and not certs and not store.requests:
                content = "key"
            elif len(store.requests) == 1 and not certs and not keys:
                content = "request"
            elif keys and keys[0].chain:
                content = "certificate"
            elif keys:
                content = "key"
            elif certs:
                content = "certificate"
            else:
                content = "request"
        data: bytes
        if content == "certificate":
            first = keys[0].chain.leaf if keys and keys[0].chain else (certs[0] if certs else None)
            if first is None:
                raise UnrepresentableError("there is no certificate to write as DER",
                                           format="der", lost=())
            data = first.der
            kept = {first.der}
        elif content == "key":
            if not keys:
                raise UnrepresentableError("there is no private key to write as DER",
                                           format="der", lost=())
            key = keys[0].key
            if isinstance(key, LockedKey):
                raise PasswordError(f"the key of entry {keys[0].alias!r} is still locked",
                                    alias=keys[0].alias, missing=True)
            data = (key.pkcs8 if options.password is None and opts["key_format"] == "pkcs8"
                    else dump_private_key(key.key, "der", options.password,
                                          opts["key_format"]))
            kept = set()
        else:
            if not store.requests:
                raise UnrepresentableError("there is no certificate request to write as DER",
                                           format="der", lost=())
            data = store.requests[0].der
            kept = set()
        dropped: list[str] = []
        for entry in store.entries:
            if isinstance(entry, KeyEntry):
                if not (content == "key" and entry is keys[0]):
                    dropped.append(f"private key of {entry.alias!r}")
                extra = [c for c in entry.chain if c.der not in kept]
                if extra:
                    dropped.append(f"{len(extra)} certificate(s) of {entry.alias!r}")
            elif isinstance(entry, TrustedCertEntry) and entry.certificate.der not in kept:
                dropped.append(f"certificate {entry.certificate.subject}")
        dropped.extend(f"secret key {e.alias!r}" for e in secrets)
        dropped.extend(opaque_label(e) for e in store.opaque_entries)
        requests = store.requests[1:] if content == "request" else store.requests
        dropped.extend(f"certificate request {r.subject}" for r in requests)
        if dropped and not options.allow_loss:
            raise UnrepresentableError(
                f"DER holds exactly one object; writing the {content} would drop: "
                + "; ".join(dropped)
                + " (use PEM or PKCS#12 to keep everything, or pass allow_loss=True to "
                "leave it out)", format="der", lost=dropped).with_hint(Hint("allow_loss"))
        return Dumped(data, tuple(dropped))


DER = DERCodec()
