"""``certkit demo``: a walk-through with real files in a throw-away folder.

It plays the handbook's story: a CA delivers a server certificate in several encodings,
and certkit recognises each by content, converts between them without loss, refuses to
drop a private key silently, and checks every result (against ``openssl`` too, when it
is installed). No network is used and nothing is written outside the folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import TextIO

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import certkit
from certkit._model import (
    Attributes,
    Certificate,
    KeyEntry,
    KeyStore,
    PrivateKey,
    TrustedCertEntry,
)
from certkit.errors import CertkitError, UnrepresentableError

__all__ = ["DemoCheck", "DemoResult", "run_demo"]

HOST = "www.demo.example"
#: The demo's throw-away password (Tomcat's traditional default); shown on purpose.
DEMO_PASSWORD = "changeit"  # noqa: S105 - a throw-away demo password, printed on purpose
IIS_CSP = "Microsoft RSA SChannel Cryptographic Provider"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TW"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certkit demo"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _issue(
    subject: str, key: rsa.RSAPrivateKey, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None,
    *, ca: bool, now: dt.datetime,
) -> Certificate:
    issuer_name, issuer_key = issuer if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825 if ca else 397))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    )
    if ca:  # RFC 5280 requires keyUsage on CA certificates; web PKI verifiers insist on it
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    if not ca:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False))
    return Certificate.from_x509(builder.sign(issuer_key, hashes.SHA256()))


class _Demo:
    def __init__(self, out: TextIO, folder: pathlib.Path) -> None:
        self.out = out
        self.folder = folder
        self.failures = 0
        self.step_no = 0
        self.title = ""
        self.checks: list[DemoCheck] = []

    def step(self, title: str) -> None:
        self.step_no += 1
        self.title = title
        self.out.write(f"\n== {self.step_no}. {title}\n")

    def say(self, text: str) -> None:
        self.out.write(f"   {text}\n")

    def check(self, ok: bool, what: str) -> None:
        self.out.write(f"   [{'ok' if ok else 'FAILED'}] {what}\n")
        self.checks.append(DemoCheck(self.step_no, self.title, what, ok))
        if not ok:
            self.failures += 1

    def path(self, name: str) -> pathlib.Path:
        return self.folder / name

    def show(self, name: str) -> KeyStore:
        store = certkit.load(self.path(name))
        kinds = ", ".join(
            f"{'key+chain of ' + str(len(e.chain)) if isinstance(e, KeyEntry) else 'certificate'}"
            f" '{e.alias}'" for e in store.entries)
        self.say(f"{name:<24} detected as {store.format:<7} → {kinds}")
        return store


def _openssl_fingerprint(path: pathlib.Path, inform: str) -> str | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    result = subprocess.run(
        [openssl, "x509", "-noout", "-fingerprint", "-sha256", "-inform", inform, "-in", str(path)],
        capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        return None
    return result.stdout.strip().split("=", 1)[1].replace(":", "").lower()


@contextlib.contextmanager
def _workdir(directory: str | None) -> Iterator[pathlib.Path]:
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="certkit-demo-") as tmp:
            yield pathlib.Path(tmp)
        return
    folder = pathlib.Path(directory)
    if folder.exists() and any(folder.iterdir()):
        raise CertkitError(f"{folder} is not empty; give --out a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder


@attrs.frozen
class DemoCheck:
    """One check the walk-through made: its step, what it checked, and the outcome."""

    step: int
    title: str
    what: str
    ok: bool


@attrs.frozen
class DemoResult:
    """The outcome of :func:`run_demo`: every check, and the folder if it was kept."""

    checks: tuple[DemoCheck, ...]
    folder: pathlib.Path | None

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks)


def run_demo(out: TextIO, *, directory: str | None = None) -> DemoResult:
    """Run the walk-through, narrating to ``out``; return every check it made."""
    with _workdir(directory) as folder:
        demo = _Demo(out, folder)
        _walk(demo)
        where = folder if directory else "a temporary folder (removed now; --out-dir DIR keeps it)"
        out.write(f"\nFiles were written to {where}.\n")
        if demo.failures:
            out.write(f"{demo.failures} check(s) FAILED.\n")
        else:
            out.write("Every check passed.\n")
        return DemoResult(tuple(demo.checks), folder if directory else None)


def _keytool_chain_lengths(path: pathlib.Path, storetype: str) -> list[int] | None:
    """``Certificate chain length`` values ``keytool -list -v`` prints, or None without Java."""
    keytool = shutil.which("keytool")
    if keytool is None:
        return None
    result = subprocess.run(
        [keytool, "-J-Duser.language=en", "-list", "-v", "-keystore", str(path),
         "-storetype", storetype, "-storepass", DEMO_PASSWORD],
        capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        return None
    return [int(line.split(":")[1]) for line in result.stdout.splitlines()
            if line.startswith("Certificate chain length:")]


def _walk(demo: _Demo) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    demo.step("A throw-away PKI: root CA → intermediate CA → server certificate")
    root_key = rsa.generate_private_key(65537, 2048)
    inter_key = rsa.generate_private_key(65537, 2048)
    server_key = rsa.generate_private_key(65537, 2048)
    root = _issue("certkit Demo Root CA", root_key, None, ca=True, now=now)
    inter = _issue("certkit Demo Issuing CA", inter_key, (root.x509.subject, root_key),
                   ca=True, now=now)
    server = _issue(HOST, server_key, (inter.x509.subject, inter_key), ca=False, now=now)
    key = PrivateKey(server_key)
    for cert in (root, inter, server):
        demo.say(f"{cert.subject}")
    demo.say(f"in {demo.folder}")

    demo.step("The CA delivers files; the names do not say what is inside")
    certificate_only = KeyStore([TrustedCertEntry("server", server)])
    certkit.save(certificate_only, demo.path("server.crt"))  # PEM
    certkit.save(certificate_only, demo.path("server.cer"), format="der")  # same name, DER
    certkit.save(KeyStore([TrustedCertEntry("issuing-ca", inter)]), demo.path("issuing-ca.crt"))
    chain_store = KeyStore(
        [TrustedCertEntry(c.common_name or "ca", c) for c in (server, inter, root)])
    certkit.save(chain_store, demo.path("chain.p7b"))
    key_only = KeyStore([KeyEntry("server", key)])
    certkit.save(key_only, demo.path("server.key"))
    for name in ("server.crt", "server.cer", "issuing-ca.crt", "chain.p7b", "server.key"):
        demo.show(name)
    mode = demo.path("server.key").stat().st_mode & 0o777
    demo.check(mode == 0o600, f"the private key file is readable by its owner only ({mode:o})")

    demo.step("Convert: DER .cer → PEM, and the .p7b chain → PEM")
    certkit.convert(demo.path("server.cer"), demo.path("server-from-der.pem"))
    certkit.convert(demo.path("chain.p7b"), demo.path("chain.pem"))
    from_der = certkit.load(demo.path("server-from-der.pem"))
    demo.check(from_der.certificates == (server,),
               "server.cer (DER) → PEM keeps the certificate byte for byte")
    chain_pem = certkit.load(demo.path("chain.pem"))
    demo.check(chain_pem.certificates == (server, inter, root),
               "chain.p7b → chain.pem keeps all three certificates, leaf first")

    demo.step("Build the Apache bundle: key + certificate + intermediate in one PEM")
    bundle = (demo.path("issuing-ca.crt").read_bytes() + demo.path("server.key").read_bytes()
              + demo.path("server.crt").read_bytes())
    apache = certkit.load(bundle)
    entry = apache.key_entries[0] if apache.key_entries else None
    demo.check(entry is not None and len(apache) == 1,
               "the bundle (in any order) loads as one key entry")
    if entry is not None:
        names = " → ".join(c.common_name or "?" for c in entry.chain)
        demo.check(entry.chain.certificates == (server, inter), f"its chain is leaf first: {names}")
        demo.check(key.matches(server), "the key matches the certificate (same public key)")
        demo.say(f"missing issuer to complete the chain: {entry.chain.missing_issuer}")
    certkit.save(apache, demo.path("apache-fullchain.pem"))

    demo.step("Refuse to lose data silently")
    try:
        certkit.convert(demo.path("apache-fullchain.pem"), demo.path("lossy.p7b"))
        demo.check(ok=False, what="a key bundle → .p7b conversion should have been refused")
    except UnrepresentableError as err:
        demo.check(not demo.path("lossy.p7b").exists(), "no file was written")
        demo.say(f"certkit said: {err}")

    demo.step("Check the results with openssl")
    checks = [("server.crt", "PEM"), ("server.cer", "DER"), ("server-from-der.pem", "PEM")]
    agreed = [_openssl_fingerprint(demo.path(name), inform) for name, inform in checks]
    if any(value is None for value in agreed):
        demo.say("openssl is not installed (or could not read a file); skipped")
    else:
        demo.check(all(value == server.fingerprint() for value in agreed),
                   f"openssl prints the same SHA-256 fingerprint {server.fingerprint()[:16]}… "
                   "for every file")

    _iis_to_apache(demo, key, (server, inter, root))
    _tomcat(demo, (server, inter, root))
    _doctor(demo)
    _backup(demo)


def _doctor(demo: _Demo) -> None:
    demo.step("certkit doctor: the handbook's \"key values mismatch\", explained")
    # A second CSR made a new key and overwrote the first: the classic Apache mistake.
    stray = KeyStore([KeyEntry("server", PrivateKey(rsa.generate_private_key(65537, 2048)))])
    certkit.save(stray, demo.path("server-from-second-csr.key"))
    findings = certkit.diagnose(demo.path("server.crt"), demo.path("server-from-second-csr.key"))
    codes = sorted({f.code for f in findings})
    for finding in findings:
        demo.say(f"{finding.severity}: [{finding.code}] {finding.message}")
    demo.check("key-mismatch" in codes, f"doctor names the problem: {', '.join(codes)}")
    demo.path("server-from-second-csr.key").unlink()  # the staged mistake is not kept
    healthy = certkit.diagnose(demo.path("apache.pem"))
    problems = [f.code for f in healthy if f.severity in ("error", "warning")]
    demo.check(not problems, "apache.pem (key + full chain) has nothing to report"
               + (f" (but: {problems})" if problems else ""))


def _backup(demo: _Demo) -> None:
    demo.step("Back up key and certificates, then verify the backup")
    manifest = certkit.backup([demo.path("apache.pem")], demo.path("backup"),
                              password=DEMO_PASSWORD)
    demo.say(f"backup/ holds {', '.join(sorted(manifest.files))} (the key only inside the "
             "encrypted PKCS#12)")
    report = certkit.verify_backup(demo.path("backup"), password=DEMO_PASSWORD)
    demo.check(report.ok, "verify-backup: every hash, the password and the key pairing check out")
    pem = demo.path("backup") / "certificates.pem"
    original = pem.read_bytes()
    pem.write_bytes(original.replace(b"MII", b"MIJ", 1))
    tampered = certkit.verify_backup(demo.path("backup"), password=DEMO_PASSWORD)
    demo.check(not tampered.ok and any("certificates.pem" in str(p) for p in tampered.problems),
               "a changed byte in certificates.pem is caught and the file named")
    pem.write_bytes(original)


def _iis_to_apache(demo: _Demo, key: PrivateKey, chain: tuple[Certificate, ...]) -> None:
    demo.step(f"IIS exports a .pfx (password {DEMO_PASSWORD!r}) — convert it for Apache and back")
    attributes = Attributes(friendly_name=HOST, local_key_id=b"\x01\x00\x00\x00", csp_name=IIS_CSP)
    iis = KeyStore([KeyEntry(HOST, key, chain, attributes)])
    certkit.save(iis, demo.path("iis-modern.pfx"), password=DEMO_PASSWORD)
    certkit.save(iis, demo.path("iis-legacy.pfx"), password=DEMO_PASSWORD, profile="legacy")
    for name in ("iis-modern.pfx", "iis-legacy.pfx"):
        store = certkit.load(demo.path(name), password=DEMO_PASSWORD)
        weak = [p for p in store.protection if p.weak]
        demo.say(f"{name:<24} {len(store.protection)} protected parts"
                 + (f", weak: {'; '.join(sorted({p.weak or '' for p in weak}))}" if weak else
                    ", nothing weak"))
    loaded = certkit.load(demo.path("iis-legacy.pfx"), password=DEMO_PASSWORD)
    demo.check(loaded == iis, "the legacy .pfx keeps key, chain, friendly name and CSP name")
    report = certkit.convert(demo.path("iis-legacy.pfx"), demo.path("apache.pem"),
                             password=DEMO_PASSWORD, bag_attributes=True)
    apache = certkit.load(demo.path("apache.pem"))
    entry = apache.key_entries[0]
    demo.check(entry.chain.certificates == chain and entry.key == key,
               f"apache.pem: unencrypted key + chain of {len(entry.chain)}, leaf first "
               f"({report.format}, mode {demo.path('apache.pem').stat().st_mode & 0o777:o})")
    certkit.convert(demo.path("apache.pem"), demo.path("iis-again.pfx"),
                    new_password=DEMO_PASSWORD, profile="legacy")
    again = certkit.load(demo.path("iis-again.pfx"), password=DEMO_PASSWORD)
    demo.check(again.key_entries[0].key == key and again.key_entries[0].chain == entry.chain
               and again.aliases == (HOST,),
               "apache.pem → iis-again.pfx: same key, chain and friendly name")


def _tomcat(demo: _Demo, chain: tuple[Certificate, ...]) -> None:
    demo.step("Build Tomcat keystores (JKS and PKCS#12) from the Apache PEM file")
    apache = certkit.load(demo.path("apache.pem"))
    tomcat = apache.rename(apache.aliases[0], "tomcat")
    certkit.save(tomcat, demo.path("tomcat.jks"), password=DEMO_PASSWORD)
    certkit.save(tomcat, demo.path("tomcat.p12"), password=DEMO_PASSWORD)
    for name, storetype in (("tomcat.jks", "JKS"), ("tomcat.p12", "PKCS12")):
        store = certkit.load(demo.path(name), password=DEMO_PASSWORD)
        entry = store.key_entries[0]
        demo.check(store.aliases == ("tomcat",) and entry.chain.certificates == chain,
                   f"{name}: alias 'tomcat', chain of {len(entry.chain)} (what Tomcat needs)")
        lengths = _keytool_chain_lengths(demo.path(name), storetype)
        if lengths is None:
            demo.say("keytool is not installed; skipped the Java cross-check")
        else:
            demo.check(lengths == [len(chain)],
                       f"keytool -list -v on {name} says: Certificate chain length: {lengths}")
