"""The JKS/JCEKS codec: round trips, dates, aliases, key passwords, locked keys and errors."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import pytest
from conftest import PKI, issue, make_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import certkit
from certkit import (
    Attributes,
    Certificate,
    Chain,
    KeyEntry,
    KeyStore,
    PrivateKey,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._crypto import der as _der
from certkit.errors import (
    AliasError,
    CertkitError,
    DecodeError,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
)
from certkit.formats import DumpOptions
from certkit.formats.jks import JCEKS, JKS

CREATED = dt.datetime(2024, 5, 17, 8, 30, 15, 123000, tzinfo=dt.timezone.utc)
FAST = 1000  # JCEKS iterations for tests that do not measure keytool's default


def server_store(pki: PKI, *, alias: str = "tomcat") -> KeyStore:
    """A Tomcat-style store: one key entry with a 3-certificate chain, one trusted root."""
    return KeyStore([
        KeyEntry(alias, pki.leaf.key, Chain(pki.chain), created=CREATED),
        TrustedCertEntry("root", pki.root.certificate, created=CREATED),
    ])


def digest_ok(data: bytes, password: str) -> bool:
    """Check a JKS/JCEKS integrity digest independently of certkit (SHA-1, 'Mighty Aphrodite')."""
    body, found = data[:-20], data[-20:]
    keyed = password.encode("utf-16-be") + b"Mighty Aphrodite" + body
    return hashlib.sha1(keyed).digest() == found  # noqa: S324 - the format's own digest


class TestRoundTrip:
    """What certkit writes, certkit reads back unchanged."""

    @pytest.mark.parametrize("fmt", ["jks", "jceks"])
    def test_key_and_trusted_entries(self, pki: PKI, fmt: str) -> None:
        """Aliases, entry types, chains (leaf first), keys and dates survive dump and load."""
        store = server_store(pki)
        extra = {"iterations": FAST} if fmt == "jceks" else {}
        data = certkit.dump(store, fmt, password="changeit", **extra)
        assert digest_ok(data, "changeit")
        loaded = certkit.load(data, password="changeit")
        assert loaded == store
        assert loaded.format == fmt
        entry = loaded["tomcat"]
        assert isinstance(entry, KeyEntry)
        assert entry.created == CREATED
        assert list(entry.chain) == list(pki.chain)
        assert entry.private_key.pkcs8 == pki.leaf.key.pkcs8

    def test_magic_numbers(self, pki: PKI) -> None:
        """JKS output starts with FEEDFEED, JCEKS with CECECECE, both version 2."""
        store = server_store(pki)
        assert certkit.dump(store, "jks", password="pw")[:8] == bytes.fromhex("feedfeed00000002")
        jceks = certkit.dump(store, "jceks", password="pw", iterations=FAST)
        assert jceks[:8] == bytes.fromhex("cececece00000002")

    def test_secret_key_in_jceks(self) -> None:
        """A secret key round-trips through JCEKS with its algorithm and bytes."""
        store = KeyStore([SecretKeyEntry("aes", "AES", bytes(range(16)), created=CREATED)])
        loaded = certkit.load(certkit.dump(store, "jceks", password="pw", iterations=FAST),
                              password="pw")
        assert loaded == store

    def test_default_iterations_are_keytools(self, pki: PKI) -> None:
        """JCEKS keys default to keytool's 200,000 iterations; ``iterations=`` changes that."""
        store = server_store(pki)
        default = certkit.load(certkit.dump(store, "jceks", password="pw"), password="pw")
        assert [p.iterations for p in default.protection if p.part.startswith("key")] == [200_000]
        low = certkit.load(certkit.dump(store, "jceks", password="pw", iterations=20),
                           password="pw")
        assert [p.iterations for p in low.protection if p.part.startswith("key")] == [20]

    def test_missing_date_is_now(self, pki: PKI) -> None:
        """An entry without a date is written with the current time, as keytool does."""
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate)])
        before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        loaded = certkit.load(certkit.dump(store, "jks", password="pw"), password="pw")
        created = loaded["root"].created
        assert created is not None
        assert before <= created <= dt.datetime.now(dt.timezone.utc)

    def test_naive_date_taken_as_utc(self, pki: PKI) -> None:
        """A naive ``created`` is written as UTC."""
        naive = dt.datetime(2001, 2, 3, 4, 5, 6)  # naive on purpose
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate, created=naive)])
        loaded = certkit.load(certkit.dump(store, "jks", password="pw"), password="pw")
        assert loaded["root"].created == naive.replace(tzinfo=dt.timezone.utc)

    def test_empty_password(self, pki: PKI) -> None:
        """The empty password is a valid store and key password."""
        store = server_store(pki)
        assert certkit.load(certkit.dump(store, "jks", password=""), password="") == store


