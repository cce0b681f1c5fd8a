"""Keystore operations against keystores the real keytool made and replies a real openssl CA signed.

The Tomcat flow of the handbook: ``keytool -genkeypair``, a CSR, a reply from a CA
(openssl, root → intermediate → leaf), the reply imported under the alias the user typed.
What Java sees afterwards is read back with ``keytool -list -v``, ``-exportcert`` and
``-certreq`` (which decrypts the key).
"""

from __future__ import annotations

import pathlib
import re
import shutil

import attrs
import pytest
from conftest import PKI, issue, keytool, openssl

import certkit
from certkit import Certificate, Chain, KeyEntry, KeyStore, TrustedCertEntry
from certkit._ops.keystore import (
    add_trusted,
    chain_status,
    change_password,
    edit_keystore,
    import_reply,
    matching_entries,
    remove,
    rename,
    reply_certificates,
    reply_target,
)
from certkit.errors import (
    AliasError,
    ChainError,
    KeyMismatchError,
    PasswordError,
    UnsupportedFormatError,
)

STOREPASS = "changeit"
KEYPASS = "keypass-of-its-own"
NEWPASS = "n3w-storepass"
SERVER_EXT = "basicConstraints=critical,CA:false\nextendedKeyUsage=serverAuth\n"
CA_EXT = "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n"


# -- the real tools ----------------------------------------------------------------------


@attrs.frozen
class Listed:
    """One entry as ``keytool -list -v`` shows it."""

    kind: str
    chain_length: int | None
    sha256: tuple[str, ...]


def keytool_list(path: pathlib.Path, storepass: str = STOREPASS) -> dict[str, Listed]:
    """Every entry of a keystore as the JDK reads it."""
    text = keytool("-list", "-v", "-keystore", path, "-storepass", storepass).stdout.decode()
    entries: dict[str, Listed] = {}
    for block in text.split("Alias name: ")[1:]:
        alias = block.splitlines()[0].strip()
        kind = re.search(r"Entry type: (\w+)", block)
        length = re.search(r"Certificate chain length: (\d+)", block)
        prints = re.findall(r"SHA256: ([0-9A-F:]+)", block)
        entries[alias] = Listed(kind.group(1) if kind else "?",
                                int(length.group(1)) if length else None,
                                tuple(p.replace(":", "").lower() for p in prints))
    return entries


@attrs.frozen
class OpensslCA:
    """A root and an intermediate CA made by openssl; the intermediate signs CSRs."""

    folder: pathlib.Path
    root: Certificate
    intermediate: Certificate

    def sign(self, csr: pathlib.Path, name: str) -> tuple[pathlib.Path, pathlib.Path]:
        """Sign ``csr``; return the leaf alone (.crt) and the reply with its chain (.p7b)."""
        leaf = self.folder / f"{name}.crt"
        ext = self.folder / "server.ext"
        ext.write_text(SERVER_EXT)
        openssl("x509", "-req", "-in", csr, "-CA", self.folder / "int.crt", "-CAkey",
                self.folder / "int.key", "-CAcreateserial", "-days", "365", "-sha256",
                "-extfile", ext, "-out", leaf)
        p7b = self.folder / f"{name}.p7b"
        openssl("crl2pkcs7", "-nocrl", "-certfile", leaf, "-certfile", self.folder / "int.crt",
                "-certfile", self.folder / "root.crt", "-outform", "DER", "-out", p7b)
        return leaf, p7b


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> OpensslCA:
    """openssl makes a root CA and an intermediate it signs (no certkit involved)."""
    folder = tmp_path_factory.mktemp("openssl-ca")
    (folder / "ca.ext").write_text(CA_EXT)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / "root.key",
            "-out", folder / "root.crt", "-subj", "/CN=Handbook Test Root CA/O=certkit tests",
            "-days", "3650", "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / "int.key",
            "-out", folder / "int.csr", "-subj", "/CN=Handbook Test Issuing CA/O=certkit tests")
    openssl("x509", "-req", "-in", folder / "int.csr", "-CA", folder / "root.crt", "-CAkey",
            folder / "root.key", "-CAcreateserial", "-days", "3000", "-sha256",
            "-extfile", folder / "ca.ext", "-out", folder / "int.crt")
    return OpensslCA(folder, Certificate.load((folder / "root.crt").read_bytes()),
                     Certificate.load((folder / "int.crt").read_bytes()))


