"""The top-level verbs: ``load`` and ``dump`` (bytes), ``save`` (paths), ``convert`` and
``convert_many``."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import os
import pathlib
import re
import stat
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import attrs

from certkit import formats
from certkit._model import KeyEntry, KeyStore, OpaqueEntry, Password, SecretKeyEntry
from certkit.errors import (
    CertkitError,
    ChainError,
    DecodeError,
    FileExistsCertkitError,
    Hint,
    KeyMismatchError,
    PasswordError,
    ReadError,
    UnrepresentableError,
    UnsupportedFormatError,
    without_library_advice,
)

__all__ = [
    "BatchConversionReport",
    "ConversionFailure",
    "ConversionReport",
    "Passwords",
    "Source",
    "convert",
    "convert_many",
    "dump",
    "file_kind",
    "load",
    "load_file",
    "open_regular",
    "read_bounded",
    "read_file",
    "save",
    "skipped_reason",
]

#: What ``load`` accepts: a path or the bytes themselves.
Source = Union[str, "os.PathLike[str]", bytes]

#: Largest input read; real containers are kilobytes, a truststore a few megabytes.
MAX_INPUT = 256 * 1024 * 1024

# Exceptions a parser may leak on malformed input; translated at this boundary as a last
# line of defence (codecs translate their own first, with better messages).
#: Flags for opening a file certkit will only read: a FIFO must not block the open, and a
#: terminal must not become the controlling one.
_OPEN_FLAGS = (getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))
_READ_CHUNK = 64 * 1024

_DATA_ERRORS = (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error,
                UnicodeError, EOFError, RecursionError)


def file_kind(mode: int) -> str:
    """What a ``stat`` mode describes, in words (``"a FIFO (named pipe)"``, ``"a socket"``…)."""
    kinds = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
             (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def skipped_reason(mode: int) -> str:
    """Why a walker did not open a file with this ``stat`` mode (for its skipped list)."""
    return f"{file_kind(mode)}, not a regular file; not opened"


def _not_regular(path: str, mode: int) -> ReadError:
    return ReadError(f"{path} is {file_kind(mode)}, not a regular file: certkit reads "
                     "certificates and keys only from regular files", path=path)


def open_regular(path: str | os.PathLike[str]) -> io.FileIO:
    """Open the regular file ``path`` for reading, unbuffered; anything else is refused.

    A FIFO, socket or device (directly or through a symbolic link) is refused before it
    is opened; the open is non-blocking, so a FIFO swapped in meanwhile cannot hang it,
    and the open descriptor is checked again. Raises :class:`~certkit.errors.ReadError`.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(name, info.st_mode)
        fd = os.open(name, os.O_RDONLY | _OPEN_FLAGS)
    except OSError as err:
        if isinstance(err, CertkitError):
            raise
        raise ReadError(f"cannot read {name}: {err.strerror or err}", path=name) from err
    handle = io.FileIO(fd, "rb", closefd=True)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        handle.close()
        raise _not_regular(name, mode)
    return handle


