"""The operations commands: ``export``, ``check-host``, ``backup``, ``verify-backup``, ``restore``.

Each parses, reads, makes one library call and writes; :func:`certkit.cli.main` maps
errors to ``certkit: error: …`` and exit code 2. ``check-host`` and ``verify-backup`` exit
1 when they find a problem.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from certkit.cli._shell import (
    EXIT_OK,
    EXIT_PROBLEM,
    UsageError,
    ask_password,
    host_port,
    one_password,
    passwords_from,
    print_json,
    read_password,
    trust_from,
    with_prompt,
)

if TYPE_CHECKING:
    from certkit._ops.api import Passwords

__all__ = ["register"]

_TARGETS = ("apache", "nginx", "haproxy", "tomcat", "iis", "kubernetes")

def _export_json(result: Any) -> dict[str, Any]:
    return {"target": result.target, "changed": result.changed,
            "files": [str(p) for p in result],
            "unchanged": [str(p) for p in result.unchanged],
            "config": result.config,
            "chain": [{"subject": c.subject, "sha256": c.fingerprint()} for c in result.chain],
            "root_left_out": result.root_left_out}


def _write_export(result: Any, out: TextIO) -> None:
    for path in result:
        out.write(f"{'unchanged' if path in result.unchanged else 'wrote'} {path}\n")
    chain = " → ".join(c.subject for c in result.chain)
    out.write(f"chain ({len(result.chain)}, leaf first): {chain}\n")
    if result.root_left_out:
        out.write(f"root left out (clients must already trust it): {result.root_left_out}\n")
    out.write("\n" + result.config)


def _output_password(args: argparse.Namespace, fallback: str | None) -> str | None:
    new = read_password(args.new_password_file, args.new_password_env, "output password")
    return new if new is not None else fallback


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit export --for TARGET IN… --out-dir DIR``: files and config lines for a server."""
    import certkit  # noqa: PLC0415 - keep `certkit --help` fast
    from certkit._ops.export import combine, export  # noqa: PLC0415

    inputs, directory = _inputs_and_folder(args.inputs, args.out_dir)
    password = passwords_from(args)
    stores = []
    for path in inputs:
        def load(pw: str | Passwords | None, p: str = path) -> certkit.KeyStore:
            return certkit.load(p, password=pw)

        stores.append(with_prompt(load, password, path))
    store = stores[0] if len(stores) == 1 else combine(stores)
    result = export(store, args.target, directory,
                    password=_output_password(args, password if isinstance(password, str)
                                              else None), alias=args.alias,
                    allow_incomplete=args.allow_incomplete, overwrite=args.force,
                    profile=args.profile or "modern", keystore_type=args.keystore_type,
                    name=args.name, trust=trust_from(args.trust), fetch=args.fetch,
                    timeout=args.timeout)
    if args.json:
        print_json(_export_json(result), out)
    else:
        _write_export(result, out)
    return EXIT_OK


def _inputs_and_folder(paths: list[str], out_dir: str | None) -> tuple[list[str], str]:
    """``IN… --out-dir DIR``, or the older ``IN… DIR`` (the last word is the folder)."""
    if out_dir is not None:
        return paths, out_dir
    if len(paths) < 2:
        raise UsageError("give the output folder with --out-dir DIR")
    return paths[:-1], paths[-1]


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "host": report.host, "port": report.port, "servername": report.servername,
        "ok": report.ok,
        "chain": [{"subject": c.subject, "issuer": c.issuer, "sha256": c.fingerprint(),
                   "not_after": c.not_after.isoformat()} for c in report.chain],
        "ordered": report.ordered, "complete": report.complete,
        "missing_issuer": report.missing_issuer, "trusted": report.trusted,
        "not_after": report.not_after.isoformat(), "days_left": report.days_left,
        "name_matches": report.name_matches,
        "expected_sha256": report.expected.fingerprint() if report.expected else None,
        "matches_expected": report.matches_expected, "reasons": list(report.reasons),
        "problems": list(report.problems), "notes": list(report.notes),
        "verdict": _verdict_json(report.verdict),
    }


