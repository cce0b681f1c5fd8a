"""Describe a store as plain data: what ``certkit inspect`` prints and ``--json`` emits."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from certkit._model import (
    Attributes,
    Certificate,
    CertificateRequest,
    Chain,
    KeyEntry,
    KeyStore,
    LockedKey,
    LockedSecret,
    OpaqueEntry,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._ops import chains as _chains
from certkit.errors import CertkitError

__all__ = ["ROLES", "days_left", "describe", "describe_attributes", "describe_certificate",
           "describe_verdict", "role"]


def _iso(moment: _dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


#: A certificate's role: a self-signed CA is a ``root``, another CA an ``intermediate``,
#: anything else (a server or client certificate, self-signed or not) a ``leaf``.
ROLES = ("root", "intermediate", "leaf")


def role(cert: Certificate) -> str:
    """``root`` (a self-signed CA), ``intermediate`` (another CA) or ``leaf`` (anything else).

    A certificate whose extensions cannot be read counts as a CA when it is self-signed
    and names no other issuer (old v1 roots carry no basic constraints).
    """
    try:
        is_ca = cert.is_ca
    except CertkitError:
        is_ca = False
    self_signed = cert.is_self_signed
    if is_ca:
        return "root" if self_signed else "intermediate"
    if self_signed and _v1(cert):
        return "root"
    return "leaf"


def _v1(cert: Certificate) -> bool:
    """A version 1 certificate (no extensions at all): how old roots were made."""
    return cert.x509.version.name == "v1"


def days_left(cert: Certificate, now: _dt.datetime | None = None) -> int:
    """Whole days until ``cert`` expires (0 on its last day, negative once expired)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return (cert.not_after - now) // _dt.timedelta(days=1)


