"""Command-line start-up: ``certkit inspect cert.pem`` beside ``openssl x509`` and ``keytool``.

Workload 6 of issue 7. Every measurement is a fresh process, timed from spawn to exit;
the commands run in rotation so each sees the same machine noise, and the table shows
medians. ``python -c pass`` is the interpreter's own start-up, the floor under anything
written in Python. certkit must start faster than keytool; the gap to openssl (a C
program) is reported as it is. Python modules run from byte-code cached in a temporary
folder, as an installed package's would (``PYTHONDONTWRITEBYTECODE`` is ignored). The
second table lists what ``certkit --help`` and ``certkit inspect cert.pem`` import that
they should not need (pyjks, asn1crypto, the codecs of other formats, the network), read
from ``sys.modules`` when the command exits.

``--baseline REV`` also measures the certkit of git revision REV (exported to a
temporary folder) in the same run, for before/after numbers. Run
``python benchmarks/bench_startup.py`` (``--quick``: 3 runs of each instead of 21).
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
from collections.abc import Sequence

import _baseline  # benchmarks/ is on sys.path when a benchmark runs as a script

TARGET_KEYTOOL = 1.0
#: Modules a command that reads one PEM certificate has no use for.
UNWANTED = ("jks", "asn1crypto", "pyasn1", "Cryptodome", "javaobj", "twofish",
            "certkit.formats.jks", "certkit.formats.pkcs12", "certkit._crypto.javakeys",
            "certkit._crypto.pbe", "certkit._ops.backup", "certkit._ops.remote",
            "certkit._ops.export",
            "certkit._ops.chains", "certkit._ops.request", "ssl", "http", "urllib.request")


def _certificate(path: pathlib.Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.test")])
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(when)
            .not_valid_after(when + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.example.test")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env, cwd=env["BENCH_CWD"])
    return time.perf_counter() - start


_MODULES_SCRIPT = """
import runpy, sys
out, sys.argv = sys.argv[1], ["certkit", *sys.argv[2:]]
try:
    runpy.run_module("certkit", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
with open(out, "w") as handle:
    handle.write("\\n".join(sorted(sys.modules)))
"""


def _modules(arguments: list[str], env: dict[str, str], folder: pathlib.Path) -> set[str]:
    """The modules loaded when ``certkit ARGUMENTS`` exits (``-X importtime`` misses those
    imported through ``importlib.import_module``, as lazy imports are)."""
    listing = folder / "modules.txt"
    subprocess.run([sys.executable, "-c", _MODULES_SCRIPT, str(listing), *arguments],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   cwd=env["BENCH_CWD"])
    return set(listing.read_text().split())


def _import_seconds(env: dict[str, str]) -> float:
    """certkit's own cumulative ``import certkit`` time, from ``-X importtime``."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import certkit"],
                            check=True, capture_output=True, text=True, env=env,
                            cwd=env["BENCH_CWD"])
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == "certkit":
            return int(line.split("|")[1]) / 1e6
    return float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, return 0 when the targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 21")
    parser.add_argument("--baseline", metavar="REV",
                        help="also measure certkit as of git revision REV")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else 21

    python = sys.executable
    keytool = shutil.which("keytool")
    openssl = shutil.which("openssl")
    ok = True
    with tempfile.TemporaryDirectory(prefix="certkit-bench-startup-") as tmp:
        folder = pathlib.Path(tmp)
        pem = folder / "cert.pem"
        _certificate(pem)
        # Run from the temporary folder: Python puts the working directory first on sys.path,
        # which would shadow the baseline's PYTHONPATH with a checkout's certkit.
        # Byte-compiled modules as an installed package has them (pip compiles on install),
        # kept out of the checkout, whatever PYTHONDONTWRITEBYTECODE the shell sets.
        env = {**os.environ, "BENCH_CWD": str(folder),
               "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs = {"": env}
        if args.baseline:
            base = _baseline.export(args.baseline, folder)
            envs[f" @{args.baseline}"] = _baseline.env_for(base, env)
        commands: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass (interpreter floor)", [python, "-c", "pass"], env)]
        for suffix, variant in envs.items():
            commands += [
                (f'python -c "import certkit"{suffix}', [python, "-c", "import certkit"], variant),
                (f"certkit --help{suffix}", [python, "-m", "certkit", "--help"], variant),
                (f"certkit inspect cert.pem{suffix}",
                 [python, "-m", "certkit", "inspect", str(pem)], variant),
            ]
        if openssl:
            commands.append(("openssl x509 -noout -text -in cert.pem",
                             [openssl, "x509", "-noout", "-text", "-in", str(pem)], env))
        if keytool:
            commands.append(("keytool -printcert -file cert.pem",
                             [keytool, "-printcert", "-file", str(pem)], env))
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for _label, command, variant in commands:  # warm the page cache
            _run(command, variant)
        for run in range(runs):
            rotated = commands[run % len(commands):] + commands[:run % len(commands)]
            for label, command, variant in rotated:
                times[label].append(_run(command, variant))
        checks: list[tuple[str, list[str] | None, bool]] = []
        for suffix, variant in envs.items():
            for what, arguments in (("certkit --help", ["--help"]),
                                    ("certkit inspect cert.pem", ["inspect", str(pem)])):
                names = _modules(arguments, variant, folder)
                extra = sorted(n for n in names if n in UNWANTED)
                checks.append((what + suffix, extra, not suffix))
            import_seconds = _import_seconds(variant)
            summary = (f"import certkit{suffix}: {import_seconds * 1000:.0f} ms cumulative "
                       "(-X importtime)")
            checks.append((summary, None, False))

    median = {label: statistics.median(values) for label, values in times.items()}
    ours = median["certkit inspect cert.pem"]
    print(f"Start-up, whole process wall time, median of {runs} fresh processes each "
          "(commands rotated)")
    print(f"{'command':<48} {'median':>9} {'vs certkit inspect':>19}")
    for label, _, _ in commands:
        print(f"{label:<48} {median[label] * 1000:>6.1f} ms {ours / median[label]:>18.2f}x")
    if keytool:
        ratio = ours / median["keytool -printcert -file cert.pem"]
        met = ratio <= TARGET_KEYTOOL
        ok = ok and met
        print(f"target: certkit inspect / keytool -printcert = {ratio:.3f} <= {TARGET_KEYTOOL}: "
              f"{'met' if met else 'MISSED'}")
    else:
        print("keytool not found: target not checked")
        ok = False
    if openssl:
        theirs = median["openssl x509 -noout -text -in cert.pem"]
        floor = median["python -c pass (interpreter floor)"]
        print(f"gap to openssl x509 (no target): {(ours - theirs) * 1000:+.1f} ms "
              f"({ours / theirs:.1f}x its time); the interpreter alone takes "
              f"{floor * 1000:.1f} ms")
    print("\nImports a command does not need (pyjks, asn1crypto, other codecs, network):")
    for what, extra, counts in checks:
        if extra is None:
            print(f"  {what}")
            continue
        print(f"  {what:<44} {', '.join(extra) if extra else 'none'}")
        ok = ok and not (counts and extra)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
