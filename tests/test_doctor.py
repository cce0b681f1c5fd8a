"""certkit doctor: every finding code on files made by the real openssl and keytool."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import pathlib
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import servers
from conftest import keytool, openssl, require_tool

from certkit import Certificate, load
from certkit import diagnose as _diagnose
from certkit._ops.doctor import CODES, Finding
from certkit.cli import main
from certkit.cli.diagnose import default_language, parse_duration

pytestmark = pytest.mark.interop

PASSWORD = "changeit"
HOST = "www.doctor.test"
LEAF_EXT = (f"basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:{HOST}\n"
            "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
UNFILLED = re.compile(r"\{[a-z_]+\}")
CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"


def diagnose(*sources: Any, **options: Any) -> list[Finding]:
    """certkit.diagnose, trusting the fixtures' private root unless told otherwise.

    The fixtures are a private CA: without its root as a trust file every chain is
    (rightly) "complete to a root that is not trusted", which TestPrivateRoot checks.
    """
    paths = [pathlib.Path(s) for s in sources if isinstance(s, (str, os.PathLike))]
    root = next((p.parent / "root.crt" for p in paths if (p.parent / "root.crt").exists()), None)
    if root is not None:
        options.setdefault("trust", str(root))
    return _diagnose(*sources, **options)


@attrs.frozen
class Files:
    """The folder of fixtures, made once per module by openssl and keytool."""

    folder: pathlib.Path

    def __truediv__(self, name: str) -> pathlib.Path:
        return self.folder / name

    def cert(self, name: str) -> Certificate:
        """The first certificate in one of the files."""
        return load(self / name).certificates[0]


def _ec_csr(folder: pathlib.Path, name: str, subject: str) -> None:
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", folder / f"{name}.key", "-out", folder / f"{name}.csr", "-subj", subject)


def _sign(folder: pathlib.Path, csr: str, out: str, ext: str, *, days: int,
          ca: str = "inter") -> None:
    """Issue a certificate for a CSR with openssl x509 -req and an extensions file."""
    openssl("x509", "-req", "-in", folder / csr, "-CA", folder / f"{ca}.crt",
            "-CAkey", folder / f"{ca}.key", "-CAcreateserial", "-days", str(days),
            "-extfile", folder / ext, "-out", folder / out)


def _cat(folder: pathlib.Path, out: str, *names: str) -> None:
    (folder / out).write_bytes(b"".join((folder / n).read_bytes() for n in names))


def _build(folder: pathlib.Path) -> None:
    """Root → intermediate → RSA leaf, a stray RSA key, bundles, PFX files and keystores."""
    (folder / "leaf.ext").write_text(LEAF_EXT)
    (folder / "ca.ext").write_text(CA_EXT)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", folder / "root.key", "-out", folder / "root.crt", "-days", "3650",
            "-subj", "/CN=Doctor Test Root CA")
    _ec_csr(folder, "inter", "/CN=Doctor Test Intermediate CA")
    _sign(folder, "inter.csr", "inter.crt", "ca.ext", days=3000, ca="root")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / "server.key",
            "-out", folder / "server.csr", "-subj", f"/CN={HOST}")
    _sign(folder, "server.csr", "server.crt", "leaf.ext", days=365)
    # The key a second CSR left behind: the certificate above does not belong to it.
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", folder / "other.key")
    # The certificate served before the renewal (another key, same name).
    _ec_csr(folder, "old", f"/CN={HOST}")
    _sign(folder, "old.csr", "old.crt", "leaf.ext", days=365)
    # A certificate with the name in the CN only (no subjectAltName), self-signed.
    _ec_csr(folder, "cnonly", f"/CN={HOST}")
    openssl("x509", "-req", "-in", folder / "cnonly.csr", "-signkey", folder / "cnonly.key",
            "-days", "365", "-out", folder / "cnonly.crt")
    _cat(folder, "fullchain.pem", "server.crt", "inter.crt")
    # The same key certified with a SHA-1 signature, which cryptography cannot check.
    openssl("x509", "-req", "-sha1", "-in", folder / "server.csr", "-CA", folder / "inter.crt",
            "-CAkey", folder / "inter.key", "-CAcreateserial", "-days", "365",
            "-extfile", folder / "leaf.ext", "-out", folder / "sha1.crt")
    _cat(folder, "sha1-chain.pem", "sha1.crt", "inter.crt")
    _cat(folder, "misordered.pem", "inter.crt", "server.crt")
    _cat(folder, "server-bundle.pem", "server.crt", "inter.crt", "root.crt")
    openssl("x509", "-in", folder / "server.crt", "-outform", "der", "-out", folder / "server.cer")
    _cat(folder, "pem-inside.der", "server.crt")
    text = (folder / "server.crt").read_bytes()
    cut = text[: len(text) // 2] + b"\n-----END CERTIFICATE-----\n"
    (folder / "truncated.crt").write_bytes(cut)
    # A text that starts with "0" would sniff as DER (0x30), so give it a header line.
    (folder / "junk.txt").write_bytes(b"random notes\n" + openssl("rand", "-hex", "48").stdout)
    (folder / "dangling.pem").symlink_to(folder / "nowhere.pem")
    pfx = ("pkcs12", "-export", "-in", folder / "server.crt", "-inkey", folder / "server.key",
           "-passout", f"pass:{PASSWORD}")
    openssl(*pfx, "-certfile", folder / "inter.crt", "-out", folder / "modern.pfx")
    openssl(*pfx, "-certfile", folder / "inter.crt", "-legacy", "-out", folder / "legacy.pfx")
    openssl(*pfx, "-out", folder / "leaf-only.p12")
    openssl("pkcs12", "-export", "-nokeys", "-in", folder / "server.crt", "-certfile",
            folder / "inter.crt", "-passout", f"pass:{PASSWORD}", "-out", folder / "nokey.pfx")
    _keystores(folder)


def _keystores(folder: pathlib.Path) -> None:
    """Tomcat's keystores: a fresh keytool key pair and its CA reply, a chain of one, a
    key with its own password."""
    store = ("-storetype", "JKS", "-storepass", PASSWORD)
    keytool("-genkeypair", "-alias", "tomcat", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", f"CN={HOST}", "-validity", "365", "-keypass", PASSWORD,
            "-keystore", folder / "tomcat.jks", *store)
    keytool("-certreq", "-alias", "tomcat", "-file", folder / "tomcat.csr",
            "-keystore", folder / "tomcat.jks", *store)
    _sign(folder, "tomcat.csr", "reply.crt", "leaf.ext", days=365)
    _cat(folder, "reply.pem", "reply.crt", "inter.crt", "root.crt")
    keytool("-importkeystore", "-srckeystore", folder / "leaf-only.p12", "-srcstoretype",
            "PKCS12", "-srcstorepass", PASSWORD, "-destkeystore", folder / "leaf-only.jks",
            "-deststoretype", "JKS", "-deststorepass", PASSWORD, "-noprompt")
    keytool("-genkeypair", "-alias", "locked", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=locked.doctor.test", "-validity", "365", "-keypass", "another-pass",
            "-keystore", folder / "locked.jks", *store)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """Every fixture file, built once for the module (keytool starts a JVM per call)."""
    require_tool("keytool")
    folder = tmp_path_factory.mktemp("doctor")
    _build(folder)
    return Files(folder)


@contextlib.contextmanager
def s_server(files: Files, cert: str, key: str, chain: str | None = None) -> Iterator[int]:
    """Run ``openssl s_server`` on a free local port with the given files; yield the port."""
    port = servers.free_port()
    argv = [require_tool("openssl"), "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
            str(files / cert), "-key", str(files / key), "-www", "-quiet"]
    if chain:
        argv += ["-cert_chain", str(files / chain)]
    log = files / f"s_server-{port}.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errors)
    try:
        deadline = time.monotonic() + 20
        while not servers._accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"s_server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def codes(findings: list[Finding]) -> set[str]:
    """The set of finding codes."""
    return {f.code for f in findings}


def _leaf_end(files: Files) -> dt.datetime:
    return files.cert("server.crt").not_after


def _served(files: Files, cert: str, chain: str | None) -> list[Finding]:
    """Diagnose fullchain.pem and its key against s_server serving ``cert`` (+ ``chain``)."""
    with s_server(files, cert, "server.key", chain) as port:
        return diagnose(files / "fullchain.pem", files / "server.key", host="127.0.0.1",
                        port=port, servername=HOST)


#: name → (call building the findings, the codes expected, exactly).
CASES: dict[str, tuple[Callable[[Files], list[Finding]], set[str]]] = {
    "clean": (lambda f: diagnose(f / "fullchain.pem", f / "server.key"), set()),
    "no-private-key": (lambda f: diagnose(f / "server.crt", f / "inter.crt"),
                       {"no-private-key"}),
    "no-private-key-pfx": (lambda f: diagnose(f / "nokey.pfx", passwords=PASSWORD),
                           {"no-private-key"}),
    "key-mismatch": (lambda f: diagnose(f / "fullchain.pem", f / "other.key"),
                     {"key-mismatch"}),
    "orphan-key": (lambda f: diagnose(f / "other.key"), {"orphan-key"}),
    "keystore-chain-incomplete": (lambda f: diagnose(f / "leaf-only.jks", passwords=PASSWORD),
                                  {"keystore-chain-incomplete"}),
    "self-signed-entry": (lambda f: diagnose(f / "tomcat.jks", passwords=PASSWORD),
                          {"self-signed-entry"}),
    "reply-not-imported": (lambda f: diagnose(f / "tomcat.jks", f / "reply.pem",
                                              passwords=PASSWORD),
                           {"reply-not-imported"}),
    "reply-wrong-alias": (lambda f: diagnose(f / "tomcat.jks", f / "reply.pem",
                                             passwords=PASSWORD, alias="mykey"),
                          {"reply-wrong-alias"}),
    "reply-no-key": (lambda f: diagnose(f / "tomcat.jks", f / "server-bundle.pem",
                                        passwords=PASSWORD),
                     {"reply-no-key", "self-signed-entry"}),
    "missing-intermediate": (lambda f: diagnose(f / "server.crt", f / "server.key"),
                             {"missing-intermediate"}),
    "misordered-chain": (lambda f: diagnose(f / "misordered.pem", f / "server.key"),
                         {"misordered-chain"}),
    "expired": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                   at=_leaf_end(f) + dt.timedelta(days=1)), {"expired"}),
    "not-yet-valid": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                         at=dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)),
                      {"not-yet-valid"}),
    "expiring-soon": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                         at=_leaf_end(f) - dt.timedelta(days=10)),
                      {"expiring-soon"}),
    "name-not-in-san": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                           servername="mail.doctor.test"),
                        {"name-not-in-san"}),
    "name-only-in-cn": (lambda f: diagnose(f / "cnonly.crt", f / "cnonly.key", servername=HOST),
                        {"name-not-in-san"}),
    "weak-pkcs12": (lambda f: diagnose(f / "legacy.pfx", passwords=PASSWORD), {"weak-pkcs12"}),
    "der-not-pem": (lambda f: diagnose(f / "server.cer", f / "inter.crt", f / "server.key"),
                    {"der-not-pem"}),
    "pem-not-der": (lambda f: diagnose(f / "pem-inside.der", f / "inter.crt", f / "server.key"),
                    {"pem-not-der"}),
    "password-needed": (lambda f: diagnose(f / "modern.pfx"), {"password-needed"}),
    "wrong-password": (lambda f: diagnose(f / "modern.pfx", passwords="not-it"),
                       {"wrong-password"}),
    "key-locked": (lambda f: diagnose(f / "locked.jks", passwords=PASSWORD),
                   {"key-locked", "self-signed-entry"}),
    "unreadable": (lambda f: diagnose(f / "dangling.pem"), {"unreadable"}),
    "unrecognised": (lambda f: diagnose(f / "junk.txt"), {"unrecognised"}),
    "damaged": (lambda f: diagnose(f / "truncated.crt"), {"damaged"}),
    "chain-untrusted-root": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                                trust=None), {"chain-untrusted-root"}),
    "chain-unverifiable": (lambda f: diagnose(f / "sha1-chain.pem", f / "server.key"),
                           {"chain-unverifiable"}),
    "chain-broken": (lambda f: _served(f, "server.crt", "cnonly.crt"),
                     {"chain-broken", "served-chain-differs"}),
    "chain-missing-intermediate": (lambda f: _served(f, "server.crt", None),
                                   {"chain-missing-intermediate", "served-chain-differs"}),
    "host-unreachable": (lambda f: diagnose(f / "fullchain.pem", f / "server.key",
                                            host="127.0.0.1", port=servers.free_port(),
                                            servername=HOST, timeout=5),
                         {"host-unreachable"}),
}


class TestFindingCodes:
    """Each fixture yields exactly its finding codes, in English and Traditional Chinese."""

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_exact_codes(self, files: Files, case: str) -> None:
        """diagnose reports exactly the codes this fixture should produce, and nothing else."""
        build, expected = CASES[case]
        findings = build(files)
        assert codes(findings) == expected, [f.message for f in findings]

    @pytest.mark.parametrize("case", sorted(c for c in CASES if c != "clean"))
    def test_both_languages(self, files: Files, case: str) -> None:
        """Every finding has Chinese text that differs from the English and is filled in."""
        for finding in CASES[case][0](files):
            message, fix = finding.text("zh-TW")
            assert (message, fix) == (finding.message_zh, finding.fix_zh)
            assert message != finding.message
            assert fix != finding.fix
            assert any("\u4e00" <= ch <= "\u9fff" for ch in message + fix)
            assert not UNFILLED.search(message + fix + finding.message + finding.fix)
            assert finding.text("en") == (finding.message, finding.fix)

    def test_every_code_has_a_fixture(self) -> None:
        """The cases here (with the live-host tests below) cover every code doctor knows."""
        covered = set().union(*(expected for _, expected in CASES.values()))
        covered |= {"served-differs", "served-chain-differs"}
        assert covered == set(CODES)


class TestDetails:
    """What the findings say beyond their code."""

    def test_mismatch_shows_both_openssl_modulus_hashes(self, files: Files) -> None:
        """Both modulus md5 values are what `openssl x509|rsa -modulus | openssl md5` print."""
        (finding,) = diagnose(files / "fullchain.pem", files / "other.key")

        def md5(kind: str, path: pathlib.Path) -> str:
            line = openssl(kind, "-noout", "-modulus", "-in", path).stdout
            return openssl("md5", input=line).stdout.decode().split("= ")[-1].strip()

        assert finding.data["certificate_modulus_md5"] == md5("x509", files / "server.crt")
        assert finding.data["key_modulus_md5"] == md5("rsa", files / "other.key")
        assert finding.data["certificate_modulus_md5"] in finding.message
        assert finding.severity == "error"

    def test_reply_names_the_alias_whose_key_matches(self, files: Files) -> None:
        """A CA reply typed for the wrong alias names the alias keytool should import into."""
        (finding,) = diagnose(files / "tomcat.jks", files / "reply.pem", passwords=PASSWORD,
                              alias="mykey")
        assert finding.data["matching_alias"] == "tomcat"
        assert "-alias tomcat" in finding.fix
        assert finding.aliases == ("tomcat",)

    def test_chain_of_one_names_the_missing_issuer(self, files: Files) -> None:
        """The keystore entry built from a leaf-only PKCS#12 names the intermediate it lacks."""
        (finding,) = diagnose(files / "leaf-only.jks", passwords=PASSWORD)
        assert finding.data["missing_issuer"] == "CN=Doctor Test Intermediate CA"
        assert finding.data["chain_length"] == "1"
        assert len(finding.aliases) == 1
        assert "Certificate chain length: 1" in finding.message

    def test_missing_intermediate_names_it(self, files: Files) -> None:
        """The missing intermediate is named by its subject."""
        (finding,) = diagnose(files / "server.crt", files / "server.key")
        assert finding.data["missing_issuer"] == "CN=Doctor Test Intermediate CA"

    def test_no_key_is_a_note_for_certificate_files_and_a_warning_for_a_pfx(
            self, files: Files) -> None:
        """A bare .crt has its key elsewhere (a note); a .pfx without the key is a warning."""
        (bare,) = diagnose(files / "server.crt", files / "inter.crt")
        (pfx,) = diagnose(files / "nokey.pfx", passwords=PASSWORD)
        assert (bare.severity, pfx.severity) == ("info", "warning")

    def test_passwords_by_path(self, files: Files) -> None:
        """A mapping gives each file its own password."""
        found = diagnose(files / "modern.pfx", files / "tomcat.jks", files / "reply.pem",
                         passwords={str(files / "modern.pfx"): PASSWORD,
                                    str(files / "tomcat.jks"): PASSWORD})
        assert codes(found) == {"reply-not-imported"}

    def test_bytes_and_stores_are_sources_too(self, files: Files) -> None:
        """Bytes and loaded stores are diagnosed like files (without extension checks)."""
        store = load(files / "server.key")
        found = diagnose((files / "server.cer").read_bytes(), store,
                         (files / "inter.crt").read_bytes(), trust=files / "root.crt")
        assert codes(found) == set()

    def test_sorted_errors_first(self, files: Files) -> None:
        """Errors come before warnings, warnings before notes."""
        found = diagnose(files / "server.cer", files / "junk.txt")
        order = [f.severity for f in found]
        assert order == sorted(order, key=["error", "warning", "info"].index)


