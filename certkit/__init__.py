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
    from certkit._crypto.budget import work_limit
    from certkit._model import (
        Attributes,
        Certificate,
        CertificateRequest,
        Chain,
        Entry,
        KeyEntry,
        KeyStore,
        Link,
        LockedKey,
        LockedSecret,
        OpaqueEntry,
        Password,
        PrivateKey,
        Protection,
        RawAttribute,
        SecretKeyEntry,
        TrustedCertEntry,
    )
    from certkit._ops.api import (
        BatchConversionReport,
        ConversionFailure,
        ConversionReport,
        Passwords,
        convert,
        convert_many,
        dump,
        load,
        save,
    )
    from certkit._ops.backup import (
        BackupProblem,
        BackupReport,
        Manifest,
        backup,
        restore,
        verify_backup,
    )
    from certkit._ops.chains import (
        CertificatePool,
        ChainReport,
        ChainVerdict,
        Reason,
        VerificationResult,
        build_chain,
        chain_report,
        chain_verdict,
        order_chain,
        verify_chain,
    )
    from certkit._ops.doctor import Finding, diagnose
    from certkit._ops.export import ExportResult, export
    from certkit._ops.keystore import (
        add_trusted,
        chain_status,
        change_password,
        edit_keystore,
        import_reply,
        reply_target,
    )
    from certkit._ops.match import (
        Fingerprints,
        KeyIndex,
        KeyLocation,
        KeyMatch,
        find_key,
        fingerprints,
        identify,
        match_key,
        modulus,
        modulus_hash,
        pair_keys,
    )
    from certkit._ops.metrics import save_scan_metrics, scan_metrics
    from certkit._ops.page import MixedResource, PageReport, check_page
    from certkit._ops.remote import HostReport, check_host, fetch_chain
    from certkit._ops.report import save_scan_html, scan_html
    from certkit._ops.request import (
        RenewalSource,
        RequestFiles,
        generate_csr,
        generate_key,
        renewal_csr,
        renewal_key,
        renewal_source,
        request_files,
    )
    from certkit._ops.scan import ScanReport, scan
    from certkit._ops.select import save_chain, split_certificates

