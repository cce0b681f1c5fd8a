"""The JDK's own keytool, run in one long-lived JVM instead of a JVM per command.

A keytool process spends most of its second starting Java and compiling keytool's code;
the suite runs over a hundred of them. Here one small Java program stays up for the test
session, reads argument lists from a pipe and calls ``sun.security.tools.keytool.Main`` —
the class the ``keytool`` launcher runs — with stdout and stderr captured per command and
``System.exit`` turned into an exit code. What keytool reads and writes is unchanged; only
the process boundary is gone. ``tests/test_warm_keytool.py`` holds it to the same answers
as a real ``keytool`` process, and ``CERTKIT_TEST_KEYTOOL=process`` switches it off.

Anything this cannot serve the same way — another working directory than the JVM's, a
JDK without a SecurityManager to catch ``System.exit`` (24 removed it), a server that
failed to start — falls back to a real ``keytool`` process.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import pathlib
import select
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Sequence

SOURCE = r"""
import java.io.*;
import java.lang.reflect.*;
import java.net.URL;
import java.net.URLClassLoader;
import java.security.Permission;
import java.util.Arrays;

public class WarmKeytool {
    /** Thrown where System.exit would end the process; an Error, so no catch block sees it. */
    static final class Exit extends Error {
        Exit() { super("exit", null, false, false); }
    }

    /** Captures a command's output until it exits: nothing a dead process could print. */
    static final class Capture extends ByteArrayOutputStream {
        boolean closed;
        @Override public synchronized void write(int b) { if (!closed) super.write(b); }
        @Override public synchronized void write(byte[] b, int off, int len) {
            if (!closed) super.write(b, off, len);
        }
    }

    static Capture out, err;
    static Integer exitCode;

