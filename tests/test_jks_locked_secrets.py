"""Secret keys under a key password of their own load locked, like keytool -list lists them.

The keytool tests build one JCEKS per module the way a sysadmin would (``-genseckey`` with a
``-keypass`` different from the store password, plus a key pair under the store password)
and compare with what the JDK itself decrypts, through a ten-line Java program.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import pathlib
import re

import attrs
import pytest
from conftest import PKI, compile_java, corpus_path, java_program, keytool

import certkit
from certkit import Chain, KeyEntry, KeyStore, LockedSecret, SecretKeyEntry
from certkit._crypto.pbe import pkcs12_kdf
from certkit._ops.inspect import describe
from certkit.cli import main
from certkit.errors import BackupError, PasswordError, UnrepresentableError

STOREPASS = "changeit"
KEYPASS = "keysecret"
AES_KEY = bytes(range(32))
CREATED = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone.utc)


def secret_of(store: KeyStore, alias: str = "sk") -> SecretKeyEntry:
    """The secret-key entry under ``alias``."""
    entry = store[alias]
    assert isinstance(entry, SecretKeyEntry)
    return entry


def locked_blob(store: KeyStore, alias: str = "sk") -> bytes:
    """The sealed bytes of a locked secret entry."""
    key = secret_of(store, alias).key
    assert isinstance(key, LockedSecret)
    return key.data


@pytest.fixture(scope="module")
def jceks_bytes(pki: PKI) -> bytes:
    """A certkit JCEKS: a key entry under the store password, an AES key under its own."""
    store = KeyStore([
        KeyEntry("srv", pki.leaf.key, Chain(pki.chain), created=CREATED),
        SecretKeyEntry("sk", "AES", AES_KEY, created=CREATED),
    ])
    return certkit.dump(store, "jceks", password=STOREPASS, key_passwords={"sk": KEYPASS},
                        iterations=1000)


@pytest.fixture
def jceks_path(tmp_path: pathlib.Path, jceks_bytes: bytes) -> pathlib.Path:
    """The certkit-written JCEKS as a file of its own."""
    path = tmp_path / "store.jceks"
    path.write_bytes(jceks_bytes)
    return path


class TestModel:
    """``SecretKeyEntry`` with a ``LockedSecret`` behaves like ``KeyEntry`` with a ``LockedKey``."""

    def locked(self) -> SecretKeyEntry:
        """A locked entry whose unlocker accepts only KEYPASS."""
        def unlock(password: certkit.Password) -> tuple[str, bytes]:
            if password is None:
                raise PasswordError("needs it", alias="sk", missing=True)
            if password != KEYPASS:
                raise PasswordError("wrong", alias="sk")
            return "AES", AES_KEY

        return SecretKeyEntry("sk", None, LockedSecret("jceks", b"sealed-bytes", unlock))

    def test_repr_hides_sealed_bytes(self) -> None:
        """Neither repr shows the sealed bytes; the entry says it is locked."""
        entry = self.locked()
        assert "sealed-bytes" not in repr(entry)
        assert "sealed-bytes" not in repr(entry.key)
        assert repr(entry) == "SecretKeyEntry(alias='sk', algorithm=None, locked)"

    def test_secret_raises_naming_alias(self) -> None:
        """``.secret`` on a locked entry is a PasswordError naming the alias, marked missing."""
        entry = self.locked()
        assert entry.is_locked
        with pytest.raises(PasswordError) as info:
            entry.secret  # noqa: B018 - the property raises
        assert (info.value.alias, info.value.missing) == ("sk", True)

    def test_unlock(self) -> None:
        """``unlock`` fills in the algorithm and the key bytes."""
        entry = self.locked().unlock(KEYPASS)
        assert not entry.is_locked
        assert (entry.algorithm, entry.secret) == ("AES", AES_KEY)
        assert entry.unlock("anything") is entry

    def test_unlock_wrong_or_no_password(self) -> None:
        """A wrong password names the alias; no password is reported as missing."""
        with pytest.raises(PasswordError, match="wrong key password") as info:
            self.locked().unlock("nope")
        assert (info.value.alias, info.value.missing) == ("sk", False)
        with pytest.raises(PasswordError) as missing:
            self.locked().unlock(None)
        assert missing.value.missing

    def test_store_unlock_covers_secrets(self) -> None:
        """``KeyStore.unlock`` opens locked secret entries named in the mapping."""
        store = KeyStore([self.locked()]).unlock({"sk": KEYPASS})
        assert secret_of(store).secret == AES_KEY

    def test_algorithm_required_when_unlocked(self) -> None:
        """Only a locked entry may leave the algorithm unknown."""
        with pytest.raises(ValueError, match="algorithm"):
            SecretKeyEntry("sk", None, AES_KEY)

    def test_equality_by_sealed_bytes(self) -> None:
        """Two locked entries are equal when their sealed bytes are, whatever the unlocker."""
        sealed = LockedSecret("jceks", b"sealed-bytes", lambda _: ("", b""))
        other = SecretKeyEntry("sk", None, sealed)
        assert self.locked() == other


class TestLoadJCEKS:
    """Loading a JCEKS whose secret key has a password of its own."""

    def test_lists_without_key_password(self, jceks_bytes: bytes) -> None:
        """The store lists with the store password alone; the secret entry is locked."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        assert store.aliases == ("srv", "sk")
        srv = store["srv"]
        assert isinstance(srv, KeyEntry)
        assert not srv.is_locked
        entry = secret_of(store)
        assert entry.is_locked
        assert entry.algorithm is None
        assert entry.created == CREATED
        assert any("'sk'" in note and "locked" in note for note in store.notes)

    def test_lists_without_any_password(self, jceks_bytes: bytes) -> None:
        """Without the store password too (keytool -list without -storepass) it lists locked."""
        store = certkit.load(jceks_bytes)
        assert secret_of(store).is_locked

    def test_key_passwords_unlock_at_load(self, jceks_bytes: bytes) -> None:
        """``key_passwords`` unseals the secret while loading."""
        store = certkit.load(jceks_bytes, password=STOREPASS, key_passwords={"sk": KEYPASS})
        entry = secret_of(store)
        assert (entry.algorithm, entry.secret) == ("AES", AES_KEY)

    def test_wrong_key_password_at_load(self, jceks_bytes: bytes) -> None:
        """A wrong key password given for the entry is a PasswordError naming it."""
        with pytest.raises(PasswordError) as info:
            certkit.load(jceks_bytes, password=STOREPASS, key_passwords={"sk": "wrong"})
        assert info.value.alias == "sk"
        assert not info.value.missing

    def test_unlock_later(self, jceks_bytes: bytes) -> None:
        """A locked entry unseals later with its own password, not with the store's."""
        entry = secret_of(certkit.load(jceks_bytes, password=STOREPASS))
        with pytest.raises(PasswordError) as info:
            entry.unlock(STOREPASS)
        assert info.value.alias == "sk"
        assert entry.unlock(KEYPASS).secret == AES_KEY


