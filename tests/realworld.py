"""Keystores like those other projects' test suites hold, made at test time by the real tools.

Each maker writes into a folder with ``openssl``, ``keytool`` or the JDK's own classes (a
single-file Java program run by ``java``), never with certkit, and returns what it made
with its passwords. :func:`keytool_view` reads a store back as ``keytool -list -v`` shows
it, the reference every comparison in the tests is made against.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re

import attrs
from conftest import compile_java, corpus_path, java_program, keytool, openssl
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: Every store made here uses this password for the store and its keys, as keytool's docs do.
PASSWORD = "changeit"

_CHAINLESS_JAVA = """\
import java.io.FileOutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.Key;
import java.security.KeyStore;

/** A JKS key entry (tag 1) without a certificate chain: keytool lists it as SecretKeyEntry. */
public class Chainless {
    public static void main(String[] a) throws Exception {
        final byte[] payload = Files.readAllBytes(Paths.get(a[3]));
        char[] pass = a[1].toCharArray();
        byte[] pw = new byte[pass.length * 2];
        for (int i = 0; i < pass.length; i++) {
            pw[2 * i] = (byte) (pass[i] >> 8);
            pw[2 * i + 1] = (byte) pass[i];
        }
        Key key = new Key() {
            public String getAlgorithm() { return "AES"; }
            public String getFormat() { return "PKCS#8"; }
            public byte[] getEncoded() { return payload.clone(); }
        };
        Class<?> kp = Class.forName("sun.security.provider.KeyProtector");
        Constructor<?> c = kp.getDeclaredConstructor(byte[].class);
        c.setAccessible(true);
        Method protect = kp.getDeclaredMethod("protect", Key.class);
        protect.setAccessible(true);
        byte[] sealed = (byte[]) protect.invoke(c.newInstance((Object) pw), key);
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        ks.setKeyEntry(a[2], sealed, null);
        try (FileOutputStream out = new FileOutputStream(a[0])) { ks.store(out, pass); }
    }
}
"""


@attrs.frozen
class Made:
    """A store a real tool wrote, and the store password it opens with."""

    path: pathlib.Path
    password: str


def _ca(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    key, cert = folder / "ca.key", folder / "ca.pem"
    if not cert.exists():
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-subj", "/CN=Realworld RSA CA", "-days", "3650", "-sha256")
    return key, cert


def _leaf(folder: pathlib.Path, name: str, key: pathlib.Path) -> pathlib.Path:
    ca_key, ca_cert = _ca(folder)
    csr, cert = folder / f"{name}.csr", folder / f"{name}.pem"
    openssl("req", "-new", "-key", key, "-subj", f"/CN={name}.realworld.test", "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
            str(int.from_bytes(name.encode()[:6], "big")), "-days", "3650", "-sha256", "-out", cert)
    return cert


def _pkcs12(folder: pathlib.Path, name: str, key: pathlib.Path) -> pathlib.Path:
    _, ca_cert = _ca(folder)
    cert = _leaf(folder, name, key)
    out = folder / f"{name}.p12"
    openssl("pkcs12", "-export", "-inkey", key, "-in", cert, "-certfile", ca_cert, "-name", name,
            "-passout", f"pass:{PASSWORD}", "-out", out)
    return out


def _import(source: pathlib.Path, password: str, target: pathlib.Path, store_type: str) -> None:
    keytool("-importkeystore", "-noprompt", "-srckeystore", source, "-srcstorepass", password,
            "-destkeystore", target, "-deststoretype", store_type, "-deststorepass", password)


def binary_curve_stores(folder: pathlib.Path) -> dict[str, Made]:
    """A sect193r1 key (a binary curve cryptography lacks) beside an RSA key, as JKS and PKCS#12.

    openssl makes the keys and certificates (both issued by an RSA CA) and one PKCS#12 per
    key; keytool -importkeystore merges the two into a JKS and into a PKCS#12.
    """
    ec_key, rsa_key = folder / "sect193r1.key", folder / "rsa.key"
    openssl("ecparam", "-name", "sect193r1", "-genkey", "-noout", "-out", ec_key)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa_key)
    parts = [_pkcs12(folder, "sect193r1", ec_key), _pkcs12(folder, "rsa2048", rsa_key)]
    made = {"openssl-sect193r1.p12": Made(parts[0], PASSWORD)}
    for name, store_type in (("sect193r1-and-rsa.jks", "JKS"), ("sect193r1-and-rsa.p12", "PKCS12")):
        for part in parts:
            _import(part, PASSWORD, folder / name, store_type)
        made[name] = Made(folder / name, PASSWORD)
    return made


def jdk8_pkcs12(folder: pathlib.Path) -> Made:
    """The JDK 8 EC keystore of the corpus converted to PKCS#12 by keytool.

    The JDK keeps each key's PKCS#8 as read, so the 33-byte EC scalar JDK 8 wrote and the
    sect193r1 key reach the PKCS#12 file unchanged.
    """
    source = corpus_path("realworld", "jdk8-ec.keystore")
    target = folder / "jdk8-ec.p12"
    _import(source, "passphrase", target, "PKCS12")
    return Made(target, "passphrase")


def null_parameters_truststore(folder: pathlib.Path) -> Made:
    """mbed TLS's EC test CA (NULL signature parameters) imported by keytool into a JKS."""
    target = folder / "mbedtls-ca.jks"
    keytool("-importcert", "-noprompt", "-alias", "polarssl-ec-ca", "-file",
            corpus_path("realworld", "mbedtls-test-ca2.crt"), "-keystore", target,
            "-storetype", "JKS", "-storepass", PASSWORD)
    return Made(target, PASSWORD)


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    width = (size.bit_length() + 7) // 8
    return bytes([tag, 0x80 | width]) + size.to_bytes(width, "big") + content


