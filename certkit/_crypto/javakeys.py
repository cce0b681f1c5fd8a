"""Java keystore cryptography that pyjks lacks or does slowly: key protectors, sealing, digests.

Everything here is a pure function over bytes, checked against what the JDK's ``keytool``
writes and reads (see ``tests/test_jks_interop.py``):

* the JKS key protector (``sun.security.provider.KeyProtector``, OID 1.3.6.1.4.1.42.2.17.1.1),
  read with or without the NULL algorithm parameters (JDK 21 omits them, which crashes
  pyjks) and written with them, as JDK 17 does;
* ``PBEWithMD5AndTripleDES`` (``com.sun.crypto.provider.KeyProtector``, OID
  1.3.6.1.4.1.42.2.19.1), the JCEKS key protection, both MD5 chains of its key derivation
  advanced in one loop over hashlib;
* the ``SealedObjectForKeyProtector`` serialization JCEKS uses for secret keys;
* the keyed SHA-1 digest that guards a JKS/JCEKS store, and Java's modified UTF-8.
"""

from __future__ import annotations

import hashlib
import itertools
import os

from certkit._crypto import der as _der
from certkit._crypto.budget import MAX_ITERATIONS, WorkBudget
from certkit.errors import DecodeError, PasswordError, UnsupportedFormatError

__all__ = [
    "DEFAULT_JCEKS_ITERATIONS",
    "JAVA_STREAM_HEADER",
    "JCE_PBE_OID",
    "JKS_PROTECTOR_OID",
    "MAX_JCEKS_ITERATIONS",
    "derive_jce_key",
    "java_password",
    "jce_decrypt",
    "jce_encrypt",
    "jce_password_bytes",
    "modified_utf8_decode",
    "modified_utf8_encode",
    "parse_encrypted_key",
    "parse_pbe_parameters",
    "protect_jce",
    "protect_jks",
    "recover_jce",
    "recover_jks",
    "seal_secret_key",
    "secret_key_spec",
    "store_digest",
]

#: keytool's default iteration count for JCEKS keys (``jdk.jceks.iterationCount``).
DEFAULT_JCEKS_ITERATIONS = 200_000
#: The largest iteration count the JDK accepts when reading a JCEKS key; certkit refuses
#: more so that a hostile file cannot make it spin for minutes.
MAX_JCEKS_ITERATIONS = MAX_ITERATIONS

JKS_PROTECTOR_OID = "1.3.6.1.4.1.42.2.17.1.1"
JCE_PBE_OID = "1.3.6.1.4.1.42.2.19.1"
_OID_DER = {
    JKS_PROTECTOR_OID: bytes.fromhex("060a2b060104012a02110101"),
    JCE_PBE_OID: bytes.fromhex("06092b060104012a021301"),
}
_WHITENER = b"Mighty Aphrodite"
_SEAL_ALGORITHM = "PBEWithMD5AndTripleDES"


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()  # noqa: S324 - the Java formats mandate SHA-1


def java_password(password: str | bytes, *, what: str = "password") -> str:
    """Return a password as the Java ``char[]`` text it stands for (bytes are read as UTF-8)."""
    if isinstance(password, str):
        return password
    try:
        return password.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PasswordError(
            f"the {what} is given as bytes that are not UTF-8; Java keystore passwords are "
            "text, so pass it as a str"
        ) from err


def _utf16_units(text: str) -> bytes:
    # Java chars are UTF-16 code units; encoding big-endian yields exactly what the JDK
    # feeds its digests (two bytes per char, surrogate pairs for astral characters).
    return text.encode("utf-16-be", "surrogatepass")


def store_digest(password: str, data: bytes | memoryview) -> bytes:
    """The SHA-1 integrity digest a JKS or JCEKS file ends with, over ``data``."""
    digest = hashlib.sha1(_utf16_units(password) + _WHITENER)  # noqa: S324 - as _sha1
    digest.update(data)  # hashed where it lies: a truststore is most of a megabyte
    return digest.digest()


