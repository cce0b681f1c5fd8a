"""The ``certkit`` command: parse arguments, read, make one library call, write.

Every command maps to one library call; :func:`main` is the one place that turns a
:class:`~certkit.errors.CertkitError` into ``certkit: error: …`` and an exit code
(0 ok, 1 problem found, 2 usage or input error). Passwords never come from argv.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar, cast

from certkit.errors import CertkitError, Hint, PasswordError, hints_in

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from certkit._ops.api import (
        BatchConversionReport,
        ConversionFailure,
        ConversionReport,
        Passwords,
    )

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_ERROR = 2

T = TypeVar("T")


def _prompt(prompt: str) -> str:
    """Ask for a password on the terminal (getpass is imported only when one is needed)."""
    import getpass  # noqa: PLC0415

    return getpass.getpass(prompt)


class UsageError(CertkitError):
    """A command-line argument is wrong (exit code 2)."""


def _terminal_columns() -> int:
    """What :func:`shutil.get_terminal_size` reports as the width: ``$COLUMNS``, the
    terminal's width, or 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every command's help: descriptions and examples as written, wrapped to the terminal.

    argparse builds a formatter for every ``add_argument`` (to check its metavar) and each
    one would import :mod:`shutil` (and with it zlib, bz2 and lzma) to ask for the terminal
    width; a command that never prints help should not pay for that, so the width is found
    here, the same way.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() - 2 if width is None else width)


#: Longest first line of a password file (a password, not a document).
_MAX_PASSWORD_FILE_LINE = 64 * 1024


def _single(values: str | Sequence[str] | None, what: str) -> str | None:
    """The one value of a password option (repeatable for the commands that read many files)."""
    if values is None or isinstance(values, str):
        return values
    if len(values) > 1:
        raise UsageError(f"this command takes one {what}, not {len(values)}")
    return values[0] if values else None


def _read_password(file: str | Sequence[str] | None, env: str | Sequence[str] | None,
                   what: str) -> str | None:
    file, env = _single(file, what), _single(env, what)
    if file and env:
        raise UsageError(f"give the {what} with only one of --…-file and --…-env")
    if file:
        # The first line only, as the help says (a note on the next line is not part of the
        # password); read as a line, so a pipe (--password-file <(pass show x)) works too.
        try:
            with open(file, "rb") as handle:
                line = handle.readline(_MAX_PASSWORD_FILE_LINE + 1)
        except OSError as err:
            raise UsageError(f"cannot read the {what} file {file}: {err.strerror}") from err
        if len(line) > _MAX_PASSWORD_FILE_LINE and not line.endswith(b"\n"):
            raise UsageError(f"the first line of the {what} file {file} is longer than "
                             f"{_MAX_PASSWORD_FILE_LINE} bytes: not a password")
        try:
            return line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise UsageError(f"the {what} file {file} is not UTF-8 text") from err
    if env:
        if env not in os.environ:
            raise UsageError(f"environment variable {env} (the {what}) is not set")
        return os.environ[env]
    return None


def _target(value: str, kind: str) -> tuple[str | None, str]:
    """``TARGET=FILE`` or ``TARGET=VAR`` split, or ``(None, value)`` without a target.

    A FILE that exists as written is never split (a password file may have ``=`` in its
    name); a variable name never holds ``=``, so VAR is what follows the last one.
    """
    if "=" not in value or (kind == "file" and os.path.isfile(value)):
        return None, value
    target, _, where = value.rpartition("=") if kind == "env" else value.partition("=")
    if not target or not where:
        raise UsageError(f"--password-{kind} takes {kind.upper()} or TARGET={kind.upper()}, "
                         f"not {value!r}")
    return target, where