class TestAliases:
    """keytool's alias rules."""

    def test_written_lower_case(self, pki: PKI) -> None:
        """Aliases are written lower-case like keytool, and the change is reported."""
        store = server_store(pki, alias="Tomcat")
        result = JKS.dump(store, DumpOptions(password="pw"))
        assert certkit.load(result.data, password="pw").aliases == ("tomcat", "root")
        assert any("'Tomcat'" in item for item in result.not_kept)

    @pytest.mark.parametrize("fmt", ["jks", "jceks"])
    def test_case_collision_is_an_error(self, pki: PKI, fmt: str) -> None:
        """Two aliases differing only in case are an AliasError, not a silent overwrite."""
        store = KeyStore([TrustedCertEntry("Root", pki.root.certificate),
                          TrustedCertEntry("root", pki.intermediate.certificate)])
        with pytest.raises(AliasError, match="differ only in case"):
            certkit.dump(store, fmt, password="pw")

    def test_unicode_alias(self, pki: PKI) -> None:
        """Aliases outside ASCII (NUL and astral characters too) use Java's modified UTF-8."""
        alias = "zert\u00e9\x00\U0001f600"
        store = KeyStore([TrustedCertEntry(alias, pki.root.certificate, created=CREATED)])
        data = certkit.dump(store, "jks", password="pw")
        assert b"\xc0\x80" in data  # NUL as Java writes it
        assert b"\xed\xa0\xbd\xed\xb8\x80" in data  # U+1F600 as two 3-byte surrogates
        assert certkit.load(data, password="pw") == store