def modified_utf8_encode(text: str, *, what: str = "alias") -> bytes:
    """Encode ``text`` as Java's ``DataOutput.writeUTF`` does, length prefix included."""
    if text.isascii() and "\x00" not in text:  # the usual alias: modified UTF-8 is ASCII
        body = text.encode("ascii")
        if len(body) <= 0xFFFF:
            return len(body).to_bytes(2, "big") + body
    units = _utf16_units(text).decode("utf-16-be", "surrogatepass")
    # Splitting astral characters into surrogates, then encoding each surrogate on its
    # own, gives CESU-8; Java also writes NUL as two bytes.
    body = "".join(
        chr(0xD800 + ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 + ((ord(c) - 0x10000) & 0x3FF))
        if ord(c) > 0xFFFF
        else c
        for c in units
    ).encode("utf-8", "surrogatepass").replace(b"\x00", b"\xc0\x80")
    if len(body) > 0xFFFF:
        raise UnsupportedFormatError(
            f"the {what} is {len(body)} bytes long in Java's encoding; "
            "Java keystores allow at most 65535",
        )
    return len(body).to_bytes(2, "big") + body


def modified_utf8_decode(data: bytes) -> str:
    """Decode the body of a Java ``writeUTF`` string (without its length prefix)."""
    try:
        text = data.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")
    except UnicodeError as err:
        raise DecodeError(f"a keystore string is not valid Java UTF-8: {err}") from err


# --- DER helpers ----------------------------------------------------------------------


def _encrypted_private_key_info(oid: str, parameters: bytes, encrypted: bytes) -> bytes:
    algorithm = _der.encode(0x30, _OID_DER[oid] + parameters)
    return _der.encode(0x30, algorithm + _der.encode(0x04, encrypted))


def parse_encrypted_key(der: bytes) -> tuple[str, bytes | None, bytes]:
    """Split an ``EncryptedPrivateKeyInfo`` into (OID, parameters DER or ``None``, ciphertext)."""
    tag, start, end = _der.read_tlv(der)
    if tag != 0x30:
        raise DecodeError("an encrypted key entry is not a DER SEQUENCE")
    parts = _der.children(der, start, end)
    if len(parts) != 2 or parts[0][0] != 0x30 or parts[1][0] != 0x04:
        raise DecodeError("an encrypted key entry is not an EncryptedPrivateKeyInfo")
    _, _, astart, aend = parts[0]
    algorithm = _der.children(der, astart, aend)
    if not algorithm or algorithm[0][0] != 0x06 or len(algorithm) > 2:
        raise DecodeError("an encrypted key entry has a malformed algorithm identifier")
    oid = _der.decode_oid(der[algorithm[0][2] : algorithm[0][3]], "an encrypted key's algorithm")
    parameters = None
    if len(algorithm) == 2:
        _, pstart, _, pend = algorithm[1]
        parameters = der[pstart:pend]
    return oid, parameters, der[parts[1][2] : parts[1][3]]


def parse_pbe_parameters(der: bytes) -> tuple[bytes, int]:
    """Read a PKCS#5 ``PBEParameter`` (salt, iteration count), refusing absurd counts."""
    tag, start, end = _der.read_tlv(der)
    parts = _der.children(der, start, end) if tag == 0x30 else []
    if len(parts) != 2 or parts[0][0] != 0x04 or parts[1][0] != 0x02:
        raise DecodeError("PBEWithMD5AndTripleDES parameters are not a salt and an iteration count")
    salt = der[parts[0][2] : parts[0][3]]
    count_der = der[parts[1][2] : parts[1][3]]
    if not 1 <= len(count_der) <= 8:
        raise DecodeError("PBEWithMD5AndTripleDES iteration count is malformed")
    iterations = int.from_bytes(count_der, "big", signed=True)
    if len(salt) != 8:
        raise DecodeError(f"PBEWithMD5AndTripleDES needs an 8-byte salt, found {len(salt)} bytes")
    if not 1 <= iterations <= MAX_JCEKS_ITERATIONS:
        raise DecodeError(
            f"PBEWithMD5AndTripleDES iteration count {iterations:,} is outside 1 to "
            f"{MAX_JCEKS_ITERATIONS:,} (the JDK's limit); the file is damaged or hostile"
        )
    return salt, iterations


def _pbe_parameters(salt: bytes, iterations: int) -> bytes:
    return _der.encode(0x30, _der.encode(0x04, salt) + _der.integer(iterations))


# --- the JKS key protector --------------------------------------------------------------


