"""pyjks's test keystores open with their documented passwords and yield the documented contents."""

from __future__ import annotations

import pathlib

import pytest
from conftest import corpus_path

import certkit
from certkit import Certificate, KeyEntry, PrivateKey, SecretKeyEntry, TrustedCertEntry
from certkit.errors import AliasError, DecodeError, PasswordError, UnsupportedFormatError

NON_ASCII = "\u10da\u0028\u0ca0\u76ca\u0ca0\u10da\u0029"  # test_jks.py L146


def keystore(*parts: str) -> pathlib.Path:
    """Return a file of the pyjks corpus (skipping visibly when the corpus is absent)."""
    return corpus_path("pyjks", "keystores", *parts)


def expected(name: str) -> pathlib.Path:
    """Return the folder of expected DER values for one keystore family."""
    return corpus_path("pyjks", "expected", name)


def expected_key(name: str) -> PrivateKey:
    """The documented private key of a keystore family."""
    return PrivateKey.load((expected(name) / "private_key.pkcs8.der").read_bytes())


def expected_chain(name: str) -> list[Certificate]:
    """The documented certificates of a keystore family, in chain order."""
    folder = expected(name)
    return [Certificate((folder / f"cert_{i}.der").read_bytes())
            for i in range(len(list(folder.glob("cert_*.der"))))]


def kinds(store: certkit.KeyStore) -> dict[str, str]:
    """Map alias to entry type name."""
    return {entry.alias: type(entry).__name__ for entry in store}


class TestJKS:
    """The JKS files of the corpus."""

    def test_empty(self) -> None:
        """empty.jks opens with the empty password and has no entries."""
        store = certkit.load(keystore("jks", "empty.jks"), password="")
        assert store.format == "jks"
        assert len(store) == 0

    def test_truststore_without_password(self) -> None:
        """truststore.jks lists without a password, and the store notes the skipped check."""
        store = certkit.load(keystore("jks", "truststore.jks"))
        assert kinds(store) == {"cordaintermediateca": "TrustedCertEntry",
                                "cordarootca": "TrustedCertEntry"}
        assert any("integrity not verified" in note for note in store.notes)
        fingerprints = {e.alias: e.certificate.fingerprint() for e in store.trusted_entries}
        assert fingerprints["cordaintermediateca"].startswith("1fc0b4822cb6cf9f")
        assert fingerprints["cordarootca"].startswith("aed069b49297d151")

    @pytest.mark.parametrize(("filename", "family", "chain_length"), [
        ("RSA1024.jks", "RSA1024", 1),
        ("RSA2048_3certs.jks", "RSA2048_3certs", 3),
        ("DSA2048.jks", "DSA2048", 1),
    ])
    def test_key_entries(self, filename: str, family: str, chain_length: int) -> None:
        """Single-key files decrypt with 12345678 to the documented key and chain."""
        store = certkit.load(keystore("jks", filename), password="12345678")
        entry = store["mykey"]
        assert isinstance(entry, KeyEntry)
        assert entry.private_key == expected_key(family)
        assert len(entry.chain) == chain_length
        assert list(entry.chain) == expected_chain(family)
        assert entry.created is not None

    def test_3certs(self) -> None:
        """3certs.jks holds RSA2048_3certs's three certificates as cert1..cert3."""
        store = certkit.load(keystore("jks", "3certs.jks"), password="12345678")
        chain = expected_chain("RSA2048_3certs")
        for index, alias in enumerate(("cert1", "cert2", "cert3")):
            entry = store[alias]
            assert isinstance(entry, TrustedCertEntry)
            assert entry.certificate == chain[index]

    def test_custom_entry_passwords_locked(self) -> None:
        """Without its key password the 'private' entry loads locked, fingerprint from its leaf."""
        store = certkit.load(keystore("jks", "custom_entry_passwords.jks"),
                             password="store_password")
        entry = store["private"]
        assert isinstance(entry, KeyEntry)
        assert entry.is_locked
        assert isinstance(store["cert"], TrustedCertEntry)
        key = expected_key("custom_entry_passwords")
        assert entry.key.public_key_fingerprint == key.public_key_fingerprint
        with pytest.raises(PasswordError, match="private"):
            entry.private_key  # noqa: B018 - the property raises
        assert entry.unlock("private_password").private_key == key

    def test_custom_entry_passwords_given(self) -> None:
        """With key_passwords the key decrypts at load time to the documented value."""
        store = certkit.load(keystore("jks", "custom_entry_passwords.jks"),
                             password="store_password",
                             key_passwords={"private": "private_password"})
        entry = store["private"]
        assert isinstance(entry, KeyEntry)
        assert entry.private_key == expected_key("custom_entry_passwords")
        assert list(entry.chain) == expected_chain("custom_entry_passwords")

    def test_custom_entry_password_wrong(self) -> None:
        """A wrong key password given explicitly is a PasswordError naming the alias."""
        with pytest.raises(PasswordError, match="private") as info:
            certkit.load(keystore("jks", "custom_entry_passwords.jks"),
                         password="store_password", key_passwords={"private": "nope"})
        assert info.value.alias == "private"

    def test_duplicate_aliases(self) -> None:
        """duplicate_aliases.jks raises the documented duplicate-alias error (an AliasError)."""
        with pytest.raises(AliasError, match="my_alias"):
            certkit.load(keystore("jks", "duplicate_aliases.jks"), password="12345678")

    def test_non_ascii_password(self) -> None:
        """non_ascii_password.jks opens with the Unicode password, as str or UTF-8 bytes."""
        for password in (NON_ASCII, NON_ASCII.encode("utf-8")):
            store = certkit.load(keystore("jks", "non_ascii_password.jks"), password=password)
            entry = store["mykey"]
            assert isinstance(entry, KeyEntry)
            assert entry.private_key == expected_key("jks_non_ascii_password")
            assert list(entry.chain) == expected_chain("jks_non_ascii_password")

    def test_wrong_store_password(self) -> None:
        """A wrong store password is a PasswordError, not a decode error."""
        with pytest.raises(PasswordError, match="wrong store password"):
            certkit.load(keystore("jks", "RSA1024.jks"), password="87654321")

    def test_trailing_garbage_tolerated(self) -> None:
        """Bytes after the integrity digest are ignored, as Java and pyjks do (test_jks.py L88)."""
        data = keystore("jks", "RSA1024.jks").read_bytes() + b"\x00trailing"
        store = certkit.load(data, password="12345678")
        assert store.aliases == ("mykey",)


