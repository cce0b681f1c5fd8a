"""certkit: certificates, private keys, chains and keystores as typed objects.

Read anything with :func:`load`, write it with :func:`dump` or :func:`save`, or do both
with :func:`convert`; the model classes are immutable values (chains are leaf first).
"""

from __future__ import annotations

from certkit._api import ConversionReport, convert, dump, load, save
from certkit._chains import (
    CertificatePool,
    Reason,
    VerificationResult,
    build_chain,
    order_chain,
    verify_chain,
)
from certkit._match import KeyIndex, KeyLocation, find_key, modulus, modulus_hash, pair_keys
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
from certkit._request import generate_csr, generate_key

__all__ = [
    "Attributes",
    "Certificate",
    "CertificatePool",
    "CertificateRequest",
    "Chain",
    "ConversionReport",
    "KeyEntry",
    "KeyIndex",
    "KeyLocation",
    "KeyStore",
    "LockedKey",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "Reason",
    "SecretKeyEntry",
    "TrustedCertEntry",
    "VerificationResult",
    "build_chain",
    "convert",
    "dump",
    "find_key",
    "generate_csr",
    "generate_key",
    "load",
    "modulus",
    "modulus_hash",
    "order_chain",
    "pair_keys",
    "save",
    "verify_chain",
]

__version__ = "0.1.0"
