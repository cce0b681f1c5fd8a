"""PEM: any number of certificates, keys, PKCS#7 bundles and requests in one text file.

Reading tolerates what people paste: a byte-order mark, CRLF line ends, text before,
between and after blocks, indentation, and OpenSSL's "Bag Attributes" headers (which
carry the friendly name and local key id a PKCS#12 had). Unknown block types are noted
on the store, not silently lost.
"""

from __future__ import annotations

import re

from certkit._assemble import LooseCertificate, LooseKey, assemble
from certkit._crypto import der as _der
from certkit._crypto.budget import WorkBudget
from certkit._crypto.keys import dump_private_key, load_private_key
from certkit._crypto.pem import PEMBlock, pem_blocks
from certkit._model import (
    ANY_EXTENDED_KEY_USAGE,
    JAVA_TRUSTED_USAGE_OID,
    Attributes,
    Certificate,
    CertificateRequest,
    KeyEntry,
    KeyStore,
    LockedKey,
    OpaqueEntry,
    PrivateKey,
    RawAttribute,
    SecretKeyEntry,
    TrustedCertEntry,
    opaque_label,
)
from certkit.errors import (
    CertkitError,
    DecodeError,
    Hint,
    PasswordError,
    UnrepresentableError,
    WorkLimitError,
)
from certkit.formats._base import Dumped, DumpOptions, LoadOptions

__all__ = ["PEM", "PEMBlock", "pem_blocks"]

_CERT_LABELS = {"CERTIFICATE", "X509 CERTIFICATE"}
_KEY_LABELS = {
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
}
_REQUEST_LABELS = {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}
_CSP_OID = "1.3.6.1.4.1.311.17.1"


def _armoured(block: PEMBlock) -> bytes:
    """The block re-armoured as cryptography expects: headers kept, quoting and indents gone."""
    return _der.pem_armor(block.label, block.der, block.headers)


def _hex_bytes(value: str) -> bytes | None:
    cleaned = value.replace(" ", "").replace(":", "")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        return None


def _bag_attributes(preamble: str) -> Attributes:
    """Read OpenSSL's ``Bag Attributes`` lines (as ``openssl pkcs12`` prints them)."""
    if "Bag Attributes" not in preamble:
        return Attributes()
    section = preamble[preamble.rindex("Bag Attributes") :]
    friendly: str | None = None
    key_id: bytes | None = None
    csp: str | None = None
    trusted: tuple[str, ...] | None = None
    other: list[RawAttribute] = []
    for raw in section.split("\n")[1:]:
        if not raw.startswith((" ", "\t")):
            break  # "Key Attributes:", "subject=", "issuer=" end the bag attributes
        name, sep, value = raw.strip().partition(": ")
        if not sep:
            name, value = raw.strip().rstrip(":"), ""
        if name == "friendlyName":
            friendly = value
        elif name == "localKeyID":
            key_id = _hex_bytes(value)
        elif name == "Microsoft CSP Name":
            csp = value
        elif name == JAVA_TRUSTED_USAGE_OID:
            oids = tuple(v.strip() for v in value.split(",") if re.fullmatch(r"[0-9.]+", v.strip()))
            trusted = oids or (ANY_EXTENDED_KEY_USAGE,)
        elif re.fullmatch(r"[0-9]+(\.[0-9]+)+", name) and value.startswith("der:"):
            values = tuple(v for v in (_hex_bytes(h) for h in value[4:].split(",")) if v)
            other.append(RawAttribute(name, values))
    return Attributes(friendly_name=friendly, local_key_id=key_id, csp_name=csp,
                      trusted_usage=trusted, other=tuple(other))