def _elements(der: bytes) -> list[bytes]:
    """Each element (header and content) inside one definite-length DER SEQUENCE."""

    def header(pos: int) -> tuple[int, int]:
        size, start = der[pos + 1], pos + 2
        if size & 0x80:
            width = size & 0x7F
            size, start = int.from_bytes(der[start : start + width], "big"), start + width
        return start, start + size

    pos, end = header(0)
    out = []
    while pos < end:
        _, stop = header(pos)
        out.append(der[pos:stop])
        pos = stop
    return out


#: ecdsa-with-SHA256 with explicit NULL parameters, as mbed TLS's test CAs carry it.
_ECDSA_SHA256_NULL = _tlv(0x30, bytes.fromhex("06082a8648ce3d040302") + b"\x05\x00")


def null_parameters_chain(folder: pathlib.Path) -> Made:
    """A PKCS#12 (openssl) whose leaf carries NULL ECDSA parameters, re-signed by its EC CA.

    openssl makes the EC CA, the leaf and the PKCS#12; the leaf's signature algorithm is
    rewritten with NULL parameters and signed again over the rewritten to-be-signed bytes
    (cryptography signs, openssl verifies the result before it is used).
    """
    ca_key, ca_cert = folder / "ecca.key", folder / "ecca.pem"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    openssl("req", "-x509", "-key", ca_key, "-subj", "/CN=Realworld EC CA", "-days", "3650",
            "-sha256", "-out", ca_cert)
    key, csr, leaf = folder / "nullleaf.key", folder / "nullleaf.csr", folder / "nullleaf.pem"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", "/CN=null-params.realworld.test", "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial", "7",
            "-days", "3650", "-sha256", "-outform", "DER", "-out", folder / "nullleaf.der")
    tbs = _elements((folder / "nullleaf.der").read_bytes())[0]
    fields = _elements(tbs)
    fields[2 if fields[0][0] == 0xA0 else 1] = _ECDSA_SHA256_NULL  # [version,] serial, alg…
    tbs = _tlv(0x30, b"".join(fields))
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    der = _tlv(0x30, tbs + _ECDSA_SHA256_NULL + _tlv(0x03, b"\x00" + signature))
    (folder / "nullleaf.der").write_bytes(der)
    openssl("x509", "-inform", "DER", "-in", folder / "nullleaf.der", "-out", leaf)
    openssl("verify", "-CAfile", ca_cert, leaf)
    target = folder / "null-params.p12"
    openssl("pkcs12", "-export", "-inkey", key, "-in", leaf, "-certfile", ca_cert, "-name",
            "null-params", "-passout", f"pass:{PASSWORD}", "-out", target)
    return Made(target, PASSWORD)


