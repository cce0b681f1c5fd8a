"""The command line's errors: a JSON error object under --json, fixes spelled as options."""

from __future__ import annotations

import io
import json
import pathlib
import re

import pytest
from conftest import PKI

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.cli import main
from certkit.errors import FileExistsCertkitError, Hint, PasswordError

#: How Python spells a fix; none of it may reach a command-line user.
PYTHON_WORDS = re.compile(r"\b\w+=…|password=|key_passwords|\ballow_\w+=|build_chain|"
                          r"max_work|overwrite=|source_passwords|=True\b")


def run_cli(*argv: str | pathlib.Path) -> tuple[int, str]:
    """Run ``certkit`` in-process; return the exit code and stdout."""
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A PFX under 'pfxpass', one without password, a JKS whose key has its own, a leaf, a key."""
    folder = tmp_path_factory.mktemp("errors")
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]), folder / "site.pfx",
                 password="pfxpass")
    certkit.save(KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)]), folder / "web.jks",
                 password="storepass", key_passwords={"web": "keysecret"})
    certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]),
                 folder / "leaf.crt")
    certkit.save(KeyStore([KeyEntry("key", pki.leaf.key)]), folder / "server.key")
    certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]),
                 folder / "nopw.pfx", encrypt_keys=False, encrypt_certificates=False)
    (folder / "pfxpass.txt").write_text("pfxpass\n")
    (folder / "storepass.txt").write_text("storepass\n")
    (folder / "wrong.txt").write_text("not-it\n")
    return folder


def _error_object(code: int, stdout: str) -> dict[str, object]:
    """The one JSON object stdout holds, checked to be an error with exit code 2."""
    assert code == 2
    data = json.loads(stdout)  # fails if anything but one JSON document is on stdout
    assert data["ok"] is False
    error = data["error"]
    assert isinstance(error, dict)
    assert set(error) >= {"type", "message", "path", "alias", "hint"}
    return error


class TestJSONErrors:
    """Under --json every failure is one JSON object on stdout, exit code 2."""

    def test_missing_file(self, files: pathlib.Path) -> None:
        """A missing input is a ReadError object naming the file."""
        error = _error_object(*run_cli("inspect", "--json", files / "absent.pem"))
        assert error["type"] == "ReadError"
        assert "absent.pem" in str(error["message"])

    def test_wrong_password(self, files: pathlib.Path) -> None:
        """A wrong password is a PasswordError object naming the file."""
        error = _error_object(*run_cli("inspect", "--json", files / "site.pfx",
                                       "--password-file", files / "wrong.txt"))
        assert error["type"] == "PasswordError"
        assert error["path"] == str(files / "site.pfx")

    def test_missing_password_names_the_option(self, files: pathlib.Path) -> None:
        """A missing password carries a hint whose option is --password-file."""
        error = _error_object(*run_cli("convert", "--json", files / "site.pfx",
                                       files / "out.pem"))
        hint = error["hint"]
        assert isinstance(hint, dict)
        assert hint["parameter"] == "password"
        assert str(hint["option"]).startswith("--password-file")

    def test_existing_output(self, files: pathlib.Path) -> None:
        """An output that exists is a FileExistsCertkitError object whose fix is --force."""
        existing = files / "existing.pem"
        existing.write_bytes(b"already here\n")
        error = _error_object(*run_cli("convert", "--json", files / "leaf.crt", existing))
        assert error["type"] == "FileExistsCertkitError"
        assert error["path"] == str(existing)
        assert existing.read_bytes() == b"already here\n"
        assert isinstance(error["hint"], dict)
        assert error["hint"]["option"] == "--force"

    @pytest.mark.parametrize("argv", [
        ("scan", "{missing}"), ("find-key", "{leaf}", "{missing}"), ("match", "{missing}",
                                                                      "{leaf}"),
        ("chain", "{missing}"), ("verify", "{missing}"), ("modulus", "{missing}"),
        ("keystore", "list", "{missing}"),
        ("backup", "{missing}", "--out", "{out}", "--password-file", "{pw}"),
        ("export", "--for", "nginx", "{missing}", "{out}"),
        ("check-host", "example.invalid:0"),
    ])
    def test_every_command(self, files: pathlib.Path, tmp_path: pathlib.Path,
                           argv: tuple[str, ...]) -> None:
        """Each command with --json answers an input error with the error object only."""
        values = {"missing": files / "absent.crt", "leaf": files / "leaf.crt",
                  "out": tmp_path / "out", "pw": files / "pfxpass.txt"}
        _error_object(*run_cli(*(a.format(**values) for a in argv), "--json"))

    def test_usage_error(self, files: pathlib.Path) -> None:
        """A usage error argparse finds is a UsageError object too, not argparse's text."""
        error = _error_object(*run_cli("inspect", "--json", "--no-such-option",
                                       files / "leaf.crt"))
        assert error["type"] == "UsageError"

    def test_text_mode_keeps_stdout_empty(self, files: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """Without --json the error is one stderr line and stdout stays empty."""
        code, out = run_cli("inspect", files / "absent.pem")
        assert (code, out) == (2, "")
        assert capsys.readouterr().err.startswith("certkit: error: ")


class TestCallerWords:
    """The API words a fix as Python, the command line as its option."""

    def test_api_keeps_python_words_and_a_hint(self, files: pathlib.Path) -> None:
        """certkit.load without a password says password=… and carries Hint('password')."""
        with pytest.raises(PasswordError) as info:
            certkit.load(files / "site.pfx")
        assert "password=…" in str(info.value)
        assert info.value.hint == Hint("password", path=str(files / "site.pfx"))

    def test_file_exists_hint(self, files: pathlib.Path) -> None:
        """The API's existing-output error says overwrite=True and carries its hint."""
        with pytest.raises(FileExistsCertkitError) as info:
            certkit.save(certkit.load(files / "leaf.crt"), files / "leaf.crt")
        assert "overwrite=True" in str(info.value)
        assert info.value.hint is not None
        assert info.value.hint.parameter == "overwrite"

    @pytest.mark.parametrize(("argv", "option"), [
        (("convert", "{pfx}", "{out}/a.pem"), "--password-file FILE"),
        (("convert", "{jks}", "{out}/a.pfx", "--password-file", "{storepw}"),
         "--key-password-file web=FILE"),
        (("convert", "{jks}", "{out}/a.pem", "--password-file", "{storepw}"),
         "--key-password-file web=FILE"),
        (("convert", "{leaf}", "{leaf}"), "--force"),
        (("convert", "{pfx}", "{out}/a.p7b", "--password-file", "{pfxpw}"), "--allow-loss"),
        (("export", "--for", "nginx", "{key}", "{leaf}", "{out}", "--trust", "{leaf}"),
         "--allow-incomplete"),
        (("export", "--for", "tomcat", "{key}", "{leaf}", "{out}", "--allow-incomplete"),
         "--new-password-file FILE"),
        (("backup", "{key}", "--out", "{out}/b", "--password-file", "{pfxpw}"),
         "--allow-unpaired"),
        (("inspect", "{pfx}", "--password-file", "{pfxpw}", "--max-work", "1"),
         "--max-work "),
        (("inspect", "{nopw}", "--password-file", "{pfxpw}"),
         "no --password-file or --password-env"),
    ])
    def test_cli_messages_name_options(self, files: pathlib.Path, tmp_path: pathlib.Path,
                                       capsys: pytest.CaptureFixture[str],
                                       argv: tuple[str, ...], option: str) -> None:
        """Each error whose API message names a parameter names the option on the CLI."""
        values = {"pfx": files / "site.pfx", "jks": files / "web.jks", "leaf": files / "leaf.crt",
                  "key": files / "server.key", "out": tmp_path, "pfxpw": files / "pfxpass.txt",
                  "storepw": files / "storepass.txt", "nopw": files / "nopw.pfx"}
        words = [a.format(**values) for a in argv]
        code, out = run_cli(*words)
        err = capsys.readouterr().err
        assert code == 2, (out, err)
        assert option in err
        assert not PYTHON_WORDS.search(err + out), err
        code, out = run_cli(*words, "--json")
        message = json.loads(out)["error"]["message"]
        assert option in message
        assert not PYTHON_WORDS.search(message), message

    def test_chain_of_two_leaves_points_to_the_command(self, pki: PKI, other_pki: PKI,
                                                       tmp_path: pathlib.Path) -> None:
        """Certificates that are not one chain point to `certkit chain --complete`."""
        certkit.save(KeyStore([TrustedCertEntry("a", pki.leaf.certificate),
                               TrustedCertEntry("b", other_pki.leaf.certificate),
                               TrustedCertEntry("i", pki.intermediate.certificate)]),
                     tmp_path / "mixed.pem")
        code, out = run_cli("chain", tmp_path / "mixed.pem")
        assert code == 1
        assert "certkit chain --complete" in out
        assert not PYTHON_WORDS.search(out), out


class TestDoctorSuggestions:
    """Every command doctor suggests runs as printed, password option included."""

    @pytest.fixture
    def scene(self, pki: PKI, tmp_path: pathlib.Path,
              monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
        """Files with the problems whose fixes are certkit commands, and the files they name."""
        from conftest import issue

        placeholder = issue("localhost", key=pki.leaf.key)  # keytool's self-signed stand-in
        certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]),
                     tmp_path / "weak.pfx", password="changeit", profile="legacy")
        certkit.save(KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)]),
                     tmp_path / "locked.jks", password="changeit",
                     key_passwords={"web": "keysecret"})
        certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, [placeholder.certificate])]),
                     tmp_path / "tomcat.jks", password="changeit")
        certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, [pki.leaf.certificate])]),
                     tmp_path / "short.jks", password="changeit")
        certkit.save(KeyStore([TrustedCertEntry(c.common_name or "c", c) for c in pki.chain]),
                     tmp_path / "chain.p7b")
        certkit.save(KeyStore([TrustedCertEntry(c.common_name or "c", c) for c in pki.chain]),
                     tmp_path / "reply.cer")
        certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]),
                     tmp_path / "leaf.crt")
        (tmp_path / "pass.txt").write_text("changeit\n")
        (tmp_path / "keypass.txt").write_text("keysecret\n")
        monkeypatch.chdir(tmp_path)
        return tmp_path

    @pytest.mark.parametrize(("argv", "code"), [
        (("weak.pfx",), "weak-pkcs12"),
        (("locked.jks",), "key-locked"),
        (("tomcat.jks",), "self-signed-entry"),
        (("tomcat.jks", "reply.cer", "--alias", "other"), "reply-wrong-alias"),
        (("short.jks",), "keystore-chain-incomplete"),
    ])
    def test_suggested_command_runs(self, scene: pathlib.Path, argv: tuple[str, ...],
                                    code: str) -> None:
        """The fix's `certkit …` command exits 0 as printed, and the finding goes away."""
        import shlex

        def findings() -> list[dict[str, object]]:
            _, out = run_cli("doctor", *argv, "--password-file", "pass.txt", "--json")
            found: list[dict[str, object]] = json.loads(out)["findings"]
            return [f for f in found if f["code"] == code]

        first = findings()
        assert first, f"doctor did not report {code}"
        commands = re.findall(r"`(certkit [^`]+)`", str(first[0]["fix"]))
        assert commands, first[0]["fix"]
        for command in commands:
            words = shlex.split(command)[1:]
            assert run_cli(*words)[0] == 0, command
        if code != "weak-pkcs12":  # that fix writes a new file beside the old one
            assert not findings(), f"{code} is still reported after {commands}"
