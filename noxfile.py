"""The project's toolbox: ``nox -s tests lint typecheck docs bench build``."""

from __future__ import annotations

import glob
import os
import pathlib
import shutil
import zipfile

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = pathlib.Path(__file__).parent
VERSIONS = ("3.10", "3.11", "3.12", "3.13")


def _find_pythons() -> list[str]:
    """Every CPython 3.10 to 3.13 on this machine, putting pyenv's real binaries on PATH.

    pyenv's shims answer for every version but run only the active one, so nox would
    think 3.10 exists and then fail; the real interpreters live in pyenv's versions dir.
    """
    pyenv_root = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv"))
    found: list[str] = []
    extra_dirs: list[str] = []
    for version in VERSIONS:
        candidates = sorted(glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin")))
        real = [d for d in candidates if (pathlib.Path(d) / f"python{version}").exists()]
        if real:
            extra_dirs.append(real[-1])
            found.append(version)
        elif shutil.which(f"python{version}") and ".pyenv/shims" not in str(
            shutil.which(f"python{version}")
        ):
            found.append(version)
    if extra_dirs:
        os.environ["PATH"] = os.pathsep.join([*extra_dirs, os.environ.get("PATH", "")])
    return found or ["3"]


PYTHONS = _find_pythons()
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "cryptography-vectors", "pyjks", "certifi"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against the *installed* package (not the checkout)."""
    session.install(".[cli]", *TEST_DEPS)
    session.run(
        "pytest", *session.posargs,
        env={"CERTKIT_TEST_INSTALLED": "1"},
    )


@nox.session(python=PYTHONS[-1] if "3.11" not in PYTHONS else "3.11")
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and this file."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "certkit", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, and on a user's code that uses the public API."""
    session.install(".", "mypy>=1.10", "attrs", "cryptography")
    session.run("mypy", "--strict", "certkit")
    session.run("mypy", "--strict", "tests/typing_usage.py")


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def docs(session: nox.Session) -> None:
    """Build docs/ with Sphinx; every warning is an error."""
    session.install(".", "sphinx>=7", "myst-parser>=2")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "-q", "docs", "docs/_build")


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def bench(session: nox.Session) -> None:
    """Run the benchmarks side by side with their peers (``-- --quick`` for a short run)."""
    session.install(".", "pyjks", "cryptography")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def build(session: nox.Session) -> None:
    """Build the wheel and sdist and check the wheel ships py.typed and nothing stray."""
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.install("build")
    session.run("python", "-m", "build", "--outdir", "dist")
    wheels = list((ROOT / "dist").glob("*.whl"))
    if len(wheels) != 1:
        session.error(f"expected one wheel, found {wheels}")
    names = zipfile.ZipFile(wheels[0]).namelist()
    if "certkit/py.typed" not in names:
        session.error("the wheel does not ship certkit/py.typed")
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    if top != {"certkit"}:
        session.error(f"the wheel ships unexpected top-level entries: {sorted(top)}")
    session.log(f"{wheels[0].name}: {len(names)} files, py.typed present, only certkit/")


FUZZ_TARGETS = ("pem", "der", "pkcs7", "pkcs12", "jks", "jceks", "bks", "any")


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of load and dump, every format for N seconds each.

    ``nox -s fuzz`` gives each target 60 seconds; ``nox -s fuzz -- 300 pkcs12 jceks`` gives
    the named targets 300. The seed corpus is generated into build/fuzz/ and grows there
    between runs; findings (inputs that raise anything but CertkitError, or hang past 10 s)
    are written to build/fuzz/findings/ and fail the session.
    """
    seconds = int(session.posargs[0]) if session.posargs else 60
    targets = session.posargs[1:] or FUZZ_TARGETS
    session.install(".", "atheris", "pyjks", "cryptography")
    work = ROOT / "build" / "fuzz"
    findings = work / "findings"
    findings.mkdir(parents=True, exist_ok=True)
    session.run("python", "fuzz/make_seeds.py", str(work / "seeds"))
    for target in targets:
        corpus = work / "corpus" / target
        corpus.mkdir(parents=True, exist_ok=True)
        session.run("python", "fuzz/fuzz_certkit.py", target, str(corpus),
                    str(work / "seeds" / target), f"-max_total_time={seconds}", "-timeout=10",
                    "-rss_limit_mb=1536", f"-artifact_prefix={findings}/{target}-",
                    "-print_final_stats=1")
