"""Every keystore and bundle of the interop corpus, read and compared with the reference tools.

For each source folder the sweep prints how many files certkit read, how many entries they
hold, and how many entries have the chain length (and leaf fingerprint) keytool shows, or
the certificates openssl prints for PEM and PKCS#7. Nothing may escape as anything but a
:class:`~certkit.errors.CertkitError`. Disagreements are printed, not hidden.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import pathlib
import re
import subprocess
import sys

import attrs
import pytest
from conftest import corpus_path, keytool, require_tool
from realworld import ViewedEntry, certkit_view, parse_keytool_list

import certkit
from certkit.errors import CertkitError, PasswordError

pytestmark = pytest.mark.slow

SOURCES = ("pyjks", "openssl", "boringssl", "dotnet-runtime-assets", "realworld")
_SKIP = re.compile(r"(EXPECTED|VERIFY|LICENSE|README|readme)|/expected/")
#: pyjks's store passwords (its EXPECTED.md): each file opens with one of them.
_PYJKS_PASSWORDS = ("12345678", "store_password", "", "ლ(ಠ益ಠლ)")
#: The per-entry key passwords of pyjks's custom_entry_passwords stores (its EXPECTED.md).
_PYJKS_KEY_PASSWORDS = {"private": "private_password", "secret": "secret_password",
                        "sealed_private_key": "private_password",
                        "sealed_public_key": "public_password",
                        "sealed_secret_key": "secret_password"}
_REALWORLD_PASSWORDS = {"jdk8-ec.keystore": "passphrase", "bc-sha1-chain.p12": "pass"}
_KEYTOOL_FORMATS = ("jks", "jceks", "pkcs12")


@attrs.define
class Tally:
    """What the sweep found in one source folder."""

    files: int = 0
    read: int = 0
    entries: int = 0
    compared: int = 0
    agreed: int = 0
    escapes: list[str] = attrs.Factory(list)
    refused: list[str] = attrs.Factory(list)
    disagreements: list[str] = attrs.Factory(list)


def _passwords(source: str, relative: str) -> list[str | None]:
    if source == "pyjks":
        return [*_PYJKS_PASSWORDS, None]
    if source == "realworld":
        return [_REALWORLD_PASSWORDS.get(relative)]
    verify = json.loads(corpus_path(source, "VERIFY.json").read_text())
    found = verify.get(relative) or verify.get(f"{source}/{relative}") or {}
    if found.get("nopass"):
        return [None, ""]
    return [found.get("password"), None]


def _load(path: pathlib.Path, passwords: list[str | None]) -> tuple[certkit.KeyStore, str | None]:
    """The store opened with the first password that opens it (the last error otherwise)."""
    key_passwords = _PYJKS_KEY_PASSWORDS if "custom_entry_passwords" in path.name else {}
    *first, last = passwords
    for password in first:
        with contextlib.suppress(PasswordError):
            return certkit.load(path, password=password, key_passwords=key_passwords), password
    return certkit.load(path, password=last, key_passwords=key_passwords), last


def _keytool_view(path: pathlib.Path, password: str | None) -> dict[str, ViewedEntry] | None:
    """keytool's view, or ``None`` where keytool cannot open the file."""
    result = keytool("-list", "-v", "-keystore", path, "-storepass", password or "", check=False)
    return parse_keytool_list(result.stdout.decode()) if result.returncode == 0 else None


def _openssl_certificates(path: pathlib.Path) -> int | None:
    tool = require_tool("openssl")
    for form in ("PEM", "DER"):
        result = subprocess.run([tool, "pkcs7", "-inform", form, "-in", str(path),
                                 "-print_certs"], capture_output=True, timeout=60, check=False)
        if result.returncode == 0:
            return result.stdout.count(b"-----BEGIN CERTIFICATE-----")
    text = path.read_bytes()
    return text.count(b"-----BEGIN CERTIFICATE-----") if b"-----BEGIN" in text else None


def _shape(entry: ViewedEntry) -> tuple[str, int, tuple[str, ...]]:
    return entry.kind, entry.chain_length, entry.sha256


def _compare_keytool(tally: Tally, name: str, store: certkit.KeyStore,
                     reference: dict[str, ViewedEntry]) -> None:
    """Entries pair by alias, else (PKCS#12 files without names) by leaf fingerprint."""
    mine = certkit_view(store)
    by_leaf = {e.sha256[:1]: e for e in mine.values() if e.sha256}
    for alias, theirs in reference.items():
        tally.compared += 1
        found = mine.get(alias) or by_leaf.get(theirs.sha256[:1])
        if found is not None and _shape(found) == _shape(theirs):
            tally.agreed += 1
            continue
        shown = f"{found.kind} chain {found.chain_length}" if found else "no such entry"
        tally.disagreements.append(f"{name} {alias!r}: keytool {theirs.kind} chain "
                                   f"{theirs.chain_length}, certkit {shown}")


