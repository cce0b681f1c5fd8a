"""Interop with the real ``openssl`` 3 binary: files it writes load, files certkit writes open.

Every test here runs openssl, so the module is marked ``interop``; a session fixture builds
one openssl-made hierarchy (RSA root → EC intermediate → RSA leaf) in a temporary folder.
"""

from __future__ import annotations

import hashlib
import itertools
import pathlib

import attrs
import pytest
from conftest import PKI, issue, make_key, openssl
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import certkit
from certkit import Attributes, KeyEntry, KeyStore, PrivateKey, TrustedCertEntry
from certkit.errors import PasswordError

pytestmark = pytest.mark.interop

PASSWORD = "correct horse"


def fingerprint(path: pathlib.Path, *, inform: str = "PEM") -> str:
    """What ``openssl x509 -fingerprint -sha256`` prints, as lower hex without colons."""
    out = openssl("x509", "-in", path, "-inform", inform, "-noout", "-fingerprint",
                  "-sha256").stdout.decode()
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def printed_certs(output: bytes) -> list[str]:
    """SHA-256 fingerprints of the PEM certificates ``openssl … -print_certs`` printed, in order."""
    return [hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()
            for c in x509.load_pem_x509_certificates(output)]


def pubkey_fingerprint(path: pathlib.Path, *args: str) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo ``openssl pkey -pubout`` derives from a key file."""
    der = openssl("pkey", "-in", path, *args, "-pubout", "-outform", "DER").stdout
    return hashlib.sha256(der).hexdigest()


@attrs.frozen
class OpensslPKI:
    """Files made by openssl: keys, certificates (PEM) and their openssl fingerprints."""

    folder: pathlib.Path
    fingerprints: dict[str, str]

    def __truediv__(self, name: str) -> pathlib.Path:
        return self.folder / name


@pytest.fixture(scope="session")
def ossl(tmp_path_factory: pytest.TempPathFactory) -> OpensslPKI:
    """An RSA root, an EC intermediate and an RSA leaf, all made and signed by openssl."""
    d = tmp_path_factory.mktemp("openssl")
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n")
    (d / "leaf.ext").write_text("basicConstraints=CA:FALSE\nsubjectAltName=DNS:leaf.example\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d / "root.key",
            "-out", d / "root.pem", "-subj", "/CN=OpenSSL Root/O=interop", "-days", "36500",
            "-addext", "basicConstraints=critical,CA:TRUE")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", d / "int.key")
    openssl("req", "-new", "-key", d / "int.key", "-out", d / "int.csr",
            "-subj", "/CN=OpenSSL Intermediate/O=interop")
    openssl("x509", "-req", "-in", d / "int.csr", "-CA", d / "root.pem", "-CAkey", d / "root.key",
            "-set_serial", "2", "-days", "36500", "-extfile", d / "ca.ext", "-out", d / "int.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", d / "leaf.key")
    openssl("req", "-new", "-key", d / "leaf.key", "-out", d / "leaf.csr",
            "-subj", "/CN=leaf.example/O=interop")
    openssl("x509", "-req", "-in", d / "leaf.csr", "-CA", d / "int.pem", "-CAkey", d / "int.key",
            "-set_serial", "3", "-days", "36500", "-extfile", d / "leaf.ext",
            "-out", d / "leaf.pem")
    prints = {name: fingerprint(d / f"{name}.pem") for name in ("root", "int", "leaf")}
    return OpensslPKI(d, prints)


class TestOpensslCertificatesLoad:
    @pytest.fixture(scope="class")
    @staticmethod
    def encodings(ossl: OpensslPKI) -> dict[str, tuple[pathlib.Path, list[str]]]:
        """Each encoding openssl writes, with the certificates (by name) it holds."""
        d = ossl.folder
        openssl("x509", "-in", d / "leaf.pem", "-out", d / "leaf-pem.cer")
        openssl("x509", "-in", d / "leaf.pem", "-outform", "DER", "-out", d / "leaf-der.cer")
        (d / "unordered.pem").write_bytes(b"".join(
            (d / f"{n}.pem").read_bytes() for n in ("int", "root", "leaf")))
        certfiles = [arg for n in ("leaf", "int", "root") for arg in ("-certfile", d / f"{n}.pem")]
        openssl("crl2pkcs7", "-nocrl", *certfiles, "-out", d / "chain-pem.p7b")
        openssl("crl2pkcs7", "-nocrl", *certfiles, "-outform", "DER", "-out", d / "chain-der.p7b")
        return {
            "pem-cer": (d / "leaf-pem.cer", ["leaf"]),
            "der-cer": (d / "leaf-der.cer", ["leaf"]),
            "unordered-pem-bundle": (d / "unordered.pem", ["int", "root", "leaf"]),
            "pem-p7b": (d / "chain-pem.p7b", ["leaf", "int", "root"]),
            "der-p7b": (d / "chain-der.p7b", ["leaf", "int", "root"]),
        }

    @pytest.mark.parametrize("encoding", ["pem-cer", "der-cer", "unordered-pem-bundle",
                                          "pem-p7b", "der-p7b"])
    def test_fingerprints_match_openssl(
        self, ossl: OpensslPKI, encodings: dict[str, tuple[pathlib.Path, list[str]]],
        encoding: str,
    ) -> None:
        """Each encoding loads to the certificates whose SHA-256 openssl prints, in file order."""
        path, names = encodings[encoding]
        store = certkit.load(path)
        assert [c.fingerprint() for c in store.certificates] == [
            ossl.fingerprints[n] for n in names]
        assert store.format == {"pem-cer": "pem", "der-cer": "der"}.get(
            encoding, "pkcs7" if encoding.endswith("p7b") else "pem")

    @pytest.mark.parametrize("order", list(itertools.permutations(("leaf.key", "leaf.pem",
                                                                   "int.pem"))))
    def test_key_bundle_any_order(self, ossl: OpensslPKI, order: tuple[str, ...],
                                  tmp_path: pathlib.Path) -> None:
        """openssl's key, leaf and intermediate in any order load as one key entry, chain of 2."""
        path = tmp_path / "bundle.pem"
        path.write_bytes(b"".join((ossl / name).read_bytes() for name in order))
        store = certkit.load(path)
        assert len(store) == 1
        (entry,) = store.key_entries
        assert [c.fingerprint() for c in entry.chain] == [ossl.fingerprints["leaf"],
                                                          ossl.fingerprints["int"]]
        assert entry.private_key.public_key_fingerprint == pubkey_fingerprint(ossl / "leaf.key")
        assert entry.alias == "leaf.example"


