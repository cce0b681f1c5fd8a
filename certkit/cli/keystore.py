"""``certkit keystore …``: list, import-reply, add-trusted, rename, remove, passwd.

The keytool verbs a Tomcat installer needs, with the two answers keytool does not give:
which alias a CA reply belongs to, and how long (and how complete) each entry's chain
is. Every command that changes a keystore writes it back atomically in its own format;
exit codes follow :mod:`certkit.cli` (0 ok, 1 problem found, 2 usage or input error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
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
    one_password,
    print_json,
    read_password,
    trust_from,
    with_prompt,
)
from certkit.errors import KeyMismatchError

if TYPE_CHECKING:  # the model is imported by the commands that run, not by `certkit --help`
    from certkit._model import Certificate, Entry, KeyStore, Password

__all__ = ["register"]

_TYPES = {"KeyEntry": "PrivateKeyEntry", "TrustedCertEntry": "trustedCertEntry",
          "SecretKeyEntry": "SecretKeyEntry", "OpaqueEntry": "OpaqueEntry"}
_STATUS_TEXT = {
    "complete": "complete",
    "no-root": "ends at a CA certificate whose issuer is not included (fine if that issuer "
               "is a root the clients trust)",
    "leaf-only": "INCOMPLETE: the certificate alone, without its CA chain",
    "self-signed": "self-signed (no CA reply imported yet)",
    "empty": "no certificate",
    "broken": "BROKEN: a certificate is not signed by the next one",
}


def _store_password(args: argparse.Namespace) -> str | None:
    return one_password(args, what="keystore password")


def _description(store: KeyStore) -> str:
    from certkit import formats  # noqa: PLC0415 - only for the description

    return formats.spec(store.format).description if store.format else "unknown format"


def _edit(args: argparse.Namespace, edit: Any) -> KeyStore:
    """Load ``args.keystore``, apply ``edit`` and write it back (asking for a password on a tty)."""
    from certkit._ops.keystore import edit_keystore  # noqa: PLC0415 - keep --help fast

    return with_prompt(lambda pw: edit_keystore(args.keystore, edit, password=pw),
                        _store_password(args), args.keystore)


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _entry_row(entry: Entry, now: dt.datetime) -> dict[str, Any]:
    from certkit._model import KeyEntry, OpaqueEntry, TrustedCertEntry  # noqa: PLC0415
    from certkit._ops.keystore import chain_status  # noqa: PLC0415

    row: dict[str, Any] = {"alias": entry.alias, "type": _TYPES[type(entry).__name__]}
    cert: Certificate | None = None
    if isinstance(entry, KeyEntry):
        status = chain_status(entry.chain)
        row.update(chain_length=len(entry.chain), status=status,
                   complete=entry.chain.is_complete,
                   locked=entry.is_locked and not getattr(entry.key, "deferred", False),
                   missing_issuer=entry.chain.missing_issuer if status != "broken" else None,
                   chain=[c.subject for c in entry.chain])
        cert = entry.certificate
        if entry.chain:
            row["chain_expires"] = min(c.not_after for c in entry.chain).isoformat()
    elif isinstance(entry, TrustedCertEntry):
        cert = entry.certificate
    elif isinstance(entry, OpaqueEntry):
        row.update(kind=entry.kind, reason=entry.reason, certificates=len(entry.chain))
        cert = entry.certificate
    else:
        row.update(algorithm=entry.algorithm, locked=entry.is_locked)
    if cert is not None:
        row.update(subject=cert.subject, expires=cert.not_after.isoformat(),
                   expired=cert.not_after < now, sha256=cert.fingerprint())
    return row


def _write_entry(row: dict[str, Any], path: str, out: TextIO) -> None:
    head = f"{row['alias']}  {row['type']}"
    if "chain_length" in row:
        head += f"  chain length {row['chain_length']}: {_STATUS_TEXT[row['status']]}"
    if "expires" in row:
        head += f"  expires {row['expires'][:10]}{' (EXPIRED)' if row['expired'] else ''}"
    out.write(head + "\n")
    if "subject" in row:
        out.write(f"    {row['subject']}\n")
    for index, subject in enumerate(row.get("chain", [])[1:], start=1):
        out.write(f"    {index}: {subject}\n")
    if "reason" in row:
        out.write(f"    {row['kind']} kept as bytes certkit cannot parse: {row['reason']}\n")
    if row.get("locked"):
        out.write("    key locked under its own key password (listing needs only the store's)\n")
    if row.get("status") == "leaf-only":
        out.write(f"    missing issuer: {row['missing_issuer']}; install the CA's chain: "
                  f"certkit keystore import-reply {path} CHAIN.p7b\n")
    elif row.get("status") == "no-root":
        out.write(f"    issuer not included: {row['missing_issuer']}\n")
    elif row.get("status") == "self-signed":
        out.write("    send a CSR to the CA, then: certkit keystore import-reply "
                  f"{path} REPLY\n")


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore list FILE``: each entry's type, chain length and completeness."""
    import certkit  # noqa: PLC0415

    # Listing needs no key: keys whose password is the store's stay encrypted (no
    # derivation), and only a key with a password of its own is shown as locked.
    store = with_prompt(lambda pw: certkit.load(args.file, password=pw, decrypt_keys=False),
                         _store_password(args), args.file)
    now = dt.datetime.now(dt.timezone.utc)
    rows = [_entry_row(entry, now) for entry in store.entries]
    if args.json:
        print_json({"path": args.file, "format": store.format, "entries": rows,
                     "notes": list(store.notes)}, out)
        return EXIT_OK
    count = len(rows)
    out.write(f"{args.file}: {_description(store)}, {count} entr{'y' if count == 1 else 'ies'}\n")
    for row in rows:
        _write_entry(row, args.file, out)
    for note in store.notes:
        out.write(f"note: {note}\n")
    return EXIT_OK


