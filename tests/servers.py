"""Real servers on 127.0.0.1 for the tests: nginx, Apache httpd, HAProxy and Tomcat (TLS), and
Prometheus node_exporter.

Each context manager writes a minimal configuration into a folder of its own (config,
pid and log files all inside it), starts the server in the foreground on a free port,
waits until the port accepts connections, yields a :class:`Server`, and always stops it.
A server that does not come up fails the test with its own error log. The configuration
lines certkit's export prints are pasted in verbatim, as a user would.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence

import attrs
import pytest
from conftest import openssl, require_tool

from certkit import Certificate
from certkit._ops.remote import _der_items

HOST = "127.0.0.1"


@attrs.frozen
class Server:
    """A running server: its name, port, folder and the log that explains failures."""

    name: str
    port: int
    folder: pathlib.Path
    log: pathlib.Path

    def log_text(self) -> str:
        """The server's error log so far (empty if it wrote none)."""
        return _read(self.log)


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _binary(name: str) -> str:
    """A server binary: on PATH, else in /usr/sbin (not on every user's PATH), else skip."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    return found if found is not None else require_tool(name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _running(name: str, argv: Sequence[str], *, port: int, folder: pathlib.Path,
             log: pathlib.Path, timeout: float = 20.0,
             env: dict[str, str] | None = None, more_ports: Sequence[int] = ()) -> Iterator[Server]:
    """Start ``argv`` in the foreground, wait for its ports, yield, then stop it for sure."""
    console = folder / "console.log"
    with console.open("wb") as out:
        process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                   cwd=folder, env=env, start_new_session=True)
    server = Server(name, port, folder, log)
    try:
        deadline = time.monotonic() + timeout
        while not all(_accepts(p) for p in (port, *more_ports)):
            if process.poll() is not None or time.monotonic() > deadline:
                state = (f"exited with {process.returncode}" if process.poll() is not None
                         else f"did not listen on {port} within {timeout:.0f}s")
                pytest.fail(f"{name} {state}.\n--- error log ---\n{server.log_text()}\n"
                            f"--- console ---\n{_read(console)}\n--- config folder: {folder}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@contextlib.contextmanager
def nginx(folder: pathlib.Path, tls_lines: str, *, port: int | None = None) -> Iterator[Server]:
    """nginx serving TLS with ``tls_lines`` (``ssl_certificate …;``) pasted in its server block."""
    binary = _binary("nginx")
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "error.log"
    (folder / "nginx.conf").write_text(f"""
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {log} info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen {HOST}:{port} ssl;
        server_name localhost;
{tls_lines}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
    with _running("nginx", [binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                  port=port, folder=folder, log=log) as server:
        yield server


@contextlib.contextmanager
def node_exporter(folder: pathlib.Path, textfile_dir: pathlib.Path, *,
                  port: int | None = None) -> Iterator[Server]:
    """Prometheus node_exporter with only its textfile collector, reading ``textfile_dir``.

    The other collectors are off: they would read /proc and /sys for nothing, and start
    slower.
    """
    binary = _binary("prometheus-node-exporter")
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    argv = [binary, f"--web.listen-address={HOST}:{port}", "--collector.disable-defaults",
            "--collector.textfile", f"--collector.textfile.directory={textfile_dir}"]
    with _running("node_exporter", argv, port=port, folder=folder,
                  log=folder / "console.log") as server:
        yield server


@contextlib.contextmanager
def apache(folder: pathlib.Path, tls_lines: str, *, port: int | None = None) -> Iterator[Server]:
    """Apache httpd (mod_ssl) with ``tls_lines`` pasted in a ``<VirtualHost>``."""
    binary = _binary("apache2")
    modules = pathlib.Path("/usr/lib/apache2/modules")
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "error.log"
    loads = "\n".join(f"LoadModule {name}_module {modules}/mod_{name}.so"
                      for name in ("mpm_event", "authz_core", "socache_shmcb", "ssl"))
    (folder / "docroot").mkdir(exist_ok=True)
    (folder / "httpd.conf").write_text(f"""
ServerRoot {folder}
ServerName localhost
DefaultRuntimeDir {folder}
PidFile {folder}/httpd.pid
ErrorLog {log}
LogLevel info ssl:info
{loads}
User www-data
Group www-data
Listen {HOST}:{port}
SSLSessionCache shmcb:{folder}/ssl_scache(512000)
<VirtualHost {HOST}:{port}>
    ServerName localhost
    DocumentRoot {folder}/docroot
{tls_lines}
</VirtualHost>
""")
    env = {**os.environ, "APACHE_RUN_DIR": str(folder), "APACHE_LOCK_DIR": str(folder),
           "APACHE_LOG_DIR": str(folder)}
    with _running("apache2", [binary, "-f", str(folder / "httpd.conf"), "-DFOREGROUND"],
                  port=port, folder=folder, log=log, env=env) as server:
        yield server


@contextlib.contextmanager
def haproxy(folder: pathlib.Path, bind_line: str, *, port: int | None = None) -> Iterator[Server]:
    """HAProxy whose frontend uses certkit's ``bind … ssl crt …`` line on 127.0.0.1:port."""
    binary = _binary("haproxy")
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "console.log"  # HAProxy reports configuration errors on stderr
    bind = bind_line.strip().replace("bind :443", f"bind {HOST}:{port}", 1)
    (folder / "haproxy.cfg").write_text(f"""
global
    pidfile {folder}/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
    {bind}
    http-request return status 200 content-type text/plain string ok
""")
    with _running("haproxy", [binary, "-db", "-f", str(folder / "haproxy.cfg")],
                  port=port, folder=folder, log=log) as server:
        yield server


TOMCAT_HOME = pathlib.Path("/usr/share/tomcat10")


@contextlib.contextmanager
def tomcat(folder: pathlib.Path, connectors: Sequence[tuple[int, str]], *,
           properties: dict[str, str] | None = None) -> Iterator[Server]:
    """Tomcat 10 with certkit's ``<Connector>…<SSLHostConfig>`` snippets, each on its port.

    ``properties`` become Java system properties (how the snippet's
    ``${certkit.<name>.password}`` reference gets its value). The server's ``port`` is the
    first connector's.
    """
    java = require_tool("java")
    if not (TOMCAT_HOME / "bin" / "bootstrap.jar").exists():
        require_tool("tomcat10")  # skips (or fails in CI) with a clear name
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("conf", "logs", "temp", "work", "webapps"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "conf" / "web.xml").write_bytes((TOMCAT_HOME / "etc" / "web.xml").read_bytes())
    snippet = "\n".join(xml.replace('port="8443"', f'port="{port}" address="{HOST}"', 1)
                        for port, xml in connectors)
    (folder / "conf" / "server.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
{snippet}
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
""")
    log = folder / "console.log"
    argv = [java, "-Xshare:auto", "-XX:TieredStopAtLevel=1",
            f"-Dcatalina.home={TOMCAT_HOME}", f"-Dcatalina.base={folder}",
            f"-Djava.io.tmpdir={folder / 'temp'}",
            *(f"-D{k}={v}" for k, v in (properties or {}).items()),
            "-cp", f"{TOMCAT_HOME}/bin/bootstrap.jar:{TOMCAT_HOME}/bin/tomcat-juli.jar",
            "org.apache.catalina.startup.Bootstrap", "start"]
    ports = [port for port, _ in connectors]
    with _running("tomcat10", argv, port=ports[0], folder=folder, log=log, timeout=90,
                  more_ports=ports[1:]) as server:
        yield server


def handshake_chain(port: int, root_pem: pathlib.Path, *, servername: str = "localhost",
                    host: str = HOST) -> list[bytes]:
    """Handshake with Python's ``ssl`` trusting only ``root_pem``; return the DER chain sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(root_pem))
    with socket.create_connection((host, port), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=servername) as tls:
        return _der_items(tls)


def s_client_chain(port: int, root_pem: pathlib.Path, *, servername: str = "localhost",
                   verify: bool = True) -> list[bytes]:
    """``openssl s_client -showcerts`` against the server; return the DER chain it printed.

    With ``verify`` the handshake must verify against ``root_pem`` only
    (``-verify_return_error``), and the test fails with s_client's output otherwise.
    """
    args = ["s_client", "-connect", f"{HOST}:{port}", "-servername", servername,
            "-CAfile", str(root_pem), "-showcerts", "-verify_hostname", servername]
    if verify:
        args.append("-verify_return_error")
    result = openssl(*args, input=b"", check=False)
    text = result.stdout.decode(errors="replace")
    if verify:
        assert result.returncode == 0, f"s_client failed:\n{result.stderr.decode()}\n{text}"
        assert "Verify return code: 0 (ok)" in text, text
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text,
                        re.DOTALL)
    return [Certificate.load(block.encode()).der for block in blocks]


@attrs.define
class PythonServer:
    """A TLS server in a thread (Python's ``ssl``); records the SNI names clients sent."""

    port: int
    sni: list[str | None] = attrs.Factory(list)


@contextlib.contextmanager
def python_tls(folder: pathlib.Path, certificates: Sequence[Certificate], key_pem: bytes,
               *, starttls: str | None = None) -> Iterator[PythonServer]:
    """Serve ``certificates`` exactly in the given order (leaf first, or not) on 127.0.0.1.

    With ``starttls`` (``smtp``, ``imap``, ``pop3``) the server speaks that protocol's
    plain-text greeting and upgrade first, like a minimal mail server.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cert_file = folder / "served.pem"
    cert_file.write_bytes(b"".join(c.to_pem() for c in certificates))
    key_file = folder / "key.pem"
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    state = PythonServer(int(listener.getsockname()[1]))
    context.sni_callback = lambda _sock, name, _ctx: state.sni.append(name)  # type: ignore[assignment, func-returns-value]
    stop = threading.Event()

    def dialogue(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        if starttls == "smtp":
            conn.sendall(b"220 fake.test ESMTP\r\n")
            reader.readline()
            conn.sendall(b"250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            reader.readline()
            conn.sendall(b"220 go ahead\r\n")
        elif starttls == "imap":
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] fake ready\r\n")
            tag = reader.readline().split(b" ", 1)[0]
            conn.sendall(tag + b" OK begin TLS\r\n")
        elif starttls == "pop3":
            conn.sendall(b"+OK fake POP3\r\n")
            reader.readline()
            conn.sendall(b"+OK begin TLS\r\n")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    dialogue(conn)
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@attrs.define
class Dripper:
    """A TCP server on 127.0.0.1 that sends ``prefix``, then one byte every half second,
    forever (until the test ends): a peer no per-read timeout ever cuts off."""

    port: int
    connections: int = 0


@contextlib.contextmanager
def dripping(prefix: bytes = b"", byte: bytes = b"x") -> Iterator[Dripper]:
    """Serve every connection with ``prefix`` and then ``byte`` every 0.5 s until closed."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    state = Dripper(int(listener.getsockname()[1]))
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(prefix)
                while not stop.wait(0.5):
                    conn.sendall(byte)
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            state.connections += 1
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
        listener.close()
