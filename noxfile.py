"""The project's toolbox: ``nox -s tests coverage lint typecheck docs bench build``."""

from __future__ import annotations

import glob
import os
import pathlib
import re
import shutil
import zipfile

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "coverage"]
nox.options.reuse_existing_virtualenvs = True
# uv makes a virtualenv and installs the test dependencies in seconds where pip takes half
# a minute per Python; without uv (not installed next to nox or on PATH) nox uses virtualenv.
nox.options.default_venv_backend = "uv|virtualenv"

ROOT = pathlib.Path(__file__).parent


def _classifier_versions() -> tuple[str, ...]:
    """The ``Programming Language :: Python :: 3.N`` classifiers of pyproject.toml, in order.

    The classifiers are what the package promises on PyPI; the tests run on exactly those.
    """
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', text)
    return tuple(sorted(set(found), key=lambda v: int(v.split(".")[1])))


VERSIONS = _classifier_versions()


def _install(session: nox.Session, *args: str) -> None:
    """``session.install``; under uv, installed as pip installs certkit: rebuilt, byte-compiled.

    pip rebuilds and reinstalls a local project on every install; uv keeps what a reused
    virtualenv already has when the version number is unchanged, so the tests would run an
    old build of the checkout. pip also byte-compiles what it installs, uv only when asked:
    without it the first import of each certkit module compiles it, inside the time the
    tests measure (tests/test_hostile.py holds a load to a CPU-time limit). Only certkit is
    compiled ahead: uv's ``--compile-bytecode`` compiles all of site-packages (ansible-core,
    mypy…), three seconds per virtualenv for modules the tests mostly never import.
    """
    venv = session.virtualenv
    if getattr(venv, "venv_backend", None) != "uv":
        session.install(*args)
        return
    session.install("--reinstall-package", "certkit", *args)
    session.run("python", "-c", "import compileall, pathlib, certkit; "
                "compileall.compile_dir(pathlib.Path(certkit.__file__).parent, quiet=1)",
                silent=True)


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
    if os.environ.get("CI") == "true":
        return list(VERSIONS)  # CI tests every promised version; a missing one is an error
    return found or ["3"]


PYTHONS = _find_pythons()
# mypy: the doc tests check every page's Python blocks with it; pyyaml: the Prometheus
# alert rules' tests read the rules file.
TEST_DEPS = ["pytest>=8", "pytest-xdist>=3.6", "coverage[toml]>=7.10", "hypothesis>=6.100",
             "cryptography-vectors", "pyjks", "certifi", "mypy>=1.10", "pyyaml",
             # tests/test_ansible.py runs docs/ansible/certkit-fleet.yml with ansible-playbook
             "ansible-core"]


#: pytest-xdist workers: two per CPU. A fifth of the suite's time is tests waiting on
#: purpose (network deadlines, dripping servers, a JVM or a TLS server starting); with one
#: worker per CPU a CPU sits idle while its worker waits.
WORKERS = 2 * (os.cpu_count() or 1)


