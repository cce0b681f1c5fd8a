"""certkit.scan_html and ``certkit scan --html``: one self-contained page, escaped, sortable.

The page is checked three ways: its structure through ``html.parser`` (one row and one
timeline mark per distinct certificate, nothing that could load from the network, a
Content-Security-Policy that names exactly its own style and script), hostile names
that must stay text, and a real render in headless Chromium (a screenshot that is not
blank, and the DOM after the script sorted the table). ``CERTKIT_REGEN_DOCS=1`` also
writes the screenshot the docs show, ``docs/_static/scan-report.png``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html.parser
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator

import attrs
import pytest
from attrs import Factory
from conftest import ROOT, Issued, certkit_cli, issue, make_key, require_tool
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import KeyEntry, KeyStore, ScanReport

#: The scan's moment: fixed, so days left, colours and the docs screenshot never drift.
AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
PASSWORD = "changeit"
SCREENSHOT = ROOT / "docs" / "_static" / "scan-report.png"
WIDTH, HEIGHT = 1280, 900


def _days(n: int) -> dt.datetime:
    return AT + dt.timedelta(days=n)


def _cert(name: str, days: int, *, issuer: Issued | None = None, ca: bool = False,
          sans: bool = True) -> Issued:
    return issue(name, issuer=issuer, ca=ca, key=make_key("EC-P256"),
                 not_before=_days(-400), not_after=_days(days),
                 sans=(name,) if sans and not ca else ())


def _pem(*issued: Issued) -> bytes:
    return b"".join(i.certificate.to_pem() for i in issued)


def _key_pem(issued: Issued) -> bytes:
    return issued.key.key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())


def _write(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@attrs.frozen
class Server:
    """A scanned folder (``srv`` below ``base``) and what the page must show of it."""

    base: pathlib.Path
    report: ScanReport
    page: str
    expired: str
    in_9_days: str
    in_21_days: str
    fine: str


def _scan(base: pathlib.Path, folder: str) -> ScanReport:
    """Scan ``base/folder`` by its relative name, so the page shows short paths."""
    saved = os.getcwd()
    os.chdir(base)
    try:
        return certkit.scan([folder], passwords=PASSWORD, at=AT, trust_system=False,
                            expiring=dt.timedelta(days=30))
    finally:
        os.chdir(saved)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    """A server's certificates: a CA, sites expiring at every urgency, and every problem kind."""
    base = tmp_path_factory.mktemp("report")
    srv = base / "srv"
    root = _cert("Example Root CA", 1826, ca=True)
    issuing = _cert("Example Issuing CA", 1100, issuer=root, ca=True)
    www = _cert("www.example.test", 398, issuer=issuing)
    api = _cert("api.example.test", 21, issuer=issuing)
    mail = _cert("mail.example.test", 9, issuer=issuing)
    old = _cert("legacy.example.test", -20, issuer=issuing)
    partner_ca = _cert("Partner Issuing CA", 900, ca=True)
    partner = _cert("partner.example.test", 150, issuer=partner_ca)
    _write(srv / "ca" / "root.pem", _pem(root))
    _write(srv / "ca" / "issuing.pem", _pem(issuing))
    _write(srv / "nginx" / "www.pem", _pem(www, issuing))
    _write(srv / "nginx" / "www.key", _key_pem(www))
    _write(srv / "nginx" / "api.pem", _pem(api, issuing))
    _write(srv / "nginx" / "api.key", _key_pem(api))
    (srv / "tomcat").mkdir()
    certkit.save(KeyStore([KeyEntry("mail", mail.key, (mail.certificate, issuing.certificate,
                                                       root.certificate))]),
                 srv / "tomcat" / "keystore.p12", password=PASSWORD)
    _write(srv / "old" / "legacy.crt", _pem(old))
    _write(srv / "orphans" / "lost.key", _key_pem(_cert("lost", 100)))
    _write(srv / "partner" / "partner.pem", _pem(partner))
    _write(srv / "partner" / "partner.key", _key_pem(partner))
    _write(srv / "damaged.pem", b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                                b"-----END CERTIFICATE-----\n")
    report = _scan(base, "srv")
    return Server(base, report, certkit.scan_html(report),
                  expired=old.certificate.fingerprint(),
                  in_9_days=mail.certificate.fingerprint(),
                  in_21_days=api.certificate.fingerprint(),
                  fine=www.certificate.fingerprint())