class TestJCEKS:
    """The JCEKS files of the corpus."""

    def test_empty(self) -> None:
        """empty.jceks opens with the empty password and has no entries."""
        store = certkit.load(keystore("jceks", "empty.jceks"), password="")
        assert store.format == "jceks"
        assert len(store) == 0

    @pytest.mark.parametrize(("filename", "family", "chain_length"), [
        ("RSA1024.jceks", "RSA1024", 1),
        ("RSA2048_3certs.jceks", "RSA2048_3certs", 3),
        ("DSA2048.jceks", "DSA2048", 1),
    ])
    def test_key_entries(self, filename: str, family: str, chain_length: int) -> None:
        """PBEWithMD5AndTripleDES-protected keys decrypt to the documented key and chain."""
        store = certkit.load(keystore("jceks", filename), password="12345678")
        entry = store["mykey"]
        assert isinstance(entry, KeyEntry)
        assert entry.private_key == expected_key(family)
        assert list(entry.chain) == expected_chain(family)
        assert len(entry.chain) == chain_length
        assert any(p.algorithm == "PBEWithMD5AndTripleDES" and p.iterations == 20
                   for p in store.protection)

    def test_3certs(self) -> None:
        """3certs.jceks holds the three documented trusted certificates."""
        store = certkit.load(keystore("jceks", "3certs.jceks"), password="12345678")
        chain = expected_chain("RSA2048_3certs")
        assert [store[a].certificate for a in ("cert1", "cert2", "cert3")] == chain  # type: ignore[union-attr]

    @pytest.mark.parametrize(("filename", "algorithm", "bits", "value"), [
        ("DES.jceks", "DES", 64, "4cf2fe915d082a43"),
        ("DESede.jceks", "DESede", 192, None),
        ("AES128.jceks", "AES", 128, "666e0221cc44c1fc4aabf458f9dfdd3c"),
        ("AES256.jceks", "AES", 256, None),
        ("PBKDF2WithHmacSHA1.jceks", "PBKDF2WithHmacSHA1", 256, None),
    ])
    def test_secret_keys(self, filename: str, algorithm: str, bits: int,
                         value: str | None) -> None:
        """Sealed secret keys unseal to the documented algorithm, size and value."""
        store = certkit.load(keystore("jceks", filename), password="12345678")
        entry = store["mykey"]
        assert isinstance(entry, SecretKeyEntry)
        assert entry.algorithm == algorithm
        assert len(entry.key) * 8 == bits
        if value is not None:
            assert entry.key.hex() == value

    def test_custom_entry_passwords(self) -> None:
        """Private and secret entries open with their own passwords (test_jks.py L354-372)."""
        store = certkit.load(keystore("jceks", "custom_entry_passwords.jceks"),
                             password="store_password",
                             key_passwords={"private": "private_password",
                                            "secret": "secret_password"})
        assert kinds(store) == {"private": "KeyEntry", "secret": "SecretKeyEntry",
                                "cert": "TrustedCertEntry"}
        private = store["private"]
        assert isinstance(private, KeyEntry)
        assert private.private_key == expected_key("custom_entry_passwords")
        secret = store["secret"]
        assert isinstance(secret, SecretKeyEntry)
        assert secret.algorithm == "AES"
        assert secret.key.hex() == "3f680504c66cc25aae65d0fa49c526ec"

    def test_custom_secret_password_missing(self) -> None:
        """A secret key with its own password, not given, lists locked and unlocks later."""
        store = certkit.load(keystore("jceks", "custom_entry_passwords.jceks"),
                             password="store_password",
                             key_passwords={"private": "private_password"})
        secret = store["secret"]
        assert isinstance(secret, SecretKeyEntry)
        assert secret.is_locked
        with pytest.raises(PasswordError, match="secret") as info:
            secret.secret  # noqa: B018 - the property raises
        assert info.value.alias == "secret"
        assert info.value.missing
        assert secret.unlock("secret_password").secret.hex() == "3f680504c66cc25aae65d0fa49c526ec"

    def test_duplicate_aliases(self) -> None:
        """duplicate_aliases.jceks raises the documented duplicate-alias error."""
        with pytest.raises(AliasError, match="my_alias"):
            certkit.load(keystore("jceks", "duplicate_aliases.jceks"), password="12345678")

    def test_not_a_sealed_object(self) -> None:
        """A secret slot holding some other Java object is a DecodeError naming its class."""
        with pytest.raises(DecodeError, match="DummyObject"):
            certkit.load(keystore("jceks", "unknown_type_of_sealed_object.jceks"),
                         password="12345678")

    def test_unknown_type_inside_sealed_object(self) -> None:
        """A SealedObject wrapping an unknown class is an UnsupportedFormatError naming it."""
        with pytest.raises(UnsupportedFormatError, match="DummyObject"):
            certkit.load(keystore("jceks", "unknown_type_inside_sealed_object.jceks"),
                         password="12345678")

    def test_unknown_seal_algorithm(self) -> None:
        """A SealedObject with sealAlg 'nonsense' is an UnsupportedFormatError naming it."""
        with pytest.raises(UnsupportedFormatError, match="nonsense"):
            certkit.load(keystore("jceks", "unknown_sealed_object_sealAlg.jceks"),
                         password="12345678")

    def test_trailing_garbage_tolerated(self) -> None:
        """Bytes after the JCEKS digest are ignored (test_jks.py L317)."""
        data = keystore("jceks", "AES128.jceks").read_bytes() + b"garbage"
        assert certkit.load(data, password="12345678").aliases == ("mykey",)