class TestOpensslEncryptedKeys:
    @pytest.fixture(scope="class")
    @staticmethod
    def plain(ossl: OpensslPKI) -> dict[str, PrivateKey]:
        """The unencrypted RSA leaf key and EC intermediate key."""
        return {"rsa": PrivateKey.load((ossl / "leaf.key").read_bytes()),
                "ec": PrivateKey.load((ossl / "int.key").read_bytes())}

    @pytest.fixture(scope="class")
    @staticmethod
    def encrypted(ossl: OpensslPKI) -> dict[str, tuple[pathlib.Path, str]]:
        """Keys openssl encrypted each way it can, with which plain key each holds."""
        d, pw = ossl.folder, f"pass:{PASSWORD}"
        openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", d / "leaf.key",
                "-out", d / "pbes2.pem", "-passout", pw)
        openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", d / "int.key", "-outform", "DER",
                "-out", d / "pbes2.der", "-passout", pw)
        openssl("pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", d / "leaf.key",
                "-out", d / "pbes1.pem", "-passout", pw)
        openssl("rsa", "-aes256", "-traditional", "-in", d / "leaf.key",
                "-out", d / "legacy-rsa.pem", "-passout", pw)
        openssl("ec", "-des3", "-in", d / "int.key", "-out", d / "legacy-ec.pem", "-passout", pw)
        return {"pbes2-pem": (d / "pbes2.pem", "rsa"), "pbes2-der": (d / "pbes2.der", "ec"),
                "pbes1-3des": (d / "pbes1.pem", "rsa"), "legacy-rsa": (d / "legacy-rsa.pem", "rsa"),
                "legacy-ec": (d / "legacy-ec.pem", "ec")}

    KINDS = ("pbes2-pem", "pbes2-der", "pbes1-3des", "legacy-rsa", "legacy-ec")

    @pytest.mark.parametrize("kind", KINDS)
    def test_right_password(self, encrypted: dict[str, tuple[pathlib.Path, str]],
                            plain: dict[str, PrivateKey], kind: str) -> None:
        """The key opens with its password and equals the unencrypted key."""
        path, which = encrypted[kind]
        if kind == "legacy-rsa":
            assert b"Proc-Type: 4,ENCRYPTED" in path.read_bytes()
        (entry,) = certkit.load(path, password=PASSWORD)
        assert entry.key == plain[which]  # type: ignore[union-attr]

    @pytest.mark.parametrize("kind", KINDS)
    def test_missing_password(self, encrypted: dict[str, tuple[pathlib.Path, str]],
                              kind: str) -> None:
        """Without a password: PasswordError with missing=True, naming the file."""
        path, _ = encrypted[kind]
        with pytest.raises(PasswordError) as info:
            certkit.load(path)
        assert info.value.missing
        assert str(path) in str(info.value)

    @pytest.mark.parametrize("kind", KINDS)
    def test_wrong_password(self, encrypted: dict[str, tuple[pathlib.Path, str]],
                            kind: str) -> None:
        """Twenty wrong passwords all raise PasswordError with missing=False, never DecodeError."""
        path, _ = encrypted[kind]
        for attempt in range(20):
            with pytest.raises(PasswordError) as info:
                certkit.load(path, password=f"wrong {attempt}")
            assert not info.value.missing


