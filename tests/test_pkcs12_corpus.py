"""PKCS#12 files written by other projects open (or are rejected) as their own tests expect."""

from __future__ import annotations

import pathlib

import pytest
from conftest import corpus_path

from certkit import Certificate, KeyEntry, KeyStore, PrivateKey
from certkit.errors import CertkitError, PasswordError
from certkit.formats import LoadOptions
from certkit.formats.pkcs12 import MS_CSP_NAME, PKCS12

cryptography_vectors = pytest.importorskip("cryptography_vectors")
VECTORS = pathlib.Path(cryptography_vectors.__file__).parent


def _load(path: pathlib.Path, password: str | bytes | None) -> KeyStore:
    return PKCS12.load(path.read_bytes(), LoadOptions(password=password, source=str(path)))


def _vector(name: str) -> pathlib.Path:
    return VECTORS / "pkcs12" / name


# ---------------------------------------------------------------------------------------
# cryptography-vectors: names and passwords from cryptography's tests/hazmat/primitives/
# test_pkcs12.py (test_load_object, test_load_object_no_cert_key, ec key tests).

_NAMED = [
    # (file, password, key cert name, name2, name3)
    ("no-name-no-pwd.p12", None, None, None, None),
    ("name-all-no-pwd.p12", None, "name", "name2", "name3"),
    ("name-1-no-pwd.p12", None, "name", None, None),
    ("name-2-3-no-pwd.p12", None, None, "name2", "name3"),
    ("name-2-no-pwd.p12", None, None, "name2", None),
    ("name-3-no-pwd.p12", None, None, None, "name3"),
    ("name-unicode-no-pwd.p12", None, "☺", "ä", "ç"),
    ("no-name-pwd.p12", "password", None, None, None),
    ("name-all-pwd.p12", "password", "name", "name2", "name3"),
    ("name-1-pwd.p12", "password", "name", None, None),
    ("name-2-3-pwd.p12", "password", None, "name2", "name3"),
    ("name-2-pwd.p12", "password", None, "name2", None),
    ("name-3-pwd.p12", "password", None, None, "name3"),
    ("name-unicode-pwd.p12", "password", "☺", "ä", "ç"),
]

_NO_CERT = [
    ("no-cert-no-name-no-pwd.p12", None, None, None),
    ("no-cert-name-all-no-pwd.p12", None, "name2", "name3"),
    ("no-cert-name-2-no-pwd.p12", None, "name2", None),
    ("no-cert-name-3-no-pwd.p12", None, None, "name3"),
    ("no-cert-name-unicode-no-pwd.p12", None, "☹", "ï"),
    ("no-cert-no-name-pwd.p12", "password", None, None),
    ("no-cert-name-all-pwd.p12", "password", "name2", "name3"),
    ("no-cert-name-2-pwd.p12", "password", "name2", None),
    ("no-cert-name-3-pwd.p12", "password", None, "name3"),
    ("no-cert-name-unicode-pwd.p12", "password", "☹", "ï"),
]