def read_bounded(handle: io.FileIO, limit: int, *, name: str, start: bytes = b"") -> bytes:
    """``start`` plus the rest of ``handle``, at most ``limit`` bytes in all, whatever
    ``stat`` says (a file that grows, or lies about its size, costs no more than
    ``limit`` + 1 bytes); :class:`~certkit.errors.DecodeError` past ``limit``."""
    chunks = [start] if start else []
    total = len(start)
    try:
        expected = os.fstat(handle.fileno()).st_size
        while total <= limit:
            # Ask for what stat announced (one read, one buffer), never past the limit.
            chunk = handle.read(min(limit + 1 - total, max(expected - total + 1, _READ_CHUNK)))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise ReadError(f"cannot read {name}: {err.strerror or err}", path=name) from err
    if total > limit:
        raise DecodeError(f"file is larger than any certificate container certkit accepts "
                          f"({limit} bytes); not read further", source=name)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_file(path: str | os.PathLike[str], *, limit: int = MAX_INPUT) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The one way certkit reads a file it did not write: :func:`open_regular` (regular
    files only, never blocking), then :func:`read_bounded`. Raises
    :class:`~certkit.errors.ReadError` or :class:`~certkit.errors.DecodeError`.
    """
    name = os.fspath(path)
    with open_regular(name) as handle:
        return read_bounded(handle, limit, name=name)


def _read(source: Source, limit: int = MAX_INPUT) -> tuple[bytes, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    path = os.fspath(source)
    return read_file(path, limit=limit), path


def _password_tuple(values: Iterable[Password]) -> tuple[Password, ...]:
    return tuple(values)


def _password_map(values: Mapping[str, Password]) -> dict[str, Password]:
    return dict(values)


@attrs.frozen
class Passwords:
    """The passwords of a run over many files: candidates tried in turn, and pinned ones.

    ``candidates`` are tried in order on a file that needs a password; the first that
    opens it wins, and a PKCS#12 file that needs none (its MAC verifies without one) opens
    without one. ``pinned`` maps a target to the one password for it: a file, matched by
    its path as given, its absolute path or its file name (its store password, and no
    candidate is tried on it), and a keystore entry, matched by alias (its key password,
    as ``key_passwords`` gives it). Give one to :func:`load`, :func:`convert`,
    :func:`convert_many`, :func:`~certkit.scan`, :func:`~certkit.diagnose`,
    :func:`~certkit.find_key` or :func:`~certkit.backup` (``source_passwords``) as their
    password.
    """

    candidates: tuple[Password, ...] = attrs.field(default=(), converter=_password_tuple,
                                                   repr=False)
    pinned: Mapping[str, Password] = attrs.field(factory=dict, converter=_password_map,
                                                 repr=False)

    def pin(self, path: str | None) -> str | None:
        """The key of :attr:`pinned` that names the file at ``path``, if any."""
        if path is not None:
            for key in (path, os.path.abspath(path), os.path.basename(path)):
                if key in self.pinned:
                    return key
        return None

    def for_file(self, path: str | None) -> tuple[Password, ...]:
        """The passwords to try on the file at ``path``, in order (``(None,)`` for none)."""
        key = self.pin(path)
        return (self.pinned[key],) if key is not None else (self.candidates or (None,))

    def key_passwords(self, given: Mapping[str, Password] | None = None) -> dict[str, Password]:
        """Per-alias key passwords: the pinned ones, then ``given`` (which wins)."""
        return {**self.pinned, **(given or {})}


def _load_trying(
    data: bytes, path: str | None, password: Password | Passwords, *,
    format: str | None = None,  # noqa: A002
    key_passwords: Mapping[str, Password] | None = None, max_work: int | None = None,
    decrypt_keys: bool = True,
) -> tuple[KeyStore, Password]:
    """Load with the first password that opens the data; return the store and that password."""
    if not isinstance(password, Passwords):
        return _load_data(data, path, password=password, format=format,
                          key_passwords=key_passwords, max_work=max_work,
                          decrypt_keys=decrypt_keys), password
    keys = password.key_passwords(key_passwords)
    tried = password.for_file(path)
    wrong: PasswordError | None = None
    for candidate in tried:
        try:
            return _load_data(data, path, password=candidate, format=format,
                              key_passwords=keys, max_work=max_work,
                              decrypt_keys=decrypt_keys), candidate
        except PasswordError as err:  # noqa: PERF203 - each try is a whole load
            if err.alias is not None or (err.missing and candidate is not None):
                raise  # a key password, or a file that wants more than this: not ours to retry
            if (err.hint is not None and err.hint.parameter == "no_password"
                    and password.pin(path) is None):
                # The file needs no password (its MAC verifies with none): candidates are
                # for the files that do, so it opens as it is.
                return _load_data(data, path, password=None, format=format,
                                  key_passwords=keys, max_work=max_work,
                                  decrypt_keys=decrypt_keys), None
            wrong = err
    assert wrong is not None
    if len(tried) == 1:
        raise wrong
    where = f"{path}: " if path else ""
    raise PasswordError(f"{where}none of the {len(tried)} passwords given opens it "
                        f"(the last said: {wrong})", source=path,
                        missing=False).with_hint(Hint("password", path=path)) from wrong


def load(
    source: Source,
    *,
    password: Password | Passwords = None,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    key_passwords: Mapping[str, Password] | None = None,
    max_work: int | None = None,
    decrypt_keys: bool = True,
) -> KeyStore:
    """Read certificates, keys and keystores from a path or bytes into a :class:`KeyStore`.

    The format is detected from the content (a ``.cer`` may be PEM or DER) unless
    ``format`` is given. Keys found beside certificates are paired with the certificate
    they match, and each pair with its chain (leaf first) becomes a :class:`KeyEntry`.
    ``key_passwords`` gives per-alias key passwords for Java keystores; entries whose
    password is not known load locked. ``password`` may be a :class:`Passwords`: its
    candidates are tried in turn (the first that opens the file wins).

    ``max_work`` caps the password-based key derivation the file may make certkit do
    (MAC, every encrypted bag and key, every password encoding tried, and the later
    unlocking of its locked keys), in hash-compression units; by default 3,000,000 (or
    what :func:`work_limit` set), about a second at most. A file asking for more raises
    :class:`~certkit.errors.WorkLimitError`; see docs/untrusted-input.md.

    ``decrypt_keys=False`` loads for listing: a PKCS#12, JKS or JCEKS private key whose
    certificate is known without decrypting it stays encrypted (a :class:`LockedKey` with
    ``deferred=True``; its fingerprint and algorithm come from the certificate), so no key
    derivation is spent on it; ``entry.unlock(password)`` with the load password opens it.
    The PKCS#12 MAC and encrypted certificate safes are still checked and decrypted.
    """
    if max_work is not None and (not isinstance(max_work, int) or isinstance(max_work, bool)
                                 or max_work < 1):
        raise TypeError(f"max_work must be a positive integer, not {max_work!r}")
    data, path = _read(source)
    return _load_trying(data, path, password, format=format, key_passwords=key_passwords,
                        max_work=max_work, decrypt_keys=decrypt_keys)[0]


def opened(
    source: KeyStore | Source,
    *,
    password: Password | Passwords = None,
    key_passwords: Mapping[str, Password] | None = None,
) -> tuple[KeyStore, str | None]:
    """``source`` as a store: a :class:`KeyStore` as given, a path or bytes :func:`load`-ed;
    with the path to name in messages (``None`` for a store or bytes)."""
    if isinstance(source, KeyStore):
        return source, None
    name = None if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    return load(source, password=password, key_passwords=key_passwords), name


def load_file(path: str, *, limit: int, password: Password | Passwords = None) -> KeyStore:
    """:func:`load` a file found by a walker (``scan``, ``find_key``, a trust folder): a
    regular file of at most ``limit`` bytes, read once through :func:`read_file`, under
    the default work budget (or what :func:`work_limit` set)."""
    return _load_trying(read_file(path, limit=limit), path, password)[0]


def _load_data(
    data: bytes, path: str | None, *, password: Password = None, format: str | None = None,  # noqa: A002
    key_passwords: Mapping[str, Password] | None = None, max_work: int | None = None,
    decrypt_keys: bool = True,
) -> KeyStore:
    notes: tuple[str, ...] = ()
    if format is not None:
        spec = formats.spec(format)
    else:
        try:
            spec = formats.detect(data, source=path)
        except UnsupportedFormatError:
            unwrapped = _bare_base64(data)
            if unwrapped is None:
                raise
            spec = formats.detect(unwrapped, source=path)
            data = unwrapped
            notes = ("read as base64 without -----BEGIN/END----- lines",)
    codec = formats.codec_for(spec)
    options = formats.LoadOptions(
        password=password, key_passwords=dict(key_passwords or {}), source=path,
        max_work=max_work, decrypt_keys=decrypt_keys,
    )
    try:
        store = codec.load(data, options)
    except CertkitError as err:
        _name_the_file(err, path)
        raise
    except _DATA_ERRORS as err:
        raise DecodeError(
            f"not a valid {spec.description} file ({type(err).__name__}: {err})",
            source=path,
            format=spec.name,
        ) from err
    if store.format is None:
        store = attrs.evolve(store, format=spec.name)
    notes += tuple(f"{entry.problem} — the entry is flagged (entry.problem) and is not written "
                   "anywhere until mended" for entry in store.key_entries if entry.problem)
    if notes:
        store = attrs.evolve(store, notes=(*store.notes, *notes))
    return store


def _name_the_file(err: CertkitError, path: str | None) -> None:
    """Make the error's message name the file, without a library's request to report it.

    Codecs name entries by alias; only here is the path always known. The exception stays
    the same object (its type and attributes are what callers match on).
    """
    if not err.args or not isinstance(err.args[0], str):
        return
    message = without_library_advice(err.args[0])
    if path is not None and path not in message:
        message = f"{path}: {message}"
    err.args = (message, *err.args[1:])
    if path is not None and getattr(err, "source", path) is None:
        err.source = path  # type: ignore[attr-defined]


_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")


def _bare_base64(data: bytes) -> bytes | None:
    """Binary DER hidden in base64 text with its PEM armour lost (pasted, or old tools)."""
    text = data.strip()
    if len(text) < 16 or not _BASE64_TEXT.fullmatch(text):
        return None
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded[:1] == b"\x30" else None


def password_for(
    source: str, passwords: Password | Passwords | Mapping[str, Password] | None
) -> Password | Passwords:
    """The password for one source: the single password given, or the mapping's entry for
    the source's path, absolute path or file name (``None`` when it has none); a
    :class:`Passwords` narrowed to what may open this source."""
    if isinstance(passwords, Passwords):
        return Passwords(passwords.for_file(source), passwords.pinned)
    if isinstance(passwords, Mapping):
        for key in (source, os.path.abspath(source), os.path.basename(source)):
            if key in passwords:
                return passwords[key]
        return None
    return passwords


#: Formats that write a key as the PKCS#8 bytes it was read with, never parsing it: a
#: check deferred until the key is parsed (the JDK's EC keys) stays deferred there.
_KEPT_KEY_FORMATS = frozenset({"jks", "jceks"})


def _refuse_inconsistent(store: KeyStore, spec: formats.FormatSpec) -> None:
    """Raise before anything is encoded if a key entry's key and chain disagree."""
    for entry in store.entries:
        if not isinstance(entry, KeyEntry):
            continue
        if entry.problem is None and spec.name in _KEPT_KEY_FORMATS:
            continue
        try:
            entry.check()
        except KeyMismatchError as err:
            raise KeyMismatchError(f"nothing written as {spec.description}: {err}",
                                   alias=err.alias, matching_alias=err.matching_alias) from err
        except ChainError as err:
            raise ChainError(f"nothing written as {spec.description}: {err}",
                             strays=err.strays) from err


