"""Truncated and bit-flipped keystores raise only CertkitError subclasses from the codec itself.

The codec objects are called directly (not through ``certkit.load``, whose last-resort
translation of stray exceptions would hide a leak). Every keystore of the pyjks corpus is
damaged, plus low-iteration JKS/JCEKS stores written by certkit (keytool's 200,000
iterations would make each attempt slow without testing anything more).
"""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
from conftest import CORPUS, PKI, corpus_path, fuzz_random

import certkit
from certkit import Chain, KeyEntry, KeyStore, SecretKeyEntry, TrustedCertEntry
from certkit.errors import CertkitError
from certkit.formats import LoadOptions
from certkit.formats.jks import BKS, JCEKS, JKS, JavaKeyStoreCodec

PASSWORDS = {"empty": "", "truststore": None, "custom_entry_passwords": "store_password",
             "non_ascii_password": "\u10da\u0028\u0ca0\u76ca\u0ca0\u10da\u0029"}
KEY_PASSWORDS = {"private": "private_password", "secret": "secret_password",
                 "sealed_private_key": "private_password",
                 "sealed_public_key": "public_password", "sealed_secret_key": "secret_password"}
CODECS = {"jks": JKS, "jceks": JCEKS, "bks": BKS, "uber": BKS}
#: Per run; the samples change from run to run (conftest.FUZZ_SEED).
TRUNCATIONS = 32
FLIPS = 100


def corpus_files() -> list[pathlib.Path]:
    """Every keystore of the pyjks corpus (empty when the corpus is absent)."""
    folder = CORPUS / "pyjks" / "keystores"
    return sorted(p for p in folder.glob("*/*") if p.is_file())


def damaged(data: bytes, name: str) -> list[bytes]:
    """Sampled truncations and single-byte flips of ``data``, the run's for ``name``."""
    rng = fuzz_random(name)
    cuts = sorted({0, 1, 4, 11, 12, len(data) - 1, len(data) - 20,
                   *(rng.randrange(len(data)) for _ in range(TRUNCATIONS))})
    out = [data[:cut] for cut in cuts if 0 <= cut < len(data)]
    for _ in range(FLIPS):
        position = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[position] ^= rng.choice((0x01, 0x80, 0xFF, rng.randrange(1, 256)))
        out.append(bytes(flipped))
    return out


def attempt(codec: JavaKeyStoreCodec | object, data: bytes, password: str | None) -> None:
    """Load damaged data, unlock what loaded locked, and let only CertkitError escape."""
    options = LoadOptions(password=password, key_passwords=KEY_PASSWORDS)
    try:
        store = codec.load(data, options)  # type: ignore[attr-defined]
        for entry in store.key_entries:
            if entry.is_locked:
                entry.unlock(password)
    except CertkitError:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_damage(path: pathlib.Path) -> None:
    """Damaged copies of each corpus keystore fail, if at all, with a CertkitError."""
    corpus_path("pyjks")  # skip visibly (or fail in CI) without the corpus
    data = path.read_bytes()
    password = PASSWORDS.get(path.name.split(".")[0], "12345678")
    codec = CODECS[path.parent.name]
    for index, sample in enumerate(damaged(data, f"{path.parent.name}/{path.name}")):
        attempt(codec, sample, password)
        if codec is not BKS and index % 3 == 0:
            attempt(codec, sample, None)  # no integrity check: the parser sees the damage


def test_corpus_present() -> None:
    """The corpus-driven fuzz cases above are not silently empty."""
    corpus_path("pyjks", "keystores")
    assert len(corpus_files()) == 33


@pytest.fixture(scope="module")
def written(pki: PKI) -> dict[str, bytes]:
    """Low-iteration JKS and JCEKS stores written by certkit, with every entry type."""
    created = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    base = [KeyEntry("tomcat", pki.leaf.key, Chain(pki.chain), created=created),
            TrustedCertEntry("root", pki.root.certificate, created=created)]
    with_secret = KeyStore([*base, SecretKeyEntry("aes", "AES", bytes(16), created=created)])
    return {
        "jks": certkit.dump(KeyStore(base), "jks", password="pw"),
        "jks-locked": certkit.dump(KeyStore(base), "jks", password="pw", key_password="other"),
        "jceks": certkit.dump(with_secret, "jceks", password="pw", iterations=3),
    }


@pytest.mark.parametrize("name", ["jks", "jks-locked", "jceks"])
def test_written_damage(written: dict[str, bytes], name: str) -> None:
    """Damaged copies of certkit's own output fail, if at all, with a CertkitError."""
    data = written[name]
    codec = JCEKS if name == "jceks" else JKS
    for sample in damaged(data, name):
        attempt(codec, sample, "pw")
        attempt(codec, sample, None)


@pytest.mark.slow
def test_every_flip_of_a_small_store(written: dict[str, bytes]) -> None:
    """Exhaustively: every single-byte flip of the byte of a JCEKS, no integrity check."""
    data = written["jceks"]
    for position in range(len(data)):
        flipped = bytearray(data)
        flipped[position] ^= 0xFF
        attempt(JCEKS, bytes(flipped), None)
