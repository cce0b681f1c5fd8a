"""certkit.scan_metrics: a scan as Prometheus metrics, read by the real promtool and
node_exporter, with values checked against what openssl says about the files."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import re
import stat
import subprocess
import threading
import urllib.request
from typing import Any

import attrs
import pytest
import servers
import yaml
from conftest import (
    PKI,
    ROOT,
    Issued,
    certkit_cli,
    issue,
    make_key,
    openssl,
    require_tool,
    run,
)
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import PrivateKey, ScanReport
from certkit.errors import CertkitError, FileExistsCertkitError

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
RULES = ROOT / "docs" / "prometheus" / "certkit-alerts.yml"
RULE_TESTS = ROOT / "docs" / "prometheus" / "certkit-alerts.test.yml"
#: A commonName with everything the exposition format must escape in a label value.
HOSTILE_CN = 'evil "quoted" \\back\\slash\nsecond line'
#: A file name with the same (a label value too: ``path``).
HOSTILE_FILE = 'odd "name" \\ with\nnewline.pem'
NOT_AFTER = "certkit_certificate_not_after_timestamp_seconds"

Sample = tuple[str, dict[str, str], float]


# -- a parser of the exposition format, independent of certkit's renderer ---------------

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n"}


def _labels(text: str) -> dict[str, str]:
    """``a="x",b="y\\"z"`` as a dict, undoing the format's three escapes."""
    labels: dict[str, str] = {}
    i = 0
    while i < len(text):
        equals = text.index("=", i)
        name = text[i:equals].strip()
        assert text[equals + 1] == '"', text
        j, value = equals + 2, []
        while text[j] != '"':
            if text[j] == "\\":
                value.append(_UNESCAPE[text[j + 1]])
                j += 2
            else:
                value.append(text[j])
                j += 1
        labels[name] = "".join(value)
        i = j + 1
        if i < len(text) and text[i] == ",":
            i += 1
    return labels


def parse(text: str) -> list[Sample]:
    """Every sample line of an exposition text: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        found = _LINE.match(line)
        assert found is not None, line
        samples.append((found[1], _labels(found[2] or ""), float(found[3])))
    return samples


def series(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    """The samples of ``name`` whose labels include ``labels``."""
    return [s for s in samples
            if s[0] == name and all(s[1].get(k) == v for k, v in labels.items())]


# -- what openssl says -----------------------------------------------------------------


def _openssl_time(path: pathlib.Path, which: str) -> float:
    """``openssl x509 -startdate`` / ``-enddate`` as a Unix time."""
    text = openssl("x509", "-in", str(path), "-noout", f"-{which}").stdout.decode()
    value = text.strip().split("=", 1)[1]
    return dt.datetime.strptime(value, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=dt.timezone.utc).timestamp()


def _openssl_sha256(path: pathlib.Path) -> str:
    text = openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha256").stdout
    return text.decode().strip().split("=", 1)[1].replace(":", "").lower()


def _openssl_serial(path: pathlib.Path) -> str:
    text = openssl("x509", "-in", str(path), "-noout", "-serial").stdout.decode()
    return text.strip().split("=", 1)[1].lower().lstrip("0") or "0"


# -- the scanned folder ----------------------------------------------------------------


def _key_pem(issued: Issued) -> bytes:
    return issued.key.key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())


def _fast() -> PrivateKey:
    """An EC key: the certificates here need some key, and RSA takes long to generate."""
    return make_key("EC-P256")


class Site:
    """A folder a server might have: certificate files with and without keys, and traps."""

    def __init__(self, folder: pathlib.Path, pki: PKI) -> None:
        self.folder = folder
        folder.mkdir()
        # nginx style: the chain in one file, the key in another (the leaf has no chain
        # verdict of its own; its issuer is in the file).
        self.fullchain = folder / "fullchain.pem"
        self.fullchain.write_bytes(pki.leaf.certificate.to_pem()
                                   + pki.intermediate.certificate.to_pem())
        (folder / "privkey.pem").write_bytes(_key_pem(pki.leaf))
        self.root = folder / "root.pem"
        self.root.write_bytes(pki.root.certificate.to_pem())
        # A leaf whose issuer is nowhere and whose key is nowhere.
        stray_ca = issue("Stray Issuing CA", ca=True, key=_fast())
        self.stray = folder / "stray.crt"
        stray = issue("stray.example.test", issuer=stray_ca, key=_fast())
        self.stray.write_bytes(stray.certificate.to_pem())
        # Expired last year, self-signed.
        self.expired = folder / "expired.crt"
        self.expired.write_bytes(issue(
            "expired.example.test", key=_fast(), not_before=NOW - dt.timedelta(days=800),
            not_after=NOW - dt.timedelta(days=400)).certificate.to_pem())
        # Everything the exposition format must escape, in a CN and in a file name.
        self.hostile = folder / HOSTILE_FILE
        self.hostile.write_bytes(issue(HOSTILE_CN, key=_fast()).certificate.to_pem())
        # A key with no certificate, and a damaged PFX.
        (folder / "orphan.key").write_bytes(_key_pem(issue("orphan", key=_fast())))
        (folder / "broken.pfx").write_bytes(b"\x30\x82\x01\x00 not really a PFX")

    def scan(self) -> ScanReport:
        """The scan of the folder at ``NOW``, judged without the system trust store."""
        return certkit.scan(self.folder, at=NOW, trust_system=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> Site:
    """The scanned folder, built once for the module."""
    return Site(tmp_path_factory.mktemp("metrics") / "site", pki)


@pytest.fixture(scope="module")
def text(site: Site) -> str:
    """The metrics of the folder's scan, with a known duration."""
    return certkit.scan_metrics(site.scan(), duration=0.25)


