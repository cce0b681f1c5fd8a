"""docs/ansible/certkit-fleet.yml, run by the real ansible-playbook against localhost, twice.

The playbook converts a PFX into Apache files (the password from an ansible-vault file),
inventories the host with ``certkit scan --json`` and gathers the report on the
controller; the second run must report no change. certkit is the console script beside
``sys.executable``, so under ``nox -s tests`` the installed package is what runs.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import stat
import subprocess
import sys

import attrs
import pytest
from conftest import PKI, ROOT, openssl

import certkit
from certkit import KeyEntry, KeyStore

#: Real tools (ansible-playbook, openssl), and two playbook runs of a few seconds each.
pytestmark = [pytest.mark.interop, pytest.mark.slow]

PLAYBOOK = ROOT / "docs" / "ansible" / "certkit-fleet.yml"
#: What the vault holds; the test checks it never shows in Ansible's output.
PFX_PASSWORD = "vault-kept-9f3c"
APACHE_FILES = ("site.key", "site.crt", "site.chain.crt", "site.fullchain.crt",
                "site.apache.conf")
_RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0",
                    re.MULTILINE)


def _beside_python(name: str) -> str:
    """A console script installed beside ``sys.executable``; skipped locally, failed in CI."""
    path = pathlib.Path(sys.executable).parent / name
    if not path.is_file():
        message = f"{name} is not installed beside {sys.executable}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (noxfile.py TEST_DEPS must install it)")
        pytest.skip(message)
    return str(path)


@attrs.frozen
class Fleet:
    """One prepared folder and the two playbook runs made in it."""

    folder: pathlib.Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    inodes: dict[str, int]

    @property
    def site(self) -> pathlib.Path:
        """Where the playbook puts the Apache files."""
        return self.folder / "etc" / "site"


def _environment(folder: pathlib.Path) -> dict[str, str]:
    """A quiet, hermetic Ansible: no user config, temporary files and state under ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_HOME": str(folder / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(folder / "tmp" / "local"),
        "ANSIBLE_REMOTE_TEMP": str(folder / "tmp" / "remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        # The tempfile module (the password file) writes here.
        "TMPDIR": str(folder / "tmp"),
        # The console script must import the certkit under test: the installed one under
        # nox, the checkout when run from a worktree against a shared virtualenv.
        "PYTHONPATH": str(pathlib.Path(certkit.__file__).parent.parent),
    })
    return env


