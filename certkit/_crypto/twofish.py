"""Twofish (Schneier, Kelsey, Whiting, Wagner, Hall, Ferguson, 1998) in pure Python.

Bouncy Castle seals UBER keystores with Twofish-256 in CBC mode. pyjks decrypts them with
the ``twofish`` package, whose import fails from Python 3.12 on (it uses the removed ``imp``
module), so certkit carries its own cipher, written from the specification:

* the fixed permutations q0 and q1 are built from the specification's 4-bit t-tables;
* the key schedule derives the S-box key words with the RS matrix over GF(2^8) modulo
  x^8+x^6+x^3+x^2+1 and the round keys with the h function, whose outputs are mixed by the
  MDS matrix over GF(2^8) modulo x^8+x^6+x^5+x^3+1;
* 16 Feistel rounds (g function, pseudo-Hadamard transform, one-bit rotations) sit between
  input and output whitening.

Each key expands into four 256-entry tables (key-dependent S-box followed by its MDS column),
so a round costs eight table look-ups; a few kilobytes decrypt in milliseconds. Only the
block cipher and unpadded CBC live here: padding and its errors belong to the caller.
"""

from __future__ import annotations

__all__ = ["BLOCK_SIZE", "Twofish", "cbc_decrypt", "cbc_encrypt"]

#: Twofish encrypts 128-bit blocks.
BLOCK_SIZE = 16
_ROUNDS = 16
_MASK = 0xFFFFFFFF
_RHO = 0x01010101  # the spec's rho = 2^24 + 2^16 + 2^8 + 1
_MDS_POLY = 0x169  # x^8 + x^6 + x^5 + x^3 + 1
_RS_POLY = 0x14D  # x^8 + x^6 + x^3 + x^2 + 1

# The 4-bit permutations t0..t3 that define q0 and q1 (specification section 4.3.5).
_Q_TABLES = (
    ((0x8, 0x1, 0x7, 0xD, 0x6, 0xF, 0x3, 0x2, 0x0, 0xB, 0x5, 0x9, 0xE, 0xC, 0xA, 0x4),
     (0xE, 0xC, 0xB, 0x8, 0x1, 0x2, 0x3, 0x5, 0xF, 0x4, 0xA, 0x6, 0x7, 0x0, 0x9, 0xD),
     (0xB, 0xA, 0x5, 0xE, 0x6, 0xD, 0x9, 0x0, 0xC, 0x8, 0xF, 0x3, 0x2, 0x4, 0x7, 0x1),
     (0xD, 0x7, 0xF, 0x4, 0x1, 0x2, 0x6, 0xE, 0x9, 0xB, 0x3, 0x0, 0x8, 0x5, 0xC, 0xA)),
    ((0x2, 0x8, 0xB, 0xD, 0xF, 0x7, 0x6, 0xE, 0x3, 0x1, 0x9, 0x4, 0x0, 0xA, 0xC, 0x5),
     (0x1, 0xE, 0x2, 0xB, 0x4, 0xC, 0x3, 0x7, 0x6, 0xD, 0xA, 0x5, 0xF, 0x9, 0x0, 0x8),
     (0x4, 0xC, 0x7, 0x5, 0x1, 0x6, 0x9, 0xA, 0x0, 0xE, 0xD, 0x8, 0x2, 0xB, 0x3, 0xF),
     (0xB, 0x9, 0x5, 0x1, 0xC, 0x3, 0xD, 0xE, 0x6, 0x4, 0x7, 0xF, 0x2, 0x0, 0x8, 0xA)),
)

# MDS matrix (section 4.2), applied to the column (y0, y1, y2, y3).
_MDS = ((0x01, 0xEF, 0x5B, 0x5B),
        (0x5B, 0xEF, 0xEF, 0x01),
        (0xEF, 0x5B, 0x01, 0xEF),
        (0xEF, 0x01, 0xEF, 0x5B))