def _verdict_json(verdict: Any) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"code": verdict.code, "message": verdict.message, "fix": verdict.fix,
            "trusted": verdict.trusted, "root": verdict.root,
            "missing_issuer": verdict.missing_issuer}


def _write_report(report: Any, out: TextIO) -> None:
    sni = f" (SNI {report.servername})" if report.servername else ""
    where = f"[{report.host}]" if ":" in report.host else report.host
    out.write(f"{where}:{report.port}{sni} sends {len(report.chain)} certificate(s):\n")
    for index, cert in enumerate(report.chain):
        out.write(f"  {index}: {cert.subject}\n     issuer {cert.issuer}, expires "
                  f"{cert.not_after:%Y-%m-%d}\n")
    order = "in order" if report.ordered else "NOT in order"
    state = report.verdict.message if report.verdict is not None else (
        "complete" if report.complete
        else f"INCOMPLETE, missing intermediate: {report.missing_issuer}")
    out.write(f"chain: {order}; {state}\n")
    out.write(f"expires in {report.days_left} days; name "
              f"{'matches' if report.name_matches else 'DOES NOT MATCH'}\n")
    if report.matches_expected is not None:
        out.write("serves the expected certificate\n" if report.matches_expected
                  else "does NOT serve the expected certificate\n")
    for note in report.notes:
        if report.verdict is None or note != report.verdict.message:  # printed above
            out.write(f"note: {note}\n")
    for problem in report.problems:
        out.write(f"problem: {problem}\n")
    if report.reasons:
        out.write("the usual reasons:\n")
        for reason in report.reasons:
            out.write(f"  - {reason}\n")
    if report.ok:
        out.write("ok\n")


