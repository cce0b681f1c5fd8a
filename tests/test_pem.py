"""The PEM codec: what it reads (and tolerates), what it writes, and how it fails."""

from __future__ import annotations

import base64
import itertools
import pathlib
import tracemalloc
from collections.abc import Callable

import pytest
from conftest import PKI, issue, make_key
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import (
    Attributes,
    KeyEntry,
    KeyStore,
    LockedKey,
    PrivateKey,
    RawAttribute,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit.errors import (
    DecodeError,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
)
from certkit.formats.pem import pem_blocks


def key_pem(key: PrivateKey) -> bytes:
    """An unencrypted PKCS#8 PEM block."""
    return key.to_pem()


def bundle(pki: PKI) -> bytes:
    """Key, leaf and intermediate as one PEM text."""
    return (key_pem(pki.leaf.key) + pki.leaf.certificate.to_pem()
            + pki.intermediate.certificate.to_pem())


class TestAssembly:
    @pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
    def test_key_leaf_intermediate_in_any_order(self, pki: PKI, order: tuple[int, ...]) -> None:
        """Key, leaf and intermediate in any order load as one key entry, chain leaf first."""
        parts = [key_pem(pki.leaf.key), pki.leaf.certificate.to_pem(),
                 pki.intermediate.certificate.to_pem()]
        store = certkit.load(b"".join(parts[i] for i in order))
        assert store.format == "pem"
        assert len(store) == 1
        (entry,) = store.key_entries
        assert entry.key == pki.leaf.key
        assert tuple(entry.chain) == pki.chain[:2]
        assert entry.alias == "localhost"

    def test_full_chain_with_root(self, pki: PKI) -> None:
        """With the root present the chain is complete and the root is not a separate entry."""
        data = b"".join(c.to_pem() for c in reversed(pki.chain)) + key_pem(pki.leaf.key)
        store = certkit.load(data)
        assert len(store) == 1
        assert tuple(store.key_entries[0].chain) == pki.chain
        assert store.key_entries[0].chain.is_complete

    def test_unrelated_certificate_stays_trusted_entry(self, pki: PKI, other_pki: PKI) -> None:
        """A certificate that is no link of the key's chain becomes a trusted entry."""
        store = certkit.load(bundle(pki) + other_pki.root.certificate.to_pem())
        assert [type(e).__name__ for e in store] == ["KeyEntry", "TrustedCertEntry"]
        assert store.trusted_entries[0].certificate == other_pki.root.certificate
        assert len(store.key_entries[0].chain) == 2

    def test_certificates_only_keep_file_order(self, pki: PKI) -> None:
        """Loose certificates become trusted entries in file order, aliased by CN."""
        store = certkit.load(b"".join(c.to_pem() for c in reversed(pki.chain)))
        assert store.aliases == ("certkit Test Root CA", "certkit Test Intermediate CA",
                                 "localhost")
        assert all(isinstance(e, TrustedCertEntry) for e in store)

    def test_duplicate_certificate_kept_once(self, pki: PKI) -> None:
        """The same certificate twice is one entry."""
        pem = pki.root.certificate.to_pem()
        assert len(certkit.load(pem + pem)) == 1

    def test_same_common_name_made_unique(self) -> None:
        """Two certificates with one CN get aliases ``name`` and ``name-2``."""
        a = issue("twin", key=make_key("EC-P256")).certificate
        b = issue("twin", key=make_key("EC-P256")).certificate
        assert certkit.load(a.to_pem() + b.to_pem()).aliases == ("twin", "twin-2")

    def test_key_without_certificate(self) -> None:
        """A lone key is a key entry with an empty chain, aliased ``private-key``."""
        store = certkit.load(key_pem(make_key("EC-P256")))
        (entry,) = store.key_entries
        assert entry.alias == "private-key"
        assert not entry.chain

    def test_two_keys_two_entries(self, pki: PKI, other_pki: PKI) -> None:
        """Two keys each pair with their own certificate."""
        data = (key_pem(other_pki.leaf.key) + bundle(pki) + other_pki.leaf.certificate.to_pem())
        store = certkit.load(data)
        assert store.aliases == ("other.example.test", "localhost")
        assert store["other.example.test"].certificate == other_pki.leaf.certificate  # type: ignore[union-attr]

    @pytest.mark.parametrize(("kind", "fmt"), [
        ("RSA-1024", serialization.PrivateFormat.TraditionalOpenSSL),
        ("RSA-1024", serialization.PrivateFormat.PKCS8),
        ("EC-P256", serialization.PrivateFormat.TraditionalOpenSSL),
        ("EC-P256", serialization.PrivateFormat.PKCS8),
        ("Ed25519", serialization.PrivateFormat.PKCS8),  # Ed25519 has no traditional format
    ])
    def test_key_formats(self, kind: str, fmt: serialization.PrivateFormat) -> None:
        """RSA/EC traditional and PKCS#8 blocks (and Ed25519 PKCS#8) load to the same key."""
        key = make_key(kind)
        pem = key.key.private_bytes(serialization.Encoding.PEM, fmt,
                                    serialization.NoEncryption())
        assert certkit.load(pem).key_entries[0].key == key

    def test_request(self) -> None:
        """A CERTIFICATE REQUEST block lands in ``requests``."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key = make_key("EC-P256")
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "req")]))
               .sign(key.key, hashes.SHA256()))  # type: ignore[arg-type]
        store = certkit.load(csr.public_bytes(serialization.Encoding.PEM))
        assert len(store) == 0
        assert store.requests[0].subject == "CN=req"

    def test_pkcs7_block_inside_pem(self, pki: PKI) -> None:
        """A PKCS7 block beside a key contributes its certificates to the key's chain."""
        p7 = certkit.dump(KeyStore([TrustedCertEntry("a", pki.leaf.certificate),
                                    TrustedCertEntry("b", pki.intermediate.certificate)]),
                          "pkcs7", encoding="pem")
        store = certkit.load(key_pem(pki.leaf.key) + p7)
        assert tuple(store.key_entries[0].chain) == pki.chain[:2]


class TestTolerance:
    @pytest.fixture
    def clean(self, pki: PKI) -> KeyStore:
        """The store the clean bundle loads to."""
        return certkit.load(bundle(pki))

    @pytest.mark.parametrize("mangle", [
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda b: b.replace(b"\n", b"\r"), id="cr"),
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="utf8-bom"),
        pytest.param(lambda b: b.decode().encode("utf-16"), id="utf16-bom"),
        pytest.param(lambda b: b"Here is the certificate you asked for:\n\n" + b, id="leading"),
        pytest.param(lambda b: b + b"\n-- \nRegards, the CA\n", id="trailing"),
        pytest.param(lambda b: b.replace(b"-----\n-----BEGIN", b"-----\nsome notes\n\n-----BEGIN"),
                     id="between"),
        pytest.param(lambda b: b"".join(b"    " + ln for ln in b.splitlines(keepends=True)),
                     id="indented"),
        pytest.param(lambda b: b"".join(b"> " + ln for ln in b.splitlines(keepends=True)),
                     id="mail-quoted"),
        pytest.param(lambda b: b.replace(b"-----\n", b"-----   \n"), id="trailing-blanks"),
        pytest.param(lambda b: b"caf\xe9 latin-1 comment\n" + b, id="non-utf8-comment"),
    ])
    def test_pasted_text_loads_the_same(self, pki: PKI, clean: KeyStore,
                                        mangle: Callable[[bytes], bytes]) -> None:
        """What people paste (CRLF, BOMs, comments, indents, quoting) loads like the clean file."""
        assert certkit.load(mangle(bundle(pki))) == clean

    def test_missing_end_line_names_the_line(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A block without its END line raises DecodeError naming the block, line and file."""
        text = pki.root.certificate.to_pem() + b"\n" + pki.leaf.certificate.to_pem()
        cut = text[: text.rindex(b"-----END")]
        path = tmp_path / "cut.pem"
        path.write_bytes(cut)
        first_lines = pki.root.certificate.to_pem().count(b"\n") + 2
        with pytest.raises(DecodeError) as info:
            certkit.load(path)
        message = str(info.value)
        assert f"starts on line {first_lines}" in message
        assert "-----END CERTIFICATE-----" in message
        assert str(path) in message
        assert info.value.source == str(path)

    def test_bad_base64_names_the_line(self, pki: PKI) -> None:
        """A block with a non-base64 character raises DecodeError naming the line."""
        lines = pki.leaf.certificate.to_pem().splitlines(keepends=True)
        lines[3] = b"not*base64!\n"
        with pytest.raises(DecodeError, match="on line 1 is not valid base64"):
            certkit.load(b"".join(lines))

    def test_unknown_block_noted(self, pki: PKI) -> None:
        """An unknown block beside a certificate is noted on the store, not silently lost."""
        data = b"-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n"
        store = certkit.load(data + pki.root.certificate.to_pem())
        assert len(store) == 1
        assert any("X509 CRL" in note and "line 1" in note for note in store.notes)

    def test_only_unknown_blocks(self) -> None:
        """A PEM text with only unknown blocks raises DecodeError saying so."""
        data = b"-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----\n"
        with pytest.raises(DecodeError, match="no certificate, key or request"):
            certkit.load(data)

    def test_damaged_certificate_names_block(self, pki: PKI) -> None:
        """A certificate block whose DER is damaged raises DecodeError naming its line."""
        der = bytearray(pki.leaf.certificate.der)
        del der[40:60]
        text = b"junk\n-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der)) + \
            b"-----END CERTIFICATE-----\n"
        with pytest.raises(DecodeError, match="CERTIFICATE block at line 2"):
            certkit.load(text)

    def test_pem_blocks_reports_preamble_and_headers(self) -> None:
        """pem_blocks yields each block with its headers and the text before it."""
        data = (b"hello\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                b"DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
        (block,) = pem_blocks(data)
        assert block.label == "RSA PRIVATE KEY"
        assert block.preamble == "hello\n"
        assert block.line == 2
        assert dict(block.headers) == {"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}
        assert block.der == b"\x00\x00\x00"


class TestBagAttributes:
    def test_hand_written_bag_attributes(self, pki: PKI) -> None:
        """OpenSSL-style Bag Attributes give the alias, local key id and CSP name."""
        bag = (b"Bag Attributes\n    friendlyName: my server\n"
               b"    localKeyID: 01 02 0A FF \n    Microsoft CSP Name: Microsoft RSA SChannel\n"
               b"Key Attributes: <No Attributes>\n")
        data = bag + key_pem(pki.leaf.key) + pki.leaf.certificate.to_pem()
        (entry,) = certkit.load(data)
        assert entry.alias == "my server"
        assert entry.attributes == Attributes(friendly_name="my server",
                                              local_key_id=b"\x01\x02\x0a\xff",
                                              csp_name="Microsoft RSA SChannel")

    def test_local_key_id_pairs_key_and_certificate(self, pki: PKI) -> None:
        """A key pairs with the certificate carrying its localKeyID."""
        kid = b"Bag Attributes\n    localKeyID: AB CD\n"
        data = (kid + key_pem(pki.leaf.key) + pki.root.certificate.to_pem()
                + kid + pki.leaf.certificate.to_pem())
        store = certkit.load(data)
        assert store.key_entries[0].certificate == pki.leaf.certificate

    def test_round_trip_keeps_every_attribute(self, pki: PKI, other_pki: PKI) -> None:
        """dump(bag_attributes=True) then load keeps aliases and every attribute certkit knows."""
        attributes = Attributes(friendly_name="web", local_key_id=b"\x01\x02",
                                csp_name="Microsoft Enhanced Cryptographic Provider v1.0",
                                other=(RawAttribute("1.2.3.4", (b"\x05\x00", b"\x02\x01\x07")),))
        trusted = Attributes(friendly_name="ca", trusted_usage=("2.5.29.37.0",))
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain, attributes),
                          TrustedCertEntry("ca", other_pki.root.certificate, trusted)])
        loaded = certkit.load(certkit.dump(store, "pem", bag_attributes=True))
        assert loaded == store

    def test_issuer_entry_is_folded_into_chain(self, pki: PKI) -> None:
        """PEM has no entry boundaries: a trusted issuer of a key's chain joins that chain."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain[:2]),
                          TrustedCertEntry("ca", pki.root.certificate)])
        loaded = certkit.load(certkit.dump(store, "pem", bag_attributes=True))
        assert loaded.aliases == ("web",)
        assert tuple(loaded.key_entries[0].chain) == pki.chain

    def test_alias_becomes_friendly_name(self, pki: PKI) -> None:
        """An entry without a friendly name is written with its alias as friendlyName."""
        store = KeyStore([TrustedCertEntry("my-root", pki.root.certificate)])
        text = certkit.dump(store, "pem", bag_attributes=True)
        assert b"    friendlyName: my-root\n" in text
        assert certkit.load(text).aliases == ("my-root",)

    def test_without_bag_attributes_aliases_are_derived(self, pki: PKI) -> None:
        """Plain PEM has no aliases: they come back as the subject CN."""
        store = KeyStore([TrustedCertEntry("my-root", pki.root.certificate)])
        text = certkit.dump(store, "pem")
        assert b"Bag Attributes" not in text
        assert certkit.load(text).aliases == ("certkit Test Root CA",)