def _format_bag_attributes(attributes: Attributes, alias: str | None) -> str:
    lines = ["Bag Attributes"]
    name = attributes.friendly_name or alias
    if name:
        lines.append(f"    friendlyName: {name}")
    if attributes.local_key_id is not None:
        lines.append("    localKeyID: " + " ".join(f"{b:02X}" for b in attributes.local_key_id))
    if attributes.csp_name is not None:
        lines.append(f"    Microsoft CSP Name: {attributes.csp_name}")
    if attributes.trusted_usage is not None:
        lines.append(f"    {JAVA_TRUSTED_USAGE_OID}: {', '.join(attributes.trusted_usage)}")
    lines.extend(f"    {raw.oid}: der:" + ",".join(v.hex() for v in raw.values)
                 for raw in attributes.other)
    if len(lines) == 1:
        lines.append("    <No Attributes>")
    return "\n".join(lines) + "\n"


def _trusted_certificate(block: PEMBlock, source: str | None) -> tuple[Certificate, Attributes]:
    """Split OpenSSL's TRUSTED CERTIFICATE (a certificate followed by X509_CERT_AUX)."""
    from certkit._crypto import der as _der  # noqa: PLC0415 - only this block type needs raw DER walking

    length = _der.element_length(block.der)
    cert = Certificate(block.der[:length])
    aux = block.der[length:]
    if not aux:
        return cert, Attributes()
    trust: list[str] = []
    alias: str | None = None
    key_id: bytes | None = None
    try:
        _, start, end = _der.read_tlv(aux)
        for tag, _, cstart, cend in _der.children(aux, start, end):
            if tag == 0x30:  # trust: SEQUENCE OF OBJECT IDENTIFIER
                for otag, _, ostart, oend in _der.children(aux, cstart, cend):
                    if otag == 0x06:
                        trust.append(_der.decode_oid(aux[ostart:oend], "a trust setting"))
            elif tag == 0x0C:  # alias UTF8String
                alias = aux[cstart:cend].decode("utf-8", "replace")
            elif tag == 0x04:  # keyid OCTET STRING
                key_id = aux[cstart:cend]
    except DecodeError as err:
        raise DecodeError(f"the TRUSTED CERTIFICATE block on line {block.line} has a malformed "
                          f"trust trailer: {err}", source=source) from err
    return cert, Attributes(friendly_name=alias, local_key_id=key_id,
                            trusted_usage=tuple(trust) or None)