CHRISTMAS = {"cert": "TrustedCertEntry", "sealed_private_key": "KeyEntry",
             "sealed_secret_key": "SecretKeyEntry", "plain_key": "SecretKeyEntry",
             "stored_value": "SecretKeyEntry"}


class TestBKS:
    """The BKS v1/v2 and UBER files of the corpus."""

    @pytest.mark.parametrize(("parts", "fmt"), [
        (("bks", "empty.bksv1"), "bks"),
        (("bks", "empty.bksv2"), "bks"),
        (("uber", "empty.uber"), "uber"),
    ])
    def test_empty(self, parts: tuple[str, str], fmt: str) -> None:
        """Empty stores open with the empty password and report their format."""
        store = certkit.load(keystore(*parts), password="")
        assert store.format == fmt
        assert len(store) == 0

    @pytest.mark.parametrize(("parts", "fmt"), [
        (("bks", "christmas.bksv1"), "bks"),
        (("bks", "christmas.bksv2"), "bks"),
        (("uber", "christmas.uber"), "uber"),
    ])
    def test_christmas(self, parts: tuple[str, str], fmt: str) -> None:
        """christmas.* yields the documented entries; the sealed public key is noted, not kept."""
        store = certkit.load(keystore(*parts), password="12345678")
        assert store.format == fmt
        assert kinds(store) == CHRISTMAS
        assert any("sealed_public_key" in note for note in store.notes)
        private = store["sealed_private_key"]
        assert isinstance(private, KeyEntry)
        assert private.private_key == expected_key("bks_christmas")
        assert private.chain.leaf == expected_chain("bks_christmas")[0]
        secret = store["sealed_secret_key"]
        assert isinstance(secret, SecretKeyEntry)
        assert secret.algorithm == "AES"
        assert secret.key.hex() == "3f680504c66cc25aae65d0fa49c526ec"
        plain = store["plain_key"]
        assert isinstance(plain, SecretKeyEntry)
        assert plain.algorithm == "DES"
        assert plain.key.hex() == "4cf2fe915d082a43"
        stored = store["stored_value"]
        assert isinstance(stored, SecretKeyEntry)
        assert stored.key.hex() == "020305070b0d111317"
        assert isinstance(store["cert"], TrustedCertEntry)

    @pytest.mark.parametrize("parts", [
        ("bks", "custom_entry_passwords.bksv1"),
        ("bks", "custom_entry_passwords.bksv2"),
        ("uber", "custom_entry_passwords.uber"),
    ])
    def test_custom_entry_passwords(self, parts: tuple[str, str]) -> None:
        """Each sealed entry opens with its own password (test_jks.py L615-633)."""
        store = certkit.load(keystore(*parts), password="store_password",
                             key_passwords={"sealed_public_key": "public_password",
                                            "sealed_private_key": "private_password",
                                            "sealed_secret_key": "secret_password"})
        private = store["sealed_private_key"]
        assert isinstance(private, KeyEntry)
        assert private.private_key == expected_key("bks_custom_entry_passwords")
        secret = store["sealed_secret_key"]
        assert isinstance(secret, SecretKeyEntry)
        assert secret.algorithm == "AES"
        assert "sealed_public_key" not in store

    @pytest.mark.parametrize("parts", [
        ("bks", "custom_entry_passwords.bksv1"),
        ("uber", "custom_entry_passwords.uber"),
    ])
    def test_custom_entry_passwords_locked(self, parts: tuple[str, str]) -> None:
        """Without key passwords the sealed private key lists locked and unlocks later."""
        store = certkit.load(keystore(*parts), password="store_password")
        private = store["sealed_private_key"]
        assert isinstance(private, KeyEntry)
        assert private.is_locked
        with pytest.raises(PasswordError):
            private.unlock("store_password")
        unlocked = private.unlock("private_password")
        assert unlocked.private_key == expected_key("bks_custom_entry_passwords")

    def test_wrong_password(self) -> None:
        """A wrong BKS store password is a PasswordError."""
        with pytest.raises(PasswordError):
            certkit.load(keystore("bks", "christmas.bksv2"), password="wrong")

    def test_uber_wrong_password(self) -> None:
        """A wrong UBER store password is a PasswordError."""
        with pytest.raises(PasswordError):
            certkit.load(keystore("uber", "christmas.uber"), password="wrong")

    def test_bks_trailing_garbage_tolerated(self) -> None:
        """Bytes after the BKS HMAC are ignored (test_jks.py L637, L646)."""
        data = keystore("bks", "christmas.bksv1").read_bytes() + b"garbage"
        assert set(certkit.load(data, password="12345678").aliases) == set(CHRISTMAS)

    def test_uber_trailing_garbage_fatal(self) -> None:
        """Trailing bytes break an UBER store, whose whole body is encrypted (L655-662)."""
        data = keystore("uber", "christmas.uber").read_bytes() + b"garbage"
        with pytest.raises((PasswordError, DecodeError)):
            certkit.load(data, password="12345678")

    def test_writing_is_refused(self) -> None:
        """Dumping as BKS or UBER raises UnsupportedFormatError suggesting PKCS#12 or JCEKS."""
        store = certkit.load(keystore("bks", "christmas.bksv2"), password="12345678")
        for name in ("bks", "uber"):
            with pytest.raises(UnsupportedFormatError, match="PKCS#12"):
                certkit.dump(store, name, password="x")