def describe_certificate(cert: Certificate, *, now: _dt.datetime | None = None) -> dict[str, Any]:
    """Plain-data facts about one certificate (names, role, validity and days left,
    fingerprints, SANs)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    info: dict[str, Any] = {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial_number": format(cert.serial_number, "x"),
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "expired": cert.not_after < now,
        "not_yet_valid": cert.not_before > now,
        "days_left": days_left(cert, now),
        "sha256": cert.fingerprint("sha256"),
        "sha1": cert.fingerprint("sha1"),
        "public_key_sha256": cert.public_key_fingerprint,
        "key_algorithm": cert.key_algorithm,
        "self_signed": cert.is_self_signed,
    }
    try:
        info["san"] = list(cert.san)
        info["is_ca"] = cert.is_ca
    except CertkitError as err:
        info["san"] = []
        info["is_ca"] = None
        info["problem"] = str(err)
    info["role"] = role(cert)
    return info


def describe_attributes(attributes: Attributes) -> dict[str, Any]:
    """The attributes a container kept for an entry: friendly name, local key id (hex), CSP
    name, Java trusted usage and any other attribute by OID (only those present)."""
    kept: dict[str, Any] = {}
    if attributes.friendly_name is not None:
        kept["friendly_name"] = attributes.friendly_name
    if attributes.local_key_id is not None:
        kept["local_key_id"] = attributes.local_key_id.hex()
    if attributes.csp_name is not None:
        kept["csp_name"] = attributes.csp_name
    if attributes.trusted_usage is not None:
        kept["trusted_usage"] = list(attributes.trusted_usage)
    for raw in attributes.other:
        kept.setdefault("other", {})[raw.oid] = [v.hex() for v in raw.values]
    return kept


def _describe_request(request: CertificateRequest) -> dict[str, Any]:
    return {
        "subject": request.subject,
        "san": list(request.san),
        "public_key_sha256": request.public_key_fingerprint,
        "signature_valid": request.x509.is_signature_valid,
    }


def describe_verdict(verdict: _chains.ChainVerdict) -> dict[str, Any]:
    """A chain verdict as plain data: its code, the sentence, the fix and what it names."""
    return {"code": verdict.code, "message": verdict.message, "fix": verdict.fix,
            "trusted": verdict.trusted, "root": verdict.root,
            "missing_issuer": verdict.missing_issuer, "broken_at": verdict.broken_at,
            "unverified": list(verdict.unverified)}


def _links(chain: Chain) -> list[dict[str, Any]]:
    return [{"status": link.status, "reason": link.reason} for link in chain.links]


def _loose_chain(store: KeyStore) -> Chain | None:
    """The certificates of a store without keys, when they are meant as one chain (a bundle)."""
    certs = store.certificates
    if store.key_entries or not certs or len(certs) > _chains.MAX_DEPTH:
        return None
    try:
        return _chains.order_chain(certs)
    except CertkitError:
        # A leaf-first bundle that is not one chain is judged as written (broken); a
        # bundle of CA certificates (a trust store) is not a chain at all.
        return None if _is_ca(certs[0]) else Chain(certs)


def _is_ca(cert: Certificate) -> bool:
    try:
        return cert.is_ca
    except CertkitError:
        return True


def _trust_or_empty(trust: _chains.TrustSource | None) -> _chains.CertificatePool:
    try:
        return _chains.trust_pool(trust) or _chains.CertificatePool()
    except CertkitError:  # no system store here: every root is then "not trusted"
        return _chains.CertificatePool()


def describe(store: KeyStore, *, now: _dt.datetime | None = None,
             trust: _chains.TrustSource | None = "system") -> dict[str, Any]:
    """Describe every entry of ``store`` as JSON-ready data (never any key material).

    Each entry has its alias, type, dates and certificates; key entries add the key
    algorithm, chain length, each link's status (``verified``, ``unverified`` with the
    reason, ``broken``) and the chain's verdict (:func:`~certkit.chain_verdict` against
    ``trust``, default the system store). A store of certificates only that form one
    chain (a PEM bundle) gets that chain's verdict as ``chain``.
    """
    entries: list[dict[str, Any]] = []
    anchors = _trust_or_empty(trust)
    for entry in store.entries:
        row: dict[str, Any] = {"alias": entry.alias, "created": _iso(entry.created)}
        if entry.attributes.friendly_name is not None:
            row["friendly_name"] = entry.attributes.friendly_name
        row["attributes"] = describe_attributes(entry.attributes)
        if isinstance(entry, KeyEntry):
            row["type"] = "key"
            if isinstance(entry.key, LockedKey):
                leaf = entry.chain.leaf
                row["key_algorithm"] = leaf.key_algorithm if leaf is not None else None
                # A key left encrypted only because the store was loaded for listing
                # (decrypt_keys=False) opens with the store's password: not locked.
                row["locked"] = not entry.key.deferred
            else:
                row["key_algorithm"] = entry.key.algorithm
                row["locked"] = False
                if entry.chain:
                    row["key_matches_certificate"] = entry.key.matches(entry.chain[0])
            row["chain_length"] = len(entry.chain)
            if not entry.chain:
                row["summary"] = "key only, no certificate"
            row["chain_complete"] = entry.chain.is_complete
            row["missing_issuer"] = entry.chain.missing_issuer
            row["certificates"] = [describe_certificate(c, now=now) for c in entry.chain]
            row["links"] = _links(entry.chain)
            row["chain_verdict"] = (describe_verdict(_chains.chain_verdict(
                entry.chain, trust=anchors)) if entry.chain else None)
        elif isinstance(entry, TrustedCertEntry):
            row["type"] = "trusted-certificate"
            row["java_trusted"] = entry.trusted
            row["certificates"] = [describe_certificate(entry.certificate, now=now)]
        elif isinstance(entry, SecretKeyEntry):
            row["type"] = "secret-key"
            row["algorithm"] = entry.algorithm  # None while a locked entry hides it
            row["bits"] = None if isinstance(entry.key, LockedSecret) else len(entry.key) * 8
            row["locked"] = entry.is_locked
        elif isinstance(entry, OpaqueEntry):
            row["type"] = "opaque"
            row["kind"] = entry.kind
            row["reason"] = entry.reason
            row["chain_length"] = len(entry.chain)
            row["certificates"] = [describe_certificate(c, now=now) for c in entry.chain]
        entries.append(row)
    loose = _loose_chain(store)
    return {
        "format": store.format,
        "entries": entries,
        "chain": None if loose is None else {
            "subjects": [c.subject for c in loose], "links": _links(loose),
            "verdict": describe_verdict(_chains.chain_verdict(loose, trust=anchors))},
        "requests": [_describe_request(r) for r in store.requests],
        "protection": [
            {"part": p.part, "algorithm": p.algorithm, "iterations": p.iterations, "weak": p.weak}
            for p in store.protection
        ],
        "notes": list(store.notes),
    }
