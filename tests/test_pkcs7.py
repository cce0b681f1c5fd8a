"""The PKCS#7 codec: certificate bundles (.p7b DER, .p7c PEM) written by others and by certkit."""

from __future__ import annotations

import pytest
from conftest import PKI, corpus_path, openssl

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.errors import DecodeError, UnrepresentableError

DOTNET = ("dotnet-runtime-assets", "src", "System.Security.Cryptography.X509Certificates.TestData",
          "TestData")


class TestDotnetCorpus:
    @pytest.mark.parametrize("name", ["certchain.p7b", "certchain.p7c"])
    def test_certchain(self, name: str) -> None:
        """certchain (DER with an unsorted SET, and PEM) holds the 3 certificates listed."""
        store = certkit.load(corpus_path(*DOTNET, name))
        assert store.format == "pkcs7"
        names = [c.common_name for c in store.certificates]
        assert names == ["test.local", "MS Passport Test Root CA", "MS Passport Test Sub CA"]
        assert all(isinstance(e, TrustedCertEntry) for e in store)

    def test_der_and_pem_agree(self) -> None:
        """The .p7b and .p7c of the same bundle load to equal stores."""
        for stem in ("certchain", "singlecert", "empty"):
            assert (certkit.load(corpus_path(*DOTNET, f"{stem}.p7b"))
                    == certkit.load(corpus_path(*DOTNET, f"{stem}.p7c")))

    @pytest.mark.parametrize("name", ["singlecert.p7b", "singlecert.p7c"])
    def test_singlecert(self, name: str) -> None:
        """singlecert holds CN=MyName, whose serial number is not positive."""
        store = certkit.load(corpus_path(*DOTNET, name))
        (cert,) = store.certificates
        assert cert.subject == "CN=MyName"
        assert cert.serial_number <= 0

    @pytest.mark.parametrize("name", ["empty.p7b", "empty.p7c"])
    def test_empty(self, name: str) -> None:
        """An empty bundle loads as an empty store with a note saying so."""
        store = certkit.load(corpus_path(*DOTNET, name))
        assert len(store) == 0
        assert store.notes == ("the PKCS#7 bundle holds no certificates",)

    @pytest.mark.interop
    def test_matches_openssl_print_certs(self) -> None:
        """certkit's order and fingerprints equal what openssl pkcs7 -print_certs gives."""
        from cryptography import x509

        path = corpus_path(*DOTNET, "certchain.p7b")
        out = openssl("pkcs7", "-in", path, "-inform", "DER", "-print_certs").stdout
        expected = [certkit.Certificate.from_x509(c) for c in x509.load_pem_x509_certificates(out)]
        assert list(certkit.load(path).certificates) == expected


class TestOpensslCorpus:
    def test_testp7(self) -> None:
        """openssl's testp7.pem holds 2 certificates of the VeriSign Class 1 test chain."""
        store = certkit.load(corpus_path("openssl", "test", "testp7.pem"))
        assert len(store.certificates) == 2
        assert all("VeriSign" in c.subject for c in store.certificates)

    def test_pkcs7_1(self) -> None:
        """pkcs7-1.pem holds one certificate, CN=Test User 1 (its empty CRL set ignored)."""
        store = certkit.load(corpus_path("openssl", "test", "pkcs7-1.pem"))
        assert [c.common_name for c in store.certificates] == ["Test User 1"]

    def test_malformed_is_decode_error(self) -> None:
        """malformed.pkcs7 (signedData with no content) raises DecodeError naming the file
        and what is wrong, in certkit's words rather than the ASN.1 library's."""
        path = corpus_path("openssl", "test", "recipes", "25-test_pkcs7_data", "malformed.pkcs7")
        with pytest.raises(DecodeError) as info:
            certkit.load(path)
        assert str(path) in str(info.value)
        assert "has no content" in str(info.value)
        assert "object" not in str(info.value)


class TestWriting:
    @pytest.mark.parametrize("encoding", ["der", "pem"])
    def test_round_trip_keeps_order(self, pki: PKI, other_pki: PKI, encoding: str) -> None:
        """Certificates come back in store order (leaf before root), not DER SET order."""
        certs = [pki.leaf.certificate, pki.intermediate.certificate, pki.root.certificate,
                 other_pki.root.certificate]
        store = KeyStore([TrustedCertEntry(f"c{i}", c) for i, c in enumerate(certs)])
        data = certkit.dump(store, "pkcs7", encoding=encoding)
        assert data.startswith(b"-----BEGIN PKCS7-----" if encoding == "pem" else b"\x30")
        assert list(certkit.load(data).certificates) == certs

    def test_keys_need_allow_loss(self, pki: PKI) -> None:
        """A key entry cannot go to PKCS#7: the error names it; allow_loss keeps the chain."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)])
        with pytest.raises(UnrepresentableError) as info:
            certkit.dump(store, "pkcs7")
        assert info.value.lost == ("private key of 'web'",)
        data = certkit.dump(store, "pkcs7", allow_loss=True)
        assert certkit.load(data).certificates == pki.chain

    def test_bad_encoding_option(self, pki: PKI) -> None:
        """An encoding other than der/pem is refused."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate)])
        with pytest.raises(DecodeError, match="encoding must be"):
            certkit.dump(store, "pkcs7", encoding="base64")

    def test_two_pkcs7_blocks_refused(self, pki: PKI) -> None:
        """Two PKCS7 blocks are detected as PEM; forcing PKCS#7 asks for PEM instead."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate)])
        block = certkit.dump(store, "pkcs7", encoding="pem")
        assert len(certkit.load(block + block)) == 1
        with pytest.raises(DecodeError, match="more than one PKCS7 block"):
            certkit.load(block + block, format="pkcs7")
