"""Files other projects wrote: the ``cryptography-vectors`` x509/ and asymmetric/ collections.

Run ``python tests/test_vectors.py`` to print the survey (how many files load, how many
are rejected and why) that the tests below assert on.
"""

from __future__ import annotations

import collections
import contextlib
import pathlib
import re
import time
from collections.abc import Iterator

import attrs
import pytest

import certkit
from certkit import KeyStore
from certkit.errors import CertkitError, DecodeError, PasswordError

#: Extensions of certificate, request and key files; NIST/RFC text vectors (.txt, .rsp),
#: CRL-only extensions (.crl), OpenSSH public keys (.pub), S/MIME (.eml) and PKCS#12
#: (.p12, another codec's corpus) are left out.
EXTENSIONS = frozenset({".pem", ".der", ".crt", ".key"})
TOP_FOLDERS = ("x509", "asymmetric")
#: Large enough to notice a broken selection, small enough to survive a vectors upgrade.
MIN_FILES = 700


def vectors_root() -> pathlib.Path:
    """The installed ``cryptography_vectors`` package folder (skip if not installed)."""
    vectors = pytest.importorskip("cryptography_vectors")
    return pathlib.Path(vectors.__file__).parent


def selected_files(root: pathlib.Path) -> list[pathlib.Path]:
    """Every file with a certificate/key extension under x509/ and asymmetric/, sorted."""
    return sorted(path for top in TOP_FOLDERS for path in (root / top).rglob("*")
                  if path.is_file() and path.suffix in EXTENSIONS)


def exercise(store: KeyStore) -> None:
    """Touch what a caller would: reprs, names, fingerprints, chains, keys, requests."""
    repr(store)
    for cert in store.certificates:
        for name in ("subject", "issuer", "san", "is_ca", "is_self_signed", "common_name",
                     "public_key_fingerprint", "key_algorithm", "serial_number", "not_after"):
            with contextlib.suppress(CertkitError):
                getattr(cert, name)
        cert.fingerprint()
    for entry in store.key_entries:
        _ = entry.chain.is_complete, entry.chain.missing_issuer
        _ = entry.private_key.algorithm, entry.private_key.public_key_fingerprint
    for request in store.requests:
        _ = request.subject
        with contextlib.suppress(CertkitError):
            _ = request.san, request.public_key_fingerprint


@attrs.define
class Survey:
    """What loading the whole selection gave."""

    files: int = 0
    loaded: int = 0
    rejected: collections.Counter[str] = attrs.field(factory=collections.Counter)
    escaped: list[str] = attrs.field(factory=list)
    seconds: float = 0.0

    def report(self) -> str:
        """The counts and grouped rejection reasons, one per line."""
        rejected = sum(self.rejected.values())
        lines = [(f"{self.files} files: {self.loaded} load, {rejected} rejected, "
                  f"{len(self.escaped)} escaped ({self.seconds:.1f}s)")]
        lines += [f"  {n:4d}  {reason}" for reason, n in self.rejected.most_common()]
        lines += [f"  ESCAPED {e}" for e in self.escaped]
        return "\n".join(lines)


_BLOCK = re.compile(r"^the ([A-Z0-9 ]+) block (?:at|on|that starts on) line \d+:? ?")
_DER = "not a DER certificate, private key or certificate request ("


def reason(err: CertkitError, path: pathlib.Path) -> str:
    """The error class, the PEM block it concerns and the first words of the cause."""
    message = str(err).replace(f"{path}: ", "")
    where = ""
    block = _BLOCK.match(message)
    if block:
        where, message = f"[{block.group(1)}] ", message[block.end():]
    elif message.startswith(_DER):
        where, message = "[DER: no cert/key/request] ", message[len(_DER):]
    message = message.removeprefix("not a readable private key: ")
    ignored = sorted(set(re.findall(r"ignored a ([A-Z0-9 ]+) block", message)))
    if ignored:  # "the PEM text holds no certificate…": say which blocks it did hold
        where = f"[only {', '.join(ignored)}] "
    return f"{type(err).__name__}: {where}{' '.join(message.split()[:7])}"


def survey(root: pathlib.Path) -> Survey:
    """Load every selected file without a password and classify the outcome."""
    result = Survey()
    start = time.perf_counter()
    for path in selected_files(root):
        result.files += 1
        try:
            exercise(certkit.load(path))
        except CertkitError as err:
            result.rejected[reason(err, path)] += 1
        except Exception as err:  # noqa: BLE001 - the point is to catch what escapes
            result.escaped.append(f"{path.relative_to(root)}: {type(err).__name__}: {err}")
        else:
            result.loaded += 1
    result.seconds = time.perf_counter() - start
    return result


@pytest.fixture(scope="module")
def vectors_survey() -> Survey:
    """The survey of the whole selection, taken once."""
    return survey(vectors_root())


class TestWholeCollection:
    def test_only_certkit_errors_escape(self, vectors_survey: Survey) -> None:
        """Every x509/ and asymmetric/ .pem/.der/.crt/.key file loads or raises a CertkitError.

        Selection: all files under ``x509/`` and ``asymmetric/`` whose extension is .pem,
        .der, .crt or .key (certificates, requests, CRLs in PEM, private and public keys,
        DH/DSA parameters, OCSP DER, OpenSSH keys in .pem…). Whatever is not a certificate,
        key or request must be rejected with a CertkitError; what loads must then answer
        the usual questions (names, fingerprints, chains) without a foreign exception.
        Encrypted keys are loaded without a password: PasswordError is a valid rejection.
        """
        assert not vectors_survey.escaped, vectors_survey.report()
        assert vectors_survey.files >= MIN_FILES, vectors_survey.report()

    def test_most_files_load(self, vectors_survey: Survey) -> None:
        """Most of the selection loads; the rest are public keys, CRLs, SSH keys and the like.

        The share is 75 % with cryptography-vectors 48 and 74.7 % with 50, which added
        more files certkit rightly rejects; 70 % leaves room for the collection to grow
        while still catching a codec that stops reading a whole class of files.
        """
        assert vectors_survey.loaded >= 0.70 * vectors_survey.files, vectors_survey.report()

    def test_encrypted_keys_ask_for_a_password(self, vectors_survey: Survey) -> None:
        """Encrypted keys loaded without a password are rejected as missing-password errors."""
        missing = sum(n for r, n in vectors_survey.rejected.items()
                      if r.startswith("PasswordError: the private key is encrypted"))
        assert missing >= 40, vectors_survey.report()


