"""Password-based encryption and MACs for PKCS#12 and PKCS#8, plus a bounded BER reader.

Implements what ``cryptography`` lacks: the RFC 7292 appendix B key derivation, PKCS#12 PBE
(SHA-1 with 3DES, 2-key 3DES, RC2-128, RC2-40, RC4), PKCS#5 PBES1, RFC 9579 PBMAC1 and
RC2 with any effective key length (RFC 2268). PBKDF2, HMAC, AES and 3DES come from
``cryptography``. Every parameter is checked against hard limits before any work, so a
hostile file cannot make certkit spin for minutes.

Passwords: the PKCS#12 KDF takes the password as a BMPString with two trailing zero bytes
(``None`` is the empty byte string, ``""`` just the two zero bytes); PBES2 and PBMAC1 take
its UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

import attrs
from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from certkit._crypto.budget import MAX_ITERATIONS, WorkBudget, blocks
from certkit._crypto.der import Node, encode_oid
from certkit._crypto.der import encode as tlv
from certkit._crypto.der import integer as der_int
from certkit.errors import DecodeError, PasswordError, UnsupportedFormatError

__all__ = [
    "MAX_ITERATIONS",
    "PBMAC1Params",
    "PasswordForm",
    "Scheme",
    "charge_pkcs8",
    "decrypt",
    "decrypt_pkcs8",
    "describe",
    "encrypt",
    "parse_pbmac1",
    "password_forms",
    "pbmac1",
    "pkcs12_kdf",
    "pkcs12_mac",
    "rc2_cbc",
]

MAX_SALT = 1024

_HASH_NAMES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.2.5": "md5",
}
HASH_OIDS = {name: oid for oid, name in _HASH_NAMES.items()}
_HMAC_PRFS = {
    "1.2.840.113549.2.7": "sha1",
    "1.2.840.113549.2.8": "sha224",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
HMAC_OIDS = {name: oid for oid, name in _HMAC_PRFS.items()}
_CRYPTO_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_BLOCK_SIZES = {"sha1": 64, "sha224": 64, "sha256": 64, "sha384": 128, "sha512": 128, "md5": 64}
_DIGEST_SIZES = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "md5": 16}


def _units(hash_name: str, length: int) -> int:
    """Budget units per iteration of deriving ``length`` bytes: one per hash output, two for
    SHA-384/512, whose compression function works on 128-byte blocks and costs about twice
    as much here."""
    weight = 2 if _BLOCK_SIZES[hash_name] == 128 else 1
    return blocks(length, _DIGEST_SIZES[hash_name]) * weight

PBES2 = "1.2.840.113549.1.5.13"
PBKDF2 = "1.2.840.113549.1.5.12"
PBMAC1 = "1.2.840.113549.1.5.14"
# PKCS#12 PBE: OID -> (description, cipher, key length, weakness)
_PKCS12_PBE = {
    "1.2.840.113549.1.12.1.1": ("PKCS#12 PBE SHA-1 RC4-128", "rc4", 16, "RC4 is broken"),
    "1.2.840.113549.1.12.1.2": ("PKCS#12 PBE SHA-1 RC4-40", "rc4", 5, "RC4-40 is breakable"),
    "1.2.840.113549.1.12.1.3": ("PKCS#12 PBE SHA-1 3DES", "3des", 24, None),
    "1.2.840.113549.1.12.1.4": ("PKCS#12 PBE SHA-1 2-key 3DES", "3des", 16, "two-key 3DES is weak"),
    "1.2.840.113549.1.12.1.5": ("PKCS#12 PBE SHA-1 RC2-128", "rc2", 16, None),
    "1.2.840.113549.1.12.1.6": ("PKCS#12 PBE SHA-1 RC2-40", "rc2", 5, "RC2-40 is breakable"),
}
# PKCS#5 PBES1: OID -> (hash, cipher)
_PBES1 = {
    "1.2.840.113549.1.5.1": ("md2", "des"),
    "1.2.840.113549.1.5.3": ("md5", "des"),
    "1.2.840.113549.1.5.4": ("md2", "rc2"),
    "1.2.840.113549.1.5.6": ("md5", "rc2"),
    "1.2.840.113549.1.5.10": ("sha1", "des"),
    "1.2.840.113549.1.5.11": ("sha1", "rc2"),
}
# PBES2 ciphers: OID -> (name, key length, block size)
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC", 16),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC", 24),
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC", 32),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC", 24),
    "1.3.14.3.2.7": ("DES-CBC", 8),
    "1.2.840.113549.3.2": ("RC2-CBC", 0),
}
_PBES2_BY_NAME = {name: oid for oid, (name, _) in _PBES2_CIPHERS.items()}
PKCS12_PBE_BY_NAME = {
    "3des": "1.2.840.113549.1.12.1.3",
    "2des": "1.2.840.113549.1.12.1.4",
    "rc2-128": "1.2.840.113549.1.12.1.5",
    "rc2-40": "1.2.840.113549.1.12.1.6",
}


# ---------------------------------------------------------------------------------------
# Passwords


@attrs.frozen
class PasswordForm:
    """One way of turning the caller's password into bytes: for the PKCS#12 KDF and for PBKDF2."""

    kdf: bytes = attrs.field(repr=False)
    raw: bytes = attrs.field(repr=False)
    label: str


