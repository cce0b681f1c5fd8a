"""A large JKS (1,000 trusted certificates and 10 key entries): certkit beside pyjks and keytool.

Workload 2 of issue 7. The store is what a corporate truststore with a few server keys
looks like: 1,000 CA certificates (RSA-2048, SHA-256) and 10 RSA-2048 key entries, each
with a two-certificate chain, all under the store password. Compared:

* in-process, against pyjks: ``certkit.load`` / ``certkit.dump(store, "jks")`` beside
  ``jks.KeyStore.loads`` / ``KeyStore.saves`` on the same bytes, interleaved, medians;
  both decrypt the 10 keys (pyjks with its default ``try_decrypt_keys=True``);
* whole process, against keytool: ``certkit convert in.jks out.jks`` (the CLI, Python
  start-up and imports included) beside ``keytool -importkeystore`` from JKS to JKS,
  interleaved, medians, with each process's peak resident memory (``wait4`` maxrss, read by
  a small launcher process so that the benchmark's own size does not leak into it);
* peak Python heap (tracemalloc) of one in-process load + dump for each library;
* a truststore only (the 1,000 trusted certificates, no keys, like Java's ``cacerts``):
  load + dump in-process beside pyjks, where the per-certificate checks are all the work.

Run ``python benchmarks/bench_jks.py`` (``--quick``: fewer repeats; ``--baseline REV``: also
run ``certkit convert`` of git revision REV in the whole-process comparison, interleaved, for
before/after numbers). The exit status is 0 when every target is met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import _baseline  # benchmarks/ is on sys.path when a benchmark runs as a script

PASSWORD = "changeit"
TRUSTED = 1000
KEYS = 10
TARGET_PYJKS = 1.0
TARGET_KEYTOOL = 0.2
#: Rows held to TARGET_PYJKS: the whole workload, and a truststore (Java's cacerts) alone,
#: loaded and loaded + dumped, where certkit's per-certificate checks are all its extra work.
TARGETED = frozenset({"load + dump", "truststore only: load", "truststore only: load + dump"})


def _store() -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    import certkit

    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ca_key = rsa.generate_private_key(65537, 2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Issuing CA")])
    keys = [rsa.generate_private_key(65537, 2048) for _ in range(KEYS)]

    def issue(subject: str, public_key: Any, serial: int, *, ca: bool) -> certkit.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench Trust Services"),
                          x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name)
                .public_key(public_key).serial_number(serial).not_valid_before(when)
                .not_valid_after(when + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256()))
        return certkit.Certificate.from_x509(cert)

    ca_cert = certkit.Certificate.from_x509(
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1).not_valid_before(when)
        .not_valid_after(when + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256()))
    entries: list[Any] = [
        certkit.KeyEntry(f"server{i:02d}", certkit.PrivateKey(key),
                         [issue(f"server{i:02d}.example.test", key.public_key(), 100 + i,
                                ca=False), ca_cert], created=when)
        for i, key in enumerate(keys)
    ]
    entries += [
        certkit.TrustedCertEntry(f"trusted-ca-{i:04d}",
                                 issue(f"Trusted Root CA {i:04d}",
                                       keys[i % KEYS].public_key(), 1000 + i, ca=True),
                                 created=when)
        for i in range(TRUSTED)
    ]
    return certkit.KeyStore(entries)


def _median(action: Callable[[], object], times: list[float]) -> None:
    start = time.perf_counter()
    action()
    times.append(time.perf_counter() - start)


#: Runs one command and reports its wall time and peak memory. This small process (no
#: site, no imports beyond ``os`` and ``time``) starts it rather than the benchmark itself:
#: Linux carries the parent's resident size over into a child's ``ru_maxrss`` at ``exec``,
#: and the benchmark process, with pyjks, cryptography and a 1,000-entry store loaded, is
#: larger than ``certkit convert`` ever gets (it read 48 MiB for a 24 MiB process).
_LAUNCHER = """
import os, sys, time
errors = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
actions = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
           (os.POSIX_SPAWN_DUP2, errors, 2)]
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
print(elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def _process(command: list[str], env: dict[str, str], cwd: pathlib.Path) -> tuple[float, int]:
    """Run ``command`` to completion; return (wall seconds, peak RSS in KiB).

    Timed from spawn to exit by the launcher above, which starts from this one with
    ``-I -S`` (about 9 MiB: the floor under any reading). ``cwd`` is a folder outside the
    checkout: ``python -m certkit`` puts the working folder first on ``sys.path``, where a
    checkout's ``certkit`` would shadow a baseline.
    """
    errors = cwd / "stderr.txt"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(errors), *command],
                            env=env, cwd=cwd, capture_output=True, text=True, check=True)
    elapsed, rss, code = result.stdout.split()
    if int(code):
        raise RuntimeError(f"{command[0]} failed ({code}): {errors.read_text()[:500]}")
    return float(elapsed), int(rss)


