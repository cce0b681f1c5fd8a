"""Tests for certkit._ops.select: an output's name (or ``only=``) says what goes in it, keys in
PKCS#1/SEC1 on request, and a bundle split into one file per certificate."""

from __future__ import annotations

import io
import pathlib
import stat

import pytest
from conftest import PKI, issue, make_key, openssl

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.cli import main
from certkit.errors import FileExistsCertkitError, UnrepresentableError, UnsupportedKeyError


@pytest.fixture(scope="module")
def pfx(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A PKCS#12 made by openssl with the leaf's key and its full chain."""
    folder = tmp_path_factory.mktemp("select")
    key = folder / "in.key"
    key.write_bytes(pki.leaf.key.to_pem())
    chain = folder / "chain.pem"
    chain.write_bytes(b"".join(c.to_pem() for c in pki.chain[1:]))
    leaf = folder / "leaf.pem"
    leaf.write_bytes(pki.leaf.certificate.to_pem())
    out = folder / "site.pfx"
    openssl("pkcs12", "-export", "-inkey", key, "-in", leaf, "-certfile", chain,
            "-passout", "pass:secret", "-out", out)
    return out


def cli(*argv: str | pathlib.Path) -> tuple[int, str]:
    """Run the CLI in-process; return the exit code and standard output."""
    out = io.StringIO()
    return main([str(a) for a in argv], out=out), out.getvalue()


class TestNameSaysWhat:
    """A .crt/.cer holds certificates only, a .key the key only, a .pem everything."""

    @pytest.mark.parametrize("name", ["server.crt", "server.cer", "SERVER.CRT"])
    def test_certificate_file_has_no_key(self, pfx: pathlib.Path, tmp_path: pathlib.Path,
                                         name: str) -> None:
        """convert site.pfx server.crt: openssl reads certificates and finds no private key."""
        target = tmp_path / name
        report = certkit.convert(pfx, target, password="secret")
        assert b"PRIVATE KEY" not in target.read_bytes()
        assert openssl("pkey", "-in", target, "-noout", check=False).returncode != 0
        assert b"CN = localhost" in openssl("x509", "-in", target, "-noout", "-subject").stdout
        assert openssl("crl2pkcs7", "-nocrl", "-certfile", target).stdout.count(b"BEGIN") == 1
        assert any("private key" in item for item in report.left_out)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644

    def test_certificate_file_keeps_the_chain(self, pfx: pathlib.Path, pki: PKI,
                                              tmp_path: pathlib.Path) -> None:
        """The .crt holds the leaf and its chain, leaf first, as openssl lists them."""
        target = tmp_path / "server.crt"
        certkit.convert(pfx, target, password="secret")
        store = certkit.load(target)
        assert store.certificates == pki.chain

    def test_key_file_has_only_the_key(self, pfx: pathlib.Path, pki: PKI,
                                       tmp_path: pathlib.Path) -> None:
        """convert site.pfx server.key: openssl reads the key; no certificate is in the file."""
        target = tmp_path / "server.key"
        certkit.convert(pfx, target, password="secret")
        assert b"CERTIFICATE" not in target.read_bytes()
        modulus = openssl("rsa", "-in", target, "-noout", "-modulus").stdout
        assert modulus == openssl("x509", "-in", "/dev/stdin", "-noout", "-modulus",
                                  input=pki.leaf.certificate.to_pem()).stdout
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def test_pem_keeps_everything(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """A .pem gets the key and the whole chain, as before."""
        target = tmp_path / "all.pem"
        report = certkit.convert(pfx, target, password="secret")
        text = target.read_bytes()
        assert text.count(b"BEGIN CERTIFICATE") == 3
        assert b"BEGIN PRIVATE KEY" in text
        assert report.left_out == ()

    def test_explicit_only_all_wins(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """only='all' puts the key into a .crt, because the caller said so."""
        target = tmp_path / "both.crt"
        certkit.convert(pfx, target, password="secret", only="all")
        assert b"BEGIN PRIVATE KEY" in target.read_bytes()

    def test_key_file_from_certificates_refused(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Saving certificates alone as .key is refused, naming the file and what it holds."""
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate)])
        with pytest.raises(UnrepresentableError, match=r"out\.key.*no private key"):
            certkit.save(store, tmp_path / "out.key")
        assert not (tmp_path / "out.key").exists()

    def test_save_follows_the_name(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """certkit.save obeys the same rule as convert."""
        store = KeyStore([KeyEntry("www", pki.leaf.key, pki.chain)])
        certkit.save(store, tmp_path / "www.crt")
        assert b"PRIVATE KEY" not in (tmp_path / "www.crt").read_bytes()


class TestOnly:
    """only= picks the key, the leaf, the chain or the CA certificates."""

    @pytest.mark.parametrize(("only", "count"), [("leaf", 1), ("chain", 3), ("ca", 2)])
    def test_certificates(self, pfx: pathlib.Path, pki: PKI, tmp_path: pathlib.Path,
                          only: str, count: int) -> None:
        """Each choice writes the expected certificates and no key."""
        target = tmp_path / f"{only}.pem"
        certkit.convert(pfx, target, password="secret", only=only)
        text = target.read_bytes()
        assert text.count(b"BEGIN CERTIFICATE") == count
        assert b"PRIVATE KEY" not in text
        first = openssl("x509", "-in", target, "-noout", "-subject").stdout
        expected = "localhost" if only != "ca" else "certkit Test Intermediate CA"
        assert expected.encode() in first

    def test_leaf_as_der(self, pfx: pathlib.Path, pki: PKI, tmp_path: pathlib.Path) -> None:
        """only='leaf' makes a DER certificate possible without allowing loss."""
        target = tmp_path / "leaf.der"
        certkit.convert(pfx, target, password="secret", only="leaf")
        assert target.read_bytes() == pki.leaf.certificate.der

    def test_dump_only_key(self, pki: PKI) -> None:
        """certkit.dump takes only= as well: a DER key alone."""
        store = KeyStore([KeyEntry("www", pki.leaf.key, pki.chain)])
        data = certkit.dump(store, "der", only="key")
        assert openssl("pkey", "-inform", "DER", "-noout", input=data).returncode == 0

    def test_unknown_choice(self, pki: PKI) -> None:
        """An unknown only= value is refused with the list of choices."""
        store = KeyStore([KeyEntry("www", pki.leaf.key, pki.chain)])
        with pytest.raises(UnrepresentableError, match="key, leaf, chain, ca, all"):
            certkit.dump(store, "pem", only="everything")

    def test_convert_many(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """convert_many applies only= to every file it writes."""
        out = tmp_path / "out"
        out.mkdir()
        batch = certkit.convert_many([pfx], out, format="pem", password="secret", only="key")
        assert batch.ok
        assert b"CERTIFICATE" not in (out / "site.pem").read_bytes()


class TestKeyFormat:
    """key_format= writes PKCS#1 or SEC1 keys that openssl reads, and refuses a mismatch."""

    def test_pkcs1(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """An RSA key as RSA PRIVATE KEY."""
        target = tmp_path / "rsa.key"
        certkit.convert(pfx, target, password="secret", key_format="pkcs1")
        assert target.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
        assert openssl("rsa", "-in", target, "-check", "-noout").returncode == 0

    def test_sec1(self, tmp_path: pathlib.Path) -> None:
        """An EC key as EC PRIVATE KEY."""
        target = tmp_path / "ec.key"
        certkit.save(KeyStore([KeyEntry("ec", make_key("EC-P256"))]), target, key_format="sec1")
        assert target.read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----")
        assert openssl("ec", "-in", target, "-check", "-noout").returncode == 0

    def test_pkcs1_encrypted(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A password gives the legacy Proc-Type encryption openssl opens with it."""
        target = tmp_path / "enc.key"
        certkit.save(KeyStore([KeyEntry("k", pki.leaf.key)]), target, key_format="pkcs1",
                     password="pw")
        assert b"Proc-Type: 4,ENCRYPTED" in target.read_bytes()
        assert openssl("rsa", "-in", target, "-passin", "pass:pw", "-noout").returncode == 0

    @pytest.mark.parametrize(("kind", "key_format"), [("EC-P256", "pkcs1"),
                                                      ("RSA-2048", "sec1"),
                                                      ("Ed25519", "pkcs1")])
    def test_mismatch_refused(self, kind: str, key_format: str) -> None:
        """A PKCS#1 EC key or a SEC1 RSA key is refused, saying which formats fit."""
        store = KeyStore([KeyEntry("k", make_key(kind))])
        with pytest.raises(UnsupportedKeyError, match=f"{key_format}.*pkcs8"):
            certkit.dump(store, "pem", key_format=key_format)

    def test_unknown_format(self, pki: PKI) -> None:
        """A misspelt key format is refused even when the store holds no key."""
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate)])
        with pytest.raises(certkit.errors.UnsupportedFormatError, match="pkcs8, pkcs1"):
            certkit.dump(store, "pem", key_format="pkcs12")

    def test_not_for_pkcs12(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """PKCS#12 has no key format choice: the option is refused, nothing written."""
        with pytest.raises(certkit.errors.UnsupportedFormatError, match="key_format"):
            certkit.convert(pfx, tmp_path / "out.pfx", password="secret", key_format="pkcs1")
        assert not (tmp_path / "out.pfx").exists()


class TestSplit:
    """split_certificates writes one file per certificate, named by subject, never overwriting."""

    def test_three_files(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A 3-certificate bundle gives 3 files, each one certificate openssl reads."""
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(b"".join(c.to_pem() for c in pki.chain))
        out = tmp_path / "out"
        out.mkdir()
        paths = certkit.split_certificates(bundle, out)
        assert [p.name for p in paths] == ["localhost.crt", "certkit_Test_Intermediate_CA.crt",
                                           "certkit_Test_Root_CA.crt"]
        for path, cert in zip(paths, pki.chain, strict=True):
            fingerprint = openssl("x509", "-in", path, "-noout", "-fingerprint",
                                  "-sha256").stdout.decode()
            assert fingerprint.split("=")[1].strip().replace(":", "").lower() == \
                cert.fingerprint()

    def test_never_overwrites(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A name already in the folder gets a suffix; the existing file is untouched."""
        (tmp_path / "localhost.crt").write_bytes(b"mine")
        paths = certkit.split_certificates(KeyStore([TrustedCertEntry("x",
                                                                      pki.leaf.certificate)]),
                                           tmp_path)
        assert [p.name for p in paths] == ["localhost-2.crt"]
        assert (tmp_path / "localhost.crt").read_bytes() == b"mine"

    def test_unsafe_names(self, tmp_path: pathlib.Path) -> None:
        """Slashes, dots and stars in a CN never escape the folder or hide the file."""
        cert = issue("../*.evil/name", ca=True).certificate
        (path,) = certkit.split_certificates(KeyStore([TrustedCertEntry("x", cert)]), tmp_path)
        assert path.parent == tmp_path
        assert path.name == "wildcard.evil_name.crt"

    def test_keys_never_written(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A key entry's certificates are split; its key goes nowhere."""
        store = KeyStore([KeyEntry("www", pki.leaf.key, pki.chain)])
        paths = certkit.split_certificates(store, tmp_path)
        assert len(paths) == 3
        assert all(b"PRIVATE" not in p.read_bytes() for p in paths)

    def test_folder_must_exist(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A missing folder is named in the error."""
        store = KeyStore([TrustedCertEntry("x", pki.root.certificate)])
        with pytest.raises(certkit.errors.ReadError, match="does not exist"):
            certkit.split_certificates(store, tmp_path / "nope")


class TestCLI:
    """convert --only, --key-format and --split on the command line."""

    def test_convert_crt(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """certkit convert site.pfx server.crt writes no key and says what it left out."""
        (tmp_path / "pw").write_text("secret\n")
        code, text = cli("convert", pfx, tmp_path / "server.crt", "--password-file",
                         tmp_path / "pw")
        assert code == 0
        assert "left out: the private key" in text
        assert openssl("pkey", "-in", tmp_path / "server.crt", "-noout",
                       check=False).returncode != 0

    def test_only_and_key_format(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """--only key --key-format pkcs1 writes an RSA PRIVATE KEY into a .pem."""
        (tmp_path / "pw").write_text("secret\n")
        code, _ = cli("convert", pfx, tmp_path / "k.pem", "--only", "key", "--key-format",
                      "pkcs1", "--password-file", tmp_path / "pw")
        assert code == 0
        assert (tmp_path / "k.pem").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY")

    def test_split(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """convert BUNDLE --out-dir DIR --split writes 3 files for 3 certificates."""
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(b"".join(c.to_pem() for c in pki.chain))
        (tmp_path / "out").mkdir()
        code, text = cli("convert", bundle, "--out-dir", tmp_path / "out", "--split")
        assert code == 0
        assert len(list((tmp_path / "out").iterdir())) == 3
        assert text.count("wrote ") == 3

    def test_existing_target_still_refused(self, pfx: pathlib.Path,
                                           tmp_path: pathlib.Path) -> None:
        """The new selection does not weaken the no-overwrite rule."""
        (tmp_path / "server.crt").write_bytes(b"old")
        with pytest.raises(FileExistsCertkitError):
            certkit.convert(pfx, tmp_path / "server.crt", password="secret")
