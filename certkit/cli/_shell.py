"""What every command shares at run time: exit codes, passwords, trust, JSON, and errors
in the caller's words.

Command modules import this module and :mod:`certkit.cli._options`, never the package's
``__init__`` (which imports them lazily): the imports run one way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from certkit.errors import CertkitError, Hint, PasswordError, hints_in

if TYPE_CHECKING:  # the CLI imports the library only when a command runs
    from certkit._ops.api import (
        Passwords,
    )

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_ERROR = 2

T = TypeVar("T")


def ask_password(prompt: str) -> str:
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


def read_password(file: str | Sequence[str] | None, env: str | Sequence[str] | None,
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


def passwords_from(args: argparse.Namespace, prefix: str = "",
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
        password = read_password(where if kind == "file" else None,
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


def key_passwords_from(files: Sequence[str] | None, envs: Sequence[str] | None) -> dict[str, str]:
    """Per-alias key passwords from ``ALIAS=FILE`` and ``ALIAS=VAR`` option values."""
    found: dict[str, str] = {}
    for values, kind in ((files or (), "file"), (envs or (), "env")):
        for value in values:
            alias, sep, where = value.partition("=")
            if not sep or not alias or not where:
                raise UsageError(f"--key-password-{kind} takes ALIAS={kind.upper()}, "
                                 f"not {value!r}")
            password = read_password(where if kind == "file" else None,
                                      where if kind == "env" else None,
                                      f"key password of {alias!r}")
            found[alias] = password or ""
    return found


def host_port(text: str) -> tuple[str, int]:
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


def trust_from(values: Sequence[str] | None, *, required: bool = False) -> Any:
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


def one_password(args: argparse.Namespace, prefix: str = "",
                  what: str = "password") -> str | None:
    """The one password of a command that opens one protected file."""
    found = passwords_from(args, prefix, what)
    if found is None or isinstance(found, str):
        return found
    values = [*found.candidates, *found.pinned.values()]
    if len(values) != 1:
        raise UsageError(f"this command opens one protected file: it takes one {what}, "
                         f"not {len(values)}")
    return str(values[0])


def with_prompt(action: Callable[[Any], T], password: str | Passwords | None, label: str) -> T:
    """Run ``action``; if it needs a password and a terminal is attached, ask and retry once."""
    try:
        return action(password)
    except PasswordError as err:
        if password is not None or not err.missing or not sys.stdin.isatty():
            raise
        return action(ask_password(f"Password for {label}: "))


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return value


def print_json(data: object, out: TextIO) -> None:
    import json  # noqa: PLC0415 - only --json needs it

    # One write, so the output filter (:class:`CallerWords`) sees whole phrases.
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


class CallerWords:
    """Standard output, with the library's Python phrases in every line spelled as options."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(caller_words(text) if "=" in text or "build_chain" in text
                        or "source_passwords" in text else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


