"""Keystores real producers wrote: every entry listed as keytool lists it, and carried on.

The files are the corpus's ``realworld/`` folder (a JDK 8 EC keystore, Bouncy Castle's
SHA-1 chain, mbed TLS's EC test CA) and stores :mod:`realworld` makes with openssl,
keytool and the JDK at test time: a binary-curve key beside an RSA key, the JDK 8 store as
PKCS#12, a truststore holding the NULL-parameters CA, and JKS key entries without a chain.
"""

from __future__ import annotations

import pathlib
import re

import pytest
from conftest import corpus_path, keytool, openssl
from realworld import (
    PASSWORD,
    Made,
    ViewedEntry,
    binary_curve_stores,
    certkit_view,
    chainless_jks,
    jdk8_pkcs12,
    keytool_view,
    null_parameters_chain,
    null_parameters_truststore,
)

import certkit
from certkit.errors import UnrepresentableError

pytestmark = pytest.mark.slow

#: Where certkit's chain length differs from keytool's, and why (reported, not hidden;
#: strict, so a disagreement that goes away must be taken off this list).
CHAIN_DISAGREEMENTS: dict[str, str] = {}


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Made]:
    """Every store of this module, by name (made once per session)."""
    folder = tmp_path_factory.mktemp("realworld")
    stores = {
        "jdk8-ec.keystore": Made(corpus_path("realworld", "jdk8-ec.keystore"), "passphrase"),
        "bc-sha1-chain.p12": Made(corpus_path("realworld", "bc-sha1-chain.p12"), "pass"),
        "jdk8-ec.p12": jdk8_pkcs12(folder),
        "mbedtls-ca.jks": null_parameters_truststore(folder),
        "null-params.p12": null_parameters_chain(folder),
        "chainless-aes128.jks": chainless_jks(folder, bytes(range(16)), "aes128"),
    }
    stores.update(binary_curve_stores(folder))
    rsa = folder / "orphan.der"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-outform",
            "DER", "-out", folder / "orphan8.der")
    openssl("rsa", "-inform", "DER", "-in", folder / "orphan8.der", "-traditional",
            "-outform", "DER", "-out", rsa)
    stores["chainless-rsa.jks"] = chainless_jks(folder, rsa.read_bytes(), "orphan-rsa")
    return stores


@pytest.fixture(scope="session")
def reference(made: dict[str, Made]) -> dict[str, dict[str, ViewedEntry]]:
    """keytool -list -v's view of every store of this module, by name."""
    return {name: keytool_view(item.path, item.password) for name, item in made.items()}


NAMES = ["jdk8-ec.keystore", "bc-sha1-chain.p12", "jdk8-ec.p12", "mbedtls-ca.jks",
         "null-params.p12",
         "chainless-aes128.jks", "chainless-rsa.jks", "openssl-sect193r1.p12",
         "sect193r1-and-rsa.jks", "sect193r1-and-rsa.p12"]


def _note_disagreement(name: str, request: pytest.FixtureRequest) -> None:
    if name in CHAIN_DISAGREEMENTS:
        request.applymarker(pytest.mark.xfail(reason=CHAIN_DISAGREEMENTS[name], strict=True))


def _without_lengths(view: dict[str, object]) -> dict[str, tuple[object, ...]]:
    return {alias: (e.kind, e.sha256[:1]) for alias, e in view.items()}  # type: ignore[attr-defined]


