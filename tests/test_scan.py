"""certkit scan: a generated tree of certificates, keys, keystores, junk and traps.

The unreadable file is a dangling symbolic link (the tests run as root, who can read a
chmod 000 file anyway); a FIFO checks that the scan never opens what would block.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pathlib
import random
from typing import Any

import attrs
import pytest
from conftest import Issued, issue, make_key, openssl
from cryptography.hazmat.primitives import serialization

from certkit import ScanReport, scan
from certkit.cli import main

PASSWORD = "changeit"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
SITES = 40


def _pem(issued: Issued) -> bytes:
    return issued.certificate.to_pem()


def _key_pem(issued: Issued) -> bytes:
    return issued.key.key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())


@attrs.frozen
class Tree:
    """The generated folder and what the scan must find in it."""

    root: pathlib.Path
    pairs: frozenset[tuple[str, str]]
    orphans: frozenset[str]
    without_key: frozenset[str]
    incomplete: str
    expiring: frozenset[str]
    expired: str
    dangling: str
    damaged: str
    files: int


def _write(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _build(root: pathlib.Path) -> Tree:
    """About 700 files: paired sites, orphans, strays, junk, a PKCS#12, traps and a loop."""
    rng = random.Random(6)  # noqa: S311 - reproducible junk, not secrets
    ca = issue("Scan Root CA", ca=True, key=make_key("EC-P256"))
    inter = issue("Scan Intermediate CA", issuer=ca, ca=True, key=make_key("EC-P256"))
    _write(root / "ca" / "root.crt", _pem(ca))
    _write(root / "ca" / "inter.crt", _pem(inter))
    pairs: set[tuple[str, str]] = set()
    expiring: set[str] = set()
    for index in range(SITES):
        end = NOW + dt.timedelta(days=10) if index < 3 else NOW + dt.timedelta(days=400)
        leaf = issue(f"site{index}.scan.test", issuer=inter, key=make_key("EC-P256"),
                     not_before=NOW - dt.timedelta(days=1), not_after=end)
        site = root / "sites" / f"site{index:02}"
        # Names that lie about the content: the scan must go by the bytes.
        cert_path = site / ("certificate.txt" if index % 5 == 0 else "cert.pem")
        if index % 4 == 1:
            cert_path = site / "cert.cer"
            _write(cert_path, leaf.certificate.der)
        else:
            _write(cert_path, _pem(leaf))
        key_path = root / "keys" / f"k{index:02}.key"
        _write(key_path, _key_pem(leaf))
        pairs.add((str(cert_path), str(key_path)))
        if index < 3:
            expiring.add(str(cert_path))
    orphans = set()
    for index in range(5):
        path = root / "orphans" / f"lonely{index}.key"
        _write(path, _key_pem(issue("unused", key=make_key("EC-P256"))))
        orphans.add(str(path))
    without_key = set()
    for index in range(5):
        leaf = issue(f"nokey{index}.scan.test", issuer=inter, key=make_key("EC-P256"))
        path = root / "nokey" / f"nokey{index}.crt"
        _write(path, _pem(leaf))
        without_key.add(str(path))
    elsewhere = issue("Elsewhere Intermediate CA", issuer=ca, ca=True, key=make_key("EC-P256"))
    stray = issue("stray.scan.test", issuer=elsewhere, key=make_key("EC-P256"))
    stray_path = root / "stray" / "fullchain.pem"
    _write(stray_path, _key_pem(stray) + _pem(stray))
    pairs.add((str(stray_path), str(stray_path)))
    old = issue("old.scan.test", issuer=inter, key=make_key("EC-P256"),
                not_before=NOW - dt.timedelta(days=800), not_after=NOW - dt.timedelta(days=35))
    old_path = root / "old" / "old.pem"
    _write(old_path, _pem(old) + _key_pem(old))
    pairs.add((str(old_path), str(old_path)))
    # A PKCS#12 made by openssl, holding the key and chain of a site pair.
    pfx_leaf = issue("pfx.scan.test", issuer=inter, key=make_key("EC-P256"))
    _write(root / "pfx" / "in.pem", _pem(pfx_leaf) + _pem(inter))
    _write(root / "pfx" / "in.key", _key_pem(pfx_leaf))
    openssl("pkcs12", "-export", "-in", root / "pfx" / "in.pem", "-inkey", root / "pfx" / "in.key",
            "-passout", f"pass:{PASSWORD}", "-out", root / "pfx" / "site.bin")
    (root / "pfx" / "in.pem").unlink()
    (root / "pfx" / "in.key").unlink()
    pfx_path = str(root / "pfx" / "site.bin")
    pairs.add((pfx_path, pfx_path))
    # Junk: binary noise, text, an empty file, a big sparse file, a file like DER but not.
    for index in range(600):
        folder = root / "junk" / f"j{index // 100}"
        if index % 3 == 0:
            _write(folder / f"blob{index}.bin", rng.randbytes(rng.randrange(10, 4000)))
        elif index % 3 == 1:
            _write(folder / f"notes{index}.txt", f"line {index}\n".encode() * 20)
        else:
            _write(folder / f"data{index}.pem", b"not PEM at all, just named like it\n")
    _write(root / "junk" / "empty.crt", b"")
    _write(root / "junk" / "fake.der", b"\x30\x82\x01\x00" + rng.randbytes(50))
    with (root / "junk" / "huge.iso").open("wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    # Traps: a damaged certificate, a dangling link, a FIFO, a loop back to the top.
    damaged = root / "traps" / "cut.pem"
    text = _pem(old)
    _write(damaged, text[: len(text) // 2] + b"\n-----END CERTIFICATE-----\n")
    dangling = root / "traps" / "gone.pem"
    dangling.symlink_to(root / "traps" / "nowhere.pem")
    os.mkfifo(root / "traps" / "pipe.pem")
    (root / "traps" / "loop").symlink_to(root, target_is_directory=True)
    without_key.discard("")
    files = sum(len(names) for _, _, names in os.walk(root))
    return Tree(root, frozenset(pairs), frozenset(orphans), frozenset(without_key),
                str(stray_path), frozenset(expiring), str(old_path), str(dangling),
                str(damaged), files)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """The generated tree, once per module."""
    return _build(tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="module")
def report(tree: Tree) -> ScanReport:
    """One scan of the tree with the PKCS#12 password and a 30-day horizon."""
    return scan(tree.root, passwords=PASSWORD, expiring=dt.timedelta(days=30), at=NOW)


class TestInventory:
    """What the scan finds in the generated tree."""

    def test_every_file_is_seen_once(self, tree: Tree, report: ScanReport) -> None:
        """Each file (links included, the loop not followed) is looked at exactly once."""
        assert report.files_seen == tree.files

    def test_every_key_is_paired_with_its_certificate(self, tree: Tree,
                                                     report: ScanReport) -> None:
        """Keys in other files and folders, under misleading names, are paired by public key."""
        found = {(cert.path, key.path) for cert, key in report.pairs
                 if not cert.is_ca}
        assert found == tree.pairs

    def test_orphaned_keys(self, tree: Tree, report: ScanReport) -> None:
        """Keys whose certificate is nowhere are listed."""
        assert {k.path for k in report.orphaned_keys} == tree.orphans

    def test_leaf_certificates_without_keys(self, tree: Tree, report: ScanReport) -> None:
        """Leaves with no key anywhere are listed; CA certificates are not."""
        assert {c.path for c in report.without_key} == tree.without_key

    def test_incomplete_chain_names_the_missing_issuer(self, tree: Tree,
                                                        report: ScanReport) -> None:
        """Only the leaf whose intermediate is nowhere is incomplete, and the issuer is named."""
        assert [(c.path, issuer) for c, issuer in report.incomplete] == [
            (tree.incomplete, "O=certkit tests,CN=Elsewhere Intermediate CA")]

    def test_expired_and_expiring(self, tree: Tree, report: ScanReport) -> None:
        """The expired certificate and those ending within 30 days are listed apart."""
        assert [c.path for c in report.expired] == [tree.expired]
        assert {c.path for c in report.expiring} == tree.expiring

    def test_unreadable_files_are_reported_and_the_scan_goes_on(self, tree: Tree,
                                                               report: ScanReport) -> None:
        """The dangling link, the damaged PEM and a broken .der are reported; junk, the FIFO
        and the big file are not (they are not certificate material)."""
        issues = {(i.path, i.reason) for i in report.unreadable}
        assert issues == {(tree.dangling, "unreadable"), (tree.damaged, "damaged"),
                          (str(tree.root / "junk" / "fake.der"), "damaged")}

    def test_has_problems(self, report: ScanReport) -> None:
        """A tree with orphans and gaps has problems."""
        assert report.has_problems


class TestWalking:
    """Links, loops, passwords and progress."""

    def test_symlink_loop_ends(self, tree: Tree, report: ScanReport) -> None:
        """Following links, the loop back to the top is entered once and the scan ends."""
        followed = scan(tree.root, passwords=PASSWORD, follow_symlinks=True, at=NOW)
        assert followed.files_seen == report.files_seen
        assert len(followed.certificates) == len(report.certificates)

    def test_progress_is_called_for_every_file(self, tree: Tree) -> None:
        """The callback sees a running count up to the number of files."""
        counts: list[int] = []
        result = scan(tree.root / "sites", progress=lambda n, _: counts.append(n), at=NOW)
        assert counts == list(range(1, result.files_seen + 1))

    def test_missing_password_is_reported(self, tree: Tree) -> None:
        """Without the password the PKCS#12 is listed as needing one."""
        result = scan(tree.root / "pfx", at=NOW)
        assert [i.reason for i in result.unreadable] == ["password-needed"]

    def test_a_single_file_can_be_scanned(self, tree: Tree) -> None:
        """A path to a file is scanned like a folder holding only it."""
        result = scan([tree.incomplete], at=NOW, trust_system=False)
        assert result.files_seen == 1
        assert len(result.pairs) == 1


class TestCommandLine:
    """``certkit scan``: exit codes and JSON."""

    def test_problems_exit_1(self, tree: Tree) -> None:
        """A tree with problems exits 1 and lists them."""
        out = io.StringIO()
        assert main(["scan", str(tree.root / "orphans")], out=out) == 1
        assert out.getvalue().count("orphan ") == 5

    def test_clean_folder_exits_0(self, tree: Tree) -> None:
        """A folder of CA certificates only has nothing to report."""
        out = io.StringIO()
        assert main(["scan", str(tree.root / "ca")], out=out) == 0
        assert "no problems found" in out.getvalue()

    def test_json(self, tree: Tree, tmp_path: pathlib.Path) -> None:
        """--json gives counts and lists; the password comes from a file."""
        (tmp_path / "pass.txt").write_text(PASSWORD + "\n")
        out = io.StringIO()
        code = main(["scan", str(tree.root / "pfx"), "--password-file",
                     str(tmp_path / "pass.txt"), "--json"], out=out)
        data = json.loads(out.getvalue())
        assert (code, data["ok"], data["keys"]) == (0, True, 1)

    def test_missing_folder_exits_2(self, tree: Tree) -> None:
        """A folder that does not exist is a usage error."""
        assert main(["scan", str(tree.root / "absent")], out=io.StringIO()) == 2


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, Any]:
    """The same root in two files, a leaf with its key, and the intermediate."""
    root = issue("Inventory Root", ca=True)
    inter = issue("Inventory Issuing CA", issuer=root, ca=True)
    leaf = issue("inventory.example", issuer=inter, sans=("inventory.example",))
    top = tmp_path_factory.mktemp("inventory")
    for sub in ("roots", "site"):
        (top / sub).mkdir()
    _write(top / "roots" / "root.pem", _pem(root))
    _write(top / "ca-bundle.crt", _pem(inter) + _pem(root))
    _write(top / "site" / "site.crt", _pem(leaf))
    _write(top / "site" / "site.key", _key_pem(leaf))
    return top, (root, inter, leaf)


class TestDistinctInventory:
    """The inventory lists each certificate once, with every place, its role, days and key."""

    def test_root_once_with_both_places(self, folder: tuple[pathlib.Path, Any]) -> None:
        """The root found in two files appears once, naming both files, as a root."""
        top, (root, _, _) = folder
        result = scan([top], at=NOW, trust_system=False)
        assert len(result.certificates) == 4
        assert len(result.inventory) == 3
        (item,) = [i for i in result.inventory if i.sha256 == root.certificate.fingerprint()]
        assert item.role == "root"
        assert sorted(p.path for p in item.places) == sorted(
            [str(top / "ca-bundle.crt"), str(top / "roots" / "root.pem")])

    def test_roles_days_and_key(self, folder: tuple[pathlib.Path, Any]) -> None:
        """The leaf has its key's place; days left agree with openssl's notAfter."""
        top, (_, inter, leaf) = folder
        result = scan([top], at=NOW, trust_system=False)
        by_sha = {i.sha256: i for i in result.inventory}
        item = by_sha[leaf.certificate.fingerprint()]
        assert item.role == "leaf"
        assert [p.path for p in item.keys] == [str(top / "site" / "site.key")]
        line = openssl("x509", "-noout", "-enddate", input=_pem(leaf)).stdout.decode().strip()
        not_after = dt.datetime.strptime(line.removeprefix("notAfter="),
                                         "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.timezone.utc)
        assert item.days_left == (not_after - NOW) // dt.timedelta(days=1)
        assert by_sha[inter.certificate.fingerprint()].role == "intermediate"
        assert by_sha[inter.certificate.fingerprint()].keys == ()

    def test_json_and_list(self, folder: tuple[pathlib.Path, Any]) -> None:
        """--json lists the inventory; --list prints it before the problems, root once."""
        top, (root, _, _) = folder
        out = io.StringIO()
        main(["scan", str(top), "--json"], out=out)
        data = json.loads(out.getvalue())
        (item,) = [i for i in data["inventory"] if i["sha256"] == root.certificate.fingerprint()]
        assert (item["role"], len(item["places"])) == ("root", 2)
        out = io.StringIO()
        main(["scan", str(top), "--list"], out=out)
        text = out.getvalue()
        assert text.count("CN=Inventory Root") == 1
        assert text.count(f"sha256 {root.certificate.fingerprint()}") == 1
        assert f"in  {top / 'roots' / 'root.pem'}" in text
        assert f"key {top / 'site' / 'site.key'}" in text


class TestVersionOneRoots:
    """An old X.509 v1 self-signed root (no extensions) is a root, not a leaf."""

    def test_openssl_v1_root_is_a_root_without_a_missing_key(self,
                                                             tmp_path: pathlib.Path) -> None:
        """openssl x509 -req -signkey makes a v1 certificate; scan calls it a root and does
        not ask for its private key."""
        key, csr, cert = tmp_path / "v1.key", tmp_path / "v1.csr", tmp_path / "certs" / "v1.crt"
        cert.parent.mkdir()
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-subj", "/CN=Old V1 Root", "-out", csr)
        openssl("x509", "-req", "-in", csr, "-signkey", key, "-days", "3650", "-out", cert)
        assert b"Version: 1 (0x0)" in openssl("x509", "-in", cert, "-noout", "-text").stdout
        report = scan(cert.parent, trust_system=False)
        assert [item.role for item in report.inventory] == ["root"]
        assert report.without_key == ()


class TestTrust:
    """--trust gives scan a private CA's root: its key entries' chains are then trusted."""

    def test_a_private_root_makes_the_chain_trusted(self, tmp_path: pathlib.Path) -> None:
        """A PFX made by openssl with leaf and intermediate is untrusted against no store
        and trusted with the private root given as trust."""
        root = issue("Private Root CA", ca=True)
        inter = issue("Private Issuing CA", issuer=root, ca=True)
        leaf = issue("intra.example.test", issuer=inter, sans=("intra.example.test",))
        folder = tmp_path / "srv"
        folder.mkdir()
        (tmp_path / "leaf.pem").write_bytes(_pem(leaf) + _key_pem(leaf))
        (tmp_path / "inter.pem").write_bytes(_pem(inter))
        (tmp_path / "root.pem").write_bytes(_pem(root))
        openssl("pkcs12", "-export", "-in", tmp_path / "leaf.pem", "-certfile",
                tmp_path / "inter.pem", "-passout", "pass:pw", "-out", folder / "site.pfx")
        untrusted = scan(folder, passwords="pw", trust=None)
        trusted = scan(folder, passwords="pw", trust=str(tmp_path / "root.pem"))
        assert [c.code for c in untrusted.chains] != ["server-ready"]
        assert [c.code for c in trusted.chains] == ["server-ready"]
        assert trusted.incomplete == ()

    def test_an_unreadable_trust_file_fails_before_the_walk(self,
                                                            tmp_path: pathlib.Path) -> None:
        """A trust store the caller named that cannot be read is an error, not an empty store."""
        from certkit.errors import CertkitError
        with pytest.raises(CertkitError):
            scan(tmp_path, trust=str(tmp_path / "missing.pem"))
