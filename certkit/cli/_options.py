"""The options several commands share, each defined once as an argparse parent parser.

A command names the groups it takes in the command table (:data:`certkit.cli.COMMANDS`);
its parser is built with their parent parsers, so ``--json`` or ``--password-file`` is one
definition with one help text everywhere (docs/cli.md, "One grammar";
tests/test_cli_grammar.py checks the result). What only one command takes, it adds itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from certkit.cli._shell import HelpFormatter, positive_int

__all__ = ["GROUPS", "parents"]

_TRUST_HELP = ("trusted roots: a PEM bundle or folder, 'system' or 'certifi' (repeatable); "
               "default: the system trust store; 'none' judges by the given files alone")

#: What each password option reads (the same in every command that has it).
_PASSWORD_HELP = {
    "": ("the password of the files the command reads", "[TARGET=]"),
    "new-": ("the password to write with (the new file's, or the keystore's new one)", ""),
    "new-key-": ("the new key password of the --alias entry", ""),
}


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output: one JSON document on stdout, errors "
                             "included")


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace output files that exist")


def _trust(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="append", metavar="STORE", help=_TRUST_HELP)


def _timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds the network part may take in all: connecting, "
                             "handshakes, downloads, redirects (default 10)")


def _fetch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fetch", action="store_true",
                        help="download missing issuers from the certificates' AIA http URLs "
                             "(within --timeout)")


def _alias(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alias", metavar="ALIAS",
                        help="the keystore entry the command is about (see the command's "
                             "description)")


def _servername(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--servername", metavar="NAME",
                        help="the site's name: sent as SNI when connecting, and the name the "
                             "certificate must cover (default: HOST unless an IP address)")


def _expiring(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--expiring", default="30d", metavar="DURATION",
                        help="certificates that end within DURATION are expiring "
                             "(default 30d)")


def _profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=("modern", "legacy", "pbmac1"),
                        help="PKCS#12 protection: modern (default), legacy (Windows Server "
                             "2016 and older, Java before 8u301) or pbmac1")


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE",
                        help="write the result to FILE (its format from the extension)")


def _out_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", metavar="DIR", help="write the output files into folder DIR")


def _key_passwords(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key-password-file", action="append", metavar="ALIAS=FILE",
                        help="the key password of one Java keystore entry, from FILE "
                             "(repeatable; entries without one stay locked)")
    parser.add_argument("--key-password-env", action="append", metavar="ALIAS=VAR",
                        help="the key password of one entry, from environment variable VAR")


def _passwords(prefix: str) -> Callable[[argparse.ArgumentParser], None]:
    """``--{prefix}password-file`` and ``-env``; plain ones repeat (docs/cli.md, passwords)."""
    what, target = _PASSWORD_HELP[prefix]
    name = f"{prefix}password"
    repeat = ("; repeatable: candidates tried in turn, TARGET= pins one to a file (path or "
              "name) or an entry (alias)") if not prefix else ""

    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(f"--{name}-file", action="append", metavar=f"{target}FILE",
                            help=f"{what}, from FILE (first line){repeat}")
        parser.add_argument(f"--{name}-env", action="append", metavar=f"{target}VAR",
                            help=f"{what}, from environment variable VAR"
                                 f"{'; repeatable like --password-file' if repeat else ''}")
        if not prefix:  # every command that reads files takes their password this way
            parser.add_argument("--max-work", type=positive_int, metavar="UNITS",
                                help="allow a file this much password-based key derivation "
                                     "(default 3000000 hash units, about a second; raise it "
                                     "only for files you trust)")
    return add


#: Every shared option group by the name the command table uses.
GROUPS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "json": _json, "force": _force, "trust": _trust, "timeout": _timeout, "fetch": _fetch,
    "alias": _alias, "servername": _servername, "expiring": _expiring, "profile": _profile,
    "out": _out, "out-dir": _out_dir, "passwords": _passwords(""), "key-passwords": _key_passwords,
    "new-passwords": _passwords("new-"), "new-key-passwords": _passwords("new-key-"),
}

_built: dict[str, argparse.ArgumentParser] = {}


def parents(names: tuple[str, ...]) -> list[argparse.ArgumentParser]:
    """The parent parsers of the groups ``names``, each built once per process."""
    found = []
    for name in names:
        parser = _built.get(name)
        if parser is None:
            # Our formatter: argparse's own imports shutil to ask for the terminal width.
            parser = _built[name] = argparse.ArgumentParser(add_help=False,
                                                            formatter_class=HelpFormatter)
            GROUPS[name](parser)
        found.append(parser)
    return found
