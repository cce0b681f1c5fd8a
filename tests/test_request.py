"""Tests for certkit._ops.request: key generation and CSRs that openssl accepts, no openssl.cnf."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from conftest import PKI, openssl
from cryptography.hazmat.primitives.asymmetric import rsa

import certkit
from certkit import CertificateRequest, PrivateKey
from certkit.errors import AliasError, DecodeError, FileExistsCertkitError, RequestError


class TestGenerateKey:
    """``generate_key`` makes each supported key type and refuses others clearly."""

    @pytest.mark.parametrize("algorithm", ["RSA-2048", "RSA-3072", "EC-P256", "EC-P384",
                                           "Ed25519"])
    def test_types(self, algorithm: str) -> None:
        """Each name gives a key of exactly that algorithm."""
        assert certkit.generate_key(algorithm).algorithm == algorithm

    @pytest.mark.slow
    def test_rsa_4096(self) -> None:
        """RSA-4096 is available for CAs that ask for it."""
        assert certkit.generate_key("RSA-4096").algorithm == "RSA-4096"

    @pytest.mark.parametrize(("name", "expected"), [("rsa", "RSA-2048"), ("ec", "EC-P256"),
                                                    ("ed25519", "Ed25519"),
                                                    ("EC-P-384", "EC-P384")])
    def test_aliases(self, name: str, expected: str) -> None:
        """Common spellings are accepted, case-insensitively."""
        assert certkit.generate_key(name).algorithm == expected

    @pytest.mark.parametrize("name", ["RSA-1024", "DSA", "EC-P192", ""])
    def test_unknown(self, name: str) -> None:
        """Weak or unknown types raise RequestError listing the choices."""
        with pytest.raises(RequestError, match="RSA-2048") as info:
            certkit.generate_key(name)
        assert info.value.field == "algorithm"

    def test_default(self) -> None:
        """The default is RSA-2048, what every CA accepts."""
        assert certkit.generate_key().algorithm == "RSA-2048"


def _text(csr: CertificateRequest, tmp_path: pathlib.Path) -> str:
    """``openssl req -noout -text`` of a request, after ``openssl req -verify`` passed."""
    path = tmp_path / "req.csr"
    path.write_bytes(csr.to_pem())
    verified = openssl("req", "-in", path, "-noout", "-verify")
    assert b"verify OK" in verified.stdout + verified.stderr
    return openssl("req", "-in", path, "-noout", "-text").stdout.decode()


@pytest.mark.interop
class TestCSRWithOpenssl:
    """CSRs from ``generate_csr`` verify with ``openssl req -verify`` and show what was asked."""

    @pytest.mark.parametrize("algorithm", ["RSA-2048", "EC-P256", "EC-P384", "Ed25519"])
    def test_verifies_and_shows_sans(self, algorithm: str, tmp_path: pathlib.Path) -> None:
        """Signature, subject and SANs (DNS and IP) are what openssl reads back."""
        key = certkit.generate_key(algorithm)
        csr = certkit.generate_csr(key, "www.example.com",
                                   sans=["example.com", "*.example.com", "192.0.2.7",
                                         "2001:db8::1"])
        text = _text(csr, tmp_path)
        assert "CN = www.example.com" in text
        assert ("DNS:www.example.com, DNS:example.com, DNS:*.example.com, "
                "IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:1") in text
        assert key.matches(csr)

    def test_subject_string(self, tmp_path: pathlib.Path) -> None:
        """An RFC 4514 subject adds O, L and C, with the CN last as CAs expect."""
        csr = certkit.generate_csr(certkit.generate_key("EC-P256"), "www.example.com",
                                   subject="O=Example Ltd,L=Taipei,C=TW")
        assert "Subject: C = TW, L = Taipei, O = Example Ltd, CN = www.example.com" in _text(
            csr, tmp_path)

    def test_subject_mapping(self, tmp_path: pathlib.Path) -> None:
        """A mapping subject is written in the usual order, country first."""
        csr = certkit.generate_csr(certkit.generate_key("EC-P256"), "www.example.com",
                                   subject={"CN": "www.example.com", "o": "Example Ltd",
                                            "countryName": "TW", "ST": "Taiwan"})
        assert ("Subject: C = TW, ST = Taiwan, O = Example Ltd, CN = www.example.com"
                in _text(csr, tmp_path))

    def test_international_domain_name(self, tmp_path: pathlib.Path) -> None:
        """A non-ASCII host name is written as its IDNA (xn--) form."""
        csr = certkit.generate_csr(certkit.generate_key("EC-P256"), "www.example.com",
                                   sans=["bücher.example"])
        assert "DNS:xn--bcher-kva.example" in _text(csr, tmp_path)

    def test_no_openssl_config_needed(self, tmp_path: pathlib.Path) -> None:
        """With OPENSSL_CONF pointing nowhere, key and CSR are still made (handbook #2)."""
        script = ("import certkit, sys; k = certkit.generate_key('RSA-2048'); "
                  "sys.stdout.buffer.write(certkit.generate_csr(k, 'www.example.com').to_pem())")
        env = {**os.environ, "OPENSSL_CONF": str(tmp_path / "missing" / "openssl.cnf")}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                check=True, timeout=60)
        path = tmp_path / "req.csr"
        path.write_bytes(result.stdout)
        assert openssl("req", "-in", path, "-noout", "-verify").returncode == 0