def _dump(
    store: KeyStore, spec: formats.FormatSpec, password: Password, allow_loss: bool,
    options: dict[str, Any],
) -> formats.Dumped:
    _refuse_inconsistent(store, spec)
    codec = formats.codec_for(spec)
    result = codec.dump(
        store, formats.DumpOptions(password=password, allow_loss=allow_loss, extra=options)
    )
    if result.dropped and not allow_loss:  # codecs raise first; this guards the contract
        raise UnrepresentableError(
            f"{spec.description} cannot hold: {'; '.join(result.dropped)}",
            format=spec.name,
            lost=result.dropped,
        )
    return result


def _selected(store: KeyStore, only: str | None, key_format: str | None,
              options: dict[str, Any], path: str | os.PathLike[str] | None = None,
              ) -> tuple[KeyStore, tuple[str, ...], dict[str, Any]]:
    """Apply ``only`` (else what ``path``'s extension says) and ``key_format``: the store to
    write, what was left out, and the codec options."""
    from certkit._ops import select as _select  # noqa: PLC0415 - only when choosing

    implied = only is None and path is not None
    chosen = only if only is not None else (
        _select.only_for_path(path) if path is not None else "all")
    if key_format is not None:
        if key_format not in ("pkcs8", "pkcs1", "sec1"):
            raise UnsupportedFormatError(f"unknown key format {key_format!r}; choose pkcs8, "
                                         "pkcs1 (RSA) or sec1 (EC)", format=key_format)
        options = {**options, "key_format": key_format}
    if chosen == "all":
        return store, (), options
    try:
        picked, left = _select.select(store, chosen)
    except UnrepresentableError as err:
        if not implied:
            raise
        raise UnrepresentableError(
            f"{path}: its name says it holds {_IMPLIED[chosen]}, but {err}; name it .pem, "
            "or say what to write (only: all, key, leaf, chain or ca)",
            format=err.format, lost=err.lost) from err
    if path is not None and implied and left:
        left = tuple(f"{item} (a {pathlib.PurePath(os.fspath(path)).suffix} file holds "
                     f"{_IMPLIED[chosen]})" for item in left)
    return picked, left, options