def _genkeypair(store: pathlib.Path, storetype: str, alias: str, cn: str,
                keypass: str = STOREPASS) -> None:
    keytool("-genkeypair", "-keystore", store, "-storetype", storetype, "-storepass", STOREPASS,
            "-keypass", keypass, "-alias", alias, "-keyalg", "RSA", "-keysize", "2048",
            "-validity", "365", "-dname", f"CN={cn}, O=certkit tests")


@attrs.frozen
class Made:
    """A keystore keytool made, and the CA's replies for its keys."""

    store: pathlib.Path
    leaf: pathlib.Path
    reply: pathlib.Path
    locked_reply: pathlib.Path | None = None

    def copy(self, folder: pathlib.Path) -> pathlib.Path:
        """A fresh copy of the keystore for one test to change."""
        target = folder / self.store.name
        shutil.copyfile(self.store, target)
        return target


@pytest.fixture(scope="module")
def jks(ca: OpensslCA, tmp_path_factory: pytest.TempPathFactory) -> Made:
    """keytool: a JKS with keys 'tomcat' and 'other', 'locked' (own key password), CA 'rootca'.

    The CSRs come from ``keytool -certreq``; openssl's intermediate signs them.
    """
    folder = tmp_path_factory.mktemp("keytool-jks")
    store = folder / "keystore.jks"
    _genkeypair(store, "JKS", "tomcat", "www.example.test")
    _genkeypair(store, "JKS", "other", "other.example.test")
    _genkeypair(store, "JKS", "locked", "locked.example.test", keypass=KEYPASS)
    keytool("-importcert", "-noprompt", "-keystore", store, "-storepass", STOREPASS,
            "-alias", "rootca", "-file", ca.folder / "root.crt")
    keytool("-certreq", "-keystore", store, "-storepass", STOREPASS, "-alias", "tomcat",
            "-file", folder / "tomcat.csr")
    keytool("-certreq", "-keystore", store, "-storepass", STOREPASS, "-alias", "locked",
            "-keypass", KEYPASS, "-file", folder / "locked.csr")
    leaf, reply = ca.sign(folder / "tomcat.csr", "tomcat-reply")
    _, locked_reply = ca.sign(folder / "locked.csr", "locked-reply")
    return Made(store, leaf, reply, locked_reply)


@pytest.fixture(scope="module")
def pkcs12(ca: OpensslCA, tmp_path_factory: pytest.TempPathFactory) -> Made:
    """keytool: a PKCS#12 with keys 'tomcat' and 'other'; certkit's CSR for 'tomcat'."""
    folder = tmp_path_factory.mktemp("keytool-p12")
    store = folder / "keystore.p12"
    _genkeypair(store, "PKCS12", "tomcat", "www.example.test")
    _genkeypair(store, "PKCS12", "other", "other.example.test")
    loaded = certkit.load(store, password=STOREPASS)
    entry = loaded["tomcat"]
    assert isinstance(entry, KeyEntry)
    csr = certkit.generate_csr(entry.private_key, "www.example.test",
                               sans=("www.example.test",))
    (folder / "tomcat.csr").write_bytes(csr.to_pem())
    leaf, reply = ca.sign(folder / "tomcat.csr", "tomcat-reply")
    return Made(store, leaf, reply)


def _chain_of(store: KeyStore, alias: str) -> Chain:
    entry = store[alias]
    assert isinstance(entry, KeyEntry)
    return entry.chain


# -- import_reply with keytool's keystores -----------------------------------------------


