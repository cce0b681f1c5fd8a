"""The codec registry: which formats exist, how to recognise them, and where their codec lives.

Each format is one codec module exposing a codec object with ``load`` and ``dump``; this
module only knows its name, extensions and a cheap content sniffer, so detecting a
format never imports a codec's third-party parser. Adding a format is one line in
:data:`FORMATS` plus its module.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

import attrs

from certkit.errors import DecodeError, UnsupportedFormatError
from certkit.formats._base import Codec, Dumped, DumpOptions, LoadOptions

__all__ = [
    "FORMATS",
    "Codec",
    "DumpOptions",
    "Dumped",
    "FormatSpec",
    "LoadOptions",
    "codec_for",
    "detect",
    "format_for_path",
    "spec",
]


def _strip_bom(data: bytes) -> bytes:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text, as Windows editors save it
        return data[: 1 << 21].decode("utf-16", "replace").encode("ascii", "replace")
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _is_pem(data: bytes) -> bool:
    return b"-----BEGIN " in _strip_bom(data)[:1 << 20]


def _is_pem_pkcs7(data: bytes) -> bool:
    text = _strip_bom(data)
    labels = [line.strip() for line in text.splitlines() if line.strip().startswith(b"-----BEGIN ")]
    # Several PKCS7 blocks are a PEM text: the PKCS#7 codec reads exactly one bundle.
    return labels == [b"-----BEGIN PKCS7-----"]


_PKCS7_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_PKCS7_CONTENT_TYPE_PREFIX = bytes.fromhex("06092a864886f70d0107")


def _der_body(data: bytes) -> bytes | None:
    """Return the bytes after the outer SEQUENCE header (DER or BER), or ``None``."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return data[2:]
    if first == 0x80:  # BER indefinite length
        return data[2:]
    count = first & 0x7F
    if count > 4:
        return None
    return data[2 + count :]


def _is_pkcs12(data: bytes) -> bool:
    body = _der_body(data)
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }
    return (body is not None and body.startswith(b"\x02\x01\x03")
            and _PKCS7_CONTENT_TYPE_PREFIX in body[:24])


def _is_pkcs7(data: bytes) -> bool:
    if _is_pem_pkcs7(data):
        return True
    body = _der_body(data)
    return body is not None and body.startswith(_PKCS7_SIGNED_DATA)


