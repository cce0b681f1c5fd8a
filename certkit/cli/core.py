"""The first commands a user meets: ``inspect``, ``convert`` and ``demo``.

Each reads its files, makes one library call and writes the answer; exit codes follow
:mod:`certkit.cli` (0 ok, 1 problem found, 2 usage or input error).
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from certkit.cli._shell import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PROBLEM,
    UsageError,
    ask_password,
    error_json,
    error_message,
    key_passwords_from,
    passwords_from,
    print_json,
    read_password,
    trust_from,
    with_prompt,
)
from certkit.errors import PasswordError

if TYPE_CHECKING:
    from certkit._ops.api import (
        BatchConversionReport,
        ConversionFailure,
        ConversionReport,
        Passwords,
    )

__all__ = ["register"]


def _write_link(links: list[dict[str, Any]], index: int, out: TextIO,
                indent: str = "         ") -> None:
    """How certificate ``index`` links to the next: verified, UNVERIFIED (why) or BROKEN."""
    if index >= len(links):
        return
    link = links[index]
    words = {"verified": "verified", "unverified": "UNVERIFIED", "broken": "BROKEN"}
    reason = f": {link['reason']}" if link["reason"] else ""
    out.write(f"{indent}link {index}→{index + 1} {words[link['status']]}{reason}\n")


def _write_verdict(verdict: dict[str, Any], indent: str, out: TextIO) -> None:
    out.write(f"{indent}chain: {verdict['message']}\n")
    if verdict["fix"]:
        out.write(f"{indent}fix: {verdict['fix']}\n")


def _human_inspect(path: str, info: dict[str, Any], out: TextIO) -> None:
    from certkit import formats  # noqa: PLC0415 - only for the description

    fmt = info["format"]
    description = formats.spec(fmt).description if fmt else "unknown"
    count = len(info["entries"])
    out.write(f"{path}: {description}, {count} entr{'y' if count == 1 else 'ies'}\n")
    for part in info["protection"]:
        iterations = f", {part['iterations']} iterations" if part["iterations"] else ""
        weak = f"  [WEAK: {part['weak']}]" if part["weak"] else ""
        out.write(f"  protection  {part['part']}: {part['algorithm']}{iterations}{weak}\n")
    for entry in info["entries"]:
        kind = entry["type"]
        head = f"  [{kind}] {entry['alias']}"
        if kind == "key":
            lock = " (locked: key password needed)" if entry.get("locked") else ""
            verdict = entry.get("chain_verdict")
            status = f" ({verdict['code']})" if verdict else ""
            held = (entry["summary"] if entry.get("summary")
                    else f"chain of {entry['chain_length']}{status}")
            head += f"  {entry['key_algorithm']}{lock}, {held}"
            if entry.get("key_matches_certificate") is False:
                head += "  KEY DOES NOT MATCH CERTIFICATE"
        elif kind == "secret-key" and entry.get("locked"):
            algorithm = entry["algorithm"] or "algorithm unknown until unlocked"
            head += f"  {algorithm} (locked: key password needed)"
        elif kind == "secret-key":
            head += f"  {entry['algorithm']} {entry['bits']} bits"
        elif kind == "opaque":
            head += f"  {entry['kind']} kept as bytes ({entry['reason']})"
        if entry.get("created"):
            head += f"  created {entry['created']}"
        out.write(head + "\n")
        kept = entry.get("attributes") or {}
        if kept:
            words = {"friendly_name": "friendly name", "local_key_id": "local key id",
                     "csp_name": "CSP", "trusted_usage": "trusted for", "other": "other"}
            out.write("      attributes " + "; ".join(
                f"{words[name]} {', '.join(value) if isinstance(value, list) else value}"
                for name, value in kept.items() if name != "other") + "\n")
        for index, cert in enumerate(entry.get("certificates", [])):
            days = cert["days_left"]
            marker = (f"expired {-days} days ago" if cert["expired"] else
                      "not yet valid" if cert["not_yet_valid"] else
                      f"expires in {days} day{'s' if days != 1 else ''}")
            out.write(f"      {index}: [{cert['role']}] {cert['subject']}\n")
            out.write(f"         issuer   {cert['issuer']}\n")
            out.write(f"         valid    {cert['not_before']} → {cert['not_after']} ({marker})\n")
            out.write(f"         sha256   {cert['sha256']}\n")
            if cert["san"]:
                out.write(f"         san      {', '.join(cert['san'])}\n")
            _write_link(entry.get("links", []), index, out)
        if kind == "key" and entry.get("chain_verdict"):
            _write_verdict(entry["chain_verdict"], "      ", out)
    if info.get("chain"):
        out.write(f"  chain of {len(info['chain']['subjects'])}, leaf first: "
                  f"{' → '.join(info['chain']['subjects'])}\n")
        for index, _ in enumerate(info["chain"]["subjects"]):
            _write_link(info["chain"]["links"], index, out, indent="    ")
        _write_verdict(info["chain"]["verdict"], "  ", out)
    for request in info["requests"]:
        out.write(f"  [request] {request['subject']}\n")
    for note in info["notes"]:
        out.write(f"  note: {note}\n")


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit inspect FILE…``: what each file holds."""
    import certkit  # noqa: PLC0415 - keep `certkit --help` fast
    from certkit._ops.inspect import describe  # noqa: PLC0415

    password = passwords_from(args)
    key_passwords = key_passwords_from(args.key_password_file, args.key_password_env)
    results = []
    for path in args.files:
        def load(pw: str | Passwords | None, p: str = path) -> certkit.KeyStore:
            return certkit.load(p, password=pw, key_passwords=key_passwords)

        store = with_prompt(load, password, path)
        info = describe(store, trust=trust_from(args.trust))
        results.append({"path": path, **info})
        if not args.json:
            _human_inspect(path, info, out)
    if args.json:
        print_json({"files": results}, out)
    return EXIT_OK