class TestLiveHost:
    """The served chain compared with the files (openssl s_server as the server)."""

    def test_old_certificate_still_served(self, files: Files) -> None:
        """A server still serving the certificate from before the renewal is an error."""
        with s_server(files, "old.crt", "old.key", "inter.crt") as port:
            found = diagnose(files / "fullchain.pem", files / "server.key", host="127.0.0.1",
                             port=port, servername=HOST)
        assert codes(found) == {"served-differs"}
        (finding,) = found
        assert finding.data["served_sha256"] == files.cert("old.crt").fingerprint()
        assert finding.message_zh != finding.message

    def test_served_without_intermediate(self, files: Files) -> None:
        """The right leaf served without the intermediate the files have is a warning, and
        the served chain's verdict names the intermediate."""
        with s_server(files, "server.crt", "server.key") as port:
            found = diagnose(files / "fullchain.pem", files / "server.key", host="127.0.0.1",
                             port=port, servername=HOST)
        assert codes(found) == {"served-chain-differs", "chain-missing-intermediate"}
        assert all(f.message_zh != f.message for f in found)
        (missing,) = (f for f in found if f.code == "chain-missing-intermediate")
        assert missing.data["missing_issuer"] == files.cert("inter.crt").subject

    def test_served_as_the_files_say(self, files: Files) -> None:
        """A server serving the files' leaf and intermediate raises nothing."""
        with s_server(files, "server.crt", "server.key", "inter.crt") as port:
            found = diagnose(files / "fullchain.pem", files / "server.key", host="127.0.0.1",
                             port=port, servername=HOST)
        assert codes(found) == set()


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    roots = [pathlib.Path(a).parent / "root.crt" for a in argv if a.startswith("/")]
    if "--trust" not in argv and roots and roots[0].exists():
        argv = [*argv, "--trust", str(roots[0])]  # the fixtures' private CA (see diagnose)
    return main(argv, out=out), out.getvalue()