@pytest.fixture(scope="module")
def fleet(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """The playbook run twice over a PFX whose password is in an ansible-vault file."""
    playbook = _beside_python("ansible-playbook")
    vault = _beside_python("ansible-vault")
    console = _beside_python("certkit")
    folder = tmp_path_factory.mktemp("fleet")
    for name in ("etc", "incoming", "tmp", "tmp/local", "tmp/remote"):
        (folder / name).mkdir()
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]),
                 folder / "incoming" / "site.pfx", password=PFX_PASSWORD)
    env = _environment(folder)
    vault_pass = folder / "vault-pass.txt"
    vault_pass.write_text("vault password\n")
    vault_pass.chmod(0o600)
    secrets = folder / "secrets.yml"
    secrets.write_text(f"certkit_pfx_password: {PFX_PASSWORD}\n")
    subprocess.run([vault, "encrypt", str(secrets), "--vault-password-file", str(vault_pass)],
                   env=env, cwd=folder, check=True, capture_output=True, timeout=60)
    extra = {"certkit": console, "certkit_scan_dirs": [str(folder / "etc")],
             "certkit_pfx": str(folder / "incoming" / "site.pfx"),
             "certkit_out_dir": str(folder / "etc" / "site"),
             "certkit_report": str(folder / "report.json"),
             # The test hierarchy lasts until 2099: "expiring within a century" lists it.
             "certkit_expiring": "36500d"}
    argv = [playbook, "-i", "localhost,", "-c", "local", str(PLAYBOOK),
            "--vault-password-file", str(vault_pass), "-e", f"@{secrets}",
            "-e", json.dumps(extra)]

    def play() -> subprocess.CompletedProcess[str]:
        result = subprocess.run(argv, env=env, cwd=folder, capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        return result

    first = play()
    inodes = {n: (folder / "etc" / "site" / n).stat().st_ino for n in APACHE_FILES}
    return Fleet(folder, first, play(), inodes)


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    found = _RECAP.search(result.stdout)
    assert found is not None, result.stdout
    return int(found.group(1))


class TestFirstRun:
    """The first run converts the PFX for Apache."""

    def test_reports_changes(self, fleet: Fleet) -> None:
        """The PLAY RECAP counts the export as a change."""
        assert _changed(fleet.first) > 0
        assert "changed: [localhost]" in fleet.first.stdout

    def test_apache_files_exist(self, fleet: Fleet) -> None:
        """Key (mode 0600), certificate, chain, full chain and the config snippet are written."""
        assert sorted(p.name for p in fleet.site.iterdir()) == sorted(APACHE_FILES)
        assert stat.S_IMODE((fleet.site / "site.key").stat().st_mode) == 0o600

    def test_openssl_reads_them_and_the_key_matches(self, fleet: Fleet, pki: PKI) -> None:
        """openssl reads the certificate and the key, and both hold the same public key."""
        cert_pub = openssl("x509", "-in", fleet.site / "site.crt", "-noout", "-pubkey").stdout
        key_pub = openssl("pkey", "-in", fleet.site / "site.key", "-pubout").stdout
        assert cert_pub == key_pub
        assert b"BEGIN PUBLIC KEY" in cert_pub
        subject = openssl("x509", "-in", fleet.site / "site.fullchain.crt", "-noout",
                          "-subject").stdout.decode()
        assert "localhost" in subject
        assert (fleet.site / "site.chain.crt").read_bytes() == \
            pki.intermediate.certificate.to_pem()

    def test_the_password_stays_secret(self, fleet: Fleet) -> None:
        """The PFX password shows in no output, and its temporary file is gone."""
        for result in (fleet.first, fleet.second):
            assert PFX_PASSWORD not in result.stdout + result.stderr
        leftovers = [p for p in (fleet.folder / "tmp").rglob("*") if p.is_file()]
        assert leftovers == []


class TestSecondRun:
    """Run again over the same PFX, the playbook changes nothing."""

    def test_recap_shows_no_change(self, fleet: Fleet) -> None:
        """PLAY RECAP says changed=0."""
        # (The report holds days_left: two runs on either side of midnight UTC would differ.)
        assert _changed(fleet.second) == 0

    def test_files_were_not_rewritten(self, fleet: Fleet) -> None:
        """Every Apache file is the very file the first run wrote (same inode)."""
        assert {n: (fleet.site / n).stat().st_ino for n in APACHE_FILES} == fleet.inodes


class TestReport:
    """The scans of all hosts end up in one report on the controller."""

    def test_report_lists_the_pfx_certificate(self, fleet: Fleet, pki: PKI) -> None:
        """report.json holds each host's inventory, with the PFX's leaf found in site.crt."""
        report = json.loads((fleet.folder / "report.json").read_text())
        assert list(report) == ["localhost"]
        inventory = {item["sha256"]: item for item in report["localhost"]["inventory"]}
        leaf = inventory[pki.leaf.certificate.fingerprint()]
        assert str(fleet.site / "site.crt") in [p["path"] for p in leaf["places"]]
        assert [k["path"] for k in leaf["keys"]] == [str(fleet.site / "site.key")]

    def test_summary_names_expiring_certificates(self, fleet: Fleet, pki: PKI) -> None:
        """The debug summary lists each certificate expiring within the window once."""
        summary = fleet.second.stdout.split("per host", 1)[1]
        assert summary.count(pki.leaf.certificate.subject) == 1
        assert "2099-12-31" in summary


def test_the_howto_shows_this_playbook() -> None:
    """docs/howto-ansible.md includes the tested playbook itself, not a copy that can drift."""
    page = (ROOT / "docs" / "howto-ansible.md").read_text(encoding="utf-8")
    assert "```{literalinclude} ansible/certkit-fleet.yml" in page
