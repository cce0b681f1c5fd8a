"""What every codec shares: the options it receives, the result it returns, its interface.

Codecs import these from here, never from the registry (:mod:`certkit.formats`), so the
registry can import codecs lazily without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from certkit.errors import UnsupportedFormatError

if TYPE_CHECKING:  # detecting a format must not import the model (start-up time)
    from certkit._model import KeyStore, Password

__all__ = ["Codec", "DumpOptions", "Dumped", "LoadOptions"]


@attrs.frozen
class LoadOptions:
    """What every codec's ``load`` receives besides the bytes.

    ``max_work`` caps the password-based key derivation the file may ask for, in
    hash-compression units (``None``: the default, or what :func:`certkit.work_limit`
    set); each codec draws every derivation of one load, and of its entries' later
    unlocking, from one :class:`certkit._crypto.budget.WorkBudget`.

    ``decrypt_keys=False`` is for listing: a codec then leaves a private key encrypted, as a
    :class:`certkit.LockedKey` with ``deferred=True`` that opens with the load password, when
    its certificate can be found without decrypting it (it spends no derivation on it).
    """

    password: Password = attrs.field(default=None, repr=False)
    key_passwords: Mapping[str, Password] = attrs.field(factory=dict, repr=False)
    source: str | None = None
    max_work: int | None = None
    decrypt_keys: bool = True


@attrs.frozen
class DumpOptions:
    """What every codec's ``dump`` receives: the password, whether loss is allowed, and
    the format-specific keyword options the caller passed (each codec checks its own)."""

    password: Password = attrs.field(default=None, repr=False)
    allow_loss: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def take(self, allowed: Mapping[str, object], format: str) -> dict[str, Any]:  # noqa: A002
        """Return ``allowed`` (name → default) filled from ``extra``; reject unknown names."""
        unknown = sorted(set(self.extra) - set(allowed))
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise UnsupportedFormatError(
                f"option(s) {', '.join(unknown)} do not apply to {format}; "
                f"its options are: {known}",
                format=format,
            )
        return {name: self.extra.get(name, default) for name, default in allowed.items()}


@attrs.frozen
class Dumped:
    """A codec's output: the bytes, what was dropped (only with ``allow_loss``), and the
    metadata the format has no place for (aliases, dates, attributes)."""

    data: bytes = attrs.field(repr=False)
    dropped: tuple[str, ...] = ()
    not_kept: tuple[str, ...] = ()


class Codec(Protocol):
    """The interface each format module's codec object implements."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Decode ``data`` into a store; raise only :class:`certkit.errors.CertkitError`."""
        ...

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Encode ``store``; raise :class:`UnrepresentableError` rather than drop silently."""
        ...
