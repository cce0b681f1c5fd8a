"""Pairing N private keys with N certificates: certkit's ``pair_keys`` beside pairwise loops.

Workload 5 of issue 7. N distinct keys (half EC P-256, half Ed25519: generating 10,000
RSA keys would take minutes and measure key generation) and one certificate per key,
issued by one Ed25519 CA; the keys are shuffled, so no pair sits at the same position.
The keys and certificates are model objects already in memory (``PrivateKey``,
``Certificate``): what is measured is the pairing, not reading files. Compared:

* certkit: ``pair_keys(keys, certificates)``, which files each key under the SHA-256 of
  its SubjectPublicKeyInfo once, then looks each certificate up;
* pairwise ``matches``: ``[k for k in keys if k.matches(cert)]`` for every certificate,
  the loop the model invites (both public keys are re-encoded for every pair);
* pairwise SPKI bytes: what a careful script writes: every key's and certificate's SPKI
  DER computed once, then ``==`` for every (key, certificate) pair.

Both loops compare every pair (a loop that stops at the first match does half on
average). N x N pairs are too many to run at N = 10,000 (10^8), so each loop runs for a
sample of the certificates (evenly spaced) against all N keys, and its time per
certificate is multiplied by N (plus, for the SPKI loop, the one-off encoding of every
key and certificate, measured in full); the table says so. Per pair is the time to pair one
certificate with its key: for certkit it must stay flat as N grows (target: at most 1.5x
from the smallest N to the largest). The tools are interleaved, rotating order, and
medians of the repeats are shown. Run ``python benchmarks/bench_pairing.py``
(``--quick``: N = 300 and 3,000); the exit status is 0 when every certificate got its
key and the target is met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from certkit import Certificate, PrivateKey, pair_keys

TARGET_SCALING = 1.5


def _material(count: int) -> tuple[list[PrivateKey], list[Certificate]]:
    """``count`` keys and their certificates, in the same order."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Pairing CA")])
    keys: list[PrivateKey] = []
    certificates: list[Certificate] = []
    for index in range(count):
        private = (ec.generate_private_key(ec.SECP256R1()) if index % 2
                   else ed25519.Ed25519PrivateKey.generate())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"host{index}.bench.test")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name)
                .public_key(private.public_key()).serial_number(index + 1)
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
                .sign(ca_key, None))
        keys.append(PrivateKey(private))
        certificates.append(Certificate.from_x509(cert))
    return keys, certificates


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def _total(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pairings, print the table, return 0 when every pair was found and flat."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 300 and 3,000, one repeat")
    args = parser.parse_args(argv)
    sizes = (300, 3000) if args.quick else (1000, 10000)
    runs = 1 if args.quick else 3
    sample_matches = 5 if args.quick else 20
    sample_spki = 100 if args.quick else 500
    started = time.perf_counter()
    all_keys, all_certs = _material(max(sizes))
    generated = time.perf_counter() - started
    rng = random.Random(5)
    ok = True
    rows = []
    for size in sizes:
        certs = all_certs[:size]
        expected = {cert.der: key.pkcs8 for cert, key in zip(certs, all_keys, strict=False)}
        keys = all_keys[:size]
        rng.shuffle(keys)
        step_m = max(1, size // sample_matches)
        step_s = max(1, size // sample_spki)
        sample_m, sample_s = certs[::step_m], certs[::step_s]

        def certkit(keys: list[PrivateKey] = keys,
                    certs: list[Certificate] = certs) -> object:
            return pair_keys(keys, certs)

        def matches(keys: list[PrivateKey] = keys,
                    sample: list[Certificate] = sample_m) -> object:
            return [[k for k in keys if k.matches(cert)] for cert in sample]

        def encode(keys: list[PrivateKey] = keys,
                   certs: list[Certificate] = certs) -> object:
            return [k.spki for k in keys], [c.spki for c in certs]

        holder: dict[str, list[bytes]] = {}

        def compare(holder: dict[str, list[bytes]] = holder) -> object:
            key_spkis = holder["keys"]
            return [[i for i, spki in enumerate(key_spkis) if spki == wanted]
                    for wanted in holder["sample"]]

        times: dict[str, list[float]] = {"certkit": [], "matches": [], "encode": [],
                                         "compare": []}
        order = list(times)
        for _ in range(runs):
            for name in order:
                if name == "certkit":
                    seconds, result = _timed(certkit)
                    pairs = result
                    ok = ok and all(  # type: ignore[attr-defined]
                        key is not None and expected[cert.der] == key.pkcs8
                        for cert, key in pairs)  # type: ignore[attr-defined]
                elif name == "matches":
                    seconds, result = _timed(matches)
                    ok = ok and all(len(found) == 1 for found in result)  # type: ignore[attr-defined]
                elif name == "encode":
                    seconds, result = _timed(encode)
                    key_spkis, cert_spkis = result  # type: ignore[misc]
                    holder["keys"] = key_spkis
                    holder["sample"] = cert_spkis[::step_s]
                else:
                    seconds, result = _timed(compare)
                    ok = ok and all(len(found) == 1 for found in result)  # type: ignore[attr-defined]
                times[name].append(seconds)
            order.append(order.pop(0))
        median = {name: statistics.median(values) for name, values in times.items()}
        per_cert_matches = median["matches"] / len(sample_m)
        per_cert_compare = median["compare"] / len(sample_s)
        rows.append((size, median["certkit"], per_cert_matches * size,
                     median["encode"] + per_cert_compare * size, len(sample_m), len(sample_s)))

    print(f"pairing: N keys (half EC P-256, half Ed25519, shuffled) with their N certificates, "
          f"in memory; {'quick run, ' if args.quick else ''}medians of {runs}, tools "
          f"interleaved; material generated in {generated:.1f} s; the machine was shared")
    print(f"{'N':>7} {'certkit':>10} {'per pair':>10} {'pairwise matches (est.)':>24} "
          f"{'ratio':>8} {'pairwise SPKI (est.)':>21} {'ratio':>7}  samples")
    for size, ours, naive, careful, n_m, n_s in rows:
        print(f"{size:>7,} {_total(ours):>10} {_us(ours / size):>10} {_total(naive):>24} "
              f"{ours / naive:>8.5f} {_total(careful):>21} {ours / careful:>7.4f}  "
              f"{n_m} / {n_s} certs x {size:,} keys")
    print("pairwise times are extrapolated: the loop ran for the sampled certificates against "
          "all N keys, and its time per certificate is multiplied by N (the SPKI loop adds its "
          "one-off encoding of every key and certificate, measured in full); ratios are "
          "certkit / peer, no target")
    small, large = rows[0], rows[-1]
    scaling = (large[1] / large[0]) / (small[1] / small[0])
    met = scaling <= TARGET_SCALING
    ok = ok and met
    print(f"scaling, certkit per pair at N={large[0]:,} / N={small[0]:,}: {scaling:.2f}  "
          f"target <= {TARGET_SCALING}  {'met' if met else 'MISSED'}   (pairwise matches: "
          f"{(large[2] / large[0]) / (small[2] / small[0]):.1f}x, pairwise SPKI: "
          f"{(large[3] / large[0]) / (small[3] / small[0]):.1f}x)")
    if not ok:
        print("a certificate was not paired with its key, or the target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
