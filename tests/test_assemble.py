"""Naming entries: unique aliases stay linear however many certificates share a name."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

import certkit
from certkit._assemble import Aliases, unique_alias


class _CountingSet(set[str]):
    """A set that counts the membership tests made on it (the work of naming)."""

    lookups = 0

    def __contains__(self, item: object) -> bool:
        type(self).lookups += 1
        return super().__contains__(item)


def _same_name_bundle(count: int) -> bytes:
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "same.example")])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return b"".join(
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(index + 1).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650)).sign(key, None)
        .public_bytes(serialization.Encoding.PEM)
        for index in range(count))


class TestAliases:
    """Aliases hands out name, name-2, name-3… in amortised constant work per name."""

    def test_numbering(self) -> None:
        """The first keeps the name, the next ones are numbered from 2, skipping reserved ones."""
        aliases = Aliases(["site-3"])
        assert [aliases.claim("site") for _ in range(4)] == ["site", "site-2", "site-4",
                                                              "site-5"]
        assert "site-3" in aliases

    def test_whitespace_and_empty(self) -> None:
        """Runs of whitespace become one space; an empty name becomes 'entry'."""
        aliases = Aliases()
        assert aliases.claim("my   server\tcert") == "my server cert"
        assert aliases.claim("  ") == "entry"

    def test_unique_alias_accepts_both(self) -> None:
        """unique_alias gives the same names with a plain set and with Aliases."""
        taken: set[str] = {"a"}
        aliases = Aliases(["a"])
        assert [unique_alias("a", taken) for _ in range(3)] == [
            unique_alias("a", aliases) for _ in range(3)] == ["a-2", "a-3", "a-4"]

    @pytest.mark.parametrize("count", [1000, 4000])
    def test_work_is_linear(self, count: int) -> None:
        """Naming N entries that all want one name costs about 2N lookups, not N²/2."""
        aliases = Aliases()
        object.__setattr__(aliases, "_taken", _CountingSet())
        _CountingSet.lookups = 0
        names = [aliases.claim("same") for _ in range(count)]
        assert len(set(names)) == count
        assert _CountingSet.lookups <= 2 * count

    def test_reserved_numbers_are_skipped_once(self) -> None:
        """Explicit aliases in the way of the numbering are stepped over once, not per claim."""
        reserved = [f"same-{n}" for n in range(2, 1002)]
        aliases = Aliases(reserved)
        object.__setattr__(aliases, "_taken", _CountingSet(reserved))
        _CountingSet.lookups = 0
        names = [aliases.claim("same") for _ in range(1000)]
        assert names[1] == "same-1002"
        assert _CountingSet.lookups <= 2 * 1000 + len(reserved)


class TestLoadSameName:
    """Loading a bundle of certificates that share one common name."""

    def test_every_certificate_gets_its_own_alias(self) -> None:
        """2,000 certificates named alike load as same.example, same.example-2 … -2000."""
        store = certkit.load(_same_name_bundle(2000))
        assert store.aliases == ("same.example",
                                 *(f"same.example-{n}" for n in range(2, 2001)))
