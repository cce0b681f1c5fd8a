"""Every error certkit raises: one root, :class:`CertkitError`, and a subclass per kind of problem.

Each subclass also inherits the built-in exception whose meaning it shares, so code that
already catches ``ValueError`` or ``FileExistsError`` keeps working. Structured data is
carried as attributes (``source``, ``format``, ``alias``, ``offset``); the message is a
sentence a system administrator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

__all__ = [
    "AliasError",
    "BackupError",
    "CertkitError",
    "ChainError",
    "DecodeError",
    "FileExistsCertkitError",
    "Hint",
    "KeyMismatchError",
    "NetworkError",
    "PageError",
    "PasswordError",
    "ReadError",
    "RequestError",
    "UnrepresentableError",
    "UnsupportedFormatError",
    "UnsupportedKeyError",
    "WorkLimitError",
]


_FLAGS = ("allow_incomplete", "allow_loss", "allow_unpaired", "bag_attributes", "overwrite")


class Hint:
    """A fix an error suggests, as data: the parameter to set, and for which alias or file.

    ``parameter`` is the Python keyword (``password``, ``key_passwords``, ``max_work``,
    ``allow_incomplete``, ``allow_loss``, ``allow_unpaired``, ``overwrite``, ``alias``,
    ``sans``, ``bag_attributes``, ``source_passwords``, ``no_password`` for "give none")
    or the function (``build_chain``);
    ``value`` the suggested value where one is known (``max_work``); ``output`` is true when
    the password asked for is the one to write with. The library words the fix as
    :attr:`api` (Python); the command line replaces that phrase with its own option, and
    ``--json`` prints the hint as an object.
    """

    __slots__ = ("alias", "output", "parameter", "path", "value")

    def __init__(self, parameter: str, *, value: int | None = None, alias: str | None = None,
                 path: str | None = None, output: bool = False) -> None:
        self.parameter = parameter
        self.value = value
        self.alias = alias
        self.path = path
        self.output = output

    @property
    def api(self) -> str:
        """The fix as a Python caller writes it (``password=…``, ``allow_loss=True``)."""
        if self.parameter == "key_passwords":
            inner = f"{self.alias!r}: …" if self.alias is not None else "alias: password"
            return f"key_passwords={{{inner}}}"
        if self.parameter in _FLAGS:
            return f"{self.parameter}=True"
        if self.parameter == "max_work":
            return f"max_work={self.value}"
        if self.parameter in ("build_chain", "source_passwords"):
            return self.parameter
        if self.parameter == "no_password":
            return "password=None"
        return f"{self.parameter}=…"

    def as_dict(self) -> dict[str, object]:
        """The hint as JSON-ready data."""
        return {"parameter": self.parameter, "value": self.value, "alias": self.alias,
                "path": self.path, "output": self.output}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hint) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()
                           if v not in (None, False) and k != "parameter")
        return f"Hint({self.parameter!r}{', ' if fields else ''}{fields})"


#: Every phrase :attr:`Hint.api` writes, to find them again in text that has already been
#: flattened into a report (a scan's unreadable files, a batch's failures).
HINT_PHRASE = re.compile(
    r"key_passwords=\{(?:(?P<alias>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r": …|alias: password)\}"
    r"|\b(?P<flag>" + "|".join(_FLAGS) + r")=True\b"
    r"|\bmax_work=(?P<work>\d+)"
    r"|\b(?P<word>build_chain|source_passwords)\b|\b(?P<none>password=None)\b"
    r"|\b(?P<param>password|alias|sans)=…")


def hints_in(text: str) -> list[tuple[tuple[int, int], Hint]]:
    """Where ``text`` spells a :class:`Hint` as Python, and which (in order)."""
    import ast  # noqa: PLC0415 - only to read an alias back from its repr

    found: list[tuple[tuple[int, int], Hint]] = []
    for match in HINT_PHRASE.finditer(text):
        if match["alias"]:
            hint = Hint("key_passwords", alias=ast.literal_eval(match["alias"]))
        elif match["flag"] or match["word"] or match["param"]:
            hint = Hint(match["flag"] or match["word"] or match["param"])
        elif match["none"]:
            hint = Hint("no_password")
        elif match["work"]:
            hint = Hint("max_work", value=int(match["work"]))
        else:
            hint = Hint("key_passwords")
        found.append((match.span(), hint))
    return found


class CertkitError(Exception):
    """The root of every error certkit raises on purpose.

    ``hint``, when set, is the fix the message suggests, as a :class:`Hint`.
    """

    hint: Hint | None = None

    def with_hint(self: _E, hint: Hint) -> _E:
        """This error, carrying ``hint`` (for ``raise SomeError(…).with_hint(…)``)."""
        self.hint = hint
        return self

    def hints(self) -> list[Hint]:
        """The hints of this error and of the errors it was raised from."""
        found: list[Hint] = []
        error: BaseException | None = self
        while error is not None:
            hint = getattr(error, "hint", None)
            if isinstance(hint, Hint) and hint not in found:
                found.append(hint)
            error = error.__cause__
        return found


_E = TypeVar("_E", bound=CertkitError)


#: cryptography asks its users to report some inputs to its own tracker ("Please file an
#: issue at https://github.com/pyca/cryptography/issues …"); certkit's users should hear
#: what is wrong with their file instead.
_LIBRARY_ADVICE = re.compile(r"[\s.]*\b[Pp]lease (?:file|report|open) an issue\b.*?(?=\)|$)",
                             re.DOTALL)


def without_library_advice(text: str) -> str:
    """``text`` (a third-party error message) without the library's request to report it."""
    return _LIBRARY_ADVICE.sub("", text)