def chainless_jks(folder: pathlib.Path, payload: bytes, alias: str) -> Made:
    """A JKS whose key entry has no certificate chain, written by the JDK's own classes.

    keytool cannot make one (``-genseckey -storetype JKS`` is refused), but the JDK's JKS
    reads and writes such entries, and keytool lists them as ``SecretKeyEntry``.
    """
    data = folder / f"{alias}.bin"
    data.write_bytes(payload)
    target = folder / f"chainless-{alias}.jks"
    java_program(compile_java("Chainless", _CHAINLESS_JAVA), "Chainless", target, PASSWORD,
                 alias, data,
                 jvm_options=("--add-opens", "java.base/sun.security.provider=ALL-UNNAMED"))
    return Made(target, PASSWORD)


# --- what keytool shows ----------------------------------------------------------------


@attrs.frozen
class ViewedEntry:
    """One entry as ``keytool -list -v`` lists it."""

    alias: str
    kind: str
    chain_length: int
    sha256: tuple[str, ...]


_KINDS = {"PrivateKeyEntry": "PrivateKeyEntry", "trustedCertEntry": "trustedCertEntry",
          "SecretKeyEntry": "SecretKeyEntry"}


def keytool_view(path: os.PathLike[str] | str, password: str) -> dict[str, ViewedEntry]:
    """The entries ``keytool -list -v`` shows, by lower-case alias."""
    return parse_keytool_list(
        keytool("-list", "-v", "-keystore", path, "-storepass", password).stdout.decode())


def parse_keytool_list(text: str) -> dict[str, ViewedEntry]:
    """Read the output of ``keytool -list -v`` (English) into entries by lower-case alias."""
    found: dict[str, ViewedEntry] = {}
    for block in re.split(r"^Alias name: ", text, flags=re.MULTILINE)[1:]:
        alias = block.splitlines()[0].strip()
        kind = _KINDS[re.search(r"^Entry type: (\S+)", block, re.MULTILINE).group(1)]  # type: ignore[union-attr]
        fingerprints = tuple(f.replace(":", "").lower()
                             for f in re.findall(r"SHA256: ([0-9A-F:]+)", block))
        length = re.search(r"^Certificate chain length: (\d+)", block, re.MULTILINE)
        chain_length = int(length.group(1)) if length else len(fingerprints)
        found[alias.lower()] = ViewedEntry(alias, kind, chain_length, fingerprints)
    return found


def certkit_view(store: object) -> dict[str, ViewedEntry]:
    """The same view of a certkit store: keytool's entry kinds, chain lengths, fingerprints."""
    import certkit  # the makers above must not depend on certkit

    assert isinstance(store, certkit.KeyStore)
    found: dict[str, ViewedEntry] = {}
    for entry in store:
        if isinstance(entry, certkit.TrustedCertEntry):
            kind, certs = "trustedCertEntry", (entry.certificate,)
        elif isinstance(entry, certkit.SecretKeyEntry):
            kind, certs = "SecretKeyEntry", ()
        elif isinstance(entry, certkit.KeyEntry):
            kind, certs = "PrivateKeyEntry", tuple(entry.chain)
        else:
            kind = {"private key": "PrivateKeyEntry", "secret key": "SecretKeyEntry",
                    "certificate": "trustedCertEntry"}[entry.kind]
            certs = tuple(entry.chain)
        fingerprints = tuple(c.fingerprint() for c in certs)
        if isinstance(entry, certkit.OpaqueEntry) and entry.kind == "certificate":
            fingerprints = (hashlib.sha256(entry.data).hexdigest(),)
        found[entry.alias.lower()] = ViewedEntry(entry.alias, kind, len(fingerprints),
                                                 fingerprints)
    return found