@pytest.mark.interop
class TestImportReplyJKS:
    """The CA reply goes into the keytool-made JKS entry its public key belongs to."""

    @pytest.mark.parametrize("typed", ["other", "mykey", "rootca"])
    def test_wrong_alias_names_the_right_one(self, jks: Made, typed: str) -> None:
        """An alias naming another key, no entry or a CA is refused, naming 'tomcat'."""
        store = certkit.load(jks.store, password=STOREPASS)
        with pytest.raises(KeyMismatchError, match="'tomcat'") as caught:
            import_reply(store, jks.reply, typed)
        assert caught.value.matching_alias == "tomcat"
        assert caught.value.alias == typed

    def test_mismatch_message_quotes_keytool(self, jks: Made) -> None:
        """A reply for another key entry is keytool's "Public keys … don't match", explained."""
        store = certkit.load(jks.store, password=STOREPASS)
        with pytest.raises(KeyMismatchError, match="Public keys in reply and keystore don't"):
            import_reply(store, jks.reply, "other")

    def test_installed_chain_is_what_keytool_lists(self, jks: Made, ca: OpensslCA,
                                                   tmp_path: pathlib.Path) -> None:
        """After import and save, keytool lists chain length 3 with the reply's fingerprints."""
        path = jks.copy(tmp_path)
        edit_keystore(path, lambda s: import_reply(s, jks.reply), password=STOREPASS)
        leaf = Certificate.load(jks.leaf.read_bytes())
        listed = keytool_list(path)
        assert listed["tomcat"] == Listed("PrivateKeyEntry", 3, (
            leaf.fingerprint(), ca.intermediate.fingerprint(), ca.root.fingerprint()))
        assert listed["other"].chain_length == 1
        assert listed["rootca"].kind == "trustedCertEntry"
        assert certkit.load(path, password=STOREPASS).format == "jks"

    def test_java_still_opens_the_key(self, jks: Made, tmp_path: pathlib.Path) -> None:
        """keytool exports the new certificate and signs a CSR with the key afterwards."""
        path = jks.copy(tmp_path)
        edit_keystore(path, lambda s: import_reply(s, jks.reply, "tomcat"), password=STOREPASS)
        exported = keytool("-exportcert", "-keystore", path, "-storepass", STOREPASS,
                           "-alias", "tomcat").stdout
        assert Certificate.load(exported) == Certificate.load(jks.leaf.read_bytes())
        csr = keytool("-certreq", "-keystore", path, "-storepass", STOREPASS,
                      "-alias", "tomcat").stdout
        request = certkit.load(csr).requests[0]
        assert request.public_key_fingerprint == Certificate.load(exported).public_key_fingerprint

    def test_leaf_only_reply_completed_from_trust_and_store(self, jks: Made, ca: OpensslCA) -> None:
        """A bare leaf gets its intermediate from ``trust`` and its root from the trusted entry."""
        store = certkit.load(jks.store, password=STOREPASS)
        new = import_reply(store, jks.leaf, trust=ca.folder / "int.crt")
        chain = _chain_of(new, "tomcat")
        assert list(chain) == [Certificate.load(jks.leaf.read_bytes()), ca.intermediate, ca.root]
        assert chain_status(chain) == "complete"

    def test_leaf_only_reply_without_issuer_is_leaf_only(self, jks: Made) -> None:
        """With no intermediate anywhere, the chain is the leaf alone, and says so."""
        store = certkit.load(jks.store, password=STOREPASS)
        chain = _chain_of(import_reply(store, jks.leaf), "tomcat")
        assert len(chain) == 1
        assert chain_status(chain) == "leaf-only"
        assert chain.missing_issuer is not None
        assert "Handbook Test Issuing CA" in chain.missing_issuer

    def test_reply_for_a_key_not_here(self, jks: Made, other_pki: PKI) -> None:
        """A reply for a key no entry holds names no alias and points at another keystore."""
        store = certkit.load(jks.store, password=STOREPASS)
        with pytest.raises(KeyMismatchError, match="another keystore") as caught:
            import_reply(store, other_pki.chain)
        assert caught.value.matching_alias is None
        with pytest.raises(KeyMismatchError, match="not 'tomcat'") as typed:
            import_reply(store, other_pki.chain, "tomcat")
        assert typed.value.matching_alias is None

    def test_locked_entry_is_matched_and_stays_locked(self, jks: Made,
                                                       tmp_path: pathlib.Path) -> None:
        """A key under its own password matches by certificate and Java still opens it after."""
        assert jks.locked_reply is not None
        path = jks.copy(tmp_path)
        written = edit_keystore(path, lambda s: import_reply(s, jks.locked_reply),
                                password=STOREPASS)
        entry = written["locked"]
        assert isinstance(entry, KeyEntry)
        assert entry.is_locked
        assert keytool_list(path)["locked"].chain_length == 3
        keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias", "locked",
                "-keypass", KEYPASS)


