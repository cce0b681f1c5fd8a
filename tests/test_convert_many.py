"""``convert_many``: a batch of conversions into one folder, synced once, failures isolated."""

from __future__ import annotations

import io
import json
import os
import pathlib
import stat
import sys

import pytest
from conftest import PKI, openssl
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit.cli import main
from certkit.errors import (
    CertkitError,
    DecodeError,
    FileExistsCertkitError,
    PasswordError,
    ReadError,
    UnrepresentableError,
    UnsupportedFormatError,
)

PASSWORD = "batch-pass"

api = sys.modules[certkit.convert_many.__module__]  # certkit._ops.api, wherever it is installed


def _fingerprint(path: pathlib.Path) -> str:
    """The SHA-256 fingerprint ``openssl x509`` reads from the first certificate of a file."""
    printed = openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha256")
    return printed.stdout.decode().split("=")[1].strip().replace(":", "").lower()


def _public_key(path: pathlib.Path) -> bytes:
    """The public key ``openssl pkey`` derives from the private key in a PEM file."""
    return openssl("pkey", "-in", str(path), "-pubout").stdout


@pytest.fixture
def sources(tmp_path: pathlib.Path, pki: PKI) -> list[pathlib.Path]:
    """Three PFX files with the same password: two written by certkit, one by openssl."""
    folder = tmp_path / "in"
    folder.mkdir()
    store = KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)])
    made = []
    for name in ("alpha", "beta"):
        path = folder / f"{name}.pfx"
        path.write_bytes(certkit.dump(store, "pkcs12", password=PASSWORD))
        made.append(path)
    (folder / "key.pem").write_bytes(pki.leaf.key.to_pem())
    (folder / "leaf.pem").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "cas.pem").write_bytes(b"".join(c.to_pem() for c in pki.chain[1:]))
    by_openssl = folder / "gamma.pfx"
    openssl("pkcs12", "-export", "-inkey", folder / "key.pem", "-in", folder / "leaf.pem",
            "-certfile", folder / "cas.pem", "-passout", f"pass:{PASSWORD}", "-out", by_openssl)
    made.append(by_openssl)
    return made


@pytest.fixture
def out_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """An empty output folder."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _leftovers(folder: pathlib.Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


class TestConverts:
    """Every source is converted as ``convert`` would, named after the source."""

    def test_pfx_files_become_pem_files_openssl_reads(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path, pki: PKI) -> None:
        """PFX from certkit and from openssl → PEM: openssl reads the leaf and the key."""
        batch = certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD)
        assert batch.ok
        assert batch.failed == ()
        assert [r.destination for r in batch.converted] == [
            out_dir / "alpha.pem", out_dir / "beta.pem", out_dir / "gamma.pem"]
        leaf_public = pki.leaf.certificate.x509.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        for report in batch.converted:
            assert (report.source_format, report.format, report.entries) == ("pkcs12", "pem", 1)
            assert _fingerprint(report.destination) == pki.leaf.certificate.fingerprint()
            assert _public_key(report.destination) == leaf_public
            assert certkit.load(report.destination).certificates == pki.chain

    def test_key_files_get_mode_0600_and_certificates_0644(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path, tmp_path: pathlib.Path,
            pki: PKI) -> None:
        """Outputs holding a private key are 0600; certificate-only outputs are 0644."""
        public = tmp_path / "in" / "chain.p7b"
        certkit.save(KeyStore([TrustedCertEntry(f"c{i}", c) for i, c in enumerate(pki.chain)]),
                     public)
        batch = certkit.convert_many([sources[0], public], out_dir, format="pem",
                                     password=PASSWORD)
        assert batch.ok
        assert stat.S_IMODE(os.stat(out_dir / "alpha.pem").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(out_dir / "chain.pem").st_mode) == 0o644

    @pytest.mark.parametrize(("format_name", "extension"), [
        ("pem", ".pem"), ("pkcs12", ".pfx"), ("p12", ".pfx"), ("jks", ".jks"),
        ("jceks", ".jceks")])
    def test_output_name_is_the_stem_with_the_format_extension(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path, format_name: str,
            extension: str) -> None:
        """``format`` picks the extension from the registry; containers keep the password."""
        batch = certkit.convert_many(sources[:1], out_dir, format=format_name,
                                     password=PASSWORD)
        (report,) = batch.converted
        assert report.destination == out_dir / f"alpha{extension}"
        original = certkit.load(sources[0], password=PASSWORD)
        again = certkit.load(report.destination, password=PASSWORD)
        assert again.key_entries[0].key == original.key_entries[0].key

    @pytest.mark.parametrize(("format_name", "extension"), [("der", ".der"), ("pkcs7", ".p7b")])
    def test_certificate_formats(self, tmp_path: pathlib.Path, out_dir: pathlib.Path,
                                 pki: PKI, format_name: str, extension: str) -> None:
        """DER and PKCS#7 outputs are named ``.der`` and ``.p7b`` and openssl reads them."""
        source = tmp_path / "leaf.pem"
        certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]), source)
        (report,) = certkit.convert_many([source], out_dir, format=format_name).converted
        assert report.destination == out_dir / f"leaf{extension}"
        if format_name == "der":
            printed = openssl("x509", "-inform", "DER", "-in", str(report.destination),
                              "-noout", "-subject").stdout.decode()
        else:
            printed = openssl("pkcs7", "-inform", "DER", "-in", str(report.destination),
                              "-print_certs", "-noout").stdout.decode()
        assert "CN = localhost" in printed

    def test_new_password_protects_the_outputs(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path) -> None:
        """``new_password`` encrypts PEM keys, which openssl then opens with it."""
        batch = certkit.convert_many(sources[:1], out_dir, format="pem", password=PASSWORD,
                                     new_password="other")
        (report,) = batch.converted
        assert b"ENCRYPTED PRIVATE KEY" in report.destination.read_bytes()
        openssl("pkey", "-in", str(report.destination), "-passin", "pass:other", "-noout")

    def test_an_empty_batch_writes_nothing(self, out_dir: pathlib.Path) -> None:
        """No sources: an empty, successful report."""
        batch = certkit.convert_many([], out_dir, format="pem")
        assert (batch.converted, batch.failed, batch.ok) == ((), (), True)
        assert os.listdir(out_dir) == []


