"""The commands in docs/ run: every ``$ certkit …`` line of every console block."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest
from conftest import ROOT, certkit_cli

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


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_console_blocks_run(page: pathlib.Path, tmp_path: pathlib.Path,
                            demo_run: tuple[pathlib.Path, subprocess.CompletedProcess[str]],
                            ) -> None:
    """Each documented command exits as the page says (0, or 2 where it shows an error)."""
    env = {**os.environ, "STOREPASS": "changeit", "PFX_PASS": "changeit"}
    (tmp_path / "pass.txt").write_text("changeit\n")
    for command, expected in _commands(page):
        if command.startswith(SKIP):
            continue
        argv = shlex.split(command, comments=True)
        if argv[:3] == ["certkit", "demo", "--out"] and len(argv) == 4:
            # The same command ran once for the session; its folder is copied here.
            shutil.copytree(demo_run[0], tmp_path / argv[3])
            result = demo_run[1]
        elif argv[0] == "certkit":  # in process: the console script has its own tests
            result = certkit_cli(argv[1:], cwd=tmp_path, env=env)
        else:
            result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                                    timeout=120, check=False)
        shown_error = [line for line in expected if line.startswith("certkit: error:")]
        if shown_error:
            assert result.returncode == 2, f"{command!r} should fail as {page.name} shows"
            for line in shown_error:
                assert line in result.stderr, (command, result.stderr)
        else:
            assert result.returncode == 0, (
                f"{page.name}: {command!r} exited {result.returncode}\n{result.stderr}")


def test_every_page_is_in_a_toctree() -> None:
    """Every page is reachable from the index (Sphinx would warn, and -W fail, otherwise)."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name == "index.md":
            continue
        assert page.stem in index or page.name.startswith("howto-"), page.name