@attrs.define
class Node:
    """One element of the parsed page: tag, attributes, children and text, in order."""

    tag: str
    attrs: dict[str, str]
    content: list[Node | str] = Factory(list)

    @property
    def text(self) -> list[str]:
        """The text directly inside this element (not in its children)."""
        return [c for c in self.content if isinstance(c, str)]

    def walk(self) -> Iterator[Node]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.content:
            if isinstance(child, Node):
                yield from child.walk()

    def all_text(self) -> str:
        """The text of this element and its descendants, in order (what a reader sees)."""
        return "".join(c if isinstance(c, str) else c.all_text() for c in self.content)

    def find(self, tag: str, **wanted: str) -> list[Node]:
        """Descendants with this tag whose attributes hold ``wanted`` (class as one word)."""
        def fits(node: Node) -> bool:
            for keyword, value in wanted.items():
                name = keyword.rstrip("_")
                if name == "class":
                    if value not in node.attrs.get("class", "").split():
                        return False
                elif node.attrs.get(name) != value:
                    return False
            return True
        return [n for n in self.walk() if n.tag == tag and fits(n)]


_VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "wbr", "area", "base"}


class _Tree(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attributes})
        self.stack[-1].content.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        self.stack[-1].content.append(Node(tag, {k: v or "" for k, v in attributes}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(page: str) -> Node:
    """The page as a tree of :class:`Node` (html.parser: no browser involved)."""
    parser = _Tree()
    parser.feed(page)
    parser.close()
    return parser.root


def _rows(document: Node) -> list[Node]:
    (table,) = document.find("table", id="inventory")
    (body,) = table.find("tbody")
    return body.find("tr")


class TestStructure:
    """The page holds each certificate once in the table and in the timeline, and nothing remote."""

    def test_one_row_per_distinct_certificate(self, server: Server) -> None:
        """The inventory table has exactly one row per distinct certificate, by SHA-256."""
        rows = _rows(parse(server.page))
        assert len(rows) == len(server.report.inventory) == 7
        assert {r.attrs["data-sha256"] for r in rows} == {
            i.sha256 for i in server.report.inventory}

    def test_one_timeline_mark_per_certificate(self, server: Server) -> None:
        """The SVG timeline has one mark per certificate, each labelled, and a today line."""
        (svg,) = parse(server.page).find("svg", id="timeline")
        marks = svg.find("g", class_="mark")
        assert sorted(m.attrs["data-sha256"] for m in marks) == sorted(
            i.sha256 for i in server.report.inventory)
        for mark in marks:
            assert mark.find("text", class_="label")[0].all_text()
            assert mark.find("rect") or mark.find("circle")
        assert svg.find("line", class_="today")
        assert "today 2026-12-01" in svg.all_text()

    def test_nothing_is_loaded_from_anywhere(self, server: Server) -> None:
        """No URL, no src or href, no CSS import or url(): the page needs no network."""
        page = server.page.lower()
        for marker in ("://", "@import", "url(", "src=", "href=", "<link", "<iframe"):
            assert marker not in page, marker
        for node in parse(server.page).walk():
            assert not {"src", "href", "srcset", "action", "xlink:href"} & set(node.attrs)

    def test_policy_admits_exactly_the_page_s_own_style_and_script(self, server: Server,
                                                                    ) -> None:
        """The CSP names the SHA-256 of the one inline style and the one script, nothing else."""
        document = parse(server.page)
        (meta,) = document.find("meta", **{"http-equiv": "Content-Security-Policy"})
        policy = dict(part.strip().split(" ", 1)
                      for part in meta.attrs["content"].split(";"))
        (style,) = document.find("style")
        (script,) = document.find("script")

        def digest(node: Node) -> str:
            text = node.all_text().encode()
            return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'"

        assert policy["default-src"] == "'none'"
        assert policy["style-src"] == digest(style)
        assert policy["script-src"] == digest(script)

    def test_rows_are_coloured_by_urgency(self, server: Server) -> None:
        """Expired, under 14 days, under 30 days and fine rows carry their urgency class."""
        classes = {r.attrs["data-sha256"]: r.attrs["class"] for r in _rows(parse(server.page))}
        assert classes[server.expired] == "u-expired"
        assert classes[server.in_9_days] == "u-14"
        assert classes[server.in_21_days] == "u-30"
        assert classes[server.fine] == "u-ok"

    def test_without_script_the_most_urgent_comes_first(self, server: Server) -> None:
        """The rows as written (what a reader without JavaScript sees) run by expiry."""
        rows = _rows(parse(server.page))
        assert rows[0].attrs["data-sha256"] == server.expired
        days = [int(r.find("td", class_="num")[0].attrs["data-sort"]) for r in rows]
        assert days == sorted(days)

    def test_summary_and_problems(self, server: Server) -> None:
        """The summary counts files and problems; each kind of problem is listed with its file."""
        document = parse(server.page)
        (summary,) = document.find("ul", id="summary")
        cards = {"".join(c.text): int(c.find("b")[0].all_text())
                 for c in summary.find("li")}
        report = server.report
        assert cards["files seen"] == report.files_seen == 12
        assert cards["files read"] == report.files_read
        assert cards["certificates"] == 7
        (problems,) = document.find("ul", id="problems")
        lines = [li.all_text() for li in problems.find("li")]
        assert cards["problems"] == len(lines)
        expected = {
            "expired": "srv/old/legacy.crt", "expiring": "srv/tomcat/keystore.p12",
            "no key": "srv/old/legacy.crt", "orphan": "srv/orphans/lost.key",
            "chain": "CN=Partner Issuing CA", "unreadable": "srv/damaged.pem"}
        for kind, detail in expected.items():
            assert any(line.startswith(kind) and detail in line for line in lines), (kind, lines)
        assert "Scanned 2026-12-01 09:00:00 UTC" in document.all_text()

    def test_key_and_chain_columns(self, server: Server) -> None:
        """A leaf shows where its key is; the partner leaf shows its missing intermediate."""
        rows = {r.attrs["data-sha256"]: r for r in _rows(parse(server.page))}
        key_cell = rows[server.fine].find("td")[7]
        assert "srv/nginx/www.key" in key_cell.all_text()
        assert rows[server.expired].find("td")[7].all_text() == "not found"
        partner = next(r for r in rows.values() if "partner.example" in r.all_text())
        assert partner.find("td")[8].all_text() == "missing-intermediate"


HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>',
           "</title></svg><script>alert(3)</script>", "evil\u202egnp.exe")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScanReport, str]:
    """Certificates whose common names, and a file whose name, are markup."""
    folder = tmp_path_factory.mktemp("hostile")
    for index, name in enumerate(HOSTILE):
        _write(folder / f"{index}.pem", _pem(_cert(name, 5 + index, sans=False)))
    _write(folder / '"><img src=x onerror=alert(4)>.pem', _pem(_cert("plain.example", 50)))
    report = certkit.scan([folder], at=AT, trust_system=False)
    return report, certkit.scan_html(report)