class TestKeyPasswords:
    """Per-entry key passwords and locked keys."""

    def test_key_password_option(self, pki: PKI) -> None:
        """``key_password=`` encrypts keys under a password of their own; listing still works."""
        store = server_store(pki)
        data = certkit.dump(store, "jks", password="storepw", key_password="keypw")
        listed = certkit.load(data, password="storepw")
        entry = listed["tomcat"]
        assert isinstance(entry, KeyEntry)
        assert entry.is_locked
        assert entry.key.public_key_fingerprint == pki.leaf.certificate.public_key_fingerprint
        assert any("locked" in note for note in listed.notes)
        with pytest.raises(PasswordError, match="tomcat") as info:
            entry.private_key  # noqa: B018 - the property raises
        assert info.value.alias == "tomcat"
        assert listed.unlock({"tomcat": "keypw"}) == store
        opened = certkit.load(data, password="storepw", key_passwords={"tomcat": "keypw"})
        assert opened == store

    def test_locked_key_wrong_password(self, pki: PKI) -> None:
        """Unlocking with a wrong password is a PasswordError naming the alias."""
        data = certkit.dump(server_store(pki), "jceks", password="s", key_password="k",
                            iterations=FAST)
        entry = certkit.load(data, password="s")["tomcat"]
        assert isinstance(entry, KeyEntry)
        with pytest.raises(PasswordError, match="tomcat"):
            entry.unlock("wrong")
        with pytest.raises(PasswordError, match="tomcat"):
            entry.unlock(None)

    def test_key_passwords_per_entry(self, pki: PKI, other_pki: PKI) -> None:
        """``key_passwords={alias: pw}`` gives single entries their own password."""
        store = KeyStore([
            KeyEntry("a", pki.leaf.key, Chain(pki.chain), created=CREATED),
            KeyEntry("b", other_pki.leaf.key, Chain(other_pki.chain), created=CREATED),
        ])
        data = certkit.dump(store, "jks", password="store", key_passwords={"b": "bee"})
        listed = certkit.load(data, password="store")
        assert [e.is_locked for e in listed.key_entries] == [False, True]
        assert listed.unlock({"b": "bee"}) == store

    def test_key_passwords_unknown_alias(self, pki: PKI) -> None:
        """``key_passwords`` naming no entry is an AliasError rather than silently ignored."""
        with pytest.raises(AliasError, match="nosuch"):
            certkit.dump(server_store(pki), "jks", password="pw", key_passwords={"nosuch": "x"})

    @pytest.mark.parametrize("fmt", ["jks", "jceks"])
    def test_locked_key_written_back_unchanged(self, pki: PKI, fmt: str) -> None:
        """A locked key is written back to its own format as the same encrypted blob."""
        extra = {"iterations": FAST} if fmt == "jceks" else {}
        data = certkit.dump(server_store(pki), fmt, password="s", key_password="k", **extra)
        listed = certkit.load(data, password="s")
        again = certkit.load(certkit.dump(listed, fmt, password="new", **extra), password="new")
        assert again == listed  # LockedKey equality is by its encrypted bytes
        assert again.unlock({"tomcat": "k"}) == server_store(pki)

    def test_locked_key_cannot_change_format(self, pki: PKI) -> None:
        """Converting a locked key to another format is a PasswordError that says what to do."""
        data = certkit.dump(server_store(pki), "jks", password="s", key_password="k")
        listed = certkit.load(data, password="s")
        with pytest.raises(PasswordError, match="key_passwords") as info:
            certkit.dump(listed, "jceks", password="s", iterations=FAST)
        assert info.value.alias == "tomcat"

    def test_jceks_needs_ascii_key_password(self, pki: PKI) -> None:
        """JCEKS refuses non-ASCII key passwords, which Java's PBEWithMD5AndTripleDES rejects."""
        with pytest.raises(PasswordError, match="ASCII"):
            certkit.dump(server_store(pki), "jceks", password="pässword", iterations=FAST)

    def test_jks_accepts_unicode_passwords(self, pki: PKI) -> None:
        """JKS takes any Unicode password (UTF-16 code units, as Java does)."""
        password = "p\u00e4ss\U0001f511"
        store = server_store(pki)
        assert certkit.load(certkit.dump(store, "jks", password=password),
                            password=password) == store


class TestStorePassword:
    """Store integrity and the store password."""

    def test_wrong_password(self, pki: PKI) -> None:
        """A wrong store password is a PasswordError."""
        data = certkit.dump(server_store(pki), "jks", password="right")
        with pytest.raises(PasswordError, match="wrong store password"):
            certkit.load(data, password="wrong")

    def test_no_password_lists_without_integrity_check(self, pki: PKI) -> None:
        """``password=None`` lists the store (keys locked) and notes the skipped check."""
        data = certkit.dump(server_store(pki), "jceks", password="right", iterations=FAST)
        listed = certkit.load(data)
        assert listed.aliases == ("tomcat", "root")
        assert listed.key_entries[0].is_locked
        assert any("integrity not verified" in note for note in listed.notes)

    def test_dump_needs_password(self, pki: PKI) -> None:
        """Writing without a store password is a PasswordError marked missing."""
        with pytest.raises(PasswordError) as info:
            certkit.dump(server_store(pki), "jks")
        assert info.value.missing


