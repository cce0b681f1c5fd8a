"""The optional C accelerator gives exactly the bytes of the pure-Python code it replaces."""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import types

import pytest

from certkit import _javakeys


def _speedups() -> object:
    try:
        return importlib.import_module("certkit._speedups")
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("certkit._speedups was not built; CI machines have a C compiler")
        pytest.skip("certkit._speedups was not built (no C compiler at install time)")


class TestMD5:
    """The C MD5 (RFC 1321) agrees with hashlib around every padding boundary."""

    @pytest.mark.parametrize("length", [0, 1, 15, 16, 24, 55, 56, 57, 63, 64, 65, 119, 120,
                                        128, 1000])
    def test_matches_hashlib(self, length: int) -> None:
        """Messages of every length class hash to hashlib's MD5."""
        module = _speedups()
        data = bytes((i * 7 + length) % 256 for i in range(length))
        assert module.md5(data) == hashlib.md5(data, usedforsecurity=False).digest()  # type: ignore[attr-defined]


class TestJCEDerivation:
    """PBEWithMD5AndTripleDES key derivation: C and Python give the same key and IV."""

    @pytest.mark.parametrize("password", [b"changeit", b"", b"p" * 70, b"ascii pass 123"])
    @pytest.mark.parametrize("iterations", [1, 2, 17, 1000])
    def test_matches_python(self, password: bytes, iterations: int) -> None:
        """For several passwords (incl. empty and longer than a block) and counts, bytes agree."""
        module = _speedups()
        for salt in (b"\x01\x02\x03\x04\x05\x06\x07\x08", b"abcdabcd"):
            fast = _javakeys.derive_jce_key(password, salt, iterations)
            first, second = salt[:4], salt[4:]
            if first == second:
                first = bytes((first[3], first[0], first[1], first[3]))
            slow = _javakeys._derive_jce_key_python(password, first, second, iterations)
            assert module is not None
            assert fast == slow

    def test_used_when_built(self) -> None:
        """When the accelerator is built, the JCEKS derivation uses it."""
        assert _speedups() is _javakeys._SPEEDUPS

    def test_rejects_zero_iterations(self) -> None:
        """The C function refuses an iteration count the caller should never pass."""
        module = _speedups()
        with pytest.raises(ValueError, match="iterations"):
            module.jce_derive(b"pw", b"abcd", b"efgh", 0)  # type: ignore[attr-defined]


def _sha_ni() -> object:
    module = _speedups()
    if not module.sha256_ni():  # type: ignore[attr-defined]
        pytest.skip("this CPU has no SHA extensions: certkit uses OpenSSL's KDFs here")
    return module


class TestSHA256:
    """The C SHA-256 (x86 SHA extensions) behind the fast KDFs."""

    @pytest.mark.parametrize("length", [*range(130), 183, 1000, 65_536, 100_003])
    def test_matches_hashlib(self, length: int) -> None:
        """Messages of every length around the padding boundaries hash to hashlib's SHA-256."""
        module = _sha_ni()
        data = bytes((i * 31 + length) % 256 for i in range(length))
        assert module.sha256(data) == hashlib.sha256(data).digest()  # type: ignore[attr-defined]

    def test_refuses_without_the_extensions(self) -> None:
        """certkit asks sha256_ni() first; the functions themselves refuse rather than guess."""
        module = _speedups()
        if module.sha256_ni():  # type: ignore[attr-defined]
            pytest.skip("the extensions are present here; the refusal is for CPUs without")
        with pytest.raises(RuntimeError, match="SHA extensions"):
            module.sha256(b"")  # type: ignore[attr-defined]


class TestPBKDF2SHA256:
    """PBKDF2-HMAC-SHA256 in C against RFC 7914's published vectors and OpenSSL."""

    @pytest.mark.parametrize(("password", "salt", "iterations", "expected"), [
        (b"passwd", b"salt", 1,
         ("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
          "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")),
        (b"Password", b"NaCl", 80000,
         ("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
          "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")),
    ])
    def test_rfc_7914_vectors(self, password: bytes, salt: bytes, iterations: int,
                              expected: str) -> None:
        """The two PBKDF2-HMAC-SHA256 test vectors of RFC 7914 section 11 (64-byte output)."""
        module = _sha_ni()
        assert module.pbkdf2_sha256(password, salt, iterations, 64).hex() == expected  # type: ignore[attr-defined]

    @pytest.mark.parametrize("password_length", [0, 1, 14, 55, 63, 64, 65, 200])
    @pytest.mark.parametrize("salt_length", [0, 8, 16, 51, 52, 64, 119, 130])
    def test_matches_openssl(self, password_length: int, salt_length: int) -> None:
        """Passwords longer than the HMAC block, salts across padding boundaries, one to
        four output blocks: the bytes OpenSSL (hashlib) derives."""
        module = _sha_ni()
        password = bytes((i * 5 + 1) % 256 for i in range(password_length))
        salt = bytes((i * 11 + 3) % 256 for i in range(salt_length))
        for iterations, length in ((1, 32), (2, 20), (37, 33), (2048, 32), (5, 100)):
            assert module.pbkdf2_sha256(password, salt, iterations, length) == (  # type: ignore[attr-defined]
                hashlib.pbkdf2_hmac("sha256", password, salt, iterations, length))