    public static void main(String[] unused) throws Exception {
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
        DataOutputStream reply = new DataOutputStream(
            new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)));
        PrintStream realOut = System.out, realErr = System.err;
        System.setSecurityManager(new SecurityManager() {
            @Override public void checkPermission(Permission p) {}
            @Override public void checkPermission(Permission p, Object context) {}
            @Override public void checkExit(int status) {
                if (exitCode == null) {
                    System.out.flush();
                    System.err.flush();
                    out.closed = err.closed = true;
                    exitCode = status;
                }
                throw new Exit();
            }
        });
        Method main = Class.forName("sun.security.tools.keytool.Main")
            .getMethod("main", String[].class);
        reply.writeInt(0x6b740a00);  // ready
        reply.flush();
        while (true) {
            int count;
            try { count = in.readInt(); } catch (EOFException end) { return; }
            String[] args = new String[count];
            for (int i = 0; i < count; i++) {
                byte[] word = new byte[in.readInt()];
                in.readFully(word);
                args[i] = new String(word, "UTF-8");
            }
            Method target = main;
            if (count >= 3 && args[0].equals("\0class")) {  // a test's own program
                String name = args[2];
                try {
                    URL folder = new File(args[1]).toURI().toURL();
                    target = new URLClassLoader(new URL[] {folder}).loadClass(name)
                        .getMethod("main", String[].class);
                } catch (ReflectiveOperationException | IOException e) {
                    // What the java launcher says and does (exit 1), the server kept up.
                    byte[] why = ("Error: Could not find or load main class " + name
                                  + "\nCaused by: " + e + "\n").getBytes("UTF-8");
                    reply.writeInt(1);
                    reply.writeInt(0);
                    reply.writeInt(why.length);
                    reply.write(why);
                    reply.flush();
                    continue;
                }
                args = Arrays.copyOfRange(args, 3, count);
            }
            out = new Capture();
            err = new Capture();
            exitCode = null;
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            System.setIn(new ByteArrayInputStream(new byte[0]));
            int code = 0;
            try {
                target.invoke(null, (Object) args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (!(cause instanceof Exit)) {  // what the launcher does with it
                    System.err.print("Exception in thread \"main\" ");
                    cause.printStackTrace();
                    code = 1;
                }
            } finally {
                System.out.flush();
                System.err.flush();
                System.setOut(realOut);
                System.setErr(realErr);
            }
            if (exitCode != null) {
                code = exitCode;
            }
            byte[] o = out.toByteArray(), e = err.toByteArray();
            reply.writeInt(code);
            reply.writeInt(o.length);
            reply.write(o);
            reply.writeInt(e.length);
            reply.write(e);
            reply.flush();
        }
    }
}
"""

READY = 0x6B740A00
TIMEOUT = 120.0


class _UnavailableError(Exception):
    """The warm JVM cannot answer this command; run a real keytool process instead."""


def compiled(javac: str, name: str, source: str) -> pathlib.Path:
    """The folder holding class ``name`` compiled from ``source``: compiled once per machine,
    JDK and source (shared by xdist workers and by every Python's run), as javac is slow."""
    digest = hashlib.sha256(f"{javac}\n{name}\n{source}".encode()).hexdigest()[:16]
    folder = pathlib.Path(tempfile.gettempdir()) / f"certkit-tests-java-{name}-{digest}"
    if (folder / f"{name}.class").exists():
        return folder
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f"java-{name}-"))
    (staging / f"{name}.java").write_text(source)
    result = subprocess.run([javac, "-nowarn", "-d", staging, staging / f"{name}.java"],
                            capture_output=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise _UnavailableError(result.stderr.decode(errors="replace"))
    try:
        staging.rename(folder)  # atomic: another worker may have won the race
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


class _Server:
    """One JVM (per set of ``-J`` options) running keytool commands one at a time."""

    def __init__(self, keytool: str, jvm_options: Sequence[str]) -> None:
        bin_dir = pathlib.Path(os.path.realpath(keytool)).parent
        java, javac = bin_dir / "java", bin_dir / "javac"
        if not (java.exists() and javac.exists()):
            raise _UnavailableError(f"no java/javac beside {keytool}")
        folder = compiled(str(javac), "WarmKeytool", SOURCE)
        self.cwd = os.getcwd()
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [java, *jvm_options, "-Djava.security.manager=allow", "--add-exports",
             "java.base/sun.security.tools.keytool=ALL-UNNAMED", "-cp", folder, "WarmKeytool"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        try:
            (ready,) = struct.unpack(">i", self._read(4))
        except _UnavailableError:
            self.close()
            raise
        if ready != READY:
            self.close()
            raise _UnavailableError("the warm keytool did not start")

    def _read(self, size: int) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while size:
            ready, _, _ = select.select([fd], [], [], TIMEOUT)
            if not ready:
                self.close()
                raise TimeoutError(f"keytool did not answer in {TIMEOUT:.0f} s")
            chunk = os.read(fd, size)
            if not chunk:
                self.close()
                raise _UnavailableError("the warm keytool JVM exited")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def run(self, args: Sequence[str]) -> tuple[int, bytes, bytes]:
        """Run one keytool command; return its exit code, stdout and stderr."""
        if os.getcwd() != self.cwd:
            raise _UnavailableError("relative paths would resolve elsewhere")
        words = [a.encode() for a in args]
        message = struct.pack(">i", len(words)) + b"".join(
            struct.pack(">i", len(w)) + w for w in words)
        with self.lock:
            assert self.process.stdin is not None
            self.process.stdin.write(message)
            self.process.stdin.flush()
            code, out_size = struct.unpack(">ii", self._read(8))
            out = self._read(out_size)
            (err_size,) = struct.unpack(">i", self._read(4))
            err = self._read(err_size)
        return code, out, err

    def close(self) -> None:
        """Let the JVM finish (end of input), or kill it."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


_servers: dict[tuple[str, ...], _Server | None] = {}
#: Held while a server is started, so that threads asking at once share one JVM.
_starting = threading.Lock()


@atexit.register
def _close_all() -> None:
    for server in _servers.values():
        if server is not None:
            server.close()


def _server(keytool: str, jvm_options: tuple[str, ...]) -> _Server | None:
    """The warm JVM for these ``-J`` options, started on first use; None where there is none."""
    if not enabled():
        return None
    with _starting:
        if jvm_options not in _servers:
            try:
                _servers[jvm_options] = _Server(keytool, jvm_options)
            except _UnavailableError:
                _servers[jvm_options] = None
        return _servers[jvm_options]


def _ask(keytool: str, jvm_options: tuple[str, ...],
         words: list[str]) -> tuple[int, bytes, bytes] | None:
    """The warm JVM's answer (exit code, stdout, stderr), or None: run a process instead."""
    server = _server(keytool, jvm_options)
    if server is None:
        return None
    try:
        return server.run(words)
    except (_UnavailableError, BrokenPipeError):
        if server.process.poll() is not None:  # gone for good, not just another cwd
            _servers[jvm_options] = None
        return None


def serving(keytool: str, jvm_options: Sequence[str] = ("-Duser.language=en",)) -> bool:
    """Whether commands with these ``-J`` options run in a warm JVM (starting it if need be)."""
    run(keytool, [f"-J{o}" for o in jvm_options] + ["-help"])
    return _servers.get(tuple(jvm_options)) is not None


def enabled() -> bool:
    """Whether keytool commands go to the warm JVM (``CERTKIT_TEST_KEYTOOL=process``: no)."""
    return os.environ.get("CERTKIT_TEST_KEYTOOL", "warm") != "process"


def run(keytool: str, args: Sequence[str | os.PathLike[str]]) -> subprocess.CompletedProcess[bytes]:
    """Run ``keytool *args`` in the warm JVM, or as a process when that cannot serve it."""
    words = [os.fspath(a) for a in args]
    jvm = tuple(w[2:] for w in words if w.startswith("-J"))
    rest = [w for w in words if not w.startswith("-J")]
    argv = [keytool, *words]
    answer = _ask(keytool, jvm, rest)
    if answer is not None:
        return subprocess.CompletedProcess(argv, *answer)
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)


def java(keytool: str, classes: pathlib.Path, main_class: str,
         args: Sequence[str | os.PathLike[str]],
         jvm_options: Sequence[str] = ()) -> subprocess.CompletedProcess[bytes]:
    """Run a test's own Java program (``main_class`` in the folder ``classes``) in the warm
    JVM (one per set of ``jvm_options``), or as ``java *jvm_options -cp classes main_class
    *args`` when that cannot serve it.

    The program runs in a class loader of its own, with its output captured and
    ``System.exit`` caught as for keytool; ``keytool`` names the JDK (the ``java`` beside it).
    """
    words = [os.fspath(a) for a in args]
    jvm = ("-Duser.language=en", *jvm_options)
    answer = _ask(keytool, jvm, ["\0class", os.fspath(classes), main_class, *words])
    if answer is not None:
        return subprocess.CompletedProcess([main_class, *words], *answer)
    java_bin = pathlib.Path(os.path.realpath(keytool)).parent / "java"
    return subprocess.run([java_bin, *jvm, "-cp", classes, main_class, *words],
                          capture_output=True, timeout=TIMEOUT, check=False)
