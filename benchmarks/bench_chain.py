"""Chain building at scale: certkit's ``build_chain`` beside ``openssl verify -untrusted``.

Workload 4 of issue 7. A three-level PKI of EC P-256 certificates (SHA-256): 4 roots
(``ROOTS.pem``, the trust store), 100 policy CAs signed by the roots, and issuing CAs
signed by the policy CAs; leaves are issued by the issuing CAs, so every chain is
leaf → issuing CA → policy CA → root. Generating 100,000 RSA certificates would take
minutes, so the CAs and leaves share 16 EC P-256 keys (the roots have their own): names
are all distinct, and issuers are found by name and confirmed by signature, which is what
is measured. No key identifiers (SKID/AKID) are written, so neither tool can skip a
signature check by them. The biggest pool is generated once per run in a temporary
folder; a pool of N certificates is the 100 policy CAs plus the first N - 100 issuing
CAs (the leaves' issuers are in every pool), written in a shuffled order.

* certkit: ``CertificatePool(["POOL.pem"])`` and ``CertificatePool(["ROOTS.pem"])`` once,
  then per leaf ``Certificate.load(leaf file)`` + ``build_chain(leaf, pool, trust=roots)``;
* openssl, one process per leaf: ``openssl verify -untrusted POOL.pem -CAfile ROOTS.pem
  leaf.pem`` (what scripts do), interleaved with certkit in blocks of ten leaves; every
  process reads the whole pool (about 1 s for 10,000 certificates with OpenSSL 3.0), so
  this runs on every 20th leaf (``--quick``: every 50th), n is printed;
* openssl, one process for all leaves: ``openssl verify -untrusted POOL.pem -CAfile
  ROOTS.pem leaf1.pem leaf2.pem …`` (the fairer peer), beside certkit doing the same whole
  job (reading the pool, the roots and every leaf) in process and in a fresh Python
  process (start-up and imports included), alternating.

The scaling figure is certkit's median time per leaf with pools of 1,000, 10,000 and
100,000 certificates (``--quick``: 100 leaves, pools of 1,000, 3,000 and 10,000), the pool
sizes interleaved per block of leaves; the target is at most 1.5x from the smallest pool
to the largest. Peak memory is the ``ru_maxrss`` of the fresh process holding the 10,000
pool. Run ``python benchmarks/bench_chain.py``; the exit status is 0 when every
target is met and every chain was built and verified.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

ROOTS = 4
POLICY_CAS = 100
SHARED_KEYS = 16
BLOCK = 10
TARGET_SCALING = 1.5
CHAIN_LENGTH = 4

_CHILD = """
import json, sys, time
started = time.perf_counter()


def peak_kib():
    # VmHWM is this process's own high-water mark; ru_maxrss would also count the
    # benchmark process it was forked from, which holds three pools.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if sys.argv[1] == "-":
    import certkit, cryptography.x509
    print(json.dumps({"rss_kib": peak_kib()}))
    raise SystemExit
import pathlib
from certkit import Certificate, CertificatePool, build_chain
pool = CertificatePool([sys.argv[1]])
roots = CertificatePool([sys.argv[2]])
complete = 0
for path in sys.argv[3:]:
    chain = build_chain(Certificate.load(pathlib.Path(path).read_bytes()), pool, trust=roots)
    complete += chain.is_complete and len(chain) == 4
print(json.dumps({"seconds": time.perf_counter() - started, "complete": complete,
                  "rss_kib": peak_kib()}))