# RS matrix (section 4.3), mapping 8 key bytes to one S-box key word.
_RS = ((0x01, 0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E),
       (0xA4, 0x56, 0x82, 0xF3, 0x1E, 0xC6, 0x68, 0xE5),
       (0x02, 0xA1, 0xFC, 0xC1, 0x47, 0xAE, 0x3D, 0x19),
       (0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E, 0x03))

# Which q permutation each input byte of h passes through, from the input side, for a
# 256-bit key (figure 2 of the specification); shorter keys skip the first one or two.
_H_CHAINS = ((1, 1, 0, 0, 1),
             (0, 1, 1, 0, 0),
             (0, 0, 0, 1, 1),
             (1, 0, 1, 1, 0))


def _gf_mul(a: int, b: int, poly: int) -> int:
    """Multiply in GF(2^8) modulo ``poly``."""
    result = 0
    while b:
        if b & 1:
            result ^= a
        a <<= 1
        if a & 0x100:
            a ^= poly
        b >>= 1
    return result


def _ror4(x: int, n: int) -> int:
    return ((x >> n) | (x << (4 - n))) & 0xF


def _q_permutation(tables: tuple[tuple[int, ...], ...]) -> bytes:
    """Build q0 or q1 from its t-tables (section 4.3.5)."""
    t0, t1, t2, t3 = tables
    out = bytearray(256)
    for x in range(256):
        a0, b0 = x >> 4, x & 0xF
        a1 = a0 ^ b0
        b1 = a0 ^ _ror4(b0, 1) ^ ((a0 << 3) & 0xF)
        a2, b2 = t0[a1], t1[b1]
        a3 = a2 ^ b2
        b3 = a2 ^ _ror4(b2, 1) ^ ((a2 << 3) & 0xF)
        a4, b4 = t2[a3], t3[b3]
        out[x] = (b4 << 4) | a4
    return bytes(out)


_Q = (_q_permutation(_Q_TABLES[0]), _q_permutation(_Q_TABLES[1]))
#: 256 bytes of 0x01 as one integer: times a byte, that byte in every position.
_ALL_BYTES_ONE = int.from_bytes(b"\x01" * 256, "big")

# _MDS_COLUMNS[j][y]: the 32-bit word (little-endian bytes z0..z3) that MDS column j times y adds.
_MDS_COLUMNS = tuple(
    tuple(sum(_gf_mul(_MDS[i][j], y, _MDS_POLY) << (8 * i) for i in range(4)) for y in range(256))
    for j in range(4)
)


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]


def _sbox_byte(x: int, j: int, key_words: list[int]) -> int:
    """Byte ``j`` of h's S-box stage: ``x`` through the q chain, XORed with key bytes."""
    k = len(key_words)
    chain = _H_CHAINS[j][4 - k :]
    shift = 8 * j
    for step, word in enumerate(reversed(key_words)):
        x = _Q[chain[step]][x] ^ ((word >> shift) & 0xFF)
    return _Q[chain[k]][x]


def _sbox_table(j: int, key_words: list[int]) -> bytes:
    """``_sbox_byte(x, j, key_words)`` for every x, a whole table per step of the q chain.

    Each step maps all 256 values at once (``bytes.translate`` with the step's q
    permutation XORed with its key byte), instead of 256 walks down the chain.
    """
    k = len(key_words)
    chain = _H_CHAINS[j][4 - k :]
    shift = 8 * j
    table = bytes(range(256))
    for step, word in enumerate(reversed(key_words)):
        q = _Q[chain[step]]
        key_byte = ((word >> shift) & 0xFF) * _ALL_BYTES_ONE
        step_map = (int.from_bytes(q, "big") ^ key_byte).to_bytes(256, "big")
        table = table.translate(step_map)
    return table.translate(_Q[chain[k]])


def _h(x: int, key_words: list[int]) -> int:
    """The h function (section 4.3.2) of word ``x`` under the list of key words L."""
    out = 0
    for j in range(4):
        out ^= _MDS_COLUMNS[j][_sbox_byte((x >> (8 * j)) & 0xFF, j, key_words)]
    return out