class TestCryptographyVectors:
    """Every file in cryptography-vectors' pkcs12/ folder opens with its documented contents."""

    def test_every_file_is_covered(self) -> None:
        """The parametrised lists below name every .p12 file in the folder."""
        covered = ({row[0] for row in _NAMED} | {row[0] for row in _NO_CERT}
                   | {"cert-key-aes256cbc.p12", "cert-none-key-none.p12",
                      "cert-rc2-key-3des.p12", "no-password.p12", "cert-aes256cbc-no-key.p12",
                      "no-cert-key-aes256cbc.p12", "java-truststore.p12"})
        present = {p.name for p in (VECTORS / "pkcs12").glob("*.p12")}
        assert present == covered

    @pytest.mark.parametrize(("name", "password", "name1", "name2", "name3"), _NAMED)
    def test_named_key_and_certificates(self, name: str, password: str | None, name1: str | None,
                                        name2: str | None, name3: str | None) -> None:
        """The key entry and both extra certificates carry cryptography's expected names."""
        store = _load(_vector(name), password)
        keys = store.key_entries
        assert len(keys) == 1
        key_entry = keys[0]
        assert key_entry.chain.leaf is not None
        ca = Certificate.load((VECTORS / "pkcs12" / "ca" / "ca.pem").read_bytes())
        assert key_entry.chain.leaf == ca
        assert key_entry.private_key.matches(key_entry.chain.leaf)
        others = store.trusted_entries
        assert len(others) == 2
        assert [e.attributes.friendly_name for e in others] == [name2, name3]
        assert all(not e.trusted for e in others)
        leaf_name = key_entry.attributes.friendly_name
        # cryptography reports the name of the key's certificate; OpenSSL writes it on both bags.
        assert leaf_name == name1 or (name1 is not None and key_entry.alias == name1)

    @pytest.mark.parametrize(("name", "password", "name2", "name3"), _NO_CERT)
    def test_certificates_without_key(self, name: str, password: str | None, name2: str | None,
                                      name3: str | None) -> None:
        """Files with only two extra certificates give two untrusted certificate entries."""
        store = _load(_vector(name), password)
        assert not store.key_entries
        assert [e.attributes.friendly_name for e in store.trusted_entries] == [name2, name3]

    @pytest.mark.parametrize(("name", "password"), [
        ("cert-key-aes256cbc.p12", "cryptography"),
        ("cert-none-key-none.p12", "cryptography"),
        ("cert-rc2-key-3des.p12", "cryptography"),
        ("no-password.p12", None),
    ])
    def test_ec_key_with_certificate(self, name: str, password: str | None) -> None:
        """The EC CA key pairs with its certificate, and the key equals ca_key.pem."""
        store = _load(_vector(name), password)
        (entry,) = store.entries
        assert isinstance(entry, KeyEntry)
        assert entry.private_key.algorithm.startswith("EC-")
        expected = PrivateKey.load((VECTORS / "pkcs12" / "ca" / "ca_key.pem").read_bytes())
        assert entry.private_key == expected
        assert len(entry.chain) == 1

    def test_certificate_only(self) -> None:
        """cert-aes256cbc-no-key.p12 holds one certificate and no key."""
        store = _load(_vector("cert-aes256cbc-no-key.p12"), "cryptography")
        assert len(store.trusted_entries) == 1
        assert not store.key_entries

    def test_key_only(self) -> None:
        """no-cert-key-aes256cbc.p12 holds a key with an empty chain."""
        store = _load(_vector("no-cert-key-aes256cbc.p12"), "cryptography")
        (entry,) = store.key_entries
        assert len(entry.chain) == 0

    def test_java_truststore(self) -> None:
        """java-truststore.p12 (empty password) gives two trusted entries with Java's marker."""
        store = _load(_vector("java-truststore.p12"), "")
        assert len(store.trusted_entries) == 2
        assert all(e.trusted for e in store.trusted_entries)
        assert store.trusted_entries[0].attributes.friendly_name == "cert1"
        assert store.trusted_entries[0].attributes.trusted_usage == ("2.5.29.37.0",)

    def test_wrong_password(self) -> None:
        """A wrong password is a PasswordError, not a crash."""
        with pytest.raises(PasswordError):
            _load(_vector("cert-key-aes256cbc.p12"), "invalid")

    def test_missing_password(self) -> None:
        """No password for a protected file says one is needed."""
        with pytest.raises(PasswordError) as info:
            _load(_vector("cert-key-aes256cbc.p12"), None)
        assert info.value.missing


# ---------------------------------------------------------------------------------------
# OpenSSL's test data: passwords and expectations from 80-test_pkcs12.t / 90-test_store_cases.t.

_OPENSSL_DATA = ("openssl", "test", "recipes", "80-test_pkcs12_data")

_OPENSSL_GOOD = [
    (("openssl", "test", "shibboleth.pfx"), "σύνθημα γνώρισμα", 1),
    (("openssl", "test", "certs", "v3-certs-RC2.p12"), "v3-certs", 0),
    (("openssl", "test", "certs", "v3-certs-TDES.p12"), "v3-certs", 0),
    ((*_OPENSSL_DATA, "pbmac1_256_256.good.p12"), "1234", 1),
    ((*_OPENSSL_DATA, "pbmac1_512_256.good.p12"), "1234", 1),
    ((*_OPENSSL_DATA, "pbmac1_512_512.good.p12"), "1234", 1),
    ((*_OPENSSL_DATA, "pbmac1_sha1_hmac_and_prf.p12"), "1234", 1),
    ((*_OPENSSL_DATA, "nomac_parse.p12"), "testpassword", 0),
    (("openssl", "test", "recipes", "90-test_store_cases_data", "test-BER.p12"), "12345", 1),
    (("openssl", "test", "recipes", "80-test_cmp_http_data", "Mock", "signer.p12"), "12345", 1),
]

_PBMAC1_BAD = ["bad-iter", "bad-salt", "no-len", "bad-len", "bad-salt-type", "negative-len",
               "no-salt", "very-big-len", "zero-len"]