class TestEncryptedKeys:
    def test_round_trip_with_password(self, pki: PKI) -> None:
        """A key written with a password is an ENCRYPTED PRIVATE KEY that opens with it."""
        store = KeyStore([KeyEntry("k", pki.leaf.key, pki.chain[:1])])
        text = certkit.dump(store, "pem", password="s3cret")
        assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in text
        assert pki.leaf.key.pkcs8 not in text
        assert certkit.load(text, password="s3cret").key_entries[0].key == pki.leaf.key

    def test_missing_password(self, pki: PKI) -> None:
        """No password for an encrypted key raises PasswordError with missing=True."""
        with pytest.raises(PasswordError) as info:
            certkit.load(pki.leaf.key.to_pem(password="s3cret"))
        assert info.value.missing

    def test_wrong_password(self, pki: PKI) -> None:
        """A wrong password raises PasswordError with missing=False."""
        with pytest.raises(PasswordError) as info:
            certkit.load(pki.leaf.key.to_pem(password="s3cret"), password="nope")
        assert not info.value.missing

    def test_wrong_password_that_passes_padding(self) -> None:
        """A wrong password whose CBC padding happens to check out is still a PasswordError."""
        key = make_key("EC-P256")
        pem = key.key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.BestAvailableEncryption(b"right"))
        lucky = None
        for attempt in range(5000):  # about 1 in 256 wrong passwords decrypts "cleanly"
            candidate = f"wrong-{attempt}".encode()
            try:
                serialization.load_pem_private_key(pem, candidate)
            except ValueError as err:
                if "password" not in str(err).lower() and "decrypt" not in str(err).lower():
                    lucky = candidate
                    break
        assert lucky is not None, "no padding-passing wrong password found"
        with pytest.raises(PasswordError) as info:
            certkit.load(pem, password=lucky)
        assert not info.value.missing

    def test_empty_password_refused_on_write(self, pki: PKI) -> None:
        """An empty password cannot protect a key."""
        store = KeyStore([KeyEntry("k", pki.leaf.key)])
        with pytest.raises(PasswordError, match="empty password"):
            certkit.dump(store, "pem", password="")

    def test_bytes_and_text_password(self, pki: PKI) -> None:
        """A text password and its UTF-8 bytes open the same key."""
        text = pki.leaf.key.to_pem(password="pässwörd")
        assert certkit.load(text, password="pässwörd".encode()).key_entries[0].key == pki.leaf.key


