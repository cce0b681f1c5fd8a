"""Fuzzing PEM, DER, PKCS#7 and Kubernetes Secrets: truncations and flips raise only CertkitError.

Seeds are valid files certkit and cryptography write; every prefix (at a stride) and a
sample of single-bit flips, new each run (conftest.FUZZ_SEED), is loaded. Whatever loads
must then describe itself (repr, names, fingerprints, chains) without a foreign exception
either.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
import yaml
from conftest import FUZZ_SEED, PKI, fuzz_random
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.errors import CertkitError

PASSWORD = "fuzz"
#: Per run; the flips change from run to run (conftest.FUZZ_SEED).
FLIPS = 200
PREFIXES = 120


def _indented(pem: bytes) -> bytes:
    return b"".join(b"    " + line + b"\n" for line in pem.splitlines())


def seeds(pki: PKI) -> dict[str, bytes]:
    """One valid input of each kind the three codecs read."""
    chain_store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain[:2])])
    certs = KeyStore([TrustedCertEntry(f"c{i}", c) for i, c in enumerate(pki.chain)])
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz")]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("fuzz.example")]),
                          critical=False)
           .sign(pki.leaf.key.key, hashes.SHA256()))  # type: ignore[arg-type]
    legacy = pki.leaf.key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PASSWORD.encode()))
    # X509_CERT_AUX as openssl -trustout writes it: trust OIDs (serverAuth) and an alias.
    aux = bytes.fromhex("3011300a06082b06010505070301") + b"\x0c\x03foo"
    aux = b"\x30" + bytes([len(aux) - 2]) + aux[2:]
    body = base64.encodebytes(pki.root.certificate.der + aux)
    trusted = (b"-----BEGIN TRUSTED CERTIFICATE-----\n" + body
               + b"-----END TRUSTED CERTIFICATE-----\n")
    return {
        "pem-bundle": certkit.dump(chain_store, "pem"),
        "pem-bags": certkit.dump(chain_store, "pem", bag_attributes=True),
        "pem-encrypted-pkcs8": certkit.dump(chain_store, "pem", password=PASSWORD),
        "pem-legacy-encrypted": legacy,
        "pem-request": csr.public_bytes(serialization.Encoding.PEM),
        "pem-trusted": trusted,
        "der-certificate": pki.leaf.certificate.der,
        "der-key": pki.leaf.key.pkcs8,
        "der-encrypted-key": certkit.dump(KeyStore([KeyEntry("k", pki.leaf.key)]), "der",
                                          password=PASSWORD),
        "der-request": csr.public_bytes(serialization.Encoding.DER),
        "pkcs7-der": certkit.dump(certs, "pkcs7"),
        "pkcs7-pem": certkit.dump(certs, "pkcs7", encoding="pem"),
        "kubernetes-yaml": certkit.dump(chain_store, "kubernetes"),
        "kubernetes-json": json.dumps(yaml.safe_load(certkit.dump(chain_store, "kubernetes")),
                                      indent=4).encode(),
        "kubernetes-stringdata": (
            b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\nstringData:\n  tls.crt: |\n"
            + _indented(pki.leaf.certificate.to_pem()) + b"  tls.key: |\n"
            + _indented(pki.leaf.key.to_pem())),
    }


def describe(store: KeyStore) -> None:
    """Use a loaded store the way a caller would."""
    repr(store)
    for cert in store.certificates:
        for name in ("subject", "issuer", "san", "is_ca", "is_self_signed", "common_name",
                     "public_key_fingerprint", "key_algorithm", "not_after"):
            with contextlib.suppress(CertkitError):
                getattr(cert, name)
    for entry in store.key_entries:
        _ = entry.chain.is_complete, entry.chain.missing_issuer
    for request in store.requests:
        _ = request.subject
        with contextlib.suppress(CertkitError):
            _ = request.san, request.public_key_fingerprint


def mutations(data: bytes, seed: str) -> list[bytes]:
    """Prefixes at an even stride plus the run's single-bit flips."""
    rng = fuzz_random(seed)
    stride = max(1, len(data) // PREFIXES)
    cases = [data[:n] for n in range(0, len(data), stride)]
    for _ in range(FLIPS):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        cases.append(bytes(flipped))
    return cases


SEED_NAMES = ["pem-bundle", "pem-bags", "pem-encrypted-pkcs8", "pem-legacy-encrypted",
              "pem-request", "pem-trusted", "der-certificate", "der-key", "der-encrypted-key",
              "der-request", "pkcs7-der", "pkcs7-pem", "kubernetes-yaml", "kubernetes-json",
              "kubernetes-stringdata"]


class TestMutatedInputs:
    @pytest.fixture(scope="class")
    @staticmethod
    def inputs(pki: PKI) -> dict[str, bytes]:
        """The seed files, built once."""
        return seeds(pki)

    def test_seeds_are_valid(self, inputs: dict[str, bytes]) -> None:
        """Every unmutated seed loads (so the mutations start from real files)."""
        assert sorted(inputs) == sorted(SEED_NAMES)
        for data in inputs.values():
            describe(certkit.load(data, password=PASSWORD))
        assert certkit.load(inputs["pem-trusted"]).aliases == ("foo",)

    @pytest.mark.parametrize("name", SEED_NAMES)
    def test_only_certkit_errors(self, inputs: dict[str, bytes], name: str) -> None:
        """Truncated or bit-flipped input loads or raises a CertkitError, nothing else."""
        escaped: list[str] = []
        for index, data in enumerate(mutations(inputs[name], name)):
            try:
                describe(certkit.load(data, password=PASSWORD))
            except CertkitError:  # noqa: PERF203 - the exception path is what is measured
                pass
            except Exception as err:  # noqa: BLE001 - collecting what escapes is the test
                escaped.append(f"case {index}: {type(err).__name__}: {err}")
        assert not escaped, f"CERTKIT_FUZZ_SEED={FUZZ_SEED}\n" + "\n".join(escaped[:20])

    def test_truncated_file_names_the_file(self, inputs: dict[str, bytes],
                                           tmp_path: pytest.TempPathFactory) -> None:
        """A half-written file of each kind fails with the file's path in the message."""
        for name, data in inputs.items():
            path = tmp_path / f"{name}.bin"  # type: ignore[operator]
            path.write_bytes(data[: len(data) // 2])
            with pytest.raises(CertkitError) as info:
                certkit.load(path, password=PASSWORD)
            assert str(path) in str(info.value), name
