"""Tests for certkit.cli.toolkit: match, modulus, find-key, chain, verify and request commands."""

from __future__ import annotations

import io
import json
import pathlib
import re
import stat
from typing import Any

import pytest
from conftest import PKI, openssl

import certkit
from certkit.cli import main


def run(*argv: str | pathlib.Path) -> tuple[int, str]:
    """Run the CLI in-process; return the exit code and standard output."""
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


def run_json(*argv: str | pathlib.Path) -> tuple[int, Any]:
    """Run the CLI with --json and parse its output."""
    code, text = run(*argv, "--json")
    return code, json.loads(text)


@pytest.fixture
def files(pki: PKI, other_pki: PKI, tmp_path: pathlib.Path) -> pathlib.Path:
    """The test hierarchy as files: server.key/.crt, inter.crt, root.crt, other.key, chain.pem."""
    (tmp_path / "server.key").write_bytes(pki.leaf.key.to_pem())
    (tmp_path / "server.crt").write_bytes(pki.leaf.certificate.to_pem())
    (tmp_path / "inter.crt").write_bytes(pki.intermediate.certificate.to_pem())
    (tmp_path / "root.crt").write_bytes(pki.root.certificate.to_pem())
    (tmp_path / "other.key").write_bytes(other_pki.leaf.key.to_pem())
    (tmp_path / "shuffled.pem").write_bytes(b"".join(
        c.to_pem() for c in (pki.root.certificate, pki.leaf.certificate,
                             pki.intermediate.certificate)))
    return tmp_path


