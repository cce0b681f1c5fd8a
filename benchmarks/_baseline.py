"""Shared by the benchmarks: an older certkit, exported from git, to measure beside this one.

``--baseline REV`` in a benchmark exports the ``certkit`` package of git revision REV into
a temporary folder; the benchmark runs it with that folder first on ``PYTHONPATH``, in the
same run and interleaved with the current code, so before/after numbers see the same noise.
(certkit is pure Python: the export runs exactly as the installed package would.)
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import tarfile


def export(revision: str, folder: pathlib.Path) -> pathlib.Path:
    """Export ``certkit/`` as of ``revision`` under ``folder``; return the folder for the path."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, "certkit"],
                             check=True, capture_output=True,
                             cwd=pathlib.Path(__file__).resolve().parent.parent).stdout
    target = folder / "baseline"
    target.mkdir()
    archive_path = folder / "baseline.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    return target


def env_for(base: pathlib.Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the exported baseline first on ``PYTHONPATH``."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(base),
                                                               env.get("PYTHONPATH", "")]))}


_LAUNCHER = """\
import sys
try:
    from certkit.cli import run as entry  # the console script's entry since it existed
except ImportError:
    from certkit.cli import main as entry
sys.exit(entry())
"""


def command(python: str, folder: pathlib.Path) -> list[str]:
    """The baseline's ``certkit`` command, run as pip's console script runs the current one
    (a tiny script importing the entry point), not as ``python -m certkit``, whose extra
    ``runpy`` start-up would make the baseline look slower than it was."""
    launcher = folder / "certkit-baseline.py"
    launcher.write_text(_LAUNCHER)
    return [python, str(launcher)]