def _promtool_check(text: str) -> subprocess.CompletedProcess[bytes]:
    return run([require_tool("promtool"), "check", "metrics"], input=text.encode(),
               check=False)


# -- the tests -------------------------------------------------------------------------


class TestExpositionFormat:
    """The text is what Prometheus tools accept."""

    def test_promtool_accepts_it_without_a_lint_warning(self, text: str) -> None:
        """``promtool check metrics`` passes and has nothing to say."""
        result = _promtool_check(text)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == b""

    def test_promtool_would_reject_an_unescaped_newline(self, text: str) -> None:
        """The check above can fail: the hostile CN's newline written raw is refused."""
        escaped = "second line"
        assert "\\nsecond line" in text
        assert _promtool_check(text.replace("\\n" + escaped, "\n" + escaped)).returncode != 0

    def test_every_family_has_help_and_type_before_its_samples(self, text: str) -> None:
        """Each metric name has one HELP and one TYPE gauge line, then only its samples."""
        names = [s[0] for s in parse(text)]
        families = list(dict.fromkeys(names))
        assert names == sorted(names, key=families.index)  # each family's lines together
        for name in families:
            assert text.count(f"# HELP {name} ") == 1, name
            assert text.count(f"# TYPE {name} gauge\n") == 1, name
            assert text.index(f"# TYPE {name} ") < text.index(f"\n{name}")

    def test_no_two_series_share_a_label_set(self, text: str) -> None:
        """One series per certificate and place: never the same name and labels twice."""
        keys = [(name, tuple(sorted(labels.items()))) for name, labels, _ in parse(text)]
        assert len(keys) == len(set(keys))

    def test_an_empty_scan_is_valid_too(self, tmp_path: pathlib.Path) -> None:
        """A folder with no certificates gives the scan-wide values, and promtool accepts it."""
        text = certkit.scan_metrics(certkit.scan(tmp_path, at=NOW, trust_system=False))
        assert _promtool_check(text).returncode == 0
        assert {name: value for name, _, value in parse(text)} == {
            "certkit_scan_files_seen": 0.0, "certkit_scan_files_unreadable": 0.0,
            "certkit_scan_orphaned_keys": 0.0,
            "certkit_scan_timestamp_seconds": NOW.timestamp()}

    def test_names_follow_the_conventions(self, text: str) -> None:
        """certkit_ prefix, base units, and no _total (nothing is a counter)."""
        for name in {s[0] for s in parse(text)}:
            assert name.startswith("certkit_"), name
            assert not name.endswith("_total"), name
            assert "_days" not in name, name


