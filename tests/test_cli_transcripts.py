"""docs/cli-transcripts.md holds real transcripts; this test reruns them and compares.

The commands run in a folder made by ``certkit demo --out-dir demo``. Values that differ on
every run (fingerprints, hashes, dates, serial numbers, temporary paths) are masked on
both sides before comparing, so the test fails when the *shape* of an output changes
and the page must be regenerated: ``CERTKIT_REGEN_DOCS=1 pytest tests/test_cli_transcripts.py``.
"""

from __future__ import annotations

import difflib
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest
from conftest import ROOT, certkit_cli

PAGE = ROOT / "docs" / "cli-transcripts.md"

COMMANDS = [
    "certkit inspect demo/server.cer demo/chain.p7b",
    "certkit inspect demo/iis-legacy.pfx --password-env PFX_PASS",
    "certkit convert demo/iis-legacy.pfx site.pem --password-env PFX_PASS",
    "certkit match demo/server.key demo/server.crt",
    "certkit modulus demo/server.key demo/server.crt",
    "certkit chain demo/issuing-ca.crt demo/server.crt",
    "certkit verify demo/apache.pem --trust demo/chain.p7b --servername www.demo.example",
    "certkit verify demo/apache.pem --trust demo/chain.p7b --servername mail.demo.example",
    "certkit keystore list demo/tomcat.jks --password-env STOREPASS",
    "certkit doctor demo/server.crt",
    "certkit doctor demo/server.crt --lang zh-TW",
    "certkit export --for nginx demo/apache.pem --out-dir nginx",
    "certkit backup demo/apache.pem --out-dir backup --password-env PFX_PASS",
    "certkit verify-backup backup --password-env PFX_PASS",
    "certkit scan demo --password-file pass.txt",
]

HEADER = """# Command-line transcripts

Real runs of `certkit` on the files `certkit demo --out-dir demo` creates (password
`changeit` in `PFX_PASS`, `STOREPASS` and `pass.txt`). They are produced by
`tests/test_cli_transcripts.py`, which reruns every command and fails when an output
changes shape; fingerprints, dates and paths differ from run to run because the demo
makes new keys each time. An exit code other than 0 is shown after the output.
"""

_MASKS = [
    (re.compile(r"/tmp/[^\s'\"]+"), "<path>"),
    (re.compile(r"\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){7,}\b"), "<hex>"),
    (re.compile(r"\b[0-9A-Fa-f]{12,}\b"), "<hex>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)?"), "<time>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"\b\d+ days?\b"), "<n> days"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b"), "<duration>"),
    (re.compile(r"[ \t]+"), " "),
]


def _mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _run_all(folder: pathlib.Path, demo: pathlib.Path) -> str:
    # In process (certkit.cli.main): what is printed is the same; tests/test_cli.py starts
    # the console script itself. `certkit demo --out demo` ran once for the session.
    env = {"PFX_PASS": "changeit", "STOREPASS": "changeit", "LANG": "C.UTF-8",
           "COLUMNS": "100"}
    shutil.copytree(demo, folder / "demo")
    (folder / "pass.txt").write_text("changeit\n")
    parts = [HEADER]
    for command in COMMANDS:
        argv = shlex.split(command)
        result = certkit_cli(argv[1:], cwd=folder, env=env)
        body = (result.stdout + result.stderr).rstrip()
        trailer = f"\n[exit {result.returncode}]" if result.returncode else ""
        parts.append(f"```text\n$ {command}\n{body}{trailer}\n```\n")
    return "\n".join(parts)


def test_transcripts_are_current(
    tmp_path: pathlib.Path, demo_run: tuple[pathlib.Path, subprocess.CompletedProcess[str]],
) -> None:
    """Every transcript in docs/cli-transcripts.md matches a fresh run (volatile values masked)."""
    assert demo_run[1].returncode == 0, demo_run[1].stderr
    fresh = _run_all(tmp_path, demo_run[0])
    if os.environ.get("CERTKIT_REGEN_DOCS") == "1":
        PAGE.write_text(fresh, encoding="utf-8")
    if not PAGE.exists():
        pytest.fail(f"{PAGE} is missing; run with CERTKIT_REGEN_DOCS=1 to create it")
    recorded = _mask(PAGE.read_text(encoding="utf-8"))
    current = _mask(fresh)
    diff = "\n".join(difflib.unified_diff(recorded.splitlines(), current.splitlines(),
                                          "docs/cli-transcripts.md", "fresh run", lineterm=""))
    assert not diff, ("docs/cli-transcripts.md is out of date; regenerate with "
                      "CERTKIT_REGEN_DOCS=1 pytest tests/test_cli_transcripts.py\n" + diff)


def test_transcripts_cover_every_command() -> None:
    """The transcripts show each top-level command that works offline on the demo files."""
    shown = {shlex.split(c)[1] for c in COMMANDS}
    assert {"inspect", "convert", "match", "modulus", "chain", "verify", "keystore",
            "doctor", "export", "backup", "verify-backup", "scan"} <= shown
