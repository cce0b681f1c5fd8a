"""Verified backups: every key, certificate and chain in one encrypted PKCS#12, plus a manifest.

A backup folder holds three files:

* ``backup.p12`` — every key entry (key and chain, leaf first) and certificate of the
  sources, encrypted with the ``modern`` PKCS#12 profile under the backup password;
* ``certificates.pem`` — every certificate, public, so it can be read without the password;
* ``manifest.json`` — what each file holds and its SHA-256, every certificate's subject,
  fingerprint and expiry, which key matches which certificate, the certkit version and the
  time. Its last field is an HMAC-SHA256 over the rest, keyed from the password, so a
  changed manifest is caught too.

No private key is ever written unencrypted. :func:`verify_backup` re-reads everything;
:func:`restore` writes a verified backup out in a server's layout through :func:`export`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import pathlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from certkit._assemble import unique_alias
from certkit._crypto.password import password_bytes
from certkit._model import (
    Certificate,
    Entry,
    KeyEntry,
    KeyStore,
    Password,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._ops.api import Passwords, _write_atomic, dump, load, read_file
from certkit._ops.export import ExportResult, combine, export, export_chain
from certkit._version import __version__
from certkit.errors import BackupError, CertkitError, ChainError, Hint, PasswordError, ReadError

__all__ = ["BackupProblem", "BackupReport", "Manifest", "backup", "restore", "verify_backup"]

ARCHIVE = "backup.p12"
CERTIFICATES = "certificates.pem"
MANIFEST = "manifest.json"
#: Version of the manifest's layout.
MANIFEST_VERSION = 1
#: The files a backup writes beside its manifest: the only names verification opens.
_FILES = (ARCHIVE, CERTIFICATES)
#: A manifest lists a few hundred entries at most; a larger one is not read.
_MAX_MANIFEST = 16 * 1024 * 1024
#: PBKDF2 iterations for the manifest's HMAC key (as for a PKCS#12 MAC: the password is the secret).
_HMAC_ITERATIONS = 100_000


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cert_info(cert: Certificate) -> dict[str, Any]:
    return {"subject": cert.subject, "issuer": cert.issuer,
            "serial_number": f"{cert.serial_number:x}", "sha256": cert.fingerprint(),
            "not_before": _iso(cert.not_before), "not_after": _iso(cert.not_after)}


def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def _hmac(body: Mapping[str, Any], password: Password, salt: bytes) -> str:
    secret = password_bytes(password) or b""
    key = hashlib.pbkdf2_hmac("sha256", secret, salt, _HMAC_ITERATIONS)
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


@attrs.frozen
class Manifest:
    """What :func:`backup` wrote: the folder, the files (name → SHA-256) and the manifest data."""

    directory: pathlib.Path
    files: Mapping[str, str]
    entries: tuple[Mapping[str, Any], ...]
    certificates: tuple[Certificate, ...]
    created: str
    #: What was backed up although it cannot be restored as is (``allow_unpaired``).
    warnings: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[pathlib.Path, ...]:
        """The files of the backup, the manifest last."""
        return (*(self.directory / name for name in self.files), self.directory / MANIFEST)


@attrs.frozen
class BackupProblem:
    """One thing wrong with a backup: the file concerned and what is wrong with it."""

    file: str
    message: str
    #: The key entry a trial restore found this for, ``None`` for the backup as a whole.
    alias: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@attrs.frozen
class BackupReport:
    """The verdict of :func:`verify_backup`: ``ok`` when ``problems`` is empty."""

    directory: pathlib.Path
    problems: tuple[BackupProblem, ...] = ()
    entries: int = 0
    certificates: int = 0
    wrong_password: bool = False
    #: What a restore will need to be told (an incomplete chain needs allow_incomplete).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every file is present, unchanged, readable and consistent."""
        return not self.problems


def _load_source(
    source: str | os.PathLike[str] | KeyStore,
    password: Password,
    passwords: Mapping[str, Password] | Passwords,
    key_passwords: Mapping[str, Password] | None,
) -> tuple[str, KeyStore]:
    if isinstance(source, KeyStore):
        return "<store>", source
    name = os.fspath(source)
    chosen: Password | Passwords
    if isinstance(passwords, Passwords):  # the candidates, then the backup password
        pinned = passwords.pin(name) is not None
        chosen = Passwords(passwords.for_file(name) + (() if pinned else (password,)),
                           passwords.pinned)
    else:
        pinned = name in passwords
        chosen = passwords.get(name, password)
    try:
        store = load(name, password=chosen, key_passwords=key_passwords)
    except PasswordError as err:
        if pinned:
            raise
        hint = Hint("source_passwords", path=name)
        raise PasswordError(f"{name}: {err}; give its password in {hint.api} "
                            "if it differs from the backup password",
                            source=name, missing=err.missing).with_hint(hint) from err
    return name, store


