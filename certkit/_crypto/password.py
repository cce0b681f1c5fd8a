"""Passwords as callers give them, and the bytes a format makes of them."""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["Password", "password_bytes"]

#: A password as callers give it: text (UTF-8 or BMPString as each format requires),
#: raw bytes, or ``None`` for "no password" (which PKCS#12 keeps apart from ``""``).
Password: TypeAlias = str | bytes | None


def password_bytes(password: Password) -> bytes | None:
    """Return a password as UTF-8 bytes, keeping ``None`` apart from ``b""``."""
    if password is None or isinstance(password, bytes):
        return password
    return password.encode("utf-8")
