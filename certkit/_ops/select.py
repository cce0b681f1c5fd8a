"""Say what to write: pick the key, the leaf, the chain or the CA certificates out of a store,
split a bundle into one file per certificate, and save a chain."""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from certkit._assemble import Aliases, unique_alias
from certkit._model import (
    Attributes,
    Certificate,
    KeyEntry,
    KeyStore,
    TrustedCertEntry,
)
from certkit.errors import CertkitError, ReadError, UnrepresentableError

if TYPE_CHECKING:
    from certkit._model import Password

__all__ = ["ONLY", "only_for_path", "save_chain", "select", "split_certificates"]

#: What ``only=`` may ask for: the private key(s), the leaf certificate(s), every
#: certificate (leaf and chain), the CA certificates only, or everything as read.
ONLY = ("key", "leaf", "chain", "ca", "all")

#: Extensions whose name says what the file holds: a key, or certificates only.
_BY_EXTENSION = {".key": "key", ".crt": "chain", ".cer": "chain"}

_WHAT = {"key": "private key", "leaf": "leaf certificate", "chain": "certificate",
         "ca": "CA certificate"}


def only_for_path(path: str | os.PathLike[str]) -> str:
    """What a file's name says it holds: ``key`` for ``.key``, ``chain`` (certificates only)
    for ``.crt``/``.cer``, ``all`` for anything else (``.pem``, ``.pfx``, ``.jks``…)."""
    return _BY_EXTENSION.get(pathlib.PurePath(os.fspath(path)).suffix.lower(), "all")


def _is_ca(cert: Certificate) -> bool:
    try:
        return cert.is_ca or cert.is_self_signed
    except CertkitError:  # an unreadable extension: judge by the names alone
        return cert.subject == cert.issuer


def select(store: KeyStore, only: str) -> tuple[KeyStore, tuple[str, ...]]:
    """Return the part of ``store`` that ``only`` asks for, and what was left out.

    ``key``: the key entries without their certificates; ``leaf``: each key entry's leaf
    (or, with no key entry, the certificates that are not CAs); ``chain``: every
    certificate, leaf first, no key; ``ca``: the CA certificates only; ``all``: the store
    unchanged. Raises :class:`~certkit.errors.UnrepresentableError` if nothing is left.
    """
    if only not in ONLY:
        raise UnrepresentableError(
            f"unknown selection {only!r}; choose one of {', '.join(ONLY)}", format="any",
            lost=())
    if only == "all":
        return store, ()
    taken: set[str] = set()
    kept: list[KeyEntry | TrustedCertEntry] = []
    left: list[str] = []
    seen: set[bytes] = set()

    def keep_cert(cert: Certificate, alias: str | None, entry: KeyEntry | TrustedCertEntry) -> None:
        if cert.der in seen:
            return
        seen.add(cert.der)
        name = unique_alias(alias or cert.common_name or "certificate", taken)
        attributes = entry.attributes if isinstance(entry, TrustedCertEntry) or (
            alias is not None) else _cert_attributes(entry, cert)
        kept.append(TrustedCertEntry(name, cert, attributes, entry.created,
                                     trusted=getattr(entry, "trusted", False)))

    keys = store.key_entries
    for entry in store.entries:
        if isinstance(entry, KeyEntry):
            if only == "key":
                kept.append(KeyEntry(unique_alias(entry.alias, taken), entry.key,
                                     attributes=entry.attributes, created=entry.created))
                if entry.chain:
                    left.append(f"{len(entry.chain)} certificate(s) of {entry.alias!r}")
                continue
            left.append(f"the private key of {entry.alias!r}")
            for index, cert in enumerate(entry.chain):
                wanted = (only == "chain" or (only == "leaf" and index == 0)
                          or (only == "ca" and index > 0))
                if wanted:
                    keep_cert(cert, entry.alias if index == 0 else None, entry)
                else:
                    left.append(f"certificate {cert.subject}")
        elif isinstance(entry, TrustedCertEntry):
            cert = entry.certificate
            wanted = (only == "chain" or (only == "ca" and _is_ca(cert))
                      or (only == "leaf" and not keys and not _is_ca(cert)))
            if wanted:
                keep_cert(cert, entry.alias, entry)
            else:
                left.append(f"certificate {cert.subject}")
        else:
            left.append(f"secret key {entry.alias!r}")
    left.extend(f"certificate request {r.subject}" for r in store.requests)
    if not kept:
        raise UnrepresentableError(
            f"there is no {_WHAT[only]} to write "
            f"(the source holds {_holding(store)})", format="any", lost=tuple(left))
    return KeyStore(entries=kept, format=store.format, notes=store.notes), tuple(left)


