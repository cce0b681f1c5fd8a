"""certkit's pure-Python Twofish against the published vectors and the ``twofish`` C module.

Vectors: the Twofish paper's appendix and ecb_tbl.txt / ecb_ival.txt from the authors'
reference package (Schneier et al., 1998): the zero-key known answers for each key size,
the 192- and 256-bit "intermediate values" keys, and the iterated 49-step test.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from conftest import import_twofish

from certkit._crypto import twofish as _twofish
from certkit._crypto.twofish import Twofish

KNOWN_ANSWERS = [
    # (key, plaintext, ciphertext), all hex
    ("00" * 16, "00" * 16, "9F589F5CF6122C32B6BFEC2F2AE8C35A"),
    ("00" * 24, "00" * 16, "EFA71F788965BD4453F860178FC19101"),
    ("00" * 32, "00" * 16, "57FF739D4DC92C1BD7FC01700CC8216F"),
    ("0123456789ABCDEFFEDCBA98765432100011223344556677", "00" * 16,
     "CFD1D2E5A9BE9CDF501F13B892BD2248"),
    ("0123456789ABCDEFFEDCBA987654321000112233445566778899AABBCCDDEEFF", "00" * 16,
     "37527BE0052334B89F0CFCCAE87CFA20"),
    # ecb_ival.txt, I=2, I=3 and I=49 for a 128-bit key
    ("00" * 16, "9F589F5CF6122C32B6BFEC2F2AE8C35A", "D491DB16E7B1C39E86CB086B789F5419"),
    ("9F589F5CF6122C32B6BFEC2F2AE8C35A", "D491DB16E7B1C39E86CB086B789F5419",
     "019F9809DE1711858FAAC3A3BA20FBC3"),
    ("BCA724A54533C6987E14AA827952F921", "6B459286F3FFD28D49F15B1581B08E42",
     "5D9D4EEFFA9151575524F115815A12E0"),
]

#: The 49th ciphertext of the iterated test, per key length in bytes.
ITERATED = {16: "5D9D4EEFFA9151575524F115815A12E0",
            24: "E75449212BEEF9F4A390BD860A640941",
            32: "37FE26FF1CF66175F5DDF4C33B97A205"}


def reference_twofish() -> ModuleType:
    """The PyPI ``twofish`` module, skipping visibly where it cannot be imported."""
    return import_twofish()


@pytest.mark.parametrize(("key", "plain", "cipher"), KNOWN_ANSWERS)
def test_known_answers(key: str, plain: str, cipher: str) -> None:
    """Each published key/plaintext pair encrypts to its ciphertext and decrypts back."""
    engine = Twofish(bytes.fromhex(key))
    assert engine.encrypt_block(bytes.fromhex(plain)).hex().upper() == cipher
    assert engine.decrypt_block(bytes.fromhex(cipher)) == bytes.fromhex(plain)


@pytest.mark.parametrize("key_length", sorted(ITERATED))
def test_iterated(key_length: int) -> None:
    """The spec's chained test: key and plaintext start at zero, 49 steps give the table value.

    Each step's plaintext is the previous ciphertext and its key the two previous
    ciphertexts concatenated (truncated to the key length); every step also decrypts back.
    """
    key, plain, previous = bytes(key_length), bytes(16), bytes(16)
    cipher = b""
    for _ in range(49):
        engine = Twofish(key)
        cipher = engine.encrypt_block(plain)
        assert engine.decrypt_block(cipher) == plain
        key = (plain + previous)[:key_length]
        previous, plain = plain, cipher
    assert cipher.hex().upper() == ITERATED[key_length]


@pytest.mark.parametrize("key_length", [16, 24, 32])
def test_cbc_round_trip(key_length: int) -> None:
    """CBC decryption inverts CBC encryption, and equal blocks encrypt differently."""
    key, iv = os.urandom(key_length), os.urandom(16)
    data = bytes(16) * 3 + os.urandom(64)
    encrypted = _twofish.cbc_encrypt(key, iv, data)
    assert len(encrypted) == len(data)
    assert len({encrypted[i : i + 16] for i in range(0, 48, 16)}) == 3
    assert _twofish.cbc_decrypt(key, iv, encrypted) == data


def test_cbc_chains_blocks() -> None:
    """CBC is ECB over each block XORed with the previous ciphertext (or the IV)."""
    key, iv = bytes(range(32)), bytes(range(16, 32))
    data = bytes(range(32))
    engine = Twofish(key)
    first = engine.encrypt_block(bytes(a ^ b for a, b in zip(data[:16], iv, strict=True)))
    second = engine.encrypt_block(bytes(a ^ b for a, b in zip(data[16:], first, strict=True)))
    assert _twofish.cbc_encrypt(key, iv, data) == first + second


@pytest.mark.parametrize(("key", "iv", "data"), [
    (bytes(15), bytes(16), b""),
    (bytes(33), bytes(16), b""),
    (bytes(16), bytes(8), bytes(16)),
    (bytes(16), bytes(16), bytes(17)),
])
def test_bad_sizes_refused(key: bytes, iv: bytes, data: bytes) -> None:
    """Wrong key, IV or data lengths are a ValueError, never a wrong result."""
    with pytest.raises(ValueError, match="Twofish"):
        _twofish.cbc_decrypt(key, iv, data)


def test_agrees_with_twofish_module() -> None:
    """Random keys and blocks give the C ``twofish`` module's results, both directions."""
    reference = reference_twofish()
    for key_length in (16, 24, 32):
        for _ in range(50):
            key, block = os.urandom(key_length), os.urandom(16)
            theirs, ours = reference.Twofish(key), Twofish(key)
            assert ours.encrypt_block(block) == theirs.encrypt(block)
            assert ours.decrypt_block(block) == theirs.decrypt(block)
