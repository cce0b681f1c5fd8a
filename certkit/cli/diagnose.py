"""The diagnosis commands: ``doctor`` (what is wrong with these files) and ``scan`` (inventory).

Both exit 1 when they find a problem (an error or a warning for ``doctor``), 0 when all
is well, and 2 on a usage or input error, like every certkit command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from certkit.cli._shell import (
    EXIT_OK,
    EXIT_PROBLEM,
    UsageError,
    host_port,
    passwords_from,
    print_json,
    trust_from,
)
from certkit.errors import FileExistsCertkitError

if TYPE_CHECKING:
    from certkit._ops.doctor import Finding
    from certkit._ops.scan import ScannedCertificate, ScanReport

__all__ = ["default_language", "parse_duration", "register"]

_DURATION = r"\s*(\d+)\s*([dhwm]?)\s*"  # compiled (and cached by re) on first use
_UNITS = {"": 86400, "d": 86400, "h": 3600, "w": 7 * 86400, "m": 30 * 86400}


def default_language(environ: dict[str, str] | None = None) -> str:
    """``zh-TW`` when the locale (LC_ALL, LC_MESSAGES, LANG) is Taiwanese or Traditional Chinese."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            normal = value.replace("-", "_").lower()
            if normal.startswith(("zh_tw", "zh_hant", "zh_hk", "zh_mo")):
                return "zh-TW"
            return "en"
    return "en"