def _passwords(args: argparse.Namespace, prefix: str = "",
               what: str = "password") -> str | Passwords | None:
    """The passwords of a command that reads several files, from repeated options.

    Every ``--password-file``, then every ``--password-env``, in the order given, is a
    candidate tried in turn on each file; ``TARGET=FILE`` (``TARGET=VAR``) pins a password
    to the files whose path or name is TARGET and to the keystore entries whose alias is.
    One plain value is just the password.
    """
    values = [(v, "file") for v in getattr(args, f"{prefix}password_file", None) or ()]
    values += [(v, "env") for v in getattr(args, f"{prefix}password_env", None) or ()]
    candidates: list[str] = []
    pinned: dict[str, str] = {}
    for value, kind in values:
        target, where = _target(value, kind)
        password = _read_password(where if kind == "file" else None,
                                  where if kind == "env" else None,
                                  what if target is None else f"{what} of {target}") or ""
        if target is None:
            candidates.append(password)
        else:
            pinned[target] = password
    if not pinned and len(candidates) <= 1:
        return candidates[0] if candidates else None
    from certkit._ops.api import Passwords  # noqa: PLC0415

    return Passwords(candidates, pinned)


def _key_passwords(files: Sequence[str] | None, envs: Sequence[str] | None) -> dict[str, str]:
    """Per-alias key passwords from ``ALIAS=FILE`` and ``ALIAS=VAR`` option values."""
    found: dict[str, str] = {}
    for values, kind in ((files or (), "file"), (envs or (), "env")):
        for value in values:
            alias, sep, where = value.partition("=")
            if not sep or not alias or not where:
                raise UsageError(f"--key-password-{kind} takes ALIAS={kind.upper()}, "
                                 f"not {value!r}")
            password = _read_password(where if kind == "file" else None,
                                      where if kind == "env" else None,
                                      f"key password of {alias!r}")
            found[alias] = password or ""
    return found


def _add_key_password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key-password-file", action="append", metavar="ALIAS=FILE",
                        help="the key password of one Java keystore entry, from FILE "
                             "(repeatable; entries without one stay locked)")
    parser.add_argument("--key-password-env", action="append", metavar="ALIAS=VAR",
                        help="the key password of one entry, from environment variable VAR")


# -- the shared options (one grammar: docs/cli.md, tests/test_cli_grammar.py) ---------------

_TRUST_HELP = ("trusted roots: a PEM bundle or folder, 'system' or 'certifi' (repeatable); "
               "default: the system trust store; 'none' judges by the given files alone")


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output: one JSON document on stdout, errors "
                             "included")


def _add_force(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument("--force", action="store_true",
                        help=help_text or "replace output files that exist")


def _add_trust(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="append", metavar="STORE", help=_TRUST_HELP)


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds the network part may take in all: connecting, "
                             "handshakes, downloads, redirects (default 10)")


def _add_fetch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fetch", action="store_true",
                        help="download missing issuers from the certificates' AIA http URLs")
    _add_timeout(parser)


def _add_alias(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alias", metavar="ALIAS",
                        help="the keystore entry the command is about (see the command's "
                             "description)")


def _add_servername(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--servername", metavar="NAME",
                        help="the site's name: sent as SNI when connecting, and the name the "
                             "certificate must cover (default: HOST unless an IP address)")


def _add_expiring(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--expiring", default="30d", metavar="DURATION",
                        help="certificates that end within DURATION are expiring "
                             "(default 30d)")


def _add_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=("modern", "legacy", "pbmac1"),
                        help="PKCS#12 protection: modern (default), legacy (Windows Server "
                             "2016 and older, Java before 8u301) or pbmac1")


def _add_out_dir(parser: argparse.ArgumentParser, *, required: bool = False,
                 old: str | None = None) -> None:
    parser.add_argument("--out-dir", metavar="DIR", required=required,
                        help="write the output files into folder DIR")
    if old is not None:  # the spelling before one grammar, kept working but not shown
        parser.add_argument(old, dest="out_dir", help=argparse.SUPPRESS)


