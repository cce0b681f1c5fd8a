"""Reading and writing single private keys in PEM and DER, encrypted or not.

cryptography does the parsing; this module turns its exceptions into certkit errors that
tell a missing password from a wrong one, and falls back to certkit's own PBE code for
the PKCS#8 encryption schemes cryptography does not implement.
"""

from __future__ import annotations

import warnings
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.utils import CryptographyDeprecationWarning

from certkit._crypto.password import Password, password_bytes
from certkit._crypto.pem import pem_blocks
from certkit.errors import DecodeError, PasswordError, UnsupportedFormatError

_ENCRYPTED_MARKERS = (b"ENCRYPTED PRIVATE KEY", b"Proc-Type: 4,ENCRYPTED")


def _is_encrypted_der(data: bytes) -> bool:
    # EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier SEQUENCE, OCTET STRING }
    # whereas PrivateKeyInfo starts with INTEGER version.
    from certkit._crypto import der as _der  # noqa: PLC0415 - only needed on this path

    try:
        _, start, end = _der.read_tlv(data)
        kids = _der.children(data, start, end)
    except DecodeError:
        return False
    return len(kids) == 2 and kids[0][0] == 0x30 and kids[1][0] == 0x04


def _wrapper_intact(data: bytes, *, pem: bool) -> bool:
    """Whether an encrypted key's outer structure is sound, so a failure lies in what decrypted."""
    if not pem:
        return _is_encrypted_der(data)
    if b"Proc-Type: 4,ENCRYPTED" in data:
        return True  # legacy PEM: headers and base64 only; cryptography got as far as decrypting
    try:
        blocks = [b for b in pem_blocks(data) if b.label == "ENCRYPTED PRIVATE KEY"]
    except DecodeError:
        return False
    return len(blocks) == 1 and _is_encrypted_der(blocks[0].der)


