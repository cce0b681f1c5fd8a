"""UBER keystores beyond the corpus: stores sealed here around the BKS entries of christmas.bksv1.

An UBER store is BKS v1's header followed by Twofish-256-CBC(entries || SHA-1(entries)) under
PKCS#12-KDF (SHA-1) key and IV; the helper below writes one so that passwords, salts and
the first ciphertext byte can be chosen. Where the ``twofish`` module imports, pyjks reads
the helper's output too, which checks the helper independently of certkit's reader.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import sys
import warnings

import pytest
from conftest import corpus_path, import_twofish

import certkit
from certkit._crypto import pbe as _pbe
from certkit._crypto import twofish as _twofish
from certkit.errors import DecodeError, PasswordError

PASSWORD = "12345678"  # christmas.bksv1's store password, which also seals its keys
ITERATIONS = 1024
CHRISTMAS_ALIASES = {"cert", "sealed_private_key", "sealed_public_key", "sealed_secret_key",
                     "plain_key", "stored_value"}


def christmas_entries() -> bytes:
    """The BKS entry list of christmas.bksv1: everything between its header and its HMAC."""
    data = corpus_path("pyjks", "keystores", "bks", "christmas.bksv1").read_bytes()
    salt_length = int.from_bytes(data[4:8], "big")
    return data[12 + salt_length : -20]


def uber_key_iv(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """Bouncy Castle's UBER key and IV: the empty password is no bytes, others UTF-16BE + 00 00."""
    secret = password.encode("utf-16-be") + b"\x00\x00" if password else b""
    return (_pbe.pkcs12_kdf("sha1", secret, salt, 1, iterations, 32),
            _pbe.pkcs12_kdf("sha1", secret, salt, 2, iterations, 16))


def seal_uber(entries: bytes, password: str, salt: bytes, iterations: int = ITERATIONS,
              version: int = 1) -> bytes:
    """Write an UBER keystore holding ``entries`` (a BKS entry list).

    Bouncy Castle writes version 1 before 1.47 and version 2 since; the body is the same.
    """
    key, iv = uber_key_iv(password, salt, iterations)
    plain = entries + hashlib.sha1(entries).digest()  # noqa: S324 - UBER's own digest
    pad = 16 - len(plain) % 16
    body = _twofish.cbc_encrypt(key, iv, plain + bytes((pad,)) * pad)
    return (version.to_bytes(4, "big") + len(salt).to_bytes(4, "big") + salt
            + iterations.to_bytes(4, "big") + body)


def salt_with_zero_first_byte(entries: bytes, password: str) -> bytes:
    """A salt under which the encrypted body starts with 0, BKS's end-of-entries tag."""
    first = entries[:16]
    for counter in itertools.count():
        salt = counter.to_bytes(20, "big")
        key, iv = uber_key_iv(password, salt, ITERATIONS)
        if _twofish.cbc_encrypt(key, iv, first)[0] == 0:
            return salt
    raise AssertionError("unreachable")


def test_sealed_here_reads_back() -> None:
    """A store sealed by the helper loads as UBER with christmas's entries."""
    store = certkit.load(seal_uber(christmas_entries(), PASSWORD, b"s" * 20), password=PASSWORD)
    assert store.format == "uber"
    assert set(store.aliases) | {"sealed_public_key"} == CHRISTMAS_ALIASES


def test_version_2_reads_as_uber() -> None:
    """A version-2 UBER store (Bouncy Castle 1.47 on) loads as UBER, not as broken BKS."""
    store = certkit.load(seal_uber(christmas_entries(), PASSWORD, b"s" * 20, version=2),
                         password=PASSWORD)
    assert store.format == "uber"
    assert set(store.aliases) | {"sealed_public_key"} == CHRISTMAS_ALIASES


def test_version_2_wrong_password_names_uber() -> None:
    """A wrong password on a version-2 UBER store is a password error that says UBER."""
    data = seal_uber(christmas_entries(), PASSWORD, b"s" * 20, version=2)
    with pytest.raises(PasswordError, match="UBER") as caught:
        certkit.load(data, password="wrong")
    assert "UTF-8" not in str(caught.value)


def test_pyjks_reads_the_helper_output() -> None:
    """pyjks (with the C twofish module) reads the helper's stores: the helper is BC's format."""
    import_twofish()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jks = importlib.import_module("jks")
    for password in (PASSWORD, "", "p\u00e4ss \u76ca"):
        data = seal_uber(christmas_entries(), password, b"salt" * 5)
        store = jks.bks.UberKeyStore.loads(data, password, try_decrypt_keys=False)
        assert set(store.entries) == CHRISTMAS_ALIASES


@pytest.mark.parametrize("password", ["", "p\u00e4ss \u76ca", "\U0001f511 key"])
def test_password_forms(password: str) -> None:
    """Empty, non-ASCII and astral passwords key the store as Bouncy Castle does."""
    data = seal_uber(christmas_entries(), password, b"pepper" * 3)
    store = certkit.load(data, password=password)
    assert store.format == "uber"
    assert "cert" in store.aliases
    with pytest.raises(PasswordError):
        certkit.load(data, password=password + "x")


def test_body_starting_with_zero_byte() -> None:
    """An UBER body whose first byte is 0 (an empty BKS list to pyjks) still loads as UBER."""
    entries = christmas_entries()
    salt = salt_with_zero_first_byte(entries, PASSWORD)
    data = seal_uber(entries, PASSWORD, salt)
    assert data[12 + len(salt)] == 0
    store = certkit.load(data, password=PASSWORD)
    assert store.format == "uber"
    assert "sealed_private_key" in store.aliases
    with pytest.raises(PasswordError, match="wrong store password"):
        certkit.load(data, password="wrong")


def test_no_twofish_module_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """UBER reading works when ``import twofish`` fails, as it does on Python 3.12+."""
    monkeypatch.setitem(sys.modules, "twofish", None)  # makes the import raise ImportError
    data = corpus_path("pyjks", "keystores", "uber", "christmas.uber").read_bytes()
    store = certkit.load(data, password=PASSWORD)
    assert store.format == "uber"
    assert "sealed_private_key" in store.aliases


@pytest.mark.parametrize(("cut", "error"), [(1, DecodeError), (16, PasswordError)])
def test_damaged_body(cut: int, error: type[Exception]) -> None:
    """A body cut mid-block is a DecodeError; one missing whole blocks fails as a password."""
    data = seal_uber(christmas_entries(), PASSWORD, b"s" * 20)
    with pytest.raises(error):
        certkit.load(data[:-cut], password=PASSWORD)


def test_huge_body_refused_before_decrypting() -> None:
    """A body far larger than any real UBER store is refused without decrypting it."""
    data = seal_uber(b"\x00", PASSWORD, b"s" * 20) + bytes(17 * 1024 * 1024)
    with pytest.raises(DecodeError, match="implausible"):
        certkit.load(data, password=PASSWORD)
