"""Server export targets: the files, their modes, the chain rules, and real servers serving them."""

from __future__ import annotations

import collections.abc
import datetime as dt
import errno
import os
import pathlib
import stat
import warnings
from collections.abc import Callable

import pytest
import servers
from conftest import PKI, issue, keytool, openssl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from test_chains import _Hierarchy, _Late, _Server

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry
from certkit._ops import api
from certkit._ops.export import combine, export
from certkit.errors import AliasError, ChainError, FileExistsCertkitError, PasswordError


@pytest.fixture(scope="module")
def store(pki: PKI) -> KeyStore:
    """The leaf's key with its full chain (leaf, intermediate, root)."""
    return KeyStore([KeyEntry("localhost", pki.leaf.key, pki.chain)])


@pytest.fixture(scope="module")
def root_pem(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The test root as the only trust anchor for TLS clients."""
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(pki.root.certificate.to_pem())
    return path


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _certs(path: pathlib.Path) -> list[bytes]:
    return [c.der for c in certkit.load(path).certificates]


def _served(pki: PKI) -> list[bytes]:
    return [pki.leaf.certificate.der, pki.intermediate.certificate.der]


class TestChoosingTheEntry:
    """Which key entry is exported."""

    def test_the_only_key_entry_is_taken(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """A store with one key entry needs no alias."""
        result = export(store, "nginx", tmp_path)
        assert result.chain.leaf == store.key_entries[0].certificate

    def test_ambiguous_store_lists_the_aliases(self, pki: PKI, other_pki: PKI,
                                               tmp_path: pathlib.Path) -> None:
        """Two key entries and no alias: the error names both aliases."""
        two = KeyStore([KeyEntry("site-a", pki.leaf.key, pki.chain),
                        KeyEntry("site-b", other_pki.leaf.key, other_pki.chain)])
        with pytest.raises(AliasError, match="'site-a', 'site-b'"):
            export(two, "nginx", tmp_path)
        result = export(two, "nginx", tmp_path, alias="site-b")
        assert result.chain.leaf == other_pki.leaf.certificate

    def test_no_key_is_explained(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Certificates alone cannot be exported for a server."""
        certs = KeyStore([TrustedCertEntry("leaf", pki.leaf.certificate)])
        with pytest.raises(AliasError, match="no private key"):
            export(certs, "apache", tmp_path)

    def test_separate_files_are_combined(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """server.key + server.crt + chain.crt become one key entry with its chain."""
        key = KeyStore([KeyEntry("k", pki.leaf.key)])
        leaf = KeyStore([TrustedCertEntry("c", pki.leaf.certificate)])
        chain = KeyStore([TrustedCertEntry("i", pki.intermediate.certificate),
                          TrustedCertEntry("r", pki.root.certificate)])
        result = export(combine([key, leaf, chain]), "nginx", tmp_path)
        assert [c.der for c in result.chain] == _served(pki)


class TestChainRules:
    """Leaf and intermediates, leaf first; incomplete chains refused unless allowed."""

    def test_root_is_left_out(self, store: KeyStore, pki: PKI, tmp_path: pathlib.Path) -> None:
        """The exported chain is leaf + intermediate; the result names the root left out."""
        result = export(store, "nginx", tmp_path)
        assert [c.der for c in result.chain] == _served(pki)
        assert result.root_left_out == pki.root.certificate.subject

    def test_leaf_only_is_refused_naming_the_intermediate(self, pki: PKI,
                                                          tmp_path: pathlib.Path) -> None:
        """A leaf without its intermediate raises ChainError naming the missing issuer."""
        leaf_only = KeyStore([KeyEntry("localhost", pki.leaf.key, [pki.leaf.certificate])])
        with pytest.raises(ChainError, match=r"missing intermediate: .*certkit Test Intermediate"):
            export(leaf_only, "nginx", tmp_path)
        assert not list(tmp_path.iterdir())

    def test_allow_incomplete_exports_as_is(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """allow_incomplete=True writes the chain it has."""
        leaf_only = KeyStore([KeyEntry("localhost", pki.leaf.key, [pki.leaf.certificate])])
        result = export(leaf_only, "nginx", tmp_path, allow_incomplete=True)
        assert [c.der for c in result.chain] == [pki.leaf.certificate.der]

    def test_unknown_root_needs_trust(self, pki: PKI, root_pem: pathlib.Path,
                                      tmp_path: pathlib.Path) -> None:
        """Leaf + intermediate of a private CA: refused, accepted once the root is trusted."""
        no_root = KeyStore([KeyEntry("localhost", pki.leaf.key, pki.chain[:2])])
        with pytest.raises(ChainError, match="certkit Test Root CA"):
            export(no_root, "nginx", tmp_path / "a")
        result = export(no_root, "nginx", tmp_path / "b", trust=root_pem)
        assert [c.der for c in result.chain] == _served(pki)
        assert result.root_left_out is None

    def test_chain_completed_from_the_store(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Intermediates held as separate certificates in the store complete the chain."""
        loose = KeyStore([KeyEntry("localhost", pki.leaf.key, [pki.leaf.certificate]),
                          TrustedCertEntry("root", pki.root.certificate),
                          TrustedCertEntry("inter", pki.intermediate.certificate)])
        assert [c.der for c in export(loose, "nginx", tmp_path).chain] == _served(pki)

    def test_self_signed_leaf_is_its_own_chain(self, tmp_path: pathlib.Path) -> None:
        """A self-signed server certificate exports without complaint."""
        alone = issue("localhost", sans=("localhost",))
        store = KeyStore([KeyEntry("self", alone.key, [alone.certificate])])
        assert len(export(store, "haproxy", tmp_path).chain) == 1

    def test_mismatched_key_is_refused(self, pki: PKI, other_pki: PKI,
                                       tmp_path: pathlib.Path) -> None:
        """A key that does not match the certificate would stop the server: refused."""
        wrong = KeyStore([KeyEntry.unchecked("x", other_pki.leaf.key, pki.chain)])
        with pytest.raises(ChainError, match="does not match"):
            export(wrong, "nginx", tmp_path)


class TestFiles:
    """What each target writes, with which modes, and never over existing files."""

    def test_apache_files(self, store: KeyStore, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Key 0600, leaf, chain and full chain files; both config forms point at them."""
        result = export(store, "apache", tmp_path)
        names = [p.name for p in result]
        assert names == ["localhost.key", "localhost.crt", "localhost.chain.crt",
                         "localhost.fullchain.crt", "localhost.apache.conf"]
        assert _mode(tmp_path / "localhost.key") == 0o600
        assert _mode(tmp_path / "localhost.fullchain.crt") == 0o644
        assert _certs(tmp_path / "localhost.fullchain.crt") == _served(pki)
        assert _certs(tmp_path / "localhost.chain.crt") == _served(pki)[1:]
        assert f"SSLCertificateFile {tmp_path / 'localhost.fullchain.crt'}" in result.config_lines
        assert f"# SSLCertificateChainFile {tmp_path / 'localhost.chain.crt'}" in result.config
        assert (tmp_path / "localhost.apache.conf").read_text() == result.config

    def test_nginx_files(self, store: KeyStore, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Full chain leaf first plus key; ssl_certificate lines."""
        result = export(store, "nginx", tmp_path)
        assert _certs(tmp_path / "localhost.fullchain.pem") == _served(pki)
        assert certkit.load(tmp_path / "localhost.key").key_entries[0].key == pki.leaf.key
        assert f"ssl_certificate_key {tmp_path / 'localhost.key'};" in result.config_lines

    def test_haproxy_one_file_is_private(self, store: KeyStore, pki: PKI,
                                         tmp_path: pathlib.Path) -> None:
        """One 0600 PEM with chain and key; a bind line."""
        result = export(store, "haproxy", tmp_path)
        loaded = certkit.load(result[0])
        assert _mode(result[0]) == 0o600
        assert [c.der for c in loaded.key_entries[0].chain] == _served(pki)
        assert result.config_lines[-1] == f"bind :443 ssl crt {result[0]}"

    @pytest.mark.parametrize("keystore_type", ["pkcs12", "jks"])
    def test_tomcat_keystore(self, store: KeyStore, pki: PKI, tmp_path: pathlib.Path,
                             keystore_type: str) -> None:
        """The keystore holds the chain under the alias the snippet names; no password in it."""
        result = export(store, "tomcat", tmp_path, password="s3cret!",
                        keystore_type=keystore_type)
        loaded = certkit.load(result[0], password="s3cret!", key_passwords={"localhost": "s3cret!"})
        assert [c.der for c in loaded.key_entries[0].chain] == _served(pki)
        assert _mode(result[0]) == 0o600
        assert 'certificateKeyAlias="localhost"' in result.config
        assert f'certificateKeystoreType="{keystore_type.upper()}"' in result.config
        assert "s3cret" not in result.config
        assert "<SSLHostConfig>" in result.config

    def test_tomcat_and_iis_need_a_password(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """A keystore without a password is refused before anything is written."""
        for target in ("tomcat", "iis"):
            with pytest.raises(PasswordError):
                export(store, target, tmp_path)
        assert not list(tmp_path.iterdir())

    def test_iis_pfx_keeps_the_root(self, store: KeyStore, pki: PKI,
                                    tmp_path: pathlib.Path) -> None:
        """The .pfx carries leaf, intermediate and the root the input had."""
        result = export(store, "iis", tmp_path, password="changeit")
        loaded = certkit.load(result[0], password="changeit")
        assert list(loaded.key_entries[0].chain) == list(pki.chain)
        assert "Import-PfxCertificate" in result.config

    def test_nothing_is_overwritten(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """An export over files with other content fails and leaves them alone."""
        first = export(store, "nginx", tmp_path)
        (tmp_path / "localhost.nginx.conf").write_text("# edited by hand\n")
        before = {p: p.read_bytes() for p in first}
        with pytest.raises(FileExistsCertkitError, match=r"localhost\.nginx\.conf"):
            export(store, "nginx", tmp_path)
        assert {p: p.read_bytes() for p in first} == before
        again = export(store, "nginx", tmp_path, overwrite=True)
        assert list(again) == list(first)
        assert again.changed
        assert _mode(tmp_path / "localhost.key") == 0o600

    def test_result_is_a_list_of_paths(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """export() returns a list of paths, each one written."""
        result = export(store, "apache", tmp_path)
        assert isinstance(result, collections.abc.MutableSequence)
        assert all(isinstance(p, pathlib.Path) and p.is_file() for p in result)

    def test_unknown_target(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """An unknown target names the ones there are."""
        with pytest.raises(certkit.errors.UnsupportedFormatError, match="nginx"):
            export(store, "lighttpd", tmp_path)


def _long_name_store(pki: PKI, common_name: str) -> KeyStore:
    """The leaf's key with a certificate for it whose common name is ``common_name``."""
    with warnings.catch_warnings():  # longer than X.509 allows: cryptography warns, and signs
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name,
                                             _validate=False)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(pki.leaf.key.key.public_key())  # type: ignore[arg-type]
            .serial_number(7).not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
            .not_valid_after(dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
            .sign(pki.leaf.key.key, hashes.SHA256()))  # type: ignore[arg-type]
    return KeyStore([KeyEntry("long", pki.leaf.key, [certkit.Certificate.from_x509(cert)])])


class TestHostileNames:
    """File names come from a certificate someone else made: bounded and harmless."""

    @pytest.mark.parametrize("common_name", ["a" * 300, "é" * 200, "../" * 90 + "etc"])
    def test_long_common_name(self, pki: PKI, tmp_path: pathlib.Path, common_name: str) -> None:
        """A common name over 255 bytes gives short file names inside the folder."""
        result = export(_long_name_store(pki, common_name), "apache", tmp_path,
                        allow_incomplete=True)
        assert all(p.parent == tmp_path and len(p.name.encode()) < 128 for p in result)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in result)

    def test_long_names_stay_apart(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """Two long names that differ only at the end do not collide after shortening."""
        first = export(_long_name_store(pki, "a" * 300 + "1"), "nginx", tmp_path,
                       allow_incomplete=True)
        second = export(_long_name_store(pki, "a" * 300 + "2"), "nginx", tmp_path,
                        allow_incomplete=True)
        assert set(first).isdisjoint(second)

    def test_long_explicit_name(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """name= over 255 bytes is shortened too rather than failing with an OSError."""
        result = export(store, "nginx", tmp_path, name="n" * 400)
        assert all(len(p.name.encode()) < 128 for p in result)

    def test_os_errors_are_certkit_errors(self, store: KeyStore, tmp_path: pathlib.Path) -> None:
        """A folder that cannot be made (a file is in the way) is a ReadError, not OSError."""
        (tmp_path / "file").write_text("")
        with pytest.raises(certkit.errors.ReadError, match="nothing was exported"):
            export(store, "nginx", tmp_path / "file" / "out")


class TestAllOrNothing:
    """An export cut short leaves nothing behind: never a key without its certificate."""

    def test_full_disk_while_writing(self, store: KeyStore, tmp_path: pathlib.Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """ENOSPC on the third file: ReadError, and no file (nor temporary file) is left."""
        real = api._write_temp
        calls = []

        def filling_up(output: api._Output, **kwargs: bool) -> tuple[pathlib.Path, int]:
            calls.append(output.path.name)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(output.path))
            return real(output, **kwargs)

        monkeypatch.setattr(api, "_write_temp", filling_up)
        with pytest.raises(certkit.errors.ReadError, match="No space left"):
            export(store, "apache", tmp_path)
        assert len(calls) == 3
        assert list(tmp_path.iterdir()) == []

    def test_failure_while_placing(self, store: KeyStore, tmp_path: pathlib.Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """A file that cannot be put in place takes back the ones already placed."""
        real = api._put_in_place
        placed = []

        def failing(tmp: pathlib.Path, path: pathlib.Path, *, overwrite: bool) -> None:
            if len(placed) == 2:
                raise OSError(errno.EIO, "Input/output error", str(path))
            real(tmp, path, overwrite=overwrite)
            placed.append(path)

        monkeypatch.setattr(api, "_put_in_place", failing)
        with pytest.raises(certkit.errors.ReadError, match="Input/output error"):
            export(store, "apache", tmp_path)
        assert len(placed) == 2
        assert list(tmp_path.iterdir()) == []


def _snapshot(paths: collections.abc.Iterable[pathlib.Path],
              ) -> dict[pathlib.Path, tuple[int, bytes]]:
    """Each file's inode and bytes: a file rewritten, even identically, gets a new inode."""
    return {p: (p.stat().st_ino, p.read_bytes()) for p in paths}


_KEYSTORE_TARGETS = [("tomcat", {"keystore_type": "pkcs12"}), ("tomcat", {"keystore_type": "jks"}),
                     ("iis", {})]


class TestChanged:
    """A second export of the same input writes nothing and says so (``changed``)."""

    @pytest.mark.parametrize("target", ["apache", "nginx", "haproxy"])
    def test_same_pem_files_are_left_alone(self, store: KeyStore, tmp_path: pathlib.Path,
                                           target: str) -> None:
        """The first export changes the folder; the second leaves every file as it was."""
        first = export(store, target, tmp_path)
        assert first.changed
        assert first.unchanged == ()
        before = _snapshot(first)
        second = export(store, target, tmp_path)
        assert not second.changed
        assert list(second) == list(first)
        assert second.unchanged == tuple(first)
        assert _snapshot(second) == before

    @pytest.mark.parametrize(("target", "options"), _KEYSTORE_TARGETS)
    def test_same_keystore_is_left_alone(self, store: KeyStore, tmp_path: pathlib.Path,
                                         target: str, options: dict[str, str]) -> None:
        """An encrypted keystore (new salts each write) holding the same entries is kept."""
        first = export(store, target, tmp_path, password="changeit", **options)
        before = _snapshot(first)
        second = export(store, target, tmp_path, password="changeit", **options)
        assert not second.changed
        assert _snapshot(second) == before

    @pytest.mark.parametrize(("target", "options"), _KEYSTORE_TARGETS)
    def test_keystore_under_another_password_is_different(
            self, store: KeyStore, tmp_path: pathlib.Path, target: str,
            options: dict[str, str]) -> None:
        """A keystore that does not open with the new password is not overwritten unasked."""
        first = export(store, target, tmp_path, password="changeit", **options)
        before = _snapshot(first)
        with pytest.raises(FileExistsCertkitError, match=r"\.(p12|jks|pfx) already exists"):
            export(store, target, tmp_path, password="other", **options)
        assert _snapshot(first) == before
        again = export(store, target, tmp_path, password="other", overwrite=True, **options)
        assert again.changed
        assert certkit.load(again[0], password="other").key_entries

    def test_keystore_with_another_profile_is_different(self, store: KeyStore,
                                                        tmp_path: pathlib.Path) -> None:
        """Same entries under weaker (legacy) encryption are not what a modern export writes."""
        export(store, "iis", tmp_path, password="changeit", profile="legacy")
        with pytest.raises(FileExistsCertkitError, match=r"\.pfx already exists"):
            export(store, "iis", tmp_path, password="changeit", profile="modern")

    def test_keystore_of_another_key_is_different(self, store: KeyStore, other_pki: PKI,
                                                  pki: PKI, tmp_path: pathlib.Path) -> None:
        """A keystore holding another entry under the same name is refused without overwrite."""
        other = KeyStore([KeyEntry("localhost", other_pki.leaf.key, other_pki.chain)])
        export(other, "tomcat", tmp_path, password="changeit", name="site")
        with pytest.raises(FileExistsCertkitError, match=r"site\.p12 already exists"):
            export(store, "tomcat", tmp_path, password="changeit", name="site")
        assert certkit.load(tmp_path / "site.p12", password="changeit").key_entries[0] \
            .certificate == other_pki.leaf.certificate
        assert pki.leaf.certificate != other_pki.leaf.certificate

    def test_a_missing_file_is_written_alone(self, store: KeyStore,
                                             tmp_path: pathlib.Path) -> None:
        """With one file deleted, only that one is written: changed, the others unchanged."""
        first = export(store, "apache", tmp_path)
        gone = tmp_path / "localhost.chain.crt"
        gone.unlink()
        before = _snapshot(p for p in first if p != gone)
        second = export(store, "apache", tmp_path)
        assert second.changed
        assert gone.is_file()
        assert set(second.unchanged) == set(before)
        assert _snapshot(before) == before

    def test_a_key_file_others_can_read_is_different(self, store: KeyStore,
                                                     tmp_path: pathlib.Path) -> None:
        """The key's bytes alone do not make it unchanged: mode 0644 needs overwrite to fix."""
        export(store, "nginx", tmp_path)
        key = tmp_path / "localhost.key"
        key.chmod(0o644)
        with pytest.raises(FileExistsCertkitError, match=r"localhost\.key already exists"):
            export(store, "nginx", tmp_path)
        assert _mode(key) == 0o644
        again = export(store, "nginx", tmp_path, overwrite=True)
        assert again.changed
        assert again.unchanged == (tmp_path / "localhost.fullchain.pem",
                                   tmp_path / "localhost.nginx.conf")
        assert _mode(key) == 0o600

    def test_a_symbolic_link_is_different(self, store: KeyStore,
                                          tmp_path: pathlib.Path) -> None:
        """A link to identical content is not what an export writes: it is refused unasked."""
        first = export(store, "nginx", tmp_path / "a")
        (tmp_path / "b").mkdir()
        for path in first:
            (tmp_path / "b" / path.name).symlink_to(path)
        with pytest.raises(FileExistsCertkitError):
            export(store, "nginx", tmp_path / "b")
        assert all((tmp_path / "b" / p.name).is_symlink() for p in first)

    def test_overwrite_leaves_identical_files_alone(self, store: KeyStore,
                                                    tmp_path: pathlib.Path) -> None:
        """With overwrite too, files already in place are not rewritten and changed is false."""
        first = export(store, "haproxy", tmp_path)
        before = _snapshot(first)
        again = export(store, "haproxy", tmp_path, overwrite=True)
        assert not again.changed
        assert _snapshot(again) == before


class TestUmask:
    """Public files follow the umask as any tool's do; key files are 0600 whatever it is."""

    @pytest.mark.parametrize(("umask", "public"), [(0o022, 0o644), (0o002, 0o664),
                                                   (0o077, 0o600), (0o027, 0o640)])
    def test_modes(self, store: KeyStore, tmp_path: pathlib.Path, umask: int,
                   public: int) -> None:
        """The full chain and the config get 0666 less the umask; the key 0600."""
        old = os.umask(umask)
        try:
            export(store, "apache", tmp_path)
        finally:
            os.umask(old)
        assert _mode(tmp_path / "localhost.key") == 0o600
        assert _mode(tmp_path / "localhost.fullchain.crt") == public
        assert _mode(tmp_path / "localhost.apache.conf") == public


def _check_served(port: int, root_pem: pathlib.Path, pki: PKI) -> None:
    """openssl s_client, Python's ssl and fetch_chain all see leaf + intermediate, verified."""
    assert servers.s_client_chain(port, root_pem) == _served(pki)
    assert servers.handshake_chain(port, root_pem) == _served(pki)
    fetched = certkit.fetch_chain(servers.HOST, port, servername="localhost")
    assert [c.der for c in fetched] == _served(pki)


@pytest.mark.interop
class TestRealServers:
    """Each target's files and printed config lines run a real server clients verify."""

    def test_nginx(self, store: KeyStore, pki: PKI, root_pem: pathlib.Path,
                   tmp_path: pathlib.Path) -> None:
        """nginx with ssl_certificate/ssl_certificate_key as printed."""
        result = export(store, "nginx", tmp_path / "out")
        with servers.nginx(tmp_path / "nginx", result.config) as server:
            _check_served(server.port, root_pem, pki)

    def test_apache_both_forms(self, store: KeyStore, pki: PKI, root_pem: pathlib.Path,
                               tmp_path: pathlib.Path) -> None:
        """Apache httpd with the 2.4.8+ lines, and with the older SSLCertificateChainFile form."""
        result = export(store, "apache", tmp_path / "out")
        with servers.apache(tmp_path / "apache", result.config) as server:
            _check_served(server.port, root_pem, pki)
        old = "\n".join(line[2:] for line in result.config_lines
                        if line.startswith("# SSLCertificate"))
        with servers.apache(tmp_path / "apache-old", "SSLEngine on\n" + old) as server:
            _check_served(server.port, root_pem, pki)

    def test_haproxy(self, store: KeyStore, pki: PKI, root_pem: pathlib.Path,
                     tmp_path: pathlib.Path) -> None:
        """HAProxy with the printed bind line."""
        result = export(store, "haproxy", tmp_path / "out")
        with servers.haproxy(tmp_path / "haproxy", result.config_lines[-1]) as server:
            _check_served(server.port, root_pem, pki)

    def test_tomcat_pkcs12_and_jks(self, store: KeyStore, pki: PKI, root_pem: pathlib.Path,
                                   tmp_path: pathlib.Path) -> None:
        """One Tomcat 10 with two connectors from the printed snippets: PKCS#12 and JKS."""
        p12 = export(store, "tomcat", tmp_path / "p12", password="changeit")
        jks = export(store, "tomcat", tmp_path / "jks", password="changeit", keystore_type="jks",
                     name="jks-site")
        ports = [servers.free_port(), servers.free_port()]
        properties = {"certkit.localhost.password": "changeit",
                      "certkit.jks-site.password": "changeit"}
        connectors = list(zip(ports, [p12.config, jks.config], strict=True))
        with servers.tomcat(tmp_path / "tomcat", connectors, properties=properties):
            for port in ports:
                _check_served(port, root_pem, pki)

    @pytest.mark.parametrize("profile", ["modern", "legacy"])
    def test_iis_pfx_is_read_by_openssl_keytool_and_served(
            self, store: KeyStore, pki: PKI, root_pem: pathlib.Path, tmp_path: pathlib.Path,
            profile: str) -> None:
        """openssl pkcs12 -info and keytool list the chain; its openssl -nodes output serves TLS."""
        result = export(store, "iis", tmp_path / "out", password="changeit", profile=profile)
        pfx = result[0]
        legacy = ["-legacy"] if profile == "legacy" else []
        info = openssl("pkcs12", "-info", "-in", pfx, "-passin", "pass:changeit", "-nokeys",
                       *legacy)
        assert info.stdout.count(b"BEGIN CERTIFICATE") == 3
        listing = keytool("-list", "-v", "-storetype", "PKCS12", "-keystore", pfx,
                          "-storepass", "changeit").stdout.decode()
        assert "Certificate chain length: 3" in listing
        key = tmp_path / "key.pem"
        key.write_bytes(openssl("pkcs12", "-in", pfx, "-passin", "pass:changeit", "-nodes",
                                "-nocerts", *legacy).stdout)
        leaf = openssl("pkcs12", "-in", pfx, "-passin", "pass:changeit", "-clcerts", "-nokeys",
                       *legacy).stdout
        cas = certkit.load(openssl("pkcs12", "-in", pfx, "-passin", "pass:changeit", "-cacerts",
                                   "-nokeys", *legacy).stdout).certificates
        fullchain = tmp_path / "fullchain.pem"
        fullchain.write_bytes(leaf + b"".join(c.to_pem() for c in cas if not c.is_self_signed))
        lines = f"ssl_certificate {fullchain};\nssl_certificate_key {key};"
        with servers.nginx(tmp_path / "nginx", lines) as server:
            _check_served(server.port, root_pem, pki)


@pytest.fixture
def aia_server(monkeypatch: pytest.MonkeyPatch) -> collections.abc.Iterator[
        Callable[..., _Server]]:
    """Local HTTP servers (the chain tests' helper) for caIssuers URLs, stopped afterwards."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    started: list[_Server] = []

    def start(respond: Callable[..., None]) -> _Server:
        started.append(_Server(respond))
        return started[-1]

    yield start
    for server in started:
        server.close()


class TestFetch:
    """``fetch=True`` (``export --fetch``) completes a chain over AIA as ``chain --fetch`` does."""

    def test_fetches_missing_intermediate(self, aia_server: Callable[..., _Server],
                                          tmp_path: pathlib.Path) -> None:
        """A leaf alone exports refused, then complete with the intermediate from its AIA URL;
        openssl verifies the exported full chain against the root."""
        late = _Late()
        server = aia_server(late)
        h = _Hierarchy(aia=f"{server.url}/issuing-ca.der")
        late.body = h.inter.der
        store = KeyStore([KeyEntry("www", h.leaf_key, [h.leaf])])
        with pytest.raises(ChainError, match="Issuing CA"):
            certkit.export(store, "nginx", tmp_path / "refused", trust=[h.root])
        assert server.requests == []
        result = certkit.export(store, "nginx", tmp_path / "out", trust=[h.root], fetch=True)
        full = next(p for p in result if p.name.endswith(".fullchain.pem"))
        assert len(_certs(full)) == 2
        root = tmp_path / "root.pem"
        root.write_bytes(h.root.to_pem())
        leaf = tmp_path / "leaf.pem"
        leaf.write_bytes(h.leaf.to_pem())
        openssl("verify", "-CAfile", root, "-untrusted", full, leaf)
        assert server.requests == ["/issuing-ca.der"]

    def test_cli_flag(self, aia_server: Callable[..., _Server], tmp_path: pathlib.Path) -> None:
        """certkit export --fetch downloads the intermediate the input lacks."""
        from certkit.cli import main

        late = _Late()
        server = aia_server(late)
        h = _Hierarchy(aia=f"{server.url}/ca.der")
        late.body = h.inter.der
        src = certkit.save(KeyStore([KeyEntry("www", h.leaf_key, [h.leaf])]),
                           tmp_path / "www.pem")
        root = tmp_path / "root.pem"
        root.write_bytes(h.root.to_pem())
        assert main(["export", "--for", "nginx", str(src), str(tmp_path / "out"),
                     "--trust", str(root), "--fetch"]) == 0
        assert len(_certs(tmp_path / "out" / "www.example.test.fullchain.pem")) == 2