def parse_duration(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``3m`` (30-day months) or a bare number of days."""
    match = re.fullmatch(_DURATION, text, re.IGNORECASE)
    if match is None:
        raise UsageError(f"bad duration {text!r}; write e.g. 30d, 12h, 2w or 3m")
    return dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])


# -- doctor --------------------------------------------------------------------------------

_LABELS = {"en": {"error": "error", "warning": "warning", "info": "note", "fix": "fix"},
           "zh-TW": {"error": "錯誤", "warning": "警告", "info": "說明", "fix": "解決方式"}}


def _finding_json(finding: Finding, lang: str) -> dict[str, Any]:
    message, fix = finding.text(lang)
    return {"code": finding.code, "severity": finding.severity, "message": message,
            "fix": fix, "files": list(finding.files), "aliases": list(finding.aliases),
            "data": dict(finding.data)}


def _summary(findings: list[Finding], lang: str) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    notes = len(findings) - errors - warnings
    if lang == "zh-TW":
        if not errors and not warnings:
            return "沒有發現問題" + (f"（{notes} 則說明）" if notes else "")  # noqa: RUF001
        return f"發現 {errors} 個錯誤、{warnings} 個警告、{notes} 則說明"
    if not errors and not warnings:
        return "no problems found" + (f" ({notes} note{'s' * (notes != 1)})" if notes else "")
    return (f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}, "
            f"{notes} note{'s' * (notes != 1)}")


def cmd_doctor(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit doctor FILE…``: what is wrong with these files (and the host), and the fix."""
    from certkit._ops.doctor import diagnose  # noqa: PLC0415 - keep `certkit --help` fast

    password = passwords_from(args)
    host, port = host_port(args.host) if args.host else (None, 443)
    lang = args.lang or default_language()
    findings = diagnose(*args.files, host=host, port=port, servername=args.servername,
                        passwords=password, expiring=parse_duration(args.expiring),
                        alias=args.alias, timeout=args.timeout,
                        trust=trust_from(args.trust))
    problem = any(f.severity in ("error", "warning") for f in findings)
    if args.json:
        print_json({"ok": not problem, "lang": lang,
                     "findings": [_finding_json(f, lang) for f in findings]}, out)
        return EXIT_PROBLEM if problem else EXIT_OK
    labels = _LABELS[lang]
    for finding in findings:
        message, fix = finding.text(lang)
        out.write(f"{labels[finding.severity]}: [{finding.code}] {message}\n")
        out.write(f"  {labels['fix']}: {fix}\n")
    out.write(_summary(findings, lang) + "\n")
    return EXIT_PROBLEM if problem else EXIT_OK


# -- scan ----------------------------------------------------------------------------------


def _cert_json(cert: ScannedCertificate) -> dict[str, Any]:
    return {"path": cert.path, "alias": cert.alias, "subject": cert.subject,
            "issuer": cert.issuer, "serial_number": cert.serial_number,
            "not_after": cert.not_after.isoformat(), "is_ca": cert.is_ca,
            "sha256": cert.sha256, "public_key_sha256": cert.public_key_sha256}


def _scan_json(report: ScanReport) -> dict[str, Any]:
    return {
        "ok": not report.has_problems,
        "files_seen": report.files_seen, "files_read": report.files_read,
        "certificates": len(report.certificates), "keys": len(report.keys),
        "inventory": [
            {"sha256": i.sha256, "subject": i.subject, "issuer": i.issuer,
             "serial_number": i.serial_number, "not_after": i.not_after.isoformat(),
             "role": i.role, "days_left": i.days_left,
             "places": [{"path": p.path, "alias": p.alias} for p in i.places],
             "keys": [{"path": k.path, "alias": k.alias} for k in i.keys],
             "key_algorithm": i.key_algorithm}
            for i in report.inventory],
        "pairs": [{"certificate": c.path, "certificate_alias": c.alias, "subject": c.subject,
                   "key": k.path, "key_alias": k.alias} for c, k in report.pairs],
        "expired": [_cert_json(c) for c in report.expired],
        "expiring": [_cert_json(c) for c in report.expiring],
        "orphaned_keys": [{"path": k.path, "alias": k.alias, "algorithm": k.algorithm,
                           "public_key_sha256": k.public_key_sha256}
                          for k in report.orphaned_keys],
        "without_key": [_cert_json(c) for c in report.without_key],
        "incomplete": [{**_cert_json(c), "missing_issuer": issuer}
                       for c, issuer in report.incomplete],
        "chains": [{"path": c.path, "alias": c.alias, "subject": c.subject, "verdict": c.code,
                    "message": c.message} for c in report.chains],
        "unreadable": [{"path": i.path, "reason": i.reason, "detail": i.detail}
                       for i in report.unreadable],
        "skipped": [{"path": i.path, "reason": i.reason, "detail": i.detail}
                    for i in report.skipped],
    }


def _where(cert: ScannedCertificate) -> str:
    return f"{cert.path}" + (f" [{cert.alias}]" if cert.alias else "")


def _place(path: str, alias: str | None) -> str:
    return path + (f" [{alias}]" if alias else "")


def _write_inventory(report: ScanReport, out: TextIO) -> None:
    """Each distinct certificate once: role, expiry and days left, subject, places, key."""
    for item in report.inventory:
        days = (f"expired {-item.days_left} days ago" if item.days_left < 0
                else f"{item.days_left} days left")
        out.write(f"{item.role:<12}  {item.not_after:%Y-%m-%d} ({days})  {item.subject}\n")
        out.write(f"              sha256 {item.sha256}\n")
        for place in item.places:
            out.write(f"              in  {_place(place.path, place.alias)}\n")
        for key in item.keys:
            out.write(f"              key {_place(key.path, key.alias)} ({item.key_algorithm})\n")
        if item.role == "leaf" and not item.keys:
            out.write("              key not found in the scan\n")
    if report.inventory:
        out.write("\n")


def _write_scan(report: ScanReport, out: TextIO, *, inventory: bool = False) -> None:
    out.write(f"{report.files_seen} files seen, {report.files_read} with certificates or "
              f"keys: {len(report.inventory)} distinct certificates in "
              f"{len(report.certificates)} places, {len(report.keys)} keys, "
              f"{len(report.pairs)} certificate(s) with their key\n")
    if inventory:
        _write_inventory(report, out)
    for cert in report.expired:
        out.write(f"expired   {cert.not_after:%Y-%m-%d}  {cert.subject}  {_where(cert)}\n")
    for cert in report.expiring:
        days = (cert.not_after - report.at).days
        out.write(f"expiring  {cert.not_after:%Y-%m-%d} ({days} days)  {cert.subject}  "
                  f"{_where(cert)}\n")
    for cert in report.without_key:
        out.write(f"no key    {cert.subject}  {_where(cert)}\n")
    for key in report.orphaned_keys:
        where = key.path + (f" [{key.alias}]" if key.alias else "")
        out.write(f"orphan    {key.algorithm} key without a certificate  {where}\n")
    for cert, issuer in report.incomplete:
        out.write(f"chain     missing intermediate: {issuer} (the issuer of {cert.subject}) is "
                  f"neither among the files scanned nor in the trust store  {_where(cert)}\n")
    for chain in report.chains:
        if chain.fault:
            where = chain.path + (f" [{chain.alias}]" if chain.alias else "")
            out.write(f"chain     {chain.message}  {where}\n")
    for issue in report.unreadable:
        out.write(f"unread    {issue.reason}: {issue.path} ({issue.detail})\n")
    for issue in report.skipped:
        out.write(f"skipped   {issue.reason}: {issue.path} ({issue.detail})\n")
    out.write("problems found\n" if report.has_problems else "no problems found\n")


class _Progress:
    """A one-line progress counter on a terminal's stderr (nothing when stderr is not a TTY)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()

    def __call__(self, seen: int, path: str) -> None:
        if self.active and seen % 50 == 1:
            tail = path if len(path) < 50 else "…" + path[-49:]
            self.stream.write(f"\rscanning: {seen} files  {tail:<50}")
            self.stream.flush()

    def close(self) -> None:
        if self.active:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit scan DIR…``: inventory certificates, keys and keystores below folders."""
    from certkit._ops.scan import scan  # noqa: PLC0415 - keep `certkit --help` fast

    password = passwords_from(args)
    for path in args.paths:
        if not os.path.exists(path):
            raise UsageError(f"{path} does not exist")
    if args.html and not args.force and os.path.exists(args.html):
        raise FileExistsCertkitError(args.html)  # before the scan, not after it
    # Prometheus metrics: --format prometheus, or an --out FILE named *.prom (the only files
    # node_exporter's textfile collector reads).
    metrics = args.format == "prometheus" or (args.format is None
                                              and str(args.out or "").endswith(".prom"))
    if metrics and args.json:
        raise UsageError("--json and --format prometheus are two outputs: choose one")
    if args.out and not metrics:
        raise UsageError("--out writes Prometheus metrics: name the file *.prom or add "
                         "--format prometheus (the text and --json reports go to stdout)")
    progress = _Progress(sys.stderr)
    started = time.monotonic()
    try:
        report = scan(args.paths, passwords=password, expiring=parse_duration(args.expiring),
                      follow_symlinks=args.follow_symlinks, progress=progress,
                      trust=trust_from(args.trust))
    finally:
        progress.close()
    if args.html:
        from certkit._ops.report import save_scan_html  # noqa: PLC0415 - only with --html

        save_scan_html(report, args.html, overwrite=args.force)
    if metrics:
        from certkit._ops.metrics import save_scan_metrics, scan_metrics  # noqa: PLC0415

        duration = time.monotonic() - started
        if args.out:
            save_scan_metrics(report, args.out, duration=duration, overwrite=args.force)
        else:
            out.write(scan_metrics(report, duration=duration))
    elif args.json:
        print_json(_scan_json(report), out)
    else:
        _write_scan(report, out, inventory=args.list)
        if args.html:
            out.write(f"report written to {args.html}\n")
    return EXIT_PROBLEM if report.has_problems else EXIT_OK


def register(sub: Any) -> None:
    """Add ``doctor`` and ``scan`` to the ``certkit`` sub-command parser."""
    doctor = sub.add_parser(
        "doctor", help="explain what is wrong with certificate files (and a live host)",
        description="Look at the files together and explain, in English or Traditional "
                    "Chinese, what is wrong and how to fix it: missing or mismatched keys, "
                    "incomplete or misordered chains, keystore entries, CA replies, dates, "
                    "names, weak PKCS#12 protection, DER where PEM is expected; with --host, "
                    "whether the server serves these files. Exit 1 on any error or warning.",
        epilog="examples:\n  certkit doctor server.crt server.key chain.pem\n"
               "  certkit doctor keystore.jks reply.p7b --password-env STOREPASS\n"
               "  certkit doctor fullchain.pem --host www.example.com --lang zh-TW")
    doctor.add_argument("files", nargs="+", metavar="FILE")
    doctor.add_argument("--host", metavar="HOST[:PORT]",
                        help="also fetch the chain this server serves and compare")
    doctor.add_argument("--lang", choices=("en", "zh-TW"),
                        help="language of the messages (default from the locale)")
    doctor.set_defaults(func=cmd_doctor)

    scan = sub.add_parser(
        "scan", help="inventory certificates, keys and keystores below folders",
        description="Find every certificate, key and keystore below the folders by content "
                    "(not by extension), pair keys with certificates across files, and list "
                    "expired and expiring certificates, keys without certificates, leaf "
                    "certificates without keys, missing intermediates and unreadable files. "
                    "Exit 1 when anything is listed.",
        epilog="examples:\n  certkit scan /etc/ssl /etc/nginx --expiring 60d\n"
               "  certkit scan /opt/tomcat/conf --password-env STOREPASS --json\n"
               "  certkit scan /etc/ssl/private /etc/nginx --list\n"
               "  certkit scan /etc/ssl /etc/nginx --html report.html\n"
               "  certkit scan /etc/ssl /etc/nginx --out /var/lib/prometheus/node-exporter/"
               "certkit.prom --force")
    scan.add_argument("paths", nargs="+", metavar="DIR")
    scan.add_argument("--follow-symlinks", action="store_true",
                      help="enter symbolic links to folders (loops are detected)")
    scan.add_argument("--list", action="store_true",
                      help="list the inventory first: each distinct certificate once, with "
                           "its role, expiry, days left, every place found and its key")
    scan.add_argument("--html", metavar="FILE",
                      help="also write the report as one self-contained HTML page (summary, "
                           "problems, expiry timeline, sortable inventory)")
    scan.add_argument("--format", choices=("text", "prometheus"),
                      help="text (the default) or prometheus: metrics in the Prometheus text "
                           "format for node_exporter's textfile collector (--json for JSON)")
    scan.set_defaults(func=cmd_scan)
