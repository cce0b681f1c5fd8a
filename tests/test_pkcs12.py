"""Behaviour of the PKCS#12 codec: entries, attributes, profiles, passwords, errors, round trips."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from conftest import PKI, Issued, issue, make_key, openssl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certkit
from certkit import (
    Attributes,
    KeyEntry,
    KeyStore,
    RawAttribute,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._model import LockedKey
from certkit.errors import (
    DecodeError,
    KeyMismatchError,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
)
from certkit.formats import DumpOptions, LoadOptions
from certkit.formats.pkcs12 import PKCS12

FAST = {"iterations": 50}


def _round(store: KeyStore, password: str | None = "pw", **options: object) -> KeyStore:  # noqa: S107
    data = PKCS12.dump(store, DumpOptions(password=password, extra={**FAST, **options})).data
    return PKCS12.load(data, LoadOptions(password=password))


@pytest.fixture(scope="module")
def store(pki: PKI, other_pki: PKI) -> KeyStore:
    """A store with two keys, a trusted CA, a loose certificate and a secret key."""
    return KeyStore(entries=[
        KeyEntry("web", pki.leaf.key, pki.chain,
                 Attributes(friendly_name="web", local_key_id=b"\x01\x02",
                            csp_name="Microsoft Enhanced Cryptographic Provider v1.0",
                            other=(RawAttribute("1.3.6.1.4.1.311.17.3.71", (b"\x04\x02ab",)),))),
        TrustedCertEntry("root", pki.root.certificate,
                         Attributes(friendly_name="root", trusted_usage=("2.5.29.37.0",))),
        KeyEntry("other", other_pki.leaf.key, other_pki.chain,
                 Attributes(friendly_name="other", local_key_id=b"Time 1700000000000"),
                 created=dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)),
        TrustedCertEntry("loose", other_pki.root.certificate,
                         Attributes(friendly_name="loose"), trusted=False),
        SecretKeyEntry("aes", "AES", b"k" * 32,
                       Attributes(friendly_name="aes", local_key_id=b"Time 1700000000001"),
                       created=dt.datetime(2023, 11, 14, 22, 13, 20, 1000,
                                           tzinfo=dt.timezone.utc)),
    ])


class TestRoundTrip:
    """load(dump(store)) gives back the same entries, attributes and order."""

    @pytest.mark.parametrize("profile", ["modern", "legacy", "pbmac1"])
    def test_every_profile(self, store: KeyStore, profile: str) -> None:
        """Each profile round-trips the whole store, entry for entry and in order."""
        assert _round(store, profile=profile) == store

    def test_attributes_byte_for_byte(self, store: KeyStore) -> None:
        """Friendly name, key id, CSP name, trusted usage and unknown attributes survive exactly."""
        again = _round(store)
        for before, after in zip(store.entries, again.entries, strict=True):
            assert before.attributes == after.attributes

    def test_unencrypted_when_asked(self, store: KeyStore) -> None:
        """encrypt_keys/encrypt_certificates=False writes plain bags that still round-trip."""
        again = _round(store, encrypt_keys=False, encrypt_certificates=False)
        assert again == store
        assert any(p.weak == "stored without its own encryption" for p in again.protection)

    def test_no_password_without_encryption(self, store: KeyStore) -> None:
        """With encryption off, password=None writes a file that opens without a password."""
        assert _round(store, password=None, encrypt_keys=False,
                      encrypt_certificates=False) == store

    def test_created_becomes_keytool_key_id(self, pki: PKI) -> None:
        """A dated entry without key id gets keytool's "Time <ms>" id, so the date survives."""
        created = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        store = KeyStore(entries=[KeyEntry("a", pki.leaf.key, pki.chain, created=created)])
        (entry,) = _round(store).entries
        assert entry.created == created
        assert entry.attributes.local_key_id == b"Time 1704164645000"

    def test_untrusted_certificates_stay_untrusted(self, other_pki: PKI) -> None:
        """A loose certificate is written without Java's attribute and read back untrusted."""
        store = KeyStore(entries=[TrustedCertEntry("x", other_pki.root.certificate, trusted=False)])
        (entry,) = _round(store).entries
        assert isinstance(entry, TrustedCertEntry)
        assert not entry.trusted
        assert entry.attributes.trusted_usage is None

    def test_trusted_default_usage(self, pki: PKI) -> None:
        """A trusted entry without a recorded usage gets anyExtendedKeyUsage, as keytool writes."""
        store = KeyStore(entries=[TrustedCertEntry("ca", pki.root.certificate)])
        (entry,) = _round(store).entries
        assert entry.attributes.trusted_usage == ("2.5.29.37.0",)

    def test_protection_is_reported(self, store: KeyStore) -> None:
        """The modern profile is reported as PBES2/AES-256 with an HMAC-SHA256 MAC."""
        again = _round(store)
        algorithms = {p.algorithm for p in again.protection}
        assert "HMAC-SHA256 (PKCS#12 KDF)" in algorithms
        assert "PBES2 PBKDF2-HMAC-SHA256 AES-256-CBC" in algorithms

    def test_legacy_is_reported_weak(self, store: KeyStore) -> None:
        """The legacy profile's RC2-40 and SHA-1 MAC are flagged as weak."""
        weak = {p.weak for p in _round(store, profile="legacy").protection}
        assert {"RC2-40 is breakable", "SHA-1 MAC"} <= weak

    def test_api_dump(self, store: KeyStore) -> None:
        """certkit.dump(store, "pkcs12", password=…, profile=…) reaches this codec."""
        data = certkit.dump(store, "pkcs12", password="pw", profile="legacy", iterations=10)
        assert PKCS12.load(data, LoadOptions(password="pw")) == store


