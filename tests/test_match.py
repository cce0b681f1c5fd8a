"""Tests for certkit._ops.match: openssl-identical modulus hashes, key matching and key search."""

from __future__ import annotations

import pathlib
import re

import pytest
from conftest import PKI, issue, make_key, openssl
from cryptography.hazmat.primitives.asymmetric import rsa

import certkit
from certkit import Certificate, CertificateRequest, KeyIndex, KeyStore, PrivateKey
from certkit.errors import PasswordError, UnsupportedKeyError

# openssl genpkey arguments per key type, so keys and certificates come from openssl itself.
GENPKEY = {
    "RSA": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "EC": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "Ed25519": ["-algorithm", "ED25519"],
    "Ed448": ["-algorithm", "ED448"],
}


def _openssl_key(folder: pathlib.Path, kind: str, name: str) -> pathlib.Path:
    """Make a private key of ``kind`` with the openssl binary."""
    path = folder / f"{name}.key"
    if kind == "DSA":
        params = folder / f"{name}.params"
        # 1024-bit parameters: DSA's parameter search is the slow part, and what is tested
        # is that a DSA key is told from the others, not its size.
        openssl("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024",
                "-out", params)
        openssl("genpkey", "-paramfile", params, "-out", path)
    elif kind.startswith("RSA-"):
        openssl("genrsa", "-out", path, kind[4:])
    else:
        openssl("genpkey", *GENPKEY[kind], "-out", path)
    return path


def _openssl_cert(folder: pathlib.Path, key: pathlib.Path, name: str) -> pathlib.Path:
    """Make a self-signed certificate for ``key`` with ``openssl req -x509``."""
    path = folder / f"{name}.crt"
    openssl("req", "-x509", "-new", "-key", key, "-subj", f"/CN={name}", "-days", "30",
            "-out", path)
    return path


def _openssl_csr(folder: pathlib.Path, key: pathlib.Path, name: str) -> pathlib.Path:
    """Make a certificate request for ``key`` with ``openssl req -new``."""
    path = folder / f"{name}.csr"
    openssl("req", "-new", "-key", key, "-subj", f"/CN={name}", "-out", path)
    return path


def _printed(*args: str | pathlib.Path) -> str:
    """What an openssl command prints, without the trailing newline."""
    return openssl(*args).stdout.decode("ascii").rstrip("\n")


def _digest_of(line: str, algorithm: str = "md5") -> str:
    """The hex digest ``… | openssl md5`` prints for ``line`` plus its newline."""
    printed = _printed_input(algorithm, (line + "\n").encode("ascii"))
    match = re.search(r"=\s*([0-9a-f]+)$", printed)
    assert match, printed
    return match.group(1)


def _printed_input(algorithm: str, data: bytes) -> str:
    """Run ``openssl <algorithm>`` on ``data`` from standard input."""
    return openssl(algorithm, input=data).stdout.decode("ascii").strip()


