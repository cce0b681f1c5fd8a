"""Crafted hostile files, built byte by byte (stdlib only, no certkit code) for the regression
tests in test_hostile.py and as fuzzing seeds.

Each generator returns ``(data, password)``: the file and the password that opens it (or
that an attacker would hope the victim types). None of them needs more than a few hundred
bytes to ask for minutes of key derivation, gigabytes of memory, or a forged MAC.
"""

# ruff: noqa: S107, S324 - fixed passwords on purpose; SHA-1 is what these formats mandate

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["HOSTILE", "bks_many_sealed", "jceks_heavy_keys", "jceks_heavy_secrets",
           "jceks_serialization_bomb", "pkcs12_pbes1_bags", "pkcs12_pbmac1_iterations",
           "pkcs12_pbmac1_long_key", "pkcs12_pbmac1_short_key"]


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = (n.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + n.to_bytes(size, "big") + content


def oid(dotted: str) -> bytes:
    """A DER OBJECT IDENTIFIER."""
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray((40 * parts[0] + parts[1],))
    for part in parts[2:]:
        chunk = [part & 0x7F]
        rest = part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def integer(value: int) -> bytes:
    """A DER INTEGER."""
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def seq(*items: bytes) -> bytes:
    """A DER SEQUENCE of ``items``."""
    return tlv(0x30, b"".join(items))


def octets(data: bytes) -> bytes:
    """A DER OCTET STRING."""
    return tlv(0x04, data)


DATA = "1.2.840.113549.1.7.1"
PBKDF2 = "1.2.840.113549.1.5.12"
PBMAC1 = "1.2.840.113549.1.5.14"
HMAC_SHA256 = "1.2.840.113549.2.9"
HMAC_SHA512 = "1.2.840.113549.2.11"


def _pfx(auth_safe: bytes, mac_data: bytes | None) -> bytes:
    content_info = seq(oid(DATA), tlv(0xA0, octets(auth_safe)))
    return seq(integer(3), content_info, *([mac_data] if mac_data else []))


def _pbmac1_mac_data(auth_safe: bytes, password: str, *, iterations: int, key_length: int,
                     prf: str = HMAC_SHA256, mac: str = HMAC_SHA256) -> bytes:
    salt = b"\x01" * 8
    params = seq(oid(PBKDF2), seq(octets(salt), integer(iterations), integer(key_length),
                                  seq(oid(prf), b"\x05\x00")))
    algorithm = seq(oid(PBMAC1), seq(params, seq(oid(mac), b"\x05\x00")))
    if iterations <= 10_000:  # cheap enough to make the MAC right for this password
        name = "sha256" if prf == HMAC_SHA256 else "sha512"
        key = hashlib.pbkdf2_hmac(name, password.encode(), salt, iterations, key_length)
        digest = hmac.new(key, auth_safe, "sha256" if mac == HMAC_SHA256 else "sha512").digest()
    else:
        digest = b"\x00" * 32
    return seq(seq(algorithm, octets(digest)), octets(b"NOT USED"), integer(1))


def pkcs12_pbmac1_iterations(iterations: int = 2**31 - 1) -> tuple[bytes, str]:
    """A ~160-byte PKCS#12 whose PBMAC1 asks for ``iterations`` rounds of PBKDF2-HMAC-SHA512."""
    auth_safe = seq()
    return _pfx(auth_safe, _pbmac1_mac_data(auth_safe, "x", iterations=iterations,
                                            key_length=64, prf=HMAC_SHA512,
                                            mac=HMAC_SHA512)), "x"


def pkcs12_pbmac1_short_key(password: str = "correct horse") -> tuple[bytes, str]:
    """A PKCS#12 whose PBMAC1 key is 1 octet, its MAC right for ``password`` (and for about
    one password in 256 more: the forgery RFC 9579's 20-octet minimum prevents)."""
    auth_safe = seq()
    return _pfx(auth_safe, _pbmac1_mac_data(auth_safe, password, iterations=1000,
                                            key_length=1)), password


def pkcs12_pbmac1_long_key(password: str = "correct horse") -> tuple[bytes, str]:
    """A PKCS#12 whose PBMAC1 asks PBKDF2 for a 4096-octet key for HMAC-SHA256 (128 blocks)."""
    auth_safe = seq()
    return _pfx(auth_safe, _pbmac1_mac_data(auth_safe, password, iterations=10_000,
                                            key_length=4096)), password


def pkcs12_pbes1_bags(count: int = 12, iterations: int = 5_000_000) -> tuple[bytes, str]:
    """A ~2 KB PKCS#12 without a MAC whose ``count`` shrouded key bags each use PBES1
    (pbeWithSHA1AndDES-CBC) at ``iterations`` rounds: every one is tried with the password."""
    bags = []
    for index in range(count):
        salt = index.to_bytes(8, "big")
        algorithm = seq(oid("1.2.840.113549.1.5.10"), seq(octets(salt), integer(iterations)))
        # Fixed bytes, not random ones: one random ciphertext in a few hundred decrypts to
        # valid padding under a wrong password, and the file must act the same every run.
        filler = b"".join(hashlib.sha512(b"bag %d %d" % (index, n)).digest() for n in (0, 1))
        encrypted = seq(algorithm, octets(filler[:120]))
        bags.append(seq(oid("1.2.840.113549.1.12.10.1.2"), tlv(0xA0, encrypted)))
    safe = seq(oid(DATA), tlv(0xA0, octets(seq(*bags))))
    return _pfx(seq(safe), None), "password"


# --- Java keystores -----------------------------------------------------------------------


def _utf(text: str) -> bytes:
    body = text.encode()
    return len(body).to_bytes(2, "big") + body


def _java_store(magic: bytes, entries: list[bytes], password: str) -> bytes:
    body = magic + (2).to_bytes(4, "big") + len(entries).to_bytes(4, "big") + b"".join(entries)
    digest = hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body)
    return body + digest.digest()


