"""Shared fixtures: a fixed-date CA → intermediate → leaf hierarchy, the interop corpus, tools."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.util
import io
import os
import pathlib
import random
import shutil
import subprocess
import sys
import types
import warnings
from collections.abc import Mapping, Sequence

import attrs
import pytest
import warm_keytool
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certkit import Certificate, PrivateKey

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = pathlib.Path(os.environ.get("CERTKIT_CORPUS", ROOT.parent / "shared" / "corpus"))

# Fixed far-future validity so tests never expire (trustme's habit).
NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
NOT_AFTER = dt.datetime(2099, 12, 31, tzinfo=dt.timezone.utc)


#: The test files that take longest, longest first. pytest-xdist hands whole files to its
#: workers in collection order (``nox -s tests`` runs ``--dist loadfile
#: --no-loadscope-reorder``); a long file handed out last would keep one worker busy while
#: the others wait. Files not named keep their order, after these.
LONGEST_FIRST = (
    "test_hostile.py", "test_cli.py", "test_docs.py", "test_ansible.py", "test_jks_interop.py",
    "test_jks_fuzz.py", "test_jks_locked_secrets.py", "test_realworld.py",
    "test_corpus_sweep.py", "test_keystore_ops.py", "test_fuzz_text.py", "test_pkcs12_fuzz.py",
    "test_chains.py", "test_match.py", "test_chain_linking.py", "test_remote.py",
    "test_report.py", "test_metrics.py", "test_kubernetes.py",
)


#: The damage tests' seed (test_*_fuzz.py): a new one each run, so that runs try different
#: truncations and flips; ``CERTKIT_FUZZ_SEED=N`` replays run N. Set here in the
#: environment, so that pytest-xdist's workers, started after this import, share it.
FUZZ_SEED = int(os.environ.setdefault("CERTKIT_FUZZ_SEED",
                                      str(random.SystemRandom().randrange(2**32))))


def fuzz_random(name: str) -> random.Random:
    """The sample stream of one damage test: ``FUZZ_SEED`` and the test's own name."""
    return random.Random(f"{FUZZ_SEED}:{name}")  # noqa: S311 - sampling, not secrets


def pytest_report_header() -> str:
    """The fuzz seed, first thing in the output, to replay a failure with."""
    return f"fuzz seed: {FUZZ_SEED} (replay with CERTKIT_FUZZ_SEED={FUZZ_SEED})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests of the files in ``LONGEST_FIRST`` first, in that order."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def corpus_path(*parts: str) -> pathlib.Path:
    """Return a path inside ../shared/corpus, skipping visibly (or failing in CI) if absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        message = f"interop corpus not found at {path}"
        if os.environ.get("CERTKIT_REQUIRE_CORPUS") == "1":
            pytest.fail(message + " (CERTKIT_REQUIRE_CORPUS=1)")
        pytest.skip(message)
    return path


def require_tool(name: str) -> str:
    """Return the path of an external tool, skipping visibly (or failing in CI) if absent."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
    return found


def import_twofish() -> types.ModuleType:
    """The PyPI ``twofish`` module (pyjks's, ctypes over its C build), skipping visibly if it
    cannot be imported.

    It finds its library with ``imp.find_module``; ``imp`` left the standard library in
    Python 3.12, so there a stand-in with that one function is in place while it imports.
    """
    stand_in = None
    if sys.version_info >= (3, 12) and "imp" not in sys.modules:
        def find_module(name: str) -> tuple[None, str, tuple[str, str, int]]:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise ImportError(f"no module named {name!r}")
            return None, spec.origin, ("", "", 3)  # 3: imp.C_EXTENSION

        stand_in = types.ModuleType("imp")
        stand_in.find_module = find_module  # type: ignore[attr-defined]
        sys.modules["imp"] = stand_in
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # before 3.12 it imports the deprecated ``imp``
            return importlib.import_module("twofish")
    except ImportError as err:
        pytest.skip(f"the twofish module cannot be imported here ({err})")
    finally:
        if stand_in is not None and sys.modules.get("imp") is stand_in:
            del sys.modules["imp"]