class TestHostileNames:
    """What a certificate or a file name says is shown as text, never obeyed as markup."""

    def test_only_the_page_s_own_script_and_no_image(self, hostile: tuple[ScanReport, str],
                                                     ) -> None:
        """Parsed, the page has one script (its own) and no img element."""
        document = parse(hostile[1])
        (script,) = document.find("script")
        assert "alert" not in script.all_text()
        assert not document.find("img")
        assert len(_rows(document)) == len(HOSTILE) + 1

    def test_subjects_are_text_in_the_table_and_the_timeline(
            self, hostile: tuple[ScanReport, str]) -> None:
        """Each hostile subject is the text of its table cell and its timeline label."""
        report, page = hostile
        document = parse(page)
        rows = {r.attrs["data-sha256"]: r for r in _rows(document)}
        marks = {m.attrs["data-sha256"]: m for m in document.find("g", class_="mark")}
        for item in report.inventory:
            assert rows[item.sha256].find("td")[0].all_text() == item.subject.replace(
                "\u202e", "\\u202e")
            label = marks[item.sha256].find("text", class_="label")[0].all_text()
            assert label.replace("…", "") in item.subject.replace("\\", "").replace(
                "\u202e", "\\u202e")
        assert any("<script>alert(1)</script>" in m.all_text() for m in marks.values())

    def test_file_names_are_text(self, hostile: tuple[ScanReport, str]) -> None:
        """A file named like an img tag shows as that name."""
        assert '"><img src=x onerror=alert(4)>.pem' in parse(hostile[1]).all_text()

    def test_bidirectional_override_is_shown_not_obeyed(
            self, hostile: tuple[ScanReport, str]) -> None:
        """A right-to-left override in a name is written as \\u202e, so text cannot lie."""
        assert "\u202e" not in hostile[1]
        assert "evil\\u202egnp.exe" in parse(hostile[1]).all_text()


