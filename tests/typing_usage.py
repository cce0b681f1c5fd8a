"""User code that ``mypy --strict`` must accept: the public API is typed end to end.

Checked by ``nox -s typecheck``; never imported by the tests.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import certkit
from certkit.errors import CertkitError, PasswordError


def expiring_aliases(path: pathlib.Path, password: str | None) -> list[tuple[str, dt.datetime]]:
    """List key entries and when their certificate expires."""
    store: certkit.KeyStore = certkit.load(path, password=password)
    out: list[tuple[str, dt.datetime]] = []
    for entry in store.key_entries:
        leaf: certkit.Certificate | None = entry.chain.leaf
        if leaf is not None:
            out.append((entry.alias, leaf.not_after))
    return out


def to_pem(src: str, dst: str) -> certkit.ConversionReport | None:
    """Convert a file to PEM, reporting instead of raising."""
    try:
        return certkit.convert(src, dst, allow_loss=False)
    except PasswordError as err:
        print(err.missing, err.alias)
        return None
    except CertkitError:
        return None


def fingerprints(data: bytes) -> dict[str, str]:
    """Map subjects to SHA-256 fingerprints."""
    store = certkit.load(data)
    chain: certkit.Chain = certkit.Chain(store.certificates)
    result = {cert.subject: cert.fingerprint("sha256") for cert in chain}
    key: certkit.PrivateKey | certkit.LockedKey = store.key_entries[0].key
    if isinstance(key, certkit.PrivateKey) and chain.leaf is not None:
        result["matches"] = str(key.matches(chain.leaf))
    out: bytes = certkit.dump(store, "pem", bag_attributes=True)
    saved: pathlib.Path = certkit.save(store, "x.pem", overwrite=True)
    print(len(out), saved)
    return result


def secret_keys(store: certkit.KeyStore, key_password: str) -> dict[str, bytes]:
    """Map aliases to secret key bytes, opening locked entries with one key password."""
    out: dict[str, bytes] = {}
    for entry in store.secret_entries:
        key: bytes | certkit.LockedSecret = entry.key
        opened: certkit.SecretKeyEntry = entry.unlock(key_password) if entry.is_locked else entry
        algorithm: str | None = opened.algorithm
        out[f"{entry.alias} ({algorithm})"] = opened.secret
        print(type(key))
    return out


def folder_to_pem(folder: pathlib.Path, password: str) -> list[str]:
    """Convert every PFX in a folder to PEM in one batch; list what failed and why."""
    batch: certkit.BatchConversionReport = certkit.convert_many(
        folder.glob("*.pfx"), folder / "pem", format="pem", password=password,
        overwrite=False)
    written: list[pathlib.Path] = [r.destination for r in batch.converted]
    print(len(written), batch.ok)
    failures: tuple[certkit.ConversionFailure, ...] = batch.failed
    wrong_password: list[str] = [f.source for f in failures if isinstance(f.error, PasswordError)]
    print(wrong_password)
    error: CertkitError | None = failures[0].error if failures else None
    print(error)
    return [f"{f.source}: {f.error}" for f in failures]


def describe(store: certkit.KeyStore, alias: str, key_password: certkit.Password) -> str:
    """Name the kinds of entry without isinstance chains where the store's accessors suffice."""
    entry: certkit.Entry = store[alias]
    site: certkit.KeyEntry = store.get(alias, certkit.KeyEntry)
    algorithm: str = site.key.algorithm  # a LockedKey answers from its certificate
    fingerprint: str = site.key.public_key_fingerprint
    opened: certkit.KeyEntry = site.unlock(key_password) if site.is_locked else site
    ca: certkit.TrustedCertEntry = store.get("ca", certkit.TrustedCertEntry)
    maybe: certkit.Entry | None = store.get("nope")
    flagged: certkit.KeyEntry = certkit.KeyEntry.unchecked(alias, opened.key, [ca.certificate])
    problem: CertkitError | None = flagged.problem
    return f"{entry.alias} {algorithm} {fingerprint} {maybe} {problem}"