def cmd_check_host(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit check-host HOST[:PORT]``: what a live server sends, and what is wrong."""
    import certkit  # noqa: PLC0415
    from certkit._ops.remote import check_host  # noqa: PLC0415

    host, port = host_port(args.host)
    expect: certkit.KeyStore | None = None
    if args.expect:
        password = one_password(args)
        expect = with_prompt(lambda pw: certkit.load(args.expect, password=pw), password,
                              args.expect)
    report = check_host(host, port, servername=args.servername, expect=expect,
                        timeout=args.timeout, trust=trust_from(args.trust),
                        starttls=args.starttls)
    if args.json:
        print_json(_report_json(report), out)
    else:
        _write_report(report, out)
    return EXIT_OK if report.ok else EXIT_PROBLEM


def _backup_password(args: argparse.Namespace, *, confirm: bool,
                     given: str | None = None) -> str:
    password = given if confirm else one_password(args, what="backup password")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        option = "--new-password-file" if confirm else "--password-file"
        raise UsageError(f"give the backup password with {option} FILE or "
                         f"{option.replace('file', 'env')} VAR")
    password = ask_password("Backup password: ")
    if confirm and ask_password("Again: ") != password:
        raise UsageError("the two passwords differ")
    return password


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit backup SRC… --out-dir DIR``: one encrypted PKCS#12, the PEM and a manifest."""
    from certkit._ops.backup import backup  # noqa: PLC0415

    if args.out_dir is None:
        raise UsageError("give the backup folder with --out-dir DIR")
    new = read_password(args.new_password_file, args.new_password_env, "backup password")
    if args.source_password_file or args.source_password_env:  # the older spelling
        given = new if new is not None else one_password(args, what="backup password")
        sources = passwords_from(args, "source_", "source password")
    else:  # --password-file opens the sources, and is the backup's unless --new-password-…
        sources = passwords_from(args)
        given = new if new is not None else sources if isinstance(sources, str) else None
        if given is None and sources is not None:
            raise UsageError("with several --password-file/--password-env, give the backup's "
                             "own password with --new-password-file or --new-password-env")
    password = _backup_password(args, confirm=True, given=given)
    passwords = (dict.fromkeys(args.sources, sources) if isinstance(sources, str) else sources)
    manifest = backup(args.sources, args.out_dir, password=password, source_passwords=passwords,
                      allow_unpaired=args.allow_unpaired)
    if args.json:
        print_json({"directory": str(manifest.directory),
                     "files": [str(p) for p in manifest.paths],
                     "entries": list(manifest.entries),
                     "certificates": len(manifest.certificates),
                     "warnings": list(manifest.warnings)}, out)
        return EXIT_OK
    for path in manifest.paths:
        out.write(f"wrote {path}\n")
    for warning in manifest.warnings:
        out.write(f"warning: {warning}\n")
    keys = sum(1 for e in manifest.entries if e["type"] == "key")
    out.write(f"backed up {keys} key(s) and {len(manifest.certificates)} certificate(s); "
              f"check it with: certkit verify-backup {manifest.directory}\n")
    return EXIT_OK


def cmd_verify_backup(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit verify-backup DIR``: exit 1 when any file is missing, changed or added."""
    from certkit._ops.backup import verify_backup  # noqa: PLC0415

    report = verify_backup(args.directory, password=_backup_password(args, confirm=False))
    if args.json:
        print_json({"directory": str(report.directory), "ok": report.ok,
                     "wrong_password": report.wrong_password,
                     "problems": [{"file": p.file, "message": p.message, "alias": p.alias}
                                  for p in report.problems],
                     "notes": list(report.notes),
                     "entries": report.entries, "certificates": report.certificates}, out)
    elif report.ok:
        entries = f"{report.entries} entr{'y' if report.entries == 1 else 'ies'}"
        out.write(f"{report.directory}: ok ({entries}, {report.certificates} certificates; "
                  "every key entry restores)\n")
        for note in report.notes:
            out.write(f"note: {note}\n")
    else:
        for problem in report.problems:
            out.write(f"problem: {problem}\n")
    return EXIT_OK if report.ok else EXIT_PROBLEM


def cmd_restore(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit restore DIR --for TARGET OUT``: a verified backup, in a server's layout."""
    from certkit._ops.backup import restore  # noqa: PLC0415

    password = _backup_password(args, confirm=False)
    result = restore(args.directory, args.target, args.out, password=password,
                     new_password=_output_password(args, None), alias=args.alias,
                     allow_incomplete=args.allow_incomplete, overwrite=args.force,
                     profile=args.profile or "modern", keystore_type=args.keystore_type)
    if args.json:
        print_json(_export_json(result), out)
    else:
        _write_export(result, out)
    return EXIT_OK


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--for", dest="target", required=True, choices=_TARGETS,
                        help="the server: apache, nginx, haproxy, tomcat, iis or kubernetes "
                             "(a kubernetes.io/tls Secret manifest)")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="export even if the chain misses an intermediate")
    parser.add_argument("--keystore-type", default="pkcs12", choices=("pkcs12", "jks"),
                        help="Tomcat keystore type (default pkcs12)")