class TestCommandLine:
    """``certkit doctor``: exit codes, languages and JSON."""

    def test_clean_exits_0(self, files: Files) -> None:
        """No error or warning: exit 0."""
        code, text = _run(["doctor", str(files / "fullchain.pem"), str(files / "server.key"),
                           "--lang", "en"])
        assert (code, text.strip()) == (0, "no problems found")

    def test_notes_alone_exit_0(self, files: Files) -> None:
        """A note (a certificate whose key is kept elsewhere) does not fail the command."""
        code, text = _run(["doctor", str(files / "server.crt"), str(files / "inter.crt"),
                           "--lang", "en"])
        assert code == 0
        assert "[no-private-key]" in text

    def test_problem_exits_1_with_message_and_fix(self, files: Files) -> None:
        """A mismatch exits 1 and prints the finding with its fix."""
        code, text = _run(["doctor", str(files / "fullchain.pem"), str(files / "other.key"),
                           "--lang", "en"])
        assert code == 1
        assert "error: [key-mismatch]" in text
        assert "  fix: " in text

    def test_chinese_from_the_locale(self, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
        """LANG=zh_TW.UTF-8 makes the messages Traditional Chinese."""
        monkeypatch.delenv("LC_ALL", raising=False)
        monkeypatch.delenv("LC_MESSAGES", raising=False)
        monkeypatch.setenv("LANG", "zh_TW.UTF-8")
        code, text = _run(["doctor", str(files / "server.crt"), str(files / "server.key")])
        assert code == 1
        assert "錯誤: [missing-intermediate] 缺少中繼憑證" in text

    def test_password_file_and_json(self, files: Files, tmp_path: pathlib.Path) -> None:
        """--password-file opens the PFX; --json lists the findings with their data."""
        (tmp_path / "pass.txt").write_text(PASSWORD + "\n")
        code, text = _run(["doctor", str(files / "legacy.pfx"), "--password-file",
                           str(tmp_path / "pass.txt"), "--json", "--lang", "zh-TW"])
        data: dict[str, Any] = json.loads(text)
        assert code == 1
        assert data["ok"] is False
        assert [f["code"] for f in data["findings"]] == ["weak-pkcs12"]
        assert "強度不足" in data["findings"][0]["message"]

    def test_unreadable_file_is_a_finding_not_a_usage_error(self, files: Files) -> None:
        """A file that cannot be read is reported (exit 1), not a crash."""
        code, text = _run(["doctor", str(files / "dangling.pem"), "--lang", "en"])
        assert code == 1
        assert "[unreadable]" in text

    @pytest.mark.parametrize("extra", [["--host", "example.test:99999"], ["--expiring", "soon"],
                                       ["--password-file", "/nonexistent/pass.txt"]])
    def test_usage_errors_exit_2(self, files: Files, extra: list[str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
        """A bad port, duration or password file is a usage error (exit 2)."""
        code, _ = _run(["doctor", str(files / "server.crt"), *extra])
        assert code == 2
        assert "certkit: error:" in capsys.readouterr().err

    def test_bad_language_exits_2(self, files: Files) -> None:
        """An unknown --lang is rejected by the parser (exit 2)."""
        with pytest.raises(SystemExit) as raised:
            main(["doctor", str(files / "server.crt"), "--lang", "fr"])
        assert raised.value.code == 2


class TestHelpers:
    """Locale and duration parsing."""

    @pytest.mark.parametrize(("env", "lang"), [
        ({"LANG": "zh_TW.UTF-8"}, "zh-TW"), ({"LC_ALL": "zh_Hant_TW"}, "zh-TW"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_TW.UTF-8"}, "en"), ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "en")])
    def test_default_language(self, env: dict[str, str], lang: str) -> None:
        """Taiwanese and Traditional Chinese locales choose zh-TW; LC_ALL wins over LANG."""
        assert default_language(env) == lang

    def test_durations(self) -> None:
        """Days, hours, weeks and bare numbers of days."""
        assert parse_duration("30d") == dt.timedelta(days=30)
        assert parse_duration("12h") == dt.timedelta(hours=12)
        assert parse_duration("2w") == dt.timedelta(days=14)
        assert parse_duration("7") == dt.timedelta(days=7)


def test_environment_is_not_read_by_diagnose(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    """diagnose's messages carry both languages whatever the locale (only the CLI picks one)."""
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    (finding,) = diagnose(files / "server.crt", files / "server.key")
    assert finding.message.startswith("missing intermediate")
    assert os.environ["LANG"] == "zh_TW.UTF-8"
