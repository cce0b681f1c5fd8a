"""What ships: the tests run against the installed package, typed, with a console script."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest
from conftest import ROOT

import certkit


def test_tests_import_the_installed_package() -> None:
    """Under nox the package comes from site-packages, never from the checkout by accident."""
    if os.environ.get("CERTKIT_TEST_INSTALLED") != "1":
        pytest.skip("not running under `nox -s tests` (CERTKIT_TEST_INSTALLED unset)")
    location = pathlib.Path(certkit.__file__).resolve()
    assert location.parent != ROOT / "certkit", location
    assert "site-packages" in location.parts


def test_package_is_marked_typed() -> None:
    """The installed package carries py.typed so users' type checkers use its annotations."""
    assert (pathlib.Path(certkit.__file__).parent / "py.typed").is_file()


def test_public_names_are_sorted_and_exported() -> None:
    """``__all__`` is sorted and every name in it exists."""
    assert list(certkit.__all__) == sorted(certkit.__all__)
    for name in certkit.__all__:
        assert hasattr(certkit, name), name


def test_console_script_is_installed() -> None:
    """``certkit`` is on PATH where the package is installed with its entry point."""
    if os.environ.get("CERTKIT_TEST_INSTALLED") != "1":
        pytest.skip("not running under `nox -s tests`")
    assert shutil.which("certkit") is not None


def test_no_ctypes_and_no_c_accelerator() -> None:
    """The installed package never reaches into a C library itself (``grep -r ctypes certkit``).

    Primitives come from hashlib, cryptography and pycryptodomex; no ``ctypes`` call into
    whatever libcrypto is loaded, no ``_speedups`` extension, no compiled file at all.
    """
    package = pathlib.Path(certkit.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert sources, package
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for word in ("ctypes", "_speedups"):
            assert word not in text, f"{path.relative_to(package)} mentions {word}"
    compiled = [p.name for p in package.rglob("*") if p.suffix in {".so", ".pyd", ".c", ".dll"}]
    assert compiled == []
