"""A scan as one self-contained HTML page: summary, problems, expiry timeline, inventory.

:func:`scan_html` turns a :class:`~certkit.ScanReport` into a page a browser opens from
disk with no network at all: the styles and the small sorting script are inline, the
timeline is inline SVG, and a ``Content-Security-Policy`` that admits only that style
and that script (by their SHA-256) stops anything else from loading or running.

Everything the scan read — subjects, issuers, aliases, file names — is written as
text, escaped, never as markup: a certificate whose common name is
``<script>…</script>`` shows those characters. The script carries no data; it sorts
the table's rows in the page (click a column header, or open the page with
``#sort=days``, ``#sort=-subject``…), so with scripts off the page still reads whole,
most urgent certificate first.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import os
import pathlib
import re
from collections.abc import Iterable

import attrs

from certkit._ops.api import PUBLIC_MODE, _write_atomic, _write_error
from certkit._ops.scan import (
    InventoryItem,
    Place,
    ScannedCertificate,
    ScannedChain,
    ScanReport,
    chains_by_place,
)

__all__ = ["save_scan_html", "scan_html"]

#: Characters that would make text lie about itself (bidirectional overrides, zero-width
#: and control characters): shown as ``\\uXXXX`` rather than obeyed.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
                        "\u2066-\u2069\ufeff]")

_STYLE = """
:root{color-scheme:light;--expired:#c62828;--d14:#e65100;--d30:#f9a825;--ok:#2e7d32}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;
color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0;list-style:none}
.cards li{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.cards b{display:block;font-size:20px}
.verdict{display:inline-block;border-radius:4px;padding:2px 10px;color:#fff;font-weight:600}
.verdict.bad{background:var(--expired)}.verdict.good{background:var(--ok)}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
i.u-expired{background:var(--expired)}i.u-14{background:var(--d14)}
i.u-30{background:var(--d30)}i.u-ok{background:var(--ok)}
ul.problems{padding-left:20px}ul.problems li{margin:3px 0}
.kind{font-weight:600;margin-right:6px}
.where{color:#555;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
tr.u-expired td{background:#fde0e0}tr.u-14 td{background:#ffe9d6}
tr.u-30 td{background:#fff6cc}tr.u-ok td{background:#fff}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td ul{margin:0;padding-left:16px}
summary{cursor:pointer;color:#555;font-size:12px;margin-left:16px}
code{font-size:12px;word-break:break-all}
.muted{color:#777}.bad-text{color:var(--expired);font-weight:600}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;
color:inherit;text-align:left}
th[aria-sort=ascending] button::after{content:" \\25b2"}
th[aria-sort=descending] button::after{content:" \\25bc"}
.js-only{display:none}.js .js-only{display:inline}
svg.timeline{max-width:100%;height:auto;font-size:12px}
svg .grid{stroke:#e6e6e6}svg .axis{fill:#666}svg .today{stroke:var(--expired);
stroke-dasharray:4 3}svg .today-label{fill:var(--expired);font-weight:600}
svg .label{fill:#222}svg .date{fill:#555}
svg .u-expired{fill:var(--expired)}svg .u-14{fill:var(--d14)}svg .u-30{fill:var(--d30)}
svg .u-ok{fill:var(--ok)}
footer{margin-top:28px;color:#777;font-size:12px}
"""

# Sorts the rows already in the page: the script carries no data of the scan.
_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("inventory");
  document.documentElement.className += " js";
  if (!table) { return; }
  var heads = table.tHead.rows[0].cells;
  var body = table.tBodies[0];
  function value(row, index, numeric) {
    var cell = row.cells[index];
    var text = cell.getAttribute("data-sort");
    if (text === null) { text = cell.textContent; }
    return numeric ? parseFloat(text) : text.toLowerCase();
  }
  function sort(key, descending) {
    var index = -1, numeric = false, i;
    for (i = 0; i < heads.length; i++) {
      if (heads[i].getAttribute("data-key") === key) {
        index = i;
        numeric = heads[i].getAttribute("data-type") === "num";
      }
      heads[i].removeAttribute("aria-sort");
    }
    if (index < 0) { return; }
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, n) { row.setAttribute("data-order", n); });
    rows.sort(function (a, b) {
      var x = value(a, index, numeric), y = value(b, index, numeric);
      var r = x < y ? -1 : (x > y ? 1 : 0);
      if (descending) { r = -r; }
      return r || (a.getAttribute("data-order") - b.getAttribute("data-order"));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted", (descending ? "-" : "") + key);
  }
  Array.prototype.forEach.call(heads, function (head) {
    var key = head.getAttribute("data-key");
    if (!key) { return; }
    var button = document.createElement("button");
    button.type = "button";
    while (head.firstChild) { button.appendChild(head.firstChild); }
    head.appendChild(button);
    button.addEventListener("click", function () {
      var descending = table.getAttribute("data-sorted") === key;
      sort(key, descending);
      try {
        history.replaceState(null, "", "#sort=" + (descending ? "-" : "") + key);
      } catch (ignored) { /* a browser that refuses it for file: pages */ }
    });
  });
  var asked = /^#sort=(-?)([a-z-]+)$/.exec(location.hash);
  if (asked) { sort(asked[2], asked[1] === "-"); }
}());
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


#: Only the page's own style and script, by hash; nothing is fetched, framed or posted.
_CSP = (f"default-src 'none'; style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'")


def _text(value: object) -> str:
    """``value`` as escaped HTML text or attribute value (quotes included)."""
    shown = _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    # File names that are not UTF-8 arrive as lone surrogates: show their bytes instead.
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(shown, quote=True)


def _urgency(days_left: int) -> str:
    if days_left < 0:
        return "u-expired"
    if days_left < 14:
        return "u-14"
    if days_left < 30:
        return "u-30"
    return "u-ok"


def _day(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d")


def _place(place: Place) -> str:
    alias = f' <span class="muted">[{_text(place.alias)}]</span>' if place.alias else ""
    return f"<code>{_text(place.path)}</code>{alias}"


def _places(places: Iterable[Place], shown: int = 3) -> str:
    """A list of places; past ``shown``, the rest folds away (``<details>``, no script)."""
    items = [f"<li>{_place(p)}</li>" for p in places]
    if len(items) <= shown + 1:
        return "<ul>" + "".join(items) + "</ul>"
    return ("<ul>" + "".join(items[:shown]) + "</ul><details><summary>"
            f"{len(items) - shown} more</summary><ul>" + "".join(items[shown:])
            + "</ul></details>")


def _short(subject: str, limit: int = 44) -> str:
    """The (first) common name of an RFC 4514 subject, else the subject, shortened."""
    found = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)+)", subject)
    name = re.sub(r"\\(.)", r"\1", found.group(1)) if found else subject
    return name if len(name) <= limit else name[:limit - 1] + "…"


@attrs.frozen
class _Problem:
    kind: str
    text: str
    places: tuple[Place, ...]


def _by_certificate(records: Iterable[ScannedCertificate],
                    ) -> list[tuple[ScannedCertificate, tuple[Place, ...]]]:
    """Each distinct certificate once (soonest expiry first) with every place it was found."""
    first: dict[str, ScannedCertificate] = {}
    places: dict[str, list[Place]] = {}
    for cert in records:
        first.setdefault(cert.sha256, cert)
        found = places.setdefault(cert.sha256, [])
        if Place(cert.path, cert.alias) not in found:
            found.append(Place(cert.path, cert.alias))
    return [(cert, tuple(places[sha256]))
            for sha256, cert in sorted(first.items(), key=lambda r: (r[1].not_after, r[0]))]


def _problems(report: ScanReport) -> list[_Problem]:
    """What needs attention, each distinct certificate once, in the order the CLI prints."""
    found: list[_Problem] = []
    for cert, places in _by_certificate(report.expired):
        found.append(_Problem("expired", f"expired on {_day(cert.not_after)}: {cert.subject}",
                              places))
    for cert, places in _by_certificate(report.expiring):
        days = (cert.not_after - report.at) // _dt.timedelta(days=1)
        found.append(_Problem("expiring", f"expires on {_day(cert.not_after)} ({days} days "
                                          f"left): {cert.subject}", places))
    for cert, places in _by_certificate(report.without_key):
        found.append(_Problem("no key", f"no private key anywhere in the scan for "
                                        f"{cert.subject}", places))
    found.extend(_Problem("orphan", f"{k.algorithm} key without a certificate",
                          (Place(k.path, k.alias),)) for k in report.orphaned_keys)
    for cert, places in _by_certificate(c for c, _ in report.incomplete):
        found.append(_Problem(
            "chain", f"missing intermediate: {cert.issuer} (the issuer of {cert.subject}) is "
                     "neither among the files scanned nor in the trust store", places))
    found.extend(_Problem("chain", c.message, (Place(c.path, c.alias),))
                 for c in report.chains if c.fault)
    found.extend(_Problem("unreadable", f"{i.reason}: {i.detail}", (Place(i.path),))
                 for i in report.unreadable)
    return found


def _summary(report: ScanReport, problems: int) -> str:
    verdict = ('<span class="verdict bad">problems found</span>' if report.has_problems
               else '<span class="verdict good">no problems found</span>')
    cards = [("files seen", report.files_seen), ("files read", report.files_read),
             ("certificates", len(report.inventory)), ("places", len(report.certificates)),
             ("keys", len(report.keys)), ("problems", problems)]
    scanned = report.at.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f'<p class="meta">Scanned {_text(scanned)} &middot; {verdict}</p>\n'
        '<ul class="cards" id="summary">'
        + "".join(f'<li><b>{value}</b>{_text(label)}</li>' for label, value in cards)
        + "</ul>\n")


def _problem_list(problems: list[_Problem], report: ScanReport) -> str:
    parts = ['<h2 id="problems-title">Problems</h2>\n']
    if not problems:
        parts.append('<p id="problems">Nothing needs attention.</p>\n')
    else:
        parts.append('<ul class="problems" id="problems">\n')
        for problem in problems:
            where = ", ".join(_place(p) for p in problem.places)
            parts.append(f'<li><span class="kind">{_text(problem.kind)}</span>'
                         f'{_text(problem.text)} <span class="where">{where}</span></li>\n')
        parts.append("</ul>\n")
    if report.skipped:
        parts.append('<p class="muted">Not opened (not regular files): '
                     + ", ".join(_place(Place(i.path)) for i in report.skipped) + "</p>\n")
    return "".join(parts)


def _chain_cell(item: InventoryItem, chains: dict[tuple[str, str | None, str], ScannedChain],
                missing: dict[str, str]) -> str:
    verdicts: dict[str, str] = {}
    bad: set[str] = set()
    for place in item.places:
        chain = chains.get((place.path, place.alias, item.subject))
        if chain is not None:
            verdicts.setdefault(chain.code, chain.message)
            if chain.problem:
                bad.add(chain.code)
    if not verdicts and item.sha256 in missing:
        verdicts["missing-intermediate"] = (f"missing intermediate: {missing[item.sha256]} is "
                                            "neither scanned nor in the trust store")
        bad.add("missing-intermediate")
    if not verdicts:
        words = "issuer found" if item.role == "leaf" else "—"
        return f'<td data-sort="{_text(words)}" class="muted">{_text(words)}</td>'
    shown = ", ".join(
        f'<span title="{_text(message)}" class="{"bad-text" if code in bad else ""}">'
        f"{_text(code)}</span>" for code, message in verdicts.items())
    return f'<td data-sort="{_text(",".join(verdicts))}">{shown}</td>'


def _key_cell(item: InventoryItem) -> str:
    if item.keys:
        return (f'<td data-sort="yes">yes ({_text(item.key_algorithm or "?")})'
                f"{_places(item.keys)}</td>")
    if item.role == "leaf":
        return '<td data-sort="no" class="bad-text">not found</td>'
    return '<td data-sort="-" class="muted">not expected</td>'


#: The inventory's columns: (sort key, heading, numeric).
_COLUMNS = (("subject", "Subject", False), ("issuer", "Issuer", False), ("role", "Role", False),
            ("serial", "Serial", False), ("not-after", "Not after", False),
            ("days", "Days left", True), ("places", "Found in", False), ("key", "Key", False),
            ("chain", "Chain", False))


def _inventory(items: list[InventoryItem], report: ScanReport) -> str:
    parts = ['<h2>Inventory <span class="muted js-only">(click a column to sort)</span></h2>\n']
    if not items:
        return parts[0] + "<p>No certificates found.</p>\n"
    missing = {c.sha256: issuer for c, issuer in report.incomplete}
    chains = chains_by_place(report)
    heads = "".join(
        f'<th scope="col" data-key="{key}"{" data-type=num" if numeric else ""}>{title}</th>'
        for key, title, numeric in _COLUMNS)
    parts.append(f'<table id="inventory" data-sorted="not-after">\n<thead><tr>{heads}</tr>'
                 "</thead>\n<tbody>\n")
    for item in items:
        urgency = _urgency(item.days_left)
        days = (f"{item.days_left}" if item.days_left >= 0
                else f"expired {-item.days_left} days ago")
        first = item.places[0].path if item.places else ""
        parts.append(
            f'<tr class="{urgency}" data-sha256="{_text(item.sha256)}">'
            f"<td>{_text(item.subject)}</td><td>{_text(item.issuer)}</td>"
            f"<td>{_text(item.role)}</td><td><code>{_text(item.serial_number)}</code></td>"
            f'<td data-sort="{_text(item.not_after.isoformat())}">{_day(item.not_after)}</td>'
            f'<td class="num" data-sort="{item.days_left}">{_text(days)}</td>'
            f'<td data-sort="{_text(first)}">{_places(item.places)}</td>'
            f"{_key_cell(item)}{_chain_cell(item, chains, missing)}</tr>\n")
    parts.append("</tbody>\n</table>\n")
    return "".join(parts)


_WIDTH, _LABELS, _RIGHT, _ROW, _TOP = 1200, 330, 90, 24, 40


#: Tick spacings in months: a few months, then 1-2-5 steps of years.
_STEPS = (1, 2, 3, 6, *(12 * y for y in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)))


def _ticks(start: _dt.datetime, end: _dt.datetime) -> list[tuple[_dt.datetime, str]]:
    """Dates for the axis: weeks for a short span, else months or years (a dozen at most)."""
    span = (end - start).days
    if span <= 70:
        first = start.replace(hour=0, minute=0, second=0, microsecond=0)
        return [(first + _dt.timedelta(days=7 * n), _day(first + _dt.timedelta(days=7 * n)))
                for n in range(1, span // 7 + 1)]
    step = next((s for s in _STEPS if span / 30.4 / s <= 12), _STEPS[-1])
    # Months counted from year 0, so ticks fall on round months and round years.
    index = (start.year * 12 + start.month - 1) // step * step + step
    ticks = []
    while index // 12 <= min(end.year, 9999):
        year, month = divmod(index, 12)
        moment = _dt.datetime(year, month + 1, 1, tzinfo=_dt.timezone.utc)
        if moment > end:
            break
        ticks.append((moment, f"{year}" if step >= 12 else f"{year}-{month + 1:02d}"))
        index += step
    return ticks


def _timeline(items: list[InventoryItem], now: _dt.datetime) -> str:
    """Each certificate a bar from today to its expiry (a dot when already expired)."""
    parts = ['<h2>Expiry timeline</h2>\n']
    if not items:
        return parts[0] + "<p>No certificates found.</p>\n"
    start = min(now, *(i.not_after for i in items))
    end = max(now + _dt.timedelta(days=30), *(i.not_after for i in items))
    start -= (end - start) / 50  # room for a dot at the earliest expiry
    left, right = _LABELS, _WIDTH - _RIGHT
    height = _TOP + _ROW * len(items) + 10

    def x(moment: _dt.datetime) -> float:
        return round(left + (moment - start) / (end - start) * (right - left), 1)

    parts.append(f'<svg class="timeline" id="timeline" width="{_WIDTH}" height="{height}" '
                 f'viewBox="0 0 {_WIDTH} {height}" role="img" '
                 'aria-label="expiry of each certificate, from today to the last expiry">\n')
    for moment, label in _ticks(start, end):
        at = x(moment)
        parts.append(f'<line class="grid" x1="{at}" y1="{_TOP - 8}" x2="{at}" y2="{height}"/>'
                     f'<text class="axis" x="{at}" y="{_TOP - 14}" text-anchor="middle">'
                     f"{_text(label)}</text>\n")
    today = x(now)
    for row, item in enumerate(items):
        middle = _TOP + row * _ROW + _ROW // 2
        urgency = _urgency(item.days_left)
        end_x = x(item.not_after)
        if item.days_left < 0:
            shape = f'<circle class="{urgency}" cx="{end_x}" cy="{middle}" r="6"/>'
        else:
            shape = (f'<rect class="{urgency}" x="{today}" y="{middle - 7}" '
                     f'width="{max(end_x - today, 2.0):.1f}" height="14" rx="3"/>')
        parts.append(
            f'<g class="mark" data-sha256="{_text(item.sha256)}">'
            f"<title>{_text(item.subject)}: {_day(item.not_after)}</title>"
            f'<text class="label" x="{left - 10}" y="{middle + 4}" text-anchor="end">'
            f"{_text(_short(item.subject))}</text>{shape}"
            f'<text class="date" x="{end_x + 9}" y="{middle + 4}">{_day(item.not_after)}</text>'
            "</g>\n")
    parts.append(f'<line class="today" x1="{today}" y1="{_TOP - 8}" x2="{today}" '
                 f'y2="{height}"/><text class="today-label" x="{today + 4}" y="{_TOP - 26}">'
                 f"today {_day(now)}</text>\n</svg>\n")
    return "".join(parts)


def scan_html(report: ScanReport, *, title: str = "certkit scan") -> str:
    """The page for ``report``: one self-contained HTML document (no network, no files).

    It holds a summary (files seen and read, distinct certificates, keys, problems, the
    scan's time), the problems, an expiry timeline (inline SVG, a "today" line) and the
    inventory: each distinct certificate once, coloured by urgency (expired, under 14
    days, under 30, fine) and sortable by clicking a column header. Every string from
    the scan is escaped; a strict Content-Security-Policy allows only the page's own
    inline style and script.
    """
    items = sorted(report.inventory, key=lambda i: (i.not_after, i.subject))
    problems = _problems(report)
    legend = ('<p class="legend"><span><i class="u-expired"></i>expired</span>'
              '<span><i class="u-14"></i>under 14 days</span>'
              '<span><i class="u-30"></i>under 30 days</span>'
              '<span><i class="u-ok"></i>30 days or more</span></p>\n')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_text(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_text(title)}</h1>\n"
        + _summary(report, len(problems)) + legend
        + _problem_list(problems, report)
        + _timeline(items, report.at)
        + _inventory(items, report)
        + "<footer>Written by certkit. Days left count whole days from the scan's time."
          "</footer>\n"
        f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def save_scan_html(report: ScanReport, path: str | os.PathLike[str], *,
                   overwrite: bool = False, title: str = "certkit scan") -> pathlib.Path:
    """Write :func:`scan_html`'s page to ``path`` atomically (UTF-8) and return the path.

    An existing file is left untouched unless ``overwrite=True``
    (:class:`~certkit.errors.FileExistsCertkitError`).
    """
    target = pathlib.Path(path)
    data = scan_html(report, title=title).encode("utf-8")
    try:
        _write_atomic(target, data, mode=PUBLIC_MODE, overwrite=overwrite)
    except OSError as err:
        raise _write_error(target, err) from err
    return target