@pytest.mark.interop
class TestImportReplyPKCS12:
    """The same flow with a PKCS#12 keystore keytool made and a CSR certkit made."""

    def test_wrong_alias_names_the_right_one(self, pkcs12: Made) -> None:
        """The reply typed under 'other' is refused, naming 'tomcat'."""
        store = certkit.load(pkcs12.store, password=STOREPASS)
        with pytest.raises(KeyMismatchError) as caught:
            import_reply(store, pkcs12.reply, "other")
        assert caught.value.matching_alias == "tomcat"

    def test_installed_and_read_by_keytool(self, pkcs12: Made, ca: OpensslCA,
                                           tmp_path: pathlib.Path) -> None:
        """keytool lists chain length 3 with the same fingerprints and still uses the key."""
        path = pkcs12.copy(tmp_path)
        edit_keystore(path, lambda s: import_reply(s, pkcs12.reply), password=STOREPASS)
        leaf = Certificate.load(pkcs12.leaf.read_bytes())
        assert keytool_list(path)["tomcat"] == Listed("PrivateKeyEntry", 3, (
            leaf.fingerprint(), ca.intermediate.fingerprint(), ca.root.fingerprint()))
        keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias", "tomcat")

    def test_protection_is_kept(self, pkcs12: Made, tmp_path: pathlib.Path) -> None:
        """The rewritten file is protected as keytool wrote it (algorithms and iterations)."""
        path = pkcs12.copy(tmp_path)
        before = certkit.load(path, password=STOREPASS).protection
        edit_keystore(path, lambda s: import_reply(s, pkcs12.reply), password=STOREPASS)
        after = certkit.load(path, password=STOREPASS).protection
        assert {(p.algorithm, p.iterations) for p in after} == {
            (p.algorithm, p.iterations) for p in before}


# -- import_reply on the model ------------------------------------------------------------


