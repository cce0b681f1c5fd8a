"""The warm keytool (tests/warm_keytool.py) answers exactly as a keytool process does."""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import warm_keytool
from conftest import compile_java, java_program, keytool, require_tool

pytestmark = pytest.mark.interop

PW = "changeit"


def _process(*args: str | pathlib.Path) -> subprocess.CompletedProcess[bytes]:
    """A real keytool process, as ``keytool(...)`` ran it before the warm JVM."""
    return subprocess.run([require_tool("keytool"), "-J-Duser.language=en", *map(str, args)],
                          capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A JKS with a key entry and a trusted certificate, written by keytool."""
    path = tmp_path_factory.mktemp("warm") / "store.jks"
    keytool("-genkeypair", "-keystore", path, "-storetype", "jks", "-storepass", PW,
            "-keypass", PW, "-alias", "site", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=warm.example.test")
    keytool("-exportcert", "-keystore", path, "-storepass", PW, "-alias", "site", "-rfc",
            "-file", path.with_suffix(".pem"))
    keytool("-importcert", "-noprompt", "-keystore", path, "-storepass", PW, "-alias", "ca",
            "-file", path.with_suffix(".pem"))
    return path


class TestSameAnswers:
    """Output, warnings and exit codes match a separate keytool process."""

    def test_is_warm_on_this_jdk(self) -> None:
        """On the suite's JDK the commands really go to the long-lived JVM (the speed-up)."""
        if not warm_keytool.enabled():
            pytest.skip("CERTKIT_TEST_KEYTOOL=process")
        assert warm_keytool.serving(require_tool("keytool"))

    def test_listing(self, store: pathlib.Path) -> None:
        """``-list -v`` prints byte for byte what a keytool process prints (warning included)."""
        args = ("-list", "-v", "-keystore", store, "-storepass", PW)
        warm = keytool(*args)
        real = _process(*args)
        assert (warm.returncode, warm.stdout, warm.stderr) == (0, real.stdout, real.stderr)
        assert b"Alias name: site" in warm.stdout

    def test_wrong_password(self, store: pathlib.Path) -> None:
        """A wrong store password exits 1 with keytool's message, as the process does."""
        args = ("-list", "-keystore", store, "-storepass", "wrong")
        warm = keytool(*args, check=False)
        real = _process(*args)
        assert real.returncode == 1
        assert (warm.returncode, warm.stdout, warm.stderr) == (1, real.stdout, real.stderr)
        assert b"password was incorrect" in warm.stdout

    def test_unknown_command(self) -> None:
        """An unknown option exits as the process does, with the same usage text."""
        warm = keytool("-no-such-command", check=False)
        real = _process("-no-such-command")
        assert real.returncode != 0
        assert (warm.returncode, warm.stdout, warm.stderr) == (
            real.returncode, real.stdout, real.stderr)

    def test_missing_file(self, tmp_path: pathlib.Path) -> None:
        """A keystore that does not exist fails alike (nothing is created by a listing)."""
        args = ("-list", "-keystore", tmp_path / "none.jks", "-storepass", PW)
        warm = keytool(*args, check=False)
        real = _process(*args)
        assert (warm.returncode, warm.stdout, warm.stderr) == (
            real.returncode, real.stdout, real.stderr)
        assert not (tmp_path / "none.jks").exists()


_ECHO = """
public class Echo {
    public static void main(String[] args) {
        System.out.println(String.join("|", args));
        System.err.println("to stderr");
        if (args.length > 0 && args[0].equals("fail")) {
            System.exit(3);
        }
    }
}
"""


class TestOwnPrograms:
    """A test's own Java program answers in the warm JVM as a ``java`` process does."""

    @pytest.mark.parametrize("args", [("one", "two words", "\u00e9t\u00e9"), ("fail", "x")])
    def test_same_answers(self, args: tuple[str, ...]) -> None:
        """Output, errors and the System.exit code match ``java -cp folder Echo``."""
        classes = compile_java("Echo", _ECHO)
        warm = java_program(classes, "Echo", *args, check=False)
        real = subprocess.run([pathlib.Path(require_tool("java")), "-cp", classes, "Echo", *args],
                              capture_output=True, timeout=120, check=False)
        assert (warm.returncode, warm.stdout, warm.stderr) == (
            real.returncode, real.stdout, real.stderr)
        assert warm.returncode == (3 if args[0] == "fail" else 0)

    def test_missing_class_exits_1_and_the_jvm_stays(self, tmp_path: pathlib.Path) -> None:
        """A class that is not there fails as ``java`` fails (exit 1), and the next program
        still runs."""
        missing = java_program(tmp_path, "NoSuchProgram", check=False)
        assert missing.returncode == 1
        assert b"NoSuchProgram" in missing.stderr
        assert java_program(compile_java("Echo", _ECHO), "Echo", "again").stdout == b"again\n"
