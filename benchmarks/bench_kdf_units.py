"""What one unit of the work budget costs: every password-based derivation certkit runs.

Run ``python benchmarks/bench_kdf_units.py`` (``--quick`` for shorter runs). For each
derivation a file can ask for, the table shows nanoseconds per budget unit (iterations x
derived blocks, SHA-384/512 blocks counted twice; see certkit/_crypto/budget.py) and how
long the default per-file budget lasts at that rate. The default must last about a second
at the slowest rate, so that a hostile file's ``load`` ends within 3 s on a loaded machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence


def _rows(iterations: int) -> list[tuple[str, int, Callable[[], object]]]:
    from certkit._crypto import javakeys, pbe

    pw = b"\x00p\x00w\x00\x00"
    return [
        ("PKCS#12 KDF SHA-1, 20 bytes (pure Python)", iterations,
         lambda: pbe._pkcs12_kdf_python("sha1", pw, b"s" * 8, 3, iterations, 20)),
        ("PKCS#12 KDF SHA-256, 32 bytes (pure Python)", iterations,
         lambda: pbe._pkcs12_kdf_python("sha256", pw, b"s" * 8, 3, iterations, 32)),
        ("PKCS#12 KDF SHA-512, 64 bytes (pure Python)", 2 * iterations,
         lambda: pbe._pkcs12_kdf_python("sha512", pw, b"s" * 8, 3, iterations, 64)),
        ("PBKDF2-HMAC-SHA1, 20 bytes (cryptography)", iterations,
         lambda: pbe._pbkdf2(b"pw", b"s" * 8, iterations, 20, "sha1")),
        ("PBKDF2-HMAC-SHA256, 32 bytes (cryptography)", iterations,
         lambda: pbe._pbkdf2(b"pw", b"s" * 8, iterations, 32, "sha256")),
        ("PBKDF2-HMAC-SHA512, 64 bytes (cryptography)", 2 * iterations,
         lambda: pbe._pbkdf2(b"pw", b"s" * 8, iterations, 64, "sha512")),
        ("JCE PBEWithMD5AndTripleDES (two MD5 chains)", 2 * iterations,
         lambda: javakeys.derive_jce_key(b"pw", b"12345678", iterations)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table; always succeeds (the figures are for docs/untrusted-input.md)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 iterations, not 1,000,000")
    args = parser.parse_args(argv)
    from certkit._crypto.budget import DEFAULT_MAX_WORK

    iterations = 100_000 if args.quick else 1_000_000
    print(f"{'derivation':48} {'ns/unit':>8} {'default budget lasts':>21}")
    for name, units, run in _rows(iterations):
        start = time.perf_counter()
        run()
        per_unit = (time.perf_counter() - start) / units
        print(f"{name:48} {per_unit * 1e9:8.0f} {per_unit * DEFAULT_MAX_WORK:20.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
