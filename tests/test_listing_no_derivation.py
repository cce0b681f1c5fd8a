"""Listing spends no key derivation on keys: ``load(..., decrypt_keys=False)``, describe, scan.

A spy counts the password-based derivations (the PKCS#12 KDF, PBKDF2, the JCE PBE) while
real OpenSSL- and keytool-made files are listed; the keys still open afterwards with the
password given at load, into the same key a normal load gives.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from conftest import PKI, keytool, openssl, require_tool
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

import certkit
from certkit import KeyEntry, LockedKey, PrivateKey
from certkit._crypto import javakeys, pbe
from certkit._ops.inspect import describe
from certkit.errors import PasswordError

PASSWORD = "listing-pass"


class Spy:
    """Counts calls of the derivation functions it replaces."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {"pkcs12_kdf": 0, "pbkdf2": 0, "jce": 0}
        for module, name, label in ((pbe, "pkcs12_kdf", "pkcs12_kdf"), (pbe, "_pbkdf2", "pbkdf2"),
                                    (javakeys, "derive_jce_key", "jce")):
            monkeypatch.setattr(module, name, self._counting(getattr(module, name), label))

    def _counting(self, real: Callable[..., Any], label: str) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[label] += 1
            return real(*args, **kwargs)

        return counted

    @property
    def total(self) -> int:
        """Every derivation counted so far."""
        return sum(self.calls.values())


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """A fresh derivation counter."""
    return Spy(monkeypatch)