def _identity(entry: Entry) -> tuple[object, ...] | None:
    """What makes two sources' entries the same entry (``None``: never merged)."""
    if isinstance(entry, KeyEntry):
        return ("key", entry.key, entry.chain)
    if isinstance(entry, TrustedCertEntry):
        return ("certificate", entry.certificate)
    return None


#: Formats without aliases: their keys and certificates are paired across all such sources.
_LOOSE_FORMATS = frozenset({"pem", "der", "pkcs7"})


def _merge(loaded: Sequence[tuple[str, KeyStore]]) -> KeyStore:
    """One store of every source's entries, keys paired with their certificates.

    Files without aliases (``server.key``, ``server.crt``, ``uca.cer``) are read as one PEM
    set, so a key pairs with its certificate and chain across files exactly as
    :func:`certkit.load` pairs them within one file; keystores keep their entries.
    """
    loose = [store for _, store in loaded if store.format in _LOOSE_FORMATS]
    combined = combine(loose) if loose else None
    stores: list[KeyStore] = []
    for _, store in loaded:
        if store.format not in _LOOSE_FORMATS:
            stores.append(store)
        elif combined is not None:  # in the place of the first such source
            stores.append(combined)
            combined = None
    entries: list[Entry] = []
    taken: set[str] = set()
    seen: set[tuple[object, ...]] = set()
    for store in stores:
        for entry in store.entries:
            identity = _identity(entry)
            if identity is not None:
                if identity in seen:
                    continue
                seen.add(identity)
            if isinstance(entry, KeyEntry) and entry.is_locked:
                entry.private_key  # noqa: B018 - raises PasswordError naming the alias
            alias = unique_alias(entry.alias or "entry", taken)
            entries.append(attrs.evolve(entry, alias=alias))
    return KeyStore(entries)


def _source_of(entry: KeyEntry, loaded: Sequence[tuple[str, KeyStore]]) -> str:
    return next((name for name, store in loaded
                 if any(e.key == entry.key for e in store.key_entries)), "<store>")


