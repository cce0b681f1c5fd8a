"""Write the fuzzing seed corpus: small files of every format, made by certkit itself.

    python fuzz/make_seeds.py OUT_DIR

OUT_DIR/<target>/ gets the seeds of each fuzz target (``pem``, ``der``, ``pkcs7``,
``pkcs12``, ``jks``, ``jceks``, ``bks``, ``any``): a CA and a leaf with EC P-256 keys in
every writable format and PKCS#12 profile, a secret key where the format holds one, all
under fuzz_certkit.py's password with one iteration so that runs stay fast; the crafted
files of tests/hostile.py; and, when ../shared/corpus exists (the team's interop corpus),
pyjks's small BKS and UBER stores, which certkit cannot write.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import sys
from collections.abc import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import certkit

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus" / "pyjks" / "keystores"
PASSWORD = "12345678"  # noqa: S105 - the fuzz targets' password
_START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def _certificate(name: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey,
                 *, ca: bool) -> bytes:
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz CA")]))
            .public_key(key.public_key()).serial_number(1 if ca else 2)
            .not_valid_before(_START).not_valid_after(_START + dt.timedelta(days=36500))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def _seeds() -> Iterator[tuple[str, str, bytes]]:
    """(target, file name, bytes) for every seed certkit can write."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    pem = (_certificate("fuzz.example", leaf_key, ca_key, ca=False)
           + _certificate("Fuzz CA", ca_key, ca_key, ca=True) + key_pem)
    store = certkit.load(pem)
    secret = certkit.SecretKeyEntry(alias="aes", algorithm="AES", key=bytes(range(16)))
    with_secret = certkit.KeyStore(entries=(*store.entries, secret))
    yield "pem", "chain-and-key.pem", pem
    yield "pem", "encrypted.pem", certkit.dump(store, "pem", password=PASSWORD,
                                               bag_attributes=True)
    yield "der", "leaf.der", certkit.dump(store, "der", content="certificate",
                                             allow_loss=True)
    yield "der", "key.der", certkit.dump(store, "der", content="key", allow_loss=True)
    yield "pkcs7", "chain.p7b", certkit.dump(store, "pkcs7", allow_loss=True)
    for profile in ("modern", "legacy", "pbmac1"):
        yield "pkcs12", f"{profile}.p12", certkit.dump(with_secret, "pkcs12", password=PASSWORD,
                                                       profile=profile, iterations=1)
    yield "pkcs12", "plain.p12", certkit.dump(store, "pkcs12", password=PASSWORD, iterations=1,
                                              encrypt_keys=False, encrypt_certificates=False)
    yield "kubernetes", "secret.yaml", certkit.dump(store, "kubernetes")
    yield "jks", "store.jks", certkit.dump(store, "jks", password=PASSWORD)
    yield "jceks", "store.jceks", certkit.dump(with_secret, "jceks", password=PASSWORD,
                                               iterations=1)


def _hostile() -> Iterator[tuple[str, str, bytes]]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    import hostile  # noqa: PLC0415 - the test helpers, found beside fuzz/

    for name, make in hostile.HOSTILE.items():
        data, _ = make()
        yield name.split("-")[0], f"{name}.bin", data


def main() -> None:
    """Write the seeds into the folder named on the command line."""
    out = pathlib.Path(sys.argv[1])
    seeds = [*_seeds(), *_hostile()]
    if CORPUS.is_dir():
        for folder in ("bks", "uber"):
            seeds += [("bks", path.name, path.read_bytes())
                      for path in sorted((CORPUS / folder).iterdir()) if path.is_file()]
        seeds += [("jceks", p.name, p.read_bytes()) for p in sorted((CORPUS / "jceks").iterdir())
                  if p.stat().st_size < 4096]
    shutil.rmtree(out, ignore_errors=True)
    for target, name, data in seeds:
        for folder in (target, "any"):
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / folder / name).write_bytes(data)
    print(f"{len(seeds)} seeds in {out}")  # noqa: T201 - a command-line script


if __name__ == "__main__":
    main()