class TestPKCS12KDFSHA256:
    """The PKCS#12 KDF (RFC 7292 B.2) with SHA-256 in C against OpenSSL and pure Python."""

    @pytest.mark.parametrize("password", ["", "changeit", "p\u00e4ss w\u00f6rd " * 9])
    @pytest.mark.parametrize("salt_length", [0, 1, 8, 20, 64, 65])
    def test_matches_openssl_and_python(self, password: str, salt_length: int) -> None:
        """Every purpose (key, IV, MAC key), several iteration counts and output lengths
        beyond one digest (which exercise the I_j + B + 1 step)."""
        module = _sha_ni()
        from certkit import _pbe

        bmp = password.encode("utf-16-be") + b"\x00\x00" if password else b""
        salt = bytes((i * 13 + 7) % 256 for i in range(salt_length))
        openssl = _pbe._native_kdf()
        for purpose in (1, 2, 3):
            for iterations, length in ((1, 32), (3, 24), (2048, 32), (10, 70), (2, 200)):
                fast = module.pkcs12_kdf_sha256(bmp, salt, purpose, iterations, length)  # type: ignore[attr-defined]
                assert fast == _pbe._pkcs12_kdf_python("sha256", bmp, salt, purpose, iterations,
                                                       length)
                if openssl is not None and salt:
                    assert fast == openssl("sha256", bmp, salt, purpose, iterations, length)

    def test_used_for_sha256(self) -> None:
        """Where the CPU allows, certkit's SHA-256 derivations go through the C code."""
        module = _sha_ni()
        from certkit import _pbe

        assert _pbe._sha256_kdfs() is module

    def test_rejects_bad_arguments(self) -> None:
        """Counts and lengths certkit never passes are refused, not run."""
        module = _sha_ni()
        with pytest.raises(ValueError, match="iterations"):
            module.pkcs12_kdf_sha256(b"", b"s", 1, 0, 32)  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="iterations"):
            module.pbkdf2_sha256(b"", b"s", 1, 0)  # type: ignore[attr-defined]

    @pytest.mark.parametrize("iterations", [-1, 0, 100_000_001])
    def test_counts_do_not_wrap(self, iterations: int) -> None:
        """A negative or huge count is refused by every C derivation, never wrapped into an
        endless loop (a C unsigned long would take -1 as 2**64 - 1)."""
        module = _speedups()
        with pytest.raises(ValueError, match="iterations"):
            module.jce_derive(b"pw", b"abcd", b"efgh", iterations)  # type: ignore[attr-defined]
        if module.sha256_ni():  # type: ignore[attr-defined]
            with pytest.raises(ValueError, match="iterations"):
                module.pbkdf2_sha256(b"pw", b"s", iterations, 32)  # type: ignore[attr-defined]
            with pytest.raises(ValueError, match="iterations"):
                module.pkcs12_kdf_sha256(b"pw", b"s", 1, iterations, 32)  # type: ignore[attr-defined]
        with pytest.raises(OverflowError):
            module.jce_derive(b"pw", b"abcd", b"efgh", 2**64 + 1)  # type: ignore[attr-defined]

    def test_a_stale_build_is_not_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An accelerator built from an older certkit (no SHA-256 functions) leaves the
        derivations to OpenSSL instead of breaking them."""
        import certkit
        from certkit import _pbe

        stale = types.ModuleType("certkit._speedups")
        monkeypatch.setattr(_pbe, "_fast", [])
        monkeypatch.setitem(sys.modules, "certkit._speedups", stale)
        monkeypatch.setattr(certkit, "_speedups", stale, raising=False)
        assert _pbe._sha256_kdfs() is None
        assert _pbe._pbkdf2(b"pw", b"salt", 3, 32, "sha256") == hashlib.pbkdf2_hmac(
            "sha256", b"pw", b"salt", 3, 32)
