"""The top-level verbs: load (paths and bytes), dump, save (atomic, modes, no clobber), convert."""

from __future__ import annotations

import os
import pathlib

import pytest
from conftest import PKI

import certkit
from certkit import ConversionReport, KeyEntry, KeyStore, TrustedCertEntry
from certkit.errors import (
    CertkitError,
    DecodeError,
    FileExistsCertkitError,
    ReadError,
    UnrepresentableError,
    UnsupportedFormatError,
)


@pytest.fixture
def key_store(pki: PKI) -> KeyStore:
    """A key with its chain, aliased as plain PEM would name it."""
    return KeyStore([KeyEntry("localhost", pki.leaf.key, pki.chain)])


@pytest.fixture
def cert_store(pki: PKI) -> KeyStore:
    """Certificates only."""
    return KeyStore([TrustedCertEntry("root", pki.root.certificate)])


def leftovers(folder: pathlib.Path) -> list[str]:
    """Hidden temporary files save() might have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


class TestLoadErrors:
    @pytest.mark.parametrize(("data", "error"), [
        (b"", DecodeError),
        (b"  \r\n\t", DecodeError),
        (b"just some words\n", UnsupportedFormatError),
        (b"\x00\x01\x02\x03garbage", UnsupportedFormatError),
        (b"<html><body>Not Found</body></html>", UnsupportedFormatError),
        (b"PK\x03\x04zipzipzip", UnsupportedFormatError),
        (b"\x30\x82\x05", DecodeError),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", DecodeError),
    ])
    def test_bad_file_names_the_file(self, tmp_path: pathlib.Path, data: bytes,
                                     error: type[CertkitError]) -> None:
        """Empty, garbage and truncated files raise a CertkitError whose message names the file."""
        path = tmp_path / "server.crt"
        path.write_bytes(data)
        with pytest.raises(error) as info:
            certkit.load(path)
        assert str(path) in str(info.value)

    def test_hints(self) -> None:
        """Common wrong inputs get a hint: ZIP, HTML, text without BEGIN."""
        for data, hint in [(b"PK\x03\x04xx", "ZIP"), (b"<html>", "HTML"),
                           (b"MIIBxyz", "without any -----BEGIN")]:
            with pytest.raises(UnsupportedFormatError, match=hint):
                certkit.load(data)

    def test_missing_file(self, tmp_path: pathlib.Path) -> None:
        """A missing file raises ReadError, which is also an OSError, naming the path."""
        path = tmp_path / "nope.pem"
        with pytest.raises(ReadError) as info:
            certkit.load(path)
        assert isinstance(info.value, OSError)
        assert isinstance(info.value, CertkitError)
        assert str(path) in str(info.value)
        assert info.value.path == str(path)

    def test_folder(self, tmp_path: pathlib.Path) -> None:
        """A folder given as the file raises ReadError."""
        with pytest.raises(ReadError):
            certkit.load(tmp_path)

    def test_unknown_format_name(self, cert_store: KeyStore) -> None:
        """An unknown format name lists the known ones."""
        with pytest.raises(UnsupportedFormatError, match="known formats"):
            certkit.dump(cert_store, "xml")

    def test_paths_and_bytes(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """load() takes a str path, a PathLike or the bytes, with the same result."""
        path = certkit.save(key_store, tmp_path / "a.pem")
        assert certkit.load(str(path)) == certkit.load(path) == certkit.load(path.read_bytes())
        assert certkit.load(path) == key_store


class TestSave:
    def test_existing_file_untouched(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """Without overwrite an existing file keeps its bytes and mtime; the error is both kinds."""
        path = tmp_path / "server.pem"
        path.write_bytes(b"precious")
        os.utime(path, (1_000_000_000, 1_000_000_000))
        with pytest.raises(FileExistsCertkitError) as info:
            certkit.save(key_store, path)
        assert isinstance(info.value, FileExistsError)
        assert isinstance(info.value, CertkitError)
        assert str(path) in str(info.value)
        assert path.read_bytes() == b"precious"
        assert path.stat().st_mtime == 1_000_000_000
        assert leftovers(tmp_path) == []

    def test_overwrite(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """overwrite=True replaces the file."""
        path = tmp_path / "server.pem"
        path.write_bytes(b"old")
        certkit.save(key_store, path, overwrite=True)
        assert certkit.load(path) == key_store

    @pytest.mark.parametrize(("name", "options"), [
        ("k.pem", {}), ("k.key", {}), ("k.der", {"allow_loss": True}),
    ])
    def test_key_files_are_private(self, tmp_path: pathlib.Path, key_store: KeyStore,
                                   name: str, options: dict[str, bool]) -> None:
        """Files holding a private key are mode 0600 whatever the umask."""
        old = os.umask(0o022)
        try:
            path = certkit.save(key_store, tmp_path / name, **options)
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == 0o600
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("name", ["c.pem", "c.cer", "c.der", "c.p7b"])
    @pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600),
                                                 (0o002, 0o664)])
    def test_certificate_files_follow_the_umask(self, tmp_path: pathlib.Path,
                                                cert_store: KeyStore, name: str, umask: int,
                                                mode: int) -> None:
        """Certificate-only files are created 0666 less the umask, as any tool creates them."""
        old = os.umask(umask)
        try:
            path = certkit.save(cert_store, tmp_path / name)
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == mode

    def test_p7b_from_key_store_with_loss_is_public(self, tmp_path: pathlib.Path,
                                                    key_store: KeyStore) -> None:
        """A .p7b written from a key store (loss allowed) holds no key, so it is 0644."""
        path = certkit.save(key_store, tmp_path / "chain.p7b", allow_loss=True)
        assert path.stat().st_mode & 0o777 == 0o644

    def test_no_temp_file_after_failed_write(self, tmp_path: pathlib.Path, key_store: KeyStore,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
        """When the write fails midway, neither the target nor a temporary file remains."""
        def broken_fsync(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", broken_fsync)
        with pytest.raises(ReadError, match="No space left"):
            certkit.save(key_store, tmp_path / "k.pem")
        assert list(tmp_path.iterdir()) == []

    def test_no_file_when_unrepresentable(self, tmp_path: pathlib.Path,
                                          key_store: KeyStore) -> None:
        """A refused dump writes nothing at all."""
        with pytest.raises(UnrepresentableError):
            certkit.save(key_store, tmp_path / "k.der")
        assert list(tmp_path.iterdir()) == []

    def test_unknown_extension(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """An extension that names no format asks for format=."""
        with pytest.raises(UnsupportedFormatError, match="format="):
            certkit.save(key_store, tmp_path / "k.txt")

    def test_cer_is_pem_unless_asked(self, tmp_path: pathlib.Path, cert_store: KeyStore,
                                     pki: PKI) -> None:
        """.cer is written as PEM by default and as DER with format='der'."""
        pem = certkit.save(cert_store, tmp_path / "a.cer")
        der = certkit.save(cert_store, tmp_path / "b.cer", format="der")
        assert pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        assert der.read_bytes() == pki.root.certificate.der


class TestConvert:
    def test_report(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """convert() loads, saves, and reports formats, entry count and what was not kept."""
        src = certkit.save(key_store, tmp_path / "in.pem")
        report = certkit.convert(src, tmp_path / "out.pem", new_password="pw")
        assert isinstance(report, ConversionReport)
        assert report.source_format == "pem"
        assert report.format == "pem"
        assert report.entries == 1
        assert report.dropped == ()
        assert report.destination == tmp_path / "out.pem"
        assert b"ENCRYPTED PRIVATE KEY" in report.destination.read_bytes()
        assert certkit.load(report.destination, password="pw") == key_store

    @pytest.mark.parametrize("name", ["out.p7b", "out.der"])
    def test_key_bundle_loss_refused(self, tmp_path: pathlib.Path, key_store: KeyStore,
                                     name: str) -> None:
        """Converting a key bundle to .p7b or .der raises UnrepresentableError naming the key."""
        src = certkit.save(key_store, tmp_path / "in.pem")
        with pytest.raises(UnrepresentableError, match="private key of 'localhost'") as info:
            certkit.convert(src, tmp_path / name)
        assert "private key of 'localhost'" in info.value.lost
        assert not (tmp_path / name).exists()
        assert leftovers(tmp_path) == []

    def test_key_bundle_loss_allowed(self, tmp_path: pathlib.Path, key_store: KeyStore,
                                     pki: PKI) -> None:
        """With allow_loss the report lists what was dropped and the chain survives."""
        src = certkit.save(key_store, tmp_path / "in.pem")
        report = certkit.convert(src, tmp_path / "out.p7b", allow_loss=True)
        assert report.dropped == ("private key of 'localhost'",)
        assert certkit.load(report.destination).certificates == pki.chain

    def test_convert_does_not_clobber(self, tmp_path: pathlib.Path, key_store: KeyStore) -> None:
        """convert() refuses an existing destination unless overwrite=True."""
        src = certkit.save(key_store, tmp_path / "in.pem")
        (tmp_path / "out.pem").write_bytes(b"keep")
        with pytest.raises(FileExistsCertkitError):
            certkit.convert(src, tmp_path / "out.pem")
        assert (tmp_path / "out.pem").read_bytes() == b"keep"
        certkit.convert(src, tmp_path / "out.pem", overwrite=True)
        assert certkit.load(tmp_path / "out.pem") == key_store


class TestBareBase64:
    """Base64 text whose PEM armour was lost still loads, and says so."""

    def test_openssl_raw_base64_pkcs7(self) -> None:
        """OpenSSL's test/pkcs7.pem (indented base64 of BER signedData) gives its 2 certificates."""
        from conftest import corpus_path

        store = certkit.load(corpus_path("openssl", "test", "pkcs7.pem"))
        assert store.format == "pkcs7"
        assert len(store.certificates) == 2
        assert any("without -----BEGIN" in note for note in store.notes)

    def test_plain_text_is_still_rejected(self) -> None:
        """Text that is not base64 of DER stays an unsupported format."""
        with pytest.raises(UnsupportedFormatError):
            certkit.load(b"this is just a note about certificates, not one")