def _report_json(report: ConversionReport) -> dict[str, Any]:
    return {"source": report.source, "destination": str(report.destination),
            "source_format": report.source_format, "format": report.format,
            "entries": report.entries, "dropped": list(report.dropped),
            "not_kept": list(report.not_kept), "left_out": list(report.left_out)}


def _human_report(report: ConversionReport, out: TextIO) -> None:
    out.write(f"wrote {report.destination} ({report.format}, {report.entries} "
              f"entr{'y' if report.entries == 1 else 'ies'} from {report.source_format})\n")
    for item in report.dropped:
        out.write(f"  dropped: {item}\n")
    for item in report.not_kept:
        out.write(f"  not kept by {report.format}: {item}\n")
    for item in report.left_out:
        out.write(f"  left out: {item}\n")


def _convert_many(args: argparse.Namespace, password: str | Passwords | None,
                  convert: Callable[[Sequence[str], Any], BatchConversionReport],
                  out: TextIO) -> int:
    """``convert IN… --out-dir DIR``: one batch; a missing password is asked for once."""
    from certkit._ops.api import BatchConversionReport, ConversionReport  # noqa: PLC0415

    batch = convert(args.paths, password)
    unopened = [f.source for f in batch.failed
                if isinstance(f.error, PasswordError) and f.error.missing]
    if password is None and unopened and sys.stdin.isatty():
        retry = convert(unopened, ask_password("Password for the input files: "))
        batch = BatchConversionReport(
            converted=batch.converted + retry.converted,
            failed=tuple(f for f in batch.failed if f.source not in unopened) + retry.failed)
    order = {path: index for index, path in enumerate(args.paths)}
    results: list[ConversionReport | ConversionFailure] = sorted(
        [*batch.converted, *batch.failed], key=lambda r: order.get(r.source, len(order)))
    if args.json:
        print_json([{"ok": True, **_report_json(r)} if isinstance(r, ConversionReport)
                     else {"ok": False, "source": r.source, "error": error_message(r.error),
                           "error_object": error_json(r.error)}
                     for r in results], out)
    else:
        for result in results:
            if isinstance(result, ConversionReport):
                _human_report(result, out)
            else:
                sys.stderr.write(f"error: {result.source}: {error_message(result.error)}\n")
    return EXIT_OK if not batch.failed else EXIT_ERROR


def _split(args: argparse.Namespace, out: TextIO) -> int:
    """``convert BUNDLE… --out-dir DIR --split``: one certificate file per certificate."""
    import certkit  # noqa: PLC0415

    if args.out_dir is None:
        raise UsageError("--split needs --out-dir DIR (the folder for one file per certificate)")
    password = read_password(args.password_file, args.password_env, "password")
    written: list[str] = []
    for path in args.paths:
        def load(pw: str | None, p: str = path) -> certkit.KeyStore:
            return certkit.load(p, password=pw)

        store = with_prompt(load, password, path)
        written.extend(str(p) for p in certkit.split_certificates(store, args.out_dir))
    if args.json:
        print_json({"written": written}, out)
    else:
        for name in written:
            out.write(f"wrote {name}\n")
    return EXIT_OK


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit convert IN OUT`` or ``certkit convert IN… --out-dir DIR --to FORMAT``."""
    import certkit  # noqa: PLC0415

    if args.split:
        return _split(args, out)
    if args.out_dir is None and len(args.paths) != 2:
        raise UsageError("give IN and OUT, or several IN with --out-dir DIR --to FORMAT")
    if args.out_dir is not None and args.to is None:
        raise UsageError("--out-dir needs --to FORMAT (pem, der, pkcs7, pkcs12, jks, jceks)")
    password = passwords_from(args)
    new_password = read_password(args.new_password_file, args.new_password_env, "new password")
    key_passwords = key_passwords_from(args.key_password_file, args.key_password_env)
    options: dict[str, Any] = {}
    if args.profile:
        options["profile"] = args.profile
    if args.bag_attributes:
        options["bag_attributes"] = True
    if args.only:
        options["only"] = args.only
    if args.key_format:
        options["key_format"] = args.key_format
    if args.out_dir is not None:
        return _convert_many(args, password, lambda sources, pw: certkit.convert_many(
            sources, args.out_dir, format=args.to, password=pw, new_password=new_password,
            key_passwords=key_passwords, overwrite=args.force, allow_loss=args.allow_loss,
            **options), out)
    source, destination = args.paths
    report = with_prompt(
        lambda pw: certkit.convert(
            source, destination, password=pw, new_password=new_password, format=args.to,
            key_passwords=key_passwords, overwrite=args.force, allow_loss=args.allow_loss,
            **options),
        password, source)
    if args.json:
        print_json(_report_json(report), out)
    else:
        _human_report(report, out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit demo``: a walk-through on throw-away files."""
    from certkit.cli.demo import run_demo  # noqa: PLC0415

    result = run_demo(io.StringIO() if args.json else out, directory=args.out_dir)
    if args.json:
        print_json({
            "ok": result.ok,
            "folder": str(result.folder) if result.folder else None,
            "checks": [{"step": c.step, "title": c.title, "check": c.what, "ok": c.ok}
                       for c in result.checks]}, out)
    return EXIT_OK if result.ok else EXIT_PROBLEM