class TestFailures:
    """One bad source is reported and skipped; nothing is written for it."""

    def test_wrong_password_among_good_files(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path, pki: PKI) -> None:
        """A PFX with another password fails alone; the files around it are written."""
        odd = sources[0].with_name("odd.pfx")
        odd.write_bytes(certkit.dump(certkit.load(sources[0], password=PASSWORD), "pkcs12",
                                     password="not the batch password"))
        batch = certkit.convert_many([sources[0], odd, sources[2]], out_dir, format="pem",
                                     password=PASSWORD)
        assert not batch.ok
        (failure,) = batch.failed
        assert failure.source == str(odd)
        assert isinstance(failure.error, PasswordError)
        assert sorted(os.listdir(out_dir)) == ["alpha.pem", "gamma.pem"]
        assert _fingerprint(out_dir / "gamma.pem") == pki.leaf.certificate.fingerprint()

    def test_damaged_and_missing_files(self, sources: list[pathlib.Path],
                                       out_dir: pathlib.Path) -> None:
        """A truncated PFX and a missing file fail with their own errors, in source order."""
        damaged = sources[0].with_name("damaged.pfx")
        damaged.write_bytes(sources[0].read_bytes()[:200])
        missing = sources[0].with_name("missing.pfx")
        batch = certkit.convert_many([damaged, sources[1], missing], out_dir, format="pem",
                                     password=PASSWORD)
        assert [f.source for f in batch.failed] == [str(damaged), str(missing)]
        assert isinstance(batch.failed[0].error, DecodeError)
        assert isinstance(batch.failed[1].error, ReadError)
        assert [r.source for r in batch.converted] == [str(sources[1])]
        assert os.listdir(out_dir) == ["beta.pem"]

    def test_existing_output_is_kept_without_overwrite(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path) -> None:
        """An output already there stays byte-identical and fails; ``overwrite`` replaces it."""
        existing = out_dir / "beta.pem"
        existing.write_bytes(b"someone else's file\n")
        batch = certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD)
        (failure,) = batch.failed
        assert failure.source == str(sources[1])
        assert isinstance(failure.error, FileExistsCertkitError)
        assert existing.read_bytes() == b"someone else's file\n"
        assert len(batch.converted) == 2
        again = certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD,
                                     overwrite=True)
        assert again.ok
        assert b"PRIVATE KEY" in existing.read_bytes()
        assert _leftovers(out_dir) == []

    def test_two_sources_with_one_output_name(
            self, sources: list[pathlib.Path], tmp_path: pathlib.Path,
            out_dir: pathlib.Path) -> None:
        """Sources that would share an output name all fail, naming each other."""
        other = tmp_path / "elsewhere"
        other.mkdir()
        twin = other / sources[0].name
        twin.write_bytes(sources[0].read_bytes())
        batch = certkit.convert_many([sources[0], sources[1], twin], out_dir, format="pem",
                                     password=PASSWORD)
        assert [f.source for f in batch.failed] == [str(sources[0]), str(twin)]
        for failure in batch.failed:
            assert str(twin) in str(failure.error)
            assert str(sources[0]) in str(failure.error)
        assert os.listdir(out_dir) == ["beta.pem"]

    def test_unrepresentable_output_fails_alone(
            self, sources: list[pathlib.Path], tmp_path: pathlib.Path, out_dir: pathlib.Path,
            pki: PKI) -> None:
        """A key and chain cannot be one DER file: that source fails, a certificate converts."""
        certificate = tmp_path / "leaf.pem"
        certkit.save(KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)]), certificate)
        batch = certkit.convert_many([sources[0], certificate], out_dir, format="der",
                                     password=PASSWORD)
        (failure,) = batch.failed
        assert isinstance(failure.error, UnrepresentableError)
        assert os.listdir(out_dir) == ["leaf.der"]

    def test_missing_output_folder(self, sources: list[pathlib.Path],
                                   tmp_path: pathlib.Path) -> None:
        """``out_dir`` must exist and be a folder; the error says so before anything is read."""
        with pytest.raises(ReadError, match="does not exist"):
            certkit.convert_many(sources, tmp_path / "nope", format="pem", password=PASSWORD)
        with pytest.raises(ReadError, match="is not a folder"):
            certkit.convert_many(sources, sources[0], format="pem", password=PASSWORD)
        assert not (tmp_path / "nope").exists()

    def test_format_that_cannot_be_written(self, sources: list[pathlib.Path],
                                           out_dir: pathlib.Path) -> None:
        """An unknown or read-only format is one error for the whole batch."""
        with pytest.raises(UnsupportedFormatError):
            certkit.convert_many(sources, out_dir, format="bks", password=PASSWORD)
        with pytest.raises(UnsupportedFormatError):
            certkit.convert_many(sources, out_dir, format="zip", password=PASSWORD)

    def test_errors_are_certkit_errors(self, sources: list[pathlib.Path],
                                       out_dir: pathlib.Path) -> None:
        """Every failure carries a CertkitError with a message naming the problem."""
        batch = certkit.convert_many(sources, out_dir, format="pem", password="wrong")
        assert len(batch.failed) == 3
        assert all(isinstance(f.error, CertkitError) for f in batch.failed)
        assert os.listdir(out_dir) == []