def _rs_word(chunk: bytes) -> int:
    """One S-box key word: the RS matrix times 8 key bytes."""
    out = 0
    for i, row in enumerate(_RS):
        byte = 0
        for coefficient, value in zip(row, chunk, strict=True):
            byte ^= _gf_mul(coefficient, value, _RS_POLY)
        out |= byte << (8 * i)
    return out


class Twofish:
    """One Twofish key, expanded: encrypt and decrypt single 16-byte blocks."""

    __slots__ = ("_k", "_t0", "_t1", "_t2", "_t3")

    def __init__(self, key: bytes) -> None:
        """Expand a 16-, 24- or 32-byte key (section 4.3)."""
        if len(key) not in (16, 24, 32):
            raise ValueError(f"Twofish keys are 16, 24 or 32 bytes, not {len(key)}")
        k = len(key) // 8
        m = _words(key)
        even, odd = m[0::2], m[1::2]
        subkeys: list[int] = []
        for i in range(20):
            a = _h(2 * i * _RHO, even)
            b = _rol(_h((2 * i + 1) * _RHO, odd), 8)
            subkeys.append((a + b) & _MASK)
            subkeys.append(_rol((a + 2 * b) & _MASK, 9))
        self._k = tuple(subkeys)
        # S = (S_{k-1}, ..., S_0): the RS words of the key's 8-byte chunks, in reverse order.
        sbox_key = [_rs_word(key[8 * i : 8 * i + 8]) for i in range(k)][::-1]
        # g(X) = h(X, S) works byte by byte until the MDS mix: one table per byte position.
        self._t0, self._t1, self._t2, self._t3 = (
            tuple(map(_MDS_COLUMNS[j].__getitem__, _sbox_table(j, sbox_key))) for j in range(4)
        )

    def encrypt_block(self, block: bytes) -> bytes:
        """Encrypt one 16-byte block."""
        if len(block) != BLOCK_SIZE:
            raise ValueError("Twofish encrypts 16-byte blocks")
        k, t0, t1, t2, t3 = self._k, self._t0, self._t1, self._t2, self._t3
        r0, r1, r2, r3 = (w ^ k[i] for i, w in enumerate(_words(block)))
        for rnd in range(0, _ROUNDS, 2):
            # Round rnd: (r0, r1) feed F, which is mixed into (r2, r3).
            a = t0[r0 & 0xFF] ^ t1[(r0 >> 8) & 0xFF] ^ t2[(r0 >> 16) & 0xFF] ^ t3[r0 >> 24]
            b = t0[r1 >> 24] ^ t1[r1 & 0xFF] ^ t2[(r1 >> 8) & 0xFF] ^ t3[(r1 >> 16) & 0xFF]
            f = (a + b + k[2 * rnd + 8]) & _MASK
            r2 ^= f
            r2 = ((r2 >> 1) | (r2 << 31)) & _MASK
            r3 = (((r3 << 1) | (r3 >> 31)) & _MASK) ^ ((a + 2 * b + k[2 * rnd + 9]) & _MASK)
            # Round rnd + 1, with the halves' roles swapped instead of the words.
            a = t0[r2 & 0xFF] ^ t1[(r2 >> 8) & 0xFF] ^ t2[(r2 >> 16) & 0xFF] ^ t3[r2 >> 24]
            b = t0[r3 >> 24] ^ t1[r3 & 0xFF] ^ t2[(r3 >> 8) & 0xFF] ^ t3[(r3 >> 16) & 0xFF]
            f = (a + b + k[2 * rnd + 10]) & _MASK
            r0 ^= f
            r0 = ((r0 >> 1) | (r0 << 31)) & _MASK
            r1 = (((r1 << 1) | (r1 >> 31)) & _MASK) ^ ((a + 2 * b + k[2 * rnd + 11]) & _MASK)
        # The last round's swap is undone: the output words are (r2, r3, r0, r1).
        return b"".join(w.to_bytes(4, "little") for w in
                        (r2 ^ k[4], r3 ^ k[5], r0 ^ k[6], r1 ^ k[7]))

    def decrypt_block(self, block: bytes) -> bytes:
        """Decrypt one 16-byte block."""
        if len(block) != BLOCK_SIZE:
            raise ValueError("Twofish decrypts 16-byte blocks")
        k, t0, t1, t2, t3 = self._k, self._t0, self._t1, self._t2, self._t3
        c0, c1, c2, c3 = _words(block)
        r2, r3, r0, r1 = c0 ^ k[4], c1 ^ k[5], c2 ^ k[6], c3 ^ k[7]
        for rnd in range(_ROUNDS - 2, -1, -2):
            # Undo round rnd + 1: (r2, r3) feed F, which is removed from (r0, r1).
            a = t0[r2 & 0xFF] ^ t1[(r2 >> 8) & 0xFF] ^ t2[(r2 >> 16) & 0xFF] ^ t3[r2 >> 24]
            b = t0[r3 >> 24] ^ t1[r3 & 0xFF] ^ t2[(r3 >> 8) & 0xFF] ^ t3[(r3 >> 16) & 0xFF]
            r0 = (((r0 << 1) | (r0 >> 31)) & _MASK) ^ ((a + b + k[2 * rnd + 10]) & _MASK)
            r1 ^= (a + 2 * b + k[2 * rnd + 11]) & _MASK
            r1 = ((r1 >> 1) | (r1 << 31)) & _MASK
            # Undo round rnd.
            a = t0[r0 & 0xFF] ^ t1[(r0 >> 8) & 0xFF] ^ t2[(r0 >> 16) & 0xFF] ^ t3[r0 >> 24]
            b = t0[r1 >> 24] ^ t1[r1 & 0xFF] ^ t2[(r1 >> 8) & 0xFF] ^ t3[(r1 >> 16) & 0xFF]
            r2 = (((r2 << 1) | (r2 >> 31)) & _MASK) ^ ((a + b + k[2 * rnd + 8]) & _MASK)
            r3 ^= (a + 2 * b + k[2 * rnd + 9]) & _MASK
            r3 = ((r3 >> 1) | (r3 << 31)) & _MASK
        return b"".join(w.to_bytes(4, "little") for w in
                        (r0 ^ k[0], r1 ^ k[1], r2 ^ k[2], r3 ^ k[3]))