def _cert_attributes(entry: KeyEntry | TrustedCertEntry, cert: Certificate) -> Attributes:
    """The attributes a chain certificate carried in its container, when recorded."""
    if isinstance(entry, KeyEntry) and entry.certificate_attributes:
        for index, chained in enumerate(entry.chain):
            if chained.der == cert.der:
                return entry.certificate_attributes[index]
    return Attributes()


def _holding(store: KeyStore) -> str:
    keys = len(store.key_entries)
    certs = len(store.certificates)
    parts = [f"{keys} private key(s)" if keys else "no private key",
             f"{certs} certificate(s)" if certs else "no certificate"]
    return " and ".join(parts)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_stem(cert: Certificate) -> str:
    """A safe file name from the subject: its CN, else its first attribute, else the hash."""
    name = cert.common_name
    if not name:
        first = cert.subject.split(",")[0].partition("=")[2]
        name = first or cert.fingerprint()[:16]
    name = name.replace("*", "wildcard")
    stem = _UNSAFE.sub("_", name).strip("._-")[:64]
    return stem or cert.fingerprint()[:16]


def split_certificates(
    source: KeyStore | str | os.PathLike[str] | bytes,
    folder: str | os.PathLike[str],
    *,
    password: Password = None,
) -> list[pathlib.Path]:
    """Write each distinct certificate of ``source`` to its own PEM file in ``folder``.

    Files are named after the subject's common name (``DigiCert_Global_Root_G2.crt``),
    made safe for any filesystem and unique: a name already taken on disk or by an
    earlier certificate gets ``-2``, ``-3``…, so nothing is ever overwritten. Private keys
    are never written. All files are written atomically, together; ``folder`` must exist.
    Returns the paths written, in the order the certificates appear.
    """
    from certkit._ops.api import _Output, _write_error, _write_files, opened  # noqa: PLC0415

    store = opened(source, password=password)[0]
    target = pathlib.Path(folder)
    if not target.is_dir():
        what = "is not a folder" if target.exists() else "does not exist"
        raise ReadError(f"output folder {target} {what}; create it first", path=str(target))
    certs = store.certificates
    if not certs:
        raise UnrepresentableError(f"there is no certificate to split (the source holds "
                                   f"{_holding(store)})", format="pem", lost=())
    taken = {p.name.lower() for p in target.iterdir()}
    outputs: list[_Output] = []
    for cert in certs:
        stem = _file_stem(cert)
        name, counter = f"{stem}.crt", 2
        while name.lower() in taken:
            name, counter = f"{stem}-{counter}.crt", counter + 1
        taken.add(name.lower())
        outputs.append(_Output(target / name, cert.to_pem(), 0o644))
    errors = _write_files(outputs, overwrite=False)
    for output, error in zip(outputs, errors, strict=True):
        if error is not None:  # the others were written: say so, so nothing is lost track of
            written = [str(o.path) for o, e in zip(outputs, errors, strict=True) if e is None]
            failure = _write_error(output.path, error)
            if written:
                failure.args = (f"{failure}; written nonetheless: {', '.join(written)}",)
            raise failure
    return [o.path for o in outputs]


def save_chain(
    chain: Iterable[Certificate],
    path: str | os.PathLike[str],
    *,
    include_root: bool = True,
    overwrite: bool = False,
) -> pathlib.Path:
    """Save certificates (a chain, leaf first) to ``path`` in the format its extension names,
    as trusted-certificate entries named after each common name; ``include_root=False``
    leaves out a self-signed last certificate (what a server should send). Returns the path.
    """
    from certkit._ops.api import save  # noqa: PLC0415

    certs = list(chain)
    if not include_root and len(certs) > 1 and certs[-1].is_self_signed:
        certs = certs[:-1]
    taken = Aliases()
    entries = [TrustedCertEntry(unique_alias(c.common_name or "certificate", taken), c,
                                trusted=False) for c in certs]
    return save(KeyStore(entries), path, overwrite=overwrite)