class TestCSRInputs:
    """What ``generate_csr`` refuses, and how it treats the common name."""

    def test_cn_is_first_san(self) -> None:
        """A host-name CN is added to the SANs once, first."""
        csr = certkit.generate_csr(certkit.generate_key("EC-P256"), "www.example.com",
                                   sans=["DNS:www.example.com", "IP:10.0.0.1"])
        assert csr.san == ("www.example.com", "10.0.0.1")

    def test_non_host_cn_is_not_a_san(self) -> None:
        """A CN that is not a host name (a person, a device label) is not made a SAN."""
        csr = certkit.generate_csr(certkit.generate_key("EC-P256"), "Build Server 7")
        assert csr.san == ()
        assert csr.subject == "CN=Build Server 7"

    @pytest.mark.parametrize("san", ["not a host", "exa mple.com", "-bad.example", "IP:1.2.3"])
    def test_bad_san(self, san: str) -> None:
        """Something that is neither a DNS name nor an IP address is refused by name."""
        with pytest.raises(RequestError, match=r"IP address|DNS name") as info:
            certkit.generate_csr(certkit.generate_key("EC-P256"), "www.example.com", sans=[san])
        assert info.value.field == "san"

    def test_conflicting_cn(self) -> None:
        """A subject naming another CN than ``common_name`` is refused."""
        with pytest.raises(RequestError, match="give it once"):
            certkit.generate_csr(certkit.generate_key("EC-P256"), "a.example",
                                 subject="CN=b.example,O=X")

    @pytest.mark.parametrize("subject", ["not an rfc4514 string", {"XYZ": "1"}])
    def test_bad_subject(self, subject: object) -> None:
        """An unreadable subject or unknown attribute is refused."""
        with pytest.raises(RequestError) as info:
            certkit.generate_csr(certkit.generate_key("EC-P256"), "a.example",
                                 subject=subject)  # type: ignore[arg-type]
        assert info.value.field == "subject"

    def test_empty_cn(self) -> None:
        """An empty common name is refused."""
        with pytest.raises(RequestError, match="common name"):
            certkit.generate_csr(certkit.generate_key("EC-P256"), " ")

    def test_key_is_validated_first(self) -> None:
        """An inconsistent RSA key (a corrupted CRT value) is refused before signing."""
        good = certkit.generate_key("RSA-2048").key
        assert isinstance(good, rsa.RSAPrivateKey)
        numbers = good.private_numbers()
        broken = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d, numbers.dmp1 ^ 2,
                                       numbers.dmq1, numbers.iqmp, numbers.public_numbers)
        key = PrivateKey(broken.private_key(unsafe_skip_rsa_key_validation=True))
        with pytest.raises(DecodeError, match="inconsistent"):
            certkit.generate_csr(key, "www.example.com")