def _bmp(text: str) -> bytes:
    return text.encode("utf-16-be") + b"\x00\x00"


def password_forms(password: str | bytes | None) -> list[PasswordForm]:
    """The password as the standard says first, then the forms other tools have used by mistake.

    ``None`` and ``""`` are tried as each other (tools confuse "no password" with "empty
    password"), and a non-ASCII password is also tried byte-by-byte, as OpenSSL 1.0 did.
    """
    if password is None:
        return [PasswordForm(b"", b"", "no password"),
                PasswordForm(b"\x00\x00", b"", "empty password")]
    if isinstance(password, bytes):
        try:
            text = password.decode("utf-8")
        except UnicodeDecodeError:
            latin = b"".join(b"\x00" + bytes((b,)) for b in password) + b"\x00\x00"
            return [PasswordForm(latin, password, "bytes")]
    else:
        text = password
    raw = text.encode("utf-8", "surrogatepass")
    forms = [PasswordForm(_bmp(text), raw, "password")]
    if text == "":
        forms.append(PasswordForm(b"", b"", "no password"))
    elif not text.isascii():
        forms.append(PasswordForm(b"".join(b"\x00" + bytes((b,)) for b in raw) + b"\x00\x00",
                                  raw, "password as single bytes"))
    return forms


# ---------------------------------------------------------------------------------------
# Key derivation


def _check_iterations(iterations: int, what: str) -> None:
    if iterations < 1:
        raise DecodeError(f"{what}: iteration count {iterations} is not valid (must be at least 1)")
    if iterations > MAX_ITERATIONS:
        raise DecodeError(
            f"{what}: iteration count {iterations} is absurd (certkit refuses more than "
            f"{MAX_ITERATIONS:,}); the file is damaged or hostile"
        )


def _check_salt(salt: bytes, what: str) -> None:
    if len(salt) > MAX_SALT:
        raise DecodeError(f"{what}: a salt of {len(salt)} bytes is absurd")


def pkcs12_kdf(  # noqa: PLR0917 - RFC 7292's own parameter list
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int,
    length: int, *, budget: WorkBudget | None = None, what: str = "PKCS#12 key derivation",
) -> bytes:
    """RFC 7292 appendix B.2: derive ``length`` bytes (``purpose`` 1 key, 2 IV, 3 MAC key).

    ``password`` is already in BMPString form (see :func:`password_forms`). The work is
    charged to ``budget`` first (a fresh default budget when ``None``).
    """
    _check_iterations(iterations, what)
    _check_salt(salt, what)
    if not 0 < length <= 256 or len(password) > 4096:
        raise DecodeError(f"{what}: a length of {length} bytes is absurd")
    (budget or WorkBudget()).charge(iterations, _units(hash_name, length), what)
    return _pkcs12_kdf_python(hash_name, password, salt, purpose, iterations, length)