class TestValuesAgreeWithOpenssl:
    """Dates, fingerprints and serials are the ones openssl reads from the same files."""

    def test_not_after_and_not_before(self, site: Site, text: str) -> None:
        """NotAfter and NotBefore are openssl's -enddate and -startdate, as Unix times."""
        samples = parse(text)
        sha256 = _openssl_sha256(site.fullchain)
        (after,) = series(samples, NOT_AFTER, sha256=sha256, path=str(site.fullchain))
        (before,) = series(samples, "certkit_certificate_not_before_timestamp_seconds",
                           sha256=sha256, path=str(site.fullchain))
        assert after[2] == _openssl_time(site.fullchain, "enddate")
        assert before[2] == _openssl_time(site.fullchain, "startdate")

    def test_labels_name_the_certificate(self, site: Site, text: str) -> None:
        """sha256 and serial are openssl's fingerprint and serial; CNs, role and place are set."""
        (sample,) = series(parse(text), NOT_AFTER, path=str(site.fullchain), role="leaf")
        labels = sample[1]
        assert labels["sha256"] == _openssl_sha256(site.fullchain)
        assert labels["serial_number"] == _openssl_serial(site.fullchain)
        assert labels["subject_cn"] == "localhost"
        assert labels["issuer_cn"] == "certkit Test Intermediate CA"
        assert labels["alias"] == "localhost"

    def test_seconds_left_and_expired(self, site: Site, text: str) -> None:
        """Seconds left count from the scan to openssl's NotAfter; past it, expired is 1."""
        samples = parse(text)
        for path, gone in ((site.fullchain, 0.0), (site.expired, 1.0)):
            sha256 = _openssl_sha256(path)
            (left,) = series(samples, "certkit_certificate_expires_in_seconds", sha256=sha256,
                             path=str(path))
            (expired,) = series(samples, "certkit_certificate_expired", sha256=sha256,
                                path=str(path))
            assert left[2] == _openssl_time(path, "enddate") - NOW.timestamp()
            assert expired[2] == gone
        ends = openssl("x509", "-in", str(site.expired), "-noout", "-checkend", "0",
                       check=False)
        assert ends.returncode == 1  # openssl agrees it has expired

    def test_scan_wide_values(self, text: str) -> None:
        """Files seen, unreadable, orphaned keys, the scan's time and its duration."""
        values = {name: value for name, labels, value in parse(text) if not labels}
        assert values == {
            "certkit_scan_files_seen": 8.0,
            "certkit_scan_files_unreadable": 1.0,
            "certkit_scan_orphaned_keys": 1.0,
            "certkit_scan_timestamp_seconds": NOW.timestamp(),
            "certkit_scan_duration_seconds": 0.25,
        }

    def test_no_duration_no_duration_family(self, site: Site) -> None:
        """Without a measured duration there is no duration metric (not a made-up zero)."""
        assert "certkit_scan_duration_seconds" not in certkit.scan_metrics(site.scan())


class TestKeyAndChain:
    """key_found and chain_ok say what a server operator must fix."""

    def test_key_found(self, site: Site, text: str) -> None:
        """The leaf whose key is in privkey.pem has it; the stray leaf and the CAs do not."""
        samples = parse(text)
        assert [s[2] for s in series(samples, "certkit_certificate_key_found",
                                     path=str(site.fullchain), role="leaf")] == [1.0]
        assert [s[2] for s in series(samples, "certkit_certificate_key_found",
                                     path=str(site.stray))] == [0.0]
        assert [s[2] for s in series(samples, "certkit_certificate_key_found",
                                     path=str(site.root))] == [0.0]

    def test_chain_ok(self, site: Site, text: str) -> None:
        """A leaf whose issuer is at hand is 1, one whose issuer is nowhere 0, a CA 1."""
        samples = parse(text)
        ok = "certkit_certificate_chain_ok"
        assert [s[2] for s in series(samples, ok, path=str(site.fullchain), role="leaf")] == [1.0]
        assert [s[2] for s in series(samples, ok, path=str(site.stray))] == [0.0]
        assert [s[2] for s in series(samples, ok, path=str(site.root))] == [1.0]

    def test_a_key_entry_is_judged_by_its_own_chain(self, tmp_path: pathlib.Path,
                                                    pki: PKI) -> None:
        """A PEM file with its key is judged by the scan's verdict on that file's chain: a
        leaf without its intermediate is 0 although the intermediate is in another file, a
        private root is 0 (not trusted), and only a trusted verdict is 1."""
        full = tmp_path / "full.pem"
        full.write_bytes(b"".join(c.to_pem() for c in pki.chain) + _key_pem(pki.leaf))
        short = tmp_path / "short.pem"
        short.write_bytes(pki.leaf.certificate.to_pem() + _key_pem(pki.leaf))
        report = certkit.scan(tmp_path, at=NOW, trust_system=False)
        codes = {c.path: c.code for c in report.chains}
        assert codes == {str(full): "untrusted-root", str(short): "missing-intermediate"}
        sha256 = pki.leaf.certificate.fingerprint()

        def chain_ok(report: ScanReport, path: pathlib.Path) -> float:
            (sample,) = series(parse(certkit.scan_metrics(report)),
                               "certkit_certificate_chain_ok", sha256=sha256, path=str(path))
            return sample[2]

        assert chain_ok(report, short) == 0.0
        assert chain_ok(report, full) == 0.0
        # The same scan had the root been in the trust store (what chain_verdict then says).
        assert certkit.chain_verdict(pki.chain, trust=certkit.CertificatePool(
            [pki.root.certificate])).code == "trusted"
        trusted = attrs.evolve(report, chains=tuple(
            attrs.evolve(c, code="trusted") if c.path == str(full) else c
            for c in report.chains))
        assert chain_ok(trusted, full) == 1.0
        assert chain_ok(trusted, short) == 0.0