class TestDurability:
    """Contents are synced before any name appears; each file fsynced once."""

    def test_nothing_is_in_place_when_the_batch_is_synced(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """When the temporary files are synced, no output exists under its final name yet."""
        seen: list[list[str]] = []
        original = api._sync_temps

        def spy(temps: object) -> object:
            seen.append(sorted(os.listdir(out_dir)))
            return original(temps)

        monkeypatch.setattr(api, "_sync_temps", spy)
        assert certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD).ok
        (names,) = seen
        assert len(names) == 3
        assert all(name.startswith(".") and name.endswith(".tmp") for name in names)
        assert sorted(os.listdir(out_dir)) == ["alpha.pem", "beta.pem", "gamma.pem"]

    def test_every_file_is_fsynced_once(self, sources: list[pathlib.Path],
                                        out_dir: pathlib.Path, pki: PKI,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
        """A batch fsyncs each of its files once, then the output folder once."""
        fsyncs = _count_fsyncs(monkeypatch)
        batch = certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD)
        assert batch.ok
        assert len(fsyncs) == 3 + 1
        for report in batch.converted:
            assert _fingerprint(report.destination) == pki.leaf.certificate.fingerprint()
        assert _leftovers(out_dir) == []

    def test_big_batches_are_written_in_chunks(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """Outputs are written (and synced) a chunk at a time, so memory stays bounded."""
        chunks: list[int] = []
        original = api._sync_temps

        def spy(temps: dict[int, object]) -> object:
            chunks.append(len(temps))
            return original(temps)  # type: ignore[arg-type]

        monkeypatch.setattr(api, "_sync_temps", spy)
        monkeypatch.setattr(api, "_BATCH_FILES", 2)
        batch = certkit.convert_many(sources, out_dir, format="pem", password=PASSWORD)
        assert [r.source for r in batch.converted] == [str(s) for s in sources]
        assert chunks == [2]  # the third file, alone in its chunk, is synced as written
        assert _leftovers(out_dir) == []

    def test_single_convert_fsyncs_its_file(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """``convert`` (a batch of one) fsyncs the file and its folder."""
        fsyncs = _count_fsyncs(monkeypatch)
        certkit.convert(sources[0], out_dir / "one.pem", password=PASSWORD)
        assert len(fsyncs) == 2


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every os.fsync call (and still perform it)."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def run_cli(*argv: str) -> tuple[int, str]:
    """Run ``certkit`` in-process; return the exit code and stdout."""
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


class TestCommandLine:
    """``certkit convert IN… --out-dir DIR --to FORMAT``."""

    @pytest.fixture
    def password_file(self, tmp_path: pathlib.Path) -> str:
        """A file holding the batch password."""
        path = tmp_path / "pass.txt"
        path.write_text(PASSWORD + "\n")
        return str(path)

    def test_converts_every_input(self, sources: list[pathlib.Path], out_dir: pathlib.Path,
                                  password_file: str, pki: PKI) -> None:
        """One ``wrote`` line per file, exit code 0, openssl reads each output."""
        code, out = run_cli("convert", *map(str, sources), "--out-dir", str(out_dir),
                            "--to", "pem", "--password-file", password_file)
        assert code == 0
        wrote = [line for line in out.splitlines() if line.startswith("wrote ")]
        assert [line.split()[1] for line in wrote] == [
            str(out_dir / f"{s.stem}.pem") for s in sources]
        for source in sources:
            assert _fingerprint(out_dir / f"{source.stem}.pem") == \
                pki.leaf.certificate.fingerprint()

    def test_a_failure_is_one_error_line_and_exit_2(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path, password_file: str,
            capsys: pytest.CaptureFixture[str]) -> None:
        """A missing input gives ``error: IN: …`` on stderr; the others are written."""
        missing = str(out_dir.parent / "missing.pfx")
        code, out = run_cli("convert", str(sources[0]), missing, str(sources[1]),
                            "--out-dir", str(out_dir), "--to", "pem",
                            "--password-file", password_file)
        err = capsys.readouterr().err
        assert code == 2
        assert err.splitlines() == [
            f"error: {missing}: cannot read {missing}: No such file or directory"]
        assert out.count("wrote ") == 2
        assert sorted(os.listdir(out_dir)) == ["alpha.pem", "beta.pem"]

    def test_json_is_a_list_in_input_order(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path,
            password_file: str) -> None:
        """``--json`` lists every input, converted or not, in the order given."""
        (out_dir / "beta.pem").write_text("taken\n")
        code, out = run_cli("convert", "--json", *map(str, sources), "--out-dir", str(out_dir),
                            "--to", "pem", "--password-file", password_file)
        assert code == 2
        results = json.loads(out)
        assert [r["source"] for r in results] == list(map(str, sources))
        assert [r["ok"] for r in results] == [True, False, True]
        assert "already exists" in results[1]["error"]
        assert results[0]["destination"] == str(out_dir / "alpha.pem")
        assert results[0]["format"] == "pem"

    def test_usage_errors(self, sources: list[pathlib.Path], out_dir: pathlib.Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
        """--out-dir needs --to; without --out-dir exactly IN and OUT; a missing DIR is named."""
        code, _ = run_cli("convert", str(sources[0]), "--out-dir", str(out_dir))
        assert code == 2
        assert "--out-dir needs --to" in capsys.readouterr().err
        code, _ = run_cli("convert", *map(str, sources))
        assert code == 2
        assert "give IN and OUT" in capsys.readouterr().err
        code, _ = run_cli("convert", str(sources[0]), "--out-dir", str(out_dir / "nope"),
                          "--to", "pem")
        assert code == 2
        assert "does not exist" in capsys.readouterr().err
        assert os.listdir(out_dir) == []

    def test_missing_password_is_asked_once(
            self, sources: list[pathlib.Path], out_dir: pathlib.Path,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """With a terminal and no password option, one prompt opens every input."""
        prompts: list[str] = []

        def getpass(prompt: str) -> str:
            prompts.append(prompt)
            return PASSWORD

        monkeypatch.setattr("getpass.getpass", getpass)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        code, out = run_cli("convert", *map(str, sources), "--out-dir", str(out_dir),
                            "--to", "pem")
        assert code == 0, out
        assert len(prompts) == 1
        assert out.count("wrote ") == 3