#: Where each public name is defined; :func:`__getattr__` imports it from there on first use.
_LAZY: dict[str, str] = {
    "Attributes": "certkit._model",
    "BackupProblem": "certkit._ops.backup",
    "BackupReport": "certkit._ops.backup",
    "BatchConversionReport": "certkit._ops.api",
    "Certificate": "certkit._model",
    "CertificatePool": "certkit._ops.chains",
    "CertificateRequest": "certkit._model",
    "Chain": "certkit._model",
    "ChainReport": "certkit._ops.chains",
    "ChainVerdict": "certkit._ops.chains",
    "ConversionFailure": "certkit._ops.api",
    "ConversionReport": "certkit._ops.api",
    "Entry": "certkit._model",
    "ExportResult": "certkit._ops.export",
    "Finding": "certkit._ops.doctor",
    "Fingerprints": "certkit._ops.match",
    "HostReport": "certkit._ops.remote",
    "KeyEntry": "certkit._model",
    "KeyIndex": "certkit._ops.match",
    "KeyLocation": "certkit._ops.match",
    "KeyMatch": "certkit._ops.match",
    "KeyStore": "certkit._model",
    "Link": "certkit._model",
    "LockedKey": "certkit._model",
    "LockedSecret": "certkit._model",
    "Manifest": "certkit._ops.backup",
    "MixedResource": "certkit._ops.page",
    "OpaqueEntry": "certkit._model",
    "PageReport": "certkit._ops.page",
    "Password": "certkit._model",
    "Passwords": "certkit._ops.api",
    "PrivateKey": "certkit._model",
    "Protection": "certkit._model",
    "RawAttribute": "certkit._model",
    "Reason": "certkit._ops.chains",
    "RenewalSource": "certkit._ops.request",
    "RequestFiles": "certkit._ops.request",
    "ScanReport": "certkit._ops.scan",
    "SecretKeyEntry": "certkit._model",
    "TrustedCertEntry": "certkit._model",
    "VerificationResult": "certkit._ops.chains",
    "add_trusted": "certkit._ops.keystore",
    "backup": "certkit._ops.backup",
    "build_chain": "certkit._ops.chains",
    "chain_report": "certkit._ops.chains",
    "chain_status": "certkit._ops.keystore",
    "chain_verdict": "certkit._ops.chains",
    "change_password": "certkit._ops.keystore",
    "check_host": "certkit._ops.remote",
    "check_page": "certkit._ops.page",
    "convert": "certkit._ops.api",
    "convert_many": "certkit._ops.api",
    "diagnose": "certkit._ops.doctor",
    "dump": "certkit._ops.api",
    "edit_keystore": "certkit._ops.keystore",
    "export": "certkit._ops.export",
    "fetch_chain": "certkit._ops.remote",
    "find_key": "certkit._ops.match",
    "fingerprints": "certkit._ops.match",
    "generate_csr": "certkit._ops.request",
    "generate_key": "certkit._ops.request",
    "identify": "certkit._ops.match",
    "import_reply": "certkit._ops.keystore",
    "load": "certkit._ops.api",
    "match_key": "certkit._ops.match",
    "modulus": "certkit._ops.match",
    "modulus_hash": "certkit._ops.match",
    "order_chain": "certkit._ops.chains",
    "pair_keys": "certkit._ops.match",
    "renewal_csr": "certkit._ops.request",
    "renewal_key": "certkit._ops.request",
    "renewal_source": "certkit._ops.request",
    "reply_target": "certkit._ops.keystore",
    "request_files": "certkit._ops.request",
    "restore": "certkit._ops.backup",
    "save": "certkit._ops.api",
    "save_chain": "certkit._ops.select",
    "save_scan_html": "certkit._ops.report",
    "save_scan_metrics": "certkit._ops.metrics",
    "scan": "certkit._ops.scan",
    "scan_html": "certkit._ops.report",
    "scan_metrics": "certkit._ops.metrics",
    "split_certificates": "certkit._ops.select",
    "verify_backup": "certkit._ops.backup",
    "verify_chain": "certkit._ops.chains",
    "work_limit": "certkit._crypto.budget",
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
    "ChainReport",
    "ChainVerdict",
    "ConversionFailure",
    "ConversionReport",
    "Entry",
    "ExportResult",
    "Finding",
    "Fingerprints",
    "HostReport",
    "KeyEntry",
    "KeyIndex",
    "KeyLocation",
    "KeyMatch",
    "KeyStore",
    "Link",
    "LockedKey",
    "LockedSecret",
    "Manifest",
    "MixedResource",
    "OpaqueEntry",
    "PageReport",
    "Password",
    "Passwords",
    "PrivateKey",
    "Protection",
    "RawAttribute",
    "Reason",
    "RenewalSource",
    "RequestFiles",
    "ScanReport",
    "SecretKeyEntry",
    "TrustedCertEntry",
    "VerificationResult",
    "add_trusted",
    "backup",
    "build_chain",
    "chain_report",
    "chain_status",
    "chain_verdict",
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
    "fingerprints",
    "generate_csr",
    "generate_key",
    "identify",
    "import_reply",
    "load",
    "match_key",
    "modulus",
    "modulus_hash",
    "order_chain",
    "pair_keys",
    "renewal_csr",
    "renewal_key",
    "renewal_source",
    "reply_target",
    "request_files",
    "restore",
    "save",
    "save_chain",
    "save_scan_html",
    "save_scan_metrics",
    "scan",
    "scan_html",
    "scan_metrics",
    "split_certificates",
    "verify_backup",
    "verify_chain",
    "work_limit",
]

from certkit._version import __version__ as __version__  # noqa: E402 - beside __all__

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