@pytest.mark.interop
class TestMatch:
    """``certkit match`` prints both modulus hashes as openssl does, MATCH or MISMATCH."""

    def test_match(self, files: pathlib.Path) -> None:
        """The right key gives MATCH, exit 0, and openssl's md5 of the modulus."""
        code, text = run("match", files / "server.key", files / "server.crt")
        assert code == 0
        assert "MATCH" in text
        printed = openssl("x509", "-in", files / "server.crt", "-noout", "-modulus").stdout
        md5 = openssl("md5", input=printed).stdout.decode().split("=")[-1].strip()
        assert text.count(md5) == 2

    def test_mismatch(self, files: pathlib.Path) -> None:
        """Another key gives MISMATCH and exit 1."""
        code, text = run("match", files / "other.key", files / "server.crt")
        assert code == 1
        assert "MISMATCH" in text

    def test_json(self, files: pathlib.Path) -> None:
        """--json carries both fingerprints and the verdict."""
        code, data = run_json("match", files / "server.key", files / "server.crt")
        assert code == 0
        assert data["match"] is True
        assert data["key"]["modulus_md5"] == data["certificate"]["modulus_md5"]
        assert data["key"]["spki_sha256"] == data["certificate"]["spki_sha256"]

    def test_ec_key_uses_public_key_fingerprint(self, tmp_path: pathlib.Path) -> None:
        """For EC keys the SPKI SHA-256 is shown instead of a modulus."""
        key = certkit.generate_key("EC-P256")
        (tmp_path / "ec.key").write_bytes(key.to_pem())
        (tmp_path / "ec.csr").write_bytes(certkit.generate_csr(key, "a.example").to_pem())
        code, text = run("match", tmp_path / "ec.key", tmp_path / "ec.csr")
        assert code == 0
        assert f"public key sha256  {key.public_key_fingerprint}" in text

    def test_no_key(self, files: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A certificate given as KEY is an input error (exit 2)."""
        code, _ = run("match", files / "server.crt", files / "server.crt")
        assert code == 2
        assert "holds no private key" in capsys.readouterr().err


class TestModulus:
    """``certkit modulus`` lists the modulus hash of every object in the files."""

    def test_every_object(self, files: pathlib.Path) -> None:
        """Key and certificates each get a line with their md5."""
        code, data = run_json("modulus", files / "server.key", files / "shuffled.pem")
        assert code == 0
        kinds = [row["type"] for row in data["objects"]]
        assert kinds == ["private key", "certificate", "certificate", "certificate"]
        key_row = data["objects"][0]
        assert key_row["modulus_md5"] == certkit.modulus_hash(
            certkit.PrivateKey.load((files / "server.key").read_bytes()))

    def test_full_and_digest(self, files: pathlib.Path) -> None:
        """--full prints the Modulus= line and --digest picks the hash."""
        code, text = run("modulus", files / "server.crt", "--full", "--digest", "sha256")
        assert code == 0
        assert re.search(r"^    sha256 [0-9a-f]{64}$", text, re.MULTILINE)
        assert re.search(r"^    Modulus=[0-9A-F]+$", text, re.MULTILINE)


class TestFindKey:
    """``certkit find-key`` searches folders for the certificate's key."""

    def test_found(self, files: pathlib.Path) -> None:
        """The key file is named, exit 0."""
        code, text = run("find-key", files / "server.crt", files)
        assert code == 0
        assert "found:" in text
        assert "server.key" in text

    def test_not_found(self, files: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        """With only another certificate's key the answer is no, exit 1, with advice."""
        folder = tmp_path_factory.mktemp("only-other")
        (folder / "other.key").write_bytes((files / "other.key").read_bytes())
        code, data = run_json("find-key", files / "server.crt", folder)
        assert code == 1
        assert data["found"] is None
        assert data["keys_searched"] == 1

    def test_missing_place(self, files: pathlib.Path) -> None:
        """A folder that does not exist is an input error."""
        code, _ = run("find-key", files / "server.crt", files / "nope")
        assert code == 2


class TestChain:
    """``certkit chain`` orders, completes and writes chains."""

    def test_orders(self, files: pathlib.Path, pki: PKI) -> None:
        """A shuffled bundle comes out leaf first and can be written to a file."""
        code, data = run_json("chain", files / "shuffled.pem", "--out", files / "ordered.pem")
        assert code == 0
        assert [c["subject"] for c in data["chain"]] == [c.subject for c in pki.chain]
        assert certkit.load(files / "ordered.pem").certificates == pki.chain

    def test_strays_are_a_problem(self, files: pathlib.Path, other_pki: PKI) -> None:
        """Certificates of two hierarchies cannot be ordered: a problem found (exit 1)
        naming the stray, not an error (exit 2)."""
        (files / "stray.crt").write_bytes(other_pki.root.certificate.to_pem())
        code, text = run("chain", files / "shuffled.pem", files / "stray.crt")
        assert code == 1
        assert "NOT ONE CHAIN" in text
        assert "Other Root CA" in text

    def test_two_leaves_are_a_problem(self, files: pathlib.Path, pki: PKI,
                                      other_pki: PKI) -> None:
        """Two leaves in one bag exit 1, and --json names the stray leaf."""
        (files / "other-leaf.crt").write_bytes(other_pki.leaf.certificate.to_pem())
        code, data = run_json("chain", files / "shuffled.pem", files / "other-leaf.crt")
        assert code == 1
        assert data["chain"] is None
        assert data["strays"] == [other_pki.leaf.certificate.subject]

    def test_complete_with_trust(self, files: pathlib.Path) -> None:
        """--complete with --trust finishes the chain and says where each part came from."""
        code, data = run_json("chain", files / "server.crt", files / "inter.crt", "--complete",
                              "--trust", files / "root.crt")
        assert code == 0
        assert data["complete"] is True
        assert [c["origin"] for c in data["chain"]] == ["leaf", str(files / "inter.crt"),
                                                       "trust store"]

    def test_incomplete(self, files: pathlib.Path) -> None:
        """A leaf alone stays incomplete: exit 1 naming the missing issuer."""
        code, text = run("chain", files / "server.crt", "--complete")
        assert code == 1
        assert "missing issuer O=certkit tests,CN=certkit Test Intermediate CA" in text

    def test_no_root_output(self, files: pathlib.Path, pki: PKI) -> None:
        """--no-root leaves the self-signed root out of the written chain."""
        code, _ = run("chain", files / "shuffled.pem", "--out", files / "c.pem", "--no-root")
        assert code == 0
        assert certkit.load(files / "c.pem").certificates == pki.chain[:2]


class TestVerify:
    """``certkit verify`` reports OK or INVALID with reason codes."""

    def test_ok(self, files: pathlib.Path) -> None:
        """A full chain for the right host verifies against its root."""
        (files / "full.pem").write_bytes((files / "server.crt").read_bytes()
                                         + (files / "inter.crt").read_bytes())
        code, text = run("verify", files / "full.pem", "--trust", files / "root.crt",
                         "--host", "localhost")
        assert code == 0
        assert text.startswith("OK:")

    def test_missing_intermediate(self, files: pathlib.Path) -> None:
        """The leaf alone is INVALID with missing-intermediate, exit 1."""
        code, data = run_json("verify", files / "server.crt", "--trust", files / "root.crt")
        assert code == 1
        assert [r["code"] for r in data["reasons"]] == ["missing-intermediate"]

    def test_expired_at(self, files: pathlib.Path) -> None:
        """--at in the next century reports expired certificates."""
        code, text = run("verify", files / "shuffled.pem", "--trust", files / "root.crt",
                         "--at", "2100-01-01")
        assert code == 1
        assert "expired:" in text

    def test_bad_time(self, files: pathlib.Path) -> None:
        """An unreadable --at is a usage error."""
        code, _ = run("verify", files / "server.crt", "--at", "tomorrow")
        assert code == 2


class TestRequest:
    """``certkit request`` writes the key (0600, first) and the CSR, never overwriting."""

    def test_writes_key_and_csr(self, tmp_path: pathlib.Path) -> None:
        """Both files appear; the key is private and matches the CSR openssl verifies."""
        key, csr = tmp_path / "www.key", tmp_path / "www.csr"
        code, text = run("request", "--cn", "www.example.com", "--san", "example.com",
                         "--key-type", "EC-P256", "--out-key", key, "--out-csr", csr)
        assert code == 0
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert "public key sha256" in text
        assert openssl("req", "-in", csr, "-noout", "-verify").returncode == 0
        match_code, _ = run("match", key, csr)
        assert match_code == 0

    def test_never_overwrites(self, tmp_path: pathlib.Path) -> None:
        """An existing key file is left alone and nothing is generated (exit 2)."""
        key, csr = tmp_path / "www.key", tmp_path / "www.csr"
        key.write_text("precious")
        code, _ = run("request", "--cn", "a.example", "--out-key", key, "--out-csr", csr)
        assert code == 2
        assert key.read_text() == "precious"
        assert not csr.exists()

    def test_key_survives_a_failed_csr_write(self, tmp_path: pathlib.Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
        """If the CSR cannot be written the key is already saved, and the error says where."""
        key, csr = tmp_path / "www.key", tmp_path / "no-such-folder" / "www.csr"
        code, _ = run("request", "--cn", "a.example", "--key-type", "EC-P256",
                      "--out-key", key, "--out-csr", csr)
        assert code == 2
        assert key.exists()
        assert f"the key was saved to {key}" in capsys.readouterr().err

    def test_encrypted_key(self, tmp_path: pathlib.Path) -> None:
        """--key-password-file encrypts the key; loading it needs that password."""
        (tmp_path / "pw").write_text("s3cret\n")
        key, csr = tmp_path / "www.key", tmp_path / "www.csr"
        code, data = run_json("request", "--cn", "a.example", "--key-type", "EC-P256",
                              "--out-key", key, "--out-csr", csr,
                              "--key-password-file", tmp_path / "pw")
        assert code == 0
        assert data["encrypted"] is True
        assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
        assert certkit.load(key, password="s3cret").key_entries

    def test_bad_san_is_an_input_error(self, tmp_path: pathlib.Path) -> None:
        """A malformed --san is refused before any file is written."""
        key, csr = tmp_path / "www.key", tmp_path / "www.csr"
        code, _ = run("request", "--cn", "a.example", "--san", "bad name", "--key-type",
                      "EC-P256", "--out-key", key, "--out-csr", csr)
        assert code == 2
        assert not key.exists()