def _heap_peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _certkit_cli() -> list[str]:
    script = pathlib.Path(sys.executable).with_name("certkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "certkit"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, return 0 when certkit meets every target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 in-process and 5 process runs")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run certkit convert as of git revision REV (whole process)")
    args = parser.parse_args(argv)
    repeats, process_runs = (3, 5) if args.quick else (9, 9)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jks

    import certkit

    started = time.perf_counter()
    data = certkit.dump(_store(), "jks", password=PASSWORD)
    setup = time.perf_counter() - started

    trust = certkit.dump(certkit.KeyStore(ours_trusted := [
        e for e in certkit.load(data, password=PASSWORD) if isinstance(e, certkit.TrustedCertEntry)
    ]), "jks", password=PASSWORD)
    assert len(ours_trusted) == TRUSTED
    ours_loaded = certkit.load(data, password=PASSWORD)
    theirs_loaded = jks.KeyStore.loads(data, PASSWORD)
    assert len(ours_loaded) == len(theirs_loaded.entries) == TRUSTED + KEYS
    assert all(e.is_decrypted() for e in theirs_loaded.private_keys.values())
    assert certkit.load(theirs_loaded.saves(PASSWORD), password=PASSWORD) == ours_loaded

    rows: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("load", lambda: certkit.load(data, password=PASSWORD),
         lambda: jks.KeyStore.loads(data, PASSWORD)),
        ("dump", lambda: certkit.dump(ours_loaded, "jks", password=PASSWORD),
         lambda: theirs_loaded.saves(PASSWORD)),
        ("load + dump", lambda: certkit.dump(certkit.load(data, password=PASSWORD), "jks",
                                             password=PASSWORD),
         lambda: jks.KeyStore.loads(data, PASSWORD).saves(PASSWORD)),
        ("truststore only: load", lambda: certkit.load(trust, password=PASSWORD),
         lambda: jks.KeyStore.loads(trust, PASSWORD)),
        ("truststore only: load + dump",
         lambda: certkit.dump(certkit.load(trust, password=PASSWORD), "jks", password=PASSWORD),
         lambda: jks.KeyStore.loads(trust, PASSWORD).saves(PASSWORD)),
    ]
    timings: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label, *_ in rows}
    for repeat in range(repeats):
        for label, ours, theirs in rows:
            mine, other = timings[label]
            pair = [(ours, mine), (theirs, other)]
            for action, bucket in pair if repeat % 2 == 0 else reversed(pair):
                _median(action, bucket)

    keytool = shutil.which("keytool")
    cli: dict[str, list[tuple[float, int]]] = {"certkit": [], "keytool": []}
    if args.baseline:
        cli[f"certkit@{args.baseline}"] = []
    with tempfile.TemporaryDirectory(prefix="certkit-bench-jks-") as tmp:
        folder = pathlib.Path(tmp)
        source = folder / "big.jks"
        source.write_bytes(data)
        # Byte-compiled modules as an installed package has them, outside the checkout.
        env = {**os.environ, "BENCH_STOREPASS": PASSWORD,
               "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs = {"certkit": env, "keytool": env}
        baseline_cli: list[str] = []
        if args.baseline:
            envs[f"certkit@{args.baseline}"] = _baseline.env_for(
                _baseline.export(args.baseline, folder),
                {**env, "PYTHONPYCACHEPREFIX": str(folder / "pycache-baseline")})
            baseline_cli = _baseline.command(sys.executable, folder)
        for run in range(-1, process_runs):  # run -1 warms the byte-code and page caches
            ours_cmd = [*_certkit_cli(), "convert", str(source), str(folder / f"c{run}.jks"),
                        "--password-env", "BENCH_STOREPASS"]
            theirs_cmd = [keytool or "keytool", "-importkeystore", "-noprompt",
                          "-srckeystore", str(source), "-srcstoretype", "JKS",
                          "-srcstorepass", PASSWORD, "-destkeystore", str(folder / f"k{run}.jks"),
                          "-deststoretype", "JKS", "-deststorepass", PASSWORD]
            pair = [("certkit", ours_cmd), ("keytool", theirs_cmd)]
            if args.baseline:
                pair.append((f"certkit@{args.baseline}",
                             [*baseline_cli, *ours_cmd[-5:-3],
                              str(folder / f"b{run}.jks"), *ours_cmd[-2:]]))
            for name, command in pair if run % 2 == 0 else reversed(pair):
                if name == "keytool" and keytool is None:
                    continue
                result = _process(command, envs[name], folder)
                if run >= 0:
                    cli[name].append(result)
        converted = certkit.load(folder / "c0.jks", password=PASSWORD)
        assert converted == ours_loaded
        if keytool:
            assert len(certkit.load(folder / "k0.jks", password=PASSWORD)) == TRUSTED + KEYS

    heap = {
        "certkit": _heap_peak(lambda: certkit.dump(certkit.load(data, password=PASSWORD), "jks",
                                                   password=PASSWORD)),
        "pyjks": _heap_peak(lambda: jks.KeyStore.loads(data, PASSWORD).saves(PASSWORD)),
    }

    print(f"JKS with {TRUSTED:,} trusted certificates and {KEYS} RSA-2048 key entries "
          f"({len(data) / 1024:.0f} KiB); medians of {repeats} interleaved runs "
          f"(processes: {process_runs}); setup {setup:.1f} s")
    print(f"{'operation':<46} {'certkit':>10} {'peer':>10} {'ratio':>7}  {'target':<8} verdict")
    ok = True
    for label, _, _ in rows:
        mine, other = (statistics.median(t) for t in timings[label])
        ratio = mine / other
        if label in TARGETED:  # the workloads; the other rows are their parts
            met = ratio <= TARGET_PYJKS
            ok = ok and met
            verdict = f"<= {TARGET_PYJKS:<5} {'met' if met else 'MISSED'}"
        else:
            verdict = f"{'(part)':<8} {'faster' if ratio < 1 else 'slower'}"
        print(f"{'vs pyjks, in-process: ' + label:<46} {mine * 1000:>7.1f} ms "
              f"{other * 1000:>7.1f} ms {ratio:>7.3f}  {verdict} ({other / mine:.1f}x faster)")
    if cli["keytool"]:
        mine = statistics.median(t for t, _ in cli["certkit"])
        other = statistics.median(t for t, _ in cli["keytool"])
        ratio = mine / other
        met = ratio <= TARGET_KEYTOOL
        ok = ok and met
        print(f"{'vs keytool -importkeystore, whole process':<46} {mine * 1000:>7.0f} ms "
              f"{other * 1000:>7.0f} ms {ratio:>7.3f}  <= {TARGET_KEYTOOL:<5} "
              f"{'met' if met else 'MISSED'} ({other / mine:.1f}x faster)")
        if args.baseline:
            before = statistics.median(t for t, _ in cli[f"certkit@{args.baseline}"])
            print(f"{'  same, certkit as of ' + args.baseline:<46} {before * 1000:>7.0f} ms "
                  f"{other * 1000:>7.0f} ms {before / other:>7.3f}  (before; "
                  f"{args.baseline} -> now: {before * 1000:.0f} -> {mine * 1000:.0f} ms)")
        rss = {name: max(m for _, m in runs) / 1024 for name, runs in cli.items() if runs}
        print(f"peak memory, whole process (maxrss): certkit convert {rss['certkit']:.0f} MiB, "
              f"keytool {rss['keytool']:.0f} MiB")
    else:
        print("keytool not found: the whole-process comparison was skipped")
        ok = False
    print(f"peak Python heap of one load + dump (tracemalloc): certkit "
          f"{heap['certkit'] / 2**20:.1f} MiB, pyjks {heap['pyjks'] / 2**20:.1f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