def run(args: Sequence[str | os.PathLike[str]], *, input: bytes | None = None,  # noqa: A002
        check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run an external tool, failing the test with its stderr if it fails."""
    result = subprocess.run([os.fspath(a) for a in args], input=input, capture_output=True,
                            timeout=120, check=False)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}\n{result.stdout.decode(errors='replace')}"
        )
    return result


def openssl(*args: str | os.PathLike[str], input: bytes | None = None,  # noqa: A002
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run the real ``openssl`` binary."""
    return run([require_tool("openssl"), *args], input=input, check=check)


def keytool(
    *args: str | os.PathLike[str], check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run the real Java ``keytool`` (English output), in one warm JVM (see warm_keytool)."""
    argv = [require_tool("keytool"), "-J-Duser.language=en", *args]
    result = warm_keytool.run(argv[0], argv[1:])
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}\n{result.stdout.decode(errors='replace')}"
        )
    return result


def compile_java(name: str, source: str) -> pathlib.Path:
    """The folder of class ``name`` compiled from ``source`` by the real javac (once per
    machine and source: see warm_keytool.compiled)."""
    return warm_keytool.compiled(require_tool("javac"), name, source)


def java_program(classes: pathlib.Path, main_class: str, *args: str | os.PathLike[str],
                 jvm_options: Sequence[str] = (),
                 check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run a test's own Java program with the JDK of ``keytool`` (in the warm JVM)."""
    result = warm_keytool.java(require_tool("keytool"), classes, main_class, args, jvm_options)
    if check and result.returncode != 0:
        pytest.fail(
            f"java {main_class} {' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}\n{result.stdout.decode(errors='replace')}"
        )
    return result


@attrs.frozen
class Issued:
    """A certificate with the cryptography key that owns it."""

    certificate: Certificate
    key: PrivateKey


def make_key(kind: str = "RSA-2048") -> PrivateKey:
    """Generate a test key: RSA-<bits>, EC-P256, EC-P384 or Ed25519."""
    if kind.startswith("RSA-"):
        return PrivateKey(rsa.generate_private_key(65537, int(kind[4:])))
    if kind == "EC-P256":
        return PrivateKey(ec.generate_private_key(ec.SECP256R1()))
    if kind == "EC-P384":
        return PrivateKey(ec.generate_private_key(ec.SECP384R1()))
    if kind == "Ed25519":
        return PrivateKey(ed25519.Ed25519PrivateKey.generate())
    raise ValueError(kind)


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    ca: bool = False,
    sans: Sequence[str] = (),
    not_before: dt.datetime = NOT_BEFORE,
    not_after: dt.datetime = NOT_AFTER,
    serial: int | None = None,
) -> Issued:
    """Issue a certificate (self-signed when ``issuer`` is None) with fixed validity dates."""
    key = key or make_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certkit tests")])
    signer = issuer.key.key if issuer else key.key
    issuer_name = issuer.certificate.x509.subject if issuer else name
    public = key.key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(signer, algorithm)  # type: ignore[arg-type]
    return Issued(Certificate.from_x509(cert), key)


@attrs.frozen
class PKI:
    """A root CA, an intermediate CA and a server leaf (``localhost``), all RSA-2048."""

    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def chain(self) -> tuple[Certificate, Certificate, Certificate]:
        """Leaf first."""
        return (self.leaf.certificate, self.intermediate.certificate, self.root.certificate)


@pytest.fixture(scope="session")
def pki() -> PKI:
    """One CA → intermediate → leaf hierarchy per test session."""
    root = issue("certkit Test Root CA", ca=True)
    intermediate = issue("certkit Test Intermediate CA", issuer=root, ca=True)
    leaf = issue("localhost", issuer=intermediate, sans=("localhost", "www.example.test"))
    return PKI(root, intermediate, leaf)


@pytest.fixture(scope="session")
def other_pki() -> PKI:
    """A second, unrelated hierarchy (for mismatches and strays)."""
    root = issue("Other Root CA", ca=True)
    intermediate = issue("Other Intermediate CA", issuer=root, ca=True)
    leaf = issue("other.example.test", issuer=intermediate, sans=("other.example.test",))
    return PKI(root, intermediate, leaf)


def certkit_cli(argv: Sequence[str], *, cwd: pathlib.Path,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``certkit *argv`` in this process (``certkit.cli.main``) as a process would see it.

    In ``cwd``, with ``env`` added to the environment and no terminal on stdin; stdout,
    stderr and the exit code (argparse's ``SystemExit`` included) come back like
    ``subprocess.run`` returns them. A fresh interpreter per command costs a second of
    imports; the tests that need the console script itself start one (tests/test_cli.py).
    """
    from certkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    os.environ.update(env or {})
    os.chdir(cwd)
    sys.stdin = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv), out=out)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["certkit", *argv], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory,
             ) -> tuple[pathlib.Path, subprocess.CompletedProcess[str]]:
    """``certkit demo --out-dir demo`` run once (keys, openssl, keytool): its folder and result.

    Most doc pages and the transcripts start with that command; they copy the folder.
    """
    folder = tmp_path_factory.mktemp("demo-run")
    return folder / "demo", certkit_cli(["demo", "--out-dir", "demo"], cwd=folder)


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every certkit command and sub-command parser, by its name as typed (``keystore list``)."""
    from certkit.cli import build_parser

    def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    found: dict[str, argparse.ArgumentParser] = {}
    for name, parser in subparsers(build_parser()).items():
        nested = subparsers(parser)
        found.update({f"{name} {sub}": p for sub, p in nested.items()} if nested
                     else {name: parser})
    return found
