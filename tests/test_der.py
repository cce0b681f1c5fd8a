"""The DER codec: one certificate, key or request per file, detected by content."""

from __future__ import annotations

import pytest
from conftest import PKI, issue, make_key
from cryptography.hazmat.primitives import serialization
from hypothesis import example, given, settings
from hypothesis import strategies as st

import certkit
from certkit import KeyEntry, KeyStore, SecretKeyEntry, TrustedCertEntry
from certkit._crypto import der as _der
from certkit.errors import DecodeError, PasswordError, UnrepresentableError


class TestReading:
    def test_certificate(self, pki: PKI) -> None:
        """A DER certificate loads as one trusted entry aliased by its CN."""
        store = certkit.load(pki.leaf.certificate.der)
        assert store.format == "der"
        assert store.aliases == ("localhost",)
        assert store.certificates == (pki.leaf.certificate,)

    @pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8,
                                     serialization.PrivateFormat.TraditionalOpenSSL])
    def test_key(self, fmt: serialization.PrivateFormat) -> None:
        """A PKCS#8 or traditional DER key loads as a key entry with an empty chain."""
        key = make_key("EC-P256")
        der = key.key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        (entry,) = certkit.load(der).key_entries
        assert entry.key == key
        assert not entry.chain

    def test_encrypted_key(self, pki: PKI) -> None:
        """An encrypted PKCS#8 DER key needs its password: missing and wrong are told apart."""
        der = certkit.dump(KeyStore([KeyEntry("k", pki.leaf.key)]), "der", password="pw")
        with pytest.raises(PasswordError) as missing:
            certkit.load(der)
        assert missing.value.missing
        with pytest.raises(PasswordError) as wrong:
            certkit.load(der, password="nope")
        assert not wrong.value.missing
        assert certkit.load(der, password="pw").key_entries[0].key == pki.leaf.key

    def test_trailing_bytes_rejected(self, pki: PKI) -> None:
        """A certificate followed by extra bytes is not silently accepted."""
        with pytest.raises(DecodeError):
            certkit.load(pki.leaf.certificate.der + b"\x00\x00")

    def test_sequence_that_is_nothing(self) -> None:
        """A well-formed SEQUENCE that is no certificate, key or request raises DecodeError."""
        with pytest.raises(DecodeError, match="not a DER certificate, private key"):
            certkit.load(b"\x30\x03\x02\x01\x05", format="der")


