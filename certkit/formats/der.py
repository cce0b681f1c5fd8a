"""DER: exactly one certificate, private key or certificate request, binary.

``.cer`` and ``.crt`` files are DER as often as PEM; detection is by content, so this
codec is what a binary ``.cer`` loads through.
"""

from __future__ import annotations

import warnings

from cryptography import x509

from certkit._assemble import LooseCertificate, LooseKey, assemble
from certkit._crypto import der as _der
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
)
from certkit.errors import DecodeError, PasswordError, UnrepresentableError
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
            key = PrivateKey(load_private_key(data, options.password, source=options.source))
        except PasswordError:
            raise
        except DecodeError as err:
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
        requests = store.requests[1:] if content == "request" else store.requests
        dropped.extend(f"certificate request {r.subject}" for r in requests)
        if dropped and not options.allow_loss:
            raise UnrepresentableError(
                f"DER holds exactly one object; writing the {content} would drop: "
                + "; ".join(dropped)
                + " (use PEM or PKCS#12 to keep everything, or allow loss explicitly)",
                format="der", lost=dropped)
        return Dumped(data, tuple(dropped))


DER = DERCodec()