class TestListing:
    """certkit lists every entry of these stores as keytool does."""

    @pytest.mark.parametrize("name", NAMES)
    def test_entries_agree_with_keytool(self, made: dict[str, Made], name: str,
                                        reference: dict[str, dict[str, ViewedEntry]],
                                        request: pytest.FixtureRequest) -> None:
        """Aliases, entry kinds and leaf fingerprints equal keytool -list -v's, entry by entry."""
        _note_disagreement(name, request)
        store = certkit.load(made[name].path, password=made[name].password)
        assert _without_lengths(certkit_view(store)) == _without_lengths(reference[name])

    @pytest.mark.parametrize("name", NAMES)
    def test_chain_lengths_agree_with_keytool(self, made: dict[str, Made], name: str,
                                              reference: dict[str, dict[str, ViewedEntry]],
                                              request: pytest.FixtureRequest) -> None:
        """Each entry's chain has keytool's length and certificates, leaf first."""
        _note_disagreement(name, request)
        store = certkit.load(made[name].path, password=made[name].password)
        assert certkit_view(store) == reference[name]

    def test_null_parameters_certificate_reads(self) -> None:
        """mbed TLS's CA loads with its own bytes and the fingerprint its README states."""
        path = corpus_path("realworld", "mbedtls-test-ca2.crt")
        (entry,) = certkit.load(path).trusted_entries
        assert entry.certificate.subject == "CN=Polarssl Test EC CA,O=PolarSSL,C=NL"
        assert entry.certificate.fingerprint() == (
            "e3dc799140779e30471cbfb4892c016307a01c38d90b8839f5fc4ac1cb2d8e84")
        assert entry.certificate.key_algorithm == "EC-P384"
        assert entry.certificate.is_self_signed  # checked over its own bytes, NULL and all


class TestJDK8Keystore:
    """The JDK 8 EC keystore: a 33-byte EC scalar and a binary-curve key beside RSA and DSA."""

    def test_the_33_byte_scalar_is_usable_and_noted(self) -> None:
        """The quirky P-256 key parses, matches its certificate, and the store says so."""
        store = certkit.load(corpus_path("realworld", "jdk8-ec.keystore"), password="passphrase")
        entry = store["secp256r1server-secp384r1ca"]
        assert isinstance(entry, certkit.KeyEntry)
        assert entry.private_key.algorithm == "EC-P256"
        assert entry.private_key.matches(entry.chain[0])
        assert any("33 bytes" in note for note in store.notes)

    def test_the_binary_curve_key_is_opaque_by_name(self) -> None:
        """sect193r1 is kept as bytes with a reason naming the curve; its chain still parses."""
        store = certkit.load(corpus_path("realworld", "jdk8-ec.keystore"), password="passphrase")
        (entry,) = store.opaque_entries
        assert entry.alias == "sect193r1server-rsa1024ca"
        assert entry.kind == "private key"
        assert "sect193r1" in entry.reason
        assert len(entry.chain) == 1
        assert "data" not in repr(entry)
        assert entry.data.hex() not in repr(entry)

    def test_pem_refuses_the_opaque_key_by_alias(self) -> None:
        """PEM cannot hold it: UnrepresentableError names the alias; allow_loss drops only it."""
        store = certkit.load(corpus_path("realworld", "jdk8-ec.keystore"), password="passphrase")
        with pytest.raises(UnrepresentableError, match="sect193r1server-rsa1024ca") as caught:
            certkit.dump(store, "pem")
        assert len(caught.value.lost) == 1
        text = certkit.dump(store, "pem", allow_loss=True)
        assert text.count(b"-----BEGIN PRIVATE KEY-----") == 3


def _java_recovers_every_key(path: pathlib.Path, tmp_path: pathlib.Path) -> str:
    target = tmp_path / f"java-{path.name}.p12"
    result = keytool("-importkeystore", "-noprompt", "-srckeystore", path, "-srcstorepass",
                     PASSWORD, "-destkeystore", target, "-deststoretype", "PKCS12",
                     "-deststorepass", PASSWORD)
    return result.stdout.decode() + result.stderr.decode()


