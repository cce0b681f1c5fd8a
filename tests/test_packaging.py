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
