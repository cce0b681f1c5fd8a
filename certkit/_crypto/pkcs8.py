"""What a PKCS#8 private key is, read from its DER alone (no cryptography import).

Keystore codecs keep keys as PKCS#8 bytes and parse them only when used; this module tells
them, cheaply, which keys will not parse (an algorithm or curve this system's cryptography
lacks) and which carry an encoding quirk that certkit straightens out before parsing (JDK 8
wrote EC scalars with a leading zero byte), so one such key becomes an opaque entry or a
note instead of an error that sinks the whole store.
"""

from __future__ import annotations

from certkit._crypto import der as _der
from certkit.errors import DecodeError

__all__ = ["KeyShape", "examine", "without_ec_public_key"]

_RSA = "1.2.840.113549.1.1.1"
_RSA_PSS = "1.2.840.113549.1.1.10"
_DSA = "1.2.840.10040.4.1"
_EC = "1.2.840.10045.2.1"

#: Algorithms cryptography reads, by OID, and what certkit calls them.
_PLAIN = {
    _RSA: "RSA", _RSA_PSS: "RSA-PSS", _DSA: "DSA",
    "1.3.101.112": "Ed25519", "1.3.101.113": "Ed448",
    "1.3.101.110": "X25519", "1.3.101.111": "X448",
}

#: Algorithms certkit can name but this system's cryptography cannot read.
_UNSUPPORTED = {
    "1.2.643.2.2.19": "GOST R 34.10-2001",
    "1.2.643.7.1.1.1.1": "GOST R 34.10-2012 (256-bit)",
    "1.2.643.7.1.1.1.2": "GOST R 34.10-2012 (512-bit)",
    "1.2.156.10197.1.301": "SM2",
    "1.2.840.10046.2.1": "X9.42 Diffie-Hellman",
    "1.2.840.113549.1.3.1": "PKCS#3 Diffie-Hellman",
}

#: Named curves cryptography supports: OID -> (name, bytes of the group order).
_CURVES = {
    "1.2.840.10045.3.1.1": ("P-192", 24),
    "1.3.132.0.33": ("P-224", 28),
    "1.2.840.10045.3.1.7": ("P-256", 32),
    "1.3.132.0.34": ("P-384", 48),
    "1.3.132.0.35": ("P-521", 66),
    "1.3.132.0.10": ("secp256k1", 32),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 32),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 48),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 64),
}

#: Named curves cryptography dropped or never had (binary curves, old SEC prime curves).
_OTHER_CURVES = {
    "1.3.132.0.1": "sect163k1", "1.3.132.0.2": "sect163r1", "1.3.132.0.15": "sect163r2",
    "1.3.132.0.24": "sect193r1", "1.3.132.0.25": "sect193r2", "1.3.132.0.26": "sect233k1",
    "1.3.132.0.27": "sect233r1", "1.3.132.0.16": "sect283k1", "1.3.132.0.17": "sect283r1",
    "1.3.132.0.36": "sect409k1", "1.3.132.0.37": "sect409r1", "1.3.132.0.38": "sect571k1",
    "1.3.132.0.39": "sect571r1", "1.3.132.0.8": "secp160r1", "1.3.132.0.9": "secp160k1",
    "1.3.132.0.30": "secp160r2", "1.3.132.0.31": "secp192k1", "1.3.132.0.32": "secp224k1",
    "1.2.840.10045.3.1.2": "prime192v2", "1.2.840.10045.3.1.3": "prime192v3",
    "1.2.840.10045.3.1.4": "prime239v1", "1.2.156.10197.1.301": "SM2",
}

_BINARY = frozenset(oid for oid, name in _OTHER_CURVES.items() if name.startswith("sect"))


class KeyShape:
    """What :func:`examine` found: the algorithm in words, and what stands in the way.

    ``unsupported`` says in words why cryptography cannot read the key (``None`` if it
    should); ``quirk`` names an encoding oddity and ``normalised`` holds the key re-encoded
    without it; ``needs_check`` is true when only parsing can tell (explicit curve
    parameters, an embedded EC public key, an algorithm certkit does not know).
    """

    __slots__ = ("algorithm", "needs_check", "normalised", "quirk", "unsupported")

    def __init__(self, algorithm: str, *, unsupported: str | None = None,
                 quirk: str | None = None, normalised: bytes | None = None,
                 needs_check: bool = False) -> None:
        self.algorithm = algorithm
        self.unsupported = unsupported
        self.quirk = quirk
        self.normalised = normalised
        self.needs_check = needs_check