_IMPLIED = {"key": "the private key only", "chain": "certificates only"}


def dump(
    store: KeyStore,
    format: str,  # noqa: A002 - the public keyword is "format"
    *,
    password: Password = None,
    allow_loss: bool = False,
    only: str | None = None,
    key_format: str | None = None,
    **options: Any,
) -> bytes:
    """Encode ``store`` in ``format`` and return the bytes.

    Raises :class:`~certkit.errors.UnrepresentableError` naming what the format cannot
    hold (a second key in DER, a secret key in PEM…) unless ``allow_loss`` is true.
    ``only`` writes part of the store: ``"key"`` (the private key), ``"leaf"``,
    ``"chain"`` (every certificate, no key), ``"ca"`` (the CA certificates) or ``"all"``
    (the default). ``key_format`` writes PEM and DER keys as ``"pkcs8"`` (the default),
    ``"pkcs1"`` (``RSA PRIVATE KEY``) or ``"sec1"`` (``EC PRIVATE KEY``); a key of the
    other kind is refused. Format-specific ``options`` (``profile=`` for PKCS#12,
    ``bag_attributes=`` for PEM…) are checked by the codec.
    """
    store, _, options = _selected(store, only, key_format, options)
    return _dump(store, formats.spec(format), password, allow_loss, options).data


