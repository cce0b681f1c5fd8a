"""Reading and writing single private keys in PEM and DER, encrypted or not.

cryptography does the parsing; this module turns its exceptions into certkit errors that
tell a missing password from a wrong one, and falls back to certkit's own PBE code for
the PKCS#8 encryption schemes cryptography does not implement.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.utils import CryptographyDeprecationWarning

from certkit._crypto import pkcs8 as _pkcs8
from certkit._crypto.password import Password, password_bytes
from certkit._crypto.pem import pem_blocks
from certkit.errors import (
    DecodeError,
    Hint,
    PasswordError,
    UnsupportedFormatError,
    without_library_advice,
)


def library_message(err: BaseException) -> str:
    """A third-party exception's text without its request to file an issue with that project."""
    text = without_library_advice(str(err)).strip().rstrip(".")
    return text or type(err).__name__

if TYPE_CHECKING:
    from certkit._crypto.budget import WorkBudget

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


def _charge(data: bytes, *, pem: bool, budget: WorkBudget | None) -> None:
    """Charge the key derivation cryptography is about to run for an encrypted PKCS#8 key."""
    from certkit._crypto import pbe as _pbe  # noqa: PLC0415 - only encrypted keys need it
    from certkit._crypto.budget import WorkBudget  # noqa: PLC0415

    der = data
    if pem:
        blocks = [b for b in pem_blocks(data) if b.label == "ENCRYPTED PRIVATE KEY"]
        if not blocks:
            return  # legacy Proc-Type encryption: one MD5 round, nothing to count
        der = blocks[0].der
    if _is_encrypted_der(der):
        _pbe.charge_pkcs8(der, budget or WorkBudget())


def load_private_key(
    data: bytes, password: Password = None, *, source: str | None = None,
    budget: WorkBudget | None = None,
) -> PrivateKeyTypes:
    """Read one private key from PEM or DER bytes (PKCS#8, encrypted PKCS#8, traditional).

    The key derivation of an encrypted key is charged to ``budget`` first (see
    :mod:`certkit._crypto.budget`).
    """
    pem = data.lstrip().startswith(b"-----BEGIN")
    encrypted = any(m in data for m in _ENCRYPTED_MARKERS) if pem else _is_encrypted_der(data)
    pw = password_bytes(password)
    if encrypted and pw is None:
        hint = Hint("password", path=source)
        raise PasswordError(
            f"the private key is encrypted and no password was given; pass {hint.api}",
            source=source,
            missing=True,
        ).with_hint(hint)
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    if encrypted:
        try:
            _charge(data, pem=pem, budget=budget)
        except DecodeError as err:
            if source is not None and err.source is None:
                err.source = source
            raise
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
        salvaged = None if encrypted else _salvage(data, pem=pem, source=source)
        if salvaged is not None:
            return salvaged
        raise UnsupportedFormatError(
            "the private key uses an algorithm this system's cryptography library lacks: "
            f"{library_message(err)}",
            source=source,
        ) from err
    except ValueError as err:
        message = library_message(err)
        if encrypted and "Unknown key encryption algorithm" in message:
            return _load_with_certkit_pbe(data, pw, pem=pem, source=source, budget=budget)
        if encrypted and ("password" in message.lower() or "decrypt" in message.lower()):
            raise PasswordError("wrong password for the private key", source=source) from err
        if encrypted and "DEK-Info" not in message and _wrapper_intact(data, pem=pem):
            # A wrong password passes the CBC padding check about once in 256 tries and
            # "decrypts" to bytes that are no key; that is still a wrong password.
            raise PasswordError("wrong password for the private key (or the encrypted key "
                                "data is damaged)", source=source) from err
        salvaged = None if encrypted else _salvage(data, pem=pem, source=source)
        if salvaged is not None:
            return salvaged
        raise DecodeError(f"not a readable private key: {message}", source=source) from err
    return key


def _salvage(data: bytes, *, pem: bool, source: str | None) -> PrivateKeyTypes | None:
    """Read a PKCS#8 key cryptography refused, if only an encoding quirk was in the way.

    Two quirks are straightened out: an EC private value of the wrong length (JDK 8 wrote
    33 bytes, a leading zero, for P-256) and an embedded EC public key cryptography will not
    decode (it is derived from the private value anyway). A key on a curve or algorithm this
    system lacks raises :class:`UnsupportedFormatError` naming it in words.
    """
    der = data
    if pem:
        try:
            blocks = [b for b in pem_blocks(data) if b.label == "PRIVATE KEY"]
        except DecodeError:
            return None
        if len(blocks) != 1:
            return None
        der = blocks[0].der
    try:
        shape = _pkcs8.examine(der)
    except DecodeError:
        return None
    if shape.unsupported is not None:
        raise UnsupportedFormatError(f"the private key is {shape.unsupported}", source=source)
    found = _normalised(der, shape)
    return None if found is None else found[0]


def _normalised(der: bytes, shape: _pkcs8.KeyShape) -> tuple[PrivateKeyTypes, str] | None:
    """The key read past its encoding quirks, and what was straightened out; else ``None``."""
    base = shape.normalised or der
    if shape.normalised is not None:
        with contextlib.suppress(ValueError, UnsupportedAlgorithm):
            return serialization.load_der_private_key(
                shape.normalised, None, unsafe_skip_rsa_key_validation=True), shape.quirk or ""
    stripped = _pkcs8.without_ec_public_key(base)
    if stripped is None:
        return None
    candidate, point = stripped
    try:
        key = serialization.load_der_private_key(candidate, None)
    except (ValueError, UnsupportedAlgorithm):
        return None
    public = key.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or point not in (
            public.public_bytes(serialization.Encoding.X962, form)
            for form in (serialization.PublicFormat.UncompressedPoint,
                         serialization.PublicFormat.CompressedPoint)):
        return None  # a public key that is not this private key's: no quirk, a broken key
    derived = ("its embedded EC public key is encoded in a way cryptography refuses (OpenSSL "
               "reads it); read without it")
    return key, f"{shape.quirk}; {derived}" if shape.quirk else derived


def read_pkcs8(der: bytes) -> tuple[PrivateKeyTypes, str | None]:
    """Parse unencrypted PKCS#8 DER, straightening out the encoding quirks :func:`_salvage`
    knows; the second item says which quirk was straightened out (``None`` if none was).

    Raises :class:`UnsupportedFormatError` naming the algorithm or curve in words when this
    system's cryptography lacks it, :class:`DecodeError` when the key is malformed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return serialization.load_der_private_key(
                der, None, unsafe_skip_rsa_key_validation=True), None
    except (ValueError, UnsupportedAlgorithm, TypeError) as err:
        shape = _pkcs8.examine(der)
        if shape.unsupported is not None:
            raise UnsupportedFormatError(f"the private key is {shape.unsupported}") from err
        found = _normalised(der, shape)
        if found is None:
            if isinstance(err, UnsupportedAlgorithm):
                raise UnsupportedFormatError(
                    f"the {shape.algorithm} private key uses something this system's "
                    f"cryptography library lacks: {library_message(err)}") from err
            raise DecodeError(f"the {shape.algorithm} private key is malformed: "
                              f"{library_message(err)}") from err
        return found


def _load_with_certkit_pbe(
    data: bytes, password: bytes | None, *, pem: bool, source: str | None,
    budget: WorkBudget | None,
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
    plain = _pbe.decrypt_pkcs8(der, password, source=source, budget=budget)
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
