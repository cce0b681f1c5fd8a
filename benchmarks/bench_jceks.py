"""JCEKS key derivation and decryption at keytool's 200,000 iterations: certkit beside pyjks.

Run ``python benchmarks/bench_jceks.py`` (or ``--quick`` for fewer repeats). Both libraries
run in the same process on the same inputs; the table shows medians and the ratio
certkit/pyjks, which must be at most 1.0 (issue 16: certkit's pure-Python derivation over
hashlib stays at or below pyjks's). The exit status is 0 when every ratio meets the target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence

ITERATIONS = 200_000
TARGET = 1.0
PASSWORD = "changeit"


def _medians(ours: Callable[[], object], theirs: Callable[[], object],
             repeats: int) -> tuple[float, float]:
    """Median wall time of each function, interleaved so that machine load hits both alike."""
    mine: list[float] = []
    other: list[float] = []
    for _ in range(repeats):
        for function, times in ((ours, mine), (theirs, other)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(other)


def _sample_store() -> bytes:
    """A JCEKS with one RSA-2048 key entry and one AES secret key at 200,000 iterations."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    import certkit

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(when).not_valid_after(when + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    store = certkit.KeyStore([
        certkit.KeyEntry("server", certkit.PrivateKey(key),
                         [certkit.Certificate.from_x509(cert)], created=when),
        certkit.SecretKeyEntry("aes", "AES", os.urandom(16), created=when),
    ])
    return certkit.dump(store, "jceks", password=PASSWORD, iterations=ITERATIONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, return 0 when certkit meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jks
        from jks import sun_crypto

    import certkit
    from certkit._crypto import javakeys as _javakeys

    salt = os.urandom(8)
    data = _sample_store()
    for name, result in (("certkit", certkit.load(data, password=PASSWORD)),
                         ("pyjks", jks.KeyStore.loads(data, PASSWORD))):
        assert len(result.entries) == 2, name  # both really decrypt both entries

    assert _javakeys.derive_jce_key(PASSWORD.encode(), salt, 1000) == \
        sun_crypto._jce_pbe_derive_key_and_iv(PASSWORD, salt, 1000)  # pyjks's own KDF
    rows = [
        ("key derivation (1 key, 200k iterations)",
         lambda: _javakeys.derive_jce_key(PASSWORD.encode(), salt, ITERATIONS),
         lambda: sun_crypto._jce_pbe_derive_key_and_iv(PASSWORD, salt, ITERATIONS)),
        ("load + decrypt JCEKS (RSA key + AES key)",
         lambda: certkit.load(data, password=PASSWORD),
         lambda: jks.KeyStore.loads(data, PASSWORD)),
    ]
    print(f"JCEKS PBEWithMD5AndTripleDES at {ITERATIONS:,} iterations, median of {repeats} runs")
    print(f"{'operation':<44} {'certkit':>10} {'pyjks':>10} {'ratio':>7}  target <= {TARGET}")
    ok = True
    for label, ours, theirs in rows:
        mine, other = _medians(ours, theirs, repeats)
        ratio = mine / other
        ok = ok and ratio <= TARGET
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"{label:<44} {mine:>9.3f}s {other:>9.3f}s {ratio:>7.2f}  {verdict} "
              f"({other / mine:.1f}x faster)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
