"""Only regular files are read: FIFOs, sockets and devices beside real files, for every walker.

Each walker (``scan``, ``find_key``, a trust folder, ``load`` of a path) meets a folder
holding a FIFO, a UNIX socket and a symbolic link to ``/dev/zero`` next to the files it
should find. A FIFO opened for reading blocks until a writer comes and ``/dev/zero`` never
ends, so a regression would hang: every call runs under an alarm, and the CLI in a child
process with a time limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import PKI
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import KeyIndex, scan
from certkit._ops.api import read_file
from certkit._ops.chains import CertificatePool
from certkit.errors import DecodeError, ReadError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


class _HungError(Exception):
    """Raised by the alarm: the call did not finish in time."""


@contextlib.contextmanager
def _within(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise _HungError(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def traps(tmp_path: pathlib.Path, pki: PKI) -> Iterator[pathlib.Path]:
    """A folder with the leaf's key and certificate, a FIFO, a socket and a link to /dev/zero."""
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "server.key").write_bytes(pki.leaf.key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (folder / "chain.pem").write_bytes(pki.intermediate.certificate.to_pem()
                                       + pki.root.certificate.to_pem())
    os.mkfifo(folder / "a-pipe.pem")
    (folder / "b-zero.key").symlink_to("/dev/zero")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "c-socket.pem"))
    try:
        yield folder
    finally:
        listener.close()


_TRAPS = ("a-pipe.pem", "b-zero.key", "c-socket.pem")


class TestReadFile:
    """The one bounded reader behind every file certkit reads."""

    def test_fifo_is_refused_without_blocking(self, traps: pathlib.Path) -> None:
        """A FIFO with no writer is refused as a FIFO, not waited on."""
        with _within(5), pytest.raises(ReadError, match="FIFO"):
            read_file(traps / "a-pipe.pem")

    def test_link_to_dev_zero_is_refused(self, traps: pathlib.Path) -> None:
        """A symbolic link to /dev/zero is a character device, refused before reading."""
        with _within(5), pytest.raises(ReadError, match="character device"):
            read_file(traps / "b-zero.key")

    def test_load_of_a_fifo_path_is_refused(self, traps: pathlib.Path) -> None:
        """``certkit.load`` of a FIFO's path raises ReadError (an OSError too) at once."""
        with _within(5), pytest.raises(ReadError, match="not a regular file"):
            certkit.load(traps / "a-pipe.pem")

    def test_reads_no_more_than_the_limit_plus_one(self, tmp_path: pathlib.Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """A file larger than the limit is refused after limit + 1 bytes, whatever stat said."""
        path = tmp_path / "big.pem"
        path.write_bytes(b"x" * 10_000)
        asked: list[int] = []
        real_read = os.read

        def spy(fd: int, size: int) -> bytes:
            asked.append(size)
            return real_read(fd, size)

        real_fstat = os.fstat

        def lying_fstat(fd: int) -> os.stat_result:
            info = real_fstat(fd)
            values = list(info)
            values[6] = 10  # st_size: the file claims to be tiny
            return os.stat_result(values)

        monkeypatch.setattr(os, "fstat", lying_fstat)
        monkeypatch.setattr(os, "read", spy)
        with pytest.raises(DecodeError, match="larger than"):
            read_file(path, limit=100)
        assert sum(asked) <= 10_000

    def test_a_file_under_the_limit_is_read_whole(self, tmp_path: pathlib.Path) -> None:
        """The bytes come back unchanged when the file is within the limit."""
        path = tmp_path / "f.bin"
        path.write_bytes(bytes(range(256)) * 300)
        assert read_file(path, limit=256 * 300) == bytes(range(256)) * 300


class TestWalkers:
    """Every walker skips what is not a regular file, says so, and finds the key beside it."""

    def test_find_key(self, traps: pathlib.Path, pki: PKI) -> None:
        """find_key over the folder finds the leaf's key; the traps are skipped with a reason."""
        with _within(10):
            index = KeyIndex([traps])
            found = index.find(pki.leaf.certificate)
        assert found == pki.leaf.key
        skipped = dict(index.skipped)
        assert "FIFO" in skipped[str(traps / "a-pipe.pem")]
        assert "character device" in skipped[str(traps / "b-zero.key")]
        assert "socket" in skipped[str(traps / "c-socket.pem")]

    def test_scan(self, traps: pathlib.Path, pki: PKI) -> None:
        """scan pairs the key with nothing blocking; the traps are listed as skipped."""
        with _within(10):
            report = scan(traps, trust_system=False)
        assert [key.path for key in report.keys] == [str(traps / "server.key")]
        skipped = {issue.path: issue for issue in report.skipped}
        assert set(skipped) == {str(traps / name) for name in _TRAPS}
        assert {issue.reason for issue in report.skipped} == {"not-a-regular-file"}
        assert "FIFO" in skipped[str(traps / "a-pipe.pem")].detail
        assert not report.unreadable

    def test_trust_folder(self, traps: pathlib.Path, pki: PKI) -> None:
        """A trust folder with the traps yields its certificates and lists the traps."""
        with _within(10):
            pool = CertificatePool([traps])
        assert pki.root.certificate in pool
        assert {path for path, _ in pool.skipped} >= {str(traps / name) for name in _TRAPS}

    def test_chain_with_trust_folder(self, traps: pathlib.Path, pki: PKI) -> None:
        """build_chain with the folder as trust store completes the leaf's chain."""
        with _within(10):
            chain = certkit.build_chain(pki.leaf.certificate, trust=str(traps))
        assert chain.certificates == pki.chain


def _cli(*args: str | os.PathLike[str]) -> tuple[int, dict[str, object]]:
    result = subprocess.run([sys.executable, "-m", "certkit", *map(str, args), "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.returncode, json.loads(result.stdout)


class TestCommandLine:
    """The commands finish over the traps (a child process with a time limit) and say why."""

    def test_find_key(self, traps: pathlib.Path, pki: PKI, tmp_path: pathlib.Path) -> None:
        """``certkit find-key`` finds the key and lists the FIFO and the device as skipped."""
        cert = tmp_path / "server.crt"
        cert.write_bytes(pki.leaf.certificate.to_pem())
        code, data = _cli("find-key", cert, traps)
        assert code == 0
        assert data["found"] == {"path": str(traps / "server.key"), "alias": "private-key",
                                 "algorithm": "RSA-2048"}
        reasons = {item["path"]: item["reason"] for item in data["skipped"]}  # type: ignore[attr-defined]
        assert "FIFO" in reasons[str(traps / "a-pipe.pem")]
        assert "character device" in reasons[str(traps / "b-zero.key")]

    def test_scan(self, traps: pathlib.Path) -> None:
        """``certkit scan`` reads the key and lists the three traps as skipped."""
        _, data = _cli("scan", traps)
        assert data["keys"] == 1
        assert sorted(item["path"] for item in data["skipped"]) == [  # type: ignore[attr-defined]
            str(traps / name) for name in _TRAPS]