_BKS_KINDS = {"BksTrustedCertEntry": "trustedCertEntry", "BksSecretKeyEntry": "SecretKeyEntry",
              "private": "PrivateKeyEntry", "secret": "SecretKeyEntry", "public": "public key"}


def _compare_pyjks(tally: Tally, name: str, store: certkit.KeyStore) -> None:
    """BKS and UBER: keytool cannot open them; pyjks's recorded view is the reference."""
    verify = json.loads(corpus_path("pyjks", "VERIFY.json").read_text())
    mine = certkit_view(store)
    for theirs in verify.get(name.removeprefix("keystores/"), {}).get("entries", []):
        kind = _BKS_KINDS[theirs.get("key_type", theirs["kind"])]
        tally.compared += 1
        found = mine.get(theirs["alias"].lower())
        if found is not None and found.kind == kind:
            tally.agreed += 1
        else:
            shown = (found.kind if found else
                     "no entry (the model holds public keys only in certificates)")
            tally.disagreements.append(f"{name} {theirs['alias']!r}: pyjks {kind}, certkit {shown}")


def _compare(tally: Tally, name: str, store: certkit.KeyStore, password: str | None,
             path: pathlib.Path) -> None:
    if store.format in _KEYTOOL_FORMATS:
        reference = _keytool_view(path, password)
        if reference is not None:
            _compare_keytool(tally, name, store, reference)
    elif store.format in ("bks", "uber"):
        _compare_pyjks(tally, name, store)
    elif store.format in ("pem", "pkcs7"):
        count = _openssl_certificates(path)
        if count is None:
            return
        tally.compared += 1
        if count == len(store.certificates):
            tally.agreed += 1
        else:
            tally.disagreements.append(f"{name}: openssl prints {count} certificates, certkit "
                                       f"holds {len(store.certificates)}")


def _files(source: str) -> list[pathlib.Path]:
    root = corpus_path(source)
    return [path for path in sorted(p for p in root.rglob("*") if p.is_file())
            if not _SKIP.search("/" + path.relative_to(root).as_posix())
            and path.suffix not in (".json", ".md", ".txt")]


def _sweep_file(source: str, path: pathlib.Path) -> Tally:
    """One file's share of its source's tally."""
    tally = Tally(files=1)
    relative = path.relative_to(corpus_path(source)).as_posix()
    try:
        store, password = _load(path, _passwords(source, relative))
    except CertkitError as err:
        tally.refused.append(f"{relative}: {type(err).__name__}: {err}")
        return tally
    except Exception as err:  # noqa: BLE001 - counting escapes is the point
        tally.escapes.append(f"{relative}: {type(err).__name__}: {err}")
        return tally
    tally.read, tally.entries = 1, len(store)
    _compare(tally, relative, store, password, path)
    return tally


def _add(total: Tally, part: Tally) -> Tally:
    return Tally(total.files + part.files, total.read + part.read,
                 total.entries + part.entries, total.compared + part.compared,
                 total.agreed + part.agreed, total.escapes + part.escapes,
                 total.refused + part.refused, total.disagreements + part.disagreements)


@pytest.fixture(scope="module")
def sweep() -> dict[str, Tally]:
    """Every file of every source read once, in parallel (keytool start-up dominates)."""
    tasks = [(source, path) for source in SOURCES for path in _files(source)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        parts = list(pool.map(lambda task: _sweep_file(*task), tasks))
    totals = {source: Tally() for source in SOURCES}
    for (source, _), part in zip(tasks, parts, strict=True):
        totals[source] = _add(totals[source], part)
    return totals


def test_sweep_prints_and_nothing_escapes(sweep: dict[str, Tally],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Per source: files read, entries, chain agreements; no non-CertkitError escapes."""
    header = "corpus sweep: source: files read / entries / chains agreeing with keytool or openssl"
    lines = ["", header]
    for source, tally in sweep.items():
        lines.append(f"  {source}: {tally.read}/{tally.files} files, {tally.entries} entries, "
                     f"{tally.agreed}/{tally.compared} agree, {len(tally.escapes)} escapes")
        lines.extend(f"    {line}" for line in tally.disagreements + tally.refused)
    with capsys.disabled():
        sys.stdout.write("\n".join(lines) + "\n")
    assert [e for t in sweep.values() for e in t.escapes] == []


@pytest.mark.parametrize("source", SOURCES)
def test_every_file_is_read_or_refused_by_name(sweep: dict[str, Tally], source: str) -> None:
    """Every refusal is a CertkitError whose message names the file."""
    for line in sweep[source].refused:
        relative = line.split(":", 1)[0]
        assert relative in line.split(":", 1)[1], line
