"""The docs run: every ``$ certkit …`` line of every console block, and every Python block
of README.md and docs/*.md, executed against prepared files and checked by ``mypy --strict``."""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import servers
from conftest import PKI, ROOT, certkit_cli, issue

import certkit
from certkit import KeyEntry, KeyStore, SecretKeyEntry, TrustedCertEntry

DOCS = ROOT / "docs"
BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)
# Installation and the test runner itself are exercised by CI, not from inside the tests.
SKIP = ("python3 -m pip", "nox ", "pip ")


def _commands(page: pathlib.Path) -> list[tuple[str, list[str]]]:
    """Return ``(command, expected output lines)`` for each ``$`` line of a page."""
    out: list[tuple[str, list[str]]] = []
    for block in BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].strip(), []))
            elif out and line.strip():
                out[-1][1].append(line)
    return out


PAGES = sorted(p for p in DOCS.glob("*.md") if _commands(p))


#: Live servers a page's console blocks check with ``check-host 127.0.0.1:PORT``: for each
#: port of the page, the files (relative to the run's folder) the server is started with
#: when that command runs — what the real server would load after its restart.
LIVE: dict[str, dict[str, tuple[str, ...]]] = {
    "howto-renew.md": {
        "8443": ("demo/tomcat.jks",),
        "8444": ("apache/www.demo.example.fullchain.crt", "apache/www.demo.example.key"),
    },
}
_LIVE_HOST = re.compile(r"^127\.0\.0\.1:(\d+)$")


def _served(folder: pathlib.Path, files: tuple[str, ...]) -> tuple[list[certkit.Certificate],
                                                                    bytes]:
    """The chain (leaf first) and key PEM a server given ``files`` would send and use."""
    certificates: dict[bytes, certkit.Certificate] = {}
    key_pem = b""
    for name in files:
        store = certkit.load(folder / name, password="changeit")
        for entry in store.key_entries:
            key_pem = key_pem or entry.private_key.to_pem()
        for cert in store.certificates:
            certificates.setdefault(cert.der, cert)
    return list(certificates.values()), key_pem


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_console_blocks_run(page: pathlib.Path, tmp_path: pathlib.Path,
                            demo_run: tuple[pathlib.Path, subprocess.CompletedProcess[str]],
                            ) -> None:
    """Each documented command exits as the page says (0, or 2 where it shows an error);
    a ``check-host`` of a live page asks a local TLS server started with the page's files."""
    env = {**os.environ, "STOREPASS": "changeit", "PFX_PASS": "changeit"}
    (tmp_path / "pass.txt").write_text("changeit\n")
    live = LIVE.get(page.name, {})
    with contextlib.ExitStack() as stack:
        for command, expected in _commands(page):
            if command.startswith(SKIP):
                continue
            argv = shlex.split(command, comments=True)
            for index, arg in enumerate(argv):
                found = _LIVE_HOST.match(arg)
                if found and found.group(1) in live:
                    chain, key_pem = _served(tmp_path, live[found.group(1)])
                    server = stack.enter_context(servers.python_tls(
                        tmp_path / f"server-{found.group(1)}", chain, key_pem))
                    argv[index] = f"{servers.HOST}:{server.port}"
            if argv[:2] == ["certkit", "demo"] and len(argv) == 4 \
                    and argv[2] in ("--out", "--out-dir"):
                # The same command ran once for the session; its folder is copied here.
                shutil.copytree(demo_run[0], tmp_path / argv[3])
                result = demo_run[1]
            elif argv[0] == "certkit":  # in process: the console script has its own tests
                result = certkit_cli(argv[1:], cwd=tmp_path, env=env)
            else:
                result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True,
                                        text=True, timeout=120, check=False)
            shown_error = [line for line in expected if line.startswith("certkit: error:")]
            if shown_error:
                assert result.returncode == 2, f"{command!r} should fail as {page.name} shows"
                for line in shown_error:
                    assert line in result.stderr, (command, result.stderr)
            else:
                assert result.returncode == 0, (
                    f"{page.name}: {command!r} exited {result.returncode}\n{result.stderr}"
                    f"\n{result.stdout}")
            for line in expected:
                if not line.startswith("certkit: error:") and live:
                    assert line in result.stdout, (command, line, result.stdout)