"""


def _generate(folder: pathlib.Path, leaves: int, biggest: int, sizes: Sequence[int]) -> None:
    """Write ROOTS.pem, POOL-<N>.pem for each size and leaf-<i>.pem into ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(days=3650)
    root_keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(ROOTS)]
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(SHARED_KEYS)]
    ca = x509.BasicConstraints(ca=True, path_length=None)
    ee = x509.BasicConstraints(ca=False, path_length=None)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certkit bench"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def issue(subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey,
              signer: ec.EllipticCurvePrivateKey, serial: int, *,
              is_ca: bool) -> bytes:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(public).serial_number(serial).not_valid_before(start)
                   .not_valid_after(end).add_extension(ca if is_ca else ee, critical=True))
        if not is_ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(subject.rfc4514_string().split("=")[-1])]), critical=False)
        return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    root_names = [name(f"Bench Root CA {i}") for i in range(ROOTS)]
    roots = [issue(n, n, k.public_key(), k, i + 1, is_ca=True)
             for i, (n, k) in enumerate(zip(root_names, root_keys, strict=True))]
    (folder / "ROOTS.pem").write_bytes(b"".join(roots))
    policy_names = [name(f"Bench Policy CA {i}") for i in range(POLICY_CAS)]
    policy = [issue(policy_names[i], root_names[i % ROOTS], keys[i % SHARED_KEYS].public_key(),
                    root_keys[i % ROOTS], 1000 + i, is_ca=True) for i in range(POLICY_CAS)]
    issuing = []
    for i in range(biggest - POLICY_CAS):
        parent = i % POLICY_CAS
        issuing.append(issue(name(f"Bench Issuing CA {i}"), policy_names[parent],
                             keys[(i * 7 + 3) % SHARED_KEYS].public_key(),
                             keys[parent % SHARED_KEYS], 100_000 + i, is_ca=True))
    rng = random.Random(4)
    for size in sizes:
        certificates = policy + issuing[:size - POLICY_CAS]
        rng.shuffle(certificates)
        (folder / f"POOL-{size}.pem").write_bytes(b"".join(certificates))
    usable = min(sizes) - POLICY_CAS
    for j in range(leaves):
        parent = (j * 37) % usable  # spread over the issuing CAs every pool holds
        (folder / f"leaf-{j:04d}.pem").write_bytes(issue(
            name(f"host{j}.bench.test"), name(f"Bench Issuing CA {parent}"),
            keys[j % SHARED_KEYS].public_key(), keys[(parent * 7 + 3) % SHARED_KEYS],
            1_000_000 + j, is_ca=False))


def _openssl(pool: pathlib.Path, roots: pathlib.Path, leaves: Sequence[pathlib.Path]) -> int:
    """Run one ``openssl verify`` over ``leaves``; return how many it said were OK."""
    result = subprocess.run(["openssl", "verify", "-untrusted", str(pool), "-CAfile",
                             str(roots), *map(str, leaves)], capture_output=True, text=True,
                            check=False)
    return sum(line.endswith(": OK") for line in result.stdout.splitlines())


