"""Linking never depends on what cryptography can verify: SHA-1, MD5 and cyclic chains made
by the real openssl, compared with keytool's chain lengths before and after a conversion."""

from __future__ import annotations

import json
import pathlib
import re
import time
import zlib

import pytest
from conftest import corpus_path, keytool, openssl

import certkit
from certkit import Certificate, Chain, build_chain, load, order_chain
from certkit._assemble import link_chain
from certkit._ops.chains import chain_verdict

pytestmark = pytest.mark.interop

PASSWORD = "changeit"
CA_EXT = ("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
LEAF_EXT = ("basicConstraints=CA:FALSE\nsubjectAltName=DNS:legacy.example\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")


def _key(folder: pathlib.Path, name: str) -> pathlib.Path:
    path = folder / f"{name}.key"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    return path


def _issue(folder: pathlib.Path, name: str, subject: str, key: pathlib.Path, *, md: str,
           ext: str, ca: tuple[pathlib.Path, pathlib.Path] | None) -> pathlib.Path:
    """One certificate signed with digest ``md`` by ``ca`` (certificate, key), or self-signed."""
    (folder / f"{name}.ext").write_text(ext)
    out = folder / f"{name}.pem"
    if ca is None:
        openssl("req", "-x509", "-new", "-key", key, "-subj", subject, f"-{md}", "-days", "7300",
                "-set_serial", "1", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", out)
        return out
    openssl("req", "-new", "-key", key, "-subj", subject, "-out", folder / f"{name}.csr")
    openssl("x509", "-req", "-in", folder / f"{name}.csr", "-CA", ca[0], "-CAkey", ca[1],
            f"-{md}", "-days", "7000", "-set_serial", str(zlib.crc32(name.encode()) + 2),
            "-extfile", folder / f"{name}.ext", "-out", out)
    return out


def _keytool_lengths(path: pathlib.Path, storetype: str, password: str = PASSWORD) -> list[int]:
    """keytool -list -v's "Certificate chain length: N" for each key entry, in order."""
    text = keytool("-list", "-v", "-keystore", path, "-storetype", storetype,
                   "-storepass", password).stdout.decode()
    return [int(n) for n in re.findall(r"Certificate chain length: (\d+)", text)]


def _certkit_lengths(path: pathlib.Path, password: str = PASSWORD) -> list[int]:
    return [len(entry.chain) for entry in load(path, password=password).key_entries]


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """CA → intermediate → leaf signed with SHA-1 and with MD5 (openssl), as PKCS#12 files,
    and the MD5 one also as a JKS written by keytool -importkeystore."""
    folder = tmp_path_factory.mktemp("legacy")
    keys = {name: _key(folder, name) for name in ("root", "inter", "leaf")}
    for md in ("sha1", "md5"):
        root = _issue(folder, f"{md}-root", f"/O=Legacy {md}/CN={md.upper()} Root CA",
                      keys["root"], md=md, ext=CA_EXT, ca=None)
        inter = _issue(folder, f"{md}-inter", f"/O=Legacy {md}/CN={md.upper()} Issuing CA",
                       keys["inter"], md=md, ext=CA_EXT, ca=(root, keys["root"]))
        leaf = _issue(folder, f"{md}-leaf", f"/O=Legacy {md}/CN={md}.legacy.example",
                      keys["leaf"], md=md, ext=LEAF_EXT, ca=(inter, keys["inter"]))
        (folder / f"{md}-cas.pem").write_bytes(inter.read_bytes() + root.read_bytes())
        openssl("pkcs12", "-export", "-inkey", keys["leaf"], "-in", leaf, "-certfile",
                folder / f"{md}-cas.pem", "-name", "server", "-passout", f"pass:{PASSWORD}",
                "-out", folder / f"{md}.p12")
    keytool("-importkeystore", "-srckeystore", folder / "md5.p12", "-srcstoretype", "PKCS12",
            "-srcstorepass", PASSWORD, "-destkeystore", folder / "md5.jks",
            "-deststoretype", "JKS", "-deststorepass", PASSWORD, "-noprompt")
    return folder


class TestLegacySignatures:
    """SHA-1 and MD5 chains link by name and key identifier, unverified, as keytool links them."""

    @pytest.mark.parametrize("md", ["sha1", "md5"])
    def test_openssl_signed_with_the_weak_digest(self, legacy: pathlib.Path, md: str) -> None:
        """The fixture really is signed with the weak digest (openssl's own words)."""
        text = openssl("x509", "-in", legacy / f"{md}-leaf.pem", "-noout", "-text").stdout
        assert f"{md}WithRSAEncryption".encode() in text

    @pytest.mark.parametrize(("name", "storetype"), [("sha1.p12", "PKCS12"),
                                                      ("md5.p12", "PKCS12"),
                                                      ("md5.jks", "JKS")])
    def test_chain_length_equals_keytools(self, legacy: pathlib.Path, name: str,
                                          storetype: str) -> None:
        """certkit's chain length is keytool's (3), not the leaf alone."""
        assert _keytool_lengths(legacy / name, storetype) == [3]
        assert _certkit_lengths(legacy / name) == [3]

    @pytest.mark.parametrize(("name", "target", "storetype"), [
        ("sha1.p12", "sha1.jks", "JKS"), ("md5.p12", "md5-converted.jks", "JKS"),
        ("md5.jks", "md5-converted.p12", "PKCS12")])
    def test_chain_length_survives_convert(self, legacy: pathlib.Path, tmp_path: pathlib.Path,
                                           name: str, target: str, storetype: str) -> None:
        """Converted to the other format, keytool still reads a chain of 3, and so does certkit."""
        out = tmp_path / target
        certkit.convert(legacy / name, out, password=PASSWORD, new_password=PASSWORD)
        assert _keytool_lengths(out, storetype) == [3]
        assert _certkit_lengths(out) == [3]

    @pytest.mark.parametrize("md", ["sha1", "md5"])
    def test_links_are_marked_unverified(self, legacy: pathlib.Path, md: str) -> None:
        """Each link stands, unverified, with the algorithm named; the chain is complete."""
        (entry,) = load(legacy / f"{md}.p12", password=PASSWORD).key_entries
        assert [link.status for link in entry.chain.links] == ["unverified", "unverified"]
        assert all(f"{md}WithRSAEncryption" in (link.reason or "") for link in entry.chain.links)
        assert entry.chain.unverified_links == (0, 1)
        assert entry.chain.broken_link is None
        assert entry.chain.is_complete
        assert entry.chain.root is not None
        assert entry.chain.root.subject == f"CN={md.upper()} Root CA,O=Legacy {md}"

    def test_verdict_is_unverifiable_link(self, legacy: pathlib.Path) -> None:
        """The verdict names the link it could not check and where the chain ends."""
        (entry,) = load(legacy / "md5.p12", password=PASSWORD).key_entries
        verdict = chain_verdict(entry.chain, trust=None)
        assert verdict.code == "unverifiable"
        assert verdict.message.startswith("unverifiable link: the signature on "
                                          "CN=md5.legacy.example,O=Legacy md5 by ")
        assert ("ends at CN=MD5 Root CA,O=Legacy md5, a root that is not in the trust store"
                in verdict.message)
        assert not verdict.ok
        assert verdict.problem

    def test_inspect_shows_unverified_links(self, legacy: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
        """inspect (text and --json) shows each link's status and the verdict."""
        from certkit.cli import main

        monkeypatch.setenv("CERTKIT_TEST_P12PASS", PASSWORD)
        argv = ["inspect", str(legacy / "sha1.p12"), "--password-env", "CERTKIT_TEST_P12PASS"]
        assert main(argv) == 0
        text = capsys.readouterr().out
        assert main([*argv, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert "chain of 3 (unverifiable)" in text
        assert text.count("UNVERIFIED: signed with sha1WithRSAEncryption") == 2
        assert "chain: unverifiable link:" in text
        (entry,) = data["files"][0]["entries"]
        assert [link["status"] for link in entry["links"]] == ["unverified", "unverified"]
        assert entry["chain_verdict"]["code"] == "unverifiable"

    def test_a_wrong_signature_still_breaks_the_link(self, legacy: pathlib.Path) -> None:
        """Same names, another key: a signature that can be checked and fails is broken."""
        leaf = Certificate.load((legacy / "sha1-leaf.pem").read_bytes())
        impostor = Certificate.load((legacy / "md5-inter.pem").read_bytes())
        assert leaf.link_to(impostor).status == "broken"  # names differ
        chain = Chain((leaf, impostor))
        assert chain.broken_link == 0


class TestRealWorldSHA1:
    """Bouncy Castle's SHA-1 signed PKCS#12 from the corpus (keytool: chain length 2)."""

    def test_chain_length_equals_keytools(self, tmp_path: pathlib.Path) -> None:
        """certkit's chain length is keytool's, before and after a conversion to JKS."""
        path = corpus_path("realworld", "bc-sha1-chain.p12")
        assert _keytool_lengths(path, "PKCS12", "pass") == [2]
        assert _certkit_lengths(path, "pass") == [2]
        (entry,) = load(path, password="pass").key_entries
        assert [link.status for link in entry.chain.links] == ["unverified"]
        out = tmp_path / "bc.jks"
        certkit.convert(path, out, password="pass", new_password=PASSWORD)
        assert _keytool_lengths(out, "JKS") == [2]
        assert _certkit_lengths(out) == [2]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Two CA certificates that issue each other (A by B's key, B by A's key), as openssl
    makes them, and a PKCS#12 holding A's key with both."""
    folder = tmp_path_factory.mktemp("cycle")
    key_a, key_b = _key(folder, "a"), _key(folder, "b")
    # A temporary self-signed B only lends its name and key to sign A.
    b0 = _issue(folder, "b0", "/CN=Cycle B", key_b, md="sha256", ext=CA_EXT, ca=None)
    a = _issue(folder, "a", "/CN=Cycle A", key_a, md="sha256", ext=CA_EXT, ca=(b0, key_b))
    b = _issue(folder, "b", "/CN=Cycle B", key_b, md="sha256", ext=CA_EXT, ca=(a, key_a))
    openssl("pkcs12", "-export", "-inkey", key_a, "-in", a, "-certfile", b, "-name", "a",
            "-passout", f"pass:{PASSWORD}", "-out", folder / "cycle.p12")
    return folder


class TestCycle:
    """A signs B signs A: the chain keytool builds, built quickly."""

    def test_chain_as_keytool_builds_it(self, cycle: pathlib.Path) -> None:
        """keytool and certkit both give A → B (length 2), and do not loop."""
        assert _keytool_lengths(cycle / "cycle.p12", "PKCS12") == [2]
        started = time.monotonic()
        (entry,) = load(cycle / "cycle.p12", password=PASSWORD).key_entries
        assert [c.common_name for c in entry.chain] == ["Cycle A", "Cycle B"]
        assert [link.status for link in entry.chain.links] == ["verified"]
        a, b = entry.chain
        assert link_chain(a, [b, a]).certificates == (a, b)
        assert build_chain(a, [b]).certificates == (a, b)
        assert len(order_chain([a, b])) == 2
        verdict = chain_verdict(entry.chain, trust=None)
        assert verdict.code == "untrusted-root"  # B's issuer, A, is nowhere else
        assert time.monotonic() - started < 2

    def test_convert_keeps_it(self, cycle: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """Converted to JKS, keytool lists the same chain of 2."""
        out = tmp_path / "cycle.jks"
        certkit.convert(cycle / "cycle.p12", out, password=PASSWORD, new_password=PASSWORD)
        assert _keytool_lengths(out, "JKS") == [2]


def test_links_are_one_fewer_than_certificates(legacy: pathlib.Path) -> None:
    """Chain.links has one Link per adjacent pair (none for an empty or one-certificate chain)."""
    leaf = Certificate.load((legacy / "md5-leaf.pem").read_bytes())
    assert Chain().links == ()
    assert Chain([leaf]).links == ()
    assert Chain([leaf]).unverified_links == ()


class TestNameEncodings:
    """Names link canonically, as openssl and Java compare them, whatever their string type."""

    def test_printable_and_utf8_names_link_verified(self) -> None:
        """An issuer named in PrintableString (keytool) signs a certificate naming it in
        UTF8String (openssl): the link holds and its signature is verified."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.name import _ASN1Type
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())

        def name(kind: _ASN1Type) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Encoded CA", _type=kind)])

        def build(subject: x509.Name, issuer: x509.Name, ca: bool) -> Certificate:
            builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                       .public_key(key.public_key()).serial_number(7 if ca else 8)
                       .not_valid_before(dt.datetime(2020, 1, 1))
                       .not_valid_after(dt.datetime(2040, 1, 1))
                       .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                                      critical=True))
            return Certificate.from_x509(builder.sign(key, hashes.SHA256()))

        printable = name(_ASN1Type.PrintableString)
        ca = build(printable, printable, ca=True)
        child = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "child")]),
                      name(_ASN1Type.UTF8String), ca=False)
        assert child.link_to(ca).status == "verified"
        assert Chain([child, ca]).is_complete