def test_every_page_is_in_a_toctree() -> None:
    """Every page is reachable from the index (Sphinx would warn, and -W fail, otherwise)."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name == "index.md":
            continue
        assert page.stem in index or page.name.startswith("howto-"), page.name


# -- Python blocks -------------------------------------------------------------------------

PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
#: The password the docs' ``password`` variable holds (a reader gets it from a prompt).
PASSWORD = "changeit"
#: What every page's blocks may take as given, for the run and for mypy alike.
PRELUDE = f"import certkit\n\npassword: str = {PASSWORD!r}\n"
#: A ``>>>`` block shows a value of a store the page has been talking about.
DOCTEST_SETUP = 'store = certkit.load("site.pfx", password=password)\n'
#: Reading blocks, run a second time against a store holding a locked key, a secret key
#: and a trusted certificate (what the loops must survive).
READING = [("README.md", 0), ("quickstart.md", 0)]


def _python_blocks(page: pathlib.Path) -> list[str]:
    return PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))


PY_PAGES = sorted((p for p in [ROOT / "README.md", *DOCS.glob("*.md")] if _python_blocks(p)),
                  key=lambda p: p.name)


def _runnable(code: str) -> str:
    """Server paths (``/etc/nginx/tls``…) land in the test's folder instead."""
    return code.replace('"/etc/', '"etc/')


def _as_module(page: pathlib.Path) -> str:
    """The page's blocks as one module, in reading order, ``>>>`` sessions as statements."""
    parts = [PRELUDE]
    for code in _python_blocks(page):
        if code.lstrip().startswith(">>>"):
            parts.append(DOCTEST_SETUP)
            parts.extend(line[4:] for line in code.splitlines() if line.startswith(">>> "))
        else:
            parts.append(code)
    return "\n".join(parts) + "\n"


def _write_files(folder: pathlib.Path, pki: PKI) -> None:
    """Every file a Python block of the docs refers to."""
    site = KeyStore([KeyEntry("site", pki.leaf.key, pki.chain),
                     TrustedCertEntry("ca", pki.root.certificate)])
    for name in ("site.pfx", "a.pfx", "b.pfx", "exports/www.pfx", "exports/mail.pfx"):
        (folder / name).parent.mkdir(exist_ok=True)
        certkit.save(site, folder / name, password=PASSWORD)
    bundle = KeyStore([KeyEntry("site", pki.leaf.key, pki.chain[:2])])
    certkit.save(bundle, folder / "bundle.pem")
    certkit.save(bundle, folder / "apache.pem")
    (folder / "demo").mkdir()
    for name in ("server.cer", "demo/server.cer"):
        (folder / name).write_bytes(pki.leaf.certificate.der)
    chain = KeyStore([TrustedCertEntry(c.common_name or "c", c) for c in pki.chain])
    certkit.save(chain, folder / "demo" / "chain.p7b", format="pkcs7")
    (folder / "new-www.crt").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "www.example.com.crt").write_bytes(pki.leaf.certificate.to_pem())
    certkit.save(site, folder / "big.jceks", password=PASSWORD)
    (folder / "issuing-ca.crt").write_bytes(pki.intermediate.certificate.to_pem())
    # Tomcat: a keystore whose key has its own password, and one awaiting its CA reply.
    certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, pki.chain)]), folder / "old.jks",
                 password="storepass", key_password="keypass")
    placeholder = issue("localhost", key=pki.leaf.key)
    certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, [placeholder.certificate])]),
                 folder / "tomcat.jks", password=PASSWORD)
    reply = KeyStore([TrustedCertEntry(c.common_name or "c", c) for c in pki.chain[:2]])
    certkit.save(reply, folder / "reply.p7b", format="pkcs7")


