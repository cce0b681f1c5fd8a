"""One deadline for a network peer: resolving, connecting, TLS, every read and every write.

A per-operation socket timeout does not bound a peer that answers one byte every half
second: each ``recv`` returns in time, and the whole exchange never ends. Here every
socket carries a :class:`Deadline` and re-arms its timeout to what is left of it before
each read or write, so a dripping server costs at most the deadline, whatever it sends.
The TLS handshake is one operation under one timeout (CPython bounds the whole
handshake by it). Name resolution runs in a helper thread waited for until the deadline,
as ``getaddrinfo`` itself takes no timeout.

:func:`resolve` is the one place names become addresses; callers that follow redirects
use it to refuse a hop from a public address to an internal one (:func:`is_internal`) and
then connect to exactly the addresses they checked.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

__all__ = ["Address", "Deadline", "HTTPConnection", "HTTPSConnection", "connect", "is_internal",
           "resolve", "wrap_tls"]

#: One ``getaddrinfo`` result: family, type, protocol, canonical name, socket address.
Address: TypeAlias = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


class Deadline:
    """A moment, ``timeout`` seconds from creation, after which nothing more is waited for."""

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left; :class:`TimeoutError` once there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {self.timeout:g}s")
        return left


class _Socket(socket.socket):
    """A socket whose every read and write waits only for what is left of its deadline."""

    deadline: Deadline | None = None

    def _arm(self) -> None:
        if self.deadline is not None:
            self.settimeout(self.deadline.remaining())

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: memoryview | bytearray,  # type: ignore[override]
                  nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: bytes, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        return super().send(data, flags)

    def sendall(self, data: bytes, flags: int = 0) -> None:  # type: ignore[override]
        self._arm()
        super().sendall(data, flags)


class _SSLSocket(ssl.SSLSocket):
    """The TLS counterpart of :class:`_Socket` (made by ``SSLContext.sslsocket_class``)."""

    deadline: Deadline | None = None

    def _arm(self) -> None:
        if self.deadline is not None:
            self.settimeout(self.deadline.remaining())

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(buflen, flags)

    def recv_into(self, buffer: memoryview | bytearray,  # type: ignore[override]
                  nbytes: int | None = None, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def send(self, data: bytes, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        return super().send(data, flags)

    def sendall(self, data: bytes, flags: int = 0) -> None:  # type: ignore[override]
        self._arm()
        super().sendall(data, flags)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _lookup(host: str, port: int) -> list[Address]:
    return [*socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def resolve(host: str, port: int, deadline: Deadline) -> list[Address]:
    """The TCP addresses of ``host``, within the deadline (``socket.gaierror`` if none)."""
    if _is_literal(host):
        return _lookup(host, port)
    found: list[list[Address]] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            found.append(_lookup(host, port))
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            failed.append(err)

    worker = threading.Thread(target=lookup, name=f"certkit-resolve-{host}", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if failed:
        raise failed[0]
    if not found:
        raise TimeoutError(f"resolving {host} took longer than {deadline.timeout:g}s")
    return found[0]


def is_internal(address: Address) -> bool:
    """Whether an address is loopback, link-local, private or otherwise not global."""
    ip = ipaddress.ip_address(address[4][0].split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


def connect(host: str, port: int, deadline: Deadline, *,
            addresses: Sequence[Address] | None = None) -> socket.socket:
    """A TCP connection to ``host`` (or to exactly ``addresses``) carrying ``deadline``."""
    infos = list(addresses) if addresses is not None else resolve(host, port, deadline)
    error: OSError = OSError(f"{host} has no address")
    for family, kind, proto, _, sockaddr in infos:
        sock = _Socket(family, kind, proto)
        sock.deadline = deadline
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(sockaddr)
        except OSError as err:
            sock.close()
            if isinstance(err, TimeoutError):
                raise
            error = err
            continue
        return sock
    raise error


def wrap_tls(context: ssl.SSLContext, sock: socket.socket, server_hostname: str | None,
             ) -> ssl.SSLSocket:
    """Shake hands over ``sock`` (from :func:`connect`) within what is left of its deadline."""
    deadline = sock.deadline if isinstance(sock, _Socket) else None
    context.sslsocket_class = _SSLSocket
    if deadline is not None:
        sock.settimeout(deadline.remaining())
    tls = context.wrap_socket(sock, server_hostname=server_hostname,
                              do_handshake_on_connect=False)
    assert isinstance(tls, _SSLSocket)
    tls.deadline = deadline
    try:
        if deadline is not None:
            tls.settimeout(deadline.remaining())
        tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return tls


class HTTPConnection(http.client.HTTPConnection):
    """``http.client`` over :func:`connect`: one deadline for the whole exchange."""

    def __init__(self, host: str, port: int, *, deadline: Deadline,
                 addresses: Sequence[Address] | None = None) -> None:
        super().__init__(host, port, timeout=deadline.timeout)
        self._deadline = deadline
        self._addresses = addresses

    def connect(self) -> None:
        """Connect within the deadline (to the checked addresses, when given)."""
        self.sock = connect(self.host, self.port, self._deadline, addresses=self._addresses)


class HTTPSConnection(http.client.HTTPSConnection):
    """``http.client`` over :func:`connect` and :func:`wrap_tls`: one deadline for all."""

    def __init__(self, host: str, port: int, *, deadline: Deadline, context: ssl.SSLContext,
                 addresses: Sequence[Address] | None = None) -> None:
        super().__init__(host, port, timeout=deadline.timeout, context=context)
        self._deadline = deadline
        self._addresses = addresses
        self._tls_context = context

    def connect(self) -> None:
        """Connect and shake hands within the deadline, checking the name as the context says."""
        raw = connect(self.host, self.port, self._deadline, addresses=self._addresses)
        try:
            self.sock = wrap_tls(self._tls_context, raw, self.host)
        except BaseException:
            raw.close()
            raise
