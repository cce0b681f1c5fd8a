"""Backups: one encrypted PKCS#12, the PEM and a manifest; verified, tamper-evident, restorable."""

from __future__ import annotations

import hashlib
import json
import pathlib
import stat

import pytest
from conftest import PKI, openssl

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry, backup, restore, verify_backup
from certkit._ops.backup import ARCHIVE, CERTIFICATES, MANIFEST
from certkit.errors import BackupError, PasswordError

PASSWORD = "backup-pw"
FILES = (ARCHIVE, CERTIFICATES, MANIFEST)


@pytest.fixture(scope="module")
def sources(pki: PKI, other_pki: PKI,
            tmp_path_factory: pytest.TempPathFactory) -> list[pathlib.Path]:
    """A .pfx (its own password), an unencrypted PEM with key and chain, and a loose CA file."""
    folder = tmp_path_factory.mktemp("sources")
    pfx = folder / "site.pfx"
    certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]), pfx, password="pfx-pw")
    pem = folder / "other.pem"
    certkit.save(KeyStore([KeyEntry("other", other_pki.leaf.key, other_pki.chain)]), pem)
    ca = folder / "ca.crt"
    certkit.save(KeyStore([TrustedCertEntry("ca", pki.root.certificate)]), ca)
    return [pfx, pem, ca]