class TestWriting:
    def test_layout_key_then_chain(self, pki: PKI) -> None:
        """A key entry is written as its key, then its chain leaf first, then trusted entries."""
        store = KeyStore([KeyEntry("k", pki.leaf.key, pki.chain[:2]),
                          TrustedCertEntry("r", pki.root.certificate)])
        blocks = list(pem_blocks(certkit.dump(store, "pem")))
        assert [b.label for b in blocks] == ["PRIVATE KEY", "CERTIFICATE", "CERTIFICATE",
                                             "CERTIFICATE"]
        assert [b.der for b in blocks[1:]] == [c.der for c in pki.chain]

    def test_requests_written(self, pki: PKI) -> None:
        """Certificate requests are written after the entries and read back."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key = make_key("EC-P256")
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "r")]))
               .sign(key.key, hashes.SHA256()))  # type: ignore[arg-type]
        store = KeyStore([KeyEntry("r", key)], requests=[certkit.CertificateRequest(
            csr.public_bytes(serialization.Encoding.DER))])
        assert certkit.load(certkit.dump(store, "pem")).requests == store.requests

    def test_secret_key_unrepresentable(self, pki: PKI) -> None:
        """A secret key cannot go to PEM: UnrepresentableError names it unless loss is allowed."""
        store = KeyStore([TrustedCertEntry("r", pki.root.certificate),
                          SecretKeyEntry("aes-key", "AES", bytes(16))])
        with pytest.raises(UnrepresentableError, match="aes-key") as info:
            certkit.dump(store, "pem")
        assert info.value.lost == ("secret key 'aes-key' (AES)",)
        text = certkit.dump(store, "pem", allow_loss=True)
        assert certkit.load(text).aliases == ("certkit Test Root CA",)

    def test_chain_false_drops_chain_only_with_loss(self, pki: PKI) -> None:
        """chain=False writes only the leaf, and only when loss is allowed."""
        store = KeyStore([KeyEntry("k", pki.leaf.key, pki.chain)])
        with pytest.raises(UnrepresentableError, match="2 chain certificate"):
            certkit.dump(store, "pem", chain=False)
        text = certkit.dump(store, "pem", chain=False, allow_loss=True)
        assert [b.label for b in pem_blocks(text)] == ["PRIVATE KEY", "CERTIFICATE"]

    def test_locked_key_refused(self) -> None:
        """A still-locked key raises PasswordError naming the alias."""
        locked = LockedKey("jks", b"x", lambda _pw: make_key("EC-P256"))
        with pytest.raises(PasswordError, match="'srv'") as info:
            certkit.dump(KeyStore([KeyEntry("srv", locked)]), "pem")
        assert info.value.missing

    def test_unknown_option(self, pki: PKI) -> None:
        """An option PEM does not have raises UnsupportedFormatError listing its options."""
        store = KeyStore([TrustedCertEntry("r", pki.root.certificate)])
        with pytest.raises(UnsupportedFormatError, match="bag_attributes, chain"):
            certkit.dump(store, "pem", profile="modern")


def _splitter_peak(data: bytes) -> int:
    """Peak bytes allocated while every block of ``data`` is split and decoded."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in pem_blocks(data):
            pass
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


class TestSplitterMemory:
    """The splitter reads the bytes where they are: no text copy of the whole file."""

    @pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
    def test_bundle_costs_no_copy_of_itself(self, pki: PKI, newline: bytes) -> None:
        """Splitting a 2 MB bundle (LF or CRLF) allocates far less than the bundle."""
        data = pki.leaf.certificate.to_pem().replace(b"\n", newline) * 1600
        assert len(data) > 2_000_000
        assert _splitter_peak(data) < len(data) // 10

    def test_one_big_block_costs_about_twice_itself(self) -> None:
        """One 3 MB block costs its base64 text and its DER at most, not a copy per line."""
        body = base64.encodebytes(bytes(range(256)) * 9000)
        data = b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
        assert _splitter_peak(data) < 2.2 * len(data)