@pytest.mark.interop
class TestRenewalCSR:
    """``renewal_csr`` asks for the certificate being renewed, as openssl reads both."""

    def test_copies_subject_and_sans(self, tmp_path: pathlib.Path) -> None:
        """Subject and SANs of the old certificate are what openssl shows in the request."""
        old_key = certkit.generate_key("EC-P256")
        csr_old = certkit.generate_csr(old_key, "www.example.com",
                                       sans=["example.com", "192.0.2.7"],
                                       subject="O=Example Ltd,L=Taipei,C=TW")
        old_csr_path = tmp_path / "old.csr"
        old_csr_path.write_bytes(csr_old.to_pem())
        (tmp_path / "ca.key").write_bytes(old_key.to_pem())
        # openssl signs the old request itself, so the certificate is openssl's, not ours.
        openssl("x509", "-req", "-in", old_csr_path, "-key", tmp_path / "ca.key",
                "-days", "30", "-copy_extensions", "copy", "-out", tmp_path / "old.crt")
        old = certkit.Certificate.load((tmp_path / "old.crt").read_bytes())
        expected = openssl("x509", "-in", tmp_path / "old.crt", "-noout", "-subject",
                           "-ext", "subjectAltName").stdout.decode()
        new_key = certkit.generate_key("RSA-2048")
        text = _text(certkit.renewal_csr(new_key, old), tmp_path)
        assert "Subject: C = TW, L = Taipei, O = Example Ltd, CN = www.example.com" in text
        assert "DNS:www.example.com, DNS:example.com, IP Address:192.0.2.7" in text
        assert "subject=C = TW, L = Taipei, O = Example Ltd, CN = www.example.com" in expected
        assert "DNS:www.example.com, DNS:example.com, IP Address:192.0.2.7" in expected

    def test_same_key_and_extra_names(self, tmp_path: pathlib.Path) -> None:
        """The certificate's own key can sign the renewal, and new names are appended."""
        key = certkit.generate_key("EC-P256")
        (tmp_path / "k.pem").write_bytes(key.to_pem())
        openssl("req", "-new", "-x509", "-key", tmp_path / "k.pem", "-subj", "/CN=app.example",
                "-addext", "subjectAltName=DNS:app.example", "-days", "30",
                "-out", tmp_path / "app.crt")
        cert = certkit.Certificate.load((tmp_path / "app.crt").read_bytes())
        csr = certkit.renewal_csr(key, cert, sans=["api.example", "app.example"])
        assert key.matches(csr)
        assert "DNS:app.example, DNS:api.example" in _text(csr, tmp_path)

    def test_certificate_without_names(self, pki: PKI) -> None:
        """A certificate with an empty subject and no SANs has nothing to renew from."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        key = certkit.generate_key("EC-P256")
        empty = (x509.CertificateBuilder().subject_name(x509.Name([]))
                 .issuer_name(x509.Name([])).public_key(key.key.public_key())
                 .serial_number(1).not_valid_before(pki.root.certificate.not_before)
                 .not_valid_after(pki.root.certificate.not_after)
                 .sign(key.key, hashes.SHA256()))
        with pytest.raises(RequestError, match="neither a subject nor alternative names"):
            certkit.renewal_csr(key, certkit.Certificate.from_x509(empty))


class TestRenewalSource:
    """``renewal_source``/``renewal_key`` find what a renewal starts from, or name the choices."""

    def test_certificate_file(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A www.crt with its chain: the leaf is the certificate to renew, no key."""
        path = tmp_path / "www.crt"
        path.write_bytes(b"".join(c.to_pem() for c in pki.chain))
        found = certkit.renewal_source(path)
        assert found.certificate == pki.leaf.certificate
        assert found.key is None

    def test_keystore_entry(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A keystore's one key entry comes with its own key (what keytool -certreq signs with)."""
        path = certkit.save(certkit.KeyStore([certkit.KeyEntry("tomcat", pki.leaf.key,
                                                               pki.chain)]),
                            tmp_path / "t.jks", password="changeit")
        found = certkit.renewal_source(path, password="changeit")
        assert found.alias == "tomcat"
        assert found.certificate == pki.leaf.certificate
        assert found.key is not None
        assert found.key.matches(pki.leaf.certificate)

    def test_several_entries_named(self, pki: PKI, other_pki: PKI) -> None:
        """Two key entries and no alias: the error names both."""
        store = certkit.KeyStore([certkit.KeyEntry("one", pki.leaf.key, pki.chain),
                                  certkit.KeyEntry("two", other_pki.leaf.key, other_pki.chain)])
        with pytest.raises(AliasError, match="'one', 'two'"):
            certkit.renewal_source(store)
        with pytest.raises(AliasError, match="'one', 'two'"):
            certkit.renewal_key(store)
        assert certkit.renewal_source(store, "two").certificate == other_pki.leaf.certificate
        key, alias = certkit.renewal_key(store, "two")
        assert alias == "two"
        assert key.matches(other_pki.leaf.certificate)

    def test_unknown_alias(self, pki: PKI) -> None:
        """An alias that is not there is named, with the aliases that are."""
        store = certkit.KeyStore([certkit.KeyEntry("one", pki.leaf.key, pki.chain)])
        with pytest.raises(AliasError, match=r"'nope'.*'one'"):
            certkit.renewal_source(store, "nope")

    def test_only_ca_certificates(self, pki: PKI) -> None:
        """A bundle of CA certificates has nothing to renew, and says so."""
        store = certkit.KeyStore([certkit.TrustedCertEntry("root", pki.root.certificate)])
        with pytest.raises(RequestError, match="no server certificate"):
            certkit.renewal_source(store)

    def test_store_and_alias(self, tmp_path: pathlib.Path) -> None:
        """FILE:ALIAS splits only when FILE exists; an existing name with a colon stays whole."""
        from certkit._ops.request import split_store_alias

        (tmp_path / "t.jks").write_bytes(b"x")
        (tmp_path / "odd:name.pem").write_bytes(b"x")
        assert split_store_alias(f"{tmp_path}/t.jks:tomcat") == (f"{tmp_path}/t.jks", "tomcat")
        assert split_store_alias(f"{tmp_path}/odd:name.pem") == (f"{tmp_path}/odd:name.pem",
                                                                  None)
        assert split_store_alias("missing:alias") == ("missing:alias", None)


class TestRequestFrom:
    """``certkit request --from`` makes the renewal CSR openssl reads, with a new or reused key."""

    def test_from_certificate(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """request --from www.crt: the CSR has the certificate's subject and SANs; the new key
        is written first with mode 0600 and signs the CSR."""
        from certkit.cli import main

        www = tmp_path / "www.crt"
        www.write_bytes(pki.leaf.certificate.to_pem())
        key, csr = tmp_path / "new.key", tmp_path / "new.csr"
        assert main(["request", "--from", str(www), "--out-key", str(key),
                     "--out-csr", str(csr)]) == 0
        text = openssl("req", "-in", csr, "-noout", "-text", "-verify").stdout.decode()
        assert "CN = localhost" in text
        assert "O = certkit tests" in text
        assert "DNS:localhost, DNS:www.example.test" in text
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        csr_pub = openssl("req", "-in", csr, "-noout", "-pubkey").stdout
        assert csr_pub == openssl("pkey", "-in", key, "-pubout").stdout
        assert csr_pub != openssl("x509", "-in", www, "-noout", "-pubkey").stdout

    def test_keystore_entry_own_key(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """--from STORE:ALIAS --key STORE:ALIAS is keytool -certreq: the entry's key signs."""
        from certkit.cli import main

        store = certkit.save(certkit.KeyStore([certkit.KeyEntry("tomcat", pki.leaf.key,
                                                                pki.chain)]),
                             tmp_path / "t.p12", password="changeit")
        (tmp_path / "pw").write_text("changeit\n")
        csr = tmp_path / "t.csr"
        assert main(["request", "--from", f"{store}:tomcat", "--key", f"{store}:tomcat",
                     "--out-csr", str(csr), "--password-file", str(tmp_path / "pw")]) == 0
        csr_pub = openssl("req", "-in", csr, "-noout", "-pubkey", "-verify").stdout
        assert csr_pub == openssl("x509", "-noout", "-pubkey",
                                  input=pki.leaf.certificate.to_pem()).stdout

    def test_needs_cn_or_from(self, tmp_path: pathlib.Path) -> None:
        """Neither --cn nor --from is a usage error (exit 2)."""
        from certkit.cli import main

        assert main(["request", "--out-key", str(tmp_path / "k"),
                     "--out-csr", str(tmp_path / "c")]) == 2


class TestRequestFiles:
    """certkit.request_files: the key first (0600), then the CSR, never over a file."""

    def test_new_key_and_csr_that_openssl_verifies(self, tmp_path: pathlib.Path) -> None:
        """The CSR verifies with openssl, its public key is the key file's, the key is 0600."""
        made = certkit.request_files(tmp_path / "www.csr", key_path=tmp_path / "www.key",
                                     common_name="www.example.test", sans=["www.example.test"],
                                     key_type="EC-P256")
        assert made.key_path is not None
        assert made.key_path.stat().st_mode & 0o777 == 0o600
        openssl("req", "-in", made.csr_path, "-noout", "-verify")
        from_csr = openssl("req", "-in", made.csr_path, "-noout", "-pubkey").stdout
        from_key = openssl("pkey", "-in", made.key_path, "-pubout").stdout
        assert from_csr == from_key

    def test_an_existing_csr_is_refused_before_a_key_is_made(self,
                                                             tmp_path: pathlib.Path) -> None:
        """With the CSR path taken, nothing is written: no key file appears."""
        (tmp_path / "www.csr").write_text("keep me")
        with pytest.raises(FileExistsCertkitError):
            certkit.request_files(tmp_path / "www.csr", key_path=tmp_path / "www.key",
                                  common_name="www.example.test")
        assert not (tmp_path / "www.key").exists()
        assert (tmp_path / "www.csr").read_text() == "keep me"

    def test_renewal_reuses_the_key_and_copies_the_subject(self, pki: PKI,
                                                           tmp_path: pathlib.Path) -> None:
        """With renew= and key=, no key file is written and the CSR has the old subject."""
        made = certkit.request_files(tmp_path / "renew.csr", key=pki.leaf.key,
                                     renew=pki.leaf.certificate)
        assert made.key_path is None
        subject = openssl("req", "-in", made.csr_path, "-noout", "-subject").stdout.decode()
        assert "CN=localhost" in subject.replace(" = ", "=")
        assert list(tmp_path.iterdir()) == [made.csr_path]


def test_an_existing_key_file_is_refused_without_suggesting_to_overwrite(
        tmp_path: pathlib.Path) -> None:
    """request_files has no overwrite: its refusal names no option that would replace it."""
    (tmp_path / "www.key").write_text("the only copy")
    with pytest.raises(FileExistsCertkitError) as caught:
        certkit.request_files(tmp_path / "www.csr", key_path=tmp_path / "www.key",
                              common_name="www.example.test")
    assert "never overwrites" in str(caught.value)
    assert "overwrite=" not in str(caught.value)
    assert caught.value.hint is None
    assert (tmp_path / "www.key").read_text() == "the only copy"
