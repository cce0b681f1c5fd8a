"""Tests for certkit._crypto.pbe: the PKCS#12 KDF, RC2, PBE schemes, MACs and hard limits."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from certkit._crypto import der as _der
from certkit._crypto import pbe as _pbe
from certkit.errors import DecodeError, PasswordError


class TestPKCS12KDF:
    """RFC 7292 appendix B against independent published vectors."""

    # Vectors from the PKCS#12 KDF test set published with Bouncy Castle / OpenSSL's
    # test/pkcs12_format_test.c lineage: password "smeg", salt 0A58CF64530D823F.
    def test_key_vector_sha1(self) -> None:
        """The SHA-1 key (purpose 1) for password "smeg" matches the published 3DES key."""
        form = _pbe.password_forms("smeg")[0]
        key = _pbe.pkcs12_kdf("sha1", form.kdf, bytes.fromhex("0A58CF64530D823F"), 1, 1, 24)
        assert key.hex().upper() == "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"

    def test_iv_vector_sha1(self) -> None:
        """The SHA-1 IV (purpose 2) for password "smeg" matches the published IV."""
        form = _pbe.password_forms("smeg")[0]
        iv = _pbe.pkcs12_kdf("sha1", form.kdf, bytes.fromhex("0A58CF64530D823F"), 2, 1, 8)
        assert iv.hex().upper() == "79993DFE048D3B76"

    def test_bmp_password_form(self) -> None:
        """A text password becomes UTF-16BE with two trailing zero bytes; None is empty."""
        assert _pbe.password_forms("ab")[0].kdf == b"\x00a\x00b\x00\x00"
        assert _pbe.password_forms(None)[0].kdf == b""
        assert _pbe.password_forms("")[0].kdf == b"\x00\x00"

    def test_none_and_empty_are_tried_as_each_other(self) -> None:
        """Tools confuse None and "", so both forms are offered for each."""
        assert [f.kdf for f in _pbe.password_forms(None)] == [b"", b"\x00\x00"]
        assert [f.kdf for f in _pbe.password_forms("")] == [b"\x00\x00", b""]

    def test_absurd_iterations_refused_before_work(self) -> None:
        """An iteration count above 10,000,000 is refused at once."""
        with pytest.raises(DecodeError, match="absurd"):
            _pbe.pkcs12_kdf("sha1", b"", b"salt", 1, 10_000_001, 24)

    def test_zero_iterations_refused(self) -> None:
        """Zero iterations is not a valid count."""
        with pytest.raises(DecodeError):
            _pbe.pkcs12_kdf("sha256", b"", b"salt", 3, 0, 32)


class TestRC2:
    """The pure-Python RC2 against RFC 2268's vectors and cryptography's RC2-128."""

    @pytest.mark.parametrize(
        ("key", "bits", "plain", "cipher"),
        [
            ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
            ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
            ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
            ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
        ],
    )
    def test_rfc2268_vectors(self, key: str, bits: int, plain: str, cipher: str) -> None:
        """Each RFC 2268 section 5 vector encrypts and decrypts as published."""
        zero_iv = bytes(8)
        out = _pbe.rc2_cbc(bytes.fromhex(key), zero_iv, bytes.fromhex(plain),
                           effective_bits=bits, encrypt=True)
        assert out.hex() == cipher
        back = _pbe.rc2_cbc(bytes.fromhex(key), zero_iv, out, effective_bits=bits, encrypt=False)
        assert back.hex() == plain

    def test_matches_cryptography_rc2_128(self) -> None:
        """RC2-128 CBC output equals cryptography's (OpenSSL's) implementation."""
        key, iv, data = os.urandom(16), os.urandom(8), os.urandom(80)
        enc = Cipher(RC2(key), modes.CBC(iv)).encryptor()
        expected = enc.update(data) + enc.finalize()
        assert _pbe.rc2_cbc(key, iv, data, effective_bits=128, encrypt=True) == expected


class TestSchemes:
    """Encryption round trips, wrong passwords and descriptions for every writable scheme."""

    @pytest.mark.parametrize("scheme", ["AES-256-CBC", "AES-128-CBC", "3des", "2des", "rc2-40",
                                        "rc2-128"])
    def test_round_trip(self, scheme: str) -> None:
        """What encrypt() produces, decrypt() opens with the same password."""
        form = _pbe.password_forms("pässword")[0]
        alg, ciphertext = _pbe.encrypt(scheme, b"secret data", form, 50)
        node = _der.Node.parse(alg)
        assert _pbe.decrypt(node, ciphertext, form, what="test") == b"secret data"
        assert _pbe.describe(node).iterations == 50

    def test_wrong_password_is_password_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bad padding after decryption is reported as a wrong password.

        Salt and IV are fixed: with random ones, one wrong key in ~256 decrypts to valid
        padding by chance (then the caller's parse of the garbage is what fails).
        """
        monkeypatch.setattr(_pbe.os, "urandom", lambda n: bytes(range(n)))
        alg, ciphertext = _pbe.encrypt("AES-256-CBC", b"x" * 40, _pbe.password_forms("a")[0], 10)
        with pytest.raises(PasswordError):
            _pbe.decrypt(_der.Node.parse(alg), ciphertext, _pbe.password_forms("b")[0],
                         what="test")

    def test_rc2_40_is_reported_weak(self) -> None:
        """RC2-40 is described with its weakness."""
        alg, _ = _pbe.encrypt("rc2-40", b"x", _pbe.password_forms("a")[0], 2048)
        assert _pbe.describe(_der.Node.parse(alg)).weak == "RC2-40 is breakable"