class TestOpensslPEMExtras:
    def test_pkcs12_bag_attributes(self, ossl: OpensslPKI, tmp_path: pathlib.Path) -> None:
        """``openssl pkcs12 -nodes`` output loads with the friendly name as alias and the key id."""
        d = ossl.folder
        openssl("pkcs12", "-export", "-inkey", d / "leaf.key", "-in", d / "leaf.pem",
                "-certfile", d / "int.pem", "-name", "My Web Server", "-out", tmp_path / "b.p12",
                "-passout", "pass:x")
        openssl("pkcs12", "-in", tmp_path / "b.p12", "-nodes", "-passin", "pass:x",
                "-out", tmp_path / "bags.pem")
        text = (tmp_path / "bags.pem").read_bytes()
        assert b"Bag Attributes" in text
        store = certkit.load(tmp_path / "bags.pem")
        assert store.aliases == ("My Web Server",)
        (entry,) = store.key_entries
        assert entry.attributes.friendly_name == "My Web Server"
        assert entry.attributes.local_key_id is not None
        assert len(entry.attributes.local_key_id) == 20  # SHA-1 of the certificate
        assert [c.fingerprint() for c in entry.chain] == [ossl.fingerprints["leaf"],
                                                          ossl.fingerprints["int"]]

    def test_trusted_certificate(self, ossl: OpensslPKI, tmp_path: pathlib.Path) -> None:
        """A TRUSTED CERTIFICATE block loads with its alias and trust OIDs."""
        openssl("x509", "-in", ossl / "root.pem", "-trustout", "-addtrust", "serverAuth",
                "-setalias", "foo", "-out", tmp_path / "trusted.pem")
        assert b"BEGIN TRUSTED CERTIFICATE" in (tmp_path / "trusted.pem").read_bytes()
        store = certkit.load(tmp_path / "trusted.pem")
        (entry,) = store.trusted_entries
        assert entry.alias == "foo"
        assert entry.certificate.fingerprint() == ossl.fingerprints["root"]
        assert entry.attributes.trusted_usage == ("1.3.6.1.5.5.7.3.1",)


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    """One key of each kind certkit writes."""
    return {kind: make_key(kind) for kind in ("RSA-2048", "EC-P384", "Ed25519")}