def _pkits_certs() -> Iterator[pathlib.Path]:
    yield from sorted((vectors_root() / "x509" / "PKITS_data" / "certs").glob("*.crt"))


class TestDocumentedContents:
    def test_pkits_certificates_load(self) -> None:
        """Every PKITS certificate (DER .crt) loads as one trusted entry named by its CN.

        The two whose DSA key inherits its parameters from the issuer (no parameters in the
        SPKI) are rejected, because cryptography cannot parse them; openssl can.
        """
        paths = list(_pkits_certs())
        assert len(paths) > 300
        inherited = {"DSAParametersInheritedCACert.crt", "ValidDSAParameterInheritanceTest5EE.crt"}
        for path in paths:
            if path.name in inherited:
                with pytest.raises(DecodeError, match=r"looks like an X\.509 certificate"):
                    certkit.load(path)
                continue
            store = certkit.load(path)
            assert store.format == "der", path
            (entry,) = store.trusted_entries
            assert entry.alias == (entry.certificate.common_name or "certificate")

    def test_chain_file(self) -> None:
        """cryptography.io.chain.pem holds two certificates, www.cryptography.io first."""
        store = certkit.load(vectors_root() / "x509" / "cryptography.io.chain.pem")
        assert len(store.certificates) == 2
        assert store.certificates[0].common_name == "www.cryptography.io"

    def test_old_x509_certificate_label(self) -> None:
        """The old 'X509 CERTIFICATE' block label loads."""
        store = certkit.load(vectors_root() / "x509" / "cryptography.io.old_header.pem")
        assert store.certificates[0].common_name == "www.cryptography.io"

    @pytest.mark.parametrize(("name", "line"), [("cryptography.io.with_garbage.pem", 3),
                                                ("cryptography.io.chain_with_garbage.pem", 67)])
    def test_bogus_key_block_is_not_skipped(self, name: str, line: int) -> None:
        """A PRIVATE KEY block holding garbage fails the load, naming its line once with the file.

        cryptography's own loader skips to the certificate; certkit never drops a key block
        silently, so the user learns the file holds a damaged key.
        """
        path = vectors_root() / "x509" / name
        with pytest.raises(DecodeError) as info:
            certkit.load(path)
        message = str(info.value)
        assert message.startswith(f"{path}: the PRIVATE KEY block at line {line}: ")
        assert message.count(str(path)) == 1

    def test_certificate_with_encrypted_key(self) -> None:
        """cryptography.io.with_headers.pem (cert + encrypted RSA key) needs a password."""
        with pytest.raises(PasswordError) as info:
            certkit.load(vectors_root() / "x509" / "cryptography.io.with_headers.pem")
        assert info.value.missing

    @pytest.mark.parametrize(("path", "password", "algorithm"), [
        ("PKCS8/enc-rsa-pkcs8.pem", b"foobar", "RSA-1024"),
        ("DER_Serialization/enc-rsa-pkcs8.der", b"foobar", "RSA-1024"),
        ("PKCS8/enc2-rsa-pkcs8.pem", b"baz", "RSA-1024"),
        ("PKCS8/ec_private_key_encrypted.pem", b"123456", "EC-P256"),
        ("PKCS8/enc-rsa-3des.pem", b"password", "RSA-2048"),
        ("PKCS8/pkcs12_s2k_pem-X_9607.pem", b"123456", "RSA-1024"),
        ("Traditional_OpenSSL_Serialization/key1.pem", b"123456", "RSA-2048"),
        ("Traditional_OpenSSL_Serialization/testrsa-encrypted.pem", b"password", "RSA-2048"),
        ("Ed25519/ed25519-pkcs8-enc.pem", b"password", "Ed25519"),
        ("PEM_Serialization/dsa_private_key.pem", b"123456", "DSA-2048"),
    ])
    def test_encrypted_keys_open(self, path: str, password: bytes, algorithm: str) -> None:
        """Encrypted vector keys open with the password cryptography's own tests use."""
        file = vectors_root() / "asymmetric" / path
        (entry,) = certkit.load(file, password=password).key_entries
        assert entry.private_key.algorithm == algorithm
        with pytest.raises(PasswordError):
            certkit.load(file, password=b"not " + password)

    @pytest.mark.parametrize("name", ["key1-malformed-dek-info.pem", "key1-no-dek-info.pem",
                                      "key1-short-iv.pem"])
    def test_malformed_dek_info_is_not_a_password_problem(self, name: str) -> None:
        """A broken DEK-Info header is reported as damage even with the right password."""
        file = vectors_root() / "asymmetric" / "Traditional_OpenSSL_Serialization" / name
        with pytest.raises(CertkitError, match="DEK-Info") as info:
            certkit.load(file, password=b"123456")
        assert not isinstance(info.value, PasswordError)


if __name__ == "__main__":  # pragma: no cover - a manual survey for release notes
    import sys

    sys.stdout.write(survey(vectors_root()).report() + "\n")
