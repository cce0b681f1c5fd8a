"""Entries certkit cannot parse, encoding quirks it straightens out, and what its errors say.

Keys and certificates here come from ``openssl`` and are re-encoded with asn1crypto the way
other producers wrote them (a JDK 8 EC scalar, a GOST key, a certificate cryptography
refuses); the real files those producers wrote are in ``test_realworld``.
"""

from __future__ import annotations

import pathlib

import pytest
from asn1crypto import core
from conftest import PKI, corpus_path, openssl

import certkit
from certkit.errors import CertkitError, UnrepresentableError, UnsupportedFormatError

PASSWORD = "changeit"


def _openssl_ec_key(tmp_path: pathlib.Path) -> bytes:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", tmp_path / "ec.pem")
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", tmp_path / "ec.pem", "-outform", "DER",
            "-out", tmp_path / "ec.der")
    return (tmp_path / "ec.der").read_bytes()


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    head = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) \
        + size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + head + content


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the definite-length DER element at ``pos``."""
    size, start = data[pos + 1], pos + 2
    if size & 0x80:
        count = size & 0x7F
        size, start = int.from_bytes(data[start : start + count], "big"), start + count
    return data[pos], start, start + size


def _elements(der: bytes) -> list[tuple[int, bytes, bytes]]:
    """The (tag, whole element, content) of each element inside one DER SEQUENCE."""
    _, pos, end = _read(der, 0)
    out = []
    while pos < end:
        tag, start, stop = _read(der, pos)
        out.append((tag, der[pos:stop], der[start:stop]))
        pos = stop
    return out


def _with_scalar(pkcs8: bytes, scalar: bytes) -> bytes:
    """The PKCS#8 key with its ECPrivateKey's privateKey OCTET STRING replaced."""
    version, algorithm, private, *rest = _elements(pkcs8)
    inner = _elements(private[2])
    fields = [inner[0][1], _tlv(0x04, scalar), *(e[1] for e in inner[2:])]
    octets = _tlv(0x04, _tlv(0x30, b"".join(fields)))
    return _tlv(0x30, version[1] + algorithm[1] + octets + b"".join(e[1] for e in rest))


def _with_public_key_bits(pkcs8: bytes, bits: bytes) -> bytes:
    """The EC PKCS#8 key with its embedded public key replaced by the BIT STRING ``bits``."""
    version, algorithm, private, *rest = _elements(pkcs8)
    fields = [e[1] for e in _elements(private[2]) if e[0] != 0xA1]
    fields.append(_tlv(0xA1, _tlv(0x03, bits)))
    octets = _tlv(0x04, _tlv(0x30, b"".join(fields)))
    return _tlv(0x30, version[1] + algorithm[1] + octets + b"".join(e[1] for e in rest))


def _scalar(pkcs8: bytes) -> bytes:
    return _elements(_elements(pkcs8)[2][2])[1][2]


class TestOpaqueEntry:
    """The model type for what certkit keeps as bytes."""

    def test_repr_never_shows_the_bytes(self) -> None:
        """The repr names alias, kind, reason and size, never the key material."""
        entry = certkit.OpaqueEntry("k", "private key", b"\x30\x03secret", "a GOST key")
        assert repr(entry) == ("OpaqueEntry(alias='k', kind='private key', reason='a GOST key', "
                               "chain_length=0, size=8)")

    def test_kind_is_checked(self) -> None:
        """Only private keys, secret keys and certificates are kept opaque."""
        with pytest.raises(ValueError, match="not one of"):
            certkit.OpaqueEntry("k", "public key", b"", "why")

    def test_store_lists_it(self, pki: PKI) -> None:
        """A store finds opaque entries by alias and lists their parsed chain certificates."""
        entry = certkit.OpaqueEntry("k", "private key", b"\x30\x00", "odd curve",
                                    chain=[pki.leaf.certificate])
        store = certkit.KeyStore([entry])
        assert store["k"] is entry
        assert store.opaque_entries == (entry,)
        assert store.certificates == (pki.leaf.certificate,)

    @pytest.mark.parametrize("fmt", ["pem", "der", "pkcs7"])
    def test_text_formats_refuse_it_by_alias(self, fmt: str) -> None:
        """PEM, DER and PKCS#7 name the opaque entry; allow_loss drops it."""
        store = certkit.KeyStore([certkit.OpaqueEntry("gost", "private key", b"\x30\x00",
                                                      "a GOST key")])
        with pytest.raises(UnrepresentableError, match=r"'gost'.*a GOST key") as caught:
            certkit.dump(store, fmt)
        assert caught.value.lost
        if fmt != "der":  # DER with nothing left has nothing to write
            certkit.dump(store, fmt, allow_loss=True)

    def test_opaque_certificate_round_trips_in_pkcs12(self, pki: PKI) -> None:
        """A certificate cryptography cannot parse is carried byte for byte through PKCS#12."""
        der = bytearray(pki.leaf.certificate.der)
        version = der.index(b"\xa0\x03\x02\x01\x02")
        der[version + 4] = 0x07  # version 8: cryptography refuses, the framing is intact
        store = certkit.KeyStore([certkit.OpaqueEntry("odd", "certificate", bytes(der),
                                                      "unknown version")])
        again = certkit.load(certkit.dump(store, "pkcs12", password=PASSWORD),
                             password=PASSWORD)
        (entry,) = again.opaque_entries
        assert (entry.kind, entry.data) == ("certificate", bytes(der))
        assert "version" in entry.reason.lower()