class TestEscaping:
    """Quotes, backslashes and newlines in names and paths survive the round trip."""

    def test_hostile_cn_and_path_parse_back(self, site: Site, text: str) -> None:
        """The label values read back are the CN and file name as they are."""
        (sample,) = series(parse(text), NOT_AFTER, subject_cn=HOSTILE_CN)
        assert sample[1]["path"] == str(site.hostile)
        assert sample[1]["issuer_cn"] == HOSTILE_CN  # self-signed
        assert _promtool_check(text).returncode == 0

    def test_a_name_without_cn_gives_an_empty_label(self, site: Site) -> None:
        """No commonName, or a name certkit could not render: the CN labels are empty."""
        report = site.scan()
        item = report.inventory[0]
        odd = attrs.evolve(report, inventory=(attrs.evolve(
            item, subject="O=No Common Name,C=TW", issuer="<unrenderable name>"),))
        (sample, *_) = series(parse(certkit.scan_metrics(odd)), NOT_AFTER)
        assert (sample[1]["subject_cn"], sample[1]["issuer_cn"]) == ("", "")

    def test_undecodable_file_names_still_make_valid_text(self, tmp_path: pathlib.Path,
                                                          pki: PKI) -> None:
        """A file name that is not UTF-8 is written escaped; promtool accepts the text."""
        folder = tmp_path / "bytes"
        folder.mkdir()
        (folder / os.fsdecode(b"caf\xe9.pem")).write_bytes(pki.root.certificate.to_pem())
        text = certkit.scan_metrics(certkit.scan(folder, at=NOW, trust_system=False))
        result = _promtool_check(text)
        assert result.returncode == 0, result.stdout + result.stderr
        (sample,) = series(parse(text), NOT_AFTER)
        assert sample[1]["path"].endswith("caf\\udce9.pem")