class TestPasswords:
    """Missing, wrong and unnecessary passwords are told apart."""

    @pytest.fixture(scope="class")
    @staticmethod
    def data(store: KeyStore) -> bytes:
        """The store written with password "pw"."""
        return PKCS12.dump(store, DumpOptions(password="pw", extra=FAST)).data

    def test_missing(self, data: bytes) -> None:
        """No password for a protected file: PasswordError with missing=True."""
        with pytest.raises(PasswordError) as info:
            PKCS12.load(data, LoadOptions(password=None))
        assert info.value.missing

    def test_wrong(self, data: bytes) -> None:
        """A wrong password: PasswordError saying so, missing=False."""
        with pytest.raises(PasswordError, match="wrong password") as info:
            PKCS12.load(data, LoadOptions(password="nope"))
        assert not info.value.missing

    def test_file_has_no_password(self, store: KeyStore) -> None:
        """A password given for a file protected by none says the file has no password."""
        data = PKCS12.dump(store, DumpOptions(password=None, extra={
            **FAST, "encrypt_keys": False, "encrypt_certificates": False})).data
        with pytest.raises(PasswordError, match="has no password"):
            PKCS12.load(data, LoadOptions(password="secret"))

    def test_tampered_mac_with_right_password(self, data: bytes) -> None:
        """A MAC mismatch when the password decrypts the contents is reported as damage."""
        damaged = bytearray(data)
        damaged[-5] ^= 0xFF  # inside the MAC value
        with pytest.raises(DecodeError, match="modified or damaged"):
            PKCS12.load(bytes(damaged), LoadOptions(password="pw"))

    def test_writing_keys_without_password(self, store: KeyStore) -> None:
        """Writing keys without a password and without disabling encryption is refused."""
        with pytest.raises(PasswordError, match="needs a password") as info:
            PKCS12.dump(store, DumpOptions(password=None))
        assert info.value.missing

    def test_locked_key_named(self, pki: PKI) -> None:
        """A still-locked JKS key cannot be written, and the error names its alias."""
        def unlock(_: object) -> certkit.PrivateKey:
            raise PasswordError("no")

        locked = LockedKey("jks", b"x", unlock)
        store = KeyStore(entries=[KeyEntry("locked one", locked, pki.chain)])
        with pytest.raises(PasswordError) as info:
            PKCS12.dump(store, DumpOptions(password="pw"))
        assert info.value.alias == "locked one"

    def test_unicode_password(self, store: KeyStore) -> None:
        """A non-ASCII password works in both the BMPString MAC and UTF-8 PBES2."""
        assert _round(store, password="σύνθημα γνώρισμα") == store


class TestOptionsAndErrors:
    """Bad options and malformed input give clear CertkitErrors."""

    def test_unknown_profile(self, store: KeyStore) -> None:
        """An unknown profile name is rejected with the valid choices."""
        with pytest.raises(UnsupportedFormatError, match="modern, legacy or pbmac1"):
            PKCS12.dump(store, DumpOptions(password="pw", extra={"profile": "fast"}))

    def test_unknown_option(self, store: KeyStore) -> None:
        """An option PKCS#12 does not have is rejected."""
        with pytest.raises(UnsupportedFormatError):
            PKCS12.dump(store, DumpOptions(password="pw", extra={"colour": "red"}))

    def test_absurd_iterations_option(self, store: KeyStore) -> None:
        """Iteration counts beyond 10,000,000 are refused when writing too."""
        with pytest.raises(UnsupportedFormatError):
            PKCS12.dump(store, DumpOptions(password="pw", extra={"iterations": 10**8}))

    def test_unknown_secret_algorithm(self) -> None:
        """A secret key whose algorithm has no OID cannot be written silently."""
        store = KeyStore(entries=[SecretKeyEntry("s", "Foo", b"1234")])
        with pytest.raises(UnrepresentableError):
            PKCS12.dump(store, DumpOptions(password="pw"))

    def test_garbage(self) -> None:
        """Random bytes are a DecodeError."""
        with pytest.raises(DecodeError):
            PKCS12.load(b"\x30\x03\x02\x01\x03", LoadOptions(password="pw"))

    def test_absurd_mac_iterations_refused_fast(self, store: KeyStore) -> None:
        """A MAC claiming 2**31 iterations is refused before any work."""
        data = PKCS12.dump(store, DumpOptions(password="pw", extra=FAST)).data
        marker = b"\x02\x01\x32"  # the MAC's INTEGER 50 at the end
        index = data.rindex(marker)
        patched = data[:index] + b"\x02\x04\x7f\xff\xff\xff" + data[index + 3:]
        patched = patched[:2] + (int.from_bytes(patched[2:4], "big") + 3).to_bytes(2, "big") + \
            patched[4:]
        mac_start = patched.rindex(b"\x30", 0, index - 40)
        assert mac_start > 0
        with pytest.raises(DecodeError):
            PKCS12.load(patched, LoadOptions(password="pw"))


