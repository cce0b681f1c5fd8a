"""Several passwords per run: candidates tried in turn, and passwords pinned to a file or entry."""

from __future__ import annotations

import io
import json
import pathlib

import pytest
from conftest import PKI, corpus_path

import certkit
from certkit import KeyEntry, KeyStore, Passwords
from certkit.cli import main
from certkit.errors import PasswordError


def run_cli(*argv: str | pathlib.Path) -> tuple[int, str]:
    """Run ``certkit`` in-process; return the exit code and stdout."""
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def stores(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """site.pfx under 'alpha', tomcat.jks under 'bravo' (its key under 'keysecret'), files."""
    folder = tmp_path_factory.mktemp("passwords")
    data = folder / "data"
    data.mkdir()
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]), data / "site.pfx",
                 password="alpha")
    certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, pki.chain)]), data / "tomcat.jks",
                 password="bravo")
    certkit.save(KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)]), data / "web.jks",
                 password="bravo", key_passwords={"web": "keysecret"})
    for name, text in (("a.txt", "alpha"), ("b.txt", "bravo"), ("k.txt", "keysecret"),
                       ("wrong.txt", "nope")):
        (folder / name).write_text(text + "\n")
    return folder


class TestLibrary:
    """``Passwords`` as the password of certkit.load and the operations over many files."""

    def test_candidates_are_tried_in_turn(self, stores: pathlib.Path) -> None:
        """Each file opens with whichever candidate fits it."""
        both = Passwords(["alpha", "bravo"])
        assert certkit.load(stores / "data" / "site.pfx", password=both).format == "pkcs12"
        assert certkit.load(stores / "data" / "tomcat.jks", password=both).format == "jks"

    def test_pinned_file_password_is_the_only_one_tried(self, stores: pathlib.Path) -> None:
        """A password pinned to a file name is used for it, and candidates are not tried."""
        pinned = Passwords(["alpha"], {"tomcat.jks": "bravo"})
        assert certkit.load(stores / "data" / "tomcat.jks", password=pinned).aliases == ("tomcat",)
        wrong_pin = Passwords(["bravo"], {"tomcat.jks": "alpha"})
        with pytest.raises(PasswordError):
            certkit.load(stores / "data" / "tomcat.jks", password=wrong_pin)

    def test_pinned_alias_unlocks_an_entry(self, stores: pathlib.Path) -> None:
        """A password pinned to an alias is that entry's key password."""
        store = certkit.load(stores / "data" / "web.jks",
                             password=Passwords(["bravo"], {"web": "keysecret"}))
        entry = store.key_entries[0]
        assert not entry.is_locked

    def test_none_opens_names_the_count(self, stores: pathlib.Path) -> None:
        """When no candidate fits, the error says how many were tried and names the file."""
        with pytest.raises(PasswordError, match=r"none of the 2 passwords given opens it"):
            certkit.load(stores / "data" / "site.pfx", password=Passwords(["x", "y"]))

    def test_scan_reads_both(self, stores: pathlib.Path) -> None:
        """certkit.scan with two candidates reads the PFX and the JKS."""
        report = certkit.scan([stores / "data"], passwords=Passwords(["alpha", "bravo"]))
        assert not report.unreadable
        assert {c.path for c in report.certificates} >= {
            str(stores / "data" / "site.pfx"), str(stores / "data" / "tomcat.jks")}


    def test_a_pfx_without_a_password_opens_among_candidates(self) -> None:
        """Windows' DummyTcpServer.pfx (no password: its MAC verifies with none) opens when
        candidates are given for other files; pinned to a password, it stays an error."""
        path = corpus_path("dotnet-runtime-assets", "src",
                           "System.Security.Cryptography.X509Certificates.TestData", "TestData",
                           "DummyTcpServer.pfx")
        store = certkit.load(path, password=Passwords(["alpha", "bravo"]))
        assert store.key_entries
        with pytest.raises(PasswordError, match="has no password"):
            certkit.load(path, password=Passwords(["alpha"], {path.name: "bravo"}))
        with pytest.raises(PasswordError, match="has no password"):
            certkit.load(path, password="alpha")

