"""Certificates and keys parsed on first use: what copying a keystore needs, and what it skips.

A JKS or JCEKS copied to another Java keystore needs only the bytes of its certificates and
keys, so the Java codec keeps them as read (``Certificate(der, lazy=True)``,
``PrivateKey.from_pkcs8``) and cryptography is not even imported. These tests pin the
semantics: the DER framing is checked at once, the content on first use, equality and
hashing are those of the parsed values, and keys keep the encoding the JDK gave them.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import subprocess
import sys

import attrs
import pytest
from conftest import PKI, keytool, openssl

import certkit
from certkit import Certificate, KeyEntry, PrivateKey, TrustedCertEntry
from certkit._model import kept_trusted_entry
from certkit.errors import DecodeError

STOREPASS = "changeit"
CREATED = dt.datetime(2024, 5, 17, 8, 30, 15, 123000, tzinfo=dt.timezone.utc)


def _damaged_inside(der: bytes) -> bytes:
    """The certificate with its TBS version field turned into garbage, framing intact."""
    # Outer SEQUENCE header, TBS SEQUENCE header, then [0] { INTEGER 2 }: A0 03 02 01 02.
    index = der.index(b"\xa0\x03\x02\x01\x02")
    return der[:index] + b"\xa0\x03\x02\x01\x07" + der[index + 5 :]


class TestLazyCertificate:
    def test_framing_is_checked_at_once(self) -> None:
        """Bytes that are not SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING } fail even when lazy."""
        for junk in (b"", b"\x30\x03\x02\x01\x01", b"\x30\x00", b"\x04\x02ab"):
            with pytest.raises(DecodeError, match=r"not a valid X\.509 certificate"):
                Certificate(junk, lazy=True)

    def test_trailing_bytes_fail_at_once(self, pki: PKI) -> None:
        """A certificate followed by extra bytes is rejected before any parsing."""
        with pytest.raises(DecodeError):
            Certificate(pki.leaf.certificate.der + b"\x00", lazy=True)

    def test_content_is_checked_on_first_use(self, pki: PKI) -> None:
        """Well-framed but invalid content is accepted lazily and fails when read."""
        bad = _damaged_inside(pki.leaf.certificate.der)
        with pytest.raises(DecodeError):
            Certificate(bad)  # the default parses at once, as before
        lazy = Certificate(bad, lazy=True)
        assert lazy.der == bad
        assert lazy.fingerprint()  # needs only the bytes
        with pytest.raises(DecodeError, match=r"not a valid X\.509 certificate"):
            _ = lazy.subject

    def test_lazy_equals_parsed(self, pki: PKI) -> None:
        """Laziness is invisible to equality, hashing and every parsed property."""
        cert = pki.leaf.certificate
        lazy = Certificate(cert.der, lazy=True)
        assert lazy == cert
        assert hash(lazy) == hash(cert)
        assert (lazy.subject, lazy.serial_number, lazy.san, lazy.not_after) == (
            cert.subject, cert.serial_number, cert.san, cert.not_after)

    def test_pem_is_what_openssl_writes(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """to_pem armours the DER itself; openssl re-encodes it to the same bytes."""
        cert = Certificate(pki.intermediate.certificate.der, lazy=True)
        source = tmp_path / "c.pem"
        source.write_bytes(cert.to_pem())
        assert openssl("x509", "-in", str(source)).stdout == cert.to_pem()


class TestKeptTrustedEntry:
    """What the Java codec builds for each trusted certificate it reads in bulk."""

    def test_same_as_the_constructors(self, pki: PKI) -> None:
        """Field for field, equal, with the same hash, as the attrs constructors build it."""
        der = pki.root.certificate.der
        kept = kept_trusted_entry("ca", der, CREATED)
        built = TrustedCertEntry("ca", Certificate(der, lazy=True), created=CREATED)
        assert kept is not None
        assert kept == built
        assert hash(kept) == hash(built)
        for name in ("der", "lazy", "_parsed"):
            assert getattr(kept.certificate, name) == getattr(built.certificate, name)
        assert attrs.asdict(kept, recurse=False) == attrs.asdict(built, recurse=False)
        assert kept.certificate.subject == pki.root.certificate.subject  # parsed on first use

    def test_frozen(self, pki: PKI) -> None:
        """The entry and its certificate stay immutable."""
        kept = kept_trusted_entry("ca", pki.root.certificate.der, None)
        assert kept is not None
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            kept.alias = "other"  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            kept.certificate.der = b""  # type: ignore[misc]

    def test_refuses_what_the_constructor_would_not_keep(self, pki: PKI) -> None:
        """Bad framing and bytes-like objects that are not bytes are left to the constructor."""
        der = pki.root.certificate.der
        for junk in (b"", b"\x30\x03\x02\x01\x01", der + b"\x00", der[:-1]):
            assert kept_trusted_entry("ca", junk, None) is None
        assert kept_trusted_entry("ca", bytearray(der), None) is None  # type: ignore[arg-type]

    def test_every_field_is_set(self) -> None:
        """The fields filled by hand are all the fields the classes have."""
        assert [f.name for f in attrs.fields(Certificate)] == ["der", "lazy", "_parsed"]
        assert [f.name for f in attrs.fields(TrustedCertEntry)] == [
            "alias", "certificate", "attributes", "created", "trusted"]


class TestKeyFromPkcs8:
    def test_equal_and_hash_with_the_parsed_key(self, pki: PKI) -> None:
        """A key kept as PKCS#8 bytes equals the key object it encodes."""
        key = pki.leaf.key
        kept = PrivateKey.from_pkcs8(key.pkcs8)
        assert kept == key
        assert key == kept
        assert hash(kept) == hash(key)
        assert kept != pki.root.key
        assert kept.matches(pki.leaf.certificate)

    def test_framing_is_checked_at_once(self) -> None:
        """Bytes that are not a PrivateKeyInfo fail when wrapped, not later."""
        for junk in (b"", b"\x30\x03\x02\x01\x00", b"\x04\x01a"):
            with pytest.raises(DecodeError, match="not a readable private key"):
                PrivateKey.from_pkcs8(junk)

    def test_content_is_checked_on_first_use(self, pki: PKI) -> None:
        """A well-framed PrivateKeyInfo with a broken key inside fails when the key is used."""
        pkcs8 = bytearray(pki.leaf.key.pkcs8)
        inner = pkcs8.index(b"\x04\x82", 8) + 4  # the RSAPrivateKey inside the OCTET STRING
        assert pkcs8[inner] == 0x30
        pkcs8[inner] = 0x31  # a SET where the key's SEQUENCE should be
        kept = PrivateKey.from_pkcs8(bytes(pkcs8))
        with pytest.raises(DecodeError, match="not a readable private key"):
            _ = kept.algorithm

    def test_needs_exactly_one_source(self, pki: PKI) -> None:
        """A key object or encoded bytes, not both and not neither."""
        with pytest.raises(TypeError):
            PrivateKey()
        with pytest.raises(TypeError):
            PrivateKey(pki.leaf.key.key, encoded=pki.leaf.key.pkcs8)


