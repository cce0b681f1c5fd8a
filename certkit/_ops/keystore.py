"""Keystore operations: install a CA reply, add a trusted certificate, rename, remove, re-password.

These are keytool's ``-importcert`` (of a reply and of a CA), ``-changealias``, ``-delete``,
``-storepasswd`` and ``-keypasswd``, as functions over a :class:`~certkit.KeyStore` that
return a new store. :func:`import_reply` is the answer to Tomcat's "Public keys in reply
and keystore don't match": it finds the entry by public key, whatever alias was typed, and
says which alias is the right one when the typed one is not.

:func:`edit_keystore` and :func:`change_password` are the file-level verbs: load, change,
and write back atomically in the same format (a PKCS#12 keeps its encryption profile).
Keys still locked under their own password are never decrypted; they are written back
exactly as they were read.
"""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from certkit._model import (
    Certificate,
    Chain,
    KeyEntry,
    KeyStore,
    OpaqueEntry,
    Password,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._ops.api import load, save
from certkit._ops.chains import CertificatePool, TrustSource, build, order_chain, trust_pool
from certkit.errors import (
    AliasError,
    ChainError,
    Hint,
    KeyMismatchError,
    PasswordError,
    UnsupportedFormatError,
)

__all__ = [
    "KEYSTORE_FORMATS",
    "ReplySource",
    "add_trusted",
    "chain_status",
    "change_password",
    "edit_keystore",
    "import_reply",
    "matching_entries",
    "remove",
    "rename",
    "reply_certificates",
    "reply_target",
    "resolve_alias",
]

#: What :func:`import_reply` accepts as the CA's reply: certificates, a chain, a store,
#: the file's bytes, or the path of a ``.cer``/``.crt``/``.pem``/``.p7b`` file.
ReplySource: TypeAlias = (
    "Certificate | Chain | KeyStore | Iterable[Certificate] | bytes | str | os.PathLike[str]"
)

#: The formats :func:`edit_keystore` and :func:`change_password` write back.
KEYSTORE_FORMATS = ("pkcs12", "jks", "jceks")

_ALIAS_UNSAFE = re.compile(r"[^a-z0-9._-]+")


def reply_certificates(reply: ReplySource) -> tuple[Certificate, ...]:
    """The certificates of a CA reply, in the order given (duplicates dropped)."""
    certs: Iterable[Certificate]
    if isinstance(reply, Certificate):
        certs = (reply,)
    elif isinstance(reply, KeyStore):
        certs = reply.certificates
    elif isinstance(reply, (bytes, str, os.PathLike)):
        certs = load(reply).certificates
    else:
        certs = reply
    unique: dict[bytes, Certificate] = {}
    for cert in certs:
        unique.setdefault(cert.der, cert)
    if not unique:
        raise ChainError("the CA reply holds no certificate; it should be the issued "
                         "certificate (.cer/.crt/.pem) or its chain (.p7b)")
    return tuple(unique.values())


def _key_fingerprint(entry: KeyEntry) -> str | None:
    """The entry's public key fingerprint: from the key, or for a locked key, its certificate."""
    return entry.key.known_fingerprint


def matching_entries(store: KeyStore, certificate: Certificate) -> tuple[KeyEntry, ...]:
    """The key entries holding ``certificate``'s private key (locked ones by fingerprint)."""
    wanted = certificate.public_key_fingerprint
    return tuple(e for e in store.key_entries if _key_fingerprint(e) == wanted)


def _reply_leaf(certs: tuple[Certificate, ...]) -> Certificate:
    """The certificate a reply is "for": the leaf of its chain, else its first non-CA one."""
    try:
        return order_chain(certs)[0]
    except ChainError:
        return next((c for c in certs if not c.is_ca), certs[0])


def _no_key_error(leaf: Certificate, store: KeyStore, alias: str | None) -> KeyMismatchError:
    keys = ", ".join(repr(e.alias) for e in store.key_entries) or "none"
    typed = f" (not {alias!r}, nor any other)" if alias is not None and alias in store else ""
    return KeyMismatchError(
        f"no private key in this keystore matches the reply {leaf.subject} (public key sha256 "
        f"{leaf.public_key_fingerprint}){typed}; key entries here: {keys}. The CSR was made "
        "from another keystore, or the key was generated again (keytool -genkeypair) after the "
        "CSR was sent. Find the keystore that holds the key with `certkit find-key REPLY "
        "FOLDER`; if the key is gone, make a new key and CSR and ask the CA to re-issue",
        alias=alias,
    )


def _wrong_alias_error(alias: str, store: KeyStore, right: str) -> KeyMismatchError:
    typed = store.get(alias)
    if typed is None:
        what = (f"there is no entry {alias!r} in this keystore (keytool would have imported "
                "the reply there as a separate trusted certificate, leaving the key's entry "
                "with chain length 1)")
    elif isinstance(typed, KeyEntry):
        what = (f"the reply's public key does not match the key in entry {alias!r} (keytool: "
                "\"Public keys in reply and keystore don't match\")")
    else:
        what = f"entry {alias!r} holds no private key"
    return KeyMismatchError(
        f"{what}; the reply belongs to the key in entry {right!r}: import it with alias "
        f"{right!r} (or give no alias)",
        alias=alias, matching_alias=right,
    )


def _choose(candidates: list[Certificate]) -> Certificate:
    """Of several reply certificates for one key, the end-entity one issued last."""
    return sorted(candidates, key=lambda c: (c.is_ca, -c.not_before.timestamp(), c.der))[0]


def _find_target(
    store: KeyStore, certs: tuple[Certificate, ...], alias: str | None
) -> tuple[KeyEntry, Certificate]:
    found: dict[str, tuple[KeyEntry, list[Certificate]]] = {}
    for cert in certs:
        for entry in matching_entries(store, cert):
            found.setdefault(entry.alias, (entry, []))[1].append(cert)
    if alias is not None:
        alias = resolve_alias(store, alias)
        if alias not in found:
            if not found:
                raise _no_key_error(_reply_leaf(certs), store, alias)
            raise _wrong_alias_error(alias, store, next(iter(found)))
        target, candidates = found[alias]
    elif not found:
        raise _no_key_error(_reply_leaf(certs), store, None)
    elif len(found) > 1:
        names = ", ".join(repr(a) for a in found)
        raise AliasError(f"the reply matches the keys of several entries ({names}); pass the "
                         "alias of the one to install it into", alias=None)
    else:
        target, candidates = next(iter(found.values()))
    return target, _choose(candidates)


def reply_target(store: KeyStore, reply: ReplySource, alias: str | None = None) -> KeyEntry:
    """The key entry a CA reply belongs to, by public key (raising as :func:`import_reply` does)."""
    return _find_target(store, reply_certificates(reply), alias)[0]


def import_reply(
    store: KeyStore,
    reply: ReplySource,
    alias: str | None = None,
    *,
    trust: TrustSource | None = None,
) -> KeyStore:
    """Install a CA reply into the key entry whose public key it certifies; return the new store.

    The entry is found by public key, so a wrong ``alias`` is a
    :class:`~certkit.errors.KeyMismatchError` whose ``matching_alias`` names the right one,
    and a reply for a key this store does not hold is one too (no ``matching_alias``).
    Locked entries match by their certificate's public key and stay locked. The new chain,
    **leaf first**, is built from the reply, the store's certificates and ``trust`` (a
    bundle path, ``"system"``…); it ends wherever no issuer can be found, so check
    :func:`chain_status` of the result. A key's chain is never replaced by a certificate
    for another key.
    """
    certs = reply_certificates(reply)
    target, leaf = _find_target(store, certs, alias)
    old_leaf = target.certificate
    pool = CertificatePool(c for c in certs if c.der != leaf.der)
    for cert in store.certificates:
        if old_leaf is None or cert.der != old_leaf.der:
            pool.add(cert)
    anchors = trust_pool(trust)
    if anchors is not None:
        # The store's trusted entries are trust anchors too, as they are for keytool.
        anchors = CertificatePool([*anchors, *(e.certificate for e in store.trusted_entries)])
    chain = build(leaf, pool, trust=anchors).chain
    return store.replace(target.with_chain(chain))


def chain_status(chain: Chain) -> str:
    """Say how far a key's chain (leaf first) goes, as one of five words.

    ``complete`` (ends at a self-signed root, every link verified), ``no-root`` (ends at a
    CA certificate whose issuer is not included: fine for a server, clients hold the
    root), ``leaf-only`` (a CA-issued certificate without its intermediates: handbook
    problem 8, "chain length 1"), ``self-signed`` (keytool's placeholder before the CA
    reply is imported, or a self-signed server) or ``empty`` (a key without certificate);
    ``broken`` when a link does not verify.
    """
    if not chain:
        return "empty"
    if chain.broken_link is not None:
        return "broken"
    if chain.is_complete:
        return "self-signed" if len(chain) == 1 else "complete"
    return "leaf-only" if len(chain) == 1 else "no-root"


def _java_alias(certificate: Certificate) -> str:
    name = certificate.common_name or certificate.subject
    return _ALIAS_UNSAFE.sub("-", name.lower()).strip("-.") or "certificate"


def resolve_alias(store: KeyStore, alias: str) -> str:
    """``alias`` as the store spells it, since Java aliases ignore case (``Tomcat`` is 'tomcat')."""
    if alias in store:
        return alias
    same = [a for a in store.aliases if a.lower() == alias.lower()]
    return same[0] if len(same) == 1 else alias


def _same_alias(store: KeyStore, alias: str, *, besides: str | None = None) -> str | None:
    """The alias in ``store`` equal to ``alias`` ignoring case, as Java compares them."""
    wanted = alias.lower()
    return next((a for a in store.aliases if a.lower() == wanted and a != besides), None)


def add_trusted(
    store: KeyStore, certificate: Certificate, alias: str | None = None
) -> KeyStore:
    """Return a store with ``certificate`` added as a trusted certificate entry.

    Without ``alias`` one is made from the common name, lower-case with hyphens (as
    keytool users write them; ``certkit test root ca`` becomes ``certkit-test-root-ca``)
    and made unique. Aliases compare without case, as Java's do. A certificate already
    in the store (trusted, or as a key entry's own certificate) is an
    :class:`~certkit.errors.AliasError` naming the alias that holds it.
    """
    for entry in store.entries:
        held = (entry.certificate if isinstance(entry, (TrustedCertEntry, KeyEntry)) else None)
        if held is not None and held.der == certificate.der:
            raise AliasError(
                f"{certificate.subject} is already in this keystore under alias "
                f"{entry.alias!r}; nothing to add (remove that entry first to re-add it)",
                alias=entry.alias,
            )
    if alias is None:
        base = _java_alias(certificate)
        alias, counter = base, 2
        while _same_alias(store, alias) is not None:
            alias = f"{base}-{counter}"
            counter += 1
    else:
        taken = _same_alias(store, alias)
        if taken is not None:
            raise AliasError(f"alias {taken!r} already exists; choose another alias or remove "
                             "that entry first", alias=taken)
    return store.add(TrustedCertEntry(alias, certificate,
                                      created=_dt.datetime.now(_dt.timezone.utc)))


def rename(store: KeyStore, old: str, new: str) -> KeyStore:
    """Return a store with entry ``old`` renamed ``new`` (keytool's ``-changealias``).

    A ``new`` alias equal to another entry's but for case is an
    :class:`~certkit.errors.AliasError`, since Java keystores ignore case.
    """
    old = resolve_alias(store, old)
    store[old]  # AliasError naming the aliases there are
    clash = _same_alias(store, new, besides=old)
    if clash is not None:
        raise AliasError(f"alias {clash!r} already exists (Java aliases ignore case); choose "
                         "another name or remove that entry first", alias=clash)
    return store.rename(old, new)


def remove(store: KeyStore, alias: str) -> KeyStore:
    """Return a store without the entry ``alias`` (keytool's ``-delete``; case does not matter)."""
    return store.remove(resolve_alias(store, alias))


def _check_keystore(store: KeyStore, path: str) -> str:
    fmt = store.format or "unknown"
    if fmt not in KEYSTORE_FORMATS:
        raise UnsupportedFormatError(
            f"{path} is a {fmt} file, not a keystore certkit can write back (PKCS#12, JKS, "
            "JCEKS); use `certkit convert` to make one",
            source=path, format=fmt,
        )
    return fmt


def _pkcs12_options(store: KeyStore) -> dict[str, Any]:
    """The dump options that re-create a PKCS#12's protection as read (profile, iterations)."""
    parts = {p.part: p for p in store.protection}
    integrity = parts.get("integrity")
    ciphers = " ".join(p.algorithm for name, p in parts.items() if name != "integrity")
    if integrity is not None and integrity.algorithm.startswith("PBMAC1"):
        profile = "pbmac1"
    elif any(word in ciphers for word in ("3DES", "RC2", "RC4")):
        # Old readers (Windows Server 2016, Java 8 before 8u301) need all of it legacy.
        profile = "legacy"
    else:
        profile = "modern"
    options: dict[str, Any] = {"profile": profile}
    counts = {p.iterations for name, p in parts.items()
              if name != "integrity" and p.iterations is not None}
    if len(counts) == 1:
        options["iterations"] = counts.pop()
    if integrity is not None and integrity.iterations is not None and profile != "pbmac1":
        options["mac_iterations"] = integrity.iterations
    if integrity is not None and integrity.algorithm == "none":
        options["mac"] = False
    safes = [p for name, p in parts.items() if name.startswith("safe ")]
    if store.certificates and not safes:
        options["encrypt_certificates"] = False
    return options


def _write_back(
    store: KeyStore, path: str | os.PathLike[str], fmt: str, password: Password,
    original: KeyStore, **options: Any,
) -> pathlib.Path:
    if fmt == "pkcs12":
        options = {**_pkcs12_options(original), **options}
    return save(store, path, format=fmt, password=password, overwrite=True, only="all",
                **options)


def edit_keystore(
    path: str | os.PathLike[str],
    edit: Callable[[KeyStore], KeyStore],
    *,
    password: Password,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
) -> KeyStore:
    """Load the keystore at ``path``, apply ``edit``, and write the result back atomically.

    The file keeps its format (JKS stays JKS) and, for PKCS#12, its encryption profile and
    iteration counts; keys locked under their own password are written back unchanged.
    Nothing is written if ``edit`` raises. Returns the store as written. Example:
    ``edit_keystore("tomcat.jks", lambda s: import_reply(s, "reply.p7b"), password=pw)``.
    """
    where = os.fspath(path)
    store = load(path, password=password, format=format)
    fmt = _check_keystore(store, where)
    edited = edit(store)
    _write_back(edited, path, fmt, password, store)
    return edited


def change_password(
    path: str | os.PathLike[str],
    *,
    old: Password,
    new: Password = None,
    key_passwords: Mapping[str, Password] | None = None,
    new_key_passwords: Mapping[str, Password] | None = None,
    format: str | None = None,  # noqa: A002 - the public keyword is "format"
) -> KeyStore:
    """Re-save the keystore at ``path`` atomically under a new store and/or key passwords.

    ``new`` replaces the store password (``None`` keeps ``old``). In a PKCS#12 every key
    is re-encrypted under it. In a JKS or JCEKS, keys that were under the store password
    follow it to ``new`` (what Tomcat expects when no ``keyPass`` is configured; keytool's
    ``-storepasswd`` would leave them under the old one), keys with a password of their
    own keep it, and ``new_key_passwords`` (alias → password, keytool's ``-keypasswd``)
    sets a key's own password; a key with a password of its own must be opened with
    ``key_passwords`` to change it. Returns the store as written.
    """
    where = os.fspath(path)
    given = dict(key_passwords or {})
    changes = dict(new_key_passwords or {})
    store = load(path, password=old, format=format, key_passwords=given)
    fmt = _check_keystore(store, where)
    store_password = old if new is None else new
    if fmt == "pkcs12":
        if changes:
            raise UnsupportedFormatError(
                "a PKCS#12 keystore has one password for the store and its keys (keytool: "
                "\"-keypasswd commands not supported if -storetype is PKCS12\"); change the "
                "store password instead", source=where, format=fmt)
        _write_back(store, path, fmt, store_password, store)
        return store
    out: dict[str, Password] = {}
    for typed, password in changes.items():
        alias = resolve_alias(store, typed)
        entry = store[alias]
        if isinstance(entry, OpaqueEntry) and entry.kind != "certificate":
            out[alias] = password  # kept as bytes, read with its password: re-protected
            continue
        if not isinstance(entry, (KeyEntry, SecretKeyEntry)):
            raise AliasError(f"entry {alias!r} is a trusted certificate; it has no key password",
                             alias=alias)
        if entry.is_locked:
            hint = Hint("key_passwords", alias=alias, path=where)
            raise PasswordError(
                f"the key of entry {alias!r} has a password of its own; give it "
                f"({hint.api}) to change it", alias=alias,
                missing=True, source=where).with_hint(hint)
        out[alias] = password
    for alias, password in given.items():
        if alias not in out and alias in store and password != old:
            out[alias] = password  # a password of its own stays
    _write_back(store, path, fmt, store_password, store, key_passwords=out)
    return store
