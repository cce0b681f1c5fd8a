"""Property tests: ``load(dump(store, f)) == store`` for PEM, DER and PKCS#7.

Stores are drawn from a pool of keys and certificates generated once (key generation is
slow); each drawn store is first made *canonical* for formats without entry boundaries:
key entries carry their full chain, and a certificate already in some chain is not also a
trusted entry (PEM would fold it into that chain, which is the documented behaviour).
Stores are never empty: an empty file is a load error by design.
"""

from __future__ import annotations

import functools

import attrs
from conftest import issue, make_key
from hypothesis import given, settings
from hypothesis import strategies as st

import certkit
from certkit import Attributes, Certificate, Chain, KeyEntry, KeyStore, PrivateKey, TrustedCertEntry
from certkit._model import Entry
from certkit.formats.kubernetes import secret_name


@attrs.frozen
class Identity:
    """A key with its full chain (leaf first); an empty chain for a key with no certificate."""

    key: PrivateKey
    chain: tuple[Certificate, ...]


@functools.cache
def pool() -> tuple[Identity, ...]:
    """Two hierarchies (EC and RSA roots), self-signed leaves and two certificate-less keys."""
    root_a = issue("Pool Root A", ca=True, key=make_key("EC-P256"))
    int_a = issue("Pool Intermediate A", issuer=root_a, ca=True, key=make_key("EC-P384"))
    leaf_a1 = issue("a1.example", issuer=int_a, key=make_key("EC-P256"))
    leaf_a2 = issue("a2.example", issuer=int_a, key=make_key("Ed25519"))
    root_b = issue("Pool Root B", ca=True, key=make_key("RSA-2048"))
    leaf_b1 = issue("b1.example", issuer=root_b, key=make_key("EC-P256"))
    solo_1 = issue("solo-1", key=make_key("EC-P256"))
    solo_2 = issue("solo-2", key=make_key("Ed25519"))
    ids = [
        Identity(root_a.key, (root_a.certificate,)),
        Identity(int_a.key, (int_a.certificate, root_a.certificate)),
        Identity(leaf_a1.key, (leaf_a1.certificate, int_a.certificate, root_a.certificate)),
        Identity(leaf_a2.key, (leaf_a2.certificate, int_a.certificate, root_a.certificate)),
        Identity(root_b.key, (root_b.certificate,)),
        Identity(leaf_b1.key, (leaf_b1.certificate, root_b.certificate)),
        Identity(solo_1.key, (solo_1.certificate,)),
        Identity(solo_2.key, (solo_2.certificate,)),
        Identity(make_key("EC-P256"), ()),
        Identity(make_key("Ed25519"), ()),
    ]
    return tuple(ids)


POOL_SIZE = 10
ALIAS = st.text(st.characters(categories=("L", "N")) | st.sampled_from(" -_.@:"),
                min_size=1, max_size=16).map(str.strip).filter(bool)
PICKS = st.lists(st.tuples(st.integers(0, POOL_SIZE - 1), st.booleans(), ALIAS, st.booleans()),
                 min_size=1, max_size=6, unique_by=(lambda t: t[0], lambda t: t[2]))


def build(picks: list[tuple[int, bool, str, bool]], *, named: bool) -> KeyStore:
    """A canonical store: picked identities as key entries (True) or trusted certificates.

    ``named`` gives every entry its alias as friendly name (and some a local key id), as a
    PEM file with Bag Attributes carries them.
    """
    identities = pool()
    keyed = [(i, a, kid) for i, as_key, a, kid in picks if as_key or not identities[i].chain]
    in_chains = {c.der for i, _, _ in keyed for c in identities[i].chain}
    entries: list[Entry] = []
    for index, (i, as_key, alias, with_kid) in enumerate(picks):
        ident = identities[i]
        attributes = Attributes()
        if named:
            kid = bytes([index + 1]) * 4 if with_kid else None
            attributes = Attributes(friendly_name=alias, local_key_id=kid)
        if as_key or not ident.chain:
            entries.append(KeyEntry(alias, ident.key, Chain(ident.chain), attributes))
        elif ident.chain[0].der not in in_chains:
            entries.append(TrustedCertEntry(alias, ident.chain[0], attributes))
    return KeyStore(entries)


def derived(store: KeyStore) -> KeyStore:
    """The store with the aliases a format without names gives: CN (or private-key), unique."""
    taken: set[str] = set()
    entries: list[Entry] = []
    for entry in store:
        cert = entry.certificate if isinstance(entry, (KeyEntry, TrustedCertEntry)) else None
        wanted = (cert.common_name if cert else None) or "private-key"
        alias, n = wanted, 2
        while alias in taken:
            alias, n = f"{wanted}-{n}", n + 1
        taken.add(alias)
        entries.append(attrs.evolve(entry, alias=alias, attributes=Attributes()))
    return KeyStore(entries)


class TestPEM:
    @settings(max_examples=60, deadline=None)
    @given(PICKS)
    def test_with_bag_attributes_keeps_aliases(self, picks: list[tuple[int, bool, str, bool]]
                                               ) -> None:
        """With Bag Attributes a store of named entries comes back equal, aliases included."""
        store = build(picks, named=True)
        assert certkit.load(certkit.dump(store, "pem", bag_attributes=True)) == store

    @settings(max_examples=60, deadline=None)
    @given(PICKS)
    def test_plain_pem_derives_aliases(self, picks: list[tuple[int, bool, str, bool]]) -> None:
        """Plain PEM keeps keys, chains, certificates and order; aliases become the CN, unique."""
        store = build(picks, named=False)
        assert certkit.load(certkit.dump(store, "pem")) == derived(store)


class TestDER:
    @settings(max_examples=30, deadline=None)
    @given(st.integers(0, 7), ALIAS)
    def test_single_certificate(self, index: int, alias: str) -> None:
        """One certificate round-trips through DER; its alias becomes its CN."""
        cert = pool()[index].chain[0]
        store = KeyStore([TrustedCertEntry(alias, cert)])
        assert certkit.load(certkit.dump(store, "der")) == derived(store)

    @settings(max_examples=30, deadline=None)
    @given(st.integers(0, POOL_SIZE - 1), ALIAS)
    def test_single_key(self, index: int, alias: str) -> None:
        """One key round-trips through DER as a chainless key entry named private-key."""
        store = KeyStore([KeyEntry(alias, pool()[index].key)])
        assert certkit.load(certkit.dump(store, "der")) == derived(store)


class TestPKCS7:
    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
           st.sampled_from(["der", "pem"]))
    def test_certificate_stores(self, indexes: list[int], encoding: str) -> None:
        """Certificate-only stores round-trip in order; aliases become the CN."""
        store = KeyStore([TrustedCertEntry(f"c{i}", pool()[i].chain[0]) for i in indexes])
        assert certkit.load(certkit.dump(store, "pkcs7", encoding=encoding)) == derived(store)


class TestKubernetes:
    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 7), ALIAS), min_size=1, max_size=5,
                    unique_by=(lambda t: t[0], lambda t: secret_name(t[1]))))
    def test_key_entries_round_trip(self, picks: list[tuple[int, str]]) -> None:
        """Key entries with valid Secret names come back equal, chains whole (root via ca.crt)."""
        store = KeyStore([KeyEntry(secret_name(alias), pool()[i].key, Chain(pool()[i].chain))
                          for i, alias in picks])
        assert certkit.load(certkit.dump(store, "kubernetes")) == store