def _check_cbc(iv: bytes, data: bytes) -> None:
    if len(iv) != BLOCK_SIZE:
        raise ValueError(f"the Twofish IV is {BLOCK_SIZE} bytes, not {len(iv)}")
    if len(data) % BLOCK_SIZE:
        raise ValueError("Twofish-CBC data must be a whole number of 16-byte blocks")


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Encrypt whole 16-byte blocks in CBC mode (no padding is added)."""
    _check_cbc(iv, data)
    cipher = Twofish(key)
    out = bytearray()
    prev = int.from_bytes(iv, "big")
    for pos in range(0, len(data), BLOCK_SIZE):
        mixed = int.from_bytes(data[pos : pos + BLOCK_SIZE], "big") ^ prev
        block = cipher.encrypt_block(mixed.to_bytes(BLOCK_SIZE, "big"))
        out += block
        prev = int.from_bytes(block, "big")
    return bytes(out)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Decrypt whole 16-byte blocks in CBC mode (padding is left for the caller to check)."""
    _check_cbc(iv, data)
    cipher = Twofish(key)
    out = bytearray()
    prev = int.from_bytes(iv, "big")
    for pos in range(0, len(data), BLOCK_SIZE):
        block = data[pos : pos + BLOCK_SIZE]
        plain = int.from_bytes(cipher.decrypt_block(block), "big") ^ prev
        out += plain.to_bytes(BLOCK_SIZE, "big")
        prev = int.from_bytes(block, "big")
    return bytes(out)