class TestImportReplyModel:
    """Matching by public key, ordering and completion, on stores built in memory."""

    def test_scrambled_reply_is_ordered_leaf_first(self, pki: PKI) -> None:
        """Root, leaf and intermediate in any order end up leaf first."""
        store = KeyStore([KeyEntry("server", pki.leaf.key)])
        reply = [pki.root.certificate, pki.leaf.certificate, pki.intermediate.certificate]
        assert tuple(_chain_of(import_reply(store, reply), "server")) == pki.chain

    def test_the_model_calls_no_operation(self) -> None:
        """Keystore operations are functions: the model has no methods that call them."""
        assert not hasattr(KeyStore, "import_reply")
        assert not hasattr(KeyStore, "add_trusted")

    def test_reply_as_pem_bytes(self, pki: PKI) -> None:
        """A reply given as the bytes of a PEM bundle is read."""
        store = KeyStore([KeyEntry("server", pki.leaf.key)])
        data = b"".join(c.to_pem() for c in pki.chain)
        assert len(_chain_of(import_reply(store, data), "server")) == 3

    def test_other_entries_untouched(self, pki: PKI, other_pki: PKI) -> None:
        """Only the matching entry changes, its root taken from the store's trusted entry."""
        first = KeyEntry("first", other_pki.leaf.key, other_pki.chain)
        ca = TrustedCertEntry("ca", pki.root.certificate)
        store = KeyStore([first, KeyEntry("server", pki.leaf.key), ca])
        new = import_reply(store, pki.chain[:2])
        assert new.aliases == ("first", "server", "ca")
        assert new["first"] == first
        assert _chain_of(new, "server")[-1] == pki.root.certificate

    def test_same_key_twice_needs_an_alias(self, pki: PKI) -> None:
        """Two entries holding the key: no alias is an AliasError, an alias picks one."""
        store = KeyStore([KeyEntry("a", pki.leaf.key), KeyEntry("b", pki.leaf.key)])
        with pytest.raises(AliasError, match="'a', 'b'"):
            import_reply(store, pki.leaf.certificate)
        assert len(_chain_of(import_reply(store, pki.chain, "b"), "b")) == 3
        assert reply_target(store, pki.chain, "a").alias == "a"

    def test_alias_ignores_case(self, pki: PKI) -> None:
        """``TOMCAT`` finds 'tomcat', as keytool's -alias does."""
        store = KeyStore([KeyEntry("tomcat", pki.leaf.key)])
        assert len(_chain_of(import_reply(store, pki.chain, "TOMCAT"), "tomcat")) == 3

    def test_reply_without_certificates(self, pki: PKI) -> None:
        """An empty reply is a ChainError, not a silent no-op."""
        with pytest.raises(ChainError, match="no certificate"):
            import_reply(KeyStore([KeyEntry("server", pki.leaf.key)]), [])

    def test_reply_certificates_drops_duplicates(self, pki: PKI) -> None:
        """The same certificate twice in a reply counts once."""
        assert reply_certificates([pki.leaf.certificate, pki.leaf.certificate]) == (
            pki.leaf.certificate,)

    def test_matching_entries_by_public_key(self, pki: PKI, other_pki: PKI) -> None:
        """Entries are found by the key, not by what their old certificate says."""
        store = KeyStore([KeyEntry.unchecked("x", pki.leaf.key, [other_pki.leaf.certificate])])
        assert matching_entries(store, pki.leaf.certificate) == (store["x"],)


class TestChainStatus:
    """One word for how far a chain goes."""

    def test_words(self, pki: PKI) -> None:
        """Each shape of chain gets its word."""
        self_signed = issue("self.example.test")
        assert chain_status(Chain()) == "empty"
        assert chain_status(Chain([self_signed.certificate])) == "self-signed"
        assert chain_status(Chain([pki.leaf.certificate])) == "leaf-only"
        assert chain_status(Chain(pki.chain[:2])) == "no-root"
        assert chain_status(Chain(pki.chain)) == "complete"
        assert chain_status(Chain([pki.leaf.certificate, pki.root.certificate])) == "broken"


# -- add_trusted, rename, remove -----------------------------------------------------------


class TestAddTrusted:
    """Trusted certificates get Java-style aliases and are never added twice."""

    def test_alias_from_common_name(self, pki: PKI) -> None:
        """The alias is the common name, lower-case with hyphens."""
        store = add_trusted(KeyStore(), pki.root.certificate)
        assert store.aliases == ("certkit-test-root-ca",)
        entry = store["certkit-test-root-ca"]
        assert isinstance(entry, TrustedCertEntry)
        assert entry.trusted
        assert entry.created is not None

    def test_alias_made_unique_ignoring_case(self, pki: PKI, other_pki: PKI) -> None:
        """An alias taken in another case gets a suffix, as Java compares without case."""
        store = KeyStore([TrustedCertEntry("CERTKIT-TEST-ROOT-CA", other_pki.root.certificate)])
        assert add_trusted(store, pki.root.certificate).aliases[-1] == "certkit-test-root-ca-2"

    def test_explicit_alias_taken(self, pki: PKI, other_pki: PKI) -> None:
        """A given alias already used (in any case) is an AliasError."""
        store = KeyStore([TrustedCertEntry("Root", other_pki.root.certificate)])
        with pytest.raises(AliasError, match="'Root' already exists"):
            add_trusted(store, pki.root.certificate, "root")

    def test_duplicate_certificate_names_existing_alias(self, pki: PKI) -> None:
        """The same certificate again is refused, naming where it already is."""
        store = KeyStore([TrustedCertEntry("myroot", pki.root.certificate),
                          KeyEntry("server", pki.leaf.key, pki.chain)])
        with pytest.raises(AliasError, match="'myroot'") as caught:
            add_trusted(store, pki.root.certificate)
        assert caught.value.alias == "myroot"
        with pytest.raises(AliasError, match="'server'"):
            add_trusted(store, pki.leaf.certificate)

    def test_intermediate_of_a_key_chain_may_be_trusted(self, pki: PKI) -> None:
        """A CA inside a key entry's chain is not a duplicate (keytool agrees)."""
        store = KeyStore([KeyEntry("server", pki.leaf.key, pki.chain)])
        assert "intermediate" in add_trusted(store, pki.intermediate.certificate,
                                             "intermediate")