def _jce_params(iterations: int, index: int) -> bytes:
    return seq(octets(b"salt" + index.to_bytes(4, "big")), integer(iterations))


def jceks_heavy_keys(count: int = 6, iterations: int = 5_000_000) -> tuple[bytes, str]:
    """A ~500-byte JCEKS whose ``count`` private keys each ask PBEWithMD5AndTripleDES for
    ``iterations`` rounds (Java's own maximum), tried with the store password on load."""
    entries = []
    for index in range(count):
        algorithm = seq(oid("1.3.6.1.4.1.42.2.19.1"), _jce_params(iterations, index))
        blob = seq(algorithm, octets(os.urandom(16)))
        entries.append((1).to_bytes(4, "big") + _utf(f"k{index}") + bytes(8)
                       + len(blob).to_bytes(4, "big") + blob + bytes(4))
    return _java_store(b"\xce\xce\xce\xce", entries, "changeit"), "changeit"


_BYTE_ARRAY_DESC = bytes.fromhex("757200025b42acf317f8060854e00200007870")


def _sealed_object(params: bytes, content: bytes) -> bytes:
    """A SealedObjectForKeyProtector as keytool writes it (see javakeys.seal_secret_key)."""
    def string(text: str) -> bytes:
        return b"\x74" + _utf(text)

    return (bytes.fromhex(
        "aced000573720033636f6d2e73756e2e63727970746f2e70726f76696465722e5365616c65644f626a"
        "656374466f724b657950726f746563746f72cd57ca59e730bb53020000787200196a617661782e6372"
        "7970746f2e5365616c65644f626a6563743e363da6c3b754700200045b000d656e636f646564506172"
        "616d737400025b425b0010656e63727970746564436f6e74656e7471007e00024c0009706172616d73"
        "416c677400124c6a6176612f6c616e672f537472696e673b4c00077365616c416c6771007e00037870")
        + _BYTE_ARRAY_DESC + len(params).to_bytes(4, "big") + params
        + bytes.fromhex("7571007e0005") + len(content).to_bytes(4, "big") + content
        + string("PBEWithMD5AndTripleDES") + string("PBEWithMD5AndTripleDES"))