def load_private_key(
    data: bytes, password: Password = None, *, source: str | None = None
) -> PrivateKeyTypes:
    """Read one private key from PEM or DER bytes (PKCS#8, encrypted PKCS#8, traditional)."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    encrypted = any(m in data for m in _ENCRYPTED_MARKERS) if pem else _is_encrypted_der(data)
    pw = password_bytes(password)
    if encrypted and pw is None:
        raise PasswordError(
            "the private key is encrypted and no password was given; "
            "pass password=… (--password-file or --password-env on the command line)",
            source=source,
            missing=True,
        )
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        with warnings.catch_warnings():
            # cryptography deprecates some key types (finite-field DH from 50 on); a file
            # holding one is still read and reported, not turned into a warning the user
            # cannot act on.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            key = loader(data, pw if encrypted else None, unsafe_skip_rsa_key_validation=True)
    except TypeError as err:  # cryptography's way of saying "password needed / not needed"
        raise PasswordError(f"cannot open the private key: {err}", source=source) from err
    except UnsupportedAlgorithm as err:
        raise UnsupportedFormatError(
            f"the private key uses an algorithm this system's cryptography library lacks: {err}",
            source=source,
        ) from err
    except ValueError as err:
        message = str(err)
        if encrypted and "Unknown key encryption algorithm" in message:
            return _load_with_certkit_pbe(data, pw, pem=pem, source=source)
        if encrypted and ("password" in message.lower() or "decrypt" in message.lower()):
            raise PasswordError("wrong password for the private key", source=source) from err
        if encrypted and "DEK-Info" not in message and _wrapper_intact(data, pem=pem):
            # A wrong password passes the CBC padding check about once in 256 tries and
            # "decrypts" to bytes that are no key; that is still a wrong password.
            raise PasswordError("wrong password for the private key (or the encrypted key "
                                "data is damaged)", source=source) from err
        raise DecodeError(f"not a readable private key: {message}", source=source) from err
    return key


def _load_with_certkit_pbe(
    data: bytes, password: bytes | None, *, pem: bool, source: str | None
) -> PrivateKeyTypes:
    """Decrypt an EncryptedPrivateKeyInfo whose scheme cryptography does not implement."""
    der = data
    if pem:
        blocks = [b for b in pem_blocks(data) if b.label == "ENCRYPTED PRIVATE KEY"]
        if not blocks:
            raise DecodeError("no ENCRYPTED PRIVATE KEY block found", source=source)
        der = blocks[0].der
    try:
        from certkit._crypto import pbe as _pbe  # noqa: PLC0415 - the PBE module is optional at this layer
    except ImportError as err:  # pragma: no cover - the PBE module ships with certkit
        raise UnsupportedFormatError("this key's encryption scheme is not supported",
                                     source=source) from err
    plain = _pbe.decrypt_pkcs8(der, password, source=source)
    try:
        return load_private_key(plain, None, source=source)
    except DecodeError as err:  # see load_private_key: garbage out of CBC is a wrong password
        raise PasswordError("wrong password for the private key (or the encrypted key "
                            "data is damaged)", source=source) from err


#: How a private key is written: ``pkcs8`` (``PRIVATE KEY``, any algorithm), ``pkcs1``
#: (``RSA PRIVATE KEY``, RSA only) or ``sec1`` (``EC PRIVATE KEY``, EC only).
KEY_FORMATS = ("pkcs8", "pkcs1", "sec1")


def _check_key_format(key: PrivateKeyTypes, key_format: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: PLC0415 - rare path

    if key_format not in KEY_FORMATS:
        raise UnsupportedFormatError(
            f"unknown key format {key_format!r}; choose pkcs8, pkcs1 (RSA) or sec1 (EC)",
            format=key_format)
    wanted: dict[str, tuple[type[object], str, str]] = {
        "pkcs1": (rsa.RSAPrivateKey, "RSA", "RSA PRIVATE KEY"),
        "sec1": (ec.EllipticCurvePrivateKey, "EC", "EC PRIVATE KEY")}
    if key_format in wanted and not isinstance(key, wanted[key_format][0]):
        kind, label = wanted[key_format][1:]
        from certkit.errors import UnsupportedKeyError  # noqa: PLC0415 - error path only

        actual = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
        raise UnsupportedKeyError(
            f"key format {key_format} ({label}) holds {kind} keys only, and this key "
            f"is {actual or 'another kind'}; write it as pkcs8"
            + (" or sec1" if key_format == "pkcs1" and isinstance(
                key, ec.EllipticCurvePrivateKey) else "")
            + (" or pkcs1" if key_format == "sec1" and isinstance(key, rsa.RSAPrivateKey)
               else ""),
            algorithm=actual or None)


def dump_private_key(
    key: PrivateKeyTypes, encoding: Literal["pem", "der"], password: Password = None,
    key_format: str = "pkcs8",
) -> bytes:
    """Write a key as PKCS#8 (or PKCS#1/SEC1 with ``key_format``), encrypted when a password
    is given: PBES2/AES-256-CBC for PKCS#8, OpenSSL's ``Proc-Type`` AES-256-CBC for
    PKCS#1/SEC1 in PEM (DER PKCS#1/SEC1 has no encrypted form and is refused)."""
    _check_key_format(key, key_format)
    pw = password_bytes(password)
    algorithm: serialization.KeySerializationEncryption
    if pw is None:
        algorithm = serialization.NoEncryption()
    else:
        if not pw:
            raise PasswordError("an empty password cannot protect a private key; give a real one")
        if key_format != "pkcs8" and encoding == "der":
            raise UnsupportedFormatError(
                f"a DER {key_format} key cannot be encrypted; write it as pkcs8, as PEM, "
                "or without a password", format=key_format)
        algorithm = serialization.BestAvailableEncryption(pw)
    enc = serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER
    fmt = (serialization.PrivateFormat.PKCS8 if key_format == "pkcs8"
           else serialization.PrivateFormat.TraditionalOpenSSL)
    return key.private_bytes(enc, fmt, algorithm)