def _is_der(data: bytes) -> bool:
    """A single DER SEQUENCE whose length field accounts for the data (not text starting '0')."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    from certkit._crypto import der as _der  # noqa: PLC0415 - tiny module, only needed for this check

    try:
        _, _, end = _der.read_tlv(data)
    except DecodeError:
        # Truncated or damaged DER is still DER: let the codec say what is wrong with it.
        first = data[1]
        return first >= 0x80 and first != 0x80 and (first & 0x7F) <= 4
    return not data[end:].strip(b"\x00\r\n\t ")


def _is_bks(data: bytes) -> bool:
    # BKS / UBER: a big-endian store version (1 or 2), then a salt length and salt.
    if len(data) < 12 or data[:4] not in (b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"):
        return False
    salt_len = int.from_bytes(data[4:8], "big")
    return 0 < salt_len <= 128 and len(data) > 8 + salt_len + 4


# Indented too: kubectl sorts keys, so a List's own `kind: List` comes after all its
# items, and each item's `  kind: Secret` after that Secret's data.
_KUBERNETES_KIND = re.compile(
    rb"^(?:[ ]*- |[ ]+)?kind:[ \t]*[\"']?(?:Secret|List|SecretList)[\"']?[ \t]*(?:#.*)?\r?$",
    re.MULTILINE)
_KUBERNETES_API = re.compile(rb"^apiVersion:", re.MULTILINE)
# JSON, or YAML's flow style ({apiVersion: v1, kind: Secret, …}): quotes optional.
_KUBERNETES_JSON_KIND = re.compile(rb'"?kind"?\s*:\s*"?(?:Secret|List|SecretList)\b')
_KUBERNETES_JSON_API = re.compile(rb'"?apiVersion"?\s*:')


def _is_kubernetes(data: bytes) -> bool:
    """A Kubernetes Secret or List manifest: an ``apiVersion`` key and a ``kind`` of Secret.

    Only YAML with a top-level ``apiVersion`` line, or a JSON object, counts: a PEM file
    whose comments mention a Secret is not claimed. The codec says whether it holds TLS
    material.
    """
    text = _strip_bom(data)[: 1 << 20]
    if b"kind" not in text:  # most files: one substring search, no regular expression
        return False
    if text.lstrip()[:1] == b"{":
        return (_KUBERNETES_JSON_API.search(text) is not None
                and _KUBERNETES_JSON_KIND.search(text) is not None)
    return (_KUBERNETES_KIND.search(text) is not None
            and _KUBERNETES_API.search(text) is not None)


@attrs.frozen
class FormatSpec:
    """One registered format: its name, codec location, extensions and sniffer."""

    name: str
    description: str
    module: str
    codec: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes], bool]
    writable: bool = True
    holds_keys: bool = True
    #: Whether an output file's extension alone chooses this format (``.yaml`` does not).
    by_extension: bool = True


#: Every format certkit knows, in detection order (most specific magic first).
FORMATS: tuple[FormatSpec, ...] = (
    FormatSpec("jks", "Java KeyStore (JKS)", "certkit.formats.jks", "JKS",
               (".jks", ".keystore", ".truststore", ".ks"),
               lambda d: d[:4] == b"\xfe\xed\xfe\xed"),
    FormatSpec("jceks", "Java JCEKS keystore", "certkit.formats.jks", "JCEKS", (".jceks",),
               lambda d: d[:4] == b"\xce\xce\xce\xce"),
    FormatSpec("pkcs12", "PKCS#12 / PFX", "certkit.formats.pkcs12", "PKCS12", (".pfx", ".p12"),
               _is_pkcs12),
    FormatSpec("pkcs7", "PKCS#7 certificate bundle", "certkit.formats.pkcs7", "PKCS7",
               (".p7b", ".p7c", ".spc"), _is_pkcs7, holds_keys=False),
    # Before PEM: a Secret's stringData holds -----BEGIN lines.
    FormatSpec("kubernetes", "Kubernetes TLS secret (YAML or JSON)",
               "certkit.formats.kubernetes", "KUBERNETES", (".yaml",), _is_kubernetes,
               by_extension=False),
    FormatSpec("pem", "PEM text", "certkit.formats.pem", "PEM",
               (".pem", ".crt", ".cer", ".key", ".csr", ".req", ".ca-bundle"), _is_pem),
    FormatSpec("bks", "Bouncy Castle keystore (BKS/UBER)", "certkit.formats.jks", "BKS",
               (".bks", ".uber"), _is_bks, writable=False),
    FormatSpec("der", "DER (one certificate, key or request)", "certkit.formats.der", "DER",
               (".der",), _is_der),
)

_ALIASES = {"pfx": "pkcs12", "p12": "pkcs12", "p7b": "pkcs7", "p7c": "pkcs7", "uber": "bks",
            "cer": "pem", "crt": "pem", "k8s": "kubernetes"}


def spec(name: str) -> FormatSpec:
    """Look a format up by name (``pkcs12``, ``pfx``, ``jks`` …), case-insensitively."""
    key = _ALIASES.get(name.lower(), name.lower())
    for candidate in FORMATS:
        if candidate.name == key:
            return candidate
    known = ", ".join(f.name for f in FORMATS)
    raise UnsupportedFormatError(f"unknown format {name!r}; known formats: {known}", format=name)


def codec_for(format_spec: FormatSpec) -> Codec:
    """Import and return the codec object for a format."""
    module = importlib.import_module(format_spec.module)
    codec: Codec = getattr(module, format_spec.codec)
    return codec


def detect(data: bytes, *, source: str | None = None) -> FormatSpec:
    """Recognise a format by content alone; :class:`DecodeError` for empty or unknown data."""
    if not data.strip():
        raise DecodeError("the input is empty; expected a certificate, key or keystore",
                          source=source)
    for candidate in FORMATS:
        if candidate.sniff(data):
            return candidate
    hint = ""
    if data[:2] == b"PK":
        hint = " (it looks like a ZIP archive: unpack it first)"
    elif _KUBERNETES_API.search(data[: 1 << 20]) or b'"apiVersion"' in data[: 1 << 20]:
        hint = (" (it looks like a Kubernetes manifest, but not a Secret: export the TLS "
                "secret with `kubectl get secret NAME -o yaml`)")
    elif data.lstrip()[:1] in (b"<", b"{"):
        hint = " (it looks like HTML, XML or JSON, not a certificate)"
    elif all(32 <= b < 127 or b in (9, 10, 13) for b in data[:512]):
        hint = " (it is text without any -----BEGIN line; was the PEM block cut off?)"
    raise UnsupportedFormatError(
        "not a certificate, key or keystore format certkit recognises "
        f"(PEM, DER, PKCS#7, PKCS#12, JKS, JCEKS, BKS, UBER, Kubernetes TLS secrets){hint}",
        source=source,
    )


def format_for_path(path: str, *, format: str | None = None) -> FormatSpec:  # noqa: A002
    """Choose the output format for ``path``: ``format`` if given, else by extension."""
    if format is not None:
        return spec(format)
    lower = path.lower()
    for candidate in FORMATS:
        if any(lower.endswith(ext) for ext in candidate.extensions):
            if candidate.name == "bks" or not candidate.by_extension:
                continue
            return candidate
    hint = ""
    if lower.endswith((".yaml", ".yml", ".json")):
        hint = (" (a .yaml file is written as a Kubernetes TLS secret only when that format, "
                "kubernetes, is named)")
    raise UnsupportedFormatError(
        f"cannot tell the output format from the name {path!r}; pass format= "
        f"(--to on the command line): pem, der, pkcs7, pkcs12, jks, jceks or kubernetes{hint}",
        source=path,
    )