class TestUnrepresentable:
    """What Java keystores cannot hold."""

    def test_secret_key_in_jks(self, pki: PKI) -> None:
        """JKS cannot hold secret keys: UnrepresentableError, or dropped and listed on request."""
        store = server_store(pki).add(SecretKeyEntry("aes", "AES", b"k" * 16))
        with pytest.raises(UnrepresentableError, match="aes") as info:
            certkit.dump(store, "jks", password="pw")
        assert info.value.format == "jks"
        result = JKS.dump(store, DumpOptions(password="pw", allow_loss=True))
        assert any("aes" in item for item in result.dropped)
        assert certkit.load(result.data, password="pw").aliases == ("tomcat", "root")

    def test_key_without_certificate(self) -> None:
        """A private key without a chain cannot go into a Java keystore."""
        store = KeyStore([KeyEntry("lonely", make_key("EC-P256"))])
        with pytest.raises(UnrepresentableError, match="lonely"):
            certkit.dump(store, "jks", password="pw")

    def test_attributes_reported_not_kept(self, pki: PKI) -> None:
        """Container attributes and the untrusted marker are reported as not kept."""
        store = KeyStore([TrustedCertEntry("loose", pki.root.certificate, trusted=False,
                                           attributes=Attributes(friendly_name="Loose CA"))])
        result = JCEKS.dump(store, DumpOptions(password="pw"))
        assert len(result.not_kept) == 2
        assert "friendly name" in result.not_kept[0]

    def test_implied_attributes_not_reported(self, pki: PKI) -> None:
        """A friendly name equal to the alias and keytool's 'Time <ms>' key id are not losses."""
        ms = int(CREATED.timestamp()) * 1000 + 123
        attributes = Attributes(friendly_name="tomcat", local_key_id=f"Time {ms}".encode())
        store = KeyStore([KeyEntry("tomcat", pki.leaf.key, Chain(pki.chain),
                                   attributes=attributes, created=CREATED)])
        assert JKS.dump(store, DumpOptions(password="pw")).not_kept == ()

    def test_unknown_option(self, pki: PKI) -> None:
        """JKS has no ``iterations`` option: UnsupportedFormatError names the valid ones."""
        with pytest.raises(UnsupportedFormatError, match="key_password"):
            certkit.dump(server_store(pki), "jks", password="pw", iterations=5)

    def test_iterations_out_of_range(self, pki: PKI) -> None:
        """An iteration count Java would refuse is refused at write time."""
        with pytest.raises(UnsupportedFormatError, match="iterations"):
            certkit.dump(server_store(pki), "jceks", password="pw", iterations=0)


