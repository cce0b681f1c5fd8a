"""The one network deadline and the address classification redirects are checked against."""

from __future__ import annotations

import socket
import time

import pytest
import servers

from certkit._ops import _net


def _address(ip: str) -> _net.Address:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return (family, socket.SOCK_STREAM, 6, "", (ip, 80))


class TestInternalAddresses:
    """Which addresses a public server may not redirect to."""

    @pytest.mark.parametrize("ip", ["127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4",
                                    "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",  # noqa: S104 - classified, not bound
                                    "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                                    "::ffff:10.0.0.1"])
    def test_internal(self, ip: str) -> None:
        """Loopback, private, link-local, shared and unspecified addresses are internal."""
        assert _net.is_internal(_address(ip))

    @pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                    "::ffff:8.8.8.8"])
    def test_public(self, ip: str) -> None:
        """Global addresses are not."""
        assert not _net.is_internal(_address(ip))


class TestDeadline:
    """Every read re-arms its timeout to what is left, so a dripping peer cannot outlast it."""

    def test_remaining_runs_out(self) -> None:
        """Once the moment has passed, remaining() raises TimeoutError."""
        deadline = _net.Deadline(0.01)
        time.sleep(0.02)
        with pytest.raises(TimeoutError):
            deadline.remaining()

    def test_dripping_peer_is_cut_at_the_deadline(self) -> None:
        """Reading byte after byte from a dripping server stops at the deadline, not never."""
        with servers.dripping(b"hello") as server:
            deadline = _net.Deadline(1.2)
            sock = _net.connect(servers.HOST, server.port, deadline)
            received = bytearray()

            def read_forever() -> None:
                while True:
                    received.extend(sock.recv(1))

            with sock, pytest.raises(TimeoutError):
                read_forever()
        assert received.startswith(b"hello")
        assert 1 <= len(received) - len(b"hello") <= 4  # about two drips in 1.2 s

    def test_resolution_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A resolver that hangs costs the deadline, not forever."""
        monkeypatch.setattr(_net, "_lookup", lambda host, port: time.sleep(3))
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"resolving slow\.example"):
            _net.resolve("slow.example", 80, _net.Deadline(0.3))
        assert time.monotonic() - started < 5