class TestRenameRemove:
    """Thin wrappers with Java's case rules."""

    def test_rename_clash_ignoring_case(self, pki: PKI) -> None:
        """Renaming onto another alias that differs only in case is refused."""
        store = KeyStore([KeyEntry("tomcat", pki.leaf.key, pki.chain),
                          TrustedCertEntry("root", pki.root.certificate)])
        with pytest.raises(AliasError, match="'root'"):
            rename(store, "tomcat", "ROOT")
        assert rename(store, "tomcat", "Tomcat").aliases == ("Tomcat", "root")

    def test_remove_and_unknown_alias(self, pki: PKI) -> None:
        """Remove drops the entry; an unknown alias lists the ones there are."""
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate)])
        assert remove(store, "root").aliases == ()
        assert remove(store, "ROOT").aliases == ()
        assert rename(store, "Root", "ca").aliases == ("ca",)
        with pytest.raises(AliasError, match="'root'"):
            remove(store, "nope")

    @pytest.mark.interop
    def test_keytool_reads_the_edits(self, jks: Made, ca: OpensslCA,
                                     tmp_path: pathlib.Path) -> None:
        """Rename, remove and add-trusted in a keytool JKS are what keytool then lists."""
        path = jks.copy(tmp_path)
        edit_keystore(path, lambda s: add_trusted(remove(rename(s, "tomcat", "webserver"),
                                                         "other"), ca.intermediate),
                      password=STOREPASS)
        listed = keytool_list(path)
        assert sorted(listed) == ["handbook-test-issuing-ca", "locked", "rootca", "webserver"]
        assert listed["handbook-test-issuing-ca"] == Listed(
            "trustedCertEntry", None, (ca.intermediate.fingerprint(),))
        assert listed["webserver"].kind == "PrivateKeyEntry"
        keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias", "webserver")


# -- write-back and passwords -----------------------------------------------------------


