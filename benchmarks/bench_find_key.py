"""How long finding a certificate's key takes among N candidates: indexed vs pairwise.

The pool is EC-P256 and Ed25519 keys (half each) plus one RSA-2048 key, the one that
matches: generating 10,000 RSA keys would take minutes and measure key generation, not
search. "indexed" is ``KeyIndex`` (one SPKI derivation per key, then a dict lookup);
"pairwise" is ``key.matches(cert)`` for each candidate in turn, what a naive loop does.
Run ``python benchmarks/bench_find_key.py`` (``--quick`` for N=1,000 only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from certkit import Certificate, KeyIndex, PrivateKey


def _pool(size: int) -> tuple[list[PrivateKey], PrivateKey, Certificate]:
    """``size`` keys with the matching RSA key at a random position, and its certificate."""
    keys: list[PrivateKey] = [
        PrivateKey(ec.generate_private_key(ec.SECP256R1()) if i % 2
                   else ed25519.Ed25519PrivateKey.generate())
        for i in range(size - 1)
    ]
    target = PrivateKey(rsa.generate_private_key(65537, 2048))
    keys.insert(random.randrange(size), target)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "needle.example")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(target.key.public_key()).serial_number(1)  # type: ignore[arg-type]
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .sign(target.key, hashes.SHA256()))  # type: ignore[arg-type]
    return keys, target, Certificate.from_x509(cert)


def _best(runs: int, action: object) -> float:
    """The fastest of ``runs`` timings of ``action()``, in seconds."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a table of find-key timings; return 0 when the indexed search found the key."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=1,000 only, one run")
    args = parser.parse_args(argv)
    sizes = (1000,) if args.quick else (1000, 10000)
    runs = 1 if args.quick else 3
    print("find_key: the one matching key among N candidates (EC-P256/Ed25519 pool, RSA target)")
    print(f"{'N':>7} {'index build':>12} {'lookup':>9} {'pairwise scan':>14} "
          f"{'per key':>9} {'per pair':>9} {'100 certs: indexed':>19} {'pairwise (est.)':>16}")
    ok = True
    for size in sizes:
        keys, target, cert = _pool(size)
        holder: dict[str, KeyIndex] = {}

        def build(keys: list[PrivateKey] = keys, holder: dict[str, KeyIndex] = holder) -> None:
            holder["index"] = KeyIndex(keys)

        def pairwise(keys: list[PrivateKey] = keys, cert: Certificate = cert) -> None:
            # Every candidate is compared (as a search for all copies of the key must).
            [k for k in keys if k.matches(cert)]

        build_time = _best(runs, build)
        index = holder["index"]
        lookup_time = _best(runs, lambda index=index, cert=cert: index.find(cert))
        pair_time = _best(runs, pairwise)
        ok = ok and index.find(cert) == target
        print(f"{size:>7} {build_time * 1e3:>10.1f}ms {lookup_time * 1e6:>7.1f}µs "
              f"{pair_time * 1e3:>12.1f}ms {build_time / size * 1e6:>7.2f}µs "
              f"{pair_time / size * 1e6:>7.2f}µs {(build_time + 100 * lookup_time) * 1e3:>17.1f}ms"
              f" {100 * pair_time * 1e3:>14.0f}ms")
    print("indexed: one public-key derivation per key, then a dict access per certificate; "
          "pairwise: one comparison per (key, certificate) pair, so M certificates cost M scans.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
