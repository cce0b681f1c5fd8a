"""Backups: one encrypted PKCS#12, the PEM and a manifest; verified, tamper-evident, restorable."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import io
import json
import os
import pathlib
import stat

import pytest
import servers
from conftest import PKI, issue, openssl

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry, backup, restore, verify_backup
from certkit._ops.backup import ARCHIVE, CERTIFICATES, MANIFEST
from certkit.cli import main
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


def _rewrite_manifest(folder: pathlib.Path, files: dict[str, object], *,
                      password: str | None = None) -> None:
    """Replace the manifest's file list, re-signing it when the password is given."""
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"] = files
    if password is not None:
        body = {k: v for k, v in manifest.items() if k != "hmac"}
        key = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                  bytes.fromhex(body["integrity"]["salt"]),
                                  body["integrity"]["iterations"])
        canonical = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode()
        manifest["hmac"] = hmac.new(key, canonical + b"\n", hashlib.sha256).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                              ensure_ascii=False) + "\n")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path stat'ed or opened from now on (os.stat, os.open, open)."""
    seen: list[str] = []
    real_stat, real_open, real_io_open = os.stat, os.open, io.open

    def spy_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        seen.append(os.fspath(path))  # type: ignore[arg-type]
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def spy_open(path: object, *args: object, **kwargs: object) -> int:
        seen.append(os.fspath(path))  # type: ignore[arg-type]
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def spy_io_open(path: object, *args: object, **kwargs: object) -> object:
        if isinstance(path, (str, os.PathLike)):
            seen.append(os.fspath(path))
        return real_io_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "stat", spy_stat)
    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_io_open)
    monkeypatch.setattr(builtins, "open", spy_io_open)
    return seen


def _system_trust_locations() -> tuple[str, ...]:
    """Where this machine's trust store lives (files and folders), as OpenSSL reports them."""
    import ssl

    paths = ssl.get_default_verify_paths()
    found = {os.path.normpath(p) for p in (paths.cafile, paths.capath, paths.openssl_cafile,
                                           paths.openssl_capath) if p}
    found |= {os.path.dirname(p) for p in list(found)}
    return tuple(sorted(p for p in found if p not in {"", "/"}))


