"""PKCS#12 interoperability with the real openssl 3 and Java 17 keytool, in both directions."""

from __future__ import annotations

import pathlib
import re

import pytest
from conftest import PKI, keytool, openssl

from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.formats import DumpOptions, LoadOptions
from certkit.formats.pkcs12 import PKCS12

pytestmark = pytest.mark.interop

PW = "changeit"


def _dump(store: KeyStore, **options: object) -> bytes:
    return PKCS12.dump(store, DumpOptions(password=PW, extra=options)).data


def _keytool_list(path: pathlib.Path) -> list[dict[str, object]]:
    """Parse ``keytool -list -v``: alias, entry type, chain length and SHA-256 fingerprints."""
    out = keytool("-list", "-v", "-storetype", "PKCS12", "-keystore", path,
                  "-storepass", PW).stdout.decode()
    entries: list[dict[str, object]] = []
    for block in out.split("Alias name: ")[1:]:
        alias = block.splitlines()[0].strip()
        kind = re.search(r"Entry type: (\w+)", block)
        length = re.search(r"Certificate chain length: (\d+)", block)
        prints = re.findall(r"SHA256: ([0-9A-F:]+)", block)
        entries.append({"alias": alias, "type": kind.group(1) if kind else None,
                        "length": int(length.group(1)) if length else 1,
                        "sha256": [p.replace(":", "").lower() for p in prints]})
    return sorted(entries, key=lambda e: str(e["alias"]))


def _expected(store: KeyStore) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for entry in store.entries:
        if isinstance(entry, KeyEntry):
            rows.append({"alias": entry.alias.lower(), "type": "PrivateKeyEntry",
                         "length": len(entry.chain),
                         "sha256": [c.fingerprint() for c in entry.chain]})
        elif isinstance(entry, TrustedCertEntry) and entry.trusted:
            rows.append({"alias": entry.alias.lower(), "type": "trustedCertEntry", "length": 1,
                         "sha256": [entry.certificate.fingerprint()]})
    return sorted(rows, key=lambda e: str(e["alias"]))


@pytest.fixture(scope="module")
def multi_key_store(pki: PKI, other_pki: PKI) -> KeyStore:
    """Two key entries with full chains and a trusted root."""
    return KeyStore(entries=[
        KeyEntry("web", pki.leaf.key, pki.chain),
        KeyEntry("other", other_pki.leaf.key, other_pki.chain),
        TrustedCertEntry("root-ca", pki.root.certificate),
    ])