class TestCommandLine:
    """Repeated --password-file/--password-env on the commands that read several files."""

    def test_scan_reads_a_pfx_under_a_and_a_jks_under_b(self, stores: pathlib.Path) -> None:
        """`scan --password-file A --password-file B` reads the PFX under A and the JKS under B."""
        code, out = run_cli("scan", stores / "data", "--password-file", stores / "a.txt",
                            "--password-file", stores / "b.txt", "--json")
        data = json.loads(out)
        assert data["unreadable"] == [], data["unreadable"]
        assert data["files_read"] == 3
        assert code in (0, 1)  # expiry or chain findings are problems, not errors

    def test_one_password_leaves_the_other_unread(self, stores: pathlib.Path) -> None:
        """With A alone the JKS is reported as a wrong password (the test above can fail)."""
        _, out = run_cli("scan", stores / "data", "--password-file", stores / "a.txt", "--json")
        reasons = {pathlib.Path(i["path"]).name: i["reason"] for i in json.loads(out)["unreadable"]}
        assert reasons.get("tomcat.jks") == "wrong-password"

    def test_path_prefix_pins(self, stores: pathlib.Path) -> None:
        """`--password-file tomcat.jks=B` pins B to that file while A stays the candidate."""
        code, out = run_cli("inspect", stores / "data" / "site.pfx", stores / "data" / "tomcat.jks",
                            "--password-file", stores / "a.txt",
                            "--password-file", f"tomcat.jks={stores / 'b.txt'}", "--json")
        assert code == 0
        assert [f["format"] for f in json.loads(out)["files"]] == ["pkcs12", "jks"]

    def test_alias_prefix_unlocks_an_entry(self, stores: pathlib.Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """`--password-env web=VAR` gives entry 'web' its key password."""
        monkeypatch.setenv("WEBKEY", "keysecret")
        code, out = run_cli("inspect", stores / "data" / "web.jks", "--password-file",
                            stores / "b.txt", "--password-env", "web=WEBKEY", "--json")
        assert code == 0
        assert json.loads(out)["files"][0]["entries"][0]["locked"] is False

    @pytest.mark.parametrize("command", [
        ("find-key", "{leaf}", "{data}"),
        ("inspect", "{pfx}", "{jks}"),
        ("convert", "{pfx}", "{jks}", "--out-dir", "{out}", "--to", "pem"),
        ("modulus", "{pfx}", "{jks}"),
        ("doctor", "{pfx}", "{jks}"),
        ("backup", "{pfx}", "{jks}", "--out", "{out}/backup", "--password-file", "{a}",
         "--source-password-file", "{a}"),
    ])
    def test_every_multi_file_command(self, stores: pathlib.Path, tmp_path: pathlib.Path,
                                      pki: PKI, command: tuple[str, ...]) -> None:
        """Each command that reads several files opens the PFX and the JKS with A and B."""
        certkit.save(KeyStore([certkit.TrustedCertEntry("leaf", pki.leaf.certificate)]),
                     tmp_path / "leaf.crt")
        values = {"leaf": tmp_path / "leaf.crt", "data": stores / "data",
                  "pfx": stores / "data" / "site.pfx", "jks": stores / "data" / "tomcat.jks",
                  "out": tmp_path, "a": stores / "a.txt"}
        prefix = "--source-password-file" if command[0] == "backup" else "--password-file"
        code, out = run_cli(*(a.format(**values) for a in command), prefix,
                            stores / ("b.txt"), *(() if command[0] == "backup" else
                                                  (prefix, stores / "a.txt")), "--json")
        text = out.lower()
        assert "wrong password" not in text, out
        assert "wrong-password" not in text, out
        assert code in (0, 1), out

    def test_single_password_commands_refuse_two(self, stores: pathlib.Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """A command that opens one keystore refuses two store passwords, naming the rule."""
        code, _ = run_cli("keystore", "list", stores / "data" / "tomcat.jks", "--password-file",
                          stores / "a.txt", "--password-file", stores / "b.txt")
        assert code == 2
        assert "takes one" in capsys.readouterr().err
