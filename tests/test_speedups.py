"""The optional C accelerator gives exactly the bytes of the pure-Python code it replaces."""

from __future__ import annotations

import hashlib
import importlib
import os

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