class TestCertkitToTools:
    """What certkit writes, openssl and keytool read with the same entries."""

    @pytest.mark.parametrize("profile", ["modern", "legacy"])
    def test_openssl_reads_multi_key_store(self, tmp_path: pathlib.Path,
                                           multi_key_store: KeyStore, profile: str) -> None:
        """openssl pkcs12 -info verifies the MAC and finds both keys and every certificate."""
        path = tmp_path / "multi.p12"
        path.write_bytes(_dump(multi_key_store, profile=profile, iterations=2048))
        legacy = ["-legacy"] if profile == "legacy" else []
        out = openssl("pkcs12", *legacy, "-info", "-in", path, "-passin", f"pass:{PW}",
                      "-passout", "pass:x").stdout.decode()
        assert out.count("-----BEGIN ENCRYPTED PRIVATE KEY-----") == 2
        assert out.count("-----BEGIN CERTIFICATE-----") == 7
        assert "friendlyName: web" in out
        assert "friendlyName: other" in out

    @pytest.mark.parametrize("profile", ["modern", "legacy"])
    def test_keytool_reads_multi_key_store(self, tmp_path: pathlib.Path,
                                           multi_key_store: KeyStore, profile: str) -> None:
        """keytool -list -v shows each key with its alias, chain length and fingerprints."""
        path = tmp_path / "multi.p12"
        path.write_bytes(_dump(multi_key_store, profile=profile))
        assert _keytool_list(path) == _expected(multi_key_store)

    def test_keytool_reads_truststore(self, tmp_path: pathlib.Path, pki: PKI,
                                      other_pki: PKI) -> None:
        """Trusted entries get Java's attribute, so keytool lists them as trustedCertEntry."""
        store = KeyStore(entries=[TrustedCertEntry("root one", pki.root.certificate),
                                  TrustedCertEntry("root two", other_pki.root.certificate)])
        path = tmp_path / "trust.p12"
        path.write_bytes(_dump(store))
        assert _keytool_list(path) == _expected(store)

    def test_converted_openssl_legacy_export(self, tmp_path: pathlib.Path, pki: PKI) -> None:
        """An `openssl pkcs12 -export -legacy` file, converted, lists the same in keytool."""
        key_pem, certs_pem = tmp_path / "key.pem", tmp_path / "certs.pem"
        key_pem.write_bytes(pki.leaf.key.to_pem())
        certs_pem.write_bytes(b"".join(c.to_pem() for c in pki.chain))
        source = tmp_path / "legacy.p12"
        openssl("pkcs12", "-export", "-legacy", "-inkey", key_pem, "-in", certs_pem,
                "-name", "tomcat", "-out", source, "-passout", f"pass:{PW}")
        store = PKCS12.load(source.read_bytes(), LoadOptions(password=PW))
        assert [p.weak for p in store.protection if "RC2" in p.algorithm] == [
            "RC2-40 is breakable"]
        converted = tmp_path / "modern.p12"
        converted.write_bytes(_dump(store))
        listed = _keytool_list(converted)
        assert listed == _expected(store)
        assert listed[0]["alias"] == "tomcat"
        assert listed[0]["length"] == 3
        openssl("pkcs12", "-info", "-noout", "-in", converted, "-passin", f"pass:{PW}")


class TestToolsToCertkit:
    """What keytool and openssl write, certkit reads completely."""

    def test_keytool_store_with_two_keys_and_a_trusted_ca(self, tmp_path: pathlib.Path,
                                                          pki: PKI) -> None:
        """A keytool PKCS12 keystore keeps both keys, their chains, the trusted CA and aliases."""
        path = tmp_path / "keystore.p12"
        for alias in ("tomcat", "backup"):
            keytool("-genkeypair", "-storetype", "PKCS12", "-keystore", path, "-storepass", PW,
                    "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1",
                    "-dname", f"CN={alias}.example.test", "-validity", "365")
        ca = tmp_path / "ca.pem"
        ca.write_bytes(pki.root.certificate.to_pem())
        keytool("-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", path,
                "-storepass", PW, "-alias", "my root", "-file", ca)
        store = PKCS12.load(path.read_bytes(), LoadOptions(password=PW))
        assert sorted(store.aliases) == ["backup", "my root", "tomcat"]
        for alias in ("tomcat", "backup"):
            entry = store[alias]
            assert isinstance(entry, KeyEntry)
            assert entry.created is not None  # keytool's "Time <ms>" localKeyID
            assert entry.chain.leaf is not None
            assert entry.chain.leaf.common_name == f"{alias}.example.test"
            assert entry.private_key.matches(entry.chain.leaf)
        trusted = store["my root"]
        assert isinstance(trusted, TrustedCertEntry)
        assert trusted.trusted
        assert trusted.certificate == pki.root.certificate
        # And back: certkit's rewrite lists identically in keytool.
        again = tmp_path / "again.p12"
        again.write_bytes(_dump(store))
        assert _keytool_list(again) == _keytool_list(path)

    def test_openssl_modern_export(self, tmp_path: pathlib.Path, pki: PKI) -> None:
        """An OpenSSL 3 default export (AES-256, SHA-256 MAC) opens with its chain and name."""
        key_pem, certs_pem = tmp_path / "key.pem", tmp_path / "certs.pem"
        key_pem.write_bytes(pki.leaf.key.to_pem())
        certs_pem.write_bytes(b"".join(c.to_pem() for c in pki.chain))
        out = tmp_path / "out.p12"
        openssl("pkcs12", "-export", "-inkey", key_pem, "-in", certs_pem, "-name", "web",
                "-out", out, "-passout", f"pass:{PW}")
        store = PKCS12.load(out.read_bytes(), LoadOptions(password=PW))
        (entry,) = store.key_entries
        assert entry.alias == "web"
        assert tuple(entry.chain) == pki.chain
        assert entry.private_key == pki.leaf.key