class TestOpensslReadsCertkitOutput:
    def test_pem_certificate(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A certificate saved as PEM .cer opens in openssl x509 with the same fingerprint."""
        path = certkit.save(KeyStore([TrustedCertEntry("l", pki.leaf.certificate)]),
                            tmp_path / "leaf.cer")
        assert fingerprint(path) == pki.leaf.certificate.fingerprint()

    def test_der_certificate(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A certificate saved as DER opens in openssl x509 -inform DER with the same print."""
        path = certkit.save(KeyStore([TrustedCertEntry("l", pki.leaf.certificate)]),
                            tmp_path / "leaf.der")
        assert fingerprint(path, inform="DER") == pki.leaf.certificate.fingerprint()

    @pytest.mark.parametrize("bags", [False, True])
    def test_pem_bundle_every_certificate(self, pki: PKI, tmp_path: pathlib.Path,
                                          bags: bool) -> None:
        """openssl reads every certificate of a key+chain PEM bundle, with or without bag text."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)])
        path = certkit.save(store, tmp_path / "bundle.pem", bag_attributes=bags)
        p7 = openssl("crl2pkcs7", "-nocrl", "-certfile", path).stdout
        out = openssl("pkcs7", "-print_certs", input=p7).stdout
        assert printed_certs(out) == [c.fingerprint() for c in pki.chain]
        assert pubkey_fingerprint(path) == pki.leaf.key.public_key_fingerprint

    @pytest.mark.parametrize("encoding", ["der", "pem"])
    def test_pkcs7(self, pki: PKI, other_pki: PKI, tmp_path: pathlib.Path,
                   encoding: str) -> None:
        """openssl pkcs7 -print_certs lists certkit's .p7b certificates, leaf first, same prints."""
        store = KeyStore([TrustedCertEntry("a", pki.leaf.certificate),
                          TrustedCertEntry("b", pki.intermediate.certificate),
                          TrustedCertEntry("c", pki.root.certificate),
                          TrustedCertEntry("d", other_pki.root.certificate)])
        path = certkit.save(store, tmp_path / "chain.p7b", encoding=encoding)
        out = openssl("pkcs7", "-in", path, "-inform", encoding.upper(), "-print_certs").stdout
        assert printed_certs(out) == [c.fingerprint() for c in store.certificates]

    @pytest.mark.parametrize("kind", ["RSA-2048", "EC-P384", "Ed25519"])
    @pytest.mark.parametrize("fmt", ["pem", "der"])
    def test_keys(self, keys: dict[str, PrivateKey], tmp_path: pathlib.Path, kind: str,
                  fmt: str) -> None:
        """openssl pkey derives from certkit's PEM/DER key the public key certkit fingerprints."""
        key = keys[kind]
        path = certkit.save(KeyStore([KeyEntry("k", key)]), tmp_path / f"k.{fmt}", format=fmt)
        assert pubkey_fingerprint(path, "-inform", fmt.upper()) == key.public_key_fingerprint

    @pytest.mark.parametrize("kind", ["RSA-2048", "EC-P384", "Ed25519"])
    def test_encrypted_pem_key(self, keys: dict[str, PrivateKey], tmp_path: pathlib.Path,
                               kind: str) -> None:
        """A PEM key written with a password opens with openssl pkey -passin, and not without."""
        key = keys[kind]
        path = certkit.save(KeyStore([KeyEntry("k", key)]), tmp_path / "k.key",
                            password="pä55 word")
        assert pubkey_fingerprint(path, "-passin", "pass:pä55 word") == key.public_key_fingerprint
        refused = openssl("pkey", "-in", path, "-passin", "pass:wrong", "-noout", check=False)
        assert refused.returncode != 0

    def test_openssl_verifies_certkit_chain(self, tmp_path: pathlib.Path) -> None:
        """openssl verify accepts the chain certkit saved as a PEM bundle (a complete chain)."""
        root = issue("verify root", ca=True, key=make_key("EC-P256"))
        leaf = issue("verify.example", issuer=root, key=make_key("EC-P256"))
        store = KeyStore([TrustedCertEntry("root", root.certificate, Attributes())])
        ca = certkit.save(store, tmp_path / "ca.pem")
        leaf_path = certkit.save(KeyStore([TrustedCertEntry("l", leaf.certificate)]),
                                 tmp_path / "leaf.pem")
        out = openssl("verify", "-CAfile", ca, leaf_path).stdout
        assert out.strip().endswith(b"OK")
