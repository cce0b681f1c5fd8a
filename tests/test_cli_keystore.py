"""Tests for certkit.cli.keystore: list, import-reply, add-trusted, rename, remove, passwd."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import pytest
from conftest import PKI, issue, keytool

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.cli import main
from certkit.errors import PasswordError

STOREPASS = "changeit"
NEWPASS = "n3w-storepass"


def run(*argv: str | pathlib.Path) -> tuple[int, str]:
    """Run the CLI in-process with the store password from $STOREPASS; return code and stdout."""
    out = io.StringIO()
    code = main(["keystore", *(str(a) for a in argv), "--password-env", "STOREPASS"], out=out)
    return code, out.getvalue()


def run_json(*argv: str | pathlib.Path) -> tuple[int, Any]:
    """Run with --json and parse the output."""
    code, text = run(*argv, "--json")
    return code, json.loads(text)


def chain_length(path: pathlib.Path, alias: str, password: str = STOREPASS) -> int:
    """The chain length certkit reads back for ``alias``."""
    entry = certkit.load(path, password=password)[alias]
    assert isinstance(entry, KeyEntry)
    return len(entry.chain)


@pytest.fixture
def files(pki: PKI, other_pki: PKI, tmp_path: pathlib.Path,
          monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """tomcat.jks/.p12 as keytool -genkeypair leaves them (self-signed 'tomcat', 'other'), replies.

    reply.p7b is the CA's chain for 'tomcat'; server.crt its leaf alone; stranger.crt a
    reply for a key in neither keystore.
    """
    monkeypatch.setenv("STOREPASS", STOREPASS)
    monkeypatch.setenv("NEWPASS", NEWPASS)
    placeholder = issue("localhost", key=pki.leaf.key).certificate
    other = issue("other.example.test", key=other_pki.leaf.key).certificate
    store = KeyStore([KeyEntry("tomcat", pki.leaf.key, [placeholder]),
                      KeyEntry("other", other_pki.leaf.key, [other])])
    certkit.save(store, tmp_path / "tomcat.jks", password=STOREPASS)
    certkit.save(store, tmp_path / "tomcat.p12", password=STOREPASS)
    certkit.save(KeyStore([TrustedCertEntry(f"c{i}", c) for i, c in enumerate(pki.chain)]),
                 tmp_path / "reply.p7b")
    (tmp_path / "server.crt").write_bytes(pki.leaf.certificate.to_pem())
    (tmp_path / "inter.crt").write_bytes(pki.intermediate.certificate.to_pem())
    (tmp_path / "root.crt").write_bytes(pki.root.certificate.to_pem())
    stranger = issue("stranger.example.test", issuer=pki.intermediate).certificate
    (tmp_path / "stranger.crt").write_bytes(stranger.to_pem())
    return tmp_path


class TestList:
    """``keystore list`` states each entry's chain length and completeness."""

    def test_self_signed_placeholder(self, files: pathlib.Path) -> None:
        """Before the reply, the key entry is chain length 1, self-signed, with the next step."""
        code, text = run("list", files / "tomcat.jks")
        assert code == 0
        assert "2 entries" in text
        assert "tomcat  PrivateKeyEntry  chain length 1: self-signed" in text
        assert "import-reply" in text

    def test_leaf_only_is_called_incomplete(self, pki: PKI, files: pathlib.Path) -> None:
        """A CA-issued leaf without its chain (handbook problem 8) names the missing issuer."""
        path = files / "leaf-only.p12"
        certkit.save(KeyStore([KeyEntry("tomcat", pki.leaf.key, [pki.leaf.certificate])]), path,
                     password=STOREPASS)
        code, text = run("list", path)
        assert code == 0
        assert "chain length 1: INCOMPLETE" in text
        assert f"missing issuer: {pki.intermediate.certificate.subject}" in text

    def test_json(self, pki: PKI, files: pathlib.Path) -> None:
        """--json gives type, chain length, status and expiry per entry."""
        run("import-reply", files / "tomcat.p12", files / "reply.p7b")
        code, data = run_json("list", files / "tomcat.p12")
        assert code == 0
        assert data["format"] == "pkcs12"
        tomcat = next(e for e in data["entries"] if e["alias"] == "tomcat")
        assert tomcat["type"] == "PrivateKeyEntry"
        assert tomcat["chain_length"] == 3
        assert tomcat["status"] == "complete"
        assert tomcat["complete"] is True
        assert tomcat["subject"] == pki.leaf.certificate.subject
        assert tomcat["expires"].startswith("2099-12-31")

    @pytest.mark.interop
    def test_lengths_agree_with_keytool(self, files: pathlib.Path) -> None:
        """The chain lengths listed are the ones keytool lists."""
        run("import-reply", files / "tomcat.jks", files / "reply.p7b")
        _, data = run_json("list", files / "tomcat.jks")
        listed = keytool("-list", "-v", "-keystore", files / "tomcat.jks", "-storepass",
                         STOREPASS).stdout.decode()
        for entry in data["entries"]:
            block = listed.split(f"Alias name: {entry['alias']}\n")[1]
            assert f"Certificate chain length: {entry['chain_length']}\n" in block