class TestChainCertificateAttributes:
    """Attributes on the chain's certificate bags survive a certkit round trip."""

    def test_openssl_caname_survives(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """``openssl pkcs12 -export -caname`` names on CA bags survive a certkit round trip."""
        leaf, key, inter = tmp_path / "leaf.pem", tmp_path / "leaf.key", tmp_path / "inter.pem"
        leaf.write_bytes(pki.leaf.certificate.to_pem())
        key.write_bytes(pki.leaf.key.to_pem())
        inter.write_bytes(pki.intermediate.certificate.to_pem())
        original = tmp_path / "orig.p12"
        openssl("pkcs12", "-export", "-in", leaf, "-inkey", key, "-certfile", inter,
                "-name", "site", "-caname", "Issuing CA", "-passout", f"pass:{PW}",
                "-out", original)
        store = PKCS12.load(original.read_bytes(), LoadOptions(password=PW))
        (entry,) = store.key_entries
        assert [a.friendly_name for a in entry.certificate_attributes] == [None, "Issuing CA"]
        rewritten = tmp_path / "again.p12"
        rewritten.write_bytes(_dump(store))
        shown = openssl("pkcs12", "-in", rewritten, "-nokeys", "-passin", f"pass:{PW}").stdout
        assert shown.count(b"friendlyName: Issuing CA") == 1
        assert shown.count(b"friendlyName: site") == 1
        assert PKCS12.load(rewritten.read_bytes(), LoadOptions(password=PW)) == store


class TestKeytoolSharedChain:
    """keytool writes a shared CA once per chain, named by its subject; those are not entries."""

    def test_two_keys_under_one_ca_are_two_entries(self, tmp_path: pathlib.Path) -> None:
        """Two key entries signed by one CA load as exactly the two entries keytool lists."""
        ca, ks = tmp_path / "ca.p12", tmp_path / "ks.p12"
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-dname", "CN=Shared CA",
                "-ext", "bc:c", "-keystore", ca, "-storepass", PW, "-storetype", "PKCS12")
        keytool("-exportcert", "-alias", "ca", "-keystore", ca, "-storepass", PW, "-rfc",
                "-file", tmp_path / "ca.crt")
        for alias in ("one", "two"):
            keytool("-genkeypair", "-alias", alias, "-keyalg", "EC", "-dname", f"CN={alias}",
                    "-keystore", ks, "-storepass", PW, "-storetype", "PKCS12")
            keytool("-certreq", "-alias", alias, "-keystore", ks, "-storepass", PW,
                    "-file", tmp_path / f"{alias}.csr")
            keytool("-gencert", "-alias", "ca", "-keystore", ca, "-storepass", PW, "-rfc",
                    "-infile", tmp_path / f"{alias}.csr", "-outfile", tmp_path / f"{alias}.crt")
            chain = tmp_path / f"{alias}.chain"
            chain.write_bytes((tmp_path / f"{alias}.crt").read_bytes()
                              + (tmp_path / "ca.crt").read_bytes())
            keytool("-importcert", "-alias", alias, "-keystore", ks, "-storepass", PW,
                    "-file", chain, "-noprompt")
        store = PKCS12.load(ks.read_bytes(), LoadOptions(password=PW))
        assert [(e.alias, len(e.chain)) for e in store.key_entries] == [("one", 2), ("two", 2)]
        assert store.aliases == ("one", "two")
        assert [e["alias"] for e in _keytool_list(ks)] == ["one", "two"]