def _child(env: dict[str, str], *args: str) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True,
                            text=True, check=True, env=env)
    data: dict[str, float] = json.loads(result.stdout)
    return time.perf_counter() - started, data


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the PKI, run the comparisons, print the tables; 0 when targets are met."""
    from certkit import Certificate, CertificatePool, Chain, _model, build_chain

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 leaves, pools of 1,000/3,000/10,000, fewer openssl runs")
    args = parser.parse_args(argv)
    sizes = (1000, 3000, 10000) if args.quick else (1000, 10000, 100000)
    leaf_count = 100 if args.quick else 1000
    compare = 10000  # the pool of the side-by-side comparison
    # An openssl process reads the whole pool (~1 s for 10,000 certificates here), so the
    # one-process-per-leaf peer runs on a sample of the leaves.
    openssl_every = 50 if args.quick else 20
    batch_runs = 1 if args.quick else 3
    ok = True
    with tempfile.TemporaryDirectory(prefix="certkit-bench-chain-") as tmp:
        folder = pathlib.Path(tmp)
        started = time.perf_counter()
        _generate(folder, leaf_count, max(sizes), sizes)
        generated = time.perf_counter() - started
        leaves = sorted(folder.glob("leaf-*.pem"))
        roots_file = folder / "ROOTS.pem"
        roots = CertificatePool([roots_file])
        pools: dict[int, CertificatePool] = {}
        load_seconds: dict[int, float] = {}
        for size in sizes:
            started = time.perf_counter()
            pools[size] = CertificatePool([folder / f"POOL-{size}.pem"])
            load_seconds[size] = time.perf_counter() - started
            assert len(pools[size]) == size, (size, len(pools[size]))

        def certkit_leaf(path: pathlib.Path, pool: CertificatePool) -> Chain:
            return build_chain(Certificate.load(path.read_bytes()), pool, trust=roots)

        # Warm up every path once (imports, the page cache) outside the timings.
        for size in sizes:
            certkit_leaf(leaves[0], pools[size])
        _openssl(folder / f"POOL-{sizes[0]}.pem", roots_file, leaves[:1])

        per_leaf: dict[str, list[float]] = {str(size): [] for size in sizes}
        per_leaf["openssl"] = []
        complete = openssl_ok = 0
        order: list[str] = [*map(str, sizes), "openssl"]
        for first in range(0, leaf_count, BLOCK):
            block = leaves[first:first + BLOCK]
            for tool in order:
                for index, path in enumerate(block, first):
                    if tool == "openssl":
                        if index % openssl_every:
                            continue
                        begin = time.perf_counter()
                        openssl_ok += _openssl(folder / f"POOL-{compare}.pem", roots_file, [path])
                        per_leaf[tool].append(time.perf_counter() - begin)
                        continue
                    pool = pools[int(tool)]
                    # certkit remembers signature checks; forget them so that every pool
                    # size does the same work for each leaf (the whole-job rows below show
                    # what remembering saves when one pool serves many leaves).
                    _model._ISSUED_BY.clear()
                    begin = time.perf_counter()
                    chain = certkit_leaf(path, pool)
                    per_leaf[tool].append(time.perf_counter() - begin)
                    complete += chain.is_complete and len(chain) == CHAIN_LENGTH
            order.append(order.pop(0))
        ok = ok and complete == leaf_count * len(sizes) and openssl_ok == len(per_leaf["openssl"])

        # Whole job, one process each: openssl with every leaf as an argument, certkit in
        # process (reading the pool and roots included) and in a fresh Python process.
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte-code as an installed package has it
        pool_file = str(folder / f"POOL-{compare}.pem")
        _child(env, "-")  # compile certkit's modules once, outside the timings
        batch: dict[str, list[float]] = {"openssl": [], "certkit": [], "fresh": []}
        baseline_rss = rss = 0.0
        for _ in range(batch_runs):
            begin = time.perf_counter()
            openssl_all = _openssl(folder / f"POOL-{compare}.pem", roots_file, leaves)
            batch["openssl"].append(time.perf_counter() - begin)
            begin = time.perf_counter()
            pool = CertificatePool([pool_file])
            trust = CertificatePool([roots_file])
            built = sum(build_chain(Certificate.load(p.read_bytes()), pool,
                                    trust=trust).is_complete for p in leaves)
            batch["certkit"].append(time.perf_counter() - begin)
            wall, data = _child(env, pool_file, str(roots_file), *map(str, leaves))
            batch["fresh"].append(wall)
            rss = max(rss, data["rss_kib"])
            baseline_rss = max(baseline_rss, _child(env, "-")[1]["rss_kib"])
            ok = ok and openssl_all == leaf_count and built == leaf_count
            ok = ok and data["complete"] == leaf_count
        del pool, trust

    median = {name: statistics.median(values) for name, values in per_leaf.items()}
    print(f"chain building: {leaf_count} leaves (EC P-256, leaf -> issuing CA -> policy CA -> "
          f"root), {ROOTS} roots in the trust store; CAs share {SHARED_KEYS} keys; "
          f"{'quick run: ' if args.quick else ''}pools of "
          f"{', '.join(f'{s:,}' for s in sizes)}; generated in {generated:.1f} s; the machine "
          "was shared, medians, tools interleaved in blocks of 10 leaves")
    ours = median[str(compare)]
    theirs = median["openssl"]
    print(f"{'per leaf, pool of ' + format(compare, ',') :<52} {'certkit':>10} {'peer':>10} "
          f"{'ratio':>7}  target")
    label = f"openssl verify, one process per leaf (every {openssl_every}th)"
    print(f"{label:<52} {_ms(ours):>10} {_ms(theirs):>10} "
          f"{ours / theirs:>7.3f}  none ({theirs / ours:.0f}x faster)  "
          f"n={len(per_leaf['openssl'])}")
    mine, other = statistics.median(batch["certkit"]), statistics.median(batch["openssl"])
    fresh = statistics.median(batch["fresh"])
    label = f"openssl verify, one process, all {leaf_count} leaves"
    print(f"{label:<52} {_ms(mine):>10} {_ms(other):>10} {mine / other:>7.3f}  none "
          f"(certkit in process, reading the pool included)  n={batch_runs}")
    print(f"{'  same, certkit in a fresh Python process':<52} {_ms(fresh):>10} {_ms(other):>10} "
          f"{fresh / other:>7.3f}  none (start-up and imports included)")
    print(f"{'pool size':>10} {'read pool':>10} {'per cert':>9} {'per leaf':>10} "
          f"{'vs smallest':>12}")
    smallest = median[str(sizes[0])]
    for size in sizes:
        value = median[str(size)]
        print(f"{size:>10,} {load_seconds[size]:>8.2f} s {load_seconds[size] / size * 1e6:>6.1f}µs "
              f"{_ms(value):>10} {value / smallest:>11.2f}x")
    scaling = median[str(sizes[-1])] / smallest
    met = scaling <= TARGET_SCALING
    ok = ok and met
    print(f"scaling, per leaf {sizes[-1]:,} / {sizes[0]:,}: {scaling:.2f}  target <= "
          f"{TARGET_SCALING}  {'met' if met else 'MISSED'}")
    print(f"peak memory, fresh process with the {compare:,} pool and {leaf_count} chains: "
          f"{rss / 1024:.1f} MiB (imports only: {baseline_rss / 1024:.1f} MiB; the pool and "
          f"chains add {(rss - baseline_rss) / 1024:.1f} MiB)")
    if not ok:
        print("a chain was not built or verified, or a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
