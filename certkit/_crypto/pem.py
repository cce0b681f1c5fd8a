"""The PEM block splitter: every ``-----BEGIN X-----`` block of a text, headers and all.

Tolerant of what real files carry (a BOM, UTF-16, CRLF, mail quoting with ``>``, text
between blocks) and bounded (a block count limit, one pass over the text). The bytes are
searched as they are, not decoded to a ``str`` copy first: a block costs about twice its
own size while it is decoded, and the file costs nothing more than itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

import attrs

from certkit.errors import DecodeError

__all__ = ["PEMBlock", "pem_blocks"]

_BEGIN = re.compile(rb"^(?:\xef\xbb\xbf)?[ \t>]*-----BEGIN ([A-Z0-9 ]+)-----[ \t\r]*$",
                    re.MULTILINE)
_MAX_BLOCKS = 100_000
_WHITESPACE = b" \t\r\n\v\f"


@attrs.frozen
class PEMBlock:
    """One ``-----BEGIN X-----`` … ``-----END X-----`` block and the text before it."""

    label: str
    der: bytes = attrs.field(repr=False)
    headers: tuple[tuple[str, str], ...]
    preamble: str
    line: int


def _as_lines(data: bytes, source: str | None) -> bytes:
    """``data`` as UTF-8 bytes whose lines end in LF or CRLF (a UTF-8 BOM may lead).

    Copies only what needs converting (UTF-16, or old Mac CR-only line ends): a big
    bundle in UTF-8 or ASCII is searched where it lies, never duplicated as a ``str``.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as err:
            raise DecodeError("UTF-16 text with invalid characters", source=source) from err
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _text(data: bytes) -> str:
    # PEM is ASCII; undecodable bytes in surrounding comments must not stop the read.
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return text.removeprefix("\ufeff")


def _headers_and_payload(data: bytes, start: int, end: int) -> tuple[list[tuple[str, str]], int]:
    """RFC 1421 headers at the top of a block body, and where the base64 starts."""
    headers: list[tuple[str, str]] = []
    position = start
    while position < end:
        newline = data.find(b"\n", position, end)
        line_end = end if newline < 0 else newline
        line = data[position:line_end].strip().lstrip(b">").strip()
        if line and b":" not in line:
            break  # the first base64 line
        if line:
            name, _, value = _text(line).partition(":")
            headers.append((name.strip(), value.strip()))
        position = line_end + 1
    return headers, min(position, end)


def _base64_text(payload: bytes) -> bytes:
    """The base64 characters of a block: line breaks, indents and mail quoting removed."""
    if b">" not in payload:
        return payload.translate(None, _WHITESPACE)
    return b"".join(line.strip().lstrip(b">").strip() for line in payload.split(b"\n"))


def pem_blocks(data: bytes, *, source: str | None = None) -> Iterator[PEMBlock]:
    """Yield every PEM block in ``data`` with its headers and the text that precedes it.

    One pass over the bytes as given: the memory a block costs is about twice its own
    size while it is decoded, whatever the size of the file.
    """
    data = _as_lines(data, source)
    position = 0
    count = 0
    # Line numbers are counted from the previous block on, so a bundle of N blocks costs
    # O(size), not O(N * size).
    line = 1
    counted = 0
    while True:
        begin = _BEGIN.search(data, position)
        if begin is None:
            return
        count += 1
        if count > _MAX_BLOCKS:
            raise DecodeError(f"more than {_MAX_BLOCKS} PEM blocks; refusing to read further",
                              source=source)
        label = begin.group(1).decode("ascii")
        line += data.count(b"\n", counted, begin.start())
        counted = begin.start()
        end_re = re.compile(rb"^[ \t>]*-----END " + re.escape(begin.group(1))
                            + rb"-----[ \t\r]*$", re.MULTILINE)
        end = end_re.search(data, begin.end())
        if end is None:
            raise DecodeError(
                f"the {label} block that starts on line {line} has no "
                f"'-----END {label}-----' line; the text was probably cut off when copied",
                source=source,
                format="pem",
            )
        headers, payload_start = _headers_and_payload(data, begin.end(), end.start())
        joined = _base64_text(data[payload_start:end.start()])
        if len(joined) % 4:
            joined += b"=" * (-len(joined) % 4)
        try:
            der = base64.b64decode(joined, validate=True)
        except (binascii.Error, ValueError) as err:
            raise DecodeError(
                f"the {label} block on line {line} is not valid base64 ({err}); "
                "check for characters added by an e-mail client or editor",
                source=source,
                format="pem",
            ) from err
        del joined
        if not der:
            raise DecodeError(f"the {label} block on line {line} is empty", source=source,
                              format="pem")
        yield PEMBlock(
            label=label,
            der=der,
            headers=tuple(headers),
            preamble=_text(data[position : begin.start()]),
            line=line,
        )
        position = end.end()