@pytest.fixture(scope="module")
def doc_files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The files the Python blocks refer to, made once and copied for each block."""
    folder = tmp_path_factory.mktemp("doc-files")
    _write_files(folder, pki)
    return folder


@pytest.fixture(scope="module")
def mixed_files(pki: PKI, doc_files: pathlib.Path,
                tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The same files, but site.pfx and demo/chain.p7b hold a JCEKS store with a locked key
    (its own key password), a locked secret key and a trusted certificate."""
    folder = tmp_path_factory.mktemp("doc-files-mixed") / "files"
    shutil.copytree(doc_files, folder)
    mixed = KeyStore([KeyEntry("site", pki.leaf.key, pki.chain),
                      TrustedCertEntry("ca", pki.root.certificate),
                      SecretKeyEntry("aes", "AES", bytes(range(16)))])
    data = certkit.dump(mixed, "jceks", password=PASSWORD, key_password="its own")
    for name in ("site.pfx", "demo/chain.p7b"):
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def www_server(pki: PKI, tmp_path: pathlib.Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """www.example.com and 192.0.2.10 of the docs, answered by a local TLS server."""
    with servers.python_tls(tmp_path / "www", pki.chain[:2], pki.leaf.key.to_pem()) as server:
        real_check, real_fetch = certkit.check_host, certkit.fetch_chain

        def check_host(host: str, port: int = 443, **options: Any) -> certkit.HostReport:
            options.setdefault("servername", host)
            return real_check(servers.HOST, server.port, **options)

        def fetch_chain(host: str, port: int = 443, **options: Any) -> certkit.Chain:
            return real_fetch(servers.HOST, server.port, **options)

        monkeypatch.setattr(certkit, "check_host", check_host)
        monkeypatch.setattr(certkit, "fetch_chain", fetch_chain)
        yield server.port


def _run_block(code: str, namespace: dict[str, Any], where: str) -> None:
    if code.lstrip().startswith(">>>"):
        if "store" not in namespace:
            exec(DOCTEST_SETUP, namespace)  # noqa: S102 - the docs' own setup line
        test = doctest.DocTestParser().get_doctest(code, namespace, where, where, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        report = io.StringIO()
        runner.run(test, out=report.write, clear_globs=False)
        assert not runner.failures, report.getvalue()
    else:
        exec(compile(_runnable(code), where, "exec"), namespace)  # noqa: S102 - the docs' code


#: The files each page's Python blocks read (a page not listed gets them all).
NEEDS = {
    "README.md": ("site.pfx", "server.cer", "a.pfx", "b.pfx"),
    "quickstart.md": ("demo",),
    "model.md": ("site.pfx",),
    "howto-backup.md": ("site.pfx", "tomcat.jks"),
    "howto-export-for-servers.md": ("site.pfx",),
    "howto-old-certificate-after-renewal.md": ("new-www.crt",),
    "howto-pem-der-p7b.md": ("demo",),
    "howto-pfx-to-pem.md": ("site.pfx", "exports", "bundle.pem"),
    "howto-tomcat-keystore.md": ("apache.pem", "old.jks", "issuing-ca.crt"),
    "howto-tomcat-public-keys-dont-match.md": ("tomcat.jks", "reply.p7b"),
}


def _fresh(files: pathlib.Path, folder: pathlib.Path, page: str) -> pathlib.Path:
    """A new folder holding a copy of the files ``page`` reads."""
    folder.mkdir()
    for name in NEEDS.get(page, tuple(p.name for p in files.iterdir())):
        source = files / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy2(source, folder / name)
    return folder


@pytest.mark.parametrize("page", PY_PAGES, ids=[p.name for p in PY_PAGES])
def test_python_blocks_run(page: pathlib.Path, doc_files: pathlib.Path, tmp_path: pathlib.Path,
                           monkeypatch: pytest.MonkeyPatch, www_server: int) -> None:
    """Each Python block runs, in reading order, each in a fresh copy of the files."""
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    exec(PRELUDE, namespace)  # noqa: S102 - the prelude every page may rely on
    for index, code in enumerate(_python_blocks(page)):
        monkeypatch.chdir(_fresh(doc_files, tmp_path / f"block{index}", page.name))
        _run_block(code, namespace, f"{page.name}, Python block {index + 1}")


@pytest.mark.parametrize("block", READING, ids=[f"{n}:{i}" for n, i in READING])
def test_reading_loops_survive_every_kind_of_entry(block: tuple[str, int],
                                                    mixed_files: pathlib.Path,
                                                    tmp_path: pathlib.Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The documented loops run on a store with a locked key, a secret key and a CA."""
    name, index = block
    page = next(p for p in PY_PAGES if p.name == name)
    monkeypatch.chdir(_fresh(mixed_files, tmp_path / "block", name))
    namespace: dict[str, Any] = {"__name__": "docs_mixed"}
    exec(PRELUDE, namespace)  # noqa: S102 - the prelude every page may rely on
    _run_block(_python_blocks(page)[index], namespace, f"{name}, Python block {index + 1}")
    printed = capsys.readouterr().out
    assert "RSA-2048" in printed  # the locked key told its algorithm
    assert "ca" in printed


@pytest.mark.slow
def test_python_blocks_pass_mypy_strict(tmp_path: pathlib.Path,
                                        pytestconfig: pytest.Config) -> None:
    """Every page's Python blocks, as one module each, pass ``mypy --strict``."""
    pytest.importorskip("mypy")
    # mypy's own incremental cache, kept between runs in pytest's cache folder: it rechecks
    # whatever changed (a file whose size, time or hash differs) and skips re-reading the
    # standard library's and cryptography's stubs, most of a cold run.
    cache = (pytestconfig.cache.mkdir("mypy-docs") if pytestconfig.cache is not None
             else tmp_path / "cache")
    files = []
    for page in PY_PAGES:
        module = tmp_path / f"docs_{re.sub(r'[^a-z0-9]+', '_', page.stem.lower())}.py"
        module.write_text(_as_module(page), encoding="utf-8")
        files.append(str(module))
    # The certkit the tests import: a checkout (an editable install's import hook is
    # invisible to mypy) goes on MYPYPATH; an installed package is found where it is.
    where = pathlib.Path(certkit.__file__).parent.parent
    env = dict(os.environ)
    if "site-packages" not in where.parts:
        env["MYPYPATH"] = str(where)
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--warn-unreachable",
                             "--cache-dir", str(cache), *files],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