def backup(
    sources: Sequence[str | os.PathLike[str] | KeyStore],
    directory: str | os.PathLike[str],
    *,
    password: Password,
    key_passwords: Mapping[str, Password] | None = None,
    source_passwords: Mapping[str, Password] | Passwords | None = None,
    allow_unpaired: bool = False,
) -> Manifest:
    """Back up every key, certificate and chain of ``sources`` into ``directory``.

    A backup is a promise of restore: keys in files without aliases (``server.key``) are
    paired with their certificates and chains across all such sources (``server.crt``,
    ``uca.cer``), as :func:`certkit.load` pairs them within one PEM file, and a key that
    no certificate matches is refused (:class:`~certkit.errors.BackupError` naming it
    and its file) unless ``allow_unpaired``, which backs it up alone and says so in
    :attr:`Manifest.warnings` (:func:`verify_backup` will report that it cannot be
    restored for a server).

    ``sources`` are paths or stores. A protected source is opened with its entry in
    ``source_passwords`` (keyed by the path as given), else with the backup ``password``
    — the usual case of one password for everything; ``key_passwords`` unlock Java
    keystore entries with a key password of their own. ``directory`` is created and must
    be empty. Aliases that collide across sources get a ``-2`` suffix; identical entries
    are kept once. Secret keys cannot be held by PKCS#12 and raise
    :class:`~certkit.errors.BackupError`.
    """
    if not password:
        raise PasswordError("a backup needs a non-empty password: the PKCS#12 file holds the "
                            "private keys", missing=password is None)
    folder = pathlib.Path(directory)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not an empty folder; a backup goes into a new or empty "
                          "one so nothing else is mixed in (or overwritten)")
    loaded = [_load_source(s, password, source_passwords or {}, key_passwords) for s in sources]
    if not loaded:
        raise BackupError("nothing to back up: give at least one file or store")
    store = _merge(loaded)
    unpaired = [f"the key {e.alias!r} from {_source_of(e, loaded)} has no certificate among "
                "the sources" for e in store.key_entries if not e.chain]
    if unpaired and not allow_unpaired:
        raise BackupError(f"{'; '.join(unpaired)}: restoring it for a server would fail. Add "
                          "its certificate file (.crt/.cer/.pem, and the intermediate) to "
                          f"the sources, or pass {Hint('allow_unpaired').api} to "
                          "back up the key alone",
                          problems=unpaired).with_hint(Hint("allow_unpaired"))
    secret = [e.alias for e in store.entries if isinstance(e, SecretKeyEntry)]
    if secret:
        raise BackupError(f"secret keys cannot go into the PKCS#12 backup: {', '.join(secret)}; "
                          "keep the JCEKS file itself", problems=secret)
    if not store.entries:
        raise BackupError("the sources hold no key or certificate")

    archive = dump(store, "pkcs12", password=password, profile="modern")
    certificates = store.certificates
    pem = b"".join(c.to_pem() for c in certificates)
    entries: list[dict[str, Any]] = []
    for entry in store.entries:
        if isinstance(entry, KeyEntry):
            key = entry.private_key
            leaf = entry.certificate
            entries.append({
                "alias": entry.alias, "type": "key", "key_algorithm": key.algorithm,
                "key_spki_sha256": key.public_key_fingerprint,
                "certificate_sha256": leaf.fingerprint() if leaf else None,
                "key_matches_certificate": key.matches(leaf) if leaf else None,
                "chain_sha256": [c.fingerprint() for c in entry.chain],
                "chain_complete": entry.chain.is_complete})
        elif isinstance(entry, TrustedCertEntry):
            entries.append({"alias": entry.alias, "type": "certificate",
                            "certificate_sha256": entry.certificate.fingerprint()})

    created = _iso(_dt.datetime.now(_dt.timezone.utc))
    files = {ARCHIVE: _sha256(archive), CERTIFICATES: _sha256(pem)}
    body: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "certkit_version": __version__,
        "created": created,
        "sources": [name for name, _ in loaded],
        "files": {
            ARCHIVE: {"sha256": files[ARCHIVE], "size": len(archive),
                      "holds": "every key entry (key and chain, leaf first) and certificate, "
                               "PKCS#12 modern profile (AES-256-CBC, PBKDF2-SHA-256, "
                               "SHA-256 MAC) under the backup password"},
            CERTIFICATES: {"sha256": files[CERTIFICATES], "size": len(pem),
                           "holds": f"{len(certificates)} certificates as PEM (public)"},
        },
        "entries": entries,
        "certificates": [_cert_info(c) for c in certificates],
    }
    salt = secrets.token_bytes(16)
    body["integrity"] = {"algorithm": "HMAC-SHA256, key PBKDF2-HMAC-SHA256 of the password",
                         "iterations": _HMAC_ITERATIONS, "salt": salt.hex()}
    manifest = {**body, "hmac": _hmac(body, password, salt)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / ARCHIVE, archive, mode=0o600, overwrite=False)
        _write_atomic(folder / CERTIFICATES, pem, mode=0o644, overwrite=False)
        _write_atomic(folder / MANIFEST, _canonical(manifest), mode=0o644, overwrite=False)
    except OSError as err:
        raise ReadError(f"cannot write the backup into {folder}: {err.strerror or err}",
                        path=str(folder)) from err
    warnings = tuple(f"{text}: backed up alone; it cannot be restored for a server until "
                     "its certificate is added" for text in unpaired)
    return Manifest(folder, files, tuple(entries), certificates, created, warnings)


def _read_manifest(folder: pathlib.Path,
                   problems: list[BackupProblem]) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists() and not path.is_symlink():
        problems.append(BackupProblem(MANIFEST, "missing: without it nothing can be checked"))
        return None
    try:
        raw = read_file(path, limit=_MAX_MANIFEST)
    except CertkitError as err:
        problems.append(BackupProblem(MANIFEST, f"cannot be read: {err}"))
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        problems.append(BackupProblem(MANIFEST, "changed: it is no longer valid JSON"))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        problems.append(BackupProblem(MANIFEST, "changed: it is not a certkit backup manifest"))
        return None
    strange = sorted(str(name) for name in data["files"] if name not in _FILES)
    if strange:
        # Only the fixed names are ever opened: a manifest cannot point verification at
        # /etc/passwd or ../elsewhere, whatever its HMAC says.
        problems.append(BackupProblem(MANIFEST, "changed: it names files a backup never "
                                                f"writes ({', '.join(map(repr, strange))}); "
                                                "they were not opened"))
    if _canonical(data) != raw:
        problems.append(BackupProblem(MANIFEST, "changed since the backup was written (its "
                                                "bytes are not the ones certkit wrote)"))
    return data


def _manifest_hmac_ok(data: dict[str, Any], password: Password) -> bool | None:
    """Whether the manifest's HMAC verifies with ``password``; ``None`` if it has none."""
    body = {k: v for k, v in data.items() if k != "hmac"}
    try:
        salt = bytes.fromhex(str(body["integrity"]["salt"]))
    except (KeyError, TypeError, ValueError):
        return None
    return hmac.compare_digest(_hmac(body, password, salt), str(data.get("hmac", "")))