@pytest.mark.interop
class TestModulusAgainstOpenssl:
    """``modulus``/``modulus_hash`` print exactly what the openssl binary prints."""

    # Odd lengths (a short top digit), one under and one at a byte boundary: the printed
    # number's shape. Larger byte-aligned keys print through the same format as 2048.
    @pytest.mark.parametrize("bits", [1024, 1025, 1030, 2047, 2048])
    def test_key_certificate_and_request(self, tmp_path: pathlib.Path, bits: int) -> None:
        """Key, certificate and CSR made by openssl give openssl's modulus line and md5."""
        key_path = _openssl_key(tmp_path, f"RSA-{bits}", "site")
        cert_path = _openssl_cert(tmp_path, key_path, "site")
        csr_path = _openssl_csr(tmp_path, key_path, "site")
        expected = _printed("rsa", "-in", key_path, "-noout", "-modulus")
        assert _printed("x509", "-in", cert_path, "-noout", "-modulus") == expected
        assert _printed("req", "-in", csr_path, "-noout", "-modulus") == expected
        key = PrivateKey.load(key_path.read_bytes())
        cert = Certificate.load(cert_path.read_bytes())
        csr = certkit.load(csr_path).requests[0]
        objects = (key, cert, csr, key.key, cert.x509.public_key())
        for obj in objects:
            assert certkit.modulus(obj) == expected  # type: ignore[arg-type]
        assert certkit.modulus_hash(cert) == _digest_of(expected)
        assert certkit.modulus_hash(key) == _digest_of(expected)

    def test_leading_digits_are_not_padded(self, tmp_path: pathlib.Path) -> None:
        """A modulus whose top nibble is small prints without a leading zero, as openssl does."""
        key_path = _openssl_key(tmp_path, "RSA-1030", "odd")
        printed = _printed("rsa", "-in", key_path, "-noout", "-modulus")
        key = PrivateKey.load(key_path.read_bytes())
        assert isinstance(key.key, rsa.RSAPrivateKey)
        # 1030 bits: the first hex digit covers two bits only, and is never "0".
        assert printed[len("Modulus="):][0] in "123"
        assert certkit.modulus(key) == printed

    def test_top_bit_set_modulus_has_der_padding_but_no_printed_zero(
            self, tmp_path: pathlib.Path) -> None:
        """A 2048-bit modulus (top bit set, so its DER INTEGER starts 00) prints no 00."""
        key_path = _openssl_key(tmp_path, "RSA-2048", "top")
        key = PrivateKey.load(key_path.read_bytes())
        assert isinstance(key.key, rsa.RSAPrivateKey)
        n = key.key.public_key().public_numbers().n
        assert n.bit_length() == 2048  # the top bit is set: DER needs a 00 byte in front
        text = openssl("rsa", "-in", key_path, "-noout", "-text").stdout.decode()
        assert "modulus:\n    00:" in text
        assert certkit.modulus(key) == _printed("rsa", "-in", key_path, "-noout", "-modulus")
        assert not certkit.modulus(key).startswith("Modulus=00")

    @pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
    def test_other_digests(self, pki: PKI, algorithm: str) -> None:
        """``modulus_hash(…, "sha256")`` equals ``… | openssl sha256``."""
        cert = pki.leaf.certificate
        assert certkit.modulus_hash(cert, algorithm) == _digest_of(certkit.modulus(cert),
                                                                   algorithm)


class TestModulusInputs:
    """What ``modulus`` accepts besides keys and certificates, and what it refuses."""

    def test_store_with_one_key(self, pki: PKI) -> None:
        """A store holding one key entry gives that key's modulus."""
        leaf = pki.leaf
        store = certkit.load(leaf.key.to_pem() + leaf.certificate.to_pem())
        assert certkit.modulus(store) == certkit.modulus(leaf.certificate)
        assert certkit.modulus(store.key_entries[0]) == certkit.modulus(leaf.key)

    def test_store_with_several_certificates_is_ambiguous(self, pki: PKI) -> None:
        """A chain file has several moduli, so the caller must pick one."""
        store = certkit.load(b"".join(c.to_pem() for c in pki.chain))
        with pytest.raises(UnsupportedKeyError, match="pass the one certificate"):
            certkit.modulus(store)

    @pytest.mark.parametrize("kind", ["EC-P256", "Ed25519"])
    def test_non_rsa_points_to_fingerprint(self, kind: str) -> None:
        """Non-RSA keys have no modulus; the error names the comparison that works."""
        key = make_key(kind)
        with pytest.raises(UnsupportedKeyError, match="public_key_fingerprint") as info:
            certkit.modulus_hash(key)
        assert info.value.algorithm == kind
        assert isinstance(info.value, ValueError)

    def test_unknown_digest(self, pki: PKI) -> None:
        """An unknown digest name is a ValueError naming the usable ones."""
        with pytest.raises(ValueError, match="md5"):
            certkit.modulus_hash(pki.leaf.key, "nope")


@pytest.mark.interop
class TestMatchesEveryKeyType:
    """``PrivateKey.matches`` and ``find_key`` for keys and certificates made by openssl."""

    @pytest.fixture(scope="class")
    @staticmethod
    def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[PrivateKey,
                                                                              Certificate]]:
        """One openssl key and self-signed certificate per key type."""
        folder = tmp_path_factory.mktemp("keys")
        out: dict[str, tuple[PrivateKey, Certificate]] = {}
        for kind in ("RSA", "EC", "Ed25519", "Ed448", "DSA"):
            key_path = _openssl_key(folder, kind, kind.lower())
            cert_path = _openssl_cert(folder, key_path, kind.lower())
            out[kind] = (PrivateKey.load(key_path.read_bytes()),
                         Certificate.load(cert_path.read_bytes()))
        return out

    @pytest.mark.parametrize("kind", ["RSA", "EC", "Ed25519", "Ed448", "DSA"])
    def test_own_certificate_matches(self, made: dict[str, tuple[PrivateKey, Certificate]],
                                     kind: str) -> None:
        """Each key matches its own certificate and no other certificate."""
        key, cert = made[kind]
        assert key.matches(cert)
        for other_kind, (_, other_cert) in made.items():
            if other_kind != kind:
                assert not key.matches(other_cert)

    @pytest.mark.parametrize("kind", ["RSA", "EC", "Ed25519", "Ed448", "DSA"])
    def test_find_key_in_a_folder(self, made: dict[str, tuple[PrivateKey, Certificate]],
                                  kind: str, tmp_path: pathlib.Path) -> None:
        """Among every key type's file (and junk), find_key returns the certificate's key."""
        for other_kind, (key, cert) in made.items():
            (tmp_path / f"{other_kind}.key").write_bytes(key.to_pem())
            (tmp_path / f"{other_kind}.crt").write_bytes(cert.to_pem())
        (tmp_path / "notes.txt").write_text("not a key\n")
        key, cert = made[kind]
        assert certkit.find_key(cert, [tmp_path]) == key

    def test_same_type_other_key_does_not_match(self) -> None:
        """An RSA key of the same size but another certificate does not match."""
        first, second = issue("one.example"), issue("two.example")
        assert not first.key.matches(second.certificate)
        assert certkit.find_key(second.certificate, [first.key]) is None