_REDHAT = "RedHatEnterpriseLinux10.0"
_OPENSSL_BAD = [
    *[((*_OPENSSL_DATA, f"pbmac1_256_256.{b}.p12"), "1234") for b in _PBMAC1_BAD],
    *[((*_OPENSSL_DATA, f"bad{n}.p12"), "") for n in (1, 2, 3)],
    ((*_OPENSSL_DATA, "sha256mac_cert.oct-is-null.p12"), _REDHAT),
    ((*_OPENSSL_DATA, "pbmac1_cert.oct-is-null.p12"), _REDHAT),
    *[((*_OPENSSL_DATA, f"BOOLEAN-in-{attr}-of-{bag}-{mac}.p12"), _REDHAT)
      for attr in ("friendlyName", "localKeyID") for bag in ("cert", "key")
      for mac in ("pkcs12-sha256mac", "pbmac1")],
    (("openssl", "test", "recipes", "90-test_store_cases_data", "garbage-pkcs12.p12"),
     "invalidapass"),
]


class TestOpenSSLCorpus:
    """OpenSSL's PKCS#12 test files open or fail exactly as its test recipes expect."""

    @pytest.mark.parametrize(("parts", "password", "keys"), _OPENSSL_GOOD,
                             ids=[p[0][-1] for p in _OPENSSL_GOOD])
    def test_good_files_open(self, parts: tuple[str, ...], password: str, keys: int) -> None:
        """Each file the recipe expects to load opens, with the expected number of keys."""
        store = _load(corpus_path(*parts), password)
        assert len(store.key_entries) == keys

    @pytest.mark.parametrize(("parts", "password"), _OPENSSL_BAD,
                             ids=[p[0][-1] for p in _OPENSSL_BAD])
    def test_bad_files_are_rejected(self, parts: tuple[str, ...], password: str) -> None:
        """Each file the recipe expects to fail raises a CertkitError subclass."""
        with pytest.raises(CertkitError):
            _load(corpus_path(*parts), password)

    def test_pbmac1_is_reported(self) -> None:
        """The RFC 9579 vector's protection names PBMAC1 with its PBKDF2 hash and iterations."""
        store = _load(corpus_path(*_OPENSSL_DATA, "pbmac1_512_256.good.p12"), "1234")
        integrity = [p for p in store.protection if p.part == "integrity"]
        assert integrity[0].algorithm == "PBMAC1 PBKDF2-HMAC-SHA512 HMAC-SHA256"
        assert integrity[0].iterations == 2048

    def test_test_ber_contents(self) -> None:
        """test-BER.p12 (BER indefinite lengths) holds one EC key with a three-certificate chain."""
        store = _load(corpus_path("openssl", "test", "recipes", "90-test_store_cases_data",
                                  "test-BER.p12"), "12345")
        (entry,) = store.key_entries
        assert entry.alias == "Docker_Playground_TLS"
        assert entry.private_key.algorithm == "EC-P256"
        assert len(entry.chain) == 3
        assert entry.chain.is_complete

    def test_shibboleth_keeps_csp_name(self) -> None:
        """shibboleth.pfx (Greek password) keeps its GUID friendly name and Microsoft CSP name."""
        store = _load(corpus_path("openssl", "test", "shibboleth.pfx"), "σύνθημα γνώρισμα")
        (entry,) = store.key_entries
        assert entry.alias == "3f71af65-1687-444a-9f46-c8be194c3e8e"
        assert entry.attributes.csp_name is not None

    def test_nomac_is_reported(self) -> None:
        """A file without MAC says so, and its envelopedData safe is noted, not silently dropped."""
        store = _load(corpus_path(*_OPENSSL_DATA, "nomac_parse.p12"), "testpassword")
        assert any(p.weak == "no MAC: integrity is not checked" for p in store.protection)
        assert any("envelopedData" in note for note in store.notes)


# ---------------------------------------------------------------------------------------
# BoringSSL: password "foo" (kPassword), "Hello, 世界" (kUnicodePassword), pkcs12_test.cc.

_BORING = ("boringssl", "crypto", "pkcs8", "test")


