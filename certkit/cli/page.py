"""The ``certkit check-page URL`` command: the ``http://`` resources an https page embeds.

It parses, makes one call to :func:`certkit._ops.page.check_page` and writes the report;
:func:`certkit.cli.main` maps errors to ``certkit: error: …`` and exit code 2. It exits
1 when the page loads anything over http or redirects to http.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from certkit.cli._shell import (
    EXIT_OK,
    EXIT_PROBLEM,
    print_json,
    trust_from,
)

__all__ = ["register"]


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "url": report.url, "final_url": report.final_url, "status": report.status,
        "ok": report.ok,
        "resources": [{"url": r.url, "element": r.element, "attribute": r.attribute,
                       "line": r.line, "blocked": r.blocked} for r in report.resources],
        "problems": list(report.problems),
    }


def _write_report(report: Any, out: TextIO) -> None:
    where = report.final_url
    if report.final_url != report.url:
        where = f"{report.url} → {report.final_url}"
    out.write(f"{where}: HTTP {report.status}\n")
    for problem in report.problems:
        out.write(f"problem: {problem}\n")
    if report.resources:
        blocked = len(report.blocked)
        out.write(f"{len(report.resources)} insecure resource(s) over http:// "
                  f"({blocked} blocked by browsers, {len(report.resources) - blocked} "
                  "upgraded or shown with a broken padlock):\n")
        for item in report.resources:
            verdict = "BLOCKED" if item.blocked else "warned "
            out.write(f"  line {item.line:>5}  {verdict}  <{item.element} {item.attribute}>  "
                      f"{item.url}\n")
        out.write("fix: use https:// URLs (or protocol-relative //host/path), or send "
                  "Content-Security-Policy: upgrade-insecure-requests\n")
    if report.ok:
        out.write("ok: no mixed content in the page's HTML\n")


def cmd_check_page(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit check-page URL``: list the http:// resources an https page loads."""
    from certkit._ops.page import check_page  # noqa: PLC0415 - keep `certkit --help` fast

    report = check_page(args.url, timeout=args.timeout, trust=trust_from(args.trust, required=True))
    if args.json:
        print_json(_report_json(report), out)
    else:
        _write_report(report, out)
    return EXIT_OK if report.ok else EXIT_PROBLEM


def register(sub: Any) -> None:
    """Add ``check-page`` to the ``certkit`` parser's subcommands."""
    page = sub.add_parser(
        "check-page", help="list the http:// resources (mixed content) an https page loads",
        description="Fetch the https page at URL (its certificate verified) and list every "
                    "resource its HTML loads over plain http — scripts, stylesheets, images, "
                    "frames, forms, CSS url() and @import — with its line and whether "
                    "browsers block it. Links (<a href>) are not mixed content and are not "
                    "listed. Exit 1 when any is found or the page redirects to http.",
        epilog="examples:\n  certkit check-page https://www.example.com/\n"
               "  certkit check-page https://intranet.example.test/ --trust corp-root.pem --json")
    page.add_argument("url", metavar="URL")
    page.set_defaults(func=cmd_check_page)