def _host_port(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` as given to check-host and doctor --host
    (port 443 when none is given); text after ``]`` is read as the port."""
    host, port = text, 443
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), text)
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = _port(number, text)
    if not host:
        raise UsageError(f"no host name in {text!r}; write HOST or HOST:PORT")
    return host, port


def _port(number: str, text: str) -> int:
    if not number.isdigit() or not 0 < int(number) < 65536:
        raise UsageError(f"bad port in {text!r}; write HOST:PORT with PORT 1-65535")
    return int(number)


def _trust(values: Sequence[str] | None, *, required: bool = False) -> Any:
    """What ``--trust`` values mean: the system store by default, ``none`` for no store."""
    if not values:
        return "system"
    if any(value.lower() == "none" for value in values):
        if len(values) > 1 or required:
            raise UsageError("--trust none judges by the given files alone; it cannot be "
                             "combined with other stores" if len(values) > 1 else
                             "this command needs trusted roots; --trust none is not possible")
        return None
    if len(values) == 1:
        return values[0]
    from certkit._ops.chains import CertificatePool, trust_pool  # noqa: PLC0415

    pool = CertificatePool()
    for value in values:
        resolved = trust_pool(value)
        if resolved is not None:
            for cert in resolved:
                pool.add(cert, origin=resolved.origin(cert))
    return pool


def _one_password(args: argparse.Namespace, prefix: str = "",
                  what: str = "password") -> str | None:
    """The one password of a command that opens one protected file."""
    found = _passwords(args, prefix, what)
    if found is None or isinstance(found, str):
        return found
    values = [*found.candidates, *found.pinned.values()]
    if len(values) != 1:
        raise UsageError(f"this command opens one protected file: it takes one {what}, "
                         f"not {len(values)}")
    return str(values[0])


def _with_prompt(action: Callable[[Any], T], password: str | Passwords | None, label: str) -> T:
    """Run ``action``; if it needs a password and a terminal is attached, ask and retry once."""
    try:
        return action(password)
    except PasswordError as err:
        if password is not None or not err.missing or not sys.stdin.isatty():
            raise
        return action(_prompt(f"Password for {label}: "))


#: What each password option reads (the same in every command that has it).
_PASSWORD_HELP = {
    "": ("the password of the files the command reads", "[TARGET=]"),
    "new-": ("the password to write with (the new file's, or the keystore's new one)", ""),
    "new-key-": ("the new key password of the --alias entry", ""),
}


def _add_password_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--{prefix}password-file`` and ``-env``; plain ones repeat (docs/cli.md, passwords)."""
    what, target = _PASSWORD_HELP[prefix]
    name = f"{prefix}password"
    repeat = ("; repeatable: candidates tried in turn, TARGET= pins one to a file (path or "
              "name) or an entry (alias)") if not prefix else ""
    parser.add_argument(f"--{name}-file", action="append", metavar=f"{target}FILE",
                        help=f"{what}, from FILE (first line){repeat}")
    parser.add_argument(f"--{name}-env", action="append", metavar=f"{target}VAR",
                        help=f"{what}, from environment variable VAR"
                             f"{'; repeatable like --password-file' if repeat else ''}")
    if not prefix:  # every command that reads files takes their password this way
        parser.add_argument("--max-work", type=_positive_int, metavar="UNITS",
                            help="allow a file this much password-based key derivation "
                                 "(default 3000000 hash units, about a second; raise it only "
                                 "for files you trust)")


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return value


def _print_json(data: object, out: TextIO) -> None:
    import json  # noqa: PLC0415 - only --json needs it

    # One write, so the output filter (:class:`_CallerWords`) sees whole phrases.
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# -- errors in the caller's language ---------------------------------------------------------

_SWITCHES = {"overwrite": "--force", "allow_incomplete": "--allow-incomplete",
             "allow_loss": "--allow-loss", "allow_unpaired": "--allow-unpaired",
             "bag_attributes": "--bag-attributes", "build_chain": "`certkit chain --complete`",
             "alias": "--alias ALIAS", "sans": "--san NAME",
             "source_passwords": "--source-password-file FILE"}


def option_for(hint: Hint) -> str:
    """The command-line option that applies ``hint`` (the library words it as Python)."""
    if hint.parameter == "password":
        new = "new-" if hint.output else ""
        return f"--{new}password-file FILE or --{new}password-env VAR"
    if hint.parameter == "key_passwords":
        import shlex  # noqa: PLC0415 - only for an error message

        alias = "ALIAS" if hint.alias is None else shlex.quote(hint.alias)
        return f"--key-password-file {alias}=FILE"
    if hint.parameter == "max_work":
        return f"--max-work {hint.value}"
    if hint.parameter == "no_password":
        return "no --password-file or --password-env"
    return _SWITCHES.get(hint.parameter, f"--{hint.parameter.replace('_', '-')}")


def caller_words(text: str, hints: Sequence[Hint] = ()) -> str:
    """``text`` with every fix the library spells as Python spelled as its option.

    ``hints`` (an error's own, which know more: an output password, a file) go first;
    then any phrase :attr:`Hint.api` writes, found again in text that a report has
    already flattened (a scan's unreadable files, a batch's failures).
    """
    for hint in hints:
        text = text.replace(hint.api, option_for(hint))
    found = hints_in(text)
    for (start, end), hint in reversed(found):
        text = text[:start] + option_for(hint) + text[end:]
    return text


def error_message(err: CertkitError) -> str:
    """The one line ``certkit: error: …`` says about ``err``, in the command line's words."""
    return caller_words(str(err), err.hints())


def error_json(err: CertkitError) -> dict[str, Any]:
    """``err`` as the ``error`` object ``--json`` prints (docs/cli.md has its fields)."""
    path = next((value for name in ("path", "source", "url")
                 if isinstance(value := getattr(err, name, None), str)), None)
    hint = err.hint or next(iter(err.hints()), None)
    return {"type": type(err).__name__, "message": error_message(err), "path": path,
            "alias": getattr(err, "alias", None),
            "hint": None if hint is None else {**hint.as_dict(), "option": option_for(hint)}}


class _CallerWords:
    """Standard output, with the library's Python phrases in every line spelled as options."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(caller_words(text) if "=" in text or "build_chain" in text
                        or "source_passwords" in text else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


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

    password = _passwords(args)
    key_passwords = _key_passwords(args.key_password_file, args.key_password_env)
    results = []
    for path in args.files:
        def load(pw: str | Passwords | None, p: str = path) -> certkit.KeyStore:
            return certkit.load(p, password=pw, key_passwords=key_passwords)

        store = _with_prompt(load, password, path)
        info = describe(store, trust=_trust(args.trust))
        results.append({"path": path, **info})
        if not args.json:
            _human_inspect(path, info, out)
    if args.json:
        _print_json({"files": results}, out)
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
        retry = convert(unopened, _prompt("Password for the input files: "))
        batch = BatchConversionReport(
            converted=batch.converted + retry.converted,
            failed=tuple(f for f in batch.failed if f.source not in unopened) + retry.failed)
    order = {path: index for index, path in enumerate(args.paths)}
    results: list[ConversionReport | ConversionFailure] = sorted(
        [*batch.converted, *batch.failed], key=lambda r: order.get(r.source, len(order)))
    if args.json:
        _print_json([{"ok": True, **_report_json(r)} if isinstance(r, ConversionReport)
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
    password = _read_password(args.password_file, args.password_env, "password")
    written: list[str] = []
    for path in args.paths:
        def load(pw: str | None, p: str = path) -> certkit.KeyStore:
            return certkit.load(p, password=pw)

        store = _with_prompt(load, password, path)
        written.extend(str(p) for p in certkit.split_certificates(store, args.out_dir))
    if args.json:
        _print_json({"written": written}, out)
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
    password = _passwords(args)
    new_password = _read_password(args.new_password_file, args.new_password_env, "new password")
    key_passwords = _key_passwords(args.key_password_file, args.key_password_env)
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
    report = _with_prompt(
        lambda pw: certkit.convert(
            source, destination, password=pw, new_password=new_password, format=args.to,
            key_passwords=key_passwords, overwrite=args.force, allow_loss=args.allow_loss,
            **options),
        password, source)
    if args.json:
        _print_json(_report_json(report), out)
    else:
        _human_report(report, out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit demo``: a walk-through on throw-away files."""
    import io  # noqa: PLC0415

    from certkit.cli.demo import run_demo  # noqa: PLC0415

    result = run_demo(io.StringIO() if args.json else out, directory=args.out_dir)
    if args.json:
        _print_json({
            "ok": result.ok,
            "folder": str(result.folder) if result.folder else None,
            "checks": [{"step": c.step, "title": c.title, "check": c.what, "ok": c.ok}
                       for c in result.checks]}, out)
    return EXIT_OK if result.ok else EXIT_PROBLEM


class _Unused:
    """Stands in for the parser of a command this run does not use: every call is a no-op.

    Building every command's parser (a few hundred ``add_argument`` calls) costs more than
    some commands' own work; :func:`main` builds only the one it needs.
    """

    def __getattr__(self, _name: str) -> Callable[..., _Unused]:
        return lambda *_args, **_kwargs: self


class _Commands:
    """The ``add_subparsers`` object, adding only the ``only`` command when one is named."""

    def __init__(self, sub: Any, only: str | None) -> None:
        self._sub = sub
        self._only = only
        self.found = False

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self._only is not None and name != self._only:
            return _Unused()
        self.found = True
        return self._sub.add_parser(name, **kwargs)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors become a JSON error object under ``--json``."""

    json_errors = False  # set by :func:`main` for the run

    def error(self, message: str) -> NoReturn:
        if _ArgumentParser.json_errors:
            raise UsageError(f"{self.prog}: {message}")
        super().error(message)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: for every command, or only for ``command`` when it exists."""
    parser, found = _build_parser(command)
    return parser if found else _build_parser(None)[0]


def _build_parser(command: str | None) -> tuple[argparse.ArgumentParser, bool]:
    parser = _ArgumentParser(
        prog="certkit",
        description="Inspect and convert certificates, keys and keystores "
                    "(PEM, DER, PKCS#7, PKCS#12/PFX, JKS, JCEKS).",
        epilog="examples:\n  certkit demo\n  certkit inspect site.pfx --password-env PFX_PASS\n"
               "  certkit convert site.pfx site.pem --password-file pass.txt",
        formatter_class=HelpFormatter,
    )
    from certkit._version import __version__  # noqa: PLC0415

    parser.add_argument("--version", action="version", version=f"certkit {__version__}")
    sub = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True),
                    command)
    # Only the module of the command being run is imported; --help imports them all.
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module in wanted:
        if module == __name__:
            _register_core(sub)
        else:
            import importlib  # noqa: PLC0415 - loaded by the interpreter already

            importlib.import_module(module).register(sub)
    return parser, sub.found


#: The command table: every command and the module whose ``register`` adds its parser,
#: in the order ``certkit --help`` lists them.
COMMANDS: dict[str, str] = {
    "inspect": __name__, "convert": __name__, "demo": __name__,
    **dict.fromkeys(("match", "modulus", "find-key", "chain", "verify", "request"),
                    "certkit.cli.toolkit"),
    **dict.fromkeys(("export", "check-host", "backup", "verify-backup", "restore"),
                    "certkit.cli.ops"),
    "keystore": "certkit.cli.keystore",
    "doctor": "certkit.cli.diagnose", "scan": "certkit.cli.diagnose",
    "check-page": "certkit.cli.page",
}


def _register_core(sub: Any) -> None:
    """Add ``inspect``, ``convert`` and ``demo``, the commands this module runs itself."""
    inspect = sub.add_parser(
        "inspect", help="show what files hold (format, entries, chains, dates, fingerprints)",
        description="Show what each file holds; the format is detected from the content.",
        epilog="examples:\n  certkit inspect server.cer chain.p7b\n"
               "  certkit inspect keystore.jks --password-env STOREPASS --json",
        formatter_class=HelpFormatter)
    inspect.add_argument("files", nargs="+", metavar="FILE")
    _add_trust(inspect)
    _add_json(inspect)
    _add_password_options(inspect)
    _add_key_password_options(inspect)
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
               "  certkit convert ca-bundle.pem --out-dir cas --split",
        formatter_class=HelpFormatter)
    convert.add_argument("paths", nargs="+", metavar="IN",
                         help="the input file(s); without --out-dir, IN then OUT")
    convert.add_argument("--out-dir", metavar="DIR",
                         help="write the output files into folder DIR")
    convert.add_argument("--to", metavar="FORMAT",
                         help="output format: pem, der, pkcs7, pkcs12, jks, jceks, kubernetes "
                              "(a TLS Secret manifest; never chosen by a .yaml name alone)")
    _add_force(convert)
    convert.add_argument("--allow-loss", action="store_true",
                         help="write even if the output format cannot hold everything "
                              "(what was dropped is listed)")
    _add_profile(convert)
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
    _add_json(convert)
    _add_password_options(convert)
    _add_key_password_options(convert)
    _add_password_options(convert, "new-")
    convert.set_defaults(func=cmd_convert)

    demo = sub.add_parser(
        "demo", help="walk through certkit on a throw-away CA, intermediate and server certificate",
        description="Create a throw-away CA, intermediate and server certificate in a temporary "
                    "folder and show, with the real files, what certkit does. Nothing is "
                    "written elsewhere unless --out-dir is given (a new or empty folder, "
                    "kept); no network is used. With --json, only the checks and their "
                    "outcome are printed.",
        epilog="examples:\n  certkit demo\n  certkit demo --out-dir demo   # keep the files\n"
               "  certkit demo --json      # the checks, for a smoke test",
        formatter_class=HelpFormatter)
    _add_out_dir(demo, old="--out")
    _add_json(demo)
    demo.set_defaults(func=cmd_demo)


def run() -> int:
    """The ``certkit`` console script and ``python -m certkit``: :func:`main` in a process
    of its own, which it tunes for a short life.

    What exists now (the interpreter, this module) lives until exit, so the garbage
    collector is told to stop re-examining it (``gc.freeze``), and it runs its youngest
    pass every 7,000 new objects rather than 700: a command builds thousands of objects that
    all stay alive (a keystore's entries), and each pass over them was wasted. Cycles are
    still collected (docs/benchmarks.md has what it saves).
    :func:`main` itself leaves the collector alone, for programs and tests that call it.
    """
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
    return main()


def _run_command(args: argparse.Namespace, out: TextIO) -> int:
    max_work = getattr(args, "max_work", None)
    if max_work is None:
        result: int = args.func(args, out)
        return result
    from certkit._crypto.budget import work_limit  # noqa: PLC0415 - only with --max-work

    with work_limit(max_work):
        limited: int = args.func(args, out)
        return limited


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code.

    This is the one place a :class:`~certkit.errors.CertkitError` becomes an exit code
    (2) and ``certkit: error: …`` on stderr, its fix spelled as an option; under
    ``--json`` standard output then holds only ``{"ok": false, "error": {…}}``.
    """
    out = out or sys.stdout
    words = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in words[:words.index("--")] if "--" in words else "--json" in words
    # Under --json a command's output is held back until it succeeds, so an error leaves
    # nothing on stdout but the error object.
    held = io.StringIO() if json_mode else None
    try:
        # The first word names the command (the top level has only --help and --version);
        # an option there, an unknown command or none at all gets the full parser.
        parser = build_parser(words[0] if words and not words[0].startswith("-") else None)
        _ArgumentParser.json_errors = json_mode
        try:
            args = parser.parse_args(words)
        finally:
            _ArgumentParser.json_errors = False
        writer = cast(TextIO, _CallerWords(held if held is not None else out))
        code: int = _run_command(args, writer)
    except CertkitError as err:
        sys.stderr.write(f"certkit: error: {error_message(err)}\n")
        if json_mode:
            _print_json({"ok": False, "error": error_json(err)}, out)
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("certkit: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`certkit inspect … | head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    if held is not None:
        out.write(held.getvalue())
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
