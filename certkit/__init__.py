"""certkit: certificates, private keys, chains and keystores as typed objects.

Read anything with :func:`load`, write it with :func:`dump` or :func:`save`, or do both
with :func:`convert`; the model classes are immutable values (chains are leaf first).
"""

from __future__ import annotations

from certkit._api import ConversionReport, convert, dump, load, save
from certkit._model import (
    Attributes,
    Certificate,
    CertificateRequest,
    Chain,
    KeyEntry,
    KeyStore,
    LockedKey,
    PrivateKey,
    Protection,
    RawAttribute,
    SecretKeyEntry,
    TrustedCertEntry,
)

__all__ = [
    "Attributes",
    "Certificate",
    "CertificateRequest",
    "Chain",
    "ConversionReport",
    "KeyEntry",
    "KeyStore",
    "LockedKey",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "SecretKeyEntry",
    "TrustedCertEntry",
    "convert",
    "dump",
    "load",
    "save",
]

__version__ = "0.1.0"
