"""Minimal, bounded DER helpers: TLV boundaries, element encoding and OBJECT IDENTIFIERs.

cryptography parses certificates and keys; this module finds where a structure ends (to
split a TRUSTED CERTIFICATE from its trailer, to sniff formats, to lift the raw
SubjectPublicKeyInfo out of a certificate whose key type cryptography does not know), and
is the one place DER elements are encoded and OIDs decoded by hand (PKCS#7, PKCS#12, the
Java keystores). :class:`Node` is the tree view of the same reader, for BER input
(PKCS#12 and PKCS#7 files from real producers use indefinite lengths).
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Iterable

from certkit.errors import DecodeError

MAX_DEPTH = 64
#: How deep a BER tree may nest.
MAX_NESTING = 64
#: Constructed strings may nest this deep (OpenSSL's ASN1_MAX_STRING_NEST).
MAX_STRING_NESTING = 5


def read_tlv(data: bytes, offset: int = 0, limit: int | None = None) -> tuple[int, int, int]:
    """Return ``(tag, content_start, content_end)`` of the DER element at ``offset``.

    The element must end by ``limit`` (default: the end of ``data``). Raises
    :class:`DecodeError` for truncated data, indefinite lengths or absurd lengths.
    """
    end = len(data) if limit is None else limit
    found = _header(data, offset, end)
    if found is None:
        raise _header_error(data, offset, end)
    return found


def _header(data: bytes, pos: int, limit: int) -> tuple[int, int, int] | None:
    """``(tag, content_start, content_end)`` at ``pos``, or ``None`` if it does not fit."""
    if pos + 2 > limit or data[pos] & 0x1F == 0x1F:
        return None
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or start + count > limit:
            return None
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > limit:
        return None
    return data[pos], start, start + length


def _header_error(data: bytes, offset: int, end: int) -> DecodeError:
    """Why :func:`_header` found no element at ``offset`` (it has already said that it did not)."""
    if offset + 2 > end:
        return DecodeError("DER data is truncated (no room for a tag and length)", offset=offset)
    if data[offset] & 0x1F == 0x1F:
        return DecodeError("DER data uses a multi-byte tag, which no supported format needs",
                           offset=offset)
    first = data[offset + 1]
    if first == 0x80:
        return DecodeError("indefinite length (BER) where DER was expected", offset=offset)
    pos = offset + 2
    length = first
    if first > 0x80:
        count = first & 0x7F
        if count > 4 or pos + count > end:
            return DecodeError("DER length field is truncated or too large", offset=offset)
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return DecodeError(
        f"DER element at offset {offset} claims {length} bytes but only {end - pos} remain",
        offset=offset,
    )


def sequence_tags(data: bytes, most: int = 8) -> list[int] | None:
    """The tags of the elements inside ``data``, which must be exactly one SEQUENCE.

    ``None`` when it is not (or holds more than ``most`` elements): a quick shape check
    for bulk input, e.g. every certificate of a 1,000-entry truststore, where
    :func:`read_tlv` would say what exactly is wrong.
    """
    # _header's rules, unrolled: this runs once per certificate of a large keystore, where
    # a call per element was a third of the load time.
    end = len(data)
    if end < 2 or data[0] != 0x30:
        return None
    length = data[1]
    pos = 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > end:
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length != end:
        return None
    tags: list[int] = []
    while pos < end:
        if pos + 2 > end or len(tags) == most:
            return None
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            return None
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if not 1 <= count <= 4 or pos + count > end:
                return None
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        pos += length
        if pos > end:
            return None
        tags.append(tag)
    return tags


#: What :func:`sequence_tags` finds in every certificate: TBS, algorithm, signature.
CERTIFICATE_SHAPE = (0x30, 0x30, 0x03)
_TWO_LONG_HEADERS = struct.Struct(">HHHH")
#: A SEQUENCE header with a two-octet length (256 to 65,535 octets of content).
_LONG_SEQUENCE = 0x3082


def certificate_shaped(data: bytes) -> bool:
    """Whether ``sequence_tags(data)`` is ``[0x30, 0x30, 0x03]``: a certificate's framing.

    The same answer, found faster for the layout nearly every certificate has (outer and
    TBS SEQUENCEs of 256 to 65,535 octets, an algorithm of under 128, any signature under
    65,536); anything else is left to :func:`sequence_tags`. Every index below is checked
    the way :func:`sequence_tags` checks it, or raises :class:`IndexError`, which also
    hands the data to it.
    """
    end = len(data)
    if end > 8:
        outer, outer_length, tbs, tbs_length = _TWO_LONG_HEADERS.unpack_from(data)
        if outer == _LONG_SEQUENCE and tbs == _LONG_SEQUENCE and outer_length + 4 == end:
            try:
                algorithm = 8 + tbs_length
                if data[algorithm] == 0x30:
                    length = data[algorithm + 1]
                    signature = algorithm + 2 + length
                    if length < 0x80 and data[signature] == 0x03:
                        form = data[signature + 1]
                        if form < 0x80:
                            stop = signature + 2 + form
                        elif form == 0x82:
                            stop = (signature + 4 + (data[signature + 2] << 8)
                                    + data[signature + 3])
                        elif form == 0x81:
                            stop = signature + 3 + data[signature + 2]
                        else:
                            stop = -1
                        if stop == end:
                            return True
            except IndexError:
                pass
    found = sequence_tags(data)
    return found is not None and tuple(found) == CERTIFICATE_SHAPE


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """List ``(tag, element_start, content_start, content_end)`` for each element in a range."""
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        tag, cstart, cend = read_tlv(data, pos, end)
        out.append((tag, pos, cstart, cend))
        pos = cend
    return out


def element_length(data: bytes, offset: int = 0) -> int:
    """Return the total encoded length of the element at ``offset`` (header plus content)."""
    _, _, cend = read_tlv(data, offset)
    return cend - offset


def _tbs_fields(der: bytes) -> list[tuple[int, int, int, int]]:
    """The TBS fields of a DER certificate from serialNumber on (the version skipped)."""
    _, cstart, _cend = read_tlv(der)
    _, tstart, tend = read_tlv(der, cstart)
    fields = children(der, tstart, tend)
    if fields and fields[0][0] == 0xA0:  # explicit [0] version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …
    if len(fields) < 6:
        raise DecodeError("certificate TBS structure is too short to hold a public key")
    return fields


def certificate_tbs(der: bytes) -> bytes:
    """Return the to-be-signed element of a DER certificate, exactly as written."""
    _, cstart, _cend = read_tlv(der)
    _, _, tend = read_tlv(der, cstart)
    return der[cstart:tend]


def certificate_spki(der: bytes) -> bytes:
    """Return the raw SubjectPublicKeyInfo element of a DER certificate or CSR-like TBS."""
    _, estart, _, cend = _tbs_fields(der)[5]
    return der[estart:cend]


def certificate_names(der: bytes) -> tuple[bytes, bytes]:
    """Return the encoded issuer and subject Names of a DER certificate, as written."""
    fields = _tbs_fields(der)
    (_, istart, _, iend), (_, sstart, _, send) = fields[2], fields[4]
    return der[istart:iend], der[sstart:send]


#: Signature algorithms whose AlgorithmIdentifier must have no parameters (RFC 5758, 8410),
#: by the DER of their OID content: ECDSA with SHA-1/SHA-2, DSA with SHA-2, Ed25519, Ed448.
_NO_PARAMETERS = frozenset(bytes.fromhex(h) for h in (
    "2a8648ce3d0401", "2a8648ce3d040301", "2a8648ce3d040302", "2a8648ce3d040303",
    "2a8648ce3d040304", "608648016503040301", "608648016503040302", "2b6570", "2b6571"))


def _algorithm_without_null(der: bytes, start: int, end: int) -> bytes | None:
    """An AlgorithmIdentifier ``der[start:end]`` re-encoded without a forbidden NULL."""
    kids = children(der, *read_tlv(der, start)[1:])
    if (len(kids) == 2 and kids[0][0] == 0x06 and kids[1][0] == 0x05
            and kids[1][3] == kids[1][2] and der[kids[0][2]:kids[0][3]] in _NO_PARAMETERS):
        return encode(0x30, der[kids[0][1]:kids[0][3]])
    return None


def certificate_without_null_parameters(der: bytes) -> bytes | None:
    """The certificate with NULL signature-algorithm parameters removed, or ``None``.

    Some writers (mbed TLS's test CAs) put NULL parameters on ecdsa-with-SHA256 where the
    RFC says absent; OpenSSL and Java read them, cryptography refuses the certificate. The
    result is for parsing only: its signature no longer covers its to-be-signed bytes.
    """
    try:
        _, cstart, cend = read_tlv(der)
        top = children(der, cstart, cend)
        if len(top) != 3 or top[0][0] != 0x30:
            return None
        tbs = children(der, top[0][2], top[0][3])
        index = 1 if tbs and tbs[0][0] == 0xA0 else 0
        if len(tbs) <= index + 1:
            return None
        inner = _algorithm_without_null(der, tbs[index + 1][1], tbs[index + 1][3])
        outer = _algorithm_without_null(der, top[1][1], top[1][3])
    except DecodeError:
        return None
    if inner is None and outer is None:
        return None
    fields = [der[s:e] for _, s, _, e in tbs]
    if inner is not None:
        fields[index + 1] = inner
    parts = [encode(0x30, b"".join(fields)), outer or der[top[1][1]:top[1][3]],
             der[top[2][1]:top[2][3]]]
    return encode(0x30, b"".join(parts))


def pem_armor(label: str, der: bytes, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """Armour DER as one PEM block: base64 in 64-character lines, as OpenSSL writes it,
    after RFC 1421 ``Name: value`` headers (and their blank line) when there are any."""
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    if head:
        head += "\n"
    body = binascii.b2a_base64(der, newline=False).decode("ascii")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    text = f"-----BEGIN {label}-----\n{head}{lines}\n-----END {label}-----\n"
    return text.encode("ascii", "replace")


def integer(value: int) -> bytes:
    """Encode a DER INTEGER (two's complement, minimal length)."""
    return encode(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def encode(tag: int, content: bytes) -> bytes:
    """Encode one DER element from its tag byte and content."""
    length = len(content)
    if length < 0x80:
        header = bytes((tag, length))
    else:
        size = (length.bit_length() + 7) // 8
        header = bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")
    return header + content


#: Decoded OIDs: a PKCS#12 file repeats a dozen of them; bounded so hostile input cannot grow it.
_OID_CACHE: dict[bytes, str] = {}


def decode_oid(body: bytes, what: str = "OBJECT IDENTIFIER") -> str:
    """Decode the content octets of an OBJECT IDENTIFIER to dotted text."""
    cached = _OID_CACHE.get(body)
    if cached is not None:
        return cached
    if not body or len(body) > 128 or body[-1] & 0x80:
        raise DecodeError(f"{what}: malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    dotted = ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])
    if len(_OID_CACHE) < 512:
        _OID_CACHE[bytes(body)] = dotted
    return dotted


# ---------------------------------------------------------------------------------------
# The tree view: BER where real files need it (indefinite lengths, constructed strings),
# with the same bounded header rules as read_tlv for definite lengths.


class Node:
    """One BER element: its identifier octet and content, with children parsed on demand."""

    __slots__ = ("_kids", "data", "depth", "end", "start", "tag")

    def __init__(  # noqa: PLR0917 - internal constructor
        self, data: bytes, tag: int, start: int, end: int, depth: int, kids: list[Node] | None
    ) -> None:
        self.data = data
        self.tag = tag
        self.start = start
        self.end = end
        self.depth = depth
        self._kids = kids

    @classmethod
    def parse(cls, data: bytes, *, what: str = "data", whole: bool = True) -> Node:
        """Parse one element from ``data`` (which it must fill exactly when ``whole``)."""
        node, end = _read(data, 0, len(data), 0)
        if whole and end != len(data):
            raise DecodeError(f"{what} has {len(data) - end} unexpected bytes after its end")
        return node

    @property
    def constructed(self) -> bool:
        """Whether the element is constructed (holds other elements)."""
        return bool(self.tag & 0x20)

    @property
    def content(self) -> bytes:
        """The raw content octets (for a definite-length element)."""
        return self.data[self.start : self.end]

    def children(self) -> list[Node]:
        """The elements inside a constructed element."""
        if self._kids is None:
            if not self.constructed:
                raise DecodeError(
                    f"expected a constructed ASN.1 element, found tag {self.tag:#04x}")
            kids: list[Node] = []
            pos = self.start
            while pos < self.end:
                kid, pos = _read(self.data, pos, self.end, self.depth + 1)
                kids.append(kid)
            self._kids = kids
        return self._kids

    def expect(self, tag: int, what: str) -> Node:
        """Return ``self`` if its tag (ignoring the constructed bit for strings) is ``tag``."""
        if self.tag != tag and not (tag in _STRING_TAGS and self.tag == tag | 0x20):
            raise DecodeError(f"{what}: expected ASN.1 tag {tag:#04x}, found {self.tag:#04x}")
        return self

    def seq(self, what: str, minimum: int = 0, maximum: int = 1 << 20) -> list[Node]:
        """The children of a SEQUENCE, checking how many there are."""
        kids = self.expect(0x30, what).children()
        if not minimum <= len(kids) <= maximum:
            raise DecodeError(f"{what} has {len(kids)} fields; expected {minimum} to {maximum}")
        return kids

    def octets(self, what: str = "OCTET STRING", _level: int = 0) -> bytes:
        """The value of a (possibly constructed) OCTET STRING or implicitly tagged string."""
        if not self.constructed:
            return self.content
        if _level >= MAX_STRING_NESTING:
            raise DecodeError(f"{what} is a constructed string nested too deeply")
        return b"".join(kid.octets(what, _level + 1) for kid in self.children())

    def integer(self, what: str) -> int:
        """The value of an INTEGER."""
        body = self.expect(0x02, what).content
        if not body or len(body) > 64:
            raise DecodeError(f"{what}: an INTEGER of {len(body)} bytes is not acceptable")
        return int.from_bytes(body, "big", signed=True)

    def oid(self, what: str) -> str:
        """The dotted text of an OBJECT IDENTIFIER."""
        return decode_oid(self.expect(0x06, what).content, what)

    def encoded(self) -> bytes:
        """The element's encoding (DER-normalised for BER input)."""
        return der(self)


_STRING_TAGS = frozenset({0x03, 0x04, 0x0C, 0x13, 0x14, 0x16, 0x1E, 0x80})


def encode_oid(dotted: str) -> bytes:
    """Encode dotted text as a DER OBJECT IDENTIFIER element."""
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        rest = arc
        chunk = [rest & 0x7F]
        rest >>= 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return encode(0x06, bytes(body))


def der(node: Node) -> bytes:
    """Re-encode a parsed element as DER-style definite lengths (constructed strings joined)."""
    if not node.constructed:
        return encode(node.tag, node.content)
    if node.tag & 0xC0 == 0 and node.tag & 0x1F in {0x03, 0x04, 0x0C, 0x13, 0x14, 0x16, 0x1E}:
        return encode(node.tag & ~0x20, node.octets())
    return encode(node.tag, b"".join(der(kid) for kid in node.children()))


def _read(data: bytes, pos: int, limit: int, depth: int) -> tuple[Node, int]:
    if depth > MAX_NESTING:
        raise DecodeError("ASN.1 structure is nested too deeply")
    if pos + 2 > limit:
        raise DecodeError("ASN.1 data is truncated", offset=pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError("ASN.1 data uses a multi-byte tag, which PKCS#12 never needs", offset=pos)
    first = data[pos + 1]
    pos += 2
    if first == 0x80:
        if not tag & 0x20:
            raise DecodeError("indefinite length on a primitive ASN.1 element", offset=pos)
        kids: list[Node] = []
        start = pos
        while True:
            if pos + 2 > limit:
                raise DecodeError("ASN.1 data is truncated (missing end-of-contents)", offset=pos)
            if data[pos] == 0 and data[pos + 1] == 0:
                node = Node(data, tag, start, pos, depth, kids)
                return node, pos + 2
            kid, pos = _read(data, pos, limit, depth + 1)
            kids.append(kid)
    found = _header(data, pos - 2, limit)
    if found is None:
        raise _header_error(data, pos - 2, limit)
    _, pos, end = found
    return Node(data, tag, pos, end, depth, None), end


_RSA_OID = bytes.fromhex("2a864886f70d010101")
_EC_OID = bytes.fromhex("2a8648ce3d0201")
#: Ed25519, Ed448, X25519, X448: PKCS#8 v2 may carry the public key as ``[1]``.
_EDWARDS_OIDS = frozenset(bytes.fromhex(h) for h in ("2b6570", "2b6571", "2b656e", "2b656f"))


def pkcs8_public_spki(pkcs8: bytes) -> bytes | None:
    """The SubjectPublicKeyInfo that a PKCS#8 key's own fields spell out, or ``None``.

    RSA keys always carry their modulus and exponent; EC and Edwards keys carry their
    public point only optionally (the JDK leaves it out). No arithmetic is done, so a key
    can be compared with its certificate by bytes without parsing either of them; the
    encoding is the usual one (rsaEncryption with NULL parameters), so a certificate that
    spells its key differently needs the parsed comparison instead.
    """
    try:
        _, start, end = read_tlv(pkcs8)
        fields = children(pkcs8, start, end)
        if len(fields) < 3 or [f[0] for f in fields[:3]] != [0x02, 0x30, 0x04]:
            return None
        _, alg_start, alg_cstart, alg_end = fields[1]
        algorithm = pkcs8[alg_start:alg_end]
        alg_fields = children(pkcs8, alg_cstart, alg_end)
        if not alg_fields or alg_fields[0][0] != 0x06:
            return None
        oid = pkcs8[alg_fields[0][2]:alg_fields[0][3]]
        inner = pkcs8[fields[2][2]:fields[2][3]]
        if oid == _RSA_OID:
            _, istart, iend = read_tlv(inner)
            parts = children(inner, istart, iend)
            if len(parts) < 3 or parts[1][0] != 0x02 or parts[2][0] != 0x02:
                return None
            public = encode(0x30, inner[parts[1][1]:parts[1][3]] + inner[parts[2][1]:parts[2][3]])
            rsa = encode(0x30, encode(0x06, _RSA_OID) + b"\x05\x00")
            return encode(0x30, rsa + encode(0x03, b"\x00" + public))
        if oid == _EC_OID:
            _, istart, iend = read_tlv(inner)
            for tag, _, cstart, cend in children(inner, istart, iend)[2:]:
                if tag == 0xA1:  # [1] EXPLICIT BIT STRING publicKey
                    bit_tag, bstart, bend = read_tlv(inner, cstart, cend)
                    if bit_tag != 0x03:
                        return None
                    return encode(0x30, algorithm + encode(0x03, inner[bstart:bend]))
            return None
        if oid in _EDWARDS_OIDS:
            for tag, _, cstart, cend in fields[3:]:
                if tag == 0x81:  # [1] IMPLICIT BIT STRING publicKey
                    return encode(0x30, algorithm + encode(0x03, pkcs8[cstart:cend]))
    except DecodeError:
        return None
    return None


def certificate_fields(der: bytes) -> tuple[bytes, bytes, bytes]:
    """The encoded issuer Name, subject Name and SubjectPublicKeyInfo of a DER certificate.

    One pass over the start of the TBS (the extensions are never walked), for checks that
    run on every certificate of a large keystore; :class:`DecodeError` if it is not one.
    """
    _, start, end = read_tlv(der)
    _, pos, tbs_end = read_tlv(der, start, end)
    found: list[tuple[int, int]] = []
    while pos < tbs_end and len(found) < 7:
        header = _header(der, pos, tbs_end)
        if header is None:
            raise _header_error(der, pos, tbs_end)
        tag, _, cend = header
        if not (found == [] and tag == 0xA0):  # the explicit [0] version is skipped
            found.append((pos, cend))
        if len(found) == 6:
            break
        pos = cend
    if len(found) < 6:
        raise DecodeError("certificate TBS structure is too short to hold a public key")
    (istart, iend), (sstart, send), (kstart, kend) = found[2], found[4], found[5]
    return der[istart:iend], der[sstart:send], der[kstart:kend]