class TestSaving:
    """save_scan_metrics writes the file the textfile collector reads, atomically."""

    def test_mode_0644_whatever_the_umask(self, tmp_path: pathlib.Path, site: Site) -> None:
        """node_exporter's user can read it even under umask 077; no temporary file stays."""
        old = os.umask(0o077)
        try:
            path = certkit.save_scan_metrics(site.scan(), tmp_path / "certkit.prom")
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert sorted(p.name for p in tmp_path.iterdir()) == ["certkit.prom"]
        assert path.read_text(encoding="utf-8") == certkit.scan_metrics(site.scan())

    def test_an_existing_file_is_replaced_only_when_asked(self, tmp_path: pathlib.Path,
                                                          site: Site) -> None:
        """Without overwrite the old file stays (FileExistsError); with it, it is replaced."""
        path = tmp_path / "certkit.prom"
        path.write_text("old\n")
        with pytest.raises(FileExistsCertkitError):
            certkit.save_scan_metrics(site.scan(), path)
        assert path.read_text() == "old\n"
        certkit.save_scan_metrics(site.scan(), path, overwrite=True)
        assert path.read_text().startswith("# HELP ")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["certkit.prom"]

    def test_a_failed_write_leaves_the_old_file_whole(self, tmp_path: pathlib.Path,
                                                      site: Site,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """A disk that fails while the new file is synced leaves the old one and no temp."""
        path = tmp_path / "certkit.prom"
        path.write_text("old\n")

        def full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(CertkitError, match="No space left"):
            certkit.save_scan_metrics(site.scan(), path, overwrite=True)
        assert path.read_text() == "old\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["certkit.prom"]

    def test_a_reader_never_sees_half_a_file(self, tmp_path: pathlib.Path, site: Site) -> None:
        """While the file is rewritten again and again, every read is one whole version."""
        report = site.scan()
        versions = {certkit.scan_metrics(report, duration=d) for d in (1.0, 2.0)}
        path = tmp_path / "certkit.prom"
        certkit.save_scan_metrics(report, path, duration=1.0)
        seen: list[str] = []
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                seen.append(path.read_text(encoding="utf-8"))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for index in range(40):
                certkit.save_scan_metrics(report, path, duration=float(1 + index % 2),
                                          overwrite=True)
        finally:
            done.set()
            reader.join()
        assert seen
        assert set(seen) <= versions


class TestNodeExporter:
    """The real node_exporter serves what certkit wrote."""

    def test_a_scrape_has_the_certificate(self, tmp_path: pathlib.Path, site: Site) -> None:
        """Scraping node_exporter finds the leaf's NotAfter under openssl's fingerprint,
        the hostile CN intact, and no textfile error."""
        textfiles = tmp_path / "textfile"
        textfiles.mkdir()
        certkit.save_scan_metrics(site.scan(), textfiles / "certkit.prom", duration=0.5)
        with servers.node_exporter(tmp_path / "node", textfiles) as server:
            url = f"http://{servers.HOST}:{server.port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:
                scraped = parse(response.read().decode("utf-8"))
        sha256 = _openssl_sha256(site.fullchain)
        (sample,) = series(scraped, NOT_AFTER, sha256=sha256, path=str(site.fullchain))
        assert sample[2] == _openssl_time(site.fullchain, "enddate")
        (hostile,) = series(scraped, NOT_AFTER, subject_cn=HOSTILE_CN)
        assert hostile[1]["path"] == str(site.hostile)
        assert [s[2] for s in series(scraped, "node_textfile_scrape_error")] == [0.0]
        assert [s[2] for s in series(scraped, "certkit_scan_duration_seconds")] == [0.5]


class TestCommandLine:
    """``certkit scan … --format prometheus`` and ``--out FILE.prom``."""

    def test_out_writes_the_metrics_file(self, tmp_path: pathlib.Path, site: Site) -> None:
        """--out FILE.prom writes metrics promtool accepts, 0644; a second run needs --force."""
        argv = ["scan", str(site.folder), "--out", "certkit.prom"]
        first = certkit_cli(argv, cwd=tmp_path)
        assert first.returncode == 1, first.stderr  # the folder has problems: exit 1
        assert first.stdout == ""
        written = (tmp_path / "certkit.prom").read_text(encoding="utf-8")
        assert _promtool_check(written).returncode == 0
        assert series(parse(written), NOT_AFTER, sha256=_openssl_sha256(site.fullchain))
        assert stat.S_IMODE((tmp_path / "certkit.prom").stat().st_mode) == 0o644
        again = certkit_cli(argv, cwd=tmp_path)
        assert again.returncode == 2
        assert "--force" in again.stderr
        assert certkit_cli([*argv, "--force"], cwd=tmp_path).returncode == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["certkit.prom"]

    def test_format_prometheus_prints_the_metrics(self, tmp_path: pathlib.Path,
                                                  site: Site) -> None:
        """--format prometheus writes the metrics to stdout, scan duration included."""
        result = certkit_cli(["scan", str(site.folder), "--format", "prometheus"],
                             cwd=tmp_path)
        assert result.returncode == 1
        samples = parse(result.stdout)
        assert series(samples, NOT_AFTER, sha256=_openssl_sha256(site.fullchain))
        (duration,) = series(samples, "certkit_scan_duration_seconds")
        assert 0 < duration[2] < 60

    @pytest.mark.parametrize("argv", [["--format", "prometheus", "--json"],
                                      ["--out", "report.txt"],
                                      ["--format", "text", "--out", "x.prom"]])
    def test_contradictions_are_usage_errors(self, tmp_path: pathlib.Path, site: Site,
                                             argv: list[str]) -> None:
        """Two outputs at once, or --out for a text report, are refused before scanning."""
        result = certkit_cli(["scan", str(site.folder), *argv], cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("certkit: error: ")
        assert list(tmp_path.iterdir()) == []


class TestAlertRules:
    """docs/prometheus/certkit-alerts.yml is valid and fires on certkit's own series."""

    def test_promtool_checks_the_rules(self) -> None:
        """``promtool check rules`` accepts the committed file."""
        result = run([require_tool("promtool"), "check", "rules", RULES], check=False)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_committed_unit_tests_pass(self) -> None:
        """``promtool test rules`` on the committed tests: each alert fires when it should."""
        result = run([require_tool("promtool"), "test", "rules", RULE_TESTS], check=False)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_rules_fire_on_a_real_scan(self, tmp_path: pathlib.Path, pki: PKI) -> None:
        """Series from certkit's own output (times moved so the scan ran at 0, promtool's
        start): the expiring leaf and the leaf without a key alert, nothing else does."""
        folder = tmp_path / "fleet"
        folder.mkdir()
        soon = issue("soon.example.test", issuer=pki.intermediate, key=_fast(),
                     not_after=NOW + dt.timedelta(days=5))
        (folder / "soon.crt").write_bytes(soon.certificate.to_pem())
        (folder / "soon.key").write_bytes(_key_pem(soon))
        (folder / "chain.pem").write_bytes(pki.intermediate.certificate.to_pem()
                                           + pki.root.certificate.to_pem())
        (folder / "keyless.crt").write_bytes(pki.leaf.certificate.to_pem())
        text = certkit.scan_metrics(certkit.scan(folder, at=NOW, trust_system=False))
        input_series = []
        for line in text.splitlines():
            name = line.split("{", 1)[0]
            if name in (NOT_AFTER, "certkit_certificate_key_found",
                        "certkit_certificate_chain_ok"):
                selector, value = line.rsplit(" ", 1)
                shifted = float(value) - NOW.timestamp() if name == NOT_AFTER else float(value)
                input_series.append({"series": selector, "values": f"{shifted:.0f}x120"})
        samples = parse(text)
        expect = {"CertkitCertificateExpiresSoon": series(samples, NOT_AFTER,
                                                          subject_cn="soon.example.test"),
                  "CertkitCertificateUnusable": series(samples, "certkit_certificate_key_found",
                                                       subject_cn="localhost")}
        assert all(len(found) == 1 for found in expect.values())
        annotations = {r["alert"]: r["annotations"]
                       for group in yaml.safe_load(RULES.read_text())["groups"]
                       for r in group["rules"]}
        tests: dict[str, Any] = {
            "rule_files": [str(RULES)], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": input_series, "alert_rule_test": [
                {"eval_time": "1h", "alertname": alert, "exp_alerts": [
                    {"exp_labels": {**labels, "severity": "warning"},
                     "exp_annotations": {key: _render(template, labels)
                                         for key, template in annotations[alert].items()}}
                    for _, labels, _ in found]}
                for alert, found in expect.items()]}]}
        (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
        result = run([require_tool("promtool"), "test", "rules", tmp_path / "tests.yml"],
                     check=False)
        assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def _render(template: str, labels: dict[str, str]) -> str:
    """An annotation as Prometheus renders it, for templates that use only ``$labels``."""
    assert "{{" not in re.sub(r"\{\{ \$labels\.\w+ \}\}", "", template), template
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m[1], ""), template)