class TestQuirks:
    """Encoding oddities that real producers wrote, straightened out and said so."""

    def test_33_byte_scalar_reads_as_openssl_reads_it(self, tmp_path: pathlib.Path) -> None:
        """A P-256 key whose scalar has a leading zero (JDK 8) is the key openssl sees."""
        original = _openssl_ec_key(tmp_path)
        quirky = _with_scalar(original, b"\x00" + _scalar(original))
        (tmp_path / "quirky.der").write_bytes(quirky)
        public = openssl("pkey", "-inform", "DER", "-in", tmp_path / "quirky.der", "-pubout",
                         "-outform", "DER").stdout
        key = certkit.PrivateKey.load(quirky)
        assert key.spki == public
        assert certkit.PrivateKey.from_pkcs8(quirky).encoded == quirky

    def test_33_byte_scalar_in_pkcs12_is_noted(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """openssl writes the quirky key into a PKCS#12 as given; certkit reads it and says so."""
        original = _openssl_ec_key(tmp_path)
        quirky = _with_scalar(original, b"\x00" + _scalar(original))
        (tmp_path / "k.der").write_bytes(quirky)
        openssl("req", "-x509", "-key", tmp_path / "k.der", "-keyform", "DER", "-subj",
                "/CN=quirk", "-days", "1", "-out", tmp_path / "c.pem")
        store = certkit.load(certkit.dump(certkit.KeyStore([certkit.OpaqueEntry(
            "quirk", "private key", quirky, "test", chain=[certkit.Certificate.load(
                (tmp_path / "c.pem").read_bytes())])]), "pkcs12", password=PASSWORD),
            password=PASSWORD)
        (entry,) = store.key_entries
        assert entry.private_key.matches(entry.chain[0])
        assert any("33 bytes" in note for note in store.notes)

    def test_public_key_bits_cryptography_refuses(self, tmp_path: pathlib.Path) -> None:
        """An embedded public key with non-zero unused bits reads as openssl reads it."""
        for _ in range(40):  # the unused bits must be zero: find a point ending in a 0 bit
            original = _openssl_ec_key(tmp_path)
            (tmp_path / "k.der").write_bytes(original)
            point = openssl("pkey", "-inform", "DER", "-in", tmp_path / "k.der", "-pubout",
                            "-outform", "DER").stdout[-65:]
            if not point[-1] & 1:
                break
        odd = _with_public_key_bits(original, b"\x01" + point)
        (tmp_path / "odd.der").write_bytes(odd)
        public = openssl("pkey", "-inform", "DER", "-in", tmp_path / "odd.der", "-pubout",
                         "-outform", "DER").stdout
        assert certkit.PrivateKey.load(odd).spki == public

    def test_foreign_public_key_stays_opaque(self, tmp_path: pathlib.Path) -> None:
        """A key whose embedded public key is another key's is no quirk: kept opaque."""
        original, other = _openssl_ec_key(tmp_path), _openssl_ec_key(tmp_path / "..")
        (tmp_path / "other.der").write_bytes(other)
        point = openssl("pkey", "-inform", "DER", "-in", tmp_path / "other.der", "-pubout",
                        "-outform", "DER").stdout[-65:]
        broken = _with_public_key_bits(original, b"\x00" + point)
        store = certkit.KeyStore([certkit.OpaqueEntry("k", "private key", broken, "test")])
        again = certkit.load(certkit.dump(store, "pkcs12", password=PASSWORD),
                             password=PASSWORD)
        (entry,) = again.opaque_entries
        assert entry.data == broken

    def test_gost_key_is_named(self, tmp_path: pathlib.Path) -> None:
        """A GOST R 34.10-2012 key is refused in words, naming the algorithm."""
        gost = core.Sequence(contents=core.Integer(0).dump() + core.Sequence(
            contents=core.ObjectIdentifier("1.2.643.7.1.1.1.1").dump()).dump()
            + core.OctetString(core.OctetString(bytes(32)).dump()).dump()).dump()
        path = tmp_path / "gost.der"
        path.write_bytes(gost)
        with pytest.raises(UnsupportedFormatError, match=r"GOST R 34\.10-2012") as caught:
            certkit.load(path)
        assert str(path) in str(caught.value)

    def test_null_parameters_keep_the_original_bytes(self) -> None:
        """mbed TLS's CA parses; its DER, fingerprint and PEM are the file's, not a re-encoding."""
        path = corpus_path("realworld", "mbedtls-test-ca2.crt")
        (entry,) = certkit.load(path).trusted_entries
        assert entry.certificate.der != entry.certificate.x509.tbs_certificate_bytes
        assert entry.certificate.to_pem().split() == path.read_bytes().split()


class TestMessages:
    """Errors name the file and the structure in words, never a library's bug tracker."""

    def test_no_request_to_file_an_issue(self, tmp_path: pathlib.Path) -> None:
        """cryptography's "please file an issue" never reaches the user; the file is named."""
        original = _openssl_ec_key(tmp_path)
        broken = _with_scalar(original, b"\x01" * 40)  # longer than P-256 can hold
        path = tmp_path / "broken.der"
        path.write_bytes(broken)
        with pytest.raises(CertkitError) as caught:
            certkit.load(path)
        assert "issue" not in str(caught.value).lower()
        assert str(path) in str(caught.value)

    def test_cms_enveloped_data_is_named(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """An encrypted CMS message is called what it is, with what to do."""
        (tmp_path / "cert.pem").write_bytes(pki.leaf.certificate.to_pem())
        (tmp_path / "msg").write_bytes(b"hello")
        openssl("cms", "-encrypt", "-in", tmp_path / "msg", "-outform", "DER", "-out",
                tmp_path / "env.der", tmp_path / "cert.pem")
        with pytest.raises(UnsupportedFormatError, match=r"CMS EnvelopedData.*cms -decrypt"):
            certkit.load(tmp_path / "env.der")

    def test_bare_signed_data_is_named(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A SignedData without its ContentInfo is named as such."""
        (tmp_path / "cert.pem").write_bytes(pki.leaf.certificate.to_pem())
        openssl("crl2pkcs7", "-nocrl", "-certfile", tmp_path / "cert.pem", "-outform", "DER",
                "-out", tmp_path / "p7.der")
        _, content = _elements((tmp_path / "p7.der").read_bytes())
        bare = tmp_path / "bare.der"
        bare.write_bytes(content[2])  # inside the [0] EXPLICIT wrapper: the SignedData itself
        with pytest.raises(UnsupportedFormatError, match="bare PKCS#7/CMS SignedData"):
            certkit.load(bare)

    def test_bks_sealed_secret_with_a_chain(self) -> None:
        """A BKS sealed secret key stored with a chain reads as the secret pyjks documents."""
        path = corpus_path("pyjks", "keystores", "bks", "custom_entry_passwords.bksv1")
        locked = certkit.load(path, password="store_password")
        with pytest.raises(UnsupportedFormatError, match="secret key stored with a certificate"):
            locked["sealed_secret_key"].unlock("secret_password")  # type: ignore[union-attr]
        store = certkit.load(path, password="store_password",
                             key_passwords={"sealed_secret_key": "secret_password"})
        entry = store["sealed_secret_key"]
        assert isinstance(entry, certkit.SecretKeyEntry)
        assert (entry.algorithm, len(entry.secret)) == ("AES", 16)
        assert any("'sealed_secret_key'" in note and "certificate" in note
                   for note in store.notes)

    def test_bks_stored_value_dropped_only_when_allowed(self) -> None:
        """A BKS stored value has no PKCS#12 bag: refused by alias, dropped with allow_loss."""
        store = certkit.load(corpus_path("pyjks", "keystores", "bks", "christmas.bksv1"),
                             password="12345678")
        with pytest.raises(UnrepresentableError, match="'stored_value'"):
            certkit.dump(store, "pkcs12", password=PASSWORD)
        again = certkit.load(certkit.dump(store, "pkcs12", password=PASSWORD, allow_loss=True),
                             password=PASSWORD)
        assert set(store.aliases) - set(again.aliases) == {"stored_value"}