@pytest.fixture(scope="module")
def java_ec_store(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A JKS made by keytool with an EC key (the JDK encodes EC PKCS#8 its own way)."""
    folder = tmp_path_factory.mktemp("lazy-jks")
    store = folder / "ec.jks"
    keytool("-genkeypair", "-keystore", str(store), "-storetype", "JKS", "-storepass",
            STOREPASS, "-keypass", STOREPASS, "-alias", "ec", "-keyalg", "EC", "-groupname",
            "secp256r1", "-dname", "CN=lazy.example.test", "-validity", "30")
    keytool("-genkeypair", "-keystore", str(store), "-storetype", "JKS", "-storepass",
            STOREPASS, "-keypass", STOREPASS, "-alias", "rsa", "-keyalg", "RSA", "-keysize",
            "2048", "-dname", "CN=rsa.example.test", "-validity", "30")
    return store


class TestJavaKeystoreCopy:
    def test_keys_keep_the_jdk_encoding(self, java_ec_store: pathlib.Path,
                                        tmp_path: pathlib.Path) -> None:
        """JKS to JKS writes each key's PKCS#8 exactly as the JDK wrote it; keytool reads it."""
        store = certkit.load(java_ec_store, password=STOREPASS)
        target = tmp_path / "copy.jks"
        certkit.save(store, target, password=STOREPASS)
        again = certkit.load(target, password=STOREPASS)
        for alias in ("ec", "rsa"):
            before, after = store[alias], again[alias]
            assert isinstance(before, KeyEntry)
            assert isinstance(after, KeyEntry)
            assert after.private_key.encoded == before.private_key.encoded
            assert after.private_key == before.private_key
            assert after.private_key.matches(after.chain.leaf)  # type: ignore[arg-type]
        listing = keytool("-list", "-keystore", str(target), "-storepass", STOREPASS).stdout
        assert listing.count(b"PrivateKeyEntry") == 2

    def test_pem_export_of_a_jdk_key_reads_in_openssl(self, java_ec_store: pathlib.Path,
                                                     tmp_path: pathlib.Path) -> None:
        """The canonical encoding, used outside Java keystores, is what openssl expects."""
        store = certkit.load(java_ec_store, password=STOREPASS)
        entry = store["ec"]
        assert isinstance(entry, KeyEntry)
        target = tmp_path / "ec.pem"
        certkit.save(certkit.KeyStore([entry]), target)
        text = openssl("pkey", "-in", str(target), "-noout", "-text").stdout.decode()
        assert "P-256" in text
        modulus = openssl("pkey", "-in", str(target), "-pubout", "-outform", "DER").stdout
        assert modulus == entry.chain.leaf.spki  # type: ignore[union-attr]

    def test_copy_does_not_import_cryptography(self, java_ec_store: pathlib.Path,
                                               tmp_path: pathlib.Path) -> None:
        """Loading and writing a JKS (keys decrypted, certificates carried) needs no parsing.

        This is what makes ``certkit convert a.jks b.jks`` start fast (docs/benchmarks.md,
        workload 2); reading a certificate's subject then imports cryptography on demand.
        """
        code = (
            "import json, sys, certkit\n"
            f"s = certkit.load({str(java_ec_store)!r}, password={STOREPASS!r})\n"
            f"certkit.save(s, {str(tmp_path / 'x.jks')!r}, password={STOREPASS!r})\n"
            "before = 'cryptography' in sys.modules\n"
            "subject = s['ec'].chain.leaf.subject\n"
            "print(json.dumps([before, 'cryptography' in sys.modules, subject]))\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True)
        assert json.loads(result.stdout) == [False, True, "CN=lazy.example.test"]

    def test_damaged_certificate_fails_when_read(self, pki: PKI,
                                                 tmp_path: pathlib.Path) -> None:
        """A trusted entry whose certificate is damaged inside loads, and fails when read."""
        good = certkit.KeyStore([certkit.TrustedCertEntry("ca", pki.root.certificate)])
        data = certkit.dump(good, "jks", password=STOREPASS)
        bad_der = _damaged_inside(pki.root.certificate.der)
        assert len(bad_der) == len(pki.root.certificate.der)
        damaged = data.replace(pki.root.certificate.der, bad_der)
        # The store digest no longer matches: read it without a password, as keytool -list
        # without -storepass would.
        store = certkit.load(damaged)
        (entry,) = store.trusted_entries
        assert entry.certificate.der == bad_der
        with pytest.raises(DecodeError, match=r"not a valid X\.509 certificate"):
            _ = entry.certificate.subject
