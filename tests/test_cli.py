"""The command line: one library call per command, one error line, stable exit codes."""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import re
import subprocess
import sys

import pytest
from conftest import PKI, command_parsers, openssl

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.cli import main


def run_cli(*argv: str) -> tuple[int, str]:
    """Run ``certkit`` in-process; return the exit code and stdout."""
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def files(tmp_path: pathlib.Path, pki: PKI) -> pathlib.Path:
    """A folder with a DER leaf, a PEM chain bundle and an Apache key bundle."""
    certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]),
                 tmp_path / "leaf.cer", format="der")
    certkit.save(KeyStore([TrustedCertEntry(c.common_name or "x", c) for c in pki.chain]),
                 tmp_path / "chain.pem")
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain[:2])]),
                 tmp_path / "bundle.pem")
    return tmp_path


class TestInspect:
    """``certkit inspect``."""

    def test_human_output_names_format_subject_and_fingerprint(
            self, files: pathlib.Path, pki: PKI) -> None:
        """The table shows the detected format, the subject and the SHA-256 fingerprint."""
        code, out = run_cli("inspect", str(files / "leaf.cer"))
        assert code == 0
        assert "DER" in out
        assert pki.leaf.certificate.subject in out
        assert pki.leaf.certificate.fingerprint() in out

    def test_json_output_describes_entries(self, files: pathlib.Path, pki: PKI) -> None:
        """``--json`` gives format, aliases, chain length and fingerprints for scripts."""
        code, out = run_cli("inspect", "--json", str(files / "bundle.pem"),
                            str(files / "chain.pem"))
        assert code == 0
        data = json.loads(out)
        bundle, chain = data["files"]
        assert bundle["format"] == "pem"
        (entry,) = bundle["entries"]
        assert entry["type"] == "key"
        assert entry["chain_length"] == 2
        assert entry["key_algorithm"] == "RSA-2048"
        assert entry["key_matches_certificate"] is True
        assert entry["missing_issuer"] == pki.root.certificate.subject
        assert [e["certificates"][0]["sha256"] for e in chain["entries"]] == [
            c.fingerprint() for c in pki.chain]
        assert "BEGIN" not in out  # never any key material

    def test_missing_file_is_one_error_line_and_exit_2(
            self, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing file gives ``certkit: error: …`` and exit code 2, no traceback."""
        code, _ = run_cli("inspect", str(tmp_path / "nope.pem"))
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith("certkit: error: cannot read")
        assert err.count("\n") == 1

    def test_garbage_is_rejected_with_the_file_name(
            self, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A file that is no certificate format names itself in the error."""
        junk = tmp_path / "junk.crt"
        junk.write_bytes(b"\x00\x01garbage" * 10)
        code, _ = run_cli("inspect", str(junk))
        assert code == 2
        assert str(junk) in capsys.readouterr().err


class TestConvert:
    """``certkit convert``."""

    def test_der_to_pem_is_read_by_openssl(self, files: pathlib.Path, pki: PKI) -> None:
        """DER .cer → PEM, and openssl reads the result with the same fingerprint."""
        code, out = run_cli("convert", str(files / "leaf.cer"), str(files / "leaf.pem"))
        assert code == 0
        assert "wrote" in out
        printed = openssl("x509", "-in", str(files / "leaf.pem"), "-noout", "-fingerprint",
                          "-sha256").stdout.decode()
        assert printed.split("=")[1].strip().replace(":", "").lower() == \
            pki.leaf.certificate.fingerprint()

    def test_existing_output_is_not_replaced_without_force(
            self, files: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --force the existing file keeps its bytes and the exit code is 2."""
        target = files / "chain.pem"
        before = target.read_bytes()
        code, _ = run_cli("convert", str(files / "leaf.cer"), str(target))
        assert code == 2
        assert "already exists" in capsys.readouterr().err
        assert target.read_bytes() == before
        code, _ = run_cli("convert", str(files / "leaf.cer"), str(target), "--force")
        assert code == 0
        assert target.read_bytes() != before

    def test_lossy_conversion_needs_allow_loss(
            self, files: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A key bundle → .p7b is refused, then written with --allow-loss listing the key."""
        target = files / "out.p7b"
        code, _ = run_cli("convert", str(files / "bundle.pem"), str(target))
        assert code == 2
        assert "private key" in capsys.readouterr().err
        assert not target.exists()
        code, out = run_cli("convert", str(files / "bundle.pem"), str(target), "--allow-loss")
        assert code == 0
        assert "dropped: private key of 'localhost'" in out  # alias from the CN

    def test_json_report(self, files: pathlib.Path) -> None:
        """``--json`` reports source and target formats and the entry count."""
        code, out = run_cli("convert", "--json", str(files / "chain.pem"),
                            str(files / "chain.p7b"))
        assert code == 0
        report = json.loads(out)
        assert (report["source_format"], report["format"], report["entries"]) == (
            "pem", "pkcs7", 3)


class TestPasswords:
    """Passwords come from a file, an environment variable or a prompt — never argv."""

    @pytest.fixture
    def encrypted(self, tmp_path: pathlib.Path, pki: PKI) -> pathlib.Path:
        """An AES-256 PKCS#8 key made by openssl, bundled with its certificate."""
        plain = tmp_path / "plain.key"
        plain.write_bytes(pki.leaf.key.to_pem())
        enc = tmp_path / "enc.key"
        openssl("pkcs8", "-topk8", "-in", str(plain), "-v2", "aes-256-cbc",
                "-passout", "pass:s3cret", "-out", str(enc))
        bundle = tmp_path / "enc-bundle.pem"
        bundle.write_bytes(enc.read_bytes() + pki.leaf.certificate.to_pem())
        return bundle

    def test_password_from_environment(self, encrypted: pathlib.Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        """``--password-env`` opens an encrypted key."""
        monkeypatch.setenv("KEYPASS", "s3cret")
        code, out = run_cli("inspect", "--json", "--password-env", "KEYPASS", str(encrypted))
        assert code == 0
        assert json.loads(out)["files"][0]["entries"][0]["type"] == "key"

    def test_password_from_file(self, encrypted: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """``--password-file`` reads the first line (trailing newline stripped)."""
        secret = tmp_path / "pw.txt"
        secret.write_text("s3cret\n")
        code, _ = run_cli("inspect", "--password-file", str(secret), str(encrypted))
        assert code == 0

    @pytest.mark.parametrize("text", ["s3cret\nthe database password is below\nxyz\n",
                                      "s3cret\r\n\r\n", "s3cret"])
    def test_password_file_first_line_only(self, encrypted: pathlib.Path,
                                           tmp_path: pathlib.Path, text: str) -> None:
        """Only the first line of a password file is the password, whatever follows it."""
        secret = tmp_path / "pw.txt"
        secret.write_bytes(text.encode())
        code, _ = run_cli("inspect", "--password-file", str(secret), str(encrypted))
        assert code == 0

    def test_missing_password_without_terminal_is_an_error(
            self, encrypted: pathlib.Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> None:
        """With no terminal to prompt on, a needed password is a clear error, exit 2."""
        monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
        code, _ = run_cli("inspect", str(encrypted))
        assert code == 2
        assert "no password was given" in capsys.readouterr().err

    def test_prompt_when_a_terminal_is_attached(
            self, encrypted: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a terminal, a needed password is asked for once and the command succeeds."""
        asked: list[str] = []
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "s3cret")
        code, _ = run_cli("inspect", str(encrypted))
        assert code == 0
        assert len(asked) == 1

    def test_wrong_password(self, encrypted: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
        """A wrong password says so (and does not show the password)."""
        monkeypatch.setenv("KEYPASS", "not-it")
        code, _ = run_cli("inspect", "--password-env", "KEYPASS", str(encrypted))
        err = capsys.readouterr().err
        assert code == 2
        assert "wrong password" in err
        assert "not-it" not in err

    def test_unset_environment_variable(self, encrypted: pathlib.Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        """Naming an unset variable is a usage error that names it."""
        code, _ = run_cli("inspect", "--password-env", "CERTKIT_NO_SUCH_VAR", str(encrypted))
        assert code == 2
        assert "CERTKIT_NO_SUCH_VAR" in capsys.readouterr().err


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory,
          ) -> tuple[subprocess.CompletedProcess[str], pathlib.Path]:
    """``python -m certkit demo --out DIR`` run once in a fresh process: result and DIR.

    A demo run is seconds of key generation, openssl and keytool: the text run, the kept
    files and the tests that need real files to read all look at this one run (which they
    only read); ``--json`` runs on its own, without ``--out``.
    """
    folder = tmp_path_factory.mktemp("demo-fresh") / "demo"
    result = subprocess.run([sys.executable, "-m", "certkit", "demo", "--out", str(folder)],
                            capture_output=True, text=True, timeout=300, check=False)
    return result, folder


@pytest.mark.slow
class TestDemo:
    """``certkit demo``."""

    def test_demo_passes_in_a_fresh_process(
            self, fresh: tuple[subprocess.CompletedProcess[str], pathlib.Path]) -> None:
        """``python -m certkit demo`` exits 0 and reports that every check passed."""
        result, _ = fresh
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Every check passed." in result.stdout
        assert "FAILED" not in result.stdout

    def test_out_keeps_the_files(
            self, fresh: tuple[subprocess.CompletedProcess[str], pathlib.Path]) -> None:
        """``--out DIR`` keeps the files, and they are what the demo says they are."""
        result, folder = fresh
        assert result.returncode == 0, result.stdout + result.stderr
        assert certkit.load(folder / "server.cer").format == "der"
        assert certkit.load(folder / "chain.p7b").format == "pkcs7"
        assert (folder / "server.key").stat().st_mode & 0o777 == 0o600

    def test_json_lists_every_check(self) -> None:
        """``--json`` prints only JSON: every check with its step and outcome, all passing."""
        code, out = run_cli("demo", "--json")
        assert code == 0
        report = json.loads(out)
        assert report["ok"] is True
        assert report["folder"] is None
        assert len(report["checks"]) >= 15
        assert all(check["ok"] for check in report["checks"])
        assert {check["step"] for check in report["checks"]} >= set(range(2, 11))

    def test_out_refuses_a_folder_with_files(self, tmp_path: pathlib.Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
        """The demo never writes into a folder that already has files."""
        (tmp_path / "precious.txt").write_text("keep me")
        code, _ = run_cli("demo", "--out", str(tmp_path))
        assert code == 2
        assert "not empty" in capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt"]


def test_help_lists_commands_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """``certkit --help`` lists the commands and shows examples."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in ("inspect", "convert", "demo"):
        assert command in text
    assert "examples:" in text


def _documented_sections() -> dict[str, str]:
    from conftest import ROOT

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parts = re.split(r"^## `certkit ([a-z-]+(?: [a-z][a-z-]*)?)", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_documented_options_exist() -> None:
    """Every ``--option`` docs/cli.md lists under a command is accepted by that command."""
    commands = command_parsers()
    checked = 0
    for title, body in _documented_sections().items():
        name = title if title in commands else title.split(" ")[0]
        assert name in commands, f"docs/cli.md documents unknown command {title!r}"
        accepted = {opt for action in commands[name]._actions for opt in action.option_strings}
        for option in set(re.findall(r"`(--[a-z-]+)", body)):
            assert option in accepted, f"certkit {name} does not accept {option}"
            checked += 1
    assert checked > 5


def test_every_command_is_documented() -> None:
    """docs/cli.md has a section for every command and keystore sub-command."""
    documented = set(_documented_sections())
    missing = [name for name in command_parsers() if name not in documented]
    assert not missing, f"docs/cli.md lacks sections for: {missing}"


class TestKeyPasswords:
    """Java keystore entries with their own key password open from the command line."""

    def test_key_password_env_unlocks_an_entry(self, tmp_path: pathlib.Path, pki: PKI,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        """``--key-password-env ALIAS=VAR`` unlocks that entry; without it the key stays locked."""
        from conftest import keytool

        store = tmp_path / "ks.jks"
        keytool("-genkeypair", "-alias", "web", "-keyalg", "EC", "-dname", "CN=web",
                "-keystore", store, "-storetype", "JKS", "-storepass", "changeit",
                "-keypass", "keysecret")
        monkeypatch.setenv("STOREPASS", "changeit")
        monkeypatch.setenv("WEBPASS", "keysecret")
        code, out = run_cli("inspect", "--json", "--password-env", "STOREPASS", str(store))
        assert code == 0
        assert json.loads(out)["files"][0]["entries"][0]["locked"] is True
        code, out = run_cli("inspect", "--json", "--password-env", "STOREPASS",
                            "--key-password-env", "web=WEBPASS", str(store))
        assert code == 0
        assert json.loads(out)["files"][0]["entries"][0]["locked"] is False
        code, _ = run_cli("convert", "--password-env", "STOREPASS", "--key-password-env",
                          "web=WEBPASS", str(store), str(tmp_path / "web.pem"))
        assert code == 0
        assert b"PRIVATE KEY" in (tmp_path / "web.pem").read_bytes()

    def test_malformed_value_is_a_usage_error(self, files: pathlib.Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        """A value without ``ALIAS=`` is refused with a message showing the expected form."""
        code, _ = run_cli("inspect", "--key-password-env", "NOALIAS", str(files / "leaf.cer"))
        assert code == 2
        assert "ALIAS=ENV" in capsys.readouterr().err


@pytest.mark.slow
def test_broken_pipe_is_not_an_error(
        fresh: tuple[subprocess.CompletedProcess[str], pathlib.Path]) -> None:
    """``certkit inspect … | head -1`` exits quietly, without a traceback."""
    certkit_cmd = [sys.executable, "-m", "certkit"]
    result, demo = fresh
    assert result.returncode == 0, result.stdout + result.stderr
    files = [str(p) for p in sorted(demo.iterdir()) if p.suffix in (".pem", ".p7b", ".crt")]
    # Far more output than a pipe buffers, so the write after the reader leaves must fail.
    proc = subprocess.Popen([*certkit_cmd, "inspect", *(files * 60)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode == 0


def test_main_builds_only_the_command_it_runs() -> None:
    """A run builds one command's parser, with exactly the options of the full parser's."""
    from certkit.cli import build_parser

    def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(action.choices)

    def options(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
        return sorted(tuple(a.option_strings) or (a.dest,) for a in parser._actions)

    full = commands(build_parser())
    assert len(full) > 10
    for name, parser in full.items():
        (only,) = commands(build_parser(name)).items()
        assert only[0] == name
        assert options(only[1]) == options(parser)
        assert only[1].get_default("func") is parser.get_default("func")
    assert set(commands(build_parser("no-such-command"))) == set(full)


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``certkit --help convert`` is still the top-level help, with all commands."""
    with pytest.raises(SystemExit):
        main(["--help", "convert"])
    text = capsys.readouterr().out
    assert all(name in text for name in ("inspect", "convert", "keystore", "doctor", "scan"))


@pytest.mark.parametrize("columns", ["50", "123", "junk"])
def test_help_wraps_as_argparse_would(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's help is wrapped to the width argparse's own formatter picks
    (``$COLUMNS``, else the terminal, else 80), without it importing shutil to ask."""
    from certkit.cli import build_parser

    monkeypatch.setenv("COLUMNS", columns)
    full = build_parser()
    (action,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    for parser in [full, *action.choices.values()]:
        ours = parser.format_help()
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        assert ours == parser.format_help()


@pytest.mark.slow
def test_console_entry_runs_without_shutil(
        tmp_path: pathlib.Path, fresh: tuple[subprocess.CompletedProcess[str], pathlib.Path],
) -> None:
    """The installed ``certkit`` script's entry runs a conversion without importing shutil
    (argparse's formatters would, for the terminal width) and tunes the collector for a
    short-lived process; ``main`` itself leaves the collector alone."""
    pem = tmp_path / "in.pem"
    result, demo = fresh
    assert result.returncode == 0, result.stdout + result.stderr
    pem.write_bytes((demo / "server.crt").read_bytes())
    script = (
        "import gc, json, sys\n"
        "before = 'shutil' in sys.modules\n"
        "threshold = gc.get_threshold()\n"
        "from certkit.cli import main, run\n"
        "main(['convert', sys.argv[1], sys.argv[2]])\n"
        "unchanged = gc.get_threshold() == threshold\n"
        "sys.argv = ['certkit', 'convert', sys.argv[1], sys.argv[3]]\n"
        "code = run()\n"
        "print(json.dumps([before, 'shutil' in sys.modules, unchanged, gc.get_threshold(),\n"
        "                  code]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(pem), str(tmp_path / "a.der"),
                             str(tmp_path / "b.der")], capture_output=True, text=True,
                            check=True, timeout=120, cwd=tmp_path)
    before, after, unchanged, threshold, code = json.loads(result.stdout.splitlines()[-1])
    if before:
        pytest.skip("shutil was imported before certkit (by this interpreter's site)")
    assert (after, unchanged, threshold[0], code) == (False, True, 7000, 0)
    assert (tmp_path / "a.der").read_bytes() == (tmp_path / "b.der").read_bytes()
