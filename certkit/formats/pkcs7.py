"""PKCS#7 / CMS certificate bundles (.p7b, .p7c): DER or PEM, certificates only.

Read with asn1crypto so BER (as Windows writes it) and out-of-order SETs load, and the
order of certificates in the file is kept; written leaf first, as ``openssl crl2pkcs7``
does, in DER or PEM.
"""

from __future__ import annotations

from asn1crypto import cms, core  # untyped; this module and the PKCS#12 codec are its users

from certkit._assemble import LooseCertificate, assemble
from certkit._crypto import der as _der
from certkit._model import (
    Certificate,
    KeyEntry,
    KeyStore,
    OpaqueEntry,
    SecretKeyEntry,
    TrustedCertEntry,
    opaque_label,
)
from certkit.errors import CertkitError, DecodeError, Hint, UnrepresentableError
from certkit.formats._base import Dumped, DumpOptions, LoadOptions

__all__ = ["PKCS7", "certificates_from_pkcs7"]

_MAX_CERTIFICATES = 100_000
_OID_DATA = bytes.fromhex("2a864886f70d010701")
_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")


def certificates_from_pkcs7(der: bytes, *, source: str | None = None) -> list[Certificate]:
    """Return the certificates of a DER/BER PKCS#7 SignedData, in file order."""
    try:
        info = cms.ContentInfo.load(der)
        content_type = info["content_type"].native
        if content_type != "signed_data":
            raise DecodeError(
                f"this PKCS#7 holds {content_type!r}, not a certificate bundle (signed data)",
                source=source, format="pkcs7")
        signed = info["content"]
        if isinstance(signed, core.Void):
            raise DecodeError("this PKCS#7 says it holds signed data but has no content "
                              "(truncated or malformed): export the certificates again",
                              source=source, format="pkcs7")
        certificates = signed["certificates"]
        if certificates.native is None:
            return []
        out: list[Certificate] = []
        for index, choice in enumerate(certificates):
            if index >= _MAX_CERTIFICATES:
                raise DecodeError(f"more than {_MAX_CERTIFICATES} certificates in one PKCS#7",
                                  source=source, format="pkcs7")
            if choice.name != "certificate":
                continue  # attribute certificates and other choices carry no X.509 certificate
            out.append(Certificate(choice.chosen.dump()))
        return out
    except CertkitError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as err:
        # asn1crypto parses lazily and, on some malformed inputs, fails with AttributeError.
        raise DecodeError(f"not a valid PKCS#7 certificate bundle: {err}", source=source,
                          format="pkcs7") from err


def _pem_payload(data: bytes, source: str | None) -> bytes:
    from certkit._crypto.pem import pem_blocks  # noqa: PLC0415 - PEM only when needed

    blocks = [b for b in pem_blocks(data, source=source) if b.label == "PKCS7"]
    if not blocks:
        raise DecodeError("no -----BEGIN PKCS7----- block found", source=source, format="pkcs7")
    if len(blocks) > 1:
        raise DecodeError("more than one PKCS7 block; load it as PEM instead", source=source,
                          format="pkcs7")
    return blocks[0].der


def _signed_data(certificates: tuple[Certificate, ...]) -> bytes:
    """A degenerate SignedData with the certificates in the given order.

    Built by hand because asn1crypto sorts a SET OF on output (as DER says), which
    would put the root before the leaf; every reader, OpenSSL and Windows included,
    accepts the order ``openssl crl2pkcs7`` writes.
    """
    signed = _der.encode(0x30, b"".join((
        _der.encode(0x02, b"\x01"),  # version 1
        _der.encode(0x31, b""),  # digestAlgorithms: none
        _der.encode(0x30, _der.encode(0x06, _OID_DATA)),  # encapContentInfo: data, absent
        _der.encode(0xA0, b"".join(c.der for c in certificates)),  # [0] IMPLICIT certificates
        _der.encode(0x31, b""),  # signerInfos: none
    )))
    return _der.encode(0x30, _der.encode(0x06, _OID_SIGNED_DATA) + _der.encode(0xA0, signed))


class PKCS7Codec:
    """Reads and writes PKCS#7 certificate bundles."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Every certificate becomes a trusted entry, in file order."""
        der = data if data[:1] == b"\x30" else _pem_payload(data, options.source)
        certs = certificates_from_pkcs7(der, source=options.source)
        loose = [LooseCertificate(cert, position=i) for i, cert in enumerate(certs)]
        notes = () if certs else ("the PKCS#7 bundle holds no certificates",)
        return KeyStore(entries=assemble(loose), format="pkcs7", notes=notes)

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Write every certificate (chains leaf first, then trusted ones), DER unless asked."""
        opts = options.take({"encoding": "der"}, "pkcs7")
        if opts["encoding"] not in ("der", "pem"):
            raise DecodeError(f"encoding must be 'der' or 'pem', not {opts['encoding']!r}")
        dropped: list[str] = []
        for entry in store.entries:
            if isinstance(entry, KeyEntry):
                dropped.append(f"private key of {entry.alias!r}")
            elif isinstance(entry, SecretKeyEntry):
                dropped.append(f"secret key {entry.alias!r} ({entry.algorithm or 'locked'})")
            elif isinstance(entry, OpaqueEntry):
                dropped.append(opaque_label(entry))
        dropped.extend(f"certificate request {r.subject}" for r in store.requests)
        if dropped and not options.allow_loss:
            raise UnrepresentableError(
                "PKCS#7 holds certificates only and cannot hold: " + "; ".join(dropped)
                + " (use PKCS#12 to keep keys, or pass allow_loss=True to leave them out)",
                format="pkcs7", lost=dropped).with_hint(Hint("allow_loss"))
        der = _signed_data(store.certificates)
        not_kept = tuple(sorted({"aliases and attributes"} if any(
            isinstance(e, TrustedCertEntry) and not e.attributes.is_empty
            for e in store.entries) else set()))
        if opts["encoding"] == "pem":
            return Dumped(_der.pem_armor("PKCS7", der), tuple(dropped), not_kept)
        return Dumped(der, tuple(dropped), not_kept)


PKCS7 = PKCS7Codec()