def _holds_secrets(store: KeyStore) -> bool:
    return any(isinstance(e, (KeyEntry, SecretKeyEntry))
               or (isinstance(e, OpaqueEntry) and e.kind != "certificate") for e in store.entries)


class _Output:
    """One file to write: where it goes, its bytes and its permission bits (a private
    record: plain slots, as building an attrs class costs every command start-up time)."""

    __slots__ = ("data", "mode", "path")

    def __init__(self, path: pathlib.Path, data: bytes, mode: int) -> None:
        self.path = path
        self.data = data
        self.mode = mode


def _fsync_path(path: pathlib.Path, flags: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_temps(temps: Mapping[int, tuple[pathlib.Path, int]]) -> dict[int, OSError]:
    """Make the closed temporary files ``temps`` (index → path, st_dev) durable.

    Each file gets its own ``fsync``, issued from a few threads at once: journaling
    filesystems merge concurrent flushes into one journal commit, so a batch costs little
    more than one file, portably and without calling into the C library ourselves.
    Returns the files that could not be synced, by index.
    """
    failed: dict[int, OSError] = {}
    if len(temps) == 1:
        index, (path, _) = next(iter(temps.items()))
        try:
            _fsync_path(path)
        except OSError as err:
            failed[index] = err
        return failed

    def sync(item: tuple[int, tuple[pathlib.Path, int]]) -> tuple[int, OSError | None]:
        try:
            _fsync_path(item[1][0])
        except OSError as err:
            return item[0], err
        return item[0], None

    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - batches only

    with ThreadPoolExecutor(max_workers=min(8, len(temps))) as pool:
        results = list(pool.map(sync, temps.items()))
    return {index: error for index, error in results if error is not None}


def _sync_directories(directories: Iterable[pathlib.Path]) -> None:
    """fsync each folder once, so the new names survive a crash as well as the contents."""
    for directory in directories:
        # Best effort: the files' contents are already durable, and some filesystems
        # (several network and FUSE ones) cannot sync a folder; a crash there can lose
        # the new name, never leave a truncated file under it.
        with contextlib.suppress(OSError):
            _fsync_path(directory, getattr(os, "O_DIRECTORY", 0))


#: Mode of files holding private or secret keys: exactly this, whatever the umask.
PRIVATE_MODE = 0o600
#: Mode public files are created with; the umask takes away what it says, as for any tool.
PUBLIC_MODE = 0o666


def _create_temp(directory: pathlib.Path, name: str,
                 mode: int = PRIVATE_MODE) -> tuple[int, pathlib.Path]:
    """Create ``.NAME.<random>.tmp`` in ``directory`` exclusively (``mode`` less the
    umask); (fd, path).

    What ``tempfile.mkstemp`` does, without importing ``tempfile`` (and ``shutil`` and
    ``random`` with it) into every command that writes a file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = directory / f".{name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name for {name} in {directory}")


def _write_temp(output: _Output, *, overwrite: bool, sync: bool) -> tuple[pathlib.Path, int]:
    """Write ``output`` to a new temporary file beside its target; return (path, st_dev)."""
    path = output.path
    if not overwrite and path.exists():
        raise FileExistsCertkitError(str(path))
    directory = path.parent if str(path.parent) else pathlib.Path()
    fd, tmp = _create_temp(directory, path.name, output.mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if output.mode == PRIVATE_MODE:  # keys: 0600 exactly, whatever the umask
                os.fchmod(handle.fileno(), PRIVATE_MODE)
            handle.write(output.data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
            device = os.fstat(handle.fileno()).st_dev
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp, device


def _put_in_place(tmp: pathlib.Path, path: pathlib.Path, *, overwrite: bool) -> None:
    """Link (never clobbering) or rename (``overwrite``) a synced temporary file to ``path``."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic, and fails rather than clobber a file that appeared
    except FileExistsError:
        raise FileExistsCertkitError(str(path)) from None
    except OSError:  # filesystems without hard links
        if path.exists():
            raise FileExistsCertkitError(str(path)) from None
        os.replace(tmp, path)


def _write_files(outputs: Sequence[_Output], *, overwrite: bool) -> list[OSError | None]:
    """Write every output atomically and durably; return one error (or ``None``) per output.

    No file appears under its final name before its content is on disk: each output is
    written to a temporary file in its target's folder, all of them are made durable
    (one ``fsync`` per file, issued concurrently for a batch), and only
    then linked (or, with ``overwrite``, renamed) into place; each target folder is then
    synced once. A failing output (:class:`FileExistsCertkitError`, any ``OSError``) leaves
    nothing behind and does not stop the others. Temporary files are always removed.
    """
    errors: list[OSError | None] = [None] * len(outputs)
    temps: dict[int, tuple[pathlib.Path, int]] = {}
    try:
        for index, output in enumerate(outputs):
            try:
                temps[index] = _write_temp(output, overwrite=overwrite, sync=len(outputs) == 1)
            except OSError as err:  # noqa: PERF203 - one failing file must not stop the others
                errors[index] = err
        if len(outputs) > 1:
            for index, unsynced in _sync_temps(temps).items():
                errors[index] = unsynced
        placed: dict[pathlib.Path, None] = {}
        for index, (tmp, _) in temps.items():
            if errors[index] is not None:
                continue
            target = outputs[index].path
            try:
                _put_in_place(tmp, target, overwrite=overwrite)
            except OSError as err:
                errors[index] = err
            else:
                placed[target.parent] = None
        _sync_directories(placed)
    finally:
        for tmp, _ in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return errors


def _write_set(outputs: Sequence[_Output], *, overwrite: bool) -> None:
    """Write every output or none: a set of files that only make sense together.

    Every file is first written and synced under a temporary name beside its target (a
    full disk or any other failure strikes here, before anything has a final name); only
    then are they put in place, and if one cannot be, those already placed are removed
    again (with ``overwrite``, a replaced file cannot be brought back: the new one stays).
    Temporary files are always removed. Raises the first error.
    """
    temps: list[tuple[pathlib.Path, _Output]] = []
    placed: list[pathlib.Path] = []
    try:
        # extend() keeps what was appended before a failure: those temporaries are removed.
        temps.extend((_write_temp(output, overwrite=overwrite, sync=True)[0], output)
                     for output in outputs)
        for tmp, output in temps:
            _put_in_place(tmp, output.path, overwrite=overwrite)
            placed.append(output.path)
    except BaseException:
        if not overwrite:
            for path in placed:
                with contextlib.suppress(OSError):
                    path.unlink()
        raise
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _sync_directories(dict.fromkeys(output.path.parent for output in outputs))


def _write_atomic(path: pathlib.Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write one file via a synced temporary file in the same folder, then link or rename it."""
    (error,) = _write_files([_Output(path, data, mode)], overwrite=overwrite)
    if error is not None:
        raise error


def _prepare(
    store: KeyStore, target: pathlib.Path, *, spec: formats.FormatSpec, password: Password,
    overwrite: bool, allow_loss: bool, options: dict[str, Any],
) -> tuple[_Output, formats.Dumped]:
    """Encode ``store`` for ``target`` (refusing early if it exists) and choose its mode."""
    if not overwrite and target.exists():
        raise FileExistsCertkitError(str(target))
    try:
        result = _dump(store, spec, password, allow_loss, options)
    except CertkitError as err:
        _name_the_file(err, str(target))
        raise
    mode = PRIVATE_MODE if _holds_secrets(store) and spec.holds_keys else PUBLIC_MODE
    return _Output(target, result.data, mode), result


def _write_error(path: pathlib.Path, err: OSError) -> CertkitError:
    """What a failed write is reported as: an existing target as is, anything else a ReadError."""
    if isinstance(err, FileExistsCertkitError):
        return err
    error = ReadError(f"cannot write {path}: {err.strerror or err}", path=str(path))
    error.__cause__ = err
    return error


def _save(
    store: KeyStore, path: str | os.PathLike[str], *, format: str | None,  # noqa: A002
    password: Password, overwrite: bool, allow_loss: bool, options: dict[str, Any],
) -> tuple[pathlib.Path, formats.FormatSpec, formats.Dumped]:
    """Write the (already selected) ``store`` to ``path``."""
    target = pathlib.Path(path)
    spec = formats.format_for_path(str(target), format=format)
    output, result = _prepare(store, target, spec=spec, password=password, overwrite=overwrite,
                              allow_loss=allow_loss, options=options)
    (error,) = _write_files([output], overwrite=overwrite)
    if error is not None:
        raise _write_error(target, error)
    return target, spec, result


def save(
    store: KeyStore,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    password: Password = None,
    overwrite: bool = False,
    allow_loss: bool = False,
    only: str | None = None,
    key_format: str | None = None,
    **options: Any,
) -> pathlib.Path:
    """Write ``store`` to ``path`` atomically and return the path.

    The format comes from the extension unless given (``.cer``/``.crt`` mean PEM unless
    ``format="der"``). So does what is written, unless ``only`` says (see :func:`dump`):
    a ``.key`` file gets the private key only, a ``.crt``/``.cer`` file the certificates
    only — a private key never lands in a file named as a certificate unless
    ``only="all"`` — and any other name everything. Files holding private or secret keys
    get mode 0600; others are created as any tool creates them (0666 less the umask, so
    0644 usually). An existing file is left untouched unless ``overwrite=True``
    (:class:`~certkit.errors.FileExistsCertkitError`, also a ``FileExistsError``).
    """
    store, _, options = _selected(store, only, key_format, options, path)
    target, _, _ = _save(store, path, format=format, password=password, overwrite=overwrite,
                         allow_loss=allow_loss, options=options)
    return target


@attrs.frozen
class ConversionReport:
    """What :func:`convert` did: the file written, its format, and anything left behind."""

    source: str
    destination: pathlib.Path
    source_format: str
    format: str
    entries: int
    dropped: tuple[str, ...] = ()
    not_kept: tuple[str, ...] = ()
    #: What ``only`` (or the output's extension) chose not to write.
    left_out: tuple[str, ...] = ()


def _output_password(spec: formats.FormatSpec, password: Password,
                     new_password: Password) -> Password:
    """Password-based containers keep the input password unless a new one is given."""
    if new_password is None and spec.name in ("pkcs12", "jks", "jceks"):
        return password
    return new_password


def _report(src: str | os.PathLike[str], store: KeyStore, target: pathlib.Path,
            spec: formats.FormatSpec, result: formats.Dumped, *,
            left_out: tuple[str, ...] = ()) -> ConversionReport:
    return ConversionReport(
        left_out=left_out,
        source=os.fspath(src),
        destination=target,
        source_format=store.format or "unknown",
        format=spec.name,
        entries=len(store),
        dropped=result.dropped,
        not_kept=result.not_kept,
    )


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    password: Password | Passwords = None,
    new_password: Password = None,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    overwrite: bool = False,
    allow_loss: bool = False,
    key_passwords: Mapping[str, Password] | None = None,
    only: str | None = None,
    key_format: str | None = None,
    **options: Any,
) -> ConversionReport:
    """Load ``src`` and save it as ``dst``: one load and one dump, nothing format-specific.

    ``new_password`` protects the output; for password-based containers (PKCS#12, JKS,
    JCEKS) it defaults to ``password``, while PEM and DER keys are written unencrypted
    unless ``new_password`` is given. What is written follows ``dst``'s extension unless
    ``only`` says (as for :func:`save`): ``site.pfx`` → ``server.crt`` writes the
    certificates and no key; the report's ``left_out`` lists what was not written.
    """
    data, path = _read(src)
    store, password = _load_trying(data, path, password, key_passwords=key_passwords)
    spec = formats.format_for_path(os.fspath(dst), format=format)
    picked, left_out, options = _selected(store, only, key_format, options, dst)
    target, spec, result = _save(
        picked, dst, format=spec.name, password=_output_password(spec, password, new_password),
        overwrite=overwrite, allow_loss=allow_loss, options=options,
    )
    return _report(src, picked, target, spec, result, left_out=left_out)


@attrs.frozen
class ConversionFailure:
    """A source :func:`convert_many` did not convert, and why; nothing was written for it."""

    source: str
    error: CertkitError


@attrs.frozen
class BatchConversionReport:
    """What :func:`convert_many` did: a report per file written and the sources that failed,
    each in the order the sources were given."""

    converted: tuple[ConversionReport, ...] = ()
    failed: tuple[ConversionFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every source was converted."""
        return not self.failed


#: convert_many writes (and syncs) at most this many files, or bytes, at a time.
_BATCH_FILES = 256
_BATCH_BYTES = 64 * 1024 * 1024


def convert_many(
    sources: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    format: str,  # noqa: A002 - the public keyword is "format"
    password: Password | Passwords = None,
    new_password: Password = None,
    overwrite: bool = False,
    allow_loss: bool = False,
    key_passwords: Mapping[str, Password] | None = None,
    only: str | None = None,
    key_format: str | None = None,
    **options: Any,
) -> BatchConversionReport:
    """Convert each source into ``out_dir`` as ``format``, syncing the disk once for all.

    Each source is converted as :func:`convert` would, to the source's name with the
    format's usual extension (``site.pfx`` → ``site.pem``; ``.der``, ``.p7b``, ``.pfx``,
    ``.jks``, ``.jceks``). A source that fails — wrong password, damaged, target already
    there without ``overwrite``, or two sources with the same output name — is reported in
    ``failed`` and the others still go ahead; nothing is written for it. Every file is
    on disk before any appears under its final name, as with :func:`save`, but the batch
    pays for one flush per filesystem instead of one per file. ``out_dir`` must exist.
    ``only`` and ``key_format`` choose what each file holds, as for :func:`convert`.
    """
    folder = pathlib.Path(out_dir)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ReadError(f"output folder {folder} {what}; create it first", path=str(folder))
    spec = formats.spec(format)
    if not spec.writable:
        raise UnsupportedFormatError(
            f"certkit cannot write {spec.description} files; choose pem, der, pkcs7, pkcs12, "
            "jks or jceks", format=spec.name)
    paths = [os.fspath(src) for src in sources]
    targets = [folder / (pathlib.Path(path).stem + spec.extensions[0]) for path in paths]
    claimed: dict[pathlib.Path, list[str]] = {}
    for path, target in zip(paths, targets, strict=True):
        claimed.setdefault(target, []).append(path)

    outcomes: list[ConversionReport | ConversionFailure | None] = [None] * len(paths)
    pending: list[tuple[int, KeyStore, formats.Dumped, tuple[str, ...]]] = []
    outputs: list[_Output] = []
    pending_bytes = 0

    def write_pending() -> None:
        nonlocal pending_bytes
        for (index, store, result, left_out), output, error in zip(
                pending, outputs, _write_files(outputs, overwrite=overwrite), strict=True):
            if error is None:
                outcomes[index] = _report(paths[index], store, output.path, spec, result,
                                          left_out=left_out)
            else:
                outcomes[index] = ConversionFailure(paths[index],
                                                    _write_error(output.path, error))
        pending.clear()
        outputs.clear()
        pending_bytes = 0

    for index, (path, target) in enumerate(zip(paths, targets, strict=True)):
        if len(claimed[target]) > 1:
            outcomes[index] = ConversionFailure(path, CertkitError(
                f"{', '.join(claimed[target])} would all be written to {target}; "
                "convert them into separate folders or rename all but one"))
            continue
        try:
            data, _ = _read(path)
            store, opened = _load_trying(data, path, password, key_passwords=key_passwords)
            picked, left_out, chosen = _selected(store, only, key_format, options, target)
            output, result = _prepare(picked, target, spec=spec,
                                      password=_output_password(spec, opened, new_password),
                                      overwrite=overwrite, allow_loss=allow_loss,
                                      options=chosen)
        except CertkitError as err:
            outcomes[index] = ConversionFailure(path, err)
            continue
        pending.append((index, picked, result, left_out))
        outputs.append(output)
        pending_bytes += len(output.data)
        # Flushed in chunks, so a batch of big keystores never holds them all in memory.
        if len(outputs) >= _BATCH_FILES or pending_bytes >= _BATCH_BYTES:
            write_pending()
    write_pending()
    return BatchConversionReport(
        converted=tuple(o for o in outcomes if isinstance(o, ConversionReport)),
        failed=tuple(o for o in outcomes if isinstance(o, ConversionFailure)),
    )