class TestWrite:
    """Writing a store that holds a locked secret."""

    def test_jceks_round_trip_keeps_sealed_bytes(self, jceks_bytes: bytes) -> None:
        """Written back as JCEKS, the sealed secret is byte for byte the one read."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        written = certkit.dump(store, "jceks", password=STOREPASS)
        again = certkit.load(written, password=STOREPASS)
        assert locked_blob(again) == locked_blob(store)
        assert locked_blob(store) in jceks_bytes
        assert again == store
        assert secret_of(again).unlock(KEYPASS).secret == AES_KEY

    def test_pkcs12_refuses_locked_secret(self, jceks_bytes: bytes) -> None:
        """PKCS#12 output of a locked secret is a PasswordError naming the alias."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        with pytest.raises(PasswordError, match="'sk'") as info:
            certkit.dump(store, "pkcs12", password=STOREPASS)
        assert info.value.alias == "sk"

    def test_pkcs12_after_unlock(self, jceks_bytes: bytes) -> None:
        """Once unlocked, the secret goes into PKCS#12 and reads back the same."""
        store = certkit.load(jceks_bytes, password=STOREPASS).unlock({"sk": KEYPASS})
        p12 = certkit.load(certkit.dump(store, "pkcs12", password=STOREPASS), password=STOREPASS)
        assert (secret_of(p12).algorithm, secret_of(p12).secret) == ("AES", AES_KEY)

    def test_jks_cannot_hold_it(self, jceks_bytes: bytes) -> None:
        """JKS holds no secret keys at all: the locked one is named as lost, not unlocked."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        with pytest.raises(UnrepresentableError, match="'sk': a locked secret key"):
            certkit.dump(store, "jks", password=STOREPASS)

    def test_other_java_format_refuses(self, jceks_bytes: bytes) -> None:
        """A locked secret read from one format is not written into another Java format."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        entry = secret_of(store)
        assert isinstance(entry.key, LockedSecret)
        moved = store.replace(attrs.evolve(entry, key=attrs.evolve(entry.key, format="bks")))
        with pytest.raises(PasswordError, match="written back only") as info:
            certkit.dump(moved, "jceks", password=STOREPASS)
        assert info.value.alias == "sk"

    def test_pem_drops_it_only_when_allowed(self, jceks_bytes: bytes) -> None:
        """PEM cannot hold secret keys; the locked one is reported, not decrypted."""
        store = certkit.load(jceks_bytes, password=STOREPASS)
        with pytest.raises(UnrepresentableError, match="'sk' \\(locked\\)"):
            certkit.dump(store, "pem")