class DecodeError(CertkitError, ValueError):
    """Input bytes are not what the format says they should be (garbage, truncated, malformed)."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        format: str | None = None,  # noqa: A002 - mirrors the public ``format=`` keyword
        offset: int | None = None,
    ) -> None:
        if source is not None and source not in message:
            message = f"{source}: {message}"
        super().__init__(message)
        self.source = source
        self.format = format
        self.offset = offset


class WorkLimitError(DecodeError):
    """A file asks for more password-based key derivation than the caller allows.

    ``asked`` is the work (hash-compression units: iterations x derived blocks) the file
    needed up to and including ``what``, ``limit`` what was allowed; the fix, if the file is
    trusted, is a larger ``max_work`` (``--max-work`` on the command line).
    """

    def __init__(self, *, what: str, asked: int, limit: int, source: str | None = None) -> None:
        self.what = what
        self.asked = asked
        self.limit = limit
        self.hint = Hint("max_work", value=max(asked, 2 * limit), path=source)
        super().__init__(self._message(self.hint.api), source=source)

    def _message(self, fix: str) -> str:
        return (f"{self.what}: this file asks for at least {self.asked:,} units of password-based "
                f"key derivation, more than the {self.limit:,} allowed (files from keytool, "
                "OpenSSL, Windows or Bouncy Castle need far less than the default 3,000,000: a "
                "file that asks for more is hostile or unusually heavily protected). If you "
                f"trust it, allow more: {fix}")


class PasswordError(CertkitError, ValueError):
    """A password is missing, or the one given does not open the data.

    ``missing`` is true when no password was given but one is needed; ``alias`` names the
    entry when the password in question is a per-entry key password.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        alias: str | None = None,
        missing: bool = False,
    ) -> None:
        if source is not None and source not in message:
            message = f"{source}: {message}"
        super().__init__(message)
        self.source = source
        self.alias = alias
        self.missing = missing