class TestCommandLine:
    """``certkit scan --html FILE`` writes the page atomically and never over a file unasked."""

    def test_writes_the_page_and_refuses_to_overwrite(self, server: Server) -> None:
        """The page is written; a second run fails before scanning; --force replaces it."""
        target = server.base / "report.html"
        target.unlink(missing_ok=True)
        result = certkit_cli(["scan", "srv", "--password-env", "PW", "--html", "report.html"],
                             cwd=server.base, env={"PW": PASSWORD})
        assert result.returncode == 1, result.stderr  # the folder has problems
        assert "report written to report.html" in result.stdout
        first = target.read_text(encoding="utf-8")
        assert first.startswith("<!DOCTYPE html>")
        assert len(_rows(parse(first))) == len(server.report.inventory)
        target.write_text("keep me", encoding="utf-8")
        again = certkit_cli(["scan", "srv", "--html", "report.html"], cwd=server.base)
        assert again.returncode == 2
        assert "--force" in again.stderr
        assert target.read_text(encoding="utf-8") == "keep me"
        forced = certkit_cli(["scan", "srv", "--password-env", "PW", "--html", "report.html",
                              "--force", "--json"], cwd=server.base, env={"PW": PASSWORD})
        assert forced.returncode == 1, forced.stderr
        assert json.loads(forced.stdout)["files_seen"] == 12
        assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        assert not [p for p in server.base.iterdir() if p.name.endswith(".tmp")]

    def test_library_save_refuses_an_existing_file(self, server: Server,
                                                   tmp_path: pathlib.Path) -> None:
        """save_scan_html raises FileExistsCertkitError rather than replace a file."""
        target = tmp_path / "page.html"
        assert certkit.save_scan_html(server.report, target) == target
        with pytest.raises(certkit.errors.FileExistsCertkitError):
            certkit.save_scan_html(server.report, target)
        certkit.save_scan_html(server.report, target, overwrite=True)
        assert target.read_text(encoding="utf-8") == server.page


# -- a real browser --------------------------------------------------------------------------