@pytest.fixture(scope="module")
def pfx(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A PFX as OpenSSL 3 writes it: key and certificates under PBES2, a SHA-256 MAC."""
    require_tool("openssl")
    folder = tmp_path_factory.mktemp("pfx")
    (folder / "key.pem").write_bytes(pki.leaf.key.to_pem())
    (folder / "leaf.pem").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "ca.pem").write_bytes(pki.intermediate.certificate.to_pem())
    (folder / "alone").mkdir()
    out = folder / "alone" / "server.pfx"  # alone in its folder, for scan
    openssl("pkcs12", "-export", "-inkey", str(folder / "key.pem"), "-in",
            str(folder / "leaf.pem"), "-certfile", str(folder / "ca.pem"), "-name", "server",
            "-passout", f"pass:{PASSWORD}", "-out", str(out))
    return out


@pytest.fixture(scope="module")
def jceks(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A JCEKS with one key pair as keytool writes it (its key under the JCE PBE)."""
    require_tool("keytool")
    out = tmp_path_factory.mktemp("jceks") / "store.jceks"
    keytool("-genkeypair", "-alias", "web", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=web.example.test", "-validity", "30", "-storetype", "JCEKS",
            "-keystore", str(out), "-storepass", PASSWORD, "-keypass", PASSWORD)
    return out


def pkcs8(key: PrivateKey) -> bytes:
    """The key's unencrypted PKCS#8 DER, to compare two loads."""
    return key.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def key_entry(store: certkit.KeyStore) -> KeyEntry:
    """The store's one key entry."""
    (entry,) = store.key_entries
    return entry


class TestPkcs12Listing:
    """A PKCS#12 loaded for listing checks its MAC and reads its certificates, no more."""

    def test_a_normal_load_derives_for_the_key_too(self, pfx: pathlib.Path, spy: Spy) -> None:
        """The default load decrypts the key bag: MAC, certificate safe and key (3)."""
        store = certkit.load(pfx, password=PASSWORD)
        assert isinstance(key_entry(store).key, PrivateKey)
        assert spy.total == 3

    def test_listing_derives_only_mac_and_certificates(self, pfx: pathlib.Path, spy: Spy,
                                                       pki: PKI) -> None:
        """decrypt_keys=False derives for the MAC and the certificate safe only (2)."""
        store = certkit.load(pfx, password=PASSWORD, decrypt_keys=False)
        assert spy.calls == {"pkcs12_kdf": 1, "pbkdf2": 1, "jce": 0}
        entry = key_entry(store)
        assert isinstance(entry.key, LockedKey)
        assert entry.key.deferred
        assert entry.alias == "server"
        assert entry.key.public_key_fingerprint == pki.leaf.certificate.public_key_fingerprint
        assert entry.key.matches(pki.leaf.certificate)
        assert [c.subject for c in entry.chain] == [pki.leaf.certificate.subject,
                                                    pki.intermediate.certificate.subject]

    def test_describe_derives_nothing(self, pfx: pathlib.Path, spy: Spy) -> None:
        """describe of a listing load shows the key entry, its algorithm, not locked."""
        store = certkit.load(pfx, password=PASSWORD, decrypt_keys=False)
        before = spy.total
        row = describe(store, trust=None)["entries"][0]
        assert spy.total == before
        assert (row["type"], row["key_algorithm"], row["locked"]) == ("key", "RSA-2048", False)

    def test_scan_derives_no_key(self, pfx: pathlib.Path, spy: Spy, pki: PKI) -> None:
        """scan pairs the key with its certificate from the MAC and certificate safe alone."""
        report = certkit.scan(pfx.parent, passwords=PASSWORD, trust_system=False)
        assert spy.calls["pkcs12_kdf"] == 1
        assert spy.calls["pbkdf2"] == 1
        assert [k.public_key_sha256 for k in report.keys] == [
            pki.leaf.certificate.public_key_fingerprint]
        assert [c.subject for c in report.without_key] == []

    def test_unlock_gives_the_key_of_a_normal_load(self, pfx: pathlib.Path, spy: Spy) -> None:
        """Unlocking with the load password derives once and gives the normally loaded key."""
        listed = key_entry(certkit.load(pfx, password=PASSWORD, decrypt_keys=False))
        before = spy.total
        opened = listed.unlock(PASSWORD)
        assert spy.total == before + 1
        normal = key_entry(certkit.load(pfx, password=PASSWORD))
        assert pkcs8(opened.private_key) == pkcs8(normal.private_key)

    def test_using_the_key_unopened_says_why(self, pfx: pathlib.Path) -> None:
        """The key itself, unopened, raises a PasswordError naming the listing load."""
        entry = key_entry(certkit.load(pfx, password=PASSWORD, decrypt_keys=False))
        with pytest.raises(PasswordError, match="decrypt_keys=False"):
            _ = entry.private_key
        with pytest.raises(PasswordError, match="wrong key password for entry 'server'"):
            entry.unlock("not-the-password")


class TestJceksListing:
    """A JCEKS loaded for listing leaves its keys sealed until they are used."""

    def test_listing_derives_no_jce_key(self, jceks: pathlib.Path, spy: Spy) -> None:
        """decrypt_keys=False lists the keytool key without the JCE PBE; a normal load runs it."""
        listed = certkit.load(jceks, password=PASSWORD, decrypt_keys=False)
        assert spy.calls["jce"] == 0
        entry = key_entry(listed)
        assert isinstance(entry.key, LockedKey)
        assert entry.key.deferred
        assert describe(listed, trust=None)["entries"][0]["locked"] is False
        assert not any("locked" in note for note in listed.notes)
        assert spy.calls["jce"] == 0
        normal = key_entry(certkit.load(jceks, password=PASSWORD))
        assert spy.calls["jce"] == 1
        assert pkcs8(entry.unlock(PASSWORD).private_key) == pkcs8(normal.private_key)


    def test_keystore_list_derives_no_jce_key(self, jceks: pathlib.Path, spy: Spy) -> None:
        """``certkit keystore list`` of the keytool JCEKS runs no JCE PBE, and calls the key
        (whose password is the store's) not locked."""
        import io
        import json

        from certkit.cli import main

        out = io.StringIO()
        pw = jceks.parent / "pw.txt"
        pw.write_text(PASSWORD + "\n")
        code = main(["keystore", "list", str(jceks), "--password-file", str(pw), "--json"],
                    out=out)
        assert code == 0
        assert spy.calls["jce"] == 0
        (row,) = json.loads(out.getvalue())["entries"]
        assert row["alias"] == "web"
        assert row["locked"] is False


class TestUnpairedKey:
    """A key bag that names no certificate is decrypted at load even when listing."""

    def test_a_lone_key_is_decrypted(self, pki: PKI, spy: Spy) -> None:
        """A PFX holding only a key (cryptography's writer) loads it decrypted (MAC + key)."""
        data = pkcs12.serialize_key_and_certificates(
            b"lone", pki.leaf.key.key, None, None,  # type: ignore[arg-type]
            BestAvailableEncryption(PASSWORD.encode()))
        store = certkit.load(data, password=PASSWORD, decrypt_keys=False)
        entry = key_entry(store)
        assert isinstance(entry.key, PrivateKey)
        assert pkcs8(entry.key) == pkcs8(pki.leaf.key)
        assert spy.calls == {"pkcs12_kdf": 1, "pbkdf2": 1, "jce": 0}  # MAC, then the key bag