def cmd_import_reply(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore import-reply KEYSTORE REPLY``: install a CA reply where its key is."""
    from certkit._ops.keystore import (  # noqa: PLC0415
        chain_status,
        import_reply,
        reply_certificates,
        reply_target,
    )

    certs = reply_certificates(args.reply)
    trust = trust_from(args.trust)
    received: list[str] = []

    def edit(store: KeyStore) -> KeyStore:
        received.append(reply_target(store, certs, args.alias).alias)
        return import_reply(store, certs, received[-1], trust=trust)

    try:
        store = _edit(args, edit)
    except KeyMismatchError as err:
        if not args.json:
            raise
        sys.stderr.write(f"certkit: error: {error_message(err)}\n")
        print_json({"ok": False, "error": error_json(err), "keystore": args.keystore,
                     "installed": False, "alias": err.alias,
                     "matching_alias": err.matching_alias}, out)
        return EXIT_ERROR
    entry = next(e for e in store.key_entries if e.alias == received[-1])
    status = chain_status(entry.chain)
    problem = status in ("leaf-only", "broken")
    if args.json:
        print_json({"keystore": args.keystore, "installed": True, "alias": entry.alias,
                     "format": store.format, "chain_length": len(entry.chain),
                     "status": status, "complete": entry.chain.is_complete,
                     "missing_issuer": entry.chain.missing_issuer,
                     "chain": [{"subject": c.subject, "sha256": c.fingerprint()}
                               for c in entry.chain]}, out)
        return EXIT_PROBLEM if problem else EXIT_OK
    out.write(f"installed the reply in entry {entry.alias!r} of {args.keystore} "
              f"({_description(store)}): chain length {len(entry.chain)}, "
              f"{_STATUS_TEXT[status]}\n")
    for index, cert in enumerate(entry.chain):
        out.write(f"  {index}: {cert.subject} (expires {_day(cert.not_after)})\n")
    if problem:
        out.write(f"WARNING: the issuer {entry.chain.missing_issuer} is not in the reply, the "
                  "keystore or --trust, so the server would send the certificate without its "
                  "chain and browsers would say it is not trusted. Import the CA's chain file "
                  f"(certkit keystore import-reply {args.keystore} CHAIN.p7b), or add the "
                  "intermediate and root with `certkit keystore add-trusted` and import again\n")
    return EXIT_PROBLEM if problem else EXIT_OK


def cmd_add_trusted(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore add-trusted KEYSTORE CERT``: add a CA certificate as a trusted entry."""
    import certkit  # noqa: PLC0415
    from certkit._ops.keystore import add_trusted  # noqa: PLC0415

    certs = certkit.load(args.cert).certificates
    if len(certs) != 1:
        raise UsageError(f"{args.cert} holds {len(certs)} certificates; add-trusted adds one "
                         "at a time (to install a CA reply with its chain on a key, use "
                         "`certkit keystore import-reply`)")
    before: set[str] = set()

    def edit(store: KeyStore) -> KeyStore:
        before.update(store.aliases)
        return add_trusted(store, certs[0], args.alias)

    store = _edit(args, edit)
    alias = next(a for a in store.aliases if a not in before)
    if args.json:
        print_json({"keystore": args.keystore, "alias": alias, "subject": certs[0].subject,
                     "sha256": certs[0].fingerprint(), "entries": len(store)}, out)
        return EXIT_OK
    out.write(f"added {certs[0].subject} to {args.keystore} as trusted certificate {alias!r} "
              f"({len(store)} entr{'y' if len(store) == 1 else 'ies'})\n")
    return EXIT_OK


def cmd_rename(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore rename KEYSTORE OLD NEW``: change an entry's alias."""
    from certkit._ops.keystore import rename  # noqa: PLC0415

    _edit(args, lambda store: rename(store, args.old, args.new))
    if args.json:
        print_json({"keystore": args.keystore, "old": args.old, "new": args.new}, out)
        return EXIT_OK
    out.write(f"renamed entry {args.old!r} to {args.new!r} in {args.keystore}\n")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore remove KEYSTORE ALIAS``: delete an entry (a key only with --force)."""
    from certkit._model import KeyEntry  # noqa: PLC0415
    from certkit._ops.keystore import remove, resolve_alias  # noqa: PLC0415

    removed: list[Entry] = []

    def edit(store: KeyStore) -> KeyStore:
        entry = store[resolve_alias(store, args.alias)]
        if isinstance(entry, KeyEntry) and not args.force:
            raise UsageError(
                f"entry {args.alias!r} holds a private key; removing it destroys the key unless "
                "you have a copy (a certificate is useless without it). Back it up first "
                "(`certkit backup`), then pass --force")
        removed.append(entry)
        return remove(store, entry.alias)

    store = _edit(args, edit)
    kind = _TYPES[type(removed[0]).__name__]
    if args.json:
        print_json({"keystore": args.keystore, "removed": args.alias, "type": kind,
                     "entries": len(store)}, out)
        return EXIT_OK
    out.write(f"removed {kind} {args.alias!r} from {args.keystore} ({len(store)} "
              f"entr{'y' if len(store) == 1 else 'ies'} left)\n")
    return EXIT_OK


def _new_password(file: str | None, env: str | None, what: str) -> str | None:
    """A new password from a file or variable, or asked twice on a terminal."""
    given = read_password(file, env, what)
    if given is not None or file or env or not sys.stdin.isatty():
        return given
    first = ask_password(f"{what.capitalize()}: ")
    if first != ask_password(f"{what.capitalize()} again: "):
        raise UsageError(f"the two {what}s differ; nothing was changed")
    return first


def cmd_passwd(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit keystore passwd KEYSTORE``: change the store password and/or a key's password."""
    from certkit._ops.keystore import change_password  # noqa: PLC0415

    old = _store_password(args)
    if args.alias is None and (args.key_password_file or args.key_password_env
                               or args.new_key_password_file or args.new_key_password_env):
        raise UsageError("--key-password-… and --new-key-password-… need --alias")
    new_key: str | None = None
    key_passwords: dict[str, Password] = {}
    if args.alias is not None:
        # ALIAS=FILE as everywhere; a bare FILE is the --alias entry's (the older form)
        key_passwords.update(key_passwords_from(
            [v if "=" in v else f"{args.alias}={v}" for v in args.key_password_file or ()],
            [v if "=" in v else f"{args.alias}={v}" for v in args.key_password_env or ()]))
        new_key = _new_password(args.new_key_password_file, args.new_key_password_env,
                                "new key password")
        if new_key is None:
            raise UsageError("--alias changes a key password: give --new-key-password-file or "
                             "--new-key-password-env")
    new = (_new_password(args.new_password_file, args.new_password_env, "new keystore password")
           if args.alias is None or args.new_password_file or args.new_password_env else None)
    if new is None and new_key is None:
        raise UsageError("nothing to change: give --new-password-file or --new-password-env "
                         "(and/or --alias with --new-key-password-…)")
    changes = {args.alias: new_key} if args.alias is not None and new_key is not None else {}
    store = with_prompt(
        lambda pw: change_password(args.keystore, old=pw, new=new, key_passwords=key_passwords,
                                   new_key_passwords=changes),
        old, args.keystore)
    changed = (["store password"] if new is not None else []) + [
        f"key password of {alias!r}" for alias in changes]
    kept = [e.alias for e in store.key_entries if e.is_locked and e.alias not in changes]
    if args.json:
        print_json({"keystore": args.keystore, "format": store.format,
                     "store_password_changed": new is not None,
                     "key_passwords_changed": list(changes),
                     "own_key_passwords_kept": kept}, out)
        return EXIT_OK
    out.write(f"changed the {' and the '.join(changed)} of {args.keystore} "
              f"({_description(store)})\n")
    for alias in kept:
        out.write(f"  entry {alias!r} keeps its own key password (change it with --alias "
                  f"{alias} --key-password-… --new-key-password-…)\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``certkit keystore`` and its sub-commands to the ``certkit`` sub-command parser."""

    keystore = sub.add_parser(
        "keystore", help="keytool's jobs: list chains, import a CA reply, add, rename, remove, "
                         "change passwords",
        description="Work on a Java keystore (JKS, JCEKS) or PKCS#12 the way keytool does, "
                    "and say what keytool does not: which alias a CA reply belongs to, and "
                    "how long and complete each entry's chain is. Changes are written back "
                    "atomically in the keystore's own format.",
        epilog="examples:\n  certkit keystore list tomcat.jks --password-env STOREPASS\n"
               "  certkit keystore import-reply tomcat.jks reply.p7b --password-env STOREPASS")
    commands = sub.nested(keystore, "keystore", "keystore_command")

    def command(name: str, help_text: str, description: str, example: str) -> Any:
        parser = commands.add_parser(name, help=help_text, description=description,
                                     epilog=f"example:\n  {example}")
        if name != "list":
            parser.add_argument("keystore", metavar="KEYSTORE")
        return parser

    listing = command(
        "list", "entries with their type, chain length and completeness (keytool -list)",
        "List every entry: alias, type, chain length and whether the chain is complete, "
        "and when it expires. A key entry with chain length 1 that is not self-signed is "
        "missing its CA chain.",
        "certkit keystore list tomcat.jks --password-env STOREPASS")
    listing.add_argument("file", metavar="FILE")
    listing.set_defaults(func=cmd_list)

    reply = command(
        "import-reply", "install a CA reply in the entry whose key it belongs to",
        "Install the CA's reply (.cer/.crt/.pem or a .p7b chain) in the key entry whose "
        "public key it certifies, whatever --alias says; a wrong --alias is an error naming "
        "the right one. The chain is completed from the reply, the keystore's trusted "
        "certificates and --trust. Exit 1 if the chain stays the certificate alone.",
        "certkit keystore import-reply tomcat.jks reply.p7b --password-env STOREPASS")
    reply.add_argument("reply", metavar="REPLY")
    reply.set_defaults(func=cmd_import_reply)

    trusted = command(
        "add-trusted", "add a CA certificate as a trusted entry (keytool -importcert)",
        "Add one certificate as a trusted certificate entry; the alias defaults to its "
        "common name, lower-case with hyphens. A certificate already present is refused.",
        "certkit keystore add-trusted tomcat.jks issuing-ca.crt --password-env STOREPASS")
    trusted.add_argument("cert", metavar="CERT")
    trusted.set_defaults(func=cmd_add_trusted)

    ren = command("rename", "change an entry's alias (keytool -changealias)",
                  "Rename entry OLD to NEW; Java aliases ignore case, so NEW must differ from "
                  "every other alias in more than case.",
                  "certkit keystore rename tomcat.jks mykey tomcat --password-env STOREPASS")
    ren.add_argument("old", metavar="OLD")
    ren.add_argument("new", metavar="NEW")
    ren.set_defaults(func=cmd_rename)

    rem = command("remove", "delete an entry (keytool -delete)",
                  "Delete the entry ALIAS. Deleting a private key needs --force: a "
                  "certificate is useless without its key.",
                  "certkit keystore remove tomcat.jks old-root --password-env STOREPASS")
    rem.add_argument("alias", metavar="ALIAS")
    rem.add_argument("--force", action="store_true",
                     help="also delete a private key entry")
    rem.set_defaults(func=cmd_remove)

    pw = command(
        "passwd", "change the keystore password or a key's password",
        "Change the store password (--new-password-…) and, in a JKS or JCEKS, one key's "
        "own password (--alias with --new-key-password-…). Keys that were under the store "
        "password follow it, as Tomcat expects; a PKCS#12 has only the store password.",
        "certkit keystore passwd tomcat.jks --password-env OLD --new-password-env NEW")
    pw.set_defaults(func=cmd_passwd)