def jceks_heavy_secrets(count: int = 4, iterations: int = 5_000_000) -> tuple[bytes, str]:
    """A JCEKS whose ``count`` secret keys are sealed at ``iterations`` rounds each."""
    entries = [(3).to_bytes(4, "big") + _utf(f"s{index}") + bytes(8)
               + _sealed_object(_jce_params(iterations, index), os.urandom(16))
               for index in range(count)]
    return _java_store(b"\xce\xce\xce\xce", entries, "changeit"), "changeit"


def jceks_serialization_bomb(depth: int = 27) -> tuple[bytes, str]:
    """A 484-byte JCEKS whose secret-key entry is nested Object[] arrays, each holding the
    one below it twice (by reference): 2**depth elements to anything that expands them."""
    desc = (b"\x75\x72" + _utf("[Ljava.lang.Object;") + bytes.fromhex("90ce589f1073296c")
            + b"\x02\x00\x00\x78\x70")
    # Handles: the class description is 0x7e0000; array k (outermost first) is 0x7e0001+k.
    stream = bytearray(bytes.fromhex("aced0005") + desc + (2).to_bytes(4, "big"))
    for level in range(1, depth):
        stream += b"\x75\x71" + (0x7E0000).to_bytes(4, "big") + (2 if level < depth - 1
                                                                else 0).to_bytes(4, "big")
    for level in range(depth - 1, 0, -1):
        stream += b"\x71" + (0x7E0001 + level).to_bytes(4, "big")
    entry = (3).to_bytes(4, "big") + _utf("bomb") + bytes(8) + bytes(stream)
    return _java_store(b"\xce\xce\xce\xce", [entry], "changeit"), "changeit"


def bks_many_sealed(count: int = 30, iterations: int = 100_000) -> tuple[bytes, str]:
    """A BKS v2 store of ``count`` sealed entries at ``iterations`` rounds each (Bouncy Castle
    writes 1024 to 2047), each tried with the store password."""
    password = "changeit"
    entries = bytearray()
    for index in range(count):
        sealed = ((20).to_bytes(4, "big") + index.to_bytes(20, "big")
                  + iterations.to_bytes(4, "big") + os.urandom(32))
        entries += (b"\x04" + _utf(f"e{index}") + bytes(8) + bytes(4)
                    + len(sealed).to_bytes(4, "big") + sealed)
    entries += b"\x00"
    salt = b"\x02" * 20
    header = ((2).to_bytes(4, "big") + len(salt).to_bytes(4, "big") + salt
              + (1024).to_bytes(4, "big"))
    # The store HMAC-SHA1 is keyed by the PKCS#12 KDF (SHA-1, purpose 3) over the password.
    key = _pkcs12_kdf(password, salt, 1024, 20)
    return header + bytes(entries) + hmac.new(key, bytes(entries), "sha1").digest(), password


def _pkcs12_kdf(password: str, salt: bytes, iterations: int, length: int) -> bytes:
    """RFC 7292 appendix B.2 with SHA-1, purpose 3 (MAC key), for one output block."""
    v = 64
    pw = password.encode("utf-16-be") + b"\x00\x00"

    def stretch(value: bytes) -> bytes:
        count = -(-len(value) // v) * v
        return (value * (count // len(value) + 1))[:count] if value else b""

    a = hashlib.sha1(bytes((3,)) * v + stretch(salt) + stretch(pw)).digest()
    for _ in range(iterations - 1):
        a = hashlib.sha1(a).digest()
    return a[:length]


#: Every generator by name (the regression tests and the fuzzing seeds use them all).
HOSTILE = {
    "jceks-heavy-keys": jceks_heavy_keys,
    "jceks-heavy-secrets": jceks_heavy_secrets,
    "jceks-serialization-bomb": jceks_serialization_bomb,
    "pkcs12-pbmac1-iterations": pkcs12_pbmac1_iterations,
    "pkcs12-pbmac1-short-key": pkcs12_pbmac1_short_key,
    "pkcs12-pbmac1-long-key": pkcs12_pbmac1_long_key,
    "pkcs12-pbes1-bags": pkcs12_pbes1_bags,
    "bks-many-sealed": bks_many_sealed,
}