def _chromium(tmp_path: pathlib.Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Headless Chromium with everything that could reach the network switched off."""
    chromium = require_tool("chromium")
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(argv, capture_output=True, timeout=60, check=False)


def _png_size_and_rows(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct pixel rows) of an 8-bit RGB or RGBA PNG, without Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, b""
    width = height = channels = 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    raw = zlib.decompress(chunks)
    stride = 1 + width * channels
    assert len(raw) == stride * height
    # Filtered rows differ wherever the pixels do; a blank page is a handful of rows.
    distinct = len({raw[i * stride:(i + 1) * stride] for i in range(height)})
    return width, height, distinct


class TestInBrowser:
    """Chromium renders the page (a real screenshot) and its script sorts the table."""

    def test_screenshot_is_a_real_page(self, server: Server, tmp_path: pathlib.Path) -> None:
        """The screenshot is a PNG of the window's size with a page's worth of detail."""
        page = tmp_path / "report.html"
        page.write_text(server.page, encoding="utf-8")
        shot = tmp_path / "shot.png"
        result = _chromium(tmp_path, f"--screenshot={shot}",
                           f"--window-size={WIDTH},{HEIGHT}", page.as_uri())
        assert shot.exists(), result.stderr.decode(errors="replace")
        width, height, distinct = _png_size_and_rows(shot.read_bytes())
        assert (width, height) == (WIDTH, HEIGHT)
        assert distinct > 150
        if os.environ.get("CERTKIT_REGEN_DOCS") == "1":
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)

    def test_the_docs_screenshot_is_there(self) -> None:
        """docs/_static/scan-report.png exists and is a real screenshot (regenerate: see above)."""
        assert SCREENSHOT.exists(), "run CERTKIT_REGEN_DOCS=1 pytest tests/test_report.py"
        assert _png_size_and_rows(SCREENSHOT.read_bytes())[:2] == (WIDTH, HEIGHT)

    @pytest.mark.parametrize("fragment", ["#sort=-subject", "#sort=days"])
    def test_the_script_sorts_the_rows(self, server: Server, tmp_path: pathlib.Path,
                                       fragment: str) -> None:
        """Opened with #sort=…, the table is sorted by that column and headers are buttons."""
        descending = fragment.startswith("#sort=-")
        key = fragment.removeprefix("#sort=").lstrip("-")
        numeric = key == "days"
        page = tmp_path / "report.html"
        page.write_text(server.page, encoding="utf-8")
        result = _chromium(tmp_path, "--dump-dom", page.as_uri() + fragment)
        dom = parse(result.stdout.decode())
        (table,) = dom.find("table", id="inventory")
        assert table.attrs["data-sorted"] == ("-" if descending else "") + key
        heads = table.find("th")
        assert all(h.find("button") for h in heads)  # the click handlers' buttons
        index = [h.attrs["data-key"] for h in heads].index(key)
        assert heads[index].attrs["aria-sort"] == ("descending" if descending else "ascending")
        cells = [r.find("td")[index] for r in _rows(dom)]
        values: list[str] | list[float] = (
            [float(c.attrs["data-sort"]) for c in cells] if numeric
            else [c.all_text().lower() for c in cells])
        assert values == sorted(values, reverse=descending)
        written = [r.attrs["data-sha256"] for r in _rows(parse(server.page))]
        if descending:  # the page as written runs by expiry: the script really moved rows
            assert [r.attrs["data-sha256"] for r in _rows(dom)] != written
        assert re.search(r'class="[^"]*\bjs\b', result.stdout.decode())


class TestEdges:
    """An empty scan and a certificate that never really expires still make a sound page."""

    def test_an_empty_scan(self, tmp_path: pathlib.Path) -> None:
        """No certificates: the page says so instead of an empty table and timeline."""
        page = certkit.scan_html(certkit.scan([tmp_path], at=AT, trust_system=False))
        document = parse(page)
        assert not document.find("table")
        assert not document.find("svg")
        assert document.all_text().count("No certificates found.") == 2
        assert "no problems found" in document.all_text()

    def test_a_certificate_ending_in_9999(self, tmp_path: pathlib.Path) -> None:
        """RFC 5280's "no well-defined expiration" date fits the axis with a dozen ticks at most."""
        forever = issue("forever.example", key=make_key("EC-P256"), not_before=_days(-1),
                        not_after=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))
        _write(tmp_path / "forever.pem", _pem(forever))
        page = certkit.scan_html(certkit.scan([tmp_path], at=AT, trust_system=False))
        (svg,) = parse(page).find("svg", id="timeline")
        assert len(svg.find("g", class_="mark")) == 1
        assert 1 <= len(svg.find("text", class_="axis")) <= 13
        assert "9999-12-31" in svg.all_text()
