"""Interoperability with the real JDK: keystores keytool wrote load in certkit, and back.

Expectations come from Java itself: ``keytool -list -v`` (aliases, entry types, chain
lengths, SHA-256 fingerprints) and a ten-line Java program that opens every entry with the
JDK's own KeyStore API and prints the decrypted key bytes and exact creation dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
import re
import warnings

import attrs
import pytest
from conftest import PKI, compile_java, java_program, keytool, openssl

import certkit
from certkit import Chain, KeyEntry, KeyStore, PrivateKey, SecretKeyEntry, TrustedCertEntry

pytestmark = pytest.mark.interop

STOREPASS = "storepass"
SECONDPASS = "secondpass"
UTC = ["-J-Duser.timezone=UTC"]

JAVA_DUMP = """
import java.io.FileInputStream;
import java.security.*;
import java.security.cert.Certificate;
import java.util.*;

public class KsDump {
    public static void main(String[] a) throws Exception {
        KeyStore ks = KeyStore.getInstance(a[0]);
        try (FileInputStream in = new FileInputStream(a[1])) { ks.load(in, a[2].toCharArray()); }
        Map<String, String> pw = new HashMap<>();
        for (int i = 3; i < a.length; i++) { String[] p = a[i].split("=", 2); pw.put(p[0], p[1]); }
        for (String alias : Collections.list(ks.aliases())) {
            String kind = ks.isCertificateEntry(alias) ? "trusted" : "key";
            String hex = "-", alg = "-";
            if (ks.isKeyEntry(alias)) {
                Key k = ks.getKey(alias, pw.getOrDefault(alias, a[2]).toCharArray());
                alg = k.getAlgorithm();
                hex = HexFormat.of().formatHex(k.getEncoded());
                kind = k instanceof PrivateKey ? "private" : "secret";
            }
            System.out.println(alias + " " + kind + " " + alg + " "
                + ks.getCreationDate(alias).getTime() + " " + hex);
        }
    }
}
"""


@attrs.frozen
class Listed:
    """One entry as ``keytool -list -v`` shows it."""

    alias: str
    kind: str
    chain: tuple[str, ...]
    created: dt.date


@attrs.frozen
class JavaEntry:
    """One entry as the JDK's KeyStore API opens it."""

    alias: str
    kind: str
    algorithm: str
    created_ms: int
    encoded: bytes


_KINDS = {"PrivateKeyEntry": "key", "trustedCertEntry": "trusted", "SecretKeyEntry": "secret"}


def keytool_list(path: pathlib.Path, storetype: str, password: str = STOREPASS,
                 ) -> dict[str, Listed]:
    """Parse ``keytool -list -v`` into alias → entry (fingerprints lower hex, leaf first)."""
    out = keytool(*UTC, "-list", "-v", "-keystore", path, "-storetype", storetype,
                  "-storepass", password).stdout.decode()
    listed: dict[str, Listed] = {}
    for block in out.split("Alias name: ")[1:]:
        alias = block.splitlines()[0].strip()
        kind = re.search(r"Entry type: (\w+)", block)
        created = re.search(r"Creation date: (.+)", block)
        assert kind is not None
        assert created is not None
        fingerprints = tuple(fp.replace(":", "").lower()
                             for fp in re.findall(r"SHA256: ([0-9A-F:]+)", block))
        length = re.search(r"Certificate chain length: (\d+)", block)
        if length is not None:
            assert int(length.group(1)) == len(fingerprints)
        date = dt.datetime.strptime(created.group(1).strip(), "%b %d, %Y").date()
        listed[alias] = Listed(alias, _KINDS[kind.group(1)], fingerprints, date)
    return listed


@pytest.fixture(scope="session")
def java_dump() -> pathlib.Path:
    """The KsDump helper compiled by javac; its class folder."""
    return compile_java("KsDump", JAVA_DUMP)


def java_entries(java_dump: pathlib.Path, path: pathlib.Path, storetype: str,
                 password: str = STOREPASS, **key_passwords: str) -> dict[str, JavaEntry]:
    """Open every entry with the JDK and return what it decrypted."""
    args = [f"{alias}={pw}" for alias, pw in key_passwords.items()]
    out = java_program(java_dump, "KsDump", storetype, path, password, *args).stdout
    entries = {}
    for line in out.decode().splitlines():
        alias, kind, algorithm, created, encoded = line.split(" ")
        entries[alias] = JavaEntry(alias, kind, algorithm, int(created),
                                   b"" if encoded == "-" else bytes.fromhex(encoded))
    return entries


