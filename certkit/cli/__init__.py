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
from typing import Any, NoReturn, TextIO, cast

from certkit.cli._shell import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PROBLEM,
    CallerWords,
    HelpFormatter,
    UsageError,
    error_json,
    error_message,
    print_json,
)
from certkit.errors import CertkitError

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_OK", "EXIT_PROBLEM", "UsageError", "build_parser",
           "main", "run"]


class _Unused:
    """Stands in for the parser of a command this run does not use: every call is a no-op.

    Building every command's parser (a few hundred ``add_argument`` calls) costs more than
    some commands' own work; :func:`main` builds only the one it needs.
    """

    def __getattr__(self, _name: str) -> Callable[..., _Unused]:
        return lambda *_args, **_kwargs: self


class _Commands:
    """The ``add_subparsers`` object of one level (``certkit`` or ``certkit keystore``).

    ``add_parser`` gives each command the parent parsers of the option groups the command
    table names for it, and the help formatter; when one command is named (``only``), the
    others get an :class:`_Unused` stand-in.
    """

    def __init__(self, sub: Any, only: str | None, prefix: str = "") -> None:
        self._sub = sub
        self._only = only
        self._prefix = prefix
        self.found = False

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self._only is not None and name != self._only:
            return _Unused()
        self.found = True
        from certkit.cli._options import parents  # noqa: PLC0415 - not for --version

        groups = COMMANDS[f"{self._prefix}{name}"][1]
        return self._sub.add_parser(name, parents=parents(groups),
                                    formatter_class=HelpFormatter, **kwargs)

    def nested(self, parser: argparse.ArgumentParser, name: str, dest: str) -> _Commands:
        """The sub-commands of command ``name`` (``keystore list``…), built the same way."""
        sub = parser.add_subparsers(dest=dest, metavar="COMMAND", required=True)
        return _Commands(sub, None, f"{name} ")


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
    import importlib  # noqa: PLC0415 - loaded by the interpreter already

    wanted = ([COMMANDS[command][0]] if command in COMMANDS
              else list(dict.fromkeys(module for module, _ in COMMANDS.values())))
    for module in wanted:
        importlib.import_module(module).register(sub)
    return parser, sub.found


_JSON_PASSWORDS = ("json", "passwords")

#: The command table: every command (``keystore list`` for a sub-command), the module
#: whose ``register`` adds its parser, and the shared option groups it takes
#: (:mod:`certkit.cli._options`), in the order ``certkit --help`` lists them.
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "inspect": ("certkit.cli.core", ("trust", "json", "passwords", "key-passwords")),
    "convert": ("certkit.cli.core", ("out-dir", "force", "profile", "json", "passwords",
                                     "key-passwords", "new-passwords")),
    "demo": ("certkit.cli.core", ("out-dir", "json")),
    "match": ("certkit.cli.toolkit", _JSON_PASSWORDS),
    "modulus": ("certkit.cli.toolkit", _JSON_PASSWORDS),
    "find-key": ("certkit.cli.toolkit", _JSON_PASSWORDS),
    "chain": ("certkit.cli.toolkit", ("trust", "fetch", "timeout", "out", "force", "json",
                                      "passwords")),
    "verify": ("certkit.cli.toolkit", ("trust", "servername", "json", "passwords")),
    "request": ("certkit.cli.toolkit", ("json", "new-passwords", "passwords")),
    "export": ("certkit.cli.ops", ("trust", "out-dir", "fetch", "timeout", "alias", "force",
                                   "profile", "json", "new-passwords", "passwords")),
    "check-host": ("certkit.cli.ops", ("servername", "trust", "timeout", "json", "passwords")),
    "backup": ("certkit.cli.ops", ("out-dir", "json", "passwords", "new-passwords")),
    "verify-backup": ("certkit.cli.ops", _JSON_PASSWORDS),
    "restore": ("certkit.cli.ops", ("alias", "force", "profile", "json", "new-passwords",
                                    "passwords")),
    "keystore": ("certkit.cli.keystore", ()),
    "keystore list": ("certkit.cli.keystore", _JSON_PASSWORDS),
    "keystore import-reply": ("certkit.cli.keystore", ("alias", "trust", *_JSON_PASSWORDS)),
    "keystore add-trusted": ("certkit.cli.keystore", ("alias", *_JSON_PASSWORDS)),
    "keystore rename": ("certkit.cli.keystore", _JSON_PASSWORDS),
    "keystore remove": ("certkit.cli.keystore", _JSON_PASSWORDS),
    "keystore passwd": ("certkit.cli.keystore", ("alias", "new-passwords", "key-passwords",
                                                 "new-key-passwords", *_JSON_PASSWORDS)),
    "doctor": ("certkit.cli.diagnose", ("servername", "alias", "expiring", "timeout", "trust",
                                        "json", "passwords")),
    "scan": ("certkit.cli.diagnose", ("expiring", "trust", "out", "force", "json",
                                      "passwords")),
    "check-page": ("certkit.cli.page", ("trust", "timeout", "json")),
}


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
        writer = cast(TextIO, CallerWords(held if held is not None else out))
        code: int = _run_command(args, writer)
    except CertkitError as err:
        sys.stderr.write(f"certkit: error: {error_message(err)}\n")
        if json_mode:
            print_json({"ok": False, "error": error_json(err)}, out)
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