class TestEditKeystore:
    """Write-back keeps the format and writes nothing on failure."""

    def test_failed_edit_writes_nothing(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """An edit that raises leaves the file byte for byte as it was."""
        path = tmp_path / "store.p12"
        certkit.save(KeyStore([KeyEntry("server", pki.leaf.key, pki.chain)]), path,
                     password=STOREPASS)
        before = path.read_bytes()
        with pytest.raises(AliasError):
            edit_keystore(path, lambda s: remove(s, "nope"), password=STOREPASS)
        assert path.read_bytes() == before

    @pytest.mark.parametrize("suffix", [".jks", ".jceks", ".p12"])
    def test_format_kept(self, pki: PKI, tmp_path: pathlib.Path, suffix: str) -> None:
        """JKS stays JKS, JCEKS stays JCEKS, PKCS#12 stays PKCS#12."""
        path = tmp_path / f"store{suffix}"
        certkit.save(KeyStore([KeyEntry("server", pki.leaf.key, [pki.leaf.certificate])]),
                     path, password=STOREPASS)
        fmt = certkit.load(path, password=STOREPASS).format
        edit_keystore(path, lambda s: import_reply(s, pki.chain), password=STOREPASS)
        after = certkit.load(path, password=STOREPASS)
        assert after.format == fmt
        assert len(_chain_of(after, "server")) == 3

    def test_pem_is_not_a_keystore(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A PEM file is refused with a pointer to `certkit convert`."""
        path = tmp_path / "server.pem"
        certkit.save(KeyStore([KeyEntry("server", pki.leaf.key, pki.chain)]), path)
        with pytest.raises(UnsupportedFormatError, match="certkit convert"):
            edit_keystore(path, lambda s: s, password=None)

    def test_legacy_pkcs12_stays_legacy(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A legacy-profile PFX (old Windows) is written back legacy, iterations and all."""
        path = tmp_path / "iis.pfx"
        certkit.save(KeyStore([KeyEntry("server", pki.leaf.key, [pki.leaf.certificate])]),
                     path, password=STOREPASS, profile="legacy", iterations=4096)
        before = certkit.load(path, password=STOREPASS).protection
        edit_keystore(path, lambda s: import_reply(s, pki.chain), password=STOREPASS)
        after = certkit.load(path, password=STOREPASS)
        assert len(_chain_of(after, "server")) == 3
        assert [(p.part, p.algorithm, p.iterations) for p in after.protection] == [
            (p.part, p.algorithm, p.iterations) for p in before]


@pytest.mark.interop
class TestChangePassword:
    """keytool accepts the new passwords and rejects the old ones."""

    def test_jks_store_password(self, jks: Made, tmp_path: pathlib.Path) -> None:
        """The store password changes; keys under it follow; a key's own password stays."""
        path = jks.copy(tmp_path)
        change_password(path, old=STOREPASS, new=NEWPASS)
        refused = keytool("-list", "-keystore", path, "-storepass", STOREPASS, check=False)
        assert refused.returncode != 0
        assert b"password was incorrect" in refused.stdout + refused.stderr
        assert set(keytool_list(path, NEWPASS)) == {"tomcat", "other", "locked", "rootca"}
        keytool("-certreq", "-keystore", path, "-storepass", NEWPASS, "-alias", "tomcat")
        keytool("-certreq", "-keystore", path, "-storepass", NEWPASS, "-alias", "locked",
                "-keypass", KEYPASS)

    def test_jks_key_password(self, jks: Made, tmp_path: pathlib.Path) -> None:
        """keytool -keypasswd's job: the locked key opens with the new password only."""
        path = jks.copy(tmp_path)
        change_password(path, old=STOREPASS, key_passwords={"locked": KEYPASS},
                        new_key_passwords={"locked": "third-pass"})
        keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias", "locked",
                "-keypass", "third-pass")
        old = keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias",
                      "locked", "-keypass", KEYPASS, check=False)
        assert old.returncode != 0
        keytool("-certreq", "-keystore", path, "-storepass", STOREPASS, "-alias", "tomcat")

    def test_locked_key_needs_its_password(self, jks: Made, tmp_path: pathlib.Path) -> None:
        """Changing a locked key's password without its current one names the alias."""
        path = jks.copy(tmp_path)
        with pytest.raises(PasswordError, match="'locked'") as caught:
            change_password(path, old=STOREPASS, new_key_passwords={"locked": "x"})
        assert caught.value.alias == "locked"
        assert caught.value.missing

    def test_pkcs12_store_password(self, pkcs12: Made, tmp_path: pathlib.Path) -> None:
        """A keytool PKCS#12 opens in keytool with the new password only, key included."""
        path = pkcs12.copy(tmp_path)
        change_password(path, old=STOREPASS, new=NEWPASS)
        assert keytool("-list", "-keystore", path, "-storepass", STOREPASS,
                       check=False).returncode != 0
        assert keytool_list(path, NEWPASS)["tomcat"].kind == "PrivateKeyEntry"
        keytool("-certreq", "-keystore", path, "-storepass", NEWPASS, "-alias", "tomcat")

    def test_pkcs12_has_no_key_passwords(self, pkcs12: Made, tmp_path: pathlib.Path) -> None:
        """Asking for a PKCS#12 key password is refused as keytool refuses it."""
        path = pkcs12.copy(tmp_path)
        with pytest.raises(UnsupportedFormatError, match="-keypasswd"):
            change_password(path, old=STOREPASS, new_key_passwords={"tomcat": "x"})