@attrs.frozen
class KeytoolStores:
    """Keystores built by keytool: a Tomcat JKS after a CA reply, and a JCEKS with a secret key."""

    folder: pathlib.Path
    jks: pathlib.Path
    jceks: pathlib.Path


def _kt(store: pathlib.Path, storetype: str, *args: str | pathlib.Path) -> None:
    keytool("-keystore", store, "-storetype", storetype, "-storepass", STOREPASS, *args)


@pytest.fixture(scope="session")
def keytool_stores(tmp_path_factory: pytest.TempPathFactory) -> KeytoolStores:
    """Build the keystores once per session with keytool (each call starts a JVM)."""
    folder = tmp_path_factory.mktemp("keytool")
    ca = folder / "ca.jks"
    dname = "O=certkit interop"
    # A root CA and an intermediate signed by it.
    _kt(ca, "jks", "-genkeypair", "-alias", "root", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", f"CN=Interop Root,{dname}", "-ext", "bc:c", "-keypass", STOREPASS,
        "-validity", "3650")
    _kt(ca, "jks", "-genkeypair", "-alias", "inter", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", f"CN=Interop Intermediate,{dname}", "-keypass", STOREPASS)
    _kt(ca, "jks", "-certreq", "-alias", "inter", "-file", folder / "inter.csr")
    _kt(ca, "jks", "-gencert", "-alias", "root", "-infile", folder / "inter.csr",
        "-outfile", folder / "inter.pem", "-rfc", "-ext", "bc:c", "-validity", "3000")
    _kt(ca, "jks", "-exportcert", "-alias", "root", "-file", folder / "root.pem", "-rfc")
    (folder / "inter-reply.pem").write_bytes((folder / "inter.pem").read_bytes()
                                             + (folder / "root.pem").read_bytes())
    _kt(ca, "jks", "-importcert", "-alias", "inter", "-file", folder / "inter-reply.pem",
        "-noprompt")
    # The Tomcat keystore: trusted CA entries, a key entry after the CA reply (3 certificates)
    # and a second key entry with its own key password.
    server = folder / "server.jks"
    _kt(server, "jks", "-importcert", "-alias", "rootca", "-file", folder / "root.pem",
        "-noprompt")
    _kt(server, "jks", "-importcert", "-alias", "interca", "-file", folder / "inter.pem",
        "-noprompt")
    _kt(server, "jks", "-genkeypair", "-alias", "tomcat", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", f"CN=localhost,{dname}", "-keypass", STOREPASS)
    _kt(server, "jks", "-certreq", "-alias", "tomcat", "-file", folder / "tomcat.csr")
    _kt(ca, "jks", "-gencert", "-alias", "inter", "-infile", folder / "tomcat.csr",
        "-outfile", folder / "tomcat.pem", "-rfc", "-ext", "san=dns:localhost")
    (folder / "reply.pem").write_bytes(b"".join(
        (folder / name).read_bytes() for name in ("tomcat.pem", "inter.pem", "root.pem")))
    _kt(server, "jks", "-importcert", "-alias", "tomcat", "-file", folder / "reply.pem",
        "-noprompt")
    _kt(server, "jks", "-genkeypair", "-alias", "second", "-keyalg", "EC", "-groupname",
        "secp256r1", "-dname", f"CN=second,{dname}", "-keypass", SECONDPASS)
    # JCEKS at keytool's default 200,000 iterations: an AES secret key and an RSA key.
    jceks = folder / "store.jceks"
    _kt(jceks, "jceks", "-genseckey", "-alias", "aeskey", "-keyalg", "AES", "-keysize", "256",
        "-keypass", STOREPASS)
    _kt(jceks, "jceks", "-genkeypair", "-alias", "rsakey", "-keyalg", "RSA", "-keysize", "2048",
        "-dname", f"CN=jceks,{dname}", "-keypass", STOREPASS)
    return KeytoolStores(folder, server, jceks)


def assert_matches_listing(store: KeyStore, listed: dict[str, Listed]) -> None:
    """Aliases, entry types, chain fingerprints (leaf first) and dates agree with keytool."""
    assert set(store.aliases) == set(listed)
    for entry in store:
        expected = listed[entry.alias]
        assert entry.created is not None
        assert entry.created.date() == expected.created
        if isinstance(entry, KeyEntry):
            assert expected.kind == "key"
            assert tuple(c.fingerprint() for c in entry.chain) == expected.chain
        elif isinstance(entry, TrustedCertEntry):
            assert expected.kind == "trusted"
            assert (entry.certificate.fingerprint(),) == expected.chain
        else:
            assert expected.kind == "secret"
            assert expected.chain == ()


def assert_java_agrees(store: KeyStore, java: dict[str, JavaEntry]) -> None:
    """Every key certkit holds is the one Java decrypts, and dates agree to the millisecond."""
    assert set(store.aliases) == set(java)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    for entry in store:
        seen = java[entry.alias]
        assert entry.created == epoch + dt.timedelta(milliseconds=seen.created_ms)
        if isinstance(entry, KeyEntry):
            assert seen.kind == "private"
            assert entry.private_key == PrivateKey.load(seen.encoded)
        elif isinstance(entry, SecretKeyEntry):
            assert seen.kind == "secret"
            assert entry.algorithm == seen.algorithm
            assert entry.key == seen.encoded
        else:
            assert seen.kind == "trusted"


class TestReadKeytool:
    """Keystores written by JDK 17's keytool load in certkit with keytool's view of them."""

    def test_jks_listing(self, keytool_stores: KeytoolStores) -> None:
        """The JKS lists with keytool's aliases, types, chain lengths, fingerprints and dates."""
        store = certkit.load(keytool_stores.jks, password=STOREPASS)
        listed = keytool_list(keytool_stores.jks, "jks")
        assert_matches_listing(store, listed)
        assert len(listed["tomcat"].chain) == 3
        tomcat = store["tomcat"]
        assert isinstance(tomcat, KeyEntry)
        assert tomcat.chain.is_complete
        second = store["second"]
        assert isinstance(second, KeyEntry)
        assert second.is_locked
        assert second.key.public_key_fingerprint == second.chain[0].public_key_fingerprint

    def test_jks_keys_match_java(self, keytool_stores: KeytoolStores,
                                 java_dump: pathlib.Path) -> None:
        """With the second key's password, every key equals what Java decrypts."""
        store = certkit.load(keytool_stores.jks, password=STOREPASS,
                             key_passwords={"second": SECONDPASS})
        java = java_entries(java_dump, keytool_stores.jks, "jks", second=SECONDPASS)
        assert_java_agrees(store, java)
        tomcat = store["tomcat"]
        assert isinstance(tomcat, KeyEntry)
        assert tomcat.certificate is not None
        assert tomcat.private_key.matches(tomcat.certificate)

    def test_jceks_at_default_iterations(self, keytool_stores: KeytoolStores,
                                         java_dump: pathlib.Path) -> None:
        """The JCEKS (200,000 iterations) yields keytool's entries and Java's key bytes."""
        store = certkit.load(keytool_stores.jceks, password=STOREPASS)
        assert_matches_listing(store, keytool_list(keytool_stores.jceks, "jceks"))
        assert_java_agrees(store, java_entries(java_dump, keytool_stores.jceks, "jceks"))
        secret = store["aeskey"]
        assert isinstance(secret, SecretKeyEntry)
        assert (secret.algorithm, len(secret.key)) == ("AES", 32)
        assert [p.iterations for p in store.protection if p.part.startswith("key")] == [200_000]

    def test_jdk21_style_key_without_null_parameters(self, keytool_stores: KeytoolStores,
                                                     java_dump: pathlib.Path) -> None:
        """A JKS key whose algorithm has no NULL parameters (as JDK 21 writes) decrypts.

        pyjks 20.0.0 crashes on such keys (pyjks issue #79); the file is keytool's with the
        two NULL bytes removed and the lengths and store digest fixed by hand here.
        """
        data = bytearray(keytool_stores.jks.read_bytes()[:-20])
        with_null = bytes.fromhex("300e060a2b060104012a021101010500")
        without = bytes.fromhex("300c060a2b060104012a02110101")
        # The RSA key's EncryptedPrivateKeyInfo has a two-byte length (30 82 ..).
        index = next(m.start() for m in re.finditer(re.escape(with_null), data)
                     if data[m.start() - 4 : m.start() - 2] == b"\x30\x82")
        data[index : index + len(with_null)] = without
        for at, size in ((index - 2, 2), (index - 8, 4)):  # DER length, then the blob length
            value = int.from_bytes(data[at : at + size], "big") - 2
            data[at : at + size] = value.to_bytes(size, "big")
        digest = hashlib.sha1(STOREPASS.encode("utf-16-be") + b"Mighty Aphrodite" + data)  # noqa: S324 - the format's digest
        patched = bytes(data) + digest.digest()
        path = keytool_stores.folder / "jdk21-style.jks"
        path.write_bytes(patched)
        java = java_entries(java_dump, path, "jks", second=SECONDPASS)  # Java still reads it
        store = certkit.load(patched, password=STOREPASS, key_passwords={"second": SECONDPASS})
        assert_java_agrees(store, java)

        import jks as pyjks  # only to show the gap certkit fills

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception):  # noqa: B017, PT011 - pyjks's crash is an ASN.1 error
                pyjks.KeyStore.loads(patched, STOREPASS)


def keytool_roundtrip(path: pathlib.Path, storetype: str, aliases: tuple[str, ...],
                      **key_passwords: str) -> pathlib.Path:
    """Convert a store to PKCS#12 and back with ``keytool -importkeystore``; return the result."""
    p12 = path.parent / f"{path.stem}-via-keytool.p12"
    back = path.parent / f"{path.stem}-back.{storetype}"
    for target in (p12, back):
        target.unlink(missing_ok=True)
    for alias in aliases:
        # One alias at a time, so that an entry with its own key password gets it.
        own = ("-srckeypass", key_passwords[alias]) if alias in key_passwords else ()
        keytool("-importkeystore", "-srckeystore", path, "-srcstoretype", storetype,
                "-srcstorepass", STOREPASS, "-srcalias", alias, *own,
                "-destkeystore", p12, "-deststoretype", "pkcs12", "-deststorepass", STOREPASS,
                "-noprompt")
    keytool("-importkeystore", "-srckeystore", p12, "-srcstoretype", "pkcs12",
            "-srcstorepass", STOREPASS, "-destkeystore", back, "-deststoretype", storetype,
            "-deststorepass", STOREPASS, "-noprompt")
    return back


@pytest.fixture(scope="session")
def certkit_written(keytool_stores: KeytoolStores, pki: PKI,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """Stores written by certkit: keytool's JKS rewritten, a JCEKS with a secret key, a PKCS#12."""
    folder = tmp_path_factory.mktemp("certkit-written")
    source = certkit.load(keytool_stores.jks, password=STOREPASS,
                          key_passwords={"second": SECONDPASS})
    paths = {"jks": folder / "written.jks", "jceks": folder / "written.jceks",
             "pkcs12": folder / "written.p12"}
    paths["jks"].write_bytes(certkit.dump(source, "jks", password=STOREPASS,
                                          key_passwords={"second": SECONDPASS}))
    jceks_store = KeyStore([
        KeyEntry("server", pki.leaf.key, Chain(pki.chain),
                 created=dt.datetime(2023, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc)),
        TrustedCertEntry("root", pki.root.certificate,
                         created=dt.datetime(2022, 1, 2, tzinfo=dt.timezone.utc)),
        SecretKeyEntry("hmac", "HmacSHA256", bytes(range(32)),
                       created=dt.datetime(2021, 6, 7, tzinfo=dt.timezone.utc)),
        SecretKeyEntry("des3", "DESede", bytes(range(100, 124)),
                       created=dt.datetime(2021, 6, 8, tzinfo=dt.timezone.utc)),
    ])
    paths["jceks"].write_bytes(certkit.dump(jceks_store, "jceks", password=STOREPASS))
    paths["pkcs12"].write_bytes(certkit.dump(source, "pkcs12", password=STOREPASS))
    return paths


class TestKeytoolReadsCertkit:
    """What certkit writes, keytool lists and Java decrypts."""

    def test_jks(self, certkit_written: dict[str, pathlib.Path], keytool_stores: KeytoolStores,
                 java_dump: pathlib.Path) -> None:
        """keytool's JKS, rewritten by certkit, lists identically and its keys decrypt in Java."""
        path = certkit_written["jks"]
        original = keytool_list(keytool_stores.jks, "jks")
        assert keytool_list(path, "jks") == original
        store = certkit.load(path, password=STOREPASS, key_passwords={"second": SECONDPASS})
        assert_java_agrees(store, java_entries(java_dump, path, "jks", second=SECONDPASS))

    def test_jceks(self, certkit_written: dict[str, pathlib.Path],
                   java_dump: pathlib.Path) -> None:
        """A certkit JCEKS with secret keys lists in keytool and every key opens in Java."""
        path = certkit_written["jceks"]
        store = certkit.load(path, password=STOREPASS)
        assert_matches_listing(store, keytool_list(path, "jceks"))
        assert_java_agrees(store, java_entries(java_dump, path, "jceks"))

    def test_pkcs12_from_jks(self, certkit_written: dict[str, pathlib.Path],
                             keytool_stores: KeytoolStores, java_dump: pathlib.Path) -> None:
        """The PKCS#12 certkit converts from keytool's JKS lists alike and decrypts in Java."""
        path = certkit_written["pkcs12"]
        listed = keytool_list(path, "pkcs12")
        original = keytool_list(keytool_stores.jks, "jks")
        assert {a: (e.kind, e.chain) for a, e in listed.items()} == {
            a: (e.kind, e.chain) for a, e in original.items()}
        java = java_entries(java_dump, path, "pkcs12")
        source = certkit.load(keytool_stores.jks, password=STOREPASS,
                              key_passwords={"second": SECONDPASS})
        for entry in source.key_entries:
            assert PrivateKey.load(java[entry.alias].encoded) == entry.private_key

    @pytest.mark.slow
    @pytest.mark.parametrize("fmt", ["jks", "jceks", "pkcs12"])
    def test_keytool_importkeystore_round_trip(self, certkit_written: dict[str, pathlib.Path],
                                               fmt: str) -> None:
        """keytool converts certkit's output to PKCS#12 and back; certkit reads the result."""
        path = certkit_written[fmt]
        extra = {"second": SECONDPASS} if fmt == "jks" else {}
        before = certkit.load(path, password=STOREPASS, key_passwords=extra)
        back = keytool_roundtrip(path, fmt, before.aliases, **extra)
        listed = keytool_list(path, fmt)
        assert {a: (e.kind, e.chain) for a, e in keytool_list(back, fmt).items()} == {
            a: (e.kind, e.chain) for a, e in listed.items()}
        if fmt == "pkcs12":
            return  # keytool's own PKCS#12 output is the PKCS#12 codec's business
        after = certkit.load(back, password=STOREPASS)
        assert set(after.aliases) == set(before.aliases)
        for entry in before:
            again = after[entry.alias]
            assert type(again) is type(entry)
            if isinstance(entry, KeyEntry):
                assert isinstance(again, KeyEntry)
                assert again.private_key == entry.private_key
                assert again.chain == entry.chain
            elif isinstance(entry, SecretKeyEntry):
                assert isinstance(again, SecretKeyEntry)
                assert again.key == entry.key


class TestLockedKeyFromKeytool:
    """keytool's entry with its own key password: what it answers locked, and once opened."""

    def test_locked_key_answers_from_its_certificate(self, keytool_stores: KeytoolStores,
                                                     tmp_path: pathlib.Path) -> None:
        """algorithm and public-key fingerprint without the key password, as the JDK says."""
        store = certkit.load(keytool_stores.jks, password=STOREPASS)
        entry = store.get("second", KeyEntry)
        assert entry.is_locked
        assert entry.key.algorithm == "EC-P256"  # keytool -groupname secp256r1
        cert = tmp_path / "second.pem"
        _kt(keytool_stores.jks, "jks", "-exportcert", "-alias", "second", "-rfc", "-file", cert)
        pem = openssl("x509", "-in", cert, "-noout", "-pubkey").stdout
        spki = openssl("pkey", "-pubin", "-outform", "DER", input=pem).stdout
        assert entry.key.public_key_fingerprint == hashlib.sha256(spki).hexdigest()
        assert entry.key.matches(certkit.load(cert).certificates[0])
        with pytest.raises(certkit.errors.PasswordError, match="'second'") as info:
            entry.key.to_pem()
        assert info.value.alias == "second"

    def test_unlocked_jdk_ec_key_is_checked_and_matches(self,
                                                        keytool_stores: KeytoolStores) -> None:
        """The JDK's EC PKCS#8 has no public point: the check deferred to unlock passes."""
        store = certkit.load(keytool_stores.jks, password=STOREPASS)
        entry = store.get("second", KeyEntry).unlock(SECONDPASS)
        assert entry.is_consistent
        leaf = entry.certificate
        assert leaf is not None
        assert entry.private_key.matches(leaf)