def _jks_keystream_xor(data: bytes, password: bytes, iv: bytes) -> bytes:
    blocks: list[bytes] = []
    digest = iv
    for _ in range((len(data) + 19) // 20):
        digest = _sha1(password + digest)
        blocks.append(digest)
    stream = b"".join(blocks)[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def protect_jks(pkcs8: bytes, password: str) -> bytes:
    """Encrypt a PKCS#8 key with the JKS key protector, as ``EncryptedPrivateKeyInfo`` DER."""
    secret = _utf16_units(password)
    iv = os.urandom(20)
    body = iv + _jks_keystream_xor(pkcs8, secret, iv) + _sha1(secret + pkcs8)
    return _encrypted_private_key_info(JKS_PROTECTOR_OID, b"\x05\x00", body)


def recover_jks(encrypted: bytes, password: str) -> bytes | None:
    """Decrypt a JKS-protected key (the OCTET STRING body); ``None`` if the password is wrong."""
    if len(encrypted) < 41:
        raise DecodeError("a JKS-protected key is too short to hold its IV and check digest")
    secret = _utf16_units(password)
    iv, body, check = encrypted[:20], encrypted[20:-20], encrypted[-20:]
    plain = _jks_keystream_xor(body, secret, iv)
    if _sha1(secret + plain) != check:
        return None
    return plain


# --- PBEWithMD5AndTripleDES -----------------------------------------------------------


def jce_password_bytes(password: str) -> bytes:
    """The bytes Java's ``PBEKey`` makes of a password: printable ASCII only, else an error."""
    if any(not 0x20 <= ord(c) <= 0x7E for c in password):
        raise PasswordError(
            "JCEKS protects keys with PBEWithMD5AndTripleDES, which Java allows only with "
            "printable ASCII passwords; choose such a key password or use PKCS#12"
        )
    return password.encode("ascii")


def derive_jce_key(password: bytes, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """Derive the 3DES key and IV of PBEWithMD5AndTripleDES (``PBES1Core.deriveCipherKey``)."""
    first, second = salt[:4], salt[4:]
    if first == second:
        # The JDK means to reverse the first half but a typo ("salt[3-1]") makes it
        # rotate instead: [a, b, c, d] becomes [d, a, b, d].
        first = bytes((first[3], first[0], first[1], first[3]))
    md5 = hashlib.md5
    # Both halves advance in one loop: half the interpreter overhead of two loops.
    for _ in itertools.repeat(None, iterations):
        first = md5(first + password).digest()
        second = md5(second + password).digest()
    derived = first + second
    return derived[:24], derived[24:]


def jce_encrypt(plain: bytes, password: bytes, salt: bytes, iterations: int) -> bytes:
    """Encrypt with PBEWithMD5AndTripleDES (PKCS#5 padding)."""
    from certkit._crypto import pbe as _pbe  # noqa: PLC0415 - imports cryptography, which JKS never needs

    key, iv = derive_jce_key(password, salt, iterations)
    return _pbe._cipher("3des", key, iv, plain, encrypt=True)


def jce_decrypt(data: bytes, password: bytes, salt: bytes, iterations: int, *,
                budget: WorkBudget | None = None, what: str = "a JCEKS key") -> bytes | None:
    """Decrypt PBEWithMD5AndTripleDES; ``None`` when the padding shows a wrong password.

    Valid padding does not prove the password right (a wrong one passes about once in 256
    tries): callers check that the plaintext has the structure they expect. The two MD5
    chains of the key derivation are charged to ``budget`` first.
    """
    from certkit._crypto import pbe as _pbe  # noqa: PLC0415 - imports cryptography, which JKS never needs

    if not data or len(data) % 8:
        raise DecodeError("PBEWithMD5AndTripleDES ciphertext is not a whole number of blocks")
    (budget or WorkBudget()).charge(iterations, 2, what)
    key, iv = derive_jce_key(password, salt, iterations)
    try:
        return _pbe._cipher("3des", key, iv, data, encrypt=False)
    except _pbe._BadPadding:
        return None


def _fresh_salt() -> bytes:
    while True:  # equal halves trigger the JDK's salt quirk; avoid them on writing
        salt = os.urandom(8)
        if salt[:4] != salt[4:]:
            return salt


def protect_jce(pkcs8: bytes, password: str, iterations: int) -> bytes:
    """Encrypt a PKCS#8 key for JCEKS, as ``EncryptedPrivateKeyInfo`` DER."""
    secret = jce_password_bytes(password)
    salt = _fresh_salt()
    encrypted = jce_encrypt(pkcs8, secret, salt, iterations)
    return _encrypted_private_key_info(JCE_PBE_OID, _pbe_parameters(salt, iterations), encrypted)


def recover_jce(parameters: bytes | None, encrypted: bytes, password: str, *,
                budget: WorkBudget | None = None, what: str = "a JCEKS key") -> bytes | None:
    """Decrypt a JCEKS-protected key; ``None`` if the password is wrong."""
    if parameters is None:
        raise DecodeError("a JCEKS key has no PBEWithMD5AndTripleDES parameters (salt, iterations)")
    salt, iterations = parse_pbe_parameters(parameters)
    try:
        secret = jce_password_bytes(password)
    except PasswordError:
        return None  # Java cannot have encrypted a key under this password either
    plain = jce_decrypt(encrypted, secret, salt, iterations, budget=budget, what=what)
    # A wrong password still yields valid padding about once in 256 tries; as in Java, only
    # a plaintext that is one DER SEQUENCE (the PKCS#8 key) counts as success.
    return plain if plain is not None and _is_one_sequence(plain) else None


def _is_one_sequence(data: bytes) -> bool:
    try:
        tag, _, end = _der.read_tlv(data)
    except DecodeError:
        return False
    return tag == 0x30 and end == len(data)


# --- Java serialization of secret keys ------------------------------------------------

#: The magic and version every Java serialization stream starts with.
JAVA_STREAM_HEADER = bytes.fromhex("aced0005")
_BYTE_ARRAY_CLASS = bytes.fromhex("757200025b42acf317f8060854e00200007870")  # new byte[] class desc


def _java_string(text: str) -> bytes:
    return b"\x74" + modified_utf8_encode(text, what="algorithm name")


def secret_key_spec(algorithm: str, key: bytes) -> bytes:
    """Serialize ``new javax.crypto.spec.SecretKeySpec(key, algorithm)`` as Java does."""
    return (
        JAVA_STREAM_HEADER
        + bytes.fromhex(
            "7372001f6a617661782e63727970746f2e737065632e5365637265744b657953706563"
            "5b470b66e230614d0200024c0009616c676f726974686d7400124c6a6176612f6c616e672f"
            "537472696e673b5b00036b65797400025b427870"
        )
        + _java_string(algorithm)
        + _BYTE_ARRAY_CLASS
        + len(key).to_bytes(4, "big")
        + key
    )


def seal_secret_key(algorithm: str, key: bytes, password: str, iterations: int) -> bytes:
    """Serialize a secret key the way JCEKS stores it: a ``SealedObjectForKeyProtector``.

    The layout is byte for byte what JDK 17's ``keytool -genseckey`` writes; only the salt,
    iteration count and ciphertext differ.
    """
    secret = jce_password_bytes(password)
    salt = _fresh_salt()
    params = _pbe_parameters(salt, iterations)
    content = jce_encrypt(secret_key_spec(algorithm, key), secret, salt, iterations)
    return (
        JAVA_STREAM_HEADER
        + bytes.fromhex(
            # class SealedObjectForKeyProtector extends javax.crypto.SealedObject
            "73720033636f6d2e73756e2e63727970746f2e70726f76696465722e5365616c65644f626a656374"
            "466f724b657950726f746563746f72cd57ca59e730bb53020000787200196a617661782e63727970"
            "746f2e5365616c65644f626a6563743e363da6c3b754700200045b000d656e636f64656450617261"
            "6d737400025b425b0010656e63727970746564436f6e74656e7471007e00024c0009706172616d73"
            "416c677400124c6a6176612f6c616e672f537472696e673b4c00077365616c416c6771007e0003"
            "7870"
        )
        + _BYTE_ARRAY_CLASS
        + len(params).to_bytes(4, "big")
        + params
        + bytes.fromhex("7571007e0005")  # encryptedContent: byte[] by class reference
        + len(content).to_bytes(4, "big")
        + content
        + _java_string(_SEAL_ALGORITHM)  # paramsAlg
        + _java_string(_SEAL_ALGORITHM)  # sealAlg
    )