@pytest.fixture(scope="module")
def made(sources: list[pathlib.Path], tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One backup of the sources, never modified (tests copy it before tampering)."""
    folder = tmp_path_factory.mktemp("made") / "backup"
    backup(sources, folder, password=PASSWORD,
           source_passwords={str(sources[0]): "pfx-pw"})
    return folder


@pytest.fixture
def copy(made: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    """A fresh copy of the backup folder to change."""
    target = tmp_path / "backup"
    target.mkdir()
    for path in made.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


class TestBackup:
    """What backup() writes."""

    def test_three_files(self, made: pathlib.Path) -> None:
        """The archive (0600), the PEM and the manifest, nothing else."""
        assert sorted(p.name for p in made.iterdir()) == sorted(FILES)
        assert stat.S_IMODE((made / ARCHIVE).stat().st_mode) == 0o600

    def test_archive_holds_every_key_and_chain(self, made: pathlib.Path, pki: PKI,
                                               other_pki: PKI) -> None:
        """Both keys with their full chains, under the backup password."""
        store = certkit.load(made / ARCHIVE, password=PASSWORD)
        chains = {e.alias: list(e.chain) for e in store.key_entries}
        assert chains == {"site": list(pki.chain), "other.example.test": list(other_pki.chain)}
        keys = {e.alias: e.key for e in store.key_entries}
        assert keys == {"site": pki.leaf.key, "other.example.test": other_pki.leaf.key}

    def test_openssl_reads_the_archive(self, made: pathlib.Path) -> None:
        """openssl pkcs12 opens the archive: two chains of three and the trusted CA entry."""
        out = openssl("pkcs12", "-in", made / ARCHIVE, "-passin", f"pass:{PASSWORD}",
                      "-info", "-nokeys").stdout
        assert out.count(b"BEGIN CERTIFICATE") == 7

    def test_no_unencrypted_key_anywhere(self, made: pathlib.Path, pki: PKI,
                                         other_pki: PKI) -> None:
        """No file holds a PEM private key or the raw PKCS#8 bytes of either key."""
        for path in made.iterdir():
            data = path.read_bytes()
            assert b"PRIVATE KEY" not in data, path.name
            for key in (pki.leaf.key, other_pki.leaf.key):
                assert key.pkcs8 not in data, path.name
                assert key.pkcs8[-64:] not in data, path.name

    def test_manifest_describes_everything(self, made: pathlib.Path, pki: PKI) -> None:
        """Hashes, subjects, fingerprints, expiry, key-certificate matches, version, time."""
        manifest = json.loads((made / MANIFEST).read_text())
        for name in (ARCHIVE, CERTIFICATES):
            digest = hashlib.sha256((made / name).read_bytes()).hexdigest()
            assert manifest["files"][name]["sha256"] == digest
        site = next(e for e in manifest["entries"] if e["alias"] == "site")
        assert site["key_matches_certificate"] is True
        assert site["certificate_sha256"] == pki.leaf.certificate.fingerprint()
        subjects = {c["subject"] for c in manifest["certificates"]}
        assert pki.intermediate.certificate.subject in subjects
        assert all(c["not_after"] == "2099-12-31T00:00:00Z" for c in manifest["certificates"])
        assert manifest["certkit_version"] == certkit.__version__
        assert manifest["created"].endswith("Z")

    def test_pem_holds_every_certificate(self, made: pathlib.Path, pki: PKI,
                                         other_pki: PKI) -> None:
        """certificates.pem is every distinct certificate, readable without a password."""
        certs = set(certkit.load(made / CERTIFICATES).certificates)
        assert certs == {*pki.chain, *other_pki.chain}

    def test_refuses_a_non_empty_folder(self, sources: list[pathlib.Path],
                                        tmp_path: pathlib.Path) -> None:
        """A folder with anything in it is refused; nothing is written."""
        (tmp_path / "notes.txt").write_text("mine")
        with pytest.raises(BackupError, match="not an empty folder"):
            backup(sources[1:], tmp_path, password=PASSWORD)
        assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]

    def test_same_password_opens_sources(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Without source_passwords, protected sources are opened with the backup password."""
        pfx = tmp_path / "same.pfx"
        certkit.save(KeyStore([KeyEntry("a", pki.leaf.key, pki.chain)]), pfx, password=PASSWORD)
        manifest = backup([pfx], tmp_path / "b", password=PASSWORD)
        assert [e["alias"] for e in manifest.entries] == ["a"]

    def test_other_source_password_is_asked_for(self, sources: list[pathlib.Path],
                                                tmp_path: pathlib.Path) -> None:
        """A source with another password names itself and the option to give it."""
        with pytest.raises(PasswordError, match="source_passwords"):
            backup(sources[:1], tmp_path / "b", password=PASSWORD)

    def test_needs_a_password(self, sources: list[pathlib.Path], tmp_path: pathlib.Path) -> None:
        """An empty or missing backup password is refused."""
        with pytest.raises(PasswordError):
            backup(sources[1:], tmp_path / "b", password="")


class TestVerifyBackup:
    """verify_backup passes on a fresh backup and names the file of any single change."""

    def test_fresh_backup_is_ok(self, made: pathlib.Path) -> None:
        """A backup straight from backup() verifies."""
        report = verify_backup(made, password=PASSWORD)
        assert report.ok, report.problems
        assert report.entries == 3

    @pytest.mark.parametrize("name", FILES)
    def test_changed_file_is_named(self, copy: pathlib.Path, name: str) -> None:
        """One byte changed in any file: not ok, and the problem names that file."""
        path = copy / name
        data = bytearray(path.read_bytes())
        # In the manifest a digit of its date: the middle byte moves with the temporary
        # paths' length (xdist's are longer) and could land in a fingerprint it lists.
        at = data.find(b'"created": "') + 13 if name == MANIFEST else len(data) // 2
        data[at] ^= 0x01
        path.write_bytes(bytes(data))
        report = verify_backup(copy, password=PASSWORD)
        assert not report.ok
        assert {p.file for p in report.problems} == {name}, report.problems
        assert not report.wrong_password

    @pytest.mark.parametrize("name", FILES)
    def test_removed_file_is_named(self, copy: pathlib.Path, name: str) -> None:
        """Any file removed: not ok, and the problem names it as missing."""
        (copy / name).unlink()
        report = verify_backup(copy, password=PASSWORD)
        assert not report.ok
        assert any(p.file == name and "missing" in p.message for p in report.problems)

    def test_added_file_is_named(self, copy: pathlib.Path) -> None:
        """An extra file in the folder is reported by name."""
        (copy / "server.key").write_text("sneaked in")
        report = verify_backup(copy, password=PASSWORD)
        assert [(p.file, "not part of the backup" in p.message)
                for p in report.problems] == [("server.key", True)]

    def test_edited_manifest_is_caught(self, copy: pathlib.Path) -> None:
        """A manifest edited cleanly (still canonical JSON) fails its HMAC."""
        manifest = json.loads((copy / MANIFEST).read_text())
        manifest["certificates"][0]["not_after"] = "2199-12-31T00:00:00Z"
        (copy / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                ensure_ascii=False) + "\n")
        report = verify_backup(copy, password=PASSWORD)
        assert [p.file for p in report.problems] == [MANIFEST]
        assert "HMAC" in report.problems[0].message

    def test_wrong_password_is_reported_as_such(self, made: pathlib.Path) -> None:
        """A wrong password says so, and does not call the files changed."""
        report = verify_backup(made, password="not-it")
        assert not report.ok
        assert report.wrong_password
        assert [p.file for p in report.problems] == [ARCHIVE]
        assert "password is wrong" in report.problems[0].message


class TestRestore:
    """restore() writes a verified backup in a server's layout."""

    def test_restore_for_nginx(self, made: pathlib.Path, pki: PKI, tmp_path: pathlib.Path) -> None:
        """The chosen entry comes back as key + full chain (leaf and intermediate)."""
        result = restore(made, "nginx", tmp_path, password=PASSWORD, alias="site")
        full = next(p for p in result if p.name.endswith(".fullchain.pem"))
        assert list(certkit.load(full).certificates) == list(pki.chain[:2])

    def test_several_keys_need_an_alias(self, made: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """Two keys in the backup: the error lists both aliases."""
        with pytest.raises(certkit.errors.AliasError, match=r"'site', 'other\.example\.test'"):
            restore(made, "nginx", tmp_path, password=PASSWORD)

    def test_tampered_backup_is_refused(self, copy: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """A backup that does not verify is not restored."""
        (copy / CERTIFICATES).write_text("")
        with pytest.raises(BackupError, match=CERTIFICATES):
            restore(copy, "nginx", tmp_path / "out", password=PASSWORD, alias="site")
        assert not (tmp_path / "out").exists()

    def test_wrong_password(self, made: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """A wrong password is a PasswordError."""
        with pytest.raises(PasswordError, match="wrong password"):
            restore(made, "nginx", tmp_path, password="nope", alias="site")
