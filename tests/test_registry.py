"""The codec registry: format names, extensions and content sniffing."""

from __future__ import annotations

import pytest
from conftest import PKI

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry, formats
from certkit.errors import DecodeError, UnsupportedFormatError


class TestSpec:
    @pytest.mark.parametrize(("name", "expected"), [
        ("PEM", "pem"), ("cer", "pem"), ("crt", "pem"), ("der", "der"), ("p7b", "pkcs7"),
        ("P7C", "pkcs7"), ("pfx", "pkcs12"), ("p12", "pkcs12"), ("JKS", "jks"),
    ])
    def test_names_and_aliases(self, name: str, expected: str) -> None:
        """Format names and their common aliases resolve case-insensitively."""
        assert formats.spec(name).name == expected

    def test_unknown(self) -> None:
        """An unknown name raises UnsupportedFormatError listing the known formats."""
        with pytest.raises(UnsupportedFormatError, match="known formats: jks") as info:
            formats.spec("xml")
        assert info.value.format == "xml"

    @pytest.mark.parametrize(("path", "expected"), [
        ("a.pem", "pem"), ("A.CRT", "pem"), ("a.cer", "pem"), ("a.key", "pem"),
        ("a.der", "der"), ("chain.p7b", "pkcs7"), ("chain.p7c", "pkcs7"), ("a.pfx", "pkcs12"),
        ("a.p12", "pkcs12"), ("a.jks", "jks"),
    ])
    def test_format_for_path(self, path: str, expected: str) -> None:
        """The output format follows the extension."""
        assert formats.format_for_path(path).name == expected

    def test_bks_not_chosen_for_writing(self) -> None:
        """A .bks name does not select the read-only BKS format."""
        with pytest.raises(UnsupportedFormatError):
            formats.format_for_path("a.bks")

    def test_dump_options_reject_unknown(self) -> None:
        """DumpOptions.take refuses options the codec does not know, listing its own."""
        options = formats.DumpOptions(extra={"colour": "red"})
        with pytest.raises(UnsupportedFormatError, match=r"colour.*its options are: a, b"):
            options.take({"a": 1, "b": 2}, "pem")


class TestDetect:
    def test_by_content(self, pki: PKI) -> None:
        """PEM, DER and PKCS#7 (DER and PEM) are told apart by content alone."""
        store = KeyStore([TrustedCertEntry("r", pki.root.certificate)])
        key_store = KeyStore([KeyEntry("k", pki.leaf.key)])
        assert formats.detect(certkit.dump(store, "pem")).name == "pem"
        assert formats.detect(b"\xef\xbb\xbf" + certkit.dump(store, "pem")).name == "pem"
        assert formats.detect(certkit.dump(store, "pem").decode().encode("utf-16")).name == "pem"
        assert formats.detect(certkit.dump(store, "der")).name == "der"
        assert formats.detect(certkit.dump(key_store, "der")).name == "der"
        assert formats.detect(certkit.dump(store, "pkcs7")).name == "pkcs7"
        assert formats.detect(certkit.dump(store, "pkcs7", encoding="pem")).name == "pkcs7"

    def test_pkcs7_block_with_other_blocks_is_pem(self, pki: PKI) -> None:
        """A PKCS7 block beside a certificate block is a PEM text, not a PKCS#7 file."""
        store = KeyStore([TrustedCertEntry("r", pki.root.certificate)])
        data = certkit.dump(store, "pkcs7", encoding="pem") + certkit.dump(store, "pem")
        assert formats.detect(data).name == "pem"

    def test_magic_numbers(self) -> None:
        """JKS and JCEKS magic numbers are recognised."""
        assert formats.detect(b"\xfe\xed\xfe\xed" + bytes(20)).name == "jks"
        assert formats.detect(b"\xce\xce\xce\xce" + bytes(20)).name == "jceks"

    def test_empty(self) -> None:
        """Empty input raises DecodeError naming the source."""
        with pytest.raises(DecodeError, match=r"x\.pem: the input is empty"):
            formats.detect(b"", source="x.pem")

    def test_every_format_has_a_codec(self) -> None:
        """Every registered format imports and has load and dump."""
        for spec in formats.FORMATS:
            codec = formats.codec_for(spec)
            assert callable(codec.load)
            assert callable(codec.dump)