class TestFindKey:
    """``find_key`` searches keys, stores, files and folders, skipping what it cannot read."""

    def test_key_file_of_a_different_certificate(self, pki: PKI, other_pki: PKI,
                                                 tmp_path: pathlib.Path) -> None:
        """A folder holding only another certificate's key gives ``None``."""
        (tmp_path / "server.key").write_bytes(other_pki.leaf.key.to_pem())
        assert certkit.find_key(pki.leaf.certificate, [tmp_path]) is None

    def test_nested_folders_and_stores(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Keys inside a PEM bundle two folders down are found, with their location."""
        leaf = pki.leaf
        nested = tmp_path / "a" / "b"
        nested.mkdir(parents=True)
        bundle = nested / "apache.pem"
        bundle.write_bytes(leaf.key.to_pem() + leaf.certificate.to_pem())
        (tmp_path / "garbage.bin").write_bytes(b"\x00\x01garbage")
        index = KeyIndex([tmp_path])
        found = index.locate(leaf.certificate)
        assert found is not None
        assert found.key == leaf.key
        assert found.source == str(bundle)
        assert found.alias == "localhost"

    def test_encrypted_key_needs_the_password(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """An encrypted key is skipped (and listed) without its password, found with it."""
        leaf = pki.leaf
        (tmp_path / "secret.key").write_bytes(leaf.key.to_pem(password="s3cret"))
        index = KeyIndex([tmp_path])
        assert index.find(leaf.certificate) is None
        assert index.skipped == [(str(tmp_path / "secret.key"), "needs a password")]
        assert certkit.find_key(leaf.certificate, [tmp_path], password="s3cret") == leaf.key

    def test_request_finds_its_key(self, pki: PKI) -> None:
        """The key of a certificate request is found the same way."""
        key = make_key("EC-P256")
        csr = certkit.generate_csr(key, "www.example.test")
        assert isinstance(csr, CertificateRequest)
        assert certkit.find_key(csr, [pki.leaf.key, KeyStore(), key]) == key

    def test_locked_matching_key_names_the_entry(self, pki: PKI) -> None:
        """When the only matching key is locked, the error names its alias."""
        leaf = pki.leaf
        locked = certkit.LockedKey("jks", b"x", lambda _: leaf.key,
                                   public_key_fingerprint=leaf.key.public_key_fingerprint)
        store = KeyStore([certkit.KeyEntry("tomcat", locked, [leaf.certificate])])
        with pytest.raises(PasswordError, match="tomcat") as info:
            certkit.find_key(leaf.certificate, [store])
        assert info.value.alias == "tomcat"

    def test_pair_keys(self, pki: PKI, other_pki: PKI) -> None:
        """``pair_keys`` pairs each certificate with its key, or ``None``, in order."""
        certs = [pki.leaf.certificate, other_pki.leaf.certificate,
                 pki.root.certificate]
        pairs = certkit.pair_keys([pki.leaf.key, other_pki.leaf.key], certs)
        assert [key for _, key in pairs] == [pki.leaf.key, other_pki.leaf.key, None]
        assert [cert for cert, _ in pairs] == certs

    def test_many_candidates_are_indexed(self, pki: PKI) -> None:
        """2,000 keys are indexed once; lookups for several certificates reuse the index."""
        keys = [make_key("Ed25519") for _ in range(2000)]
        target = issue("needle.example", key=keys[1234])
        index = KeyIndex([*keys, pki.leaf.key])
        assert len(index) == 2001
        assert index.find(target.certificate) == keys[1234]
        assert index.find(pki.leaf.certificate) == pki.leaf.key


class TestSubjectOf:
    """What a file is about when a key is matched against it: the CLI's match and find-key."""

    def test_bundle_in_any_order_is_about_its_leaf(self, pki: PKI) -> None:
        """A root-first bundle is about the leaf, the certificate that issued no other."""
        from certkit._ops.match import first_leaf, subject_of

        bundle = KeyStore([certkit.TrustedCertEntry(f"c{i}", c)
                           for i, c in enumerate(reversed(pki.chain))])
        assert subject_of(bundle) == pki.leaf.certificate
        assert first_leaf(list(reversed(pki.chain))) == pki.leaf.certificate

    def test_key_entry_wins_and_a_request_is_the_last_resort(self, pki: PKI) -> None:
        """A key entry's leaf comes first; a store with only a CSR is about the CSR."""
        from certkit._ops.match import subject_of
        from certkit._ops.request import generate_csr

        store = KeyStore([certkit.TrustedCertEntry("root", pki.root.certificate),
                          certkit.KeyEntry("site", pki.leaf.key, pki.chain)])
        assert subject_of(store) == pki.leaf.certificate
        csr = generate_csr(pki.leaf.key, "localhost")
        assert subject_of(KeyStore(requests=[csr])) == csr
        assert subject_of(KeyStore()) is None


class TestMatchKey:
    """certkit.match_key: the library call behind `certkit match`, on files openssl made."""

    def test_openssl_key_and_certificate_match_with_openssl_fingerprints(
            self, tmp_path: pathlib.Path) -> None:
        """A key and the certificate openssl made from it match; the modulus hash and the
        public key hash are openssl's own."""
        key = _openssl_key(tmp_path, "RSA", "site")
        cert = tmp_path / "site.crt"
        openssl("req", "-new", "-x509", "-key", key, "-subj", "/CN=site.example",
                "-days", "30", "-out", cert)
        result = certkit.match_key(key, cert)
        assert result.matched
        md5 = openssl("x509", "-noout", "-modulus", "-in", cert).stdout
        assert result.target_fingerprints.modulus == md5.decode().strip()
        expected = re.sub(r"\s", "", openssl("md5", input=md5).stdout.decode()).split("=")[-1]
        assert result.key_fingerprints.modulus_hash == expected
        spki = openssl("pkey", "-in", key, "-pubout", "-outform", "DER").stdout
        import hashlib
        assert result.key_fingerprints.spki_sha256.replace(":", "").lower() == \
            hashlib.sha256(spki).hexdigest()

    def test_other_key_does_not_match(self, tmp_path: pathlib.Path) -> None:
        """An unrelated EC key gives matched=False and no modulus (not RSA)."""
        cert_key = _openssl_key(tmp_path, "RSA", "site")
        cert = tmp_path / "site.crt"
        openssl("req", "-new", "-x509", "-key", cert_key, "-subj", "/CN=site.example",
                "-days", "30", "-out", cert)
        other = _openssl_key(tmp_path, "EC", "other")
        result = certkit.match_key(other, cert)
        assert not result.matched
        assert result.key_fingerprints.modulus is None
        assert "modulus_md5" not in result.key_fingerprints.as_dict()

    def test_a_file_without_a_key_is_an_error_naming_it(self, tmp_path: pathlib.Path,
                                                        pki: PKI) -> None:
        """Giving a certificate as the key is a KeyMismatchError that names the file."""
        cert = tmp_path / "leaf.crt"
        cert.write_bytes(pki.leaf.certificate.to_pem())
        from certkit.errors import KeyMismatchError
        with pytest.raises(KeyMismatchError, match=r"leaf\.crt holds no private key"):
            certkit.match_key(cert, cert)

    def test_identify_lists_every_object_of_a_store(self, pki: PKI) -> None:
        """identify lists the key, each certificate and the request of a store, in order."""
        store = KeyStore([certkit.KeyEntry("a", pki.leaf.key, pki.chain)],
                         requests=[certkit.generate_csr(pki.leaf.key, "localhost")])
        kinds = [kind for kind, _, _ in certkit.identify(store, "sha256")]
        assert kinds == ["private key", "certificate", "certificate", "certificate", "request"]
        first = certkit.identify(store, "sha256")[0][2]
        assert first.digest == "sha256"
        assert "modulus_sha256" in first.as_dict()
