"""Turn loose certificates and keys (from PEM, DER, PKCS#7 or PKCS#12 bags) into entries.

Keys pair with certificates by local key id first, then by public key; each key's chain
is linked from the other certificates by issuer name and key identifier, a signature
check confirming or breaking each link (one that cannot be checked leaves it standing,
unverified), leaf first;
certificates left over become trusted entries. Aliases come from the friendly name, else
the subject's common name, made unique.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Container, Iterable, Sequence

import attrs

from certkit._crypto import der as _der
from certkit._model import (
    Attributes,
    Certificate,
    Chain,
    Entry,
    KeyEntry,
    LockedKey,
    OpaqueEntry,
    PrivateKey,
    SecretKeyEntry,
    TrustedCertEntry,
)

__all__ = [
    "Aliases",
    "LooseCertificate",
    "LooseKey",
    "assemble",
    "chain_attributes",
    "link_chain",
    "unique_alias",
]

_MAX_CHAIN = 16


@attrs.frozen
class LooseCertificate:
    """A certificate as found in a container, with the attributes it carried."""

    certificate: Certificate
    attributes: Attributes = Attributes()
    position: int = 0
    trusted: bool = True
    created: _dt.datetime | None = None


@attrs.frozen
class LooseKey:
    """A private key as found in a container, with the attributes it carried."""

    key: PrivateKey | LockedKey
    attributes: Attributes = Attributes()
    position: int = 0
    created: _dt.datetime | None = None


def _spki_fp(key: PrivateKey | LockedKey) -> str | None:
    return key.known_fingerprint


class _Index:
    """Certificates indexed by subject name (DER) so linking is a lookup, not a scan."""

    def __init__(self, certificates: Iterable[Certificate]) -> None:
        self.by_subject: dict[bytes, list[Certificate]] = {}
        self._names: dict[bytes, tuple[bytes, bytes]] = {}
        for cert in certificates:
            self.by_subject.setdefault(self.names(cert)[1], []).append(cert)

    def names(self, cert: Certificate) -> tuple[bytes, bytes]:
        """Issuer and subject as encoded (as parsed names re-encode): no Name objects built."""
        found = self._names.get(cert.der)
        if found is None:
            found = self._names[cert.der] = _der.certificate_names(cert.der)
        return found

    def issuers_of(self, cert: Certificate, exclude: Container[bytes] = ()) -> list[Certificate]:
        candidates = self.by_subject.get(self.names(cert)[0], [])
        return [c for c in candidates
                if c.der != cert.der and c.der not in exclude and cert.is_issued_by(c)]


def link_chain(leaf: Certificate, pool: Iterable[Certificate]) -> Chain:
    """Extend ``leaf`` with issuers from ``pool`` until a self-signed certificate or a gap.

    Returns a leaf-first :class:`Chain`. An issuer is found by name and key identifier;
    its signature, when it can be checked, confirms the link or rules the candidate out,
    and when it cannot (SHA-1, MD5, an unsupported algorithm) the link stands, unverified
    (:attr:`Chain.links`). Where several issuers link (cross-signing), a verified one
    beats an unverified one, then a root, then the one valid longest, so the choice is
    deterministic. A cycle (A issued B issued A) ends where a certificate would repeat,
    as keytool ends it.
    """
    index = _Index(pool)
    chain = [leaf]
    seen = {leaf.der}
    current = leaf
    # A signature check costs as much as a tenth of a PFX conversion: only a certificate
    # whose encoded names match gets one (remembered by is_issued_by), and issuers are
    # ranked only when there is a choice.
    def is_self_signed(cert: Certificate) -> bool:
        issuer, subject = index.names(cert)
        return issuer == subject and cert.is_self_signed

    while len(chain) < _MAX_CHAIN:
        # Looking for issuers first: a root's only candidate is itself, already in the chain,
        # so no self-signature needs checking to end there.
        issuers = index.issuers_of(current, exclude=seen)
        if not issuers or is_self_signed(current):
            break
        if len(issuers) > 1:
            issuers.sort(key=lambda c: (current.link_to(c).status == "verified",
                                        is_self_signed(c), c.not_after, c.der), reverse=True)
        current = issuers[0]
        chain.append(current)
        seen.add(current.der)
    return Chain(tuple(chain))


def chain_attributes(copies: Sequence[Attributes]) -> Attributes:
    """The attributes of the copy that put a certificate into a chain.

    A CA certificate may appear several times (in two chains, or also as an entry of its
    own); the copy inside a chain is the one without a friendly name of its own, if any.
    """
    unnamed = [a for a in copies if a.friendly_name is None]
    chosen = unnamed or list(copies)
    return chosen[0] if chosen else Attributes()


class Aliases:
    """The aliases of one store being named, handing out ``name``, ``name-2``, ``name-3``…

    Remembers, per name, the next number to try, so naming *n* entries that all want the
    same name costs O(*n*) in all rather than O(*n*²): the counter never goes back, and
    each number skipped (taken by an explicit alias) is skipped once.
    """

    __slots__ = ("_next", "_taken")

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(reserved)
        self._next: dict[str, int] = {}

    def __contains__(self, alias: object) -> bool:
        return alias in self._taken

    def __len__(self) -> int:
        return len(self._taken)

    def reserve(self, alias: str) -> None:
        """Mark ``alias`` as taken (an explicit name that derived ones must avoid)."""
        self._taken.add(alias)

    def claim(self, wanted: str) -> str:
        """``wanted`` (whitespace runs made one space) or its first free numbered form."""
        base = " ".join(wanted.split()) or "entry"
        alias = base
        if alias in self._taken:
            counter = self._next.get(base, 2)
            alias = f"{base}-{counter}"
            while alias in self._taken:
                counter += 1
                alias = f"{base}-{counter}"
            self._next[base] = counter + 1
        self._taken.add(alias)
        return alias


def unique_alias(wanted: str, taken: set[str] | Aliases) -> str:
    """Return ``wanted`` or ``wanted-2``, ``wanted-3``… whichever is not in ``taken``.

    Pass an :class:`Aliases` when naming many entries: with a plain set each call counts
    up from 2 again, which is quadratic when thousands share a name.
    """
    if isinstance(taken, Aliases):
        return taken.claim(wanted)
    base = " ".join(wanted.split()) or "entry"  # runs of whitespace become one space
    alias = base
    counter = 2
    while alias in taken:
        alias = f"{base}-{counter}"
        counter += 1
    taken.add(alias)
    return alias


def assemble(
    certificates: Sequence[LooseCertificate],
    keys: Sequence[LooseKey] = (),
    secrets: Sequence[SecretKeyEntry | OpaqueEntry] = (),
) -> tuple[Entry, ...]:
    """Pair keys with certificates, link chains, and name everything; entries keep file order.

    ``secrets`` (secret keys, and entries kept opaque) are appended as they are, renamed
    only if their alias is taken.

    A certificate that appears twice is kept once (the first occurrence's attributes win).
    """
    unique: dict[bytes, LooseCertificate] = {}
    for item in certificates:
        unique.setdefault(item.certificate.der, item)
    pool = [item.certificate for item in unique.values()]
    copies: dict[bytes, list[Attributes]] = {}
    for item in certificates:
        copies.setdefault(item.certificate.der, []).append(item.attributes)
    by_key_id: dict[bytes, LooseCertificate] = {}
    by_spki: dict[str, list[LooseCertificate]] = {}
    for item in unique.values():
        if item.attributes.local_key_id is not None:
            by_key_id.setdefault(item.attributes.local_key_id, item)
        by_spki.setdefault(item.certificate.public_key_fingerprint, []).append(item)

    used: set[bytes] = set()
    # (position in the file, wanted alias, entry with a placeholder alias)
    staged: list[tuple[int, str, Entry]] = []
    for loose in keys:
        leaf_item: LooseCertificate | None = None
        key_id = loose.attributes.local_key_id
        if key_id is not None and key_id in by_key_id:
            leaf_item = by_key_id[key_id]
        else:
            fingerprint = _spki_fp(loose.key)
            candidates = by_spki.get(fingerprint, []) if fingerprint else []
            fresh = [c for c in candidates if c.certificate.der not in used]
            if fresh or candidates:
                leaf_item = (fresh or candidates)[0]
        chain = Chain()
        cert_attributes: list[Attributes] = []
        if leaf_item is not None:
            chain = link_chain(leaf_item.certificate, pool)
            used.update(cert.der for cert in chain)
            # Keep what the certificates carried (OpenSSL's -caname names, say), except a
            # leaf that merely repeats its key's name and id.
            usual = (loose.attributes, Attributes(friendly_name=loose.attributes.friendly_name,
                                                  local_key_id=loose.attributes.local_key_id))
            leaf_attributes = leaf_item.attributes
            cert_attributes = [Attributes() if leaf_attributes in usual else leaf_attributes]
            cert_attributes += [chain_attributes(copies.get(c.der, []))
                                for c in chain.certificates[1:]]
        wanted = (
            loose.attributes.friendly_name
            or (leaf_item.attributes.friendly_name if leaf_item else None)
            or (leaf_item.certificate.common_name if leaf_item else None)
            or "private-key"
        )
        key_entry = KeyEntry.unchecked(
            alias="", key=loose.key, chain=chain, attributes=loose.attributes,
            created=loose.created, certificate_attributes=cert_attributes,
        )
        staged.append((loose.position, wanted, key_entry))

    for item in unique.values():
        if item.certificate.der in used:
            continue
        wanted = item.attributes.friendly_name or item.certificate.common_name or "certificate"
        trusted = TrustedCertEntry(
            alias="",
            certificate=item.certificate,
            attributes=item.attributes,
            created=item.created,
            trusted=item.trusted,
        )
        staged.append((item.position, wanted, trusted))

    staged.extend((1 << 30, secret.alias, secret) for secret in secrets)

    staged.sort(key=lambda row: row[0])
    # Friendly names are real aliases: reserve them first so derived names yield to them.
    taken = Aliases(staged_entry.attributes.friendly_name for _, _, staged_entry in staged
                    if staged_entry.attributes.friendly_name)
    entries: list[Entry] = []
    explicit_done: set[str] = set()
    for _, wanted, staged_entry in staged:
        name = staged_entry.attributes.friendly_name
        if name and name not in explicit_done:
            alias = name
            explicit_done.add(name)
        else:
            alias = taken.claim(wanted)
        entries.append(attrs.evolve(staged_entry, alias=alias))
    return tuple(entries)