# ---------------------------------------------------------------------------------------
# Property test: random stores round-trip under every profile.


@pytest.fixture(scope="session")
def pool() -> dict[str, list[Issued]]:
    """A small pool of keys and chains per key type, generated once (RSA keygen is slow)."""
    result: dict[str, list[Issued]] = {}
    root = issue("pool root", ca=True)
    inter = issue("pool intermediate", issuer=root, ca=True)
    for kind in ("RSA-2048", "EC-P256", "EC-P384", "Ed25519"):
        result[kind] = [root, inter, issue(f"{kind} leaf", issuer=inter, key=make_key(kind))]
    return result


_alias = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF,
                                        exclude_categories=("Cs", "Zs")),
                 min_size=1, max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_stores_round_trip(pool: dict[str, list[Issued]], data: st.DataObject) -> None:
    """Stores with random aliases, key types, chain lengths and profiles survive dump + load."""
    count = data.draw(st.integers(1, 3))
    aliases = data.draw(st.lists(_alias, min_size=count, max_size=count, unique=True))
    kinds = data.draw(st.permutations(sorted(pool)))
    # One chain length per store: certkit completes chains from every certificate in the
    # file, so a shorter chain beside a longer one from the same CA would (rightly) grow.
    length = data.draw(st.integers(1, 3))
    entries: list[certkit.Entry] = []
    for index, alias in enumerate(aliases):
        kind = kinds[index]
        root, inter, leaf = pool[kind]
        chain = [leaf.certificate, inter.certificate, root.certificate][:length]
        if data.draw(st.booleans()) or index == 0 or length < 3:
            entries.append(KeyEntry(alias, leaf.key, chain,
                                    Attributes(friendly_name=alias,
                                               local_key_id=bytes([index + 1]) * 4)))
        else:
            entries.append(TrustedCertEntry(alias, root.certificate,
                                            Attributes(friendly_name=alias,
                                                       trusted_usage=("2.5.29.37.0",))))
    store = KeyStore(entries=entries)
    profile = data.draw(st.sampled_from(["modern", "legacy", "pbmac1"]))
    assert _round(store, profile=profile, iterations=5) == store


class TestDates:
    """Entry dates survive in keytool's ``Time <ms>`` key id, to the millisecond."""

    def test_same_millisecond_and_pre_epoch(self) -> None:
        """Two entries made in one millisecond keep their date, and so does a date before 1970."""
        same = dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.timezone.utc)
        old = dt.datetime(1965, 1, 1, 0, 0, 0, 1000, tzinfo=dt.timezone.utc)
        store = KeyStore([SecretKeyEntry("a", "AES", b"k" * 16, created=same),
                          SecretKeyEntry("b", "AES", b"j" * 16, created=same),
                          SecretKeyEntry("c", "AES", b"i" * 16, created=old)])
        again = _round(store)
        assert [e.created for e in again] == [same, same, old]


class TestInconsistentFile:
    """A PKCS#12 whose key bag and certificate bag do not belong together loads flagged."""

    def test_openssl_file_with_swapped_certificate(self, tmp_path: pathlib.Path) -> None:
        """openssl writes key a + cert a in the clear; cert a's bytes swapped for cert b's."""
        while True:  # two self-signed certificates whose DER happens to be the same length
            a, b = issue("swap-a.example.test"), issue("swap-b.example.test")
            if len(a.certificate.der) == len(b.certificate.der):
                break
        (tmp_path / "a.key").write_bytes(a.key.to_pem())
        (tmp_path / "a.crt").write_bytes(a.certificate.to_pem())
        data = openssl("pkcs12", "-export", "-inkey", tmp_path / "a.key", "-in",
                       tmp_path / "a.crt", "-name", "odd", "-certpbe", "NONE", "-keypbe",
                       "NONE", "-nomac", "-passout", "pass:").stdout
        assert data.count(a.certificate.der) == 1
        swapped = data.replace(a.certificate.der, b.certificate.der)
        store = certkit.load(swapped, format="pkcs12")
        [entry] = store.key_entries
        assert isinstance(entry.problem, KeyMismatchError)
        assert entry.key == a.key
        assert any("'odd'" in note and "flagged" in note for note in store.notes)
        with pytest.raises(KeyMismatchError, match="nothing written"):
            certkit.dump(store, "pkcs12", password="pw")
