"""Loading N certificates that all share one name, and the memory a big PEM bundle costs.

Issue 12: every certificate of a PEM bundle becomes an entry whose alias is its common
name made unique (``name``, ``name-2``, ``name-3``…). Counting up from 2 again for each
certificate made N certificates under one name cost O(N²): 20,000 took 43 s. The table
loads a bundle of N and 4N certificates with the same subject (one Ed25519 key, distinct
serials) with ``certkit.load`` and shows the time per certificate: linear work keeps it
flat, so 4x the certificates take about 4x the time (target: at most 6x), not 16x.

The memory part feeds the larger bundle to the PEM block splitter alone under
``tracemalloc`` and reports its peak as a multiple of the file's size, then the same for
one file holding a single giant block (a block costs about twice its own size while it is
decoded). Run ``python benchmarks/bench_aliases.py`` (``--quick``: N = 1,000); the exit
status is 0 when the target is met.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import os
import time
import tracemalloc
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

import certkit
from certkit._crypto.pem import pem_blocks

#: 4x the certificates may cost at most this many times the time.
TARGET_RATIO = 6.0


def _bundle(count: int) -> bytes:
    """``count`` self-signed certificates, all named CN=same.example, as one PEM text."""
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "same.example")])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    parts = []
    for index in range(count):
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(index + 1)
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
                .sign(key, None))
        parts.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(parts)


def _load_time(data: bytes, count: int, runs: int) -> float:
    """The best of ``runs`` loads (the machine is shared: the minimum is the least noisy)."""
    times = []
    for _ in range(runs):
        gc.collect()  # the previous run's store is not this run's garbage to collect
        started = time.perf_counter()
        store = certkit.load(data)
        times.append(time.perf_counter() - started)
        assert len(store) == count
        assert store.entries[-1].alias == f"same.example-{count}"
    return min(times)


def _splitter_peak(data: bytes) -> float:
    """Peak bytes the splitter allocates over ``data`` (already in memory), per file byte."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in pem_blocks(data):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / len(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Time the loads, measure the splitter, print both; 0 when the target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000, two runs")
    args = parser.parse_args(argv)
    small = 1000 if args.quick else 5000
    runs = 2 if args.quick else 5
    certkit.load(_bundle(10))  # imports and lazy set-up, outside the timings
    rows = []
    bundles = {}
    for count in (small, 4 * small):
        bundles[count] = _bundle(count)
        rows.append((count, len(bundles[count]), _load_time(bundles[count], count, runs)))
    print(f"aliases: N certificates named CN=same.example in one PEM bundle, certkit.load; "
          f"{'quick run, ' if args.quick else ''}best of {runs}")
    print(f"{'N':>7} {'bundle':>9} {'load':>9} {'per certificate':>16}")
    for count, size, seconds in rows:
        print(f"{count:>7,} {size / 1e6:>7.1f} MB {seconds:>7.2f} s "
              f"{seconds / count * 1e6:>13.0f} µs")
    ratio = rows[1][2] / rows[0][2]
    met = ratio <= TARGET_RATIO
    print(f"4x the certificates: {ratio:.1f}x the time  target <= {TARGET_RATIO:g}x "
          f"(quadratic would be 16x)  {'met' if met else 'MISSED'}")

    bundle = bundles[4 * small]
    one_block = (b"-----BEGIN CERTIFICATE-----\n"
                 + base64.encodebytes(os.urandom(len(bundle) * 3 // 4))
                 + b"-----END CERTIFICATE-----\n")
    print(f"PEM splitter peak (tracemalloc) as a multiple of the file: "
          f"{4 * small:,}-block bundle of {len(bundle) / 1e6:.1f} MB: "
          f"{_splitter_peak(bundle):.2f}x; one {len(one_block) / 1e6:.1f} MB block: "
          f"{_splitter_peak(one_block):.2f}x")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