def register(sub: Any) -> None:
    """Add the operations commands to the ``certkit`` parser's subcommands."""
    export = sub.add_parser(
        "export", help="write a key and its chain for apache, nginx, haproxy, tomcat, iis or "
                       "kubernetes",
        description="Write the files a server needs (key 0600, chain leaf first, the root "
                    "left out except for IIS and a Kubernetes Secret's ca.crt) into DIR and "
                    "print the configuration lines. "
                    "Several inputs (server.key server.crt chain.crt) are combined. An "
                    "incomplete chain is refused unless --allow-incomplete. Files that "
                    "already hold what would be written are left alone (\"changed\": false "
                    "under --json); other existing files need --force.",
        epilog="examples:\n  certkit export --for nginx site.pfx /etc/nginx/tls "
               "--password-env PFX_PASS\n"
               "  certkit export --for apache server.key server.crt chain.crt out/\n"
               "  certkit export --for nginx www.key www.crt out/ --fetch\n"
               "  certkit export --for tomcat site.pem out/ --new-password-file pass.txt\n"
               "  certkit export --for kubernetes site.pfx --out-dir k8s --name web-tls "
               "--password-env PFX_PASS")
    export.add_argument("inputs", nargs="+", metavar="IN",
                        help="the input files (the last one is the folder without --out-dir)")
    export.add_argument("--name", help="file name stem, and for kubernetes the Secret's name "
                        "(default: the certificate's common name)")
    _export_options(export)
    export.set_defaults(func=cmd_export)

    check = sub.add_parser(
        "check-host", help="fetch the chain a live server sends and check it",
        description="Connect to HOST:PORT (default 443), fetch the certificates it sends as "
                    "sent, and check order, completeness, expiry and the name; with --expect, "
                    "whether it serves the certificate in FILE. Exit 1 when a problem is found.",
        epilog="examples:\n  certkit check-host www.example.com\n"
               "  certkit check-host 192.0.2.10:8443 --servername www.example.com "
               "--expect new.crt\n  certkit check-host mail.example.com:25 --starttls smtp")
    check.add_argument("host", metavar="HOST[:PORT]")
    check.add_argument("--expect", metavar="FILE",
                       help="the certificate (or .pfx, keystore, PEM) the server should serve")
    check.add_argument("--starttls", choices=("smtp", "imap", "pop3"),
                       help="upgrade a plain-text mail connection first")
    check.set_defaults(func=cmd_check_host)

    back = sub.add_parser(
        "backup", help="back up keys and certificates into an encrypted, verifiable folder",
        description="Write every key, certificate and chain of the sources into DIR (new or "
                    "empty): one encrypted PKCS#12 (modern profile), the certificates as "
                    "PEM and manifest.json. Keys in .key/.pem files are paired with the "
                    "certificates of the other sources, as in one PEM file; a key without "
                    "its certificate is refused. Protected sources open with the backup "
                    "password unless --source-password-… is given.",
        epilog="example:\n  certkit backup site.pfx tomcat.jks --out-dir backup-2026 "
               "--password-file pass.txt")
    back.add_argument("sources", nargs="+", metavar="SRC")
    # the spelling before one grammar, kept working but not shown
    back.add_argument("--out", dest="out_dir", help=argparse.SUPPRESS)
    back.add_argument("--allow-unpaired", action="store_true",
                      help="back up a key that no source certificate matches (with a warning) "
                           "instead of refusing")
    for old in ("file", "env"):  # the sources' password before one grammar: still works
        back.add_argument(f"--source-password-{old}", action="append",
                          help=argparse.SUPPRESS)
    back.set_defaults(func=cmd_backup)

    verify = sub.add_parser(
        "verify-backup", help="check a backup folder: hashes, password, keys match",
        description="Re-read a backup folder: every file present and unchanged, no file "
                    "added, the PKCS#12 opens with the password, and a trial restore of every "
                    "key entry (key, matching certificate, linked chain) succeeds. Exit 1 "
                    "when anything is wrong.",
        epilog="example:\n  certkit verify-backup backup-2026 --password-file pass.txt")
    verify.add_argument("directory", metavar="DIR")
    verify.set_defaults(func=cmd_verify_backup)

    restore = sub.add_parser(
        "restore", help="write a verified backup out for a server (like export)",
        description="Verify the backup in DIR, then write one key entry in TARGET's layout "
                    "into OUT, as `certkit export` does.",
        epilog="example:\n  certkit restore backup-2026 --for nginx /etc/nginx/tls "
               "--password-file pass.txt")
    restore.add_argument("directory", metavar="DIR")
    restore.add_argument("out", metavar="OUT")
    _export_options(restore)
    restore.set_defaults(func=cmd_restore)