def verify_backup(directory: str | os.PathLike[str], *, password: Password) -> BackupReport:
    """Re-read a backup folder and report every problem, each naming its file.

    Checks that the manifest names only the files a backup writes (nothing else is ever
    opened, whatever it lists) and is intact (its HMAC, keyed from ``password``, checked
    before any file is hashed), that each file is present as a regular file with its
    recorded SHA-256 and no other file was added, that
    the PKCS#12 opens with ``password`` (a wrong password is reported as such), that its
    entries are the manifest's, and that the PEM holds the manifest's certificates. Then
    it proves the backup restorable: a trial restore in memory of every key entry, which
    needs the key, its matching leaf and a chain whose every link verifies; what would
    fail is a problem naming the entry (:attr:`BackupProblem.alias`), and a chain that
    would need ``allow_incomplete`` is in :attr:`BackupReport.notes`.
    """
    folder = pathlib.Path(directory)
    if not folder.is_dir():
        raise ReadError(f"{folder} is not a folder (a backup is a folder with {ARCHIVE}, "
                        f"{CERTIFICATES} and {MANIFEST})", path=str(folder))
    problems: list[BackupProblem] = []
    data = _read_manifest(folder, problems)
    # The HMAC is checked before any listed file is hashed: digests are compared only
    # with a manifest known to be the one certkit wrote.
    hmac_ok = _manifest_hmac_ok(data, password) if data is not None else None
    listed: dict[str, Any] = {name: (data["files"].get(name) if data is not None else None)
                              for name in _FILES}
    problems.extend(BackupProblem(extra, "not part of the backup (added afterwards)")
                    for extra in sorted(p.name for p in folder.iterdir()
                                        if p.name not in {*_FILES, MANIFEST}))
    contents: dict[str, bytes] = {}
    for name, info in listed.items():
        path = folder / name
        if not path.exists() and not path.is_symlink():
            problems.append(BackupProblem(name, "missing"))
            continue
        if path.is_symlink():
            problems.append(BackupProblem(name, "is a symbolic link (a backup writes regular "
                                                "files only); not opened"))
            continue
        try:
            contents[name] = read_file(path)
        except CertkitError as err:
            problems.append(BackupProblem(name, f"cannot be read: {err}"))
            continue
        if hmac_ok and isinstance(info, dict) and info.get("sha256") != _sha256(
                contents[name]):
            problems.append(BackupProblem(name, "changed since the backup was written "
                                                f"(SHA-256 {_sha256(contents[name])}, the "
                                                f"manifest says {info.get('sha256')})"))
    # The manifest's HMAC and the PKCS#12 MAC both depend on the password: when exactly one
    # of them fails, that file was changed; when both fail, the password is wrong.
    archive_intact = bool(hmac_ok) and ARCHIVE in contents and isinstance(
        listed.get(ARCHIVE), dict) and listed[ARCHIVE].get("sha256") == _sha256(
            contents[ARCHIVE])
    wrong_password = False
    store: KeyStore | None = None
    if ARCHIVE in contents:
        try:
            store = load(contents[ARCHIVE], password=password, format="pkcs12")
        except PasswordError:
            if hmac_ok is True and not archive_intact:
                problems.append(BackupProblem(ARCHIVE, "changed: it no longer opens with the "
                                                       "password (its MAC fails)"))
            else:
                wrong_password = True
                problems.append(BackupProblem(ARCHIVE, "the password is wrong (the PKCS#12 MAC "
                                                       "does not verify with it)"))
        except CertkitError as err:
            problems.append(BackupProblem(ARCHIVE, f"cannot be read: {err}"))
    if data is not None and not wrong_password:
        if hmac_ok is None:
            problems.append(BackupProblem(MANIFEST, "changed: its integrity field is damaged"))
        elif not hmac_ok:
            problems.append(BackupProblem(MANIFEST, "changed since the backup was written (its "
                                                    "HMAC does not match)"))
    notes: list[str] = []
    if store is not None:
        _check_archive(store, data, problems, notes)
    pem_count = 0
    if CERTIFICATES in contents:
        try:
            # A backup of keys alone (allow_unpaired) writes an empty PEM: no certificates.
            pem_certs = (load(contents[CERTIFICATES], format="pem").certificates
                         if contents[CERTIFICATES] else ())
            pem_count = len(pem_certs)
        except CertkitError as err:
            problems.append(BackupProblem(CERTIFICATES, f"cannot be read: {err}"))
        else:
            if data is not None:
                wanted = [c.get("sha256") for c in data.get("certificates", [])]
                if sorted(c.fingerprint() for c in pem_certs) != sorted(map(str, wanted)):
                    problems.append(BackupProblem(CERTIFICATES, "does not hold the certificates "
                                                                "the manifest lists"))
    return BackupReport(folder, tuple(problems), entries=len(store) if store else 0,
                        certificates=pem_count, wrong_password=wrong_password,
                        notes=tuple(notes))


