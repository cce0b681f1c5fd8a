"""``certkit.scan`` over a generated tree: files per second and peak memory.

The tree has N files (10,000; ``--quick``: 1,000) in folders of 100: 20 % certificates
(PEM and DER, issued by one intermediate), 10 % private keys, 70 % junk (binary noise
and text). Certificates and keys are real but cheap: 50 distinct EC-P256 keys are made,
and every certificate is a fresh signature over one of them, so the scan pairs each key
file with many certificates (what a backup tree of renewals looks like). Each scan runs
in a fresh Python process: the wall time is measured inside it (imports excluded), the
peak memory is the child's own high-water mark (VmHWM), shown beside a child that only
imports certkit and cryptography, so the difference is what the scan itself holds. The
exit status is 0 when the scan found every key and certificate it should.
Run ``python benchmarks/bench_scan.py`` (``--quick`` for 1,000 files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_CHILD = """
import json, resource, sys, time

def peak_kib():
    # VmHWM is this process's own high-water mark; ru_maxrss survives exec on Linux and
    # would report the (larger) benchmark process that started this one.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import certkit, cryptography.x509
from certkit._ops.scan import scan
if sys.argv[1] == "-":
    print(json.dumps({"rss_kib": peak_kib()}))
    raise SystemExit
started = time.perf_counter()
report = scan(sys.argv[1], trust_system=False)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "files": report.files_seen,
                  "certificates": len(report.certificates), "keys": len(report.keys),
                  "paired": len(report.pairs), "orphans": len(report.orphaned_keys),
                  "rss_kib": peak_kib()}))
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _generate(root: pathlib.Path, count: int) -> tuple[int, int]:
    """Write ``count`` files below ``root``; return (certificates, keys) written."""
    rng = random.Random(7)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Bench Intermediate CA")
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(50)]
    certificates = written_keys = 0
    for index in range(count):
        folder = root / f"d{index // 100:03}"
        if index % 100 == 0:
            folder.mkdir(parents=True)
        kind = index % 10
        if kind in (0, 1):
            key = keys[(index // 10) % len(keys)]
            cert = (x509.CertificateBuilder().subject_name(_name(f"host{index}.bench.test"))
                    .issuer_name(ca_name).public_key(key.public_key())
                    .serial_number(index + 1).not_valid_before(start)
                    .not_valid_after(start + dt.timedelta(days=3650))
                    .sign(ca_key, hashes.SHA256()))
            encoding = serialization.Encoding.PEM if kind == 0 else serialization.Encoding.DER
            (folder / f"f{index}.{'pem' if kind == 0 else 'cer'}").write_bytes(
                cert.public_bytes(encoding))
            certificates += 1
        elif kind == 2:
            key = keys[(index // 10) % len(keys)]
            (folder / f"f{index}.key").write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            written_keys += 1
        elif kind < 6:
            (folder / f"f{index}.bin").write_bytes(rng.randbytes(rng.randrange(200, 8000)))
        else:
            (folder / f"f{index}.log").write_bytes(f"log line {index}\n".encode() * 50)
    return certificates, written_keys


def _child(path: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", _CHILD, path], capture_output=True,
                            text=True, check=True)
    data: dict[str, float] = json.loads(result.stdout)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the tree, scan it in a child process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 files instead of 10,000")
    args = parser.parse_args(argv)
    count = 1000 if args.quick else 10000
    with tempfile.TemporaryDirectory(prefix="certkit-bench-scan-") as tmp:
        root = pathlib.Path(tmp)
        certificates, keys = _generate(root, count)
        baseline = _child("-")
        runs = [_child(tmp) for _ in range(1 if args.quick else 3)]
    best = min(runs, key=lambda r: r["seconds"])
    print(f"scan: {count} files ({certificates} certificates from 50 EC-P256 keys, {keys} key "
          f"files, {count - certificates - keys} junk), best of {len(runs)}, fresh process")
    print(f"{'files':>7} {'seconds':>8} {'files/s':>8} {'certs':>6} {'keys':>5} {'paired':>7} "
          f"{'peak RSS':>9} {'imports only':>13} {'scan adds':>10}")
    rss, base = best["rss_kib"] / 1024, baseline["rss_kib"] / 1024
    print(f"{best['files']:>7.0f} {best['seconds']:>8.2f} {best['files'] / best['seconds']:>8.0f} "
          f"{best['certificates']:>6.0f} {best['keys']:>5.0f} {best['paired']:>7.0f} "
          f"{rss:>7.1f} M {base:>11.1f} M {rss - base:>8.1f} M")
    ok = (best["certificates"] == certificates and best["keys"] == keys
          and best["paired"] == certificates and best["orphans"] == 0)
    if not ok:
        print("the scan did not find every certificate and key it should have")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