class TestBoringSSLCorpus:
    """BoringSSL's Windows, NSS, OpenSSL, PBES2, empty/NULL password and BER files."""

    @pytest.mark.parametrize("name", ["windows.p12", "nss.p12", "openssl.p12", "pbes2_sha1.p12",
                                      "pbes2_sha256.p12", "no_encryption.p12"])
    def test_foo_files(self, name: str) -> None:
        """Each file with password "foo" opens to one key entry with its certificate."""
        store = _load(corpus_path(*_BORING, name), "foo")
        (entry,) = store.key_entries
        assert entry.chain.leaf is not None
        assert entry.private_key.matches(entry.chain.leaf)

    def test_windows_names(self) -> None:
        """windows.p12's key carries its GUID friendly name and the Microsoft CSP name."""
        (entry,) = _load(corpus_path(*_BORING, "windows.p12"), "foo").key_entries
        assert entry.alias == "ee6d8805-06d9-42e2-8b68-feab5ef28270"
        assert entry.attributes.csp_name == "Microsoft Enhanced Cryptographic Provider v1.0"

    def test_nss_name(self) -> None:
        """nss.p12's entry has the friendly name BoringSSL's test expects."""
        (entry,) = _load(corpus_path(*_BORING, "nss.p12"), "foo").key_entries
        assert entry.alias == "Internet Widgits Pty Ltd"

    @pytest.mark.parametrize("name", ["empty_password.p12", "empty_password_ber.p12",
                                      "null_password.p12"])
    @pytest.mark.parametrize("password", ["", None])
    def test_empty_and_null_passwords(self, name: str, password: str | None) -> None:
        """Empty-password and NULL-password files open with both "" and None, as in BoringSSL."""
        assert len(_load(corpus_path(*_BORING, name), password).key_entries) == 1

    def test_unicode_password(self) -> None:
        """unicode_password.p12 opens with "Hello, 世界"."""
        assert len(_load(corpus_path(*_BORING, "unicode_password.p12"),
                         "Hello, 世界").key_entries) == 1

    def test_nested_ber_rejected(self) -> None:
        """empty_password_ber_nested.p12 (too much string recursion) must fail."""
        with pytest.raises(CertkitError):
            _load(corpus_path(*_BORING, "empty_password_ber_nested.p12"), "")


# ---------------------------------------------------------------------------------------
# dotnet/runtime-assets: passwords from dotnet/runtime's tests (see EXPECTED.md).

_X509 = ("dotnet-runtime-assets", "src", "System.Security.Cryptography.X509Certificates.TestData",
         "TestData")
_NET = ("dotnet-runtime-assets", "src", "System.Net.TestData")


class TestDotnetCorpus:
    """Windows-exported PFX files (RC2 and 3DES), including one with two private keys."""

    @pytest.mark.parametrize(("parts", "password", "certificates"), [
        ((*_X509, "test.pfx"), "test", 3),
        ((*_X509, "test.noRC2.pfx"), "test", 3),
        ((*_X509, "My.pfx"), "12345", 1),
        ((*_X509, "My.noRC2.pfx"), "12345", 1),
        ((*_X509, "DummyTcpServer.pfx"), None, 2),
        ((*_X509, "DummyTcpServer.noRC2.pfx"), None, 2),
        ((*_NET, "TestData", "testservereku.contoso.com.pfx"), "testcertificate", 2),
        ((*_NET, "TestData", "testservereku.contoso.com.noRC2.pfx"), "testcertificate", 2),
    ], ids=lambda v: v[-1] if isinstance(v, tuple) else str(v))
    def test_opens_with_documented_contents(self, parts: tuple[str, ...], password: str | None,
                                            certificates: int) -> None:
        """Each file opens to one key entry and the documented number of certificates."""
        store = _load(corpus_path(*parts), password)
        assert len(store.key_entries) == 1
        assert len(store.certificates) == certificates

    def test_two_private_keys(self) -> None:
        """The PFX with two private keys gives two KeyEntries, each with its own certificate."""
        store = _load(corpus_path(*_NET, "TestDataCertificates", "testservereku.contoso.com.pfx"),
                      "PLACEHOLDER")
        keys = store.key_entries
        assert sorted(e.alias for e in keys) == ["{76125FA3-F624-43A1-93C1-375F0DBE7C2C}",
                                                  "{EA97C85F-522C-41CC-99B1-5C0D2CF9E1EE}"]
        assert sorted(e.attributes.local_key_id for e in keys) == [  # type: ignore[type-var]
            bytes.fromhex("01000000"), bytes.fromhex("02000000")]
        for entry in keys:
            assert entry.chain.leaf is not None
            assert entry.private_key.matches(entry.chain.leaf)
        # Windows exported the same key twice (once per key storage provider).
        fingerprints = {e.private_key.public_key_fingerprint for e in keys}
        assert len(fingerprints) == 1

    def test_windows_attributes_are_kept(self) -> None:
        """test.pfx keeps Microsoft's unknown certificate-property attributes as raw values."""
        store = _load(corpus_path(*_X509, "test.noRC2.pfx"), "test")
        (entry,) = store.key_entries
        assert entry.attributes.csp_name is not None
        oids = {raw.oid for e in store.entries for raw in e.attributes.other}
        assert MS_CSP_NAME not in oids

    def test_nul_terminated_friendly_name(self) -> None:
        """DummyTcpServer.pfx's friendly name "mycert\\0" keeps its NUL but the alias drops it;
        its SHA-1-signed CA links to the leaf (keytool: chain length 2), unverified."""
        store = _load(corpus_path(*_X509, "DummyTcpServer.pfx"), None)
        (entry,) = store.entries
        assert isinstance(entry, KeyEntry)
        assert entry.alias == "mycert"
        assert len(entry.chain) == 2
        assert [link.status for link in entry.chain.links] == ["unverified"]
