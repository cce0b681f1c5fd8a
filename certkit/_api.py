"""The top-level verbs: ``load`` and ``dump`` (bytes), ``save`` (paths) and ``convert``."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import pathlib
import re
import struct
import tempfile
from collections.abc import Mapping
from typing import Any, Union

import attrs

from certkit import formats
from certkit._model import KeyEntry, KeyStore, Password, SecretKeyEntry
from certkit.errors import (
    CertkitError,
    DecodeError,
    FileExistsCertkitError,
    ReadError,
    UnrepresentableError,
    UnsupportedFormatError,
)

__all__ = ["ConversionReport", "Source", "convert", "dump", "load", "save"]

#: What ``load`` accepts: a path or the bytes themselves.
Source = Union[str, "os.PathLike[str]", bytes]

#: Largest input read; real containers are kilobytes, a truststore a few megabytes.
MAX_INPUT = 256 * 1024 * 1024

# Exceptions a parser may leak on malformed input; translated at this boundary as a last
# line of defence (codecs translate their own first, with better messages).
_DATA_ERRORS = (ValueError, TypeError, IndexError, KeyError, OverflowError, struct.error,
                UnicodeError, EOFError, RecursionError)


def _read(source: Source) -> tuple[bytes, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    path = os.fspath(source)
    try:
        size = os.stat(path).st_size
        if size > MAX_INPUT:
            raise DecodeError(
                f"file is {size} bytes, larger than any certificate container certkit accepts "
                f"({MAX_INPUT} bytes)",
                source=path,
            )
        with open(path, "rb") as handle:
            return handle.read(), path
    except OSError as err:
        raise ReadError(f"cannot read {path}: {err.strerror or err}", path=path) from err


def load(
    source: Source,
    *,
    password: Password = None,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    key_passwords: Mapping[str, Password] | None = None,
) -> KeyStore:
    """Read certificates, keys and keystores from a path or bytes into a :class:`KeyStore`.

    The format is detected from the content (a ``.cer`` may be PEM or DER) unless
    ``format`` is given. Keys found beside certificates are paired with the certificate
    they match, and each pair with its chain (leaf first) becomes a :class:`KeyEntry`.
    ``key_passwords`` gives per-alias key passwords for Java keystores; entries whose
    password is not known load locked.
    """
    data, path = _read(source)
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
        password=password, key_passwords=dict(key_passwords or {}), source=path
    )
    try:
        store = codec.load(data, options)
    except CertkitError:
        raise
    except _DATA_ERRORS as err:
        raise DecodeError(
            f"not a valid {spec.description} file ({type(err).__name__}: {err})",
            source=path,
            format=spec.name,
        ) from err
    if store.format is None:
        store = attrs.evolve(store, format=spec.name)
    if notes:
        store = attrs.evolve(store, notes=(*store.notes, *notes))
    return store


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
    source: str, passwords: Password | Mapping[str, Password] | None
) -> Password:
    """The password for one source: the single password given, or the mapping's entry for
    the source's path, absolute path or file name (``None`` when it has none)."""
    if isinstance(passwords, Mapping):
        for key in (source, os.path.abspath(source), os.path.basename(source)):
            if key in passwords:
                return passwords[key]
        return None
    return passwords


def _dump(
    store: KeyStore, spec: formats.FormatSpec, password: Password, allow_loss: bool,
    options: dict[str, Any],
) -> formats.Dumped:
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


def dump(
    store: KeyStore,
    format: str,  # noqa: A002 - the public keyword is "format"
    *,
    password: Password = None,
    allow_loss: bool = False,
    **options: Any,
) -> bytes:
    """Encode ``store`` in ``format`` and return the bytes.

    Raises :class:`~certkit.errors.UnrepresentableError` naming what the format cannot
    hold (a second key in DER, a secret key in PEM…) unless ``allow_loss`` is true.
    Format-specific ``options`` (``profile=`` for PKCS#12, ``bag_attributes=`` for PEM…)
    are checked by the codec.
    """
    return _dump(store, formats.spec(format), password, allow_loss, options).data


def _holds_secrets(store: KeyStore) -> bool:
    return any(isinstance(e, (KeyEntry, SecretKeyEntry)) for e in store.entries)


def _write_atomic(path: pathlib.Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write via a temporary file in the same folder, then link or rename it into place."""
    directory = path.parent if str(path.parent) else pathlib.Path()
    if not overwrite and path.exists():
        raise FileExistsCertkitError(str(path))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = pathlib.Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and fails rather than clobber a file that appeared
            except FileExistsError:
                raise FileExistsCertkitError(str(path)) from None
            except OSError:  # filesystems without hard links
                if path.exists():
                    raise FileExistsCertkitError(str(path)) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _save(
    store: KeyStore, path: str | os.PathLike[str], *, format: str | None,  # noqa: A002
    password: Password, overwrite: bool, allow_loss: bool, options: dict[str, Any],
) -> tuple[pathlib.Path, formats.FormatSpec, formats.Dumped]:
    target = pathlib.Path(path)
    spec = formats.format_for_path(str(target), format=format)
    if not overwrite and target.exists():
        raise FileExistsCertkitError(str(target))
    result = _dump(store, spec, password, allow_loss, options)
    mode = 0o600 if _holds_secrets(store) and spec.holds_keys else 0o644
    try:
        _write_atomic(target, result.data, mode=mode, overwrite=overwrite)
    except FileExistsCertkitError:
        raise
    except OSError as err:
        raise ReadError(f"cannot write {target}: {err.strerror or err}", path=str(target)) from err
    return target, spec, result


def save(
    store: KeyStore,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    password: Password = None,
    overwrite: bool = False,
    allow_loss: bool = False,
    **options: Any,
) -> pathlib.Path:
    """Write ``store`` to ``path`` atomically and return the path.

    The format comes from the extension unless given (``.cer``/``.crt`` mean PEM unless
    ``format="der"``). Files holding private or secret keys get mode 0600. An existing
    file is left untouched unless ``overwrite=True``
    (:class:`~certkit.errors.FileExistsCertkitError`, also a ``FileExistsError``).
    """
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


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    password: Password = None,
    new_password: Password = None,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
    overwrite: bool = False,
    allow_loss: bool = False,
    key_passwords: Mapping[str, Password] | None = None,
    **options: Any,
) -> ConversionReport:
    """Load ``src`` and save it as ``dst``: one load and one dump, nothing format-specific.

    ``new_password`` protects the output; for password-based containers (PKCS#12, JKS,
    JCEKS) it defaults to ``password``, while PEM and DER keys are written unencrypted
    unless ``new_password`` is given.
    """
    store = load(src, password=password, key_passwords=key_passwords)
    spec = formats.format_for_path(os.fspath(dst), format=format)
    out_password = new_password
    if out_password is None and spec.name in ("pkcs12", "jks", "jceks"):
        out_password = password
    target, spec, result = _save(
        store, dst, format=spec.name, password=out_password, overwrite=overwrite,
        allow_loss=allow_loss, options=options,
    )
    return ConversionReport(
        source=os.fspath(src),
        destination=target,
        source_format=store.format or "unknown",
        format=spec.name,
        entries=len(store),
        dropped=result.dropped,
        not_kept=result.not_kept,
    )