def _trial_restore(store: KeyStore, problems: list[BackupProblem], notes: list[str]) -> None:
    """Restore every key entry in memory, as ``restore`` would, and report what would fail.

    An entry must hold its key (decrypted and consistent), its leaf certificate, and a
    chain whose every link verifies; the key is written out as PEM, as for a server. A
    chain that does not reach a trusted root is only noted: restore then needs
    ``allow_incomplete`` (or the trust file), which is the caller's choice.
    """
    for entry in store.key_entries:
        def fail(message: str, entry: KeyEntry = entry) -> None:
            problems.append(BackupProblem(ARCHIVE, message, entry.alias))

        leaf = entry.certificate
        if leaf is None:
            fail(f"entry {entry.alias!r} holds a key but no certificate: a restore for a "
                 "server would fail ('has a key but no certificate')")
            continue
        if entry.problem is not None:
            fail(f"a restore of {entry.alias!r} would fail: {entry.problem}")
            continue
        try:
            key = entry.check().private_key
            key.to_pem()
        except CertkitError as err:
            fail(f"a restore of {entry.alias!r} would fail: {err}")
            continue
        if not key.matches(leaf):
            fail(f"the key of {entry.alias!r} does not match its certificate {leaf.subject}")
            continue
        chain = entry.chain.certificates
        broken = next((i for i in range(len(chain) - 1)
                       if not chain[i].is_issued_by(chain[i + 1])), None)
        if broken is not None:
            fail(f"the chain of {entry.alias!r} is broken: {chain[broken].subject} is not "
                 f"signed by {chain[broken + 1].subject}, which follows it")
            continue
        try:
            export_chain(store, entry.alias)
        except ChainError as err:
            notes.append(str(err))  # it names the entry
        except CertkitError as err:
            fail(f"a restore of {entry.alias!r} would fail: {err}")


def _check_archive(store: KeyStore, data: dict[str, Any] | None,
                   problems: list[BackupProblem], notes: list[str]) -> None:
    _trial_restore(store, problems, notes)
    if data is None:
        return
    for item in data.get("entries", []):
        if not isinstance(item, dict):
            continue
        found = store.get(str(item.get("alias")))
        if found is None:
            problems.append(BackupProblem(ARCHIVE, f"entry {item.get('alias')!r} of the manifest "
                                                   "is not in the archive"))
            continue
        cert = (found.certificate if isinstance(found, (KeyEntry, TrustedCertEntry)) else None)
        if cert is not None and cert.fingerprint() != item.get("certificate_sha256"):
            problems.append(BackupProblem(ARCHIVE, f"entry {found.alias!r} holds another "
                                                   "certificate than the manifest lists"))


def restore(
    directory: str | os.PathLike[str],
    target: str,
    out_directory: str | os.PathLike[str],
    *,
    password: Password,
    new_password: Password = None,
    alias: str | None = None,
    allow_incomplete: bool = False,
    overwrite: bool = False,
    profile: str = "modern",
    keystore_type: str = "pkcs12",
) -> ExportResult:
    """Verify a backup, then write one of its key entries out in ``target``'s layout.

    Refuses a backup that does not verify (:class:`~certkit.errors.BackupError` listing
    the problems). The Tomcat keystore or IIS .pfx is protected with ``new_password``,
    else the backup password; see :func:`~certkit.export` for the rest.
    """
    report = verify_backup(directory, password=password)
    if report.wrong_password:
        raise PasswordError(f"wrong password for the backup in {directory}")
    # A trial restore's problem with another entry does not stop restoring this one.
    blocking = [p for p in report.problems if p.alias is None or alias is None or p.alias == alias]
    if blocking:
        lines = [str(p) for p in blocking]
        raise BackupError(f"the backup in {directory} does not verify: " + "; ".join(lines),
                          problems=lines)
    store = load(pathlib.Path(directory) / ARCHIVE, password=password, format="pkcs12")
    return export(store, target, out_directory,
                  password=new_password if new_password is not None else password, alias=alias,
                  allow_incomplete=allow_incomplete, overwrite=overwrite, profile=profile,
                  keystore_type=keystore_type)