class TestDamage:
    """Damaged input raises certkit errors with useful messages."""

    def test_truncated(self, pki: PKI) -> None:
        """A truncated keystore is a CertkitError that says so."""
        data = certkit.dump(server_store(pki), "jks", password="pw")
        with pytest.raises(CertkitError, match="truncated"):
            certkit.load(data[:100], password="pw")

    def test_damaged_certificate_named_after_the_digest(self, pki: PKI) -> None:
        """A truststore certificate with broken framing is named by alias, once the digest
        says the password is right (a wrong password is still a PasswordError)."""
        store = KeyStore([TrustedCertEntry(alias, pki.root.certificate, created=CREATED)
                          for alias in ("a", "b", "c")])
        data = bytearray(certkit.dump(store, "jks", password="pw"))
        der = pki.root.certificate.der
        second = data.index(der, data.index(der) + 1)
        _, start, end = _der.read_tlv(der)
        signature = _der.children(der, start, end)[2][1]
        data[second + signature] = 0x04  # the signature BIT STRING becomes an OCTET STRING
        body = bytes(data[:-20])
        damaged = body + hashlib.sha1(  # noqa: S324 - the format's own digest
            "pw".encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
        with pytest.raises(DecodeError, match=r"entry 'b' holds a damaged certificate: not a "
                                              r"valid X\.509 certificate"):
            certkit.load(damaged, password="pw")
        with pytest.raises(PasswordError):
            certkit.load(damaged, password="wrong")

    def test_date_python_cannot_hold(self, pki: PKI) -> None:
        """A trusted entry dated beyond Python's datetime loads without a date."""
        data = bytearray(certkit.dump(
            KeyStore([TrustedCertEntry("a", pki.root.certificate, created=CREATED)]),
            "jks", password="pw"))
        stamp = (CREATED - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(
            milliseconds=1)
        at = data.index(stamp.to_bytes(8, "big"))
        data[at : at + 8] = (2**63 - 1).to_bytes(8, "big")
        (entry,) = certkit.load(bytes(data))
        assert isinstance(entry, TrustedCertEntry)
        assert entry.created is None
        assert entry.certificate == pki.root.certificate

    def test_absurd_iteration_count(self) -> None:
        """A JCEKS key claiming more iterations than Java allows is refused, not computed."""
        from certkit._crypto import javakeys as _javakeys

        params = bytes.fromhex("30100408") + b"saltsalt" + bytes.fromhex("020405f5e100")
        with pytest.raises(CertkitError, match="iteration count"):
            _javakeys.parse_pbe_parameters(params)


# --- hypothesis properties -------------------------------------------------------------


@functools.cache
def material() -> tuple[tuple[PrivateKey, Certificate], ...]:
    """Keys with self-signed certificates, generated once (RSA key generation is slow)."""
    out = []
    for kind in ("EC-P256", "Ed25519", "RSA-1024"):
        issued = issue(f"hypothesis {kind}", key=make_key(kind))
        out.append((issued.key, issued.certificate))
    return tuple(out)


aliases = st.text(min_size=1, max_size=12).map(str.lower)
dates = st.integers(min_value=-2208988800000, max_value=4102444800000).map(
    lambda ms: dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms))


@st.composite
def stores(draw: st.DrawFn, *, secrets: bool) -> KeyStore:
    """Stores of key, trusted and (for JCEKS) secret entries with unique lower-case aliases."""
    names = draw(st.lists(aliases, min_size=0, max_size=4, unique_by=str.lower))
    entries: list[KeyEntry | TrustedCertEntry | SecretKeyEntry] = []
    kinds = ["key", "trusted", "secret"] if secrets else ["key", "trusted"]
    for name in names:
        if name != name.lower():  # str.lower is not idempotent for a few characters
            continue
        kind = draw(st.sampled_from(kinds))
        created = draw(dates)
        key, cert = draw(st.sampled_from(material()))
        if kind == "key":
            entries.append(KeyEntry(name, key, Chain([cert]), created=created))
        elif kind == "trusted":
            entries.append(TrustedCertEntry(name, cert, created=created))
        else:
            algorithm = draw(st.sampled_from(["AES", "DESede", "HmacSHA256", "Blowfish"]))
            value = draw(st.binary(min_size=1, max_size=64))
            entries.append(SecretKeyEntry(name, algorithm, value, created=created))
    return KeyStore(entries)


passwords = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


class TestProperties:
    """load(dump(x)) == x for generated stores."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(store=stores(secrets=False), password=st.text(max_size=12))
    def test_jks(self, store: KeyStore, password: str) -> None:
        """Any JKS-representable store with any password round-trips exactly."""
        data = certkit.dump(store, "jks", password=password)
        assert certkit.load(data, password=password, format="jks") == store

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(store=stores(secrets=True), password=passwords,
           iterations=st.integers(min_value=1, max_value=64))
    def test_jceks(self, store: KeyStore, password: str, iterations: int) -> None:
        """Any JCEKS store (secret keys included) with a printable-ASCII password round-trips."""
        data = certkit.dump(store, "jceks", password=password, iterations=iterations)
        assert certkit.load(data, password=password, format="jceks") == store


class TestConversions:
    """JKS/JCEKS → PKCS#12 → JKS/JCEKS keeps aliases, types, chains, key bytes and dates."""

    @staticmethod
    def store(pki: PKI, other_pki: PKI, *, secrets: bool) -> KeyStore:
        """A store with two key entries, a trusted root and optionally a secret key."""
        day = dt.timedelta(days=1, milliseconds=7)
        entries: list[KeyEntry | TrustedCertEntry | SecretKeyEntry] = [
            KeyEntry("tomcat", pki.leaf.key, Chain(pki.chain), created=CREATED),
            KeyEntry("other", other_pki.leaf.key, Chain(other_pki.chain[:2]),
                     created=CREATED + day),
            TrustedCertEntry("root", pki.root.certificate, created=CREATED + 2 * day),
        ]
        if secrets:
            entries.append(SecretKeyEntry("aes", "AES", bytes(range(32)),
                                          created=CREATED + 3 * day))
        return KeyStore(entries)

    @pytest.mark.parametrize("fmt", ["jks", "jceks"])
    def test_via_pkcs12(self, pki: PKI, other_pki: PKI, fmt: str) -> None:
        """The Java store survives a PKCS#12 round trip entry for entry."""
        original = self.store(pki, other_pki, secrets=fmt == "jceks")
        extra = {"iterations": FAST} if fmt == "jceks" else {}
        java = certkit.load(certkit.dump(original, fmt, password="changeit", **extra),
                            password="changeit")
        p12 = certkit.load(certkit.dump(java, "pkcs12", password="changeit"),
                           password="changeit")
        assert p12.aliases == java.aliases
        back = certkit.load(certkit.dump(p12, fmt, password="changeit", **extra),
                            password="changeit")
        assert back == java == original
        assert [e.created for e in back] == [e.created for e in original]

    def test_jks_key_password_to_pkcs12(self, pki: PKI, other_pki: PKI) -> None:
        """A JKS key with its own password converts once unlocked with key_passwords."""
        original = self.store(pki, other_pki, secrets=False)
        data = certkit.dump(original, "jks", password="store", key_passwords={"other": "own"})
        java = certkit.load(data, password="store", key_passwords={"other": "own"})
        p12 = certkit.load(certkit.dump(java, "pkcs12", password="store"), password="store")
        assert certkit.load(certkit.dump(p12, "jks", password="store"), password="store") == java

    def test_via_pem(self, pki: PKI) -> None:
        """JKS → PEM (with bag attributes) → JKS keeps the key entry's alias, chain and key."""
        original = KeyStore([KeyEntry("tomcat", pki.leaf.key, Chain(pki.chain), created=CREATED)])
        java = certkit.load(certkit.dump(original, "jks", password="pw"), password="pw")
        pem = certkit.load(certkit.dump(java, "pem", bag_attributes=True))
        back = certkit.load(certkit.dump(pem, "jks", password="pw"), password="pw")
        entry = back["tomcat"]
        assert isinstance(entry, KeyEntry)
        assert entry.private_key == pki.leaf.key
        assert list(entry.chain) == list(pki.chain)


def padding_collision(encrypted: bytes, salt: bytes, iterations: int) -> str:
    """Find a wrong password whose PBEWithMD5AndTripleDES decryption has valid padding.

    pyjks's independent implementation does the decrypting; about one password in 256
    passes the padding check, so a few thousand candidates always contain one.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from jks import sun_crypto, util

    for number in range(100_000):
        candidate = f"wrong{number}"
        try:
            sun_crypto.jce_pbe_decrypt(encrypted, candidate, salt, iterations)
        except util.BadPaddingException:
            continue
        return candidate
    raise AssertionError("no padding collision found")


class TestWrongPasswordWithValidPadding:
    """A wrong JCEKS password that happens to give valid padding is still a wrong password."""

    def test_private_key(self, pki: PKI) -> None:
        """Unlocking and store-password trials treat a padding collision as a wrong password."""
        from certkit._crypto import javakeys as _javakeys

        data = certkit.dump(server_store(pki), "jceks", password="s", key_password="k",
                            iterations=1)
        entry = certkit.load(data, password="s")["tomcat"]
        assert isinstance(entry, KeyEntry)
        assert isinstance(entry.key, certkit.LockedKey)
        _, params, encrypted = _javakeys.parse_encrypted_key(entry.key.data)
        assert params is not None
        salt, iterations = _javakeys.parse_pbe_parameters(params)
        wrong = padding_collision(encrypted, salt, iterations)
        with pytest.raises(PasswordError, match="tomcat"):
            entry.unlock(wrong)
        # The same blob in a store whose store password is that collision still lists.
        listed = certkit.load(data, password="s")
        again = certkit.load(certkit.dump(listed, "jceks", password=wrong, iterations=1),
                             password=wrong)
        assert again.key_entries[0].is_locked

    def test_secret_key(self) -> None:
        """A secret key's padding collision is a PasswordError, not a decode error."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jks as pyjks
        from certkit._crypto import javakeys as _javakeys

        store = KeyStore([SecretKeyEntry("aes", "AES", bytes(16), created=CREATED)])
        data = certkit.dump(store, "jceks", password="s", key_password="k", iterations=1)
        sealed = pyjks.KeyStore.loads(data, "s", try_decrypt_keys=False).entries["aes"]._encrypted
        salt, iterations = _javakeys.parse_pbe_parameters(bytes(sealed.encodedParams))
        wrong = padding_collision(bytes(sealed.encryptedContent), salt, iterations)
        with pytest.raises(PasswordError, match="aes"):
            certkit.load(data, password="s", key_passwords={"aes": wrong})