class TestHowTo:
    """The systemd units docs/howto-prometheus.md shows are valid and run a real command."""

    PAGE = ROOT / "docs" / "howto-prometheus.md"

    def _units(self) -> dict[str, str]:
        text = self.PAGE.read_text(encoding="utf-8")
        units = dict(re.findall(r"`/etc/systemd/system/([\w.-]+)`:\n\n```ini\n(.*?)```",
                                text, re.DOTALL))
        assert sorted(units) == ["certkit-scan.service", "certkit-scan.timer"]
        return units

    def test_systemd_accepts_the_units(self, tmp_path: pathlib.Path) -> None:
        """``systemd-analyze verify`` finds no unknown key or bad value in either unit."""
        tool = require_tool("systemd-analyze")
        for name, body in self._units().items():
            # The console script is not installed here: any executable stands in for it.
            (tmp_path / name).write_text(body.replace("/usr/local/bin/certkit", "/bin/true"))
        result = run([tool, "verify", "--man=no", tmp_path / "certkit-scan.service",
                      tmp_path / "certkit-scan.timer"], check=False)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stderr.strip() == b""

    def test_the_service_runs_a_valid_certkit_command(self) -> None:
        """ExecStart parses with certkit's own parser: a .prom file, replaced each time."""
        from certkit.cli import build_parser

        (command,) = re.findall(r"^ExecStart=/usr/local/bin/certkit (.*)$",
                                self._units()["certkit-scan.service"], re.MULTILINE)
        args = build_parser().parse_args(command.split())
        assert args.out.endswith(".prom")
        assert args.force
        assert args.out.startswith("/var/lib/prometheus/node-exporter/")
        assert "ReadWritePaths=/var/lib/prometheus/node-exporter" in (
            self._units()["certkit-scan.service"])