class TestDecryptPKCS8:
    """decrypt_pkcs8 opens what OpenSSL-compatible writers produce."""

    def test_cryptography_pbes2_key(self) -> None:
        """A PBES2 key written by cryptography decrypts to its PKCS#8."""
        key = ec.generate_private_key(ec.SECP256R1())
        encrypted = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"pw"))
        plain = _pbe.decrypt_pkcs8(encrypted, "pw")
        assert plain == key.private_bytes(serialization.Encoding.DER,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    def test_legacy_3des_key(self) -> None:
        """A pbeWithSHA1And3-KeyTripleDES key (which cryptography cannot read) decrypts."""
        key = ec.generate_private_key(ec.SECP256R1())
        plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        alg, ciphertext = _pbe.encrypt("3des", plain, _pbe.password_forms("pw")[0], 2048)
        blob = _der.encode(0x30, alg + _der.encode(0x04, ciphertext))
        assert _pbe.decrypt_pkcs8(blob, "pw") == plain
        with pytest.raises(PasswordError):
            _pbe.decrypt_pkcs8(blob, "wrong")
        with pytest.raises(PasswordError) as info:
            _pbe.decrypt_pkcs8(blob, None)
        assert info.value.missing


class TestBER:
    """The BER reader handles indefinite lengths and bounds constructed strings."""

    def test_indefinite_length_and_constructed_octets(self) -> None:
        """A constructed, indefinite-length OCTET STRING yields its joined chunks."""
        data = bytes.fromhex("24800402abcd0401ef0000")
        assert _der.Node.parse(data).octets() == bytes.fromhex("abcdef")

    def test_deeply_nested_constructed_string_refused(self) -> None:
        """Constructed strings nested deeper than OpenSSL allows are a DecodeError."""
        data = bytes.fromhex("0401aa")
        for _ in range(10):
            data = _der.encode(0x24, data)
        with pytest.raises(DecodeError, match="nested"):
            _der.Node.parse(data).octets()

    def test_truncated(self) -> None:
        """A truncated element is a DecodeError."""
        with pytest.raises(DecodeError):
            _der.Node.parse(bytes.fromhex("3005020101"))