class UnsupportedFormatError(CertkitError, ValueError):
    """The input's format is not recognised, or the requested output format cannot be written."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        format: str | None = None,  # noqa: A002 - mirrors the public ``format=`` keyword
    ) -> None:
        if source is not None and source not in message:
            message = f"{source}: {message}"
        super().__init__(message)
        self.source = source
        self.format = format


class UnrepresentableError(CertkitError, ValueError):
    """The target format cannot hold part of the store; ``lost`` lists what would be dropped."""

    def __init__(self, message: str, *, format: str, lost: Sequence[str]) -> None:  # noqa: A002
        super().__init__(message)
        self.format = format
        self.lost = tuple(lost)


class ChainError(CertkitError, ValueError):
    """Certificates do not form the chain that was asked for; ``strays`` lists the odd ones out."""

    def __init__(self, message: str, *, strays: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.strays = tuple(strays)


class KeyMismatchError(CertkitError, ValueError):
    """A private key does not belong to the certificate it was paired with.

    ``matching_alias`` names the entry that does match, when one is known.
    """

    def __init__(
        self,
        message: str,
        *,
        alias: str | None = None,
        matching_alias: str | None = None,
    ) -> None:
        super().__init__(message)
        self.alias = alias
        self.matching_alias = matching_alias


class UnsupportedKeyError(CertkitError, ValueError):
    """An operation needs a kind of key this one is not (a modulus of an EC key, say).

    ``algorithm`` names the key's algorithm, e.g. ``EC-P256``.
    """

    def __init__(self, message: str, *, algorithm: str | None = None) -> None:
        super().__init__(message)
        self.algorithm = algorithm


class RequestError(CertkitError, ValueError):
    """A key or certificate request cannot be made as asked (unknown key type, bad name or SAN).

    ``field`` names the offending input: ``algorithm``, ``subject``, ``common_name`` or ``san``.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AliasError(CertkitError, KeyError):
    """An alias is unknown, or already taken, in a keystore."""

    def __init__(self, message: str, *, alias: str | None = None) -> None:
        super().__init__(message)
        self.alias = alias

    def __str__(self) -> str:  # KeyError would otherwise show the message in quotes
        return str(self.args[0])


class ReadError(CertkitError, OSError):
    """A file could not be read or written (missing, unreadable, a folder…)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:  # OSError would otherwise format its own way
        return str(self.args[0])


class NetworkError(CertkitError, OSError):
    """Talking to a server failed; ``reason`` says how.

    ``reason`` is one of ``resolve``, ``refused``, ``timeout``, ``unreachable``, ``not-tls``,
    ``handshake``, ``closed``, ``starttls`` or ``no-certificate``; ``host`` and ``port``
    name the peer.
    """

    def __init__(self, message: str, *, host: str, port: int, reason: str) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.reason = reason

    def __str__(self) -> str:  # OSError would otherwise format its own way
        return str(self.args[0])


class PageError(CertkitError, ValueError):
    """A web page cannot be checked as asked; ``reason`` says why and ``url`` names the page.

    ``reason`` is one of ``not-https`` (the address is not an https:// URL),
    ``http-status`` (the server answered 4xx/5xx), ``too-large``, ``not-html`` or
    ``redirects`` (a loop, too many, or to another scheme).
    """

    def __init__(self, message: str, *, url: str, reason: str) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason


class BackupError(CertkitError, ValueError):
    """A backup folder cannot be written or does not verify; ``problems`` lists what is wrong."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class FileExistsCertkitError(CertkitError, FileExistsError):
    """The output file exists and overwriting was not asked for (or, ``replaceable=False``,
    is never done: a new key or CSR never replaces a file, which may hold the only copy of
    a key)."""

    def __init__(self, path: str, *, replaceable: bool = True) -> None:
        if replaceable:
            self.hint = Hint("overwrite", path=path)
            message = (f"{path} already exists; choose another name or pass {self.hint.api} "
                       "to replace it")
        else:
            self.hint = None
            message = (f"{path} already exists; certkit never overwrites a key or CSR (the "
                       "key may be the only copy): choose another name")
        super().__init__(message)
        self.path = path