class TestTamperedManifest:
    """A manifest names only the backup's own files; nothing else is opened, signed or not."""

    @pytest.mark.parametrize("name", ["/etc/passwd", "../outside.p12", "sub/backup.p12"])
    def test_foreign_name_is_refused_unopened(self, copy: pathlib.Path, name: str,
                                              opened: list[str]) -> None:
        """A manifest listing a path outside the folder is reported; that path is never touched."""
        (copy.parent / "outside.p12").write_bytes(b"bait")
        manifest = json.loads((copy / MANIFEST).read_text())
        _rewrite_manifest(copy, {**manifest["files"], name: {"sha256": "0" * 64}})
        opened.clear()
        report = verify_backup(copy, password=PASSWORD)
        # The trial restore judges chains against the system trust store, which the
        # manifest does not name; everything else touched must be the backup's own.
        trust = _system_trust_locations()
        touched = [os.path.normpath(p) for p in opened
                   if not any(os.path.normpath(p).startswith(t) for t in trust)]
        assert any(p.file == MANIFEST and "never writes" in p.message and repr(name) in p.message
                   for p in report.problems), report.problems
        assert touched
        assert all(p == str(copy) or os.path.dirname(p) == str(copy) for p in touched), touched

    def test_signed_foreign_name_is_still_refused(self, copy: pathlib.Path,
                                                  opened: list[str]) -> None:
        """Even with a valid HMAC (someone knows the password), ../x is not a backup file."""
        _rewrite_manifest(copy, {"../x": {"sha256": "0" * 64},
                                 "/etc/passwd": {"sha256": "0" * 64}}, password=PASSWORD)
        opened.clear()
        report = verify_backup(copy, password=PASSWORD)
        assert not report.ok
        assert any("never writes" in p.message for p in report.problems)
        assert not any(p.endswith(("passwd", "/x")) for p in opened), opened

    def test_digests_are_not_compared_before_the_hmac(self, copy: pathlib.Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """With an unsigned (tampered) manifest, no listed file's digest is reported as checked."""
        manifest = json.loads((copy / MANIFEST).read_text())
        manifest["files"][CERTIFICATES]["sha256"] = "0" * 64
        _rewrite_manifest(copy, manifest["files"])
        report = verify_backup(copy, password=PASSWORD)
        assert [p.file for p in report.problems] == [MANIFEST]
        assert "HMAC" in report.problems[0].message

    def test_linked_backup_file_is_not_followed(self, copy: pathlib.Path,
                                                tmp_path: pathlib.Path) -> None:
        """A backup file replaced by a symbolic link is reported and not opened."""
        elsewhere = tmp_path / "elsewhere.pem"
        elsewhere.write_bytes((copy / CERTIFICATES).read_bytes())
        (copy / CERTIFICATES).unlink()
        (copy / CERTIFICATES).symlink_to(elsewhere)
        report = verify_backup(copy, password=PASSWORD)
        assert any(p.file == CERTIFICATES and "symbolic link" in p.message
                   for p in report.problems)


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


@pytest.fixture(scope="module")
def loose(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """server.key, server.crt and uca.cer (the intermediate, DER) as separate files, as a CA
    sends them; root.pem is the private root a client trusts."""
    folder = tmp_path_factory.mktemp("loose")
    (folder / "server.key").write_bytes(pki.leaf.key.to_pem())
    (folder / "server.crt").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "uca.cer").write_bytes(pki.intermediate.certificate.der)
    (folder / "root.pem").write_bytes(pki.root.certificate.to_pem())
    (folder / "pass.txt").write_text(PASSWORD + "\n")
    return folder


class TestBackupPairs:
    """backup pairs keys with certificates across files, as load of one PEM file does."""

    def test_key_crt_and_intermediate_files_make_one_entry(self, loose: pathlib.Path, pki: PKI,
                                                           tmp_path: pathlib.Path) -> None:
        """The key is backed up with its leaf and intermediate, leaf first."""
        names = ("server.key", "server.crt", "uca.cer")
        manifest = backup([loose / n for n in names], tmp_path / "bk", password=PASSWORD)
        store = certkit.load(tmp_path / "bk" / ARCHIVE, password=PASSWORD)
        assert [list(e.chain) for e in store.key_entries] == [list(pki.chain[:2])]
        assert store.key_entries[0].key == pki.leaf.key
        assert manifest.warnings == ()
        assert verify_backup(tmp_path / "bk", password=PASSWORD).ok

    def test_key_without_certificate_is_refused(self, loose: pathlib.Path,
                                                tmp_path: pathlib.Path) -> None:
        """A key no source certificate matches: BackupError naming the file; nothing written."""
        with pytest.raises(BackupError, match=r"server\.key.*allow_unpaired"):
            backup([loose / "server.key", loose / "uca.cer"], tmp_path / "bk", password=PASSWORD)
        assert not (tmp_path / "bk").exists()

    def test_allowed_unpaired_key_fails_verification(self, loose: pathlib.Path,
                                                     tmp_path: pathlib.Path) -> None:
        """allow_unpaired backs the key up with a warning; verify-backup says it cannot restore."""
        manifest = backup([loose / "server.key"], tmp_path / "bk", password=PASSWORD,
                          allow_unpaired=True)
        assert len(manifest.warnings) == 1
        assert "server.key" in manifest.warnings[0]
        report = verify_backup(tmp_path / "bk", password=PASSWORD)
        assert not report.ok
        [problem] = report.problems
        assert problem.alias == "private-key"
        assert "no certificate" in problem.message
        with pytest.raises(BackupError, match="no certificate"):
            restore(tmp_path / "bk", "nginx", tmp_path / "out", password=PASSWORD)

    def test_incomplete_chain_is_a_note(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A leaf whose issuer is nowhere restores only with allow_incomplete: noted, not failed."""
        impostor = issue("certkit Test Intermediate CA", issuer=pki.root, ca=True)
        store = KeyStore([KeyEntry("site", pki.leaf.key,
                                   [pki.leaf.certificate, impostor.certificate])])
        backup([store], tmp_path / "bk", password=PASSWORD)
        report = verify_backup(tmp_path / "bk", password=PASSWORD)
        assert report.ok, report.problems
        assert len(report.notes) == 1
        assert "'site'" in report.notes[0]
        assert "allow_incomplete" in report.notes[0]

    def test_other_entrys_problem_does_not_stop_a_restore(self, pki: PKI, other_pki: PKI,
                                                         tmp_path: pathlib.Path) -> None:
        """A key-only entry beside a good one: the good one still restores by alias."""
        store = KeyStore([KeyEntry("site", pki.leaf.key, pki.chain),
                          KeyEntry("lonely", other_pki.leaf.key)])
        backup([store], tmp_path / "bk", password=PASSWORD, allow_unpaired=True)
        assert not verify_backup(tmp_path / "bk", password=PASSWORD).ok
        result = restore(tmp_path / "bk", "nginx", tmp_path / "out", password=PASSWORD,
                         alias="site")
        assert any(p.name.endswith(".fullchain.pem") for p in result)


@pytest.mark.interop
@pytest.mark.slow
class TestRestoreServes:
    """The promise kept end to end: separate files backed up, restored, served by nginx."""

    def test_nginx_serves_the_full_chain(self, loose: pathlib.Path, pki: PKI,
                                         tmp_path: pathlib.Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """backup server.key server.crt uca.cer → restore --for nginx → s_client sees the chain."""
        # The machine trusts the private root, as the system trust store trusts a public one.
        monkeypatch.setenv("SSL_CERT_FILE", str(loose / "root.pem"))
        monkeypatch.chdir(loose)
        pw = ["--password-file", str(loose / "pass.txt")]
        out = io.StringIO()
        assert main(["backup", "server.key", "server.crt", "uca.cer", "--out",
                     str(tmp_path / "bk"), *pw], out=out) == 0, out.getvalue()
        assert main(["verify-backup", str(tmp_path / "bk"), *pw], out=out) == 0, out.getvalue()
        restored = tmp_path / "tls"
        assert main(["restore", str(tmp_path / "bk"), "--for", "nginx", str(restored), *pw],
                    out=out) == 0, out.getvalue()
        [conf] = [p for p in restored.iterdir() if p.name.endswith(".conf")]
        lines = "\n".join(line for line in conf.read_text().splitlines()
                          if line.strip().startswith("ssl_certificate"))
        with servers.nginx(tmp_path / "nginx", lines) as server:
            served = servers.s_client_chain(server.port, loose / "root.pem")
        assert served == [pki.leaf.certificate.der, pki.intermediate.certificate.der]
