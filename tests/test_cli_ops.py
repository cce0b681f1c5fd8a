"""The export, check-host, backup, verify-backup and restore commands: output and exit codes."""

from __future__ import annotations

import io
import json
import pathlib
from collections.abc import Iterator

import pytest
import servers
from conftest import PKI, certkit_cli

import certkit
from certkit import KeyEntry, KeyStore
from certkit.cli import main
from certkit.cli._shell import host_port as _host_port


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def files(pki: PKI, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A folder with site.pfx (password $PFX_PASS, pass.txt), the root and a leaf-only PEM."""
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]), tmp_path / "site.pfx",
                 password="changeit")
    certkit.save(KeyStore([KeyEntry("leaf", pki.leaf.key, [pki.leaf.certificate])]),
                 tmp_path / "leaf-only.pem")
    (tmp_path / "root.pem").write_bytes(pki.root.certificate.to_pem())
    (tmp_path / "pass.txt").write_text("changeit\n")
    monkeypatch.setenv("PFX_PASS", "changeit")
    return tmp_path


class TestExport:
    """certkit export --for TARGET IN… DIR."""

    def test_prints_files_and_config(self, files: pathlib.Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        """The files written and the config lines are printed; exit 0."""
        code, out, _ = _run(["export", "--for", "nginx", str(files / "site.pfx"),
                             str(files / "out"), "--password-env", "PFX_PASS"], capsys)
        assert code == 0
        assert f"ssl_certificate {files / 'out' / 'localhost.fullchain.pem'};" in out
        assert "root left out" in out

    def test_json(self, files: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--json gives the files, the config and the chain."""
        code, out, _ = _run(["export", "--for", "haproxy", str(files / "site.pfx"),
                             str(files / "out"), "--password-file", str(files / "pass.txt"),
                             "--json"], capsys)
        data = json.loads(out)
        assert code == 0
        assert data["target"] == "haproxy"
        assert len(data["chain"]) == 2
        assert "bind :443 ssl crt" in data["config"]

    def test_incomplete_chain_is_an_error(self, files: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """A leaf-only input exits 2 naming the missing intermediate; --allow-incomplete writes."""
        argv = ["export", "--for", "apache", str(files / "leaf-only.pem"), str(files / "out")]
        code, _, err = _run(argv, capsys)
        assert code == 2
        assert err.startswith("certkit: error: ")
        assert "missing intermediate" in err
        assert "certkit Test Intermediate CA" in err
        code, _, _ = _run([*argv, "--allow-incomplete"], capsys)
        assert code == 0

    def test_force_is_needed_to_overwrite(self, files: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        """An export over a file with other content fails with 'already exists' until --force."""
        argv = ["export", "--for", "nginx", str(files / "site.pfx"), str(files / "out"),
                "--password-env", "PFX_PASS"]
        assert _run(argv, capsys)[0] == 0
        (files / "out" / "localhost.fullchain.pem").write_text("another chain\n")
        code, _, err = _run(argv, capsys)
        assert code == 2
        assert "already exists" in err
        assert _run([*argv, "--force"], capsys)[0] == 0

    def test_json_says_changed(self, files: pathlib.Path) -> None:
        """--json says changed: true when it wrote, false (exit 0, nothing written) next time."""
        argv = ["export", "site.pfx", "--for", "apache", "--out-dir", "out",
                "--password-file", "pass.txt", "--json"]
        first = certkit_cli(argv, cwd=files)
        assert first.returncode == 0, first.stderr
        data = json.loads(first.stdout)
        assert data["changed"] is True
        assert data["unchanged"] == []
        key = files / "out" / "localhost.key"
        inode = key.stat().st_ino
        second = certkit_cli(argv, cwd=files)
        assert second.returncode == 0, second.stderr
        again = json.loads(second.stdout)
        assert again["changed"] is False
        assert again["unchanged"] == again["files"] == data["files"]
        assert key.stat().st_ino == inode

    def test_text_names_unchanged_files(self, files: pathlib.Path) -> None:
        """Without --json, files left alone are listed as 'unchanged', those written as 'wrote'."""
        argv = ["export", "site.pfx", "--for", "nginx", "--out-dir", "out",
                "--password-file", "pass.txt"]
        assert certkit_cli(argv, cwd=files).returncode == 0
        (files / "out" / "localhost.nginx.conf").unlink()
        result = certkit_cli(argv, cwd=files)
        assert result.returncode == 0, result.stderr
        assert "unchanged out/localhost.key\n" in result.stdout
        assert "wrote out/localhost.nginx.conf\n" in result.stdout

    def test_separate_files_and_tomcat_password(self, pki: PKI, files: pathlib.Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
        """key, certificate and chain files combine; the keystore takes --new-password-file."""
        (files / "server.key").write_bytes(pki.leaf.key.to_pem())
        (files / "server.crt").write_bytes(pki.leaf.certificate.to_pem())
        (files / "chain.crt").write_bytes(pki.intermediate.certificate.to_pem())
        (files / "new.txt").write_text("tomcat-pw\n")
        code, out, err = _run(["export", "--for", "tomcat", str(files / "server.key"),
                               str(files / "server.crt"), str(files / "chain.crt"),
                               str(files / "out"), "--trust", str(files / "root.pem"),
                               "--new-password-file", str(files / "new.txt")], capsys)
        assert code == 0, err
        store = certkit.load(files / "out" / "localhost.p12", password="tomcat-pw")
        assert list(store.key_entries[0].chain) == list(pki.chain[:2])
        assert "certificateKeystoreType=\"PKCS12\"" in out


@pytest.fixture
def leaf_only_server(pki: PKI, tmp_path: pathlib.Path) -> Iterator[int]:
    """A Python TLS server that sends only the leaf."""
    with servers.python_tls(tmp_path / "srv", [pki.leaf.certificate],
                            pki.leaf.key.to_pem()) as server:
        yield server.port


@pytest.fixture
def good_server(pki: PKI, tmp_path: pathlib.Path) -> Iterator[int]:
    """A Python TLS server that sends leaf and intermediate."""
    with servers.python_tls(tmp_path / "srv", pki.chain[:2], pki.leaf.key.to_pem()) as server:
        yield server.port


class TestCheckHost:
    """certkit check-host HOST[:PORT]: exit 1 when a problem is found."""

    def test_good_server_exits_0(self, good_server: int, files: pathlib.Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
        """A complete, trusted, matching chain: ok, exit 0."""
        code, out, _ = _run(["check-host", f"127.0.0.1:{good_server}", "--servername",
                             "localhost", "--trust", str(files / "root.pem")], capsys)
        assert code == 0, out
        assert out.rstrip().endswith("ok")

    def test_leaf_only_exits_1_naming_the_intermediate(
            self, leaf_only_server: int, files: pathlib.Path, pki: PKI,
            capsys: pytest.CaptureFixture[str]) -> None:
        """Only the leaf: exit 1, the missing intermediate named."""
        code, out, _ = _run(["check-host", f"127.0.0.1:{leaf_only_server}", "--servername",
                             "localhost", "--trust", str(files / "root.pem")], capsys)
        assert code == 1
        assert f"missing intermediate: {pki.intermediate.certificate.subject}" in out

    def test_expect_mismatch_lists_reasons(self, good_server: int, files: pathlib.Path,
                                           other_pki: PKI,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        """--expect with another certificate: exit 1 and the usual reasons, as JSON too."""
        (files / "expected.crt").write_bytes(other_pki.leaf.certificate.to_pem())
        argv = ["check-host", f"127.0.0.1:{good_server}", "--servername", "localhost",
                "--trust", str(files / "root.pem"), "--expect", str(files / "expected.crt")]
        code, out, _ = _run(argv, capsys)
        assert code == 1
        assert "does NOT serve the expected certificate" in out
        assert "the usual reasons:" in out
        code, out, _ = _run([*argv, "--json"], capsys)
        data = json.loads(out)
        assert code == 1
        assert data["matches_expected"] is False
        assert data["reasons"]

    def test_refused_is_an_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Nothing listening: exit 2 with the reason."""
        code, _, err = _run(["check-host", f"127.0.0.1:{servers.free_port()}",
                             "--timeout", "2"], capsys)
        assert code == 2
        assert "refused" in err

    @pytest.mark.parametrize(("text", "expected"), [
        ("example.test", ("example.test", 443)),
        ("example.test:8443", ("example.test", 8443)),
        ("[::1]:993", ("::1", 993)),
        ("192.0.2.1", ("192.0.2.1", 443)),
    ])
    def test_host_port_parsing(self, text: str, expected: tuple[str, int]) -> None:
        """HOST, HOST:PORT and [IPv6]:PORT are understood."""
        assert _host_port(text) == expected

    def test_text_after_an_ipv6_address_is_refused(self) -> None:
        """Text after ``]`` that is no port is a usage error, as it was for doctor --host."""
        from certkit.cli._shell import UsageError

        with pytest.raises(UsageError, match="bad port"):
            _host_port("[::1]junk")

    def test_bad_port(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A port out of range is a usage error."""
        code, _, err = _run(["check-host", "example.test:70000"], capsys)
        assert code == 2
        assert "bad port" in err

    @pytest.mark.interop
    def test_nginx_with_only_the_leaf(self, pki: PKI, files: pathlib.Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        """Real nginx configured with the leaf only: exit 1, the intermediate named."""
        (files / "leaf.crt").write_bytes(pki.leaf.certificate.to_pem())
        (files / "leaf.key").write_bytes(pki.leaf.key.to_pem())
        lines = f"ssl_certificate {files / 'leaf.crt'};\nssl_certificate_key {files / 'leaf.key'};"
        with servers.nginx(files / "nginx", lines) as server:
            code, out, _ = _run(["check-host", f"127.0.0.1:{server.port}", "--servername",
                                 "localhost", "--trust", str(files / "root.pem")], capsys)
        assert code == 1
        assert f"missing intermediate: {pki.intermediate.certificate.subject}" in out


class TestBackupCommands:
    """certkit backup, verify-backup and restore."""

    def test_round_trip(self, files: pathlib.Path, pki: PKI,
                        capsys: pytest.CaptureFixture[str]) -> None:
        """backup → verify-backup (0) → tamper → verify-backup (1) naming the file; restore."""
        pw = ["--password-file", str(files / "pass.txt")]
        code, out, err = _run(["backup", str(files / "site.pfx"), str(files / "root.pem"),
                               "--out", str(files / "bk"), *pw], capsys)
        assert code == 0, err
        assert "verify-backup" in out
        code, out, _ = _run(["verify-backup", str(files / "bk"), *pw], capsys)
        assert code == 0
        assert ": ok" in out
        code, out, _ = _run(["restore", str(files / "bk"), "--for", "nginx",
                             str(files / "restored"), *pw], capsys)
        assert code == 0
        assert certkit.load(files / "restored" / "localhost.fullchain.pem").certificates == \
            pki.chain[:2]
        (files / "bk" / "extra.txt").write_text("x")
        code, out, _ = _run(["verify-backup", str(files / "bk"), *pw, "--json"], capsys)
        assert code == 1
        assert json.loads(out)["problems"][0]["file"] == "extra.txt"

    def test_unpaired_key(self, files: pathlib.Path, pki: PKI,
                          capsys: pytest.CaptureFixture[str]) -> None:
        """A key alone: refused (2); with --allow-unpaired a warning, and verify-backup exits 1."""
        (files / "server.key").write_bytes(pki.leaf.key.to_pem())
        pw = ["--password-file", str(files / "pass.txt")]
        code, _, err = _run(["backup", str(files / "server.key"), "--out", str(files / "bk"),
                             *pw], capsys)
        assert code == 2
        assert "--allow-unpaired" in err
        code, out, err = _run(["backup", str(files / "server.key"), "--allow-unpaired",
                               "--out", str(files / "bk"), *pw], capsys)
        assert code == 0, err
        assert "warning: the key 'private-key' from" in out
        code, out, _ = _run(["verify-backup", str(files / "bk"), *pw, "--json"], capsys)
        assert code == 1
        [problem] = json.loads(out)["problems"]
        assert problem["alias"] == "private-key"

    def test_wrong_password(self, files: pathlib.Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
        """verify-backup with the wrong password: exit 1, 'password is wrong'."""
        assert _run(["backup", str(files / "site.pfx"), "--out", str(files / "bk"),
                     "--password-env", "PFX_PASS"], capsys)[0] == 0
        monkeypatch.setenv("WRONG", "nope")
        code, out, _ = _run(["verify-backup", str(files / "bk"), "--password-env", "WRONG"],
                            capsys)
        assert code == 1
        assert "password is wrong" in out

    def test_backup_needs_a_password(self, files: pathlib.Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        """No password option and no terminal: a usage error."""
        code, _, err = _run(["backup", str(files / "root.pem"), "--out", str(files / "bk")],
                            capsys)
        assert code == 2
        assert "backup password" in err
