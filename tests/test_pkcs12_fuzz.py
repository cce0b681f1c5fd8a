"""Fuzzing the PKCS#12 reader: truncations and byte flips raise only CertkitError subclasses."""

from __future__ import annotations

import contextlib

import pytest
from conftest import corpus_path, fuzz_random

from certkit.errors import CertkitError
from certkit.formats import LoadOptions
from certkit.formats.pkcs12 import PKCS12

_CASES = [
    (("boringssl", "crypto", "pkcs8", "test", "no_encryption.p12"), "foo"),
    (("boringssl", "crypto", "pkcs8", "test", "empty_password_ber.p12"), ""),
    (("openssl", "test", "recipes", "80-test_pkcs12_data", "pbmac1_256_256.good.p12"), "1234"),
]


def _try(data: bytes, password: str) -> None:
    with contextlib.suppress(CertkitError):
        PKCS12.load(data, LoadOptions(password=password))


@pytest.mark.parametrize(("parts", "password"), _CASES, ids=[c[0][-1] for c in _CASES])
def test_every_prefix(parts: tuple[str, ...], password: str) -> None:
    """Every truncation of a real file fails (or loads) with a CertkitError only."""
    data = corpus_path(*parts).read_bytes()
    for end in range(len(data)):
        _try(data[:end], password)


@pytest.mark.slow
@pytest.mark.parametrize(("parts", "password"), _CASES, ids=[c[0][-1] for c in _CASES])
def test_sampled_byte_flips(parts: tuple[str, ...], password: str) -> None:
    """A sample of single-byte corruptions (the run's: conftest.FUZZ_SEED) raises nothing
    but CertkitError."""
    data = corpus_path(*parts).read_bytes()
    rng = fuzz_random(parts[-1])
    for _ in range(200):
        index = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[index] ^= rng.randrange(1, 256)
        _try(bytes(flipped), password)