class TestOperations:
    """inspect, keystore edits, doctor, scan and backup with a locked secret in the store."""

    def test_describe(self, jceks_bytes: bytes) -> None:
        """``describe`` marks the secret locked, with algorithm and size unknown."""
        rows = describe(certkit.load(jceks_bytes, password=STOREPASS))["entries"]
        assert rows[1] == {"alias": "sk", "created": CREATED.isoformat(), "type": "secret-key",
                           "algorithm": None, "bits": None, "locked": True,
                           "attributes": {}}
        assert rows[0]["locked"] is False

    def test_cli_inspect(self, jceks_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """``certkit inspect`` shows the secret as locked, and unlocked with its key password."""
        out = io.StringIO()
        monkeypatch.setenv("STOREPASS", STOREPASS)
        assert main(["inspect", "--password-env", "STOREPASS", str(jceks_path)], out=out) == 0
        assert "[secret-key] sk  algorithm unknown until unlocked (locked" in out.getvalue()
        monkeypatch.setenv("SKPASS", KEYPASS)
        out = io.StringIO()
        assert main(["inspect", "--json", "--password-env", "STOREPASS",
                     "--key-password-env", "sk=SKPASS", str(jceks_path)], out=out) == 0
        row = json.loads(out.getvalue())["files"][0]["entries"][1]
        assert (row["algorithm"], row["bits"], row["locked"]) == ("AES", 256, False)

    def test_edit_keystore_keeps_it(self, jceks_path: pathlib.Path) -> None:
        """An edit of another entry writes the locked secret back unchanged."""
        before = locked_blob(certkit.load(jceks_path, password=STOREPASS))
        certkit.edit_keystore(jceks_path, lambda s: s.rename("srv", "tomcat"), password=STOREPASS)
        after = certkit.load(jceks_path, password=STOREPASS)
        assert after.aliases == ("tomcat", "sk")
        assert locked_blob(after) == before

    def test_change_password_keeps_its_own(self, jceks_path: pathlib.Path) -> None:
        """A new store password leaves the secret under its own password, byte for byte."""
        before = locked_blob(certkit.load(jceks_path, password=STOREPASS))
        certkit.change_password(jceks_path, old=STOREPASS, new="newstorepass")
        after = certkit.load(jceks_path, password="newstorepass")
        assert locked_blob(after) == before
        assert secret_of(after).unlock(KEYPASS).secret == AES_KEY

    def test_change_key_password_needs_the_old_one(self, jceks_path: pathlib.Path) -> None:
        """Changing a locked secret's password without its current one names the alias."""
        with pytest.raises(PasswordError) as info:
            certkit.change_password(jceks_path, old=STOREPASS, new_key_passwords={"sk": "x"})
        assert (info.value.alias, info.value.missing) == ("sk", True)

    def test_doctor_reports_key_locked(self, jceks_path: pathlib.Path) -> None:
        """The doctor reports the locked secret as ``key-locked`` instead of failing to open it."""
        findings = certkit.diagnose(jceks_path, passwords=STOREPASS)
        assert [f.aliases for f in findings if f.code == "key-locked"] == [("sk",)]
        assert not [f for f in findings if f.code in ("wrong-password", "unreadable")]

    def test_scan_reads_the_store(self, jceks_path: pathlib.Path) -> None:
        """A scan reads the store and pairs its private key; the locked secret is no problem."""
        report = certkit.scan(jceks_path.parent, passwords=STOREPASS, trust_system=False)
        assert report.files_read == 1
        assert not report.unreadable
        assert [k.alias for k in report.keys] == ["srv"]

    def test_backup_names_the_secret(self, jceks_path: pathlib.Path,
                                     tmp_path: pathlib.Path) -> None:
        """A backup refuses secret keys by name (PKCS#12 backup policy), locked or not."""
        with pytest.raises(BackupError, match="sk") as info:
            certkit.backup([jceks_path], tmp_path / "backup", password=STOREPASS)
        assert tuple(info.value.problems) == ("sk",)


# --- BKS --------------------------------------------------------------------------------


def _bks_v2(entries: bytes, password: str, salt: bytes = b"s" * 20, iterations: int = 1024,
            ) -> bytes:
    """A BKS v2 file around ``entries`` with a valid HMAC-SHA1 under ``password``."""
    body = entries + b"\x00"  # the end-of-entries marker is part of the signed data
    key = pkcs12_kdf("sha1", password.encode("utf-16-be") + b"\x00\x00", salt, 3,
                     iterations, 20)
    return ((2).to_bytes(4, "big") + len(salt).to_bytes(4, "big") + salt
            + iterations.to_bytes(4, "big") + body + hmac.new(key, body, hashlib.sha1).digest())


def _bks_corpus() -> pathlib.Path:
    """pyjks's BKS whose sealed entries each have a password of their own."""
    return corpus_path("pyjks", "keystores", "bks", "custom_entry_passwords.bksv1")


class TestBKS:
    """A sealed BKS entry without a certificate chain, under its own password."""

    @pytest.fixture(scope="class")
    @staticmethod
    def bks() -> bytes:
        """pyjks's sealed AES key (key password 'secret_password'), re-stored without a chain."""
        source = certkit.load(_bks_corpus(), password="store_password")
        sealed = source["sealed_secret_key"]
        assert isinstance(sealed, KeyEntry)  # with its chain it lists like a locked key
        assert isinstance(sealed.key, certkit.LockedKey)
        alias = b"sealed_secret_key"
        entry = (b"\x04" + len(alias).to_bytes(2, "big") + alias + (0).to_bytes(8, "big")
                 + (0).to_bytes(4, "big") + len(sealed.key.data).to_bytes(4, "big")
                 + sealed.key.data)
        return _bks_v2(entry, "store_password")

    def test_lists_locked(self, bks: bytes) -> None:
        """It lists as a locked secret, and unlocks with its own password."""
        store = certkit.load(bks, password="store_password")
        entry = secret_of(store, "sealed_secret_key")
        assert entry.is_locked
        assert store.format == "bks"
        unlocked = entry.unlock("secret_password")
        opened_at_load = certkit.load(_bks_corpus(), password="store_password",
                                      key_passwords={"sealed_secret_key": "secret_password"})
        assert unlocked == attrs.evolve(secret_of(opened_at_load, "sealed_secret_key"),
                                        created=unlocked.created)
        assert unlocked.algorithm == "AES"

    def test_key_passwords_at_load(self, bks: bytes) -> None:
        """``key_passwords`` opens it at load; a wrong one names the alias."""
        store = certkit.load(bks, password="store_password",
                             key_passwords={"sealed_secret_key": "secret_password"})
        assert secret_of(store, "sealed_secret_key").algorithm == "AES"
        with pytest.raises(PasswordError) as info:
            certkit.load(bks, password="store_password",
                         key_passwords={"sealed_secret_key": "wrong"})
        assert info.value.alias == "sealed_secret_key"

    def test_no_target_takes_it_locked(self, bks: bytes) -> None:
        """BKS is never written, so a locked BKS secret goes nowhere without its password."""
        store = certkit.load(bks, password="store_password")
        for fmt in ("jceks", "pkcs12"):
            with pytest.raises(PasswordError) as info:
                certkit.dump(store, fmt, password=STOREPASS)
            assert info.value.alias == "sealed_secret_key"


# --- keytool and the JDK --------------------------------------------------------------------

SECRET_DUMP = """
import java.io.FileInputStream;
import java.security.*;
import java.util.HexFormat;

public class SecretDump {
    public static void main(String[] a) throws Exception {
        KeyStore ks = KeyStore.getInstance(a[0]);
        try (FileInputStream in = new FileInputStream(a[1])) { ks.load(in, a[2].toCharArray()); }
        Key k = ks.getKey(a[3], a[4].toCharArray());
        System.out.println(k.getAlgorithm() + " " + HexFormat.of().formatHex(k.getEncoded()));
    }
}
"""


@attrs.frozen
class JavaKeystores:
    """What keytool built, the compiled Java helper that opens a secret key, and what keytool
    and the JDK say of the keytool-built store (asked once: each answer is a JVM started)."""

    jceks: pathlib.Path
    helper: pathlib.Path
    entries: dict[str, str]
    secret: tuple[str, bytes]


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory) -> JavaKeystores:
    """Build the JCEKS with keytool and compile the helper, once per module."""
    folder = tmp_path_factory.mktemp("locked-secrets")
    jceks = folder / "keytool.jceks"
    common = ("-keystore", jceks, "-storetype", "JCEKS", "-storepass", STOREPASS)
    keytool("-genseckey", "-keyalg", "AES", "-keysize", "256", "-alias", "sk",
            "-keypass", KEYPASS, *common)
    keytool("-genkeypair", "-alias", "srv", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=locked secrets", "-keypass", STOREPASS, *common)
    helper = compile_java("SecretDump", SECRET_DUMP)
    return JavaKeystores(jceks, helper, keytool_entries(jceks, "JCEKS"),
                         _java_secret(helper, jceks, "JCEKS", "sk", KEYPASS))


def _java_secret(helper: pathlib.Path, path: pathlib.Path, storetype: str, alias: str,
                 key_password: str) -> tuple[str, bytes]:
    """The algorithm and key bytes the JDK decrypts from ``alias``."""
    out = java_program(helper, "SecretDump", storetype, path, STOREPASS, alias,
               key_password).stdout.decode().split()
    return out[0], bytes.fromhex(out[1])


def java_secret(java: JavaKeystores, path: pathlib.Path, storetype: str, alias: str,
                key_password: str) -> tuple[str, bytes]:
    """The algorithm and key bytes the JDK decrypts from ``alias``."""
    return _java_secret(java.helper, path, storetype, alias, key_password)


def keytool_entries(path: pathlib.Path, storetype: str) -> dict[str, str]:
    """Alias → entry type as ``keytool -list -v`` shows them (no key password given)."""
    out = keytool("-list", "-v", "-keystore", path, "-storetype", storetype,
                  "-storepass", STOREPASS).stdout.decode()
    return dict(re.findall(r"Alias name: (\S+)\n.*?Entry type: (\w+)", out, flags=re.S))


@pytest.mark.interop
@pytest.mark.slow
class TestKeytool:
    """A JCEKS from this machine's keytool, compared with what keytool and the JDK see."""

    def test_lists_and_unlocks_like_java(self, java: JavaKeystores) -> None:
        """Both entries list with the store password; the unlocked AES key is Java's."""
        store = certkit.load(java.jceks, password=STOREPASS)
        assert java.entries == {"sk": "SecretKeyEntry", "srv": "PrivateKeyEntry"}
        assert set(store.aliases) == {"sk", "srv"}
        assert secret_of(store).is_locked
        assert isinstance(store["srv"], KeyEntry)
        assert not store["srv"].is_locked
        opened = secret_of(certkit.load(java.jceks, password=STOREPASS,
                                        key_passwords={"sk": KEYPASS}))
        assert (opened.algorithm, opened.secret) == java.secret
        assert len(opened.secret) == 32

    def test_wrong_key_password(self, java: JavaKeystores) -> None:
        """A wrong key password for the keytool secret raises PasswordError with alias 'sk'."""
        with pytest.raises(PasswordError) as info:
            certkit.load(java.jceks, password=STOREPASS, key_passwords={"sk": "wrong"})
        assert info.value.alias == "sk"
        with pytest.raises(PasswordError) as later:
            secret_of(certkit.load(java.jceks, password=STOREPASS)).unlock(STOREPASS)
        assert later.value.alias == "sk"

    def test_written_back_opens_in_java(self, java: JavaKeystores,
                                        tmp_path: pathlib.Path) -> None:
        """certkit's rewrite lists the same in keytool and Java still opens the secret."""
        store = certkit.load(java.jceks, password=STOREPASS)
        out = certkit.save(store, tmp_path / "rewritten.jceks", password=STOREPASS)
        assert locked_blob(store) in java.jceks.read_bytes()
        assert locked_blob(store) in out.read_bytes()
        assert keytool_entries(out, "JCEKS") == java.entries
        assert java_secret(java, out, "JCEKS", "sk", KEYPASS) == java.secret

    def test_pkcs12(self, java: JavaKeystores, tmp_path: pathlib.Path) -> None:
        """PKCS#12 needs the key password; with it, keytool lists the secret and Java reads it."""
        target = tmp_path / "converted.p12"
        with pytest.raises(PasswordError) as info:
            certkit.convert(java.jceks, target, password=STOREPASS)
        assert info.value.alias == "sk"
        assert not target.exists()
        certkit.convert(java.jceks, target, password=STOREPASS, key_passwords={"sk": KEYPASS})
        assert keytool_entries(target, "PKCS12") == {"sk": "SecretKeyEntry",
                                                     "srv": "PrivateKeyEntry"}
        assert java_secret(java, target, "PKCS12", "sk", STOREPASS) == java.secret


def test_public_name() -> None:
    """``LockedSecret`` is exported from the package and listed in ``__all__``."""
    assert "LockedSecret" in certkit.__all__
    assert certkit.LockedSecret is LockedSecret
