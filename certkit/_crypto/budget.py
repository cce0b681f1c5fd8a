"""One budget for all the password-based key derivations of one file.

A hostile file can ask for any iteration count, in any number of places (a MAC, every bag,
every Java key). Each derivation is charged here *before* it runs, in hash-compression
units: iterations x derived hash blocks (a PKCS#12 KDF call deriving a 24-byte 3DES key
with SHA-1 is 2 blocks, its IV 1 more; PBKDF2 deriving 32 bytes with HMAC-SHA-256 is 1;
the JCE ``PBEWithMD5AndTripleDES`` key is 2 MD5 chains; a SHA-384/512 block counts twice,
as its compression function costs about twice as much). Every attempt is charged, so
trying another encoding of the password draws on the same budget rather than
multiplying it.

Two limits apply: no single derivation may run more than :data:`MAX_ITERATIONS`
iterations (the JDK's own cap for PKCS#12 and JCEKS), and one file may spend at most
:data:`DEFAULT_MAX_WORK` units unless the caller allows more (``max_work=`` on
``certkit.load``, :func:`work_limit` around any operation, ``--max-work`` on the command
line). docs/untrusted-input.md explains how the defaults were chosen.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from certkit.errors import DecodeError, WorkLimitError

__all__ = ["DEFAULT_MAX_WORK", "MAX_ITERATIONS", "WorkBudget", "blocks", "work_limit"]

#: The largest iteration count of any one derivation (``MAX_ITERATION_COUNT`` in the JDK's
#: PKCS12KeyStore and JCEKS KeyProtector); real files use 1 to 200,000.
MAX_ITERATIONS = 5_000_000
#: What one file may spend by default: seven keytool JCEKS keys (200,000 iterations x 2
#: MD5 chains each), a legacy Java PKCS#12 (350,000) with fifteen keys, any OpenSSL,
#: Windows or Bouncy Castle file; and no more than about a second of the slowest
#: derivation certkit runs (docs/untrusted-input.md has the measurements).
DEFAULT_MAX_WORK = 3_000_000

_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("certkit_max_work",
                                                                    default=None)


@contextlib.contextmanager
def work_limit(units: int) -> Iterator[None]:
    """Within the block, every file loaded may spend up to ``units`` (instead of the default)."""
    _check_limit(units)
    token = _LIMIT.set(units)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def _check_limit(units: object) -> None:
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"max_work must be a positive integer, not {units!r}")


def blocks(length: int, hash_size: int) -> int:
    """How many hash outputs a derivation of ``length`` bytes takes."""
    return max(1, -(-length // hash_size))


class WorkBudget:
    """What one load may still spend on password-based key derivation."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: int | None = None) -> None:
        if limit is None:
            limit = _LIMIT.get()
        if limit is None:
            limit = DEFAULT_MAX_WORK
        _check_limit(limit)
        self.limit = limit
        self.spent = 0

    @classmethod
    def unlimited(cls) -> WorkBudget:
        """A budget for writing, whose iteration counts are the caller's own choice."""
        budget = cls(1)
        budget.limit = -1
        return budget

    def charge(self, iterations: int, hash_blocks: int, what: str) -> None:
        """Account for ``iterations`` x ``hash_blocks`` before the work; raise if over a limit."""
        if iterations < 1:
            raise DecodeError(f"{what}: iteration count {iterations} is not valid "
                              "(must be at least 1)")
        if iterations > MAX_ITERATIONS:
            raise DecodeError(
                f"{what}: iteration count {iterations:,} is absurd (certkit, like Java, refuses "
                f"more than {MAX_ITERATIONS:,}); the file is damaged or hostile")
        units = iterations * hash_blocks
        if self.limit >= 0 and self.spent + units > self.limit:
            raise WorkLimitError(what=what, asked=self.spent + units, limit=self.limit)
        self.spent += units
