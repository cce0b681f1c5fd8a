"""The PEM block splitter: every ``-----BEGIN X-----`` block of a text, headers and all.

Tolerant of what real files carry (a BOM, UTF-16, CRLF, mail quoting with ``>``, text
between blocks) and bounded (a block count limit, one pass over the text).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

import attrs

from certkit.errors import DecodeError

__all__ = ["PEMBlock", "pem_blocks"]

_BEGIN = re.compile(r"^[ \t>]*-----BEGIN ([A-Z0-9 ]+)-----[ \t]*$", re.MULTILINE)
_MAX_BLOCKS = 100_000


@attrs.frozen
class PEMBlock:
    """One ``-----BEGIN X-----`` … ``-----END X-----`` block and the text before it."""

    label: str
    der: bytes = attrs.field(repr=False)
    headers: tuple[tuple[str, str], ...]
    preamble: str
    line: int
    text: str = attrs.field(repr=False)


def _decode_text(data: bytes, source: str | None) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise DecodeError("UTF-16 text with invalid characters", source=source) from err
    # PEM is ASCII; undecodable bytes in surrounding comments must not stop the read.
    text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def pem_blocks(data: bytes, *, source: str | None = None) -> Iterator[PEMBlock]:
    """Yield every PEM block in ``data`` with its headers and the text that precedes it."""
    text = _decode_text(data, source)
    position = 0
    count = 0
    # Line numbers are counted from the previous block on, so a bundle of N blocks costs
    # O(size), not O(N * size).
    line = 1
    counted = 0
    while True:
        begin = _BEGIN.search(text, position)
        if begin is None:
            return
        count += 1
        if count > _MAX_BLOCKS:
            raise DecodeError(f"more than {_MAX_BLOCKS} PEM blocks; refusing to read further",
                              source=source)
        label = begin.group(1)
        line += text.count("\n", counted, begin.start())
        counted = begin.start()
        end_re = re.compile(r"^[ \t>]*-----END " + re.escape(label) + r"-----[ \t]*$", re.MULTILINE)
        end = end_re.search(text, begin.end())
        if end is None:
            raise DecodeError(
                f"the {label} block that starts on line {line} has no "
                f"'-----END {label}-----' line; the text was probably cut off when copied",
                source=source,
                format="pem",
            )
        body = text[begin.end() : end.start()]
        headers: list[tuple[str, str]] = []
        lines = [ln.strip().lstrip(">").strip() for ln in body.split("\n")]
        payload: list[str] = []
        in_headers = True
        for ln in lines:
            if in_headers and ":" in ln:
                name, _, value = ln.partition(":")
                headers.append((name.strip(), value.strip()))
                continue
            if ln:
                in_headers = False
                payload.append(ln)
        joined = "".join(payload)
        try:
            der = base64.b64decode(joined + "=" * (-len(joined) % 4), validate=True)
        except (binascii.Error, ValueError) as err:
            raise DecodeError(
                f"the {label} block on line {line} is not valid base64 ({err}); "
                "check for characters added by an e-mail client or editor",
                source=source,
                format="pem",
            ) from err
        if not der:
            raise DecodeError(f"the {label} block on line {line} is empty", source=source,
                              format="pem")
        yield PEMBlock(
            label=label,
            der=der,
            headers=tuple(headers),
            preamble=text[position : begin.start()],
            line=line,
            text=text[begin.start() : end.end()] + "\n",
        )
        position = end.end()