def _fields(pkcs8: bytes) -> tuple[list[_der.Node], str, _der.Node | None]:
    top = _der.Node.parse(pkcs8, what="private key").seq("PrivateKeyInfo", 3, 5)
    algorithm = top[1].seq("private key algorithm", 1, 2)
    oid = algorithm[0].oid("private key algorithm")
    return top, oid, algorithm[1] if len(algorithm) == 2 else None


def _rebuild(top: list[_der.Node], inner: list[bytes]) -> bytes:
    """The PrivateKeyInfo ``top`` with its privateKey OCTET STRING replaced by ``inner``."""
    body = _der.encode(0x30, b"".join(inner))
    parts = [top[0].encoded(), top[1].encoded(), _der.encode(0x04, body)]
    parts += [node.encoded() for node in top[3:]]
    return _der.encode(0x30, b"".join(parts))


def examine(pkcs8: bytes) -> KeyShape:
    """Describe an unencrypted PKCS#8 key; :class:`DecodeError` if it is not one."""
    top, oid, parameters = _fields(pkcs8)
    if oid in _PLAIN:
        return KeyShape(_PLAIN[oid])
    if oid in _UNSUPPORTED:
        name = _UNSUPPORTED[oid]
        return KeyShape(name, unsupported=f"a {name} key, an algorithm this system's "
                        "cryptography library does not support")
    if oid != _EC:
        return KeyShape(f"algorithm {oid}", needs_check=True)
    if parameters is None or parameters.tag != 0x06:
        # Explicit domain parameters: cryptography maps the named prime curves it knows.
        binary = parameters is not None and b"\x2a\x86\x48\xce\x3d\x01\x02" in parameters.encoded()
        if binary:
            return KeyShape("EC (explicit parameters)", unsupported=(
                "an EC key on a binary curve given by explicit domain parameters, which this "
                "system's cryptography library does not support"))
        return KeyShape("EC (explicit parameters)", needs_check=True)
    curve = parameters.oid("EC curve")
    if curve not in _CURVES:
        other = _OTHER_CURVES.get(curve)
        kind = "binary curve" if curve in _BINARY else "curve"
        what = f"the {kind} {other} ({curve})" if other else f"the curve {curve}"
        return KeyShape(f"EC {other or curve}", unsupported=(
            f"an EC key on {what}, which this system's cryptography library does not support"))
    name, size = _CURVES[curve]
    inner = _der.Node.parse(top[2].expect(0x04, "EC private key").octets(),
                            what="EC private key").seq("ECPrivateKey", 2, 4)
    scalar = inner[1].expect(0x04, "EC private key scalar").octets()
    shape = KeyShape(f"EC {name}", needs_check=any(node.tag == 0xA1 for node in inner[2:]))
    if len(scalar) != size:
        value = int.from_bytes(scalar, "big")
        if value.bit_length() <= size * 8:
            fixed = value.to_bytes(size, "big")
            shape.quirk = (f"its EC private value is {len(scalar)} bytes long where {name} "
                           f"takes {size} (as JDK 8 wrote EC keys); read as the {size}-byte value")
            shape.normalised = _rebuild(top, [inner[0].encoded(), _der.encode(0x04, fixed),
                                              *(node.encoded() for node in inner[2:])])
    return shape


def without_ec_public_key(pkcs8: bytes) -> tuple[bytes, bytes] | None:
    """The EC key without its optional embedded public key, and that key's point octets.

    ``None`` if the key has no embedded public key. The public key is derived from the
    private value anyway; some writers encode its BIT STRING in ways OpenSSL accepts and
    cryptography refuses (non-zero unused bits). The caller checks that the point is the
    derived one before using the key, since a point that differs is no encoding quirk.
    """
    try:
        top, oid, _ = _fields(pkcs8)
        if oid != _EC:
            return None
        inner = _der.Node.parse(top[2].expect(0x04, "EC private key").octets(),
                                what="EC private key").seq("ECPrivateKey", 2, 4)
        embedded = [node for node in inner if node.tag == 0xA1]
        if not embedded:
            return None
        (bits,) = embedded[0].children()
        point = bits.expect(0x03, "EC public key").content[1:]
    except (DecodeError, ValueError):
        return None
    kept = [node.encoded() for node in inner if node.tag != 0xA1]
    return _rebuild(top, kept), point
