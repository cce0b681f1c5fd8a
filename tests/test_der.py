"""The DER codec: one certificate, key or request per file, detected by content."""

from __future__ import annotations

import pytest
from conftest import PKI, make_key
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import KeyEntry, KeyStore, SecretKeyEntry, TrustedCertEntry, _der
from certkit.errors import DecodeError, PasswordError, UnrepresentableError


class TestReading:
    def test_certificate(self, pki: PKI) -> None:
        """A DER certificate loads as one trusted entry aliased by its CN."""
        store = certkit.load(pki.leaf.certificate.der)
        assert store.format == "der"
        assert store.aliases == ("localhost",)
        assert store.certificates == (pki.leaf.certificate,)

    @pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8,
                                     serialization.PrivateFormat.TraditionalOpenSSL])
    def test_key(self, fmt: serialization.PrivateFormat) -> None:
        """A PKCS#8 or traditional DER key loads as a key entry with an empty chain."""
        key = make_key("EC-P256")
        der = key.key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        (entry,) = certkit.load(der).key_entries
        assert entry.key == key
        assert not entry.chain

    def test_encrypted_key(self, pki: PKI) -> None:
        """An encrypted PKCS#8 DER key needs its password: missing and wrong are told apart."""
        der = certkit.dump(KeyStore([KeyEntry("k", pki.leaf.key)]), "der", password="pw")
        with pytest.raises(PasswordError) as missing:
            certkit.load(der)
        assert missing.value.missing
        with pytest.raises(PasswordError) as wrong:
            certkit.load(der, password="nope")
        assert not wrong.value.missing
        assert certkit.load(der, password="pw").key_entries[0].key == pki.leaf.key

    def test_trailing_bytes_rejected(self, pki: PKI) -> None:
        """A certificate followed by extra bytes is not silently accepted."""
        with pytest.raises(DecodeError):
            certkit.load(pki.leaf.certificate.der + b"\x00\x00")

    def test_sequence_that_is_nothing(self) -> None:
        """A well-formed SEQUENCE that is no certificate, key or request raises DecodeError."""
        with pytest.raises(DecodeError, match="not a DER certificate, private key"):
            certkit.load(b"\x30\x03\x02\x01\x05", format="der")


class TestWriting:
    def test_certificate_round_trip(self, pki: PKI) -> None:
        """A one-certificate store dumps to exactly the certificate's DER."""
        store = KeyStore([TrustedCertEntry("x", pki.root.certificate)])
        assert certkit.dump(store, "der") == pki.root.certificate.der

    def test_key_round_trip(self, pki: PKI) -> None:
        """A lone key dumps to its PKCS#8 DER."""
        store = KeyStore([KeyEntry("k", pki.leaf.key)])
        assert certkit.dump(store, "der") == pki.leaf.key.pkcs8

    def test_key_entry_needs_allow_loss(self, pki: PKI) -> None:
        """A key with its chain cannot be one DER object: the error lists key and extra certs."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)])
        with pytest.raises(UnrepresentableError) as info:
            certkit.dump(store, "der")
        assert info.value.lost == ("private key of 'web'", "2 certificate(s) of 'web'")
        assert certkit.dump(store, "der", allow_loss=True) == pki.leaf.certificate.der
        assert certkit.dump(store, "der", content="key", allow_loss=True) == pki.leaf.key.pkcs8

    def test_two_certificates_need_allow_loss(self, pki: PKI) -> None:
        """A second certificate would be dropped: UnrepresentableError names its subject."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate),
                          TrustedCertEntry("b", pki.intermediate.certificate)])
        with pytest.raises(UnrepresentableError, match="Intermediate"):
            certkit.dump(store, "der")

    def test_secret_key_lost(self, pki: PKI) -> None:
        """A secret key beside the certificate is named as lost."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate),
                          SecretKeyEntry("s", "AES", bytes(16))])
        with pytest.raises(UnrepresentableError, match="secret key 's'"):
            certkit.dump(store, "der")

    def test_empty_store(self) -> None:
        """An empty store has nothing to write as DER."""
        with pytest.raises(UnrepresentableError, match="no certificate request"):
            certkit.dump(KeyStore(), "der")


class TestSequenceTags:
    @pytest.mark.parametrize(("data", "expected"), [
        (b"\x30\x00", []),
        (b"\x30\x03\x02\x01\x01", [0x02]),
        (b"\x30\x06\x30\x00\x30\x00\x03\x00", [0x30, 0x30, 0x03]),
        (b"\x30\x81\x03\x02\x01\x01", [0x02]),  # long-form length
    ])
    def test_shapes(self, data: bytes, expected: list[int]) -> None:
        """The tags inside one SEQUENCE that fills the data exactly."""
        assert _der.sequence_tags(data) == expected

    @pytest.mark.parametrize("data", [
        b"", b"\x30", b"\x04\x00", b"\x30\x04\x02\x01\x01",  # not a SEQUENCE; too short
        b"\x30\x06\x30\x00\x30\x00\x03\x00\x00",  # trailing byte
        b"\x30\x03\x02\x02\x01",  # inner element overruns
        b"\x30\x80\x00\x00", b"\x30\x02\x1f\x00",  # indefinite length; multi-byte tag
    ])
    def test_not_one_sequence(self, data: bytes) -> None:
        """Anything else is None, never an exception."""
        assert _der.sequence_tags(data) is None

    def test_most(self) -> None:
        """More elements than ``most`` is None (bounded work on hostile input)."""
        assert _der.sequence_tags(b"\x30\x06" + b"\x05\x00" * 3, most=2) is None