def register(sub: Any) -> None:
    """Add ``inspect``, ``convert`` and ``demo`` to the ``certkit`` sub-command parser."""
    inspect = sub.add_parser(
        "inspect", help="show what files hold (format, entries, chains, dates, fingerprints)",
        description="Show what each file holds; the format is detected from the content.",
        epilog="examples:\n  certkit inspect server.cer chain.p7b\n"
               "  certkit inspect keystore.jks --password-env STOREPASS --json")
    inspect.add_argument("files", nargs="+", metavar="FILE")
    inspect.set_defaults(func=cmd_inspect)

    convert = sub.add_parser(
        "convert", help="convert between PEM, DER, PKCS#7, PKCS#12 and Java keystores",
        usage="%(prog)s [options] IN OUT\n"
              "       %(prog)s [options] IN [IN ...] --out-dir DIR --to FORMAT",
        description="Load IN and write OUT; the output format comes from OUT's extension\n"
                    "(.pem .crt .cer .key .der .p7b .p7c .pfx .p12 .jks .jceks) or --to.\n\n"
                    "With --out-dir, convert every IN into DIR, named after IN with the usual\n"
                    "extension of --to (site.pfx -> site.pem), syncing the disk once for the\n"
                    "whole batch; a file that fails does not stop the others (exit code 2 if\n"
                    "any failed).\n\n"
                    "Nothing is dropped silently and nothing is overwritten without --force.",
        epilog="examples:\n  certkit convert server.cer server.pem\n"
               "  certkit convert chain.p7b chain.pem\n"
               "  certkit convert site.pfx apache.pem --password-env PFX_PASS\n"
               "  certkit convert apache.pem site.pfx --new-password-file pass.txt "
               "--profile legacy\n"
               "  certkit convert exports/*.pfx --out-dir pem --to pem --password-env PFX_PASS\n"
               "  certkit convert site.pfx server.key --key-format pkcs1 --password-env PFX_PASS\n"
               "  certkit convert ca-bundle.pem --out-dir cas --split")
    convert.add_argument("paths", nargs="+", metavar="IN",
                         help="the input file(s); without --out-dir, IN then OUT")
    convert.add_argument("--to", metavar="FORMAT",
                         help="output format: pem, der, pkcs7, pkcs12, jks, jceks, kubernetes "
                              "(a TLS Secret manifest; never chosen by a .yaml name alone)")
    convert.add_argument("--allow-loss", action="store_true",
                         help="write even if the output format cannot hold everything "
                              "(what was dropped is listed)")
    convert.add_argument("--only", choices=("key", "leaf", "chain", "ca", "all"),
                         help="what to write: the key, the leaf certificate, every certificate "
                              "(chain), the CA certificates, or all (default: by OUT's name — "
                              ".key the key, .crt/.cer certificates only, others all)")
    convert.add_argument("--key-format", choices=("pkcs8", "pkcs1", "sec1"),
                         help="PEM/DER keys as PKCS#8 (default), PKCS#1 'RSA PRIVATE KEY' or "
                              "SEC1 'EC PRIVATE KEY'")
    convert.add_argument("--split", action="store_true",
                         help="with --out-dir: write each certificate to its own file in DIR, "
                              "named after its subject (never overwrites)")
    convert.add_argument("--bag-attributes", action="store_true",
                         help="PEM output: keep aliases and attributes as 'Bag Attributes'")
    convert.set_defaults(func=cmd_convert)

    demo = sub.add_parser(
        "demo", help="walk through certkit on a throw-away CA, intermediate and server certificate",
        description="Create a throw-away CA, intermediate and server certificate in a temporary "
                    "folder and show, with the real files, what certkit does. Nothing is "
                    "written elsewhere unless --out-dir is given (a new or empty folder, "
                    "kept); no network is used. With --json, only the checks and their "
                    "outcome are printed.",
        epilog="examples:\n  certkit demo\n  certkit demo --out-dir demo   # keep the files\n"
               "  certkit demo --json      # the checks, for a smoke test")
    # the spelling before one grammar, kept working but not shown
    demo.add_argument("--out", dest="out_dir", help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)