class TestWriting:
    def test_certificate_round_trip(self, pki: PKI) -> None:
        """A one-certificate store dumps to exactly the certificate's DER."""
        store = KeyStore([TrustedCertEntry("x", pki.root.certificate)])
        assert certkit.dump(store, "der") == pki.root.certificate.der

    def test_key_round_trip(self, pki: PKI) -> None:
        """A lone key dumps to its PKCS#8 DER."""
        store = KeyStore([KeyEntry("k", pki.leaf.key)])
        assert certkit.dump(store, "der") == pki.leaf.key.pkcs8

    def test_key_entry_needs_allow_loss(self, pki: PKI) -> None:
        """A key with its chain cannot be one DER object: the error lists key and extra certs."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)])
        with pytest.raises(UnrepresentableError) as info:
            certkit.dump(store, "der")
        assert info.value.lost == ("private key of 'web'", "2 certificate(s) of 'web'")
        assert certkit.dump(store, "der", allow_loss=True) == pki.leaf.certificate.der
        assert certkit.dump(store, "der", content="key", allow_loss=True) == pki.leaf.key.pkcs8

    def test_two_certificates_need_allow_loss(self, pki: PKI) -> None:
        """A second certificate would be dropped: UnrepresentableError names its subject."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate),
                          TrustedCertEntry("b", pki.intermediate.certificate)])
        with pytest.raises(UnrepresentableError, match="Intermediate"):
            certkit.dump(store, "der")

    def test_secret_key_lost(self, pki: PKI) -> None:
        """A secret key beside the certificate is named as lost."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate),
                          SecretKeyEntry("s", "AES", bytes(16))])
        with pytest.raises(UnrepresentableError, match="secret key 's'"):
            certkit.dump(store, "der")

    def test_empty_store(self) -> None:
        """An empty store has nothing to write as DER."""
        with pytest.raises(UnrepresentableError, match="no certificate request"):
            certkit.dump(KeyStore(), "der")


@st.composite
def _damaged_sequences(draw: st.DrawFn) -> bytes:
    """A SEQUENCE of elements (some with long-form lengths), then maybe one byte changed,
    bytes cut off the end or bytes added: where a shape check goes wrong."""
    parts = draw(st.lists(st.tuples(st.sampled_from([0x02, 0x04, 0x30, 0xA0, 0x1F]),
                                    st.binary(max_size=140)), max_size=10))
    data = bytearray(_der.encode(0x30, b"".join(_der.encode(t, v) for t, v in parts)))
    return _damage(draw, data, draw(st.sampled_from(["none", "byte", "cut", "add"])))


def _damage(draw: st.DrawFn, data: bytearray, change: str) -> bytes:
    """``data`` with one byte changed anywhere, its end cut off, or bytes added, as
    ``change`` says (``"none"``: unchanged)."""
    if change == "byte":
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif change == "cut":
        del data[draw(st.integers(0, len(data) - 1)):]
    elif change == "add":
        data += draw(st.binary(min_size=1, max_size=3))
    return bytes(data)


class TestSequenceTags:
    @pytest.mark.parametrize(("data", "expected"), [
        (b"\x30\x00", []),
        (b"\x30\x03\x02\x01\x01", [0x02]),
        (b"\x30\x06\x30\x00\x30\x00\x03\x00", [0x30, 0x30, 0x03]),
        (b"\x30\x81\x03\x02\x01\x01", [0x02]),  # long-form length
    ])
    def test_shapes(self, data: bytes, expected: list[int]) -> None:
        """The tags inside one SEQUENCE that fills the data exactly."""
        assert _der.sequence_tags(data) == expected

    @pytest.mark.parametrize("data", [
        b"", b"\x30", b"\x04\x00", b"\x30\x04\x02\x01\x01",  # not a SEQUENCE; too short
        b"\x30\x06\x30\x00\x30\x00\x03\x00\x00",  # trailing byte
        b"\x30\x03\x02\x02\x01",  # inner element overruns
        b"\x30\x80\x00\x00", b"\x30\x02\x1f\x00",  # indefinite length; multi-byte tag
    ])
    def test_not_one_sequence(self, data: bytes) -> None:
        """Anything else is None, never an exception."""
        assert _der.sequence_tags(data) is None

    def test_most(self) -> None:
        """More elements than ``most`` is None (bounded work on hostile input)."""
        assert _der.sequence_tags(b"\x30\x06" + b"\x05\x00" * 3, most=2) is None

    @pytest.mark.parametrize("data", [
        b"\x30\x85\x00\x00\x00\x00\x00",  # a five-byte length field
        b"\x30\x04\x04\x82\x00\x01",  # an inner length field runs past the end
        b"\x30\x03\x04\x81\x05",  # an inner long-form length overruns
        b"\x30\x02\x04",  # an inner header cut short
    ])
    def test_damaged_lengths(self, data: bytes) -> None:
        """Length fields that do not fit are None too."""
        assert _der.sequence_tags(data) is None

    @given(st.one_of(st.binary(max_size=40), _damaged_sequences()),
           st.integers(min_value=0, max_value=9))
    @example(b"\x30\x81\x03\x02\x01\x01", 8)
    @example(b"\x30\x03\x02\x02\x01", 8)
    @example(b"\x30\x02\x04\x80", 8)  # an inner indefinite length
    @example(b"\x30\x07\x04\x85\x00\x00\x00\x00\x00", 8)  # an inner 5-byte length field
    def test_agrees_with_the_strict_reader(self, data: bytes, most: int) -> None:
        """The quick check answers exactly as walking the data with read_tlv would."""
        try:
            tag, start, end = _der.read_tlv(data)
            inner = [t for t, *_ in _der.children(data, start, end)]
            expected = inner if tag == 0x30 and end == len(data) and len(inner) <= most else None
        except DecodeError:
            expected = None
        assert _der.sequence_tags(data, most) == expected


@st.composite
def _certificate_like(draw: st.DrawFn) -> bytes:
    """SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING } in and around the layouts that
    certificate_shaped reads by itself (a TBS of 256 octets or more, signatures in short,
    one- and two-octet length forms), then damaged where the headers are, or anywhere."""
    tbs = _der.encode(0x30, draw(st.binary(min_size=240, max_size=700)))
    algorithm = _der.encode(draw(st.sampled_from([0x30, 0x30, 0x31])),
                            draw(st.binary(max_size=140)))
    signature = _der.encode(draw(st.sampled_from([0x03, 0x03, 0x04])),
                            draw(st.sampled_from([b"", b"\x00" * 71, b"\x00" * 139,
                                                  b"\x00" * 257, b"\x00" * 513])))
    parts = draw(st.sampled_from([[tbs, algorithm, signature], [tbs, algorithm],
                                  [tbs, algorithm, signature, b"\x05\x00"]]))
    data = bytearray(_der.encode(0x30, b"".join(parts)))
    headers = [0, 1, 2, 3, 4, 5, 6, 7, len(tbs) + 4, len(tbs) + 5,
               len(tbs) + 4 + len(algorithm), len(tbs) + 5 + len(algorithm),
               len(tbs) + 6 + len(algorithm), len(tbs) + 7 + len(algorithm)]
    change = draw(st.sampled_from(["none", "header", "header", "byte", "cut", "add"]))
    if change == "header":
        position = draw(st.sampled_from([h for h in headers if h < len(data)]))
        data[position] = draw(st.integers(0, 255))
        return bytes(data)
    return _damage(draw, data, change)


class TestCertificateShaped:
    @settings(max_examples=300)
    @given(st.one_of(_certificate_like(), _damaged_sequences(), st.binary(max_size=40)))
    # An algorithm with a long-form length, whose content looks like a BIT STRING that
    # ends the data where its length byte, misread as a short form, would point.
    @example(_der.encode(0x30, _der.encode(0x30, bytes(300))
                         + _der.encode(0x30, bytes(0x80) + b"\x03\x02\x00\x00")))
    def test_agrees_with_sequence_tags(self, data: bytes) -> None:
        """The quick certificate check answers exactly as sequence_tags would."""
        expected = _der.sequence_tags(data) == list(_der.CERTIFICATE_SHAPE)
        assert _der.certificate_shaped(data) is expected

    @pytest.mark.parametrize("kind", ["RSA-2048", "EC-P256", "Ed25519"])
    def test_real_certificates_and_their_damage(self, kind: str) -> None:
        """Real certificates pass; every cut and every flip of a header octet agrees too."""
        der = issue(f"shape {kind}", key=make_key(kind)).certificate.der
        assert _der.certificate_shaped(der)
        samples = [der[:cut] for cut in range(len(der))] + [der + b"\x00"]
        _, start, end = _der.read_tlv(der)
        headers = set(range(12))
        for _, element, _, _ in _der.children(der, start, end):
            headers.update(range(element, min(element + 4, len(der))))
        samples += [der[:position] + bytes([value]) + der[position + 1 :]
                    for position in sorted(headers)
                    for value in {0x00, 0x03, 0x30, 0x81, 0x82, 0xFF, der[position] ^ 1,
                                  (der[position] + 1) % 256, (der[position] - 1) % 256}]
        for data in samples:
            expected = _der.sequence_tags(data) == list(_der.CERTIFICATE_SHAPE)
            assert _der.certificate_shaped(data) is expected


class TestOneReader:
    """The tree view (:class:`Node`, BER allowed) and the flat DER reader agree."""

    @given(st.one_of(st.binary(max_size=40), _damaged_sequences()))
    @example(b"\x30\x80\x02\x01\x01\x00\x00")  # indefinite length: BER only
    def test_node_agrees_with_read_tlv_on_der(self, data: bytes) -> None:
        """Where read_tlv accepts an element, Node finds the same tag, content and children."""
        try:
            tag, start, end = _der.read_tlv(data)
        except DecodeError:
            if data[1:2] != b"\x80":  # only BER's indefinite length is Node's alone
                with pytest.raises(DecodeError):
                    _der.Node.parse(data, whole=False)
            return
        node = _der.Node.parse(data, whole=False)
        assert (node.tag, node.start, node.end) == (tag, start, end)
        if not tag & 0x20:
            return
        try:
            kids = [(t, s, e) for t, _, s, e in _der.children(data, start, end)]
        except DecodeError:
            kids = None
        if kids is None or any(data[s - 1 : s] == b"\x80" for _, s, _ in kids):
            return  # a damaged or BER child: Node may read further, never less strictly
        assert [(k.tag, k.start, k.end) for k in node.children()] == kids

    def test_der_re_encodes_indefinite_lengths(self) -> None:
        """A BER element with an indefinite length re-encodes as definite-length DER."""
        node = _der.Node.parse(b"\x30\x80\x02\x01\x01\x00\x00")
        assert _der.der(node) == b"\x30\x03\x02\x01\x01"