#: The Pythons whose runs are measured: the oldest and the newest promised. Between them
#: they take both sides of every ``sys.version_info >=`` check in certkit; measuring the
#: two in between added no line and no branch (docs/benchmarks.md) and cost each of them
#: a third of its run.
COVERED = (PYTHONS[0], PYTHONS[-1])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against the *installed* package (not the checkout).

    On every CPU (pytest-xdist, two workers per CPU, a test file per worker so that module
    fixtures are built once; the files in the order tests/conftest.py gives them, longest
    first, so that no worker ends alone with a long file). On the oldest and newest Python
    under branch coverage: each writes ``.coverage.<version>`` and the ``coverage`` session
    combines them. ``nox -s tests -- -n0 -x tests/test_pem.py`` for one file.
    """
    _install(session, ".[cli]", *TEST_DEPS)
    for stale in ROOT.glob(f".coverage.{session.python}*"):
        stale.unlink()
    # The pytest script, not `-m pytest`: -m would put the checkout first on sys.path and
    # the tests would import certkit from there instead of the installed package.
    pytest = [str(pathlib.Path(session.bin) / "pytest")]
    if session.python in COVERED:
        pytest = ["coverage", "run", *pytest]
    session.run(
        *pytest, "-n", str(WORKERS), "--dist", "loadfile", "--no-loadscope-reorder",
        *session.posargs,
        env={"CERTKIT_TEST_INSTALLED": "1",
             "COVERAGE_FILE": str(ROOT / f".coverage.{session.python}"),
             # pytest keeps its assertion-rewritten test modules in tests/__pycache__ only
             # where bytecode may be written; each worker would rewrite all of them again.
             "PYTHONDONTWRITEBYTECODE": ""},
    )


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def coverage(session: nox.Session) -> None:
    """Branch coverage of certkit combined over the measured ``tests`` runs (``COVERED``);
    prints the total."""
    session.install("coverage[toml]>=7.10")
    env = {"COVERAGE_FILE": str(ROOT / ".coverage")}
    if not list(ROOT.glob(".coverage.*")):
        session.error("no .coverage.<version> files: run `nox -s tests` first")
    measured = sorted({f.name.split(".")[3] for f in ROOT.glob(".coverage.3.*")}, key=int)
    session.run("coverage", "combine", "--keep", *sorted(map(str, ROOT.glob(".coverage.*"))),
                env=env)
    session.run("coverage", "report", "--skip-covered", env=env)
    total = session.run("coverage", "report", "--format=total", env=env, silent=True)
    session.log(f"certkit branch coverage over Python 3.{', 3.'.join(measured)}: "
                f"{str(total).strip()} %")


@nox.session(python=PYTHONS[-1] if "3.11" not in PYTHONS else "3.11")
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and this file; the one-way import contract."""
    _install(session, "ruff>=0.6", "import-linter>=2", ".")
    session.run("ruff", "check", "certkit", "tests", "benchmarks", "noxfile.py")
    # Imports point down the layers (pyproject.toml [tool.importlinter], docs/architecture.md).
    session.run("lint-imports")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, and on a user's code that uses the public API."""
    _install(session, ".", "mypy>=1.10", "attrs", "cryptography")
    session.run("mypy", "--strict", "certkit")
    session.run("mypy", "--strict", "tests/typing_usage.py")


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def docs(session: nox.Session) -> None:
    """Build docs/ with Sphinx; every warning is an error."""
    _install(session, ".", "sphinx>=7", "myst-parser>=2")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "-q", "docs", "docs/_build")


@nox.session(python="3.11" if "3.11" in PYTHONS else PYTHONS[-1])
def bench(session: nox.Session) -> None:
    """Run the benchmarks side by side with their peers (``-- --quick`` for a short run)."""
    _install(session, ".", "pyjks", "cryptography")
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
    # One pure wheel for every platform: no compiled or C file may slip in.
    if not wheels[0].name.endswith("-py3-none-any.whl"):
        session.error(f"{wheels[0].name} is not a pure py3-none-any wheel")
    names = zipfile.ZipFile(wheels[0]).namelist()
    compiled = [n for n in names if n.endswith((".so", ".pyd", ".dll", ".dylib", ".c", ".pyx"))]
    if compiled:
        session.error(f"the wheel ships compiled or C files: {compiled}")
    if "certkit/py.typed" not in names:
        session.error("the wheel does not ship certkit/py.typed")
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    if top != {"certkit"}:
        session.error(f"the wheel ships unexpected top-level entries: {sorted(top)}")
    session.log(f"{wheels[0].name}: {len(names)} files, pure, py.typed present, only certkit/")


FUZZ_TARGETS = ("pem", "der", "pkcs7", "pkcs12", "jks", "jceks", "bks", "kubernetes", "any")


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
    _install(session, ".", "atheris", "pyjks", "cryptography")
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
