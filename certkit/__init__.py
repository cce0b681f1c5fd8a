"""certkit: certificates, private keys, chains and keystores as typed objects.

Read anything with :func:`load`, write it with :func:`dump` or :func:`save`, or do both
with :func:`convert` (:func:`convert_many` for many files); the model classes are
immutable values (chains are leaf first).
"""

# Public names are imported on first use (PEP 562), so that ``certkit --help`` and a
# command that reads one PEM file load only the modules they touch; type checkers see
# the ordinary imports below.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certkit._api import (
        BatchConversionReport,
        ConversionFailure,
        ConversionReport,
        convert,
        convert_many,
        dump,
        load,
        save,
    )
    from certkit._backup import (
        BackupProblem,
        BackupReport,
        Manifest,
        backup,
        restore,
        verify_backup,
    )
    from certkit._chains import (
        CertificatePool,
        Reason,
        VerificationResult,
        build_chain,
        order_chain,
        verify_chain,
    )
    from certkit._doctor import Finding, diagnose
    from certkit._export import ExportResult, export
    from certkit._keystore_ops import (
        add_trusted,
        chain_status,
        change_password,
        edit_keystore,
        import_reply,
        reply_target,
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
        LockedSecret,
        PrivateKey,
        Protection,
        RawAttribute,
        SecretKeyEntry,
        TrustedCertEntry,
    )
    from certkit._page import MixedResource, PageReport, check_page
    from certkit._remote import HostReport, check_host, fetch_chain
    from certkit._request import generate_csr, generate_key
    from certkit._scan import ScanReport, scan

#: Where each public name is defined; :func:`__getattr__` imports it from there on first use.
_LAZY: dict[str, str] = {
    "Attributes": "certkit._model",
    "BackupProblem": "certkit._backup",
    "BackupReport": "certkit._backup",
    "BatchConversionReport": "certkit._api",
    "Certificate": "certkit._model",
    "CertificatePool": "certkit._chains",
    "CertificateRequest": "certkit._model",
    "Chain": "certkit._model",
    "ConversionFailure": "certkit._api",
    "ConversionReport": "certkit._api",
    "ExportResult": "certkit._export",
    "Finding": "certkit._doctor",
    "HostReport": "certkit._remote",
    "KeyEntry": "certkit._model",
    "KeyIndex": "certkit._match",
    "KeyLocation": "certkit._match",
    "KeyStore": "certkit._model",
    "LockedKey": "certkit._model",
    "LockedSecret": "certkit._model",
    "Manifest": "certkit._backup",
    "MixedResource": "certkit._page",
    "PageReport": "certkit._page",
    "PrivateKey": "certkit._model",
    "Protection": "certkit._model",
    "RawAttribute": "certkit._model",
    "Reason": "certkit._chains",
    "ScanReport": "certkit._scan",
    "SecretKeyEntry": "certkit._model",
    "TrustedCertEntry": "certkit._model",
    "VerificationResult": "certkit._chains",
    "add_trusted": "certkit._keystore_ops",
    "backup": "certkit._backup",
    "build_chain": "certkit._chains",
    "chain_status": "certkit._keystore_ops",
    "change_password": "certkit._keystore_ops",
    "check_host": "certkit._remote",
    "check_page": "certkit._page",
    "convert": "certkit._api",
    "convert_many": "certkit._api",
    "diagnose": "certkit._doctor",
    "dump": "certkit._api",
    "edit_keystore": "certkit._keystore_ops",
    "export": "certkit._export",
    "fetch_chain": "certkit._remote",
    "find_key": "certkit._match",
    "generate_csr": "certkit._request",
    "generate_key": "certkit._request",
    "import_reply": "certkit._keystore_ops",
    "load": "certkit._api",
    "modulus": "certkit._match",
    "modulus_hash": "certkit._match",
    "order_chain": "certkit._chains",
    "pair_keys": "certkit._match",
    "reply_target": "certkit._keystore_ops",
    "restore": "certkit._backup",
    "save": "certkit._api",
    "scan": "certkit._scan",
    "verify_backup": "certkit._backup",
    "verify_chain": "certkit._chains",
}

__all__ = [
    "Attributes",
    "BackupProblem",
    "BackupReport",
    "BatchConversionReport",
    "Certificate",
    "CertificatePool",
    "CertificateRequest",
    "Chain",
    "ConversionFailure",
    "ConversionReport",
    "ExportResult",
    "Finding",
    "HostReport",
    "KeyEntry",
    "KeyIndex",
    "KeyLocation",
    "KeyStore",
    "LockedKey",
    "LockedSecret",
    "Manifest",
    "MixedResource",
    "PageReport",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "Reason",
    "ScanReport",
    "SecretKeyEntry",
    "TrustedCertEntry",
    "VerificationResult",
    "add_trusted",
    "backup",
    "build_chain",
    "chain_status",
    "change_password",
    "check_host",
    "check_page",
    "convert",
    "convert_many",
    "diagnose",
    "dump",
    "edit_keystore",
    "export",
    "fetch_chain",
    "find_key",
    "generate_csr",
    "generate_key",
    "import_reply",
    "load",
    "modulus",
    "modulus_hash",
    "order_chain",
    "pair_keys",
    "reply_target",
    "restore",
    "save",
    "scan",
    "verify_backup",
    "verify_chain",
]

__version__ = "0.1.0"

if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """Import a public name (or a submodule such as ``certkit.errors``) on first use."""
        module = _LAZY.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
            globals()[name] = value
            return value
        if not name.startswith("__"):
            try:
                return importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as err:
                if err.name != f"{__name__}.{name}":
                    raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, lazy public names included."""
    return sorted({*globals(), *__all__})