class TestKeystoreEdits:
    """Editing a keystore in place keeps the entries certkit cannot parse."""

    def test_change_password_keeps_the_opaque_key(self, tmp_path: pathlib.Path) -> None:
        """New store and key passwords: keytool lists all four entries, Java recovers each."""
        path = tmp_path / "jdk8.jks"
        path.write_bytes(corpus_path("realworld", "jdk8-ec.keystore").read_bytes())
        certkit.change_password(path, old="passphrase", new=PASSWORD,
                                new_key_passwords={"sect193r1server-rsa1024ca": PASSWORD})
        assert keytool_view(path, PASSWORD) == keytool_view(
            corpus_path("realworld", "jdk8-ec.keystore"), "passphrase")
        report = _java_recovers_every_key(path, tmp_path)
        assert re.search(r"4 entries successfully imported, 0 entries failed", report), report


class TestConversion:
    """Converted to JKS and PKCS#12, every entry keytool listed is still there, keys usable."""

    @pytest.mark.parametrize("fmt", ["jks", "pkcs12"])
    @pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("chainless")])
    def test_keytool_lists_the_same_entries(self, name: str, fmt: str, *,
                                            made: dict[str, Made], tmp_path: pathlib.Path,
                                            reference: dict[str, dict[str, ViewedEntry]],
                                            request: pytest.FixtureRequest) -> None:
        """keytool lists the converted store with the source's aliases, kinds, fingerprints,
        and the JDK recovers every key from it (keytool -importkeystore fails on none)."""
        _note_disagreement(name, request)
        store = certkit.load(made[name].path, password=made[name].password)
        target = tmp_path / f"{name}.{fmt}"
        target.write_bytes(certkit.dump(store, fmt, password=PASSWORD))
        converted = keytool_view(target, PASSWORD)
        assert _without_lengths(converted) == _without_lengths(reference[name])
        assert converted == certkit_view(store)
        report = _java_recovers_every_key(target, tmp_path)
        assert re.search(r", 0 entries failed", report), report

    @pytest.mark.parametrize("fmt", ["jks", "jceks", "pkcs12"])
    @pytest.mark.parametrize("name", ["jdk8-ec.keystore", "sect193r1-and-rsa.p12"])
    def test_opaque_key_is_copied_byte_for_byte(self, made: dict[str, Made], name: str,
                                                fmt: str) -> None:
        """The binary-curve key's PKCS#8 comes back unchanged from JKS, JCEKS and PKCS#12."""
        store = certkit.load(made[name].path, password=made[name].password)
        (opaque,) = store.opaque_entries
        again = certkit.load(certkit.dump(store, fmt, password=PASSWORD), password=PASSWORD)
        (copied,) = again.opaque_entries
        assert (copied.data, copied.chain) == (opaque.data, opaque.chain)

    @pytest.mark.parametrize("name", ["chainless-aes128.jks", "chainless-rsa.jks"])
    def test_chainless_entry_back_into_jks(self, made: dict[str, Made], name: str,
                                           reference: dict[str, dict[str, ViewedEntry]],
                                           tmp_path: pathlib.Path) -> None:
        """A key entry without a chain goes back into JKS as read; keytool lists it again."""
        store = certkit.load(made[name].path, password=PASSWORD)
        (entry,) = store.opaque_entries
        assert entry.kind == "secret key"
        target = tmp_path / name
        target.write_bytes(certkit.dump(store, "jks", password=PASSWORD))
        assert keytool_view(target, PASSWORD) == reference[name]
        (copied,) = certkit.load(target, password=PASSWORD).opaque_entries
        assert copied.data == entry.data

    @pytest.mark.parametrize("fmt", ["jceks", "pkcs12", "pem"])
    def test_chainless_entry_refused_elsewhere(self, made: dict[str, Made], fmt: str) -> None:
        """JCEKS, PKCS#12 and PEM have no place for it: refused by alias, dropped if allowed."""
        store = certkit.load(made["chainless-aes128.jks"].path, password=PASSWORD)
        with pytest.raises(UnrepresentableError, match="'aes128'"):
            certkit.dump(store, fmt, password=PASSWORD)
        certkit.dump(store, fmt, password=PASSWORD, allow_loss=True)