class PEMCodec:
    """Reads and writes PEM text."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Decode every block; keys pair with their certificates into key entries."""
        source = options.source
        certs: list[LooseCertificate] = []
        keys: list[LooseKey] = []
        requests: list[CertificateRequest] = []
        notes: list[str] = []
        position = 0
        found = False
        budget = WorkBudget(options.max_work)
        for block in pem_blocks(data, source=source):
            found = True
            position += 1
            where = f"line {block.line}"
            try:
                if block.label in _CERT_LABELS:
                    certs.append(LooseCertificate(Certificate(block.der),
                                                  _bag_attributes(block.preamble), position))
                elif block.label == "TRUSTED CERTIFICATE":
                    cert, aux = _trusted_certificate(block, source)
                    bag = _bag_attributes(block.preamble)
                    certs.append(LooseCertificate(cert, aux if bag.is_empty else bag, position))
                elif block.label in _KEY_LABELS:
                    key = PrivateKey(load_private_key(_armoured(block), options.password,
                                                      source=source, budget=budget))
                    keys.append(LooseKey(key, _bag_attributes(block.preamble), position))
                elif block.label == "PKCS7":
                    from certkit.formats.pkcs7 import certificates_from_pkcs7  # noqa: PLC0415

                    for cert in certificates_from_pkcs7(block.der, source=source):
                        position += 1
                        certs.append(LooseCertificate(cert, Attributes(), position))
                elif block.label in _REQUEST_LABELS:
                    requests.append(CertificateRequest(block.der))
                else:
                    notes.append(f"ignored a {block.label} block at {where} "
                                 "(not a certificate, key or request)")
            except (PasswordError, WorkLimitError):
                raise
            except CertkitError as err:
                detail = str(err).removeprefix(f"{source}: ")  # the source leads, once
                raise DecodeError(f"the {block.label} block at {where}: {detail}",
                                  source=source, format="pem") from err
        if not found:
            raise DecodeError("no -----BEGIN …----- block found; expected PEM text",
                              source=source, format="pem")
        entries = assemble(certs, keys)
        if not entries and not requests:
            raise DecodeError("the PEM text holds no certificate, key or request "
                              f"({'; '.join(notes)})", source=source, format="pem")
        return KeyStore(entries=entries, requests=tuple(requests), format="pem",
                        notes=tuple(notes))

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Write keys (PKCS#8, encrypted when a password is given), chains and certificates."""
        opts = options.take({"bag_attributes": False, "chain": True, "key_format": "pkcs8"},
                            "pem")
        with_bags = bool(opts["bag_attributes"])
        parts: list[str] = []
        dropped: list[str] = []
        not_kept: set[str] = set()
        for entry in store.entries:
            if isinstance(entry, SecretKeyEntry):
                dropped.append(f"secret key {entry.alias!r} ({entry.algorithm or 'locked'})")
                continue
            if isinstance(entry, OpaqueEntry):
                dropped.append(opaque_label(entry))
                continue
            if isinstance(entry, KeyEntry):
                if isinstance(entry.key, LockedKey):
                    hint = Hint("key_passwords", alias=entry.alias)
                    raise PasswordError(
                        f"the key of entry {entry.alias!r} is still locked; load the store "
                        f"with {hint.api} to write it as PEM",
                        alias=entry.alias, missing=True).with_hint(hint)
                pem = (entry.key.to_pem(options.password) if opts["key_format"] == "pkcs8"
                       else dump_private_key(entry.key.key, "pem", options.password,
                                             opts["key_format"])).decode("ascii")
                parts.append(_format_bag_attributes(entry.attributes, entry.alias) + pem
                             if with_bags else pem)
                chain = entry.chain.certificates if opts["chain"] else entry.chain.certificates[:1]
                if len(chain) < len(entry.chain):
                    dropped.append(f"{len(entry.chain) - len(chain)} chain certificate(s) of "
                                   f"{entry.alias!r}")
                recorded = entry.certificate_attributes or (Attributes(),) * len(entry.chain)
                for index, cert in enumerate(chain):
                    attributes = recorded[index]
                    if index == 0 and attributes.is_empty:
                        attributes = entry.attributes
                    alias = entry.alias if index == 0 else None
                    parts.append(self._cert_text(cert, attributes, alias, with_bags))
            elif isinstance(entry, TrustedCertEntry):
                parts.append(self._cert_text(entry.certificate, entry.attributes, entry.alias,
                                             with_bags))
            if entry.created is not None:
                not_kept.add("entry creation dates")
            if not with_bags and (entry.attributes != Attributes() or entry.alias):
                not_kept.add("aliases and bag attributes (pass bag_attributes=True to keep them)")
        parts.extend(req.to_pem().decode("ascii") for req in store.requests)
        if dropped and not options.allow_loss:
            raise UnrepresentableError(
                "PEM cannot hold: " + "; ".join(dropped)
                + " (use PKCS#12 or JCEKS, or pass allow_loss=True to leave it out)",
                format="pem", lost=dropped).with_hint(Hint("allow_loss"))
        return Dumped("".join(parts).encode("utf-8"), tuple(dropped), tuple(sorted(not_kept)))

    @staticmethod
    def _cert_text(cert: Certificate, attributes: Attributes, alias: str | None,
                   with_bags: bool) -> str:
        pem = cert.to_pem().decode("ascii")
        if not with_bags:
            return pem
        return (_format_bag_attributes(attributes, alias)
                + f"subject={cert.subject}\nissuer={cert.issuer}\n" + pem)


PEM = PEMCodec()
