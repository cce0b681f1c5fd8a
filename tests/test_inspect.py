"""Tests for certkit._ops.inspect: roles, days left, kept attributes, a bare key said plainly."""

from __future__ import annotations

import datetime as dt
import io
import json
import pathlib

import pytest
from conftest import PKI, issue, openssl

from certkit import KeyEntry, KeyStore, TrustedCertEntry, load, save
from certkit._ops.inspect import describe, role
from certkit.cli import main


def _openssl_days_left(cert_pem: bytes) -> int:
    """Whole days to expiry, from the notAfter openssl prints (not from certkit)."""
    line = openssl("x509", "-noout", "-enddate", input=cert_pem).stdout.decode().strip()
    not_after = dt.datetime.strptime(line.removeprefix("notAfter="), "%b %d %H:%M:%S %Y %Z")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return (not_after - now) // dt.timedelta(days=1)


@pytest.fixture(scope="module")
def pfx(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A PFX from openssl with the full chain, a friendly name and a CSP name."""
    folder = tmp_path_factory.mktemp("inspect")
    (folder / "k.pem").write_bytes(pki.leaf.key.to_pem())
    (folder / "c.pem").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "ca.pem").write_bytes(pki.intermediate.certificate.to_pem()
                                    + pki.root.certificate.to_pem())
    out = folder / "site.pfx"
    openssl("pkcs12", "-export", "-inkey", folder / "k.pem", "-in", folder / "c.pem",
            "-certfile", folder / "ca.pem", "-name", "www site", "-CSP",
            "Microsoft RSA SChannel Cryptographic Provider", "-passout", "pass:pw", "-out", out)
    return out


class TestRoles:
    """Each certificate is named root, intermediate or leaf, with its days left."""

    def test_full_chain_json(self, pfx: pathlib.Path, pki: PKI, tmp_path: pathlib.Path) -> None:
        """inspect --json of a full chain: leaf, intermediate, root, each with days left."""
        (tmp_path / "pw").write_text("pw\n")
        out = io.StringIO()
        assert main(["inspect", str(pfx), "--password-file", str(tmp_path / "pw"), "--json"],
                    out=out) == 0
        (entry,) = json.loads(out.getvalue())["files"][0]["entries"]
        certs = entry["certificates"]
        assert [c["role"] for c in certs] == ["leaf", "intermediate", "root"]
        for cert, issued in zip(certs, (pki.leaf, pki.intermediate, pki.root), strict=True):
            expected = _openssl_days_left(issued.certificate.to_pem())
            assert cert["days_left"] in (expected, expected - 1)  # a day may turn meanwhile

    def test_self_signed_leaf(self) -> None:
        """A self-signed server certificate (not a CA) is a leaf, not a root."""
        assert role(issue("selfsigned.example").certificate) == "leaf"

    def test_expired_days_negative(self, pki: PKI) -> None:
        """An expired certificate has negative days left."""
        old = issue("old.example", issuer=pki.intermediate,
                    not_before=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                    not_after=dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)).certificate
        info = describe(KeyStore([TrustedCertEntry("old", old)]), trust=None)
        assert info["entries"][0]["certificates"][0]["days_left"] < -9000


class TestAttributes:
    """The attributes a container kept are shown: friendly name, local key id, CSP."""

    def test_pfx_attributes(self, pfx: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """openssl's -name and -CSP come back in JSON and in the text view."""
        info = describe(load(pfx, password="pw"), trust=None)
        kept = info["entries"][0]["attributes"]
        assert kept["friendly_name"] == "www site"
        assert kept["csp_name"] == "Microsoft RSA SChannel Cryptographic Provider"
        dumped = openssl("pkcs12", "-in", pfx, "-passin", "pass:pw", "-nokeys",
                         "-clcerts").stdout.decode()
        local_id = dumped.split("localKeyID:")[1].splitlines()[0].replace(" ", "").lower()
        assert kept["local_key_id"] == local_id
        (tmp_path / "pw").write_text("pw\n")
        out = io.StringIO()
        main(["inspect", str(pfx), "--password-file", str(tmp_path / "pw")], out=out)
        text = out.getvalue()
        assert "friendly name www site" in text
        assert "CSP Microsoft RSA SChannel Cryptographic Provider" in text
        assert "[root] O=certkit tests,CN=certkit Test Root CA" in text
        assert "days)" in text


class TestBareKey:
    """A key without a certificate says so, not "chain of 0"."""

    def test_key_only(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """inspect server.key: 'key only, no certificate'."""
        path = save(KeyStore([KeyEntry("k", pki.leaf.key)]), tmp_path / "server.key")
        out = io.StringIO()
        assert main(["inspect", str(path)], out=out) == 0
        assert "key only, no certificate" in out.getvalue()
        assert "chain of 0" not in out.getvalue()