def _pkcs12_kdf_python(  # noqa: PLR0917 - RFC 7292's own parameter list
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int,
    length: int,
) -> bytes:
    """The RFC 7292 appendix B.2 KDF in Python; see :func:`pkcs12_kdf`."""
    ctor = getattr(hashlib, hash_name)
    u = ctor().digest_size
    v = _BLOCK_SIZES[hash_name]

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        count = -(-len(value) // v) * v
        return (value * (count // len(value) + 1))[:count]

    block_i = bytearray(stretch(salt) + stretch(password))
    diversifier = bytes((purpose,)) * v
    out = bytearray()
    while True:
        a = ctor(diversifier + bytes(block_i)).digest()
        for _ in range(iterations - 1):
            a = ctor(a).digest()
        out.extend(a)
        if len(out) >= length:
            return bytes(out[:length])
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        mask = (1 << (8 * v)) - 1
        for j in range(0, len(block_i), v):
            total = (int.from_bytes(block_i[j : j + v], "big") + b) & mask
            block_i[j : j + v] = total.to_bytes(v, "big")


def _pbkdf2(password: bytes, salt: bytes, iterations: int, length: int,
            prf: str, *, budget: WorkBudget | None = None, what: str = "PBKDF2") -> bytes:
    _check_iterations(iterations, what)
    _check_salt(salt, what)
    if not 0 < length <= 128:
        raise DecodeError(f"{what}: a PBKDF2 key length of {length} bytes is absurd")
    (budget or WorkBudget()).charge(iterations, _units(prf, length), what)
    return PBKDF2HMAC(_CRYPTO_HASHES[prf](), length, salt, iterations).derive(password)


# ---------------------------------------------------------------------------------------
# RC2 (RFC 2268) comes from pycryptodomex: cryptography offers only 128-bit RC2, and
# PKCS#12 files from old Windows and Java use 40-bit RC2 (an effective key length).


def rc2_cbc(key: bytes, iv: bytes, data: bytes, *, effective_bits: int, encrypt: bool) -> bytes:
    """RC2 in CBC mode without padding, with any key length and effective key bits."""
    if len(data) % 8:
        raise DecodeError("RC2: the data is not a whole number of 8-byte blocks")
    if not 5 <= len(key) <= 128 or not 40 <= effective_bits <= 1024:
        raise UnsupportedFormatError(
            f"RC2 with a {len(key)}-byte key and {effective_bits} effective bits is not "
            "supported (5 to 128 bytes and 40 to 1024 bits are)"
        )
    from Cryptodome.Cipher import ARC2  # noqa: PLC0415 - only RC2-encrypted files need it

    # RC2 is what these old files use (S304); pycryptodomex's stub omits effective_keylen.
    cipher = ARC2.new(  # type: ignore[call-arg]  # noqa: S304
        key, ARC2.MODE_CBC, iv=iv, effective_keylen=effective_bits)
    out: bytes = cipher.encrypt(data) if encrypt else cipher.decrypt(data)
    return out


def _rc2_bits(version: int) -> int:
    # RFC 8018 B.2.3: the parameter version encodes the effective key bits; below 256 only
    # the three RFC 2268 magics exist (OpenSSL's rc2_magic_to_meth accepts no others).
    bits = {160: 40, 120: 64, 58: 128}.get(version, version if 256 <= version <= 1024 else 0)
    if not bits:
        raise UnsupportedFormatError(f"RC2 parameter version {version} is not one RFC 2268 "
                                     "defines (58, 120, 160 or 256 to 1024)")
    return bits


# ---------------------------------------------------------------------------------------
# Ciphers


class _BadPadding(Exception):  # noqa: N818 - internal signal of the cipher helpers below
    # (caught here and by _javakeys, which shares _cipher; never reaches a caller)
    """Decryption produced invalid padding: almost always a wrong password."""


def _unpad(data: bytes, block: int) -> bytes:
    if not data or len(data) % block:
        raise _BadPadding
    pad = data[-1]
    if not 1 <= pad <= block or data[-pad:] != bytes((pad,)) * pad:
        raise _BadPadding
    return data[:-pad]


def _pad(data: bytes, block: int) -> bytes:
    pad = block - len(data) % block
    return data + bytes((pad,)) * pad


def _cipher(name: str, key: bytes, iv: bytes, data: bytes, *, encrypt: bool,
            rc2_bits: int = 0) -> bytes:
    if name == "rc4":
        stream = Cipher(ARC4(key), None)
        op = stream.encryptor() if encrypt else stream.decryptor()
        return op.update(data) + op.finalize()
    block = 16 if name == "aes" else 8
    if len(iv) != block:
        raise DecodeError(f"the initialisation vector is {len(iv)} bytes; {block} expected")
    if name == "rc2":
        body = _pad(data, 8) if encrypt else data
        out = rc2_cbc(key, iv, body, effective_bits=rc2_bits or 8 * len(key), encrypt=encrypt)
        return out if encrypt else _unpad(out, 8)
    algorithm: algorithms.AES | TripleDES
    if name == "aes":
        algorithm = algorithms.AES(key)
    elif name == "des":
        algorithm = TripleDES(key * 3)  # K1 = K2 = K3 is single DES
    else:
        algorithm = TripleDES(key + key[:8] if len(key) == 16 else key)
    if not encrypt and (not data or len(data) % block):
        raise _BadPadding
    ctx = Cipher(algorithm, modes.CBC(iv))
    if encrypt:
        enc = ctx.encryptor()
        return enc.update(_pad(data, block)) + enc.finalize()
    dec = ctx.decryptor()
    return _unpad(dec.update(data) + dec.finalize(), block)


# ---------------------------------------------------------------------------------------
# Algorithm identifiers


@attrs.frozen
class Scheme:
    """How something is encrypted or MACed, in words: "PBES2 PBKDF2-HMAC-SHA256 AES-256-CBC"."""

    algorithm: str
    iterations: int | None
    weak: str | None


def _weak_iterations(iterations: int) -> str | None:
    if iterations == 1:
        return "only 1 iteration"
    if iterations < 1000:
        return f"only {iterations} iterations"
    return None


def _salt_iter(params: Node, what: str) -> tuple[bytes, int]:
    kids = params.seq(what, 2, 2)
    salt = kids[0].expect(0x04, f"{what} salt").octets()
    iterations = kids[1].integer(f"{what} iteration count")
    _check_iterations(iterations, what)
    _check_salt(salt, what)
    if not salt:
        raise DecodeError(f"{what}: the salt is empty (no tool writes that; the file is damaged)")
    return salt, iterations


@attrs.frozen
class _Pbkdf2:
    salt: bytes
    iterations: int
    key_length: int | None
    prf: str


def _parse_pbkdf2(alg: Node, what: str) -> _Pbkdf2:
    kids = alg.seq(what, 1, 2)
    oid = kids[0].oid(what)
    if oid != PBKDF2:
        raise UnsupportedFormatError(f"{what}: key derivation {oid} is not supported (only PBKDF2)")
    if len(kids) < 2:
        raise DecodeError(f"{what}: PBKDF2 parameters are missing")
    params = kids[1].seq(f"{what} PBKDF2 parameters", 2, 4)
    if params[0].tag != 0x04:
        raise UnsupportedFormatError(f"{what}: PBKDF2 salt must be an OCTET STRING (otherSource "
                                     "salts are not supported)")
    salt = params[0].octets()
    if not salt:
        raise DecodeError(f"{what}: the PBKDF2 salt is empty")
    iterations = params[1].integer(f"{what} iteration count")
    _check_iterations(iterations, what)
    _check_salt(salt, what)
    key_length: int | None = None
    prf = "sha1"
    for extra in params[2:]:
        if extra.tag == 0x02:
            key_length = extra.integer(f"{what} key length")
            if not 0 < key_length <= 128:
                raise DecodeError(f"{what}: a PBKDF2 key length of {key_length} is absurd")
        else:
            prf_kids = extra.seq(f"{what} PRF", 1, 2)
            prf_oid = prf_kids[0].oid(f"{what} PRF")
            if prf_oid not in _HMAC_PRFS:
                raise UnsupportedFormatError(f"{what}: PBKDF2 PRF {prf_oid} is not supported")
            prf = _HMAC_PRFS[prf_oid]
    return _Pbkdf2(salt, iterations, key_length, prf)


def _alg(node: Node, what: str) -> tuple[str, Node | None]:
    kids = node.seq(what, 1, 2)
    oid = kids[0].oid(what)
    params = kids[1] if len(kids) == 2 and kids[1].tag != 0x05 else None
    return oid, params


def describe(algorithm: Node) -> Scheme:
    """Describe an encryption AlgorithmIdentifier for :class:`~certkit.Protection`."""
    oid, params = _alg(algorithm, "encryption algorithm")
    if oid in _PKCS12_PBE and params is not None:
        name, _, _, weak = _PKCS12_PBE[oid]
        _, iterations = _salt_iter(params, name)
        return Scheme(name, iterations, weak or _weak_iterations(iterations))
    if oid in _PBES1 and params is not None:
        digest, cipher = _PBES1[oid]
        _, iterations = _salt_iter(params, "PBES1")
        return Scheme(f"PBES1 {digest.upper()} {cipher.upper()}", iterations,
                      "single DES and PBES1 are broken" if cipher == "des" else "PBES1 is obsolete")
    if oid == PBES2 and params is not None:
        kdf_node, enc_node = params.seq("PBES2 parameters", 2, 2)
        kdf = _parse_pbkdf2(kdf_node, "PBES2")
        enc_oid, _ = _alg(enc_node, "PBES2 cipher")
        cipher = _PBES2_CIPHERS.get(enc_oid, (enc_oid, 0))[0]
        weak = "single DES is broken" if cipher == "DES-CBC" else _weak_iterations(kdf.iterations)
        return Scheme(f"PBES2 PBKDF2-HMAC-{kdf.prf.upper()} {cipher}", kdf.iterations, weak)
    return Scheme(oid, None, None)


def decrypt(algorithm: Node, data: bytes, form: PasswordForm, *, what: str,
            budget: WorkBudget | None = None) -> bytes:
    """Decrypt ``data`` under an encryption AlgorithmIdentifier; :class:`PasswordError` if the
    padding shows the password is wrong. The key derivation is charged to ``budget`` first."""
    try:
        return _decrypt(algorithm, data, form, what, budget or WorkBudget())
    except _BadPadding as err:
        raise PasswordError(f"wrong password: {what} does not decrypt") from err


def _decrypt(algorithm: Node, data: bytes, form: PasswordForm, what: str,
             budget: WorkBudget) -> bytes:
    oid, params = _alg(algorithm, f"{what} algorithm")
    if oid in _PKCS12_PBE:
        if params is None:
            raise DecodeError(f"{what}: PKCS#12 PBE parameters are missing")
        name, cipher, key_len, _ = _PKCS12_PBE[oid]
        salt, iterations = _salt_iter(params, name)
        _check_ciphertext(data, 1 if cipher == "rc4" else 8, what)
        key = pkcs12_kdf("sha1", form.kdf, salt, 1, iterations, key_len, budget=budget,
                         what=what)
        iv = b"" if cipher == "rc4" else pkcs12_kdf("sha1", form.kdf, salt, 2, iterations, 8,
                                                    budget=budget, what=what)
        return _cipher(cipher, key, iv, data, encrypt=False, rc2_bits=8 * key_len)
    if oid in _PBES1:
        if params is None:
            raise DecodeError(f"{what}: PBES1 parameters are missing")
        digest, cipher = _PBES1[oid]
        if digest == "md2":
            raise UnsupportedFormatError(f"{what}: PBES1 with MD2 is not supported")
        salt, iterations = _salt_iter(params, "PBES1")
        _check_ciphertext(data, 8, what)
        budget.charge(iterations, 1, what)
        ctor = getattr(hashlib, digest)
        t = ctor(form.raw + salt).digest()
        for _ in range(iterations - 1):
            t = ctor(t).digest()
        return _cipher(cipher, t[:8], t[8:16], data, encrypt=False, rc2_bits=64)
    if oid == PBES2:
        if params is None:
            raise DecodeError(f"{what}: PBES2 parameters are missing")
        kdf_node, enc_node = params.seq("PBES2 parameters", 2, 2)
        kdf = _parse_pbkdf2(kdf_node, what)
        enc_oid, enc_params = _alg(enc_node, f"{what} PBES2 cipher")
        if enc_oid not in _PBES2_CIPHERS or enc_params is None:
            raise UnsupportedFormatError(f"{what}: PBES2 cipher {enc_oid} is not supported "
                                         "(AES-CBC, DES-EDE3-CBC, DES-CBC, RC2-CBC are)")
        name, key_len = _PBES2_CIPHERS[enc_oid]
        rc2_bits = 0
        if name == "RC2-CBC":
            rc2 = enc_params.seq("RC2 parameters", 1, 2)
            iv = rc2[-1].expect(0x04, "RC2 IV").octets()
            rc2_bits = _rc2_bits(rc2[0].integer("RC2 version")) if len(rc2) == 2 else 32
            key_len = kdf.key_length or 16
        else:
            iv = enc_params.expect(0x04, f"{what} IV").octets()
        if kdf.key_length is not None and kdf.key_length != key_len:
            raise DecodeError(f"{what}: PBKDF2 key length {kdf.key_length} does not fit {name}")
        block = 16 if name.startswith("AES") else 8
        if len(iv) != block:
            raise DecodeError(f"{what}: the {name} IV is {len(iv)} bytes; {block} expected")
        _check_ciphertext(data, block, what)
        key = _pbkdf2(form.raw, kdf.salt, kdf.iterations, key_len, kdf.prf, budget=budget,
                      what=what)
        cipher = {"DES-EDE3-CBC": "3des", "DES-CBC": "des", "RC2-CBC": "rc2"}.get(name, "aes")
        return _cipher(cipher, key, iv, data, encrypt=False, rc2_bits=rc2_bits)
    raise UnsupportedFormatError(f"{what}: encryption algorithm {oid} is not supported")


def _check_ciphertext(data: bytes, block: int, what: str) -> None:
    """Refuse an empty or ragged ciphertext before any key derivation (it cannot decrypt)."""
    if not data or len(data) % block:
        raise DecodeError(f"{what}: the encrypted data is {len(data)} bytes, not a whole, "
                          f"non-zero number of {block}-byte blocks; the file is damaged")


def encrypt(scheme: str, data: bytes, form: PasswordForm, iterations: int) -> tuple[bytes, bytes]:
    """Encrypt ``data``; return ``(AlgorithmIdentifier DER, ciphertext)``.

    ``scheme`` is ``"AES-256-CBC"`` (PBES2, PBKDF2-HMAC-SHA256; also AES-128/192) or a
    PKCS#12 PBE name: ``"3des"``, ``"2des"``, ``"rc2-128"``, ``"rc2-40"``.
    """
    _check_iterations(iterations, "encryption")
    salt = os.urandom(16 if scheme.startswith("AES") else 8)
    if scheme in _PBES2_BY_NAME:
        key_len = _PBES2_CIPHERS[_PBES2_BY_NAME[scheme]][1]
        iv = os.urandom(16)
        key = _pbkdf2(form.raw, salt, iterations, key_len, "sha256",
                      budget=WorkBudget.unlimited())
        kdf = tlv(0x30, encode_oid(PBKDF2) + tlv(0x30, tlv(0x04, salt) + der_int(iterations)
                  + tlv(0x30, encode_oid(HMAC_OIDS["sha256"]) + b"\x05\x00")))
        enc = tlv(0x30, encode_oid(_PBES2_BY_NAME[scheme]) + tlv(0x04, iv))
        alg = tlv(0x30, encode_oid(PBES2) + tlv(0x30, kdf + enc))
        return alg, _cipher("aes", key, iv, data, encrypt=True)
    oid = PKCS12_PBE_BY_NAME[scheme]
    _, cipher, key_len, _ = _PKCS12_PBE[oid]
    key = pkcs12_kdf("sha1", form.kdf, salt, 1, iterations, key_len,
                     budget=WorkBudget.unlimited())
    iv = pkcs12_kdf("sha1", form.kdf, salt, 2, iterations, 8, budget=WorkBudget.unlimited())
    alg = tlv(0x30, encode_oid(oid) + tlv(0x30, tlv(0x04, salt) + der_int(iterations)))
    return alg, _cipher(cipher, key, iv, data, encrypt=True, rc2_bits=8 * key_len)


# ---------------------------------------------------------------------------------------
# MACs


def pkcs12_mac(hash_name: str, form: PasswordForm, salt: bytes, iterations: int,
               data: bytes, *, budget: WorkBudget | None = None) -> bytes:
    """The classic PKCS#12 MAC: HMAC keyed by the PKCS#12 KDF (purpose 3)."""
    size = _DIGEST_SIZES[hash_name]
    key = pkcs12_kdf(hash_name, form.kdf, salt, 3, iterations, size, budget=budget,
                     what="the PKCS#12 MAC")
    return hmac.new(key, data, hash_name).digest()


#: PBMAC1 keys shorter than this protect nothing: a 1-octet key lets a file made under one
#: password verify under another once in 256 tries (OpenSSL CVE-2025-11187, Go, BC 1.86).
MIN_PBMAC1_KEY = 20


@attrs.frozen
class PBMAC1Params:
    """Checked RFC 9579 parameters: the PBKDF2 inputs and the HMAC they key."""

    kdf: _Pbkdf2
    key_length: int
    mac_hash: str

    @property
    def scheme(self) -> Scheme:
        """The parameters in words, for :class:`~certkit.Protection`."""
        return Scheme(f"PBMAC1 PBKDF2-HMAC-{self.kdf.prf.upper()} HMAC-{self.mac_hash.upper()}",
                      self.kdf.iterations, "SHA-1 MAC" if self.mac_hash == "sha1"
                      else _weak_iterations(self.kdf.iterations))


def parse_pbmac1(params: Node) -> PBMAC1Params:
    """Check RFC 9579 parameters as OpenSSL and Go do, before any password is tried.

    The KDF must be PBKDF2 with an OCTET STRING salt and an explicit key length of at least
    20 octets and at most the HMAC's output size; anything else is malformed whatever the
    password (a short key would let another password verify).
    """
    kdf_node, scheme_node = params.seq("PBMAC1 parameters", 2, 2)
    kdf = _parse_pbkdf2(kdf_node, "PBMAC1")
    mac_oid, _ = _alg(scheme_node, "PBMAC1 MAC algorithm")
    if mac_oid not in _HMAC_PRFS:
        raise UnsupportedFormatError(f"PBMAC1: message authentication scheme {mac_oid} is not "
                                     "supported (HMAC-SHA1/SHA-2 are)")
    mac_hash = _HMAC_PRFS[mac_oid]
    if kdf.key_length is None:
        raise DecodeError("PBMAC1: the PBKDF2 key length is missing (RFC 9579 requires it)")
    most = _DIGEST_SIZES[mac_hash]
    if not MIN_PBMAC1_KEY <= kdf.key_length <= most:
        raise DecodeError(
            f"PBMAC1: a {kdf.key_length}-octet MAC key is not acceptable (HMAC-{mac_hash.upper()} "
            f"needs {MIN_PBMAC1_KEY} to {most}); a short key lets other passwords verify, so "
            "the file's integrity cannot be trusted whatever the password")
    return PBMAC1Params(kdf, kdf.key_length, mac_hash)


def pbmac1(params: PBMAC1Params, form: PasswordForm, data: bytes, *,
           budget: WorkBudget | None = None) -> bytes:
    """RFC 9579 PBMAC1: PBKDF2 over the UTF-8 password keys an HMAC over ``data``."""
    kdf = params.kdf
    key = _pbkdf2(form.raw, kdf.salt, kdf.iterations, params.key_length, kdf.prf,
                  budget=budget, what="the PKCS#12 MAC (PBMAC1)")
    return hmac.new(key, data, params.mac_hash).digest()


def pbmac1_params(iterations: int, salt: bytes) -> bytes:
    """The DER PBMAC1 AlgorithmIdentifier: PBKDF2-HMAC-SHA256, 32-byte key, HMAC-SHA256."""
    hmac256 = tlv(0x30, encode_oid(HMAC_OIDS["sha256"]) + b"\x05\x00")
    kdf = tlv(0x30, encode_oid(PBKDF2) + tlv(0x30, tlv(0x04, salt) + der_int(iterations)
              + der_int(32) + hmac256))
    return tlv(0x30, encode_oid(PBMAC1) + tlv(0x30, kdf + hmac256))


def pbmac1_key(form: PasswordForm, salt: bytes, iterations: int) -> bytes:
    """The PBMAC1 key :func:`pbmac1_params` describes."""
    return _pbkdf2(form.raw, salt, iterations, 32, "sha256", budget=WorkBudget.unlimited())


def hash_name(oid: str) -> str:
    """The hashlib name for a digest OID; :class:`UnsupportedFormatError` if unknown."""
    name = _HASH_NAMES.get(oid)
    if name is None or name == "md5":
        raise UnsupportedFormatError(f"MAC digest algorithm {oid} is not supported "
                                     "(SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 are)")
    return name


# ---------------------------------------------------------------------------------------
# PKCS#8


def decrypt_pkcs8(der_bytes: bytes, password: str | bytes | None, *,
                  source: str | None = None, budget: WorkBudget | None = None) -> bytes:
    """Decrypt an EncryptedPrivateKeyInfo and return the PrivateKeyInfo DER.

    Tries the password forms of :func:`password_forms`, each charged to ``budget``;
    :class:`PasswordError` if none gives valid padding and a PrivateKeyInfo.
    """
    budget = budget or WorkBudget()
    try:
        top = Node.parse(der_bytes, what="encrypted private key")
        algorithm, body = top.seq("EncryptedPrivateKeyInfo", 2, 2)
        ciphertext = body.expect(0x04, "encrypted key").octets()
        last: PasswordError | None = None
        for form in password_forms(password):
            try:
                plain = decrypt(algorithm, ciphertext, form, what="the private key",
                                budget=budget)
            except PasswordError as err:
                last = err
                continue
            if looks_like_private_key_info(plain):
                return plain
            last = PasswordError("wrong password for the private key", source=source)
    except (DecodeError, UnsupportedFormatError) as err:
        if source and err.source is None:
            err.source = source
        raise
    if password is None:
        raise PasswordError("the private key is encrypted and no password was given",
                            source=source, missing=True)
    raise PasswordError("wrong password for the private key", source=source) from last


SCRYPT = "1.3.6.1.4.1.11591.4.11"
#: scrypt needs 128 x N x r bytes of memory; OpenSSL's own default ceiling is 32 MiB.
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024


def charge_pkcs8(der_bytes: bytes, budget: WorkBudget, *, what: str = "the private key") -> None:
    """Charge one decryption attempt of an EncryptedPrivateKeyInfo that ``cryptography`` will
    run (it derives with whatever the file says, so certkit counts first).

    scrypt is counted as N x r x p units (about what PBKDF2 costs per unit here) and refused
    above :data:`MAX_SCRYPT_MEMORY`. Unknown schemes are not charged: ``cryptography``
    rejects them, and certkit's own decryption charges what it runs.
    """
    top = Node.parse(der_bytes, what="encrypted private key")
    algorithm, _ = top.seq("EncryptedPrivateKeyInfo", 2, 2)
    oid, params = _alg(algorithm, f"{what} algorithm")
    if params is None:
        return
    if oid in _PKCS12_PBE:
        name, cipher, key_len, _ = _PKCS12_PBE[oid]
        _, iterations = _salt_iter(params, name)
        budget.charge(iterations, blocks(key_len, 20) + (cipher != "rc4"), what)
    elif oid in _PBES1:
        _, iterations = _salt_iter(params, "PBES1")
        budget.charge(iterations, 1, what)
    elif oid == PBES2:
        kdf_node, enc_node = params.seq("PBES2 parameters", 2, 2)
        kdf_oid = kdf_node.seq("PBES2 key derivation", 1, 2)[0].oid("PBES2 key derivation")
        if kdf_oid == SCRYPT:
            _charge_scrypt(kdf_node, budget, what)
            return
        kdf = _parse_pbkdf2(kdf_node, what)
        enc_oid, _ = _alg(enc_node, f"{what} PBES2 cipher")
        key_len = kdf.key_length or _PBES2_CIPHERS.get(enc_oid, ("", 32))[1] or 16
        budget.charge(kdf.iterations, _units(kdf.prf, key_len), what)


def _charge_scrypt(kdf_node: Node, budget: WorkBudget, what: str) -> None:
    kids = kdf_node.seq("scrypt", 2, 2)[1].seq("scrypt parameters", 4, 5)
    kids[0].expect(0x04, "scrypt salt")
    cost, block_size, parallel = (k.integer(f"scrypt {n}") for k, n in
                                  zip(kids[1:4], ("cost", "block size", "parallelization"),
                                      strict=True))
    if min(cost, block_size, parallel) < 1 or 128 * cost * block_size > MAX_SCRYPT_MEMORY:
        raise DecodeError(f"{what}: scrypt parameters N={cost}, r={block_size}, p={parallel} are "
                          f"absurd (more than {MAX_SCRYPT_MEMORY // 2**20} MiB of memory)")
    budget.charge(cost * block_size * parallel, 1, what)


def looks_like_private_key_info(plain: bytes) -> bool:
    """Whether ``plain`` parses as a PrivateKeyInfo SEQUENCE starting with a version INTEGER."""
    try:
        kids = Node.parse(plain).seq("PrivateKeyInfo", 3, 5)
        return kids[0].tag == 0x02 and kids[1].tag == 0x30 and kids[2].tag == 0x04
    except DecodeError:
        return False