class TestImportReply:
    """``keystore import-reply`` installs by public key and names the right alias."""

    def test_wrong_alias_names_the_right_one(self, files: pathlib.Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
        """The reply typed under 'other' exits 2 naming 'tomcat', and writes nothing."""
        before = (files / "tomcat.jks").read_bytes()
        code, _ = run("import-reply", files / "tomcat.jks", files / "reply.p7b",
                      "--alias", "other")
        assert code == 2
        err = capsys.readouterr().err
        assert "certkit: error:" in err
        assert "import it with alias 'tomcat'" in err
        assert (files / "tomcat.jks").read_bytes() == before

    def test_wrong_alias_json(self, files: pathlib.Path) -> None:
        """--json reports the mismatch with matching_alias, exit 2."""
        code, data = run_json("import-reply", files / "tomcat.jks", files / "reply.p7b",
                              "--alias", "mykey")
        assert code == 2
        assert data["installed"] is False
        assert data["matching_alias"] == "tomcat"
        assert data["alias"] == "mykey"

    def test_installs_and_keeps_the_format(self, pki: PKI, files: pathlib.Path) -> None:
        """Without --alias the reply goes to 'tomcat'; the JKS stays a JKS with chain 3."""
        code, text = run("import-reply", files / "tomcat.jks", files / "reply.p7b")
        assert code == 0
        assert "installed the reply in entry 'tomcat'" in text
        assert "chain length 3, complete" in text
        assert certkit.load(files / "tomcat.jks", password=STOREPASS).format == "jks"
        assert chain_length(files / "tomcat.jks", "tomcat") == 3
        assert chain_length(files / "tomcat.jks", "other") == 1

    def test_json(self, pki: PKI, files: pathlib.Path) -> None:
        """--json names the alias and the chain's fingerprints, leaf first."""
        code, data = run_json("import-reply", files / "tomcat.p12", files / "reply.p7b",
                              "--alias", "tomcat")
        assert code == 0
        assert data["alias"] == "tomcat"
        assert [c["sha256"] for c in data["chain"]] == [c.fingerprint() for c in pki.chain]

    def test_leaf_alone_warns_and_exits_1(self, files: pathlib.Path) -> None:
        """A bare leaf with no issuer anywhere is installed, with a warning and exit 1."""
        code, text = run("import-reply", files / "tomcat.jks", files / "server.crt")
        assert code == 1
        assert "WARNING" in text
        assert chain_length(files / "tomcat.jks", "tomcat") == 1

    def test_trust_completes_a_bare_leaf(self, files: pathlib.Path) -> None:
        """--trust files supply the intermediate and root."""
        code, _ = run("import-reply", files / "tomcat.jks", files / "server.crt",
                      "--trust", files / "inter.crt", "--trust", files / "root.crt")
        assert code == 0
        assert chain_length(files / "tomcat.jks", "tomcat") == 3

    def test_reply_for_another_key(self, files: pathlib.Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
        """A reply for a key in neither entry exits 2 pointing at another keystore."""
        code, _ = run("import-reply", files / "tomcat.p12", files / "stranger.crt")
        assert code == 2
        assert "another keystore" in capsys.readouterr().err

    @pytest.mark.interop
    def test_keytool_reads_the_result(self, pki: PKI, files: pathlib.Path) -> None:
        """keytool lists chain length 3 and exports the new certificate."""
        run("import-reply", files / "tomcat.p12", files / "reply.p7b")
        listed = keytool("-list", "-v", "-keystore", files / "tomcat.p12", "-storepass",
                         STOREPASS, "-alias", "tomcat").stdout.decode()
        assert "Certificate chain length: 3" in listed
        exported = keytool("-exportcert", "-keystore", files / "tomcat.p12", "-storepass",
                           STOREPASS, "-alias", "tomcat").stdout
        assert certkit.Certificate.load(exported) == pki.leaf.certificate


class TestAddRenameRemove:
    """The small edits, written back in place."""

    def test_add_trusted(self, pki: PKI, files: pathlib.Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
        """A CA goes in under its common name; adding it again exits 2 naming that alias."""
        code, text = run("add-trusted", files / "tomcat.jks", files / "root.crt")
        assert code == 0
        assert "'certkit-test-root-ca'" in text
        entry = certkit.load(files / "tomcat.jks", password=STOREPASS)["certkit-test-root-ca"]
        assert isinstance(entry, TrustedCertEntry)
        assert entry.certificate == pki.root.certificate
        code, _ = run("add-trusted", files / "tomcat.jks", files / "root.crt", "--alias", "r")
        assert code == 2
        assert "under alias 'certkit-test-root-ca'" in capsys.readouterr().err

    def test_add_trusted_json_and_alias(self, files: pathlib.Path) -> None:
        """--alias names the entry; --json reports it."""
        code, data = run_json("add-trusted", files / "tomcat.p12", files / "inter.crt",
                              "--alias", "intermediate")
        assert code == 0
        assert data["alias"] == "intermediate"
        assert data["entries"] == 3

    def test_add_trusted_one_at_a_time(self, files: pathlib.Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        """A file with three certificates is a usage error pointing at import-reply."""
        code, _ = run("add-trusted", files / "tomcat.jks", files / "reply.p7b")
        assert code == 2
        assert "import-reply" in capsys.readouterr().err

    def test_rename(self, files: pathlib.Path) -> None:
        """The entry moves to the new alias, in a JKS that stays a JKS."""
        code, data = run_json("rename", files / "tomcat.jks", "other", "backup-key")
        assert code == 0
        assert data == {"keystore": str(files / "tomcat.jks"), "old": "other",
                        "new": "backup-key"}
        assert certkit.load(files / "tomcat.jks", password=STOREPASS).aliases == (
            "tomcat", "backup-key")

    def test_remove_key_needs_force(self, files: pathlib.Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        """Removing a private key without --force exits 2 and leaves the file as it was."""
        before = (files / "tomcat.p12").read_bytes()
        code, _ = run("remove", files / "tomcat.p12", "other")
        assert code == 2
        assert "--force" in capsys.readouterr().err
        assert (files / "tomcat.p12").read_bytes() == before
        code, text = run("remove", files / "tomcat.p12", "other", "--force")
        assert code == 0
        assert "removed PrivateKeyEntry 'other'" in text
        assert certkit.load(files / "tomcat.p12", password=STOREPASS).aliases == ("tomcat",)

    def test_remove_trusted(self, files: pathlib.Path) -> None:
        """A trusted certificate goes without --force."""
        run("add-trusted", files / "tomcat.jks", files / "root.crt", "--alias", "root")
        code, data = run_json("remove", files / "tomcat.jks", "root")
        assert code == 0
        assert data["type"] == "trustedCertEntry"


class TestPasswd:
    """``keystore passwd`` changes the store password and, in JKS, key passwords."""

    @pytest.mark.parametrize("name", ["tomcat.jks", "tomcat.p12"])
    def test_store_password(self, files: pathlib.Path, name: str) -> None:
        """The new password opens the keystore and its keys; the old one no longer does."""
        code, text = run("passwd", files / name, "--new-password-env", "NEWPASS")
        assert code == 0
        assert "changed the store password" in text
        with pytest.raises(PasswordError):
            certkit.load(files / name, password=STOREPASS)
        store = certkit.load(files / name, password=NEWPASS)
        assert all(not e.is_locked for e in store.key_entries)

    def test_key_password(self, files: pathlib.Path) -> None:
        """--alias with --new-key-password-… gives one JKS key its own password."""
        code, data = run_json("passwd", files / "tomcat.jks", "--alias", "other",
                              "--new-key-password-env", "NEWPASS")
        assert code == 0
        assert data["key_passwords_changed"] == ["other"]
        assert data["store_password_changed"] is False
        store = certkit.load(files / "tomcat.jks", password=STOREPASS)
        other = store["other"]
        assert isinstance(other, KeyEntry)
        assert other.is_locked
        assert not other.unlock(NEWPASS).is_locked
        with pytest.raises(PasswordError, match="'other'"):
            other.unlock(STOREPASS)

    def test_own_key_password_kept_and_said(self, files: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        """A key with its own password keeps it when the store password changes, and is named."""
        monkeypatch.setenv("STOREPASS_OF_OTHER", "other-key-pass")
        run("passwd", files / "tomcat.jks", "--alias", "other", "--new-key-password-env",
            "STOREPASS_OF_OTHER")
        code, text = run("passwd", files / "tomcat.jks", "--new-password-env", "NEWPASS")
        assert code == 0
        assert "entry 'other' keeps its own key password" in text
        store = certkit.load(files / "tomcat.jks", password=NEWPASS)
        tomcat, other = store["tomcat"], store["other"]
        assert isinstance(tomcat, KeyEntry)
        assert isinstance(other, KeyEntry)
        assert not tomcat.is_locked
        assert other.is_locked
        assert not other.unlock("other-key-pass").is_locked

    def test_nothing_to_change(self, files: pathlib.Path) -> None:
        """No new password of any kind is a usage error (exit 2)."""
        assert run("passwd", files / "tomcat.jks")[0] == 2
        assert run("passwd", files / "tomcat.jks", "--key-password-env", "STOREPASS")[0] == 2

    def test_pkcs12_key_password_refused(self, files: pathlib.Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
        """A PKCS#12 has no separate key passwords; exit 2 saying so."""
        code, _ = run("passwd", files / "tomcat.p12", "--alias", "tomcat",
                      "--new-key-password-env", "NEWPASS")
        assert code == 2
        assert "-keypasswd" in capsys.readouterr().err

    @pytest.mark.interop
    def test_keytool_accepts_new_rejects_old(self, files: pathlib.Path) -> None:
        """keytool opens the JKS and its key with the new password and refuses the old one."""
        run("passwd", files / "tomcat.jks", "--new-password-env", "NEWPASS")
        assert keytool("-list", "-keystore", files / "tomcat.jks", "-storepass", STOREPASS,
                       check=False).returncode != 0
        keytool("-certreq", "-keystore", files / "tomcat.jks", "-storepass", NEWPASS,
                "-alias", "tomcat")
