"""certkit: certificates, private keys, chains and keystores as typed objects.

Read anything with :func:`load`, write it with :func:`dump` or :func:`save`, or do both
with :func:`convert`; the model classes are immutable values (chains are leaf first).
"""

from __future__ import annotations

from certkit._api import ConversionReport, convert, dump, load, save
from certkit._backup import BackupProblem, BackupReport, Manifest, backup, restore, verify_backup
from certkit._chains import (
    CertificatePool,
    Reason,
    VerificationResult,
    build_chain,
    order_chain,
    verify_chain,
)
from certkit._export import ExportResult, export
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
from certkit._remote import HostReport, check_host, fetch_chain
from certkit._request import generate_csr, generate_key

__all__ = [
    "Attributes",
    "BackupProblem",
    "BackupReport",
    "Certificate",
    "CertificatePool",
    "CertificateRequest",
    "Chain",
    "ConversionReport",
    "ExportResult",
    "HostReport",
    "KeyEntry",
    "KeyIndex",
    "KeyLocation",
    "KeyStore",
    "LockedKey",
    "Manifest",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "Reason",
    "SecretKeyEntry",
    "TrustedCertEntry",
    "VerificationResult",
    "backup",
    "build_chain",
    "check_host",
    "convert",
    "dump",
    "export",
    "fetch_chain",
    "find_key",
    "generate_csr",
    "generate_key",
    "load",
    "modulus",
    "modulus_hash",
    "order_chain",
    "pair_keys",
    "restore",
    "save",
    "verify_backup",
    "verify_chain",
]

__version__ = "0.1.0"
