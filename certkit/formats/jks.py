"""Java keystores: JKS and JCEKS (read and write), Bouncy Castle BKS v1/v2 and UBER (read only).

This is the only module that imports pyjks, which parses the Bouncy Castle formats only.
certkit reads and writes the JKS/JCEKS container itself (bounded, with Java's modified
UTF-8 aliases), reads the Java-serialized objects of JCEKS secret keys with its own bounded
reader (:mod:`certkit._crypto.javaser`; javaobj, which pyjks uses, accepts any class and
formats nested arrays exponentially) and does all JKS/JCEKS key cryptography in
:mod:`certkit._crypto.javakeys`, because pyjks cannot write JCEKS or secret keys,
crashes on keys written by JDK 21 and derives JCEKS keys slowly. certkit also decrypts UBER
stores itself (:mod:`certkit._crypto.twofish`), because the ``twofish`` module pyjks relies on does
not import on Python 3.12+; pyjks then parses the decrypted BKS entry list.

Behaviour worth knowing:

* Listing needs no key passwords: a key whose password differs from the store password
  (and is not given in ``key_passwords``) loads as a :class:`~certkit.LockedKey`, a secret
  key as a :class:`~certkit.LockedSecret` (its algorithm unknown until unlocked: JCEKS and
  BKS seal the name with the key).
* ``password=None`` lists a JKS or JCEKS without checking its integrity, as ``keytool``
  does; the store's ``notes`` say so.
* Aliases are written lower-case, as ``keytool`` does; two aliases that differ only in case
  are an :class:`~certkit.errors.AliasError`, never a silent overwrite.
* A locked key or secret can be written back only into the format it was read from,
  unchanged and still under its own key password; to convert it, load with its password.
* Entry dates (``created``) are read and written to the millisecond; a missing date is
  written as the current time, as ``keytool`` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import struct
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from certkit._crypto import javakeys as _javakeys
from certkit._crypto import javaser as _javaser
from certkit._crypto import pkcs8 as _pkcs8
from certkit._crypto.budget import WorkBudget
from certkit._model import (
    ANY_EXTENDED_KEY_USAGE,
    Attributes,
    Certificate,
    Chain,
    Entry,
    KeyEntry,
    KeyStore,
    LockedKey,
    LockedSecret,
    OpaqueEntry,
    Password,
    PrivateKey,
    Protection,
    SecretKeyEntry,
    TrustedCertEntry,
    kept_trusted_entry,
    opaque_label,
)
from certkit.errors import (
    AliasError,
    CertkitError,
    DecodeError,
    Hint,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
    WorkLimitError,
)
from certkit.formats._base import Dumped, DumpOptions, LoadOptions

_PYJKS: list[Any] = []


def _pyjks() -> Any:
    """Import pyjks on first use: JKS and JCEKS are read and written without it, so plain
    conversions do not pay for importing it (its import is slow: see docs/benchmarks.md)."""
    if not _PYJKS:
        with warnings.catch_warnings():
            # pyjks and its dependencies are old; whatever they warn about at import time
            # is theirs, not the caller's (the test suite turns warnings into errors).
            warnings.simplefilter("ignore")
            _PYJKS.append(importlib.import_module("jks"))
    return _PYJKS[0]


__all__ = ["BKS", "JCEKS", "JKS", "BKSCodec", "JavaKeyStoreCodec"]

_MAGIC = {"jks": b"\xfe\xed\xfe\xed", "jceks": b"\xce\xce\xce\xce"}
_TAG_KEY, _TAG_TRUSTED, _TAG_SECRET = 1, 2, 3
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MS = dt.timedelta(milliseconds=1)
#: Bouncy Castle writes 1024 to 2047 iterations; more than this is a damaged or hostile file.
_MAX_BKS_ITERATIONS = 100_000
#: UBER bodies decrypt in pure Python at ~1 MB/s; Bouncy Castle's are a few kilobytes.
_MAX_UBER_BODY = 16 * 1024 * 1024
_NAMES = {"jks": "JKS", "jceks": "JCEKS", "bks": "BKS", "uber": "UBER"}


def _ms_to_datetime(ms: int) -> dt.datetime | None:
    try:
        return _EPOCH + ms * _MS
    except OverflowError:
        return None  # a date Python cannot hold; the entry is still usable


def _datetime_to_ms(value: dt.datetime | None) -> int:
    if value is None:
        value = dt.datetime.now(dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # naive dates are taken as UTC
    return (value - _EPOCH) // _MS


def _label(alias: str) -> str:
    return repr(alias)


# --- reading the JKS / JCEKS container ------------------------------------------------


class _Reader:
    """A bounded cursor over the big-endian structures of a JKS or JCEKS file."""

    def __init__(self, data: bytes, fmt: str, source: str | None) -> None:
        self.data = data
        self.pos = 0
        self.fmt = fmt
        self.source = source

    def fail(self, what: str) -> DecodeError:
        return DecodeError(
            f"not a valid {_NAMES[self.fmt]} keystore: {what} (at byte {self.pos})",
            source=self.source, format=self.fmt, offset=self.pos,
        )

    def take(self, size: int, what: str) -> bytes:
        pos = self.pos
        end = pos + size
        if end > len(self.data):
            raise self.fail(f"the file ends inside {what}; it is truncated")
        self.pos = end
        return self.data[pos:end]

    def uint(self, size: int, what: str) -> int:
        pos = self.pos
        end = pos + size
        if end > len(self.data):
            raise self.fail(f"the file ends inside {what}; it is truncated")
        self.pos = end
        return int.from_bytes(self.data[pos:end], "big")

    def utf(self, what: str) -> str:
        body = self.take(self.uint(2, what), what)
        # ASCII is the same in Java's modified UTF-8 (Java writes NUL as C0 80, not ASCII).
        return body.decode("ascii") if body.isascii() else _javakeys.modified_utf8_decode(body)

    def blob(self, what: str) -> bytes:
        size = self.uint(4, what)
        if size > len(self.data) - self.pos:
            left = len(self.data) - self.pos
            raise self.fail(f"{what} claims {size} bytes but only {left} remain: the file is "
                            "truncated or damaged")
        return self.take(size, what)


class _RawEntry:
    """One entry as the container holds it, before it becomes a model entry.

    A plain slotted record, not an attrs class: it never leaves this module, a truststore
    makes one per certificate, and each attrs class costs start-up time to build.
    """

    __slots__ = ("alias", "blob", "certificates", "sealed", "tag", "timestamp")

    def __init__(self, tag: int, alias: str, timestamp: int, blob: bytes = b"", *,
                 certificates: tuple[bytes, ...] = (),
                 sealed: _javaser.JavaObject | None = None) -> None:
        self.tag = tag
        self.alias = alias
        self.timestamp = timestamp
        self.blob = blob
        self.certificates = certificates
        self.sealed = sealed


def _certificate(reader: _Reader, version: int, alias: str) -> bytes:
    if version == 2:
        kind = reader.utf("a certificate type")
        if kind != "X.509":
            raise UnsupportedFormatError(
                f"entry {alias!r} holds a {kind!r} certificate; certkit reads only X.509",
                source=reader.source, format=reader.fmt,
            )
    return reader.blob("a certificate")


def _read_sealed(reader: _Reader, alias: str) -> _javaser.JavaObject:
    """Read the serialized ``SealedObject`` of a JCEKS secret key with certkit's bounded reader.

    Only its outer layer is read (to find where the entry ends); the sealed content is
    decrypted and read when the key is unlocked.
    """
    start = reader.pos
    try:
        sealed, end = _javaser.read_object(reader.data, start,
                                           what=f"the secret key entry {alias!r}")
    except (DecodeError, UnsupportedFormatError) as err:
        raise reader.fail(
            f"the secret key entry {alias!r} is not a readable sealed key ({err})") from err
    if not isinstance(sealed, _javaser.JavaObject) or not sealed.is_a("javax.crypto.SealedObject"):
        name = (sealed.class_name if isinstance(sealed, _javaser.JavaObject)
                else type(sealed).__name__)
        raise DecodeError(
            f"entry {alias!r} should hold a sealed secret key but holds a Java {name}; "
            "keytool cannot read it either (\"Invalid secret key format\")",
            source=reader.source, format=reader.fmt,
        )
    if end <= start or end > len(reader.data):
        raise reader.fail(f"the secret key entry {alias!r} has no end")
    reader.pos = end
    return sealed


_TRUSTED_HEAD = struct.Struct(">IH")  # tag, alias length
_TRUSTED_BODY = struct.Struct(">q7sI")  # date, "X.509" with its length, certificate length
_X509_UTF = b"\x00\x05X.509"


#: An entry as read: a trusted certificate entry already in its model form, or the raw
#: fields of any other entry (turned into a model entry once the file's digest is checked).
_Read = _RawEntry | TrustedCertEntry


def _trusted_run(data: bytes, pos: int, most: int, entries: list[_Read]) -> int:
    """Read the version-2 trusted certificate entries with ASCII aliases from ``pos`` on
    (at most ``most``) into ``entries``; return where they end.

    A truststore is nothing but such entries, so they are read in one loop rather than one
    call each, and become model entries at once (the certificate's framing checked as
    ``Certificate(der, lazy=True)`` checks it). The run stops at anything else (another
    entry type, a non-ASCII alias, a certificate that fails its framing check, too little
    data…): the general reader then takes that entry, and the damage is reported precisely
    once the file's integrity digest has been checked, as for every entry.
    """
    end = len(data)
    head = _TRUSTED_HEAD.unpack_from
    body_of = _TRUSTED_BODY.unpack_from
    append = entries.append
    keep = kept_trusted_entry
    epoch, millisecond = _EPOCH, _MS
    for _ in range(most):
        if pos + 6 > end:
            break
        tag, alias_length = head(data, pos)
        body = pos + 6 + alias_length
        if tag != _TAG_TRUSTED or body + 19 > end:
            break
        timestamp, kind, size = body_of(data, body)
        start = body + 19
        stop = start + size
        alias = data[pos + 6 : body]
        if kind != _X509_UTF or stop > end or not alias.isascii():
            break
        try:
            created: dt.datetime | None = epoch + timestamp * millisecond
        except OverflowError:
            created = None  # a date Python cannot hold; the entry is still usable
        entry = keep(alias.decode("ascii"), data[start:stop], created)
        if entry is None:
            break
        append(entry)
        pos = stop
    return pos


def _read_container(data: bytes, fmt: str, password: str | None, source: str | None,
                    ) -> tuple[list[_Read], list[_RawEntry]]:
    """Every entry as read (see :data:`_Read`), and those of them that are raw."""
    reader = _Reader(data, fmt, source)
    if reader.take(4, "the magic number") != _MAGIC[fmt]:
        raise reader.fail("wrong magic number")
    version = reader.uint(4, "the version")
    if version not in (1, 2):
        raise UnsupportedFormatError(
            f"{_NAMES[fmt]} keystore version {version} is unknown (only 1 and 2 exist)",
            source=source, format=fmt,
        )
    count = reader.uint(4, "the entry count")
    if count > len(data) // 16:  # every entry takes far more than 16 bytes
        raise reader.fail(f"it claims {count} entries, more than the file could hold")
    entries: list[_Read] = []
    raw: list[_RawEntry] = []
    while len(entries) < count:
        if version == 2:  # the common entries of a truststore, read in one loop
            reader.pos = _trusted_run(data, reader.pos, count - len(entries), entries)
            if len(entries) == count:
                break
        tag = reader.uint(4, "an entry tag")
        alias = reader.utf("an alias")
        # Java writes dates as a signed long of milliseconds since 1970.
        timestamp = int.from_bytes(reader.take(8, "an entry date"), "big", signed=True)
        if tag == _TAG_KEY:
            blob = reader.blob("an encrypted key")
            chain_length = reader.uint(4, "a chain length")
            if chain_length > len(data) // 4:
                raise reader.fail(f"entry {alias!r} claims {chain_length} certificates")
            chain = tuple(_certificate(reader, version, alias) for _ in range(chain_length))
            raw.append(_RawEntry(tag, alias, timestamp, blob, certificates=chain))
        elif tag == _TAG_TRUSTED:
            raw.append(_RawEntry(tag, alias, timestamp,
                                 certificates=(_certificate(reader, version, alias),)))
        elif tag == _TAG_SECRET and fmt == "jceks":
            start = reader.pos
            sealed = _read_sealed(reader, alias)
            # The serialized bytes are kept so that a locked secret is written back as read.
            raw.append(_RawEntry(tag, alias, timestamp, data[start : reader.pos],
                                 sealed=sealed))
        else:
            raise reader.fail(f"entry {alias!r} has unknown type tag {tag}")
        entries.append(raw[-1])
    end = reader.pos
    if password is not None:
        found = data[end : end + 20]
        if len(found) != 20:
            raise reader.fail("the integrity digest at the end is missing or truncated")
        if found != _javakeys.store_digest(password, memoryview(data)[:end]):
            raise PasswordError(
                f"wrong store password for this {_NAMES[fmt]} keystore (or the file is damaged: "
                "its integrity digest does not match)",
                source=source,
            )
    return entries, raw


# --- turning raw entries into model entries -------------------------------------------


def _parse_certificates(ders: tuple[bytes, ...], alias: str, source: str | None,
                        fmt: str) -> tuple[Certificate, ...]:
    try:
        certs = tuple(Certificate(der, lazy=True) for der in ders)
    except DecodeError as err:
        raise DecodeError(f"entry {alias!r} holds a damaged certificate: {err}",
                          source=source, format=fmt) from err
    return certs


def _decrypt_private_key(blob: bytes, password: str, alias: str,
                         source: str | None, budget: WorkBudget) -> bytes | None:
    oid, parameters, encrypted = _javakeys.parse_encrypted_key(blob)
    if oid == _javakeys.JKS_PROTECTOR_OID:
        return _javakeys.recover_jks(encrypted, password)
    if oid == _javakeys.JCE_PBE_OID:
        return _javakeys.recover_jce(parameters, encrypted, password, budget=budget,
                                     what=f"the key of entry {alias!r}")
    raise UnsupportedFormatError(
        f"the key of entry {alias!r} is protected with algorithm {oid}, which is neither the "
        "JKS key protector nor PBEWithMD5AndTripleDES",
        source=source,
    )


def _private_key(pkcs8: bytes, alias: str, source: str | None) -> PrivateKey:
    # Kept as read and parsed on first use: copying a keystore needs only the bytes.
    try:
        return PrivateKey.from_pkcs8(pkcs8)
    except DecodeError as err:
        raise DecodeError(f"the key of entry {alias!r} decrypts but cannot be read: {err}",
                          source=source) from err


def _jks_recover(blob: bytes, password: Password, alias: str, source: str | None,
                 budget: WorkBudget) -> bytes:
    """The key entry's decrypted content (PKCS#8, when a JDK wrote a private key)."""
    if password is None:
        raise PasswordError(f"the key of entry {alias!r} needs its key password",
                            alias=alias, missing=True, source=source)
    try:
        plain = _decrypt_private_key(blob, _javakeys.java_password(password), alias, source,
                                     budget)
    except WorkLimitError:
        raise
    except DecodeError as err:
        raise DecodeError(f"the key of entry {alias!r} is damaged: {err}",
                          source=source) from err
    if plain is None:
        raise PasswordError(f"wrong key password for entry {alias!r}", alias=alias,
                            source=source)
    return plain


def _jks_unlocker(blob: bytes, alias: str, source: str | None,
                  budget: WorkBudget) -> Callable[[Password], PrivateKey]:
    def unlock(password: Password) -> PrivateKey:
        return _private_key(_jks_recover(blob, password, alias, source, budget), alias,
                            source)

    return unlock


def _opened_key_entry(raw: _RawEntry, plain: bytes, chain: tuple[Certificate, ...],
                      notes: list[str]) -> KeyEntry | OpaqueEntry:
    """The entry for a decrypted key: usable, or opaque (exact bytes and the reason).

    The key's DER is examined without parsing (a plain copy stays cheap); only keys that
    may not parse (an odd curve, an embedded public key, an unknown algorithm, a quirk) are
    parsed now, so that one of them never sinks the store later.
    """
    created = _ms_to_datetime(raw.timestamp)
    try:
        shape = _pkcs8.examine(plain)
    except DecodeError:
        if chain:
            reason = f"the key decrypts to {len(plain)} bytes that are not a PKCS#8 private key"
        else:
            reason = (f"a key entry without certificates holding {len(plain)} bytes that are "
                      "not a PKCS#8 private key (keytool lists it as a SecretKeyEntry)")
        return OpaqueEntry(raw.alias, "private key" if chain else "secret key", plain, reason,
                           Chain(chain), created=created)
    if shape.unsupported is not None:
        return OpaqueEntry(raw.alias, "private key", plain, f"it is {shape.unsupported}",
                           Chain(chain), created=created)
    if shape.needs_check or shape.quirk:
        from certkit._crypto.keys import read_pkcs8  # noqa: PLC0415 - odd keys only

        try:
            _, quirk = read_pkcs8(plain)
        except CertkitError as err:
            return OpaqueEntry(raw.alias, "private key", plain, str(err), Chain(chain),
                               created=created)
        if quirk:
            notes.append(f"entry {raw.alias!r}: the {shape.algorithm} key was normalised: "
                         f"{quirk} (written back to Java keystores as read)")
    return KeyEntry.unchecked(raw.alias, PrivateKey.from_pkcs8(plain), Chain(chain),
                              created=created)


def _key_password(alias: str, options: LoadOptions) -> tuple[Password, bool]:
    """The password to try on an entry, and whether the caller gave it for this entry."""
    if alias in options.key_passwords:
        return options.key_passwords[alias], True
    return options.password, False


def _leaf_fingerprint(chain: tuple[Certificate, ...]) -> str | None:
    return chain[0].public_key_fingerprint if chain else None


def _load_key_entry(raw: _RawEntry, fmt: str, options: LoadOptions,
                    notes: list[str], budget: WorkBudget) -> KeyEntry | OpaqueEntry:
    chain = _parse_certificates(raw.certificates, raw.alias, options.source, fmt)
    password, explicit = _key_password(raw.alias, options)
    if chain and not explicit and password is not None and not options.decrypt_keys:
        # Listing: the key stays encrypted until it is used; its certificate answers for it.
        unlock = _jks_unlocker(raw.blob, raw.alias, options.source, budget)
        key = LockedKey(fmt, raw.blob, unlock, _leaf_fingerprint(chain), deferred=True)
        return KeyEntry.unchecked(raw.alias, key, Chain(chain),
                                  created=_ms_to_datetime(raw.timestamp))
    try:
        plain = _jks_recover(raw.blob, password, raw.alias, options.source, budget)
    except PasswordError:
        if explicit:
            raise
        unlock = _jks_unlocker(raw.blob, raw.alias, options.source, budget)
        key = LockedKey(fmt, raw.blob, unlock, _leaf_fingerprint(chain))
        return KeyEntry.unchecked(raw.alias, key, Chain(chain),
                                  created=_ms_to_datetime(raw.timestamp))
    return _opened_key_entry(raw, plain, chain, notes)


def _sealed_field(sealed: _javaser.JavaObject, name: str, kind: type, alias: str,
                  source: str | None) -> Any:
    value = sealed.fields.get(name)
    if not isinstance(value, kind):
        raise DecodeError(f"the secret key {alias!r} is sealed without a valid {name}",
                          source=source, format="jceks")
    return value


def _secret_from(obj: _javaser.Value) -> tuple[str, bytes] | None:
    """``(algorithm, key)`` from a deserialized ``SecretKeySpec`` or raw secret ``KeyRep``."""
    if not isinstance(obj, _javaser.JavaObject):
        return None
    fields = obj.fields
    if obj.class_name == "javax.crypto.spec.SecretKeySpec":
        algorithm, key = fields.get("algorithm"), fields.get("key")
    elif (obj.class_name == "java.security.KeyRep" and fields.get("format") == "RAW"
          and fields.get("type") == _javaser.JavaEnum("java.security.KeyRep$Type", "SECRET")):
        algorithm, key = fields.get("algorithm"), fields.get("encoded")
    else:
        return None
    if isinstance(algorithm, str) and isinstance(key, bytes):
        return algorithm, key
    return None


def _unseal(raw: _RawEntry, password: str, source: str | None,
            budget: WorkBudget) -> tuple[str, bytes] | None:
    """Decrypt a JCEKS sealed secret key: ``(algorithm, key)``, or ``None`` for a wrong password."""
    sealed = raw.sealed
    if sealed is None:
        raise DecodeError(f"entry {raw.alias!r} holds no sealed key", source=source,
                          format="jceks")
    seal_alg = sealed.fields.get("sealAlg")
    if seal_alg != "PBEWithMD5AndTripleDES" or sealed.fields.get("paramsAlg") != seal_alg:
        raise UnsupportedFormatError(
            f"the secret key {raw.alias!r} is sealed with {seal_alg!r}; JCEKS uses only "
            "PBEWithMD5AndTripleDES (keytool cannot read it either)",
            source=source, format="jceks",
        )
    params = _sealed_field(sealed, "encodedParams", bytes, raw.alias, source)
    content = _sealed_field(sealed, "encryptedContent", bytes, raw.alias, source)
    salt, iterations = _javakeys.parse_pbe_parameters(params)
    try:
        secret = _javakeys.jce_password_bytes(password)
    except PasswordError:
        return None
    plain = _javakeys.jce_decrypt(content, secret, salt, iterations, budget=budget,
                                  what=f"the secret key {raw.alias!r}")
    if plain is None or not plain.startswith(_javaser.STREAM_HEADER):
        return None  # bad padding, or (once in 256) good padding from a wrong password
    try:
        obj, _ = _javaser.read_object(plain, 0, what=f"the secret key {raw.alias!r}")
    except DecodeError as err:
        raise DecodeError(
            f"the secret key {raw.alias!r} decrypts to something that is not a readable secret "
            f"key ({err})", source=source, format="jceks",
        ) from err
    found = _secret_from(obj)
    if found is not None:
        return found
    name = obj.class_name if isinstance(obj, _javaser.JavaObject) else type(obj).__name__
    raise UnsupportedFormatError(
        f"the secret key {raw.alias!r} holds a Java {name}, not a SecretKeySpec or raw KeyRep; "
        "certkit cannot read it",
        source=source, format="jceks",
    )


def _jceks_secret_unlocker(raw: _RawEntry, source: str | None, budget: WorkBudget,
                           ) -> Callable[[Password], tuple[str, bytes]]:
    def unlock(password: Password) -> tuple[str, bytes]:
        if password is None:
            raise PasswordError(f"the secret key {raw.alias!r} needs its key password",
                                alias=raw.alias, missing=True, source=source)
        result = _unseal(raw, _javakeys.java_password(password), source, budget)
        if result is None:
            raise PasswordError(f"wrong key password for entry {raw.alias!r}", alias=raw.alias,
                                source=source)
        return result

    return unlock


def _load_secret_entry(raw: _RawEntry, options: LoadOptions,
                       budget: WorkBudget) -> SecretKeyEntry:
    created = _ms_to_datetime(raw.timestamp)
    unlock = _jceks_secret_unlocker(raw, options.source, budget)
    password, explicit = _key_password(raw.alias, options)
    try:
        algorithm, key = unlock(password)
    except PasswordError:
        if explicit:
            raise
        return SecretKeyEntry(raw.alias, None, LockedSecret("jceks", raw.blob, unlock),
                              created=created)
    return SecretKeyEntry(raw.alias, algorithm, key, created=created)


def _protection(fmt: str, entries: list[_RawEntry]) -> tuple[Protection, ...]:
    out = [Protection("store integrity", "SHA-1 keyed digest",
                      weak="a single unsalted SHA-1 over the password and the data")]
    for raw in entries:
        if raw.tag == _TAG_KEY:
            try:
                oid, parameters, _ = _javakeys.parse_encrypted_key(raw.blob)
            except DecodeError:
                continue
            if oid == _javakeys.JKS_PROTECTOR_OID:
                out.append(Protection(f"key {raw.alias!r}", "JKS key protector (SHA-1 keystream)",
                                      weak="proprietary, unsalted SHA-1 with no iterations"))
            elif oid == _javakeys.JCE_PBE_OID and parameters is not None:
                _, iterations = _javakeys.parse_pbe_parameters(parameters)
                out.append(Protection(f"key {raw.alias!r}", "PBEWithMD5AndTripleDES", iterations,
                                      weak="MD5 and 3DES" if iterations >= 10_000 else
                                      f"MD5 and 3DES with only {iterations} iterations"))
        elif raw.tag == _TAG_SECRET:
            out.append(Protection(f"secret key {raw.alias!r}", "PBEWithMD5AndTripleDES",
                                  weak="MD5 and 3DES"))
    return tuple(out)


def _load_java(data: bytes, fmt: str, options: LoadOptions) -> KeyStore:
    store_password = (None if options.password is None
                      else _javakeys.java_password(options.password, what="store password"))
    read, raw_entries = _read_container(data, fmt, store_password, options.source)
    aliases = [entry.alias for entry in read]
    if len(set(aliases)) != len(aliases):
        seen: set[str] = set()
        for alias in aliases:
            if alias in seen:
                raise AliasError(
                    f"the keystore holds two entries under alias {alias!r} (Java would "
                    "silently keep only the last); the file was not written by keytool",
                    alias=alias,
                )
            seen.add(alias)
    notes: list[str] = []
    budget = WorkBudget(options.max_work)
    # Most trusted certificate entries are read as model entries already (see
    # _trusted_run); the raw ones become model entries here and take their places.
    made: list[Entry] = []
    others: list[Entry] = []  # the entries that are not trusted certificates
    for raw in raw_entries:
        if raw.tag == _TAG_TRUSTED:
            (cert,) = _parse_certificates(raw.certificates, raw.alias, options.source, fmt)
            made.append(TrustedCertEntry(raw.alias, cert,
                                         created=_ms_to_datetime(raw.timestamp)))
            continue
        if raw.tag == _TAG_KEY:
            entry: Entry = _load_key_entry(raw, fmt, options, notes, budget)
        else:
            entry = _load_secret_entry(raw, options, budget)
        made.append(entry)
        others.append(entry)
    in_order = iter(made)
    entries = [next(in_order) if isinstance(e, _RawEntry) else e for e in read]
    opaque = [e.alias for e in others if isinstance(e, OpaqueEntry)]
    if opaque:
        notes.append("kept as bytes certkit cannot parse (copied unchanged into JKS, JCEKS "
                     "and PKCS#12): " + ", ".join(map(_label, opaque)))
    if store_password is None:
        notes.append(f"{_NAMES[fmt]} integrity not verified: no store password was given "
                     "(as keytool -list without a password)")
    locked = [e.alias for e in others
              if isinstance(e, (KeyEntry, SecretKeyEntry)) and e.is_locked
              and not (isinstance(e.key, LockedKey) and e.key.deferred)]
    if locked:
        notes.append("locked (key password differs from the store password): "
                     + ", ".join(map(_label, locked)))
    return KeyStore(entries, format=fmt, protection=_protection(fmt, raw_entries), notes=notes)


# --- writing ------------------------------------------------------------------------


_X509_TYPE = _javakeys.modified_utf8_encode("X.509")


def _write_certificate(der: bytes) -> bytes:
    return _X509_TYPE + len(der).to_bytes(4, "big") + der


def _check_aliases(store: KeyStore) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for entry in store.entries:
        key = entry.alias.lower()
        if key in lowered:
            raise AliasError(
                f"aliases {lowered[key]!r} and {entry.alias!r} differ only in case; Java keystores "
                "ignore case, so one would overwrite the other: rename one of them first",
                alias=entry.alias,
            )
        lowered[key] = entry.alias
    return lowered


def _implied(entry: Entry) -> Attributes:
    """The entry's attributes minus what a Java keystore implies (alias, date, trust)."""
    attributes = entry.attributes
    if attributes.friendly_name == entry.alias:
        attributes = attributes.evolve(friendly_name=None)
    if entry.created is not None and attributes.local_key_id is not None and \
            attributes.local_key_id == f"Time {_datetime_to_ms(entry.created)}".encode():
        attributes = attributes.evolve(local_key_id=None)  # keytool's PKCS#12 date marker
    if isinstance(entry, TrustedCertEntry) and attributes.trusted_usage in (
            (ANY_EXTENDED_KEY_USAGE,), ()):
        attributes = attributes.evolve(trusted_usage=None)
    return attributes


def _not_kept(entry: Entry, fmt: str) -> list[str]:
    out: list[str] = []
    extra = _implied(entry)
    names = [] if extra.is_empty else [label for label, value in (
        ("friendly name", extra.friendly_name), ("local key id", extra.local_key_id),
        ("CSP name", extra.csp_name), ("trusted usage", extra.trusted_usage),
        (f"{len(extra.other)} other attribute(s)", extra.other)) if value]
    if names:
        out.append(f"entry {entry.alias!r}: {', '.join(names)} ({_NAMES[fmt]} keeps only the "
                   "alias and the date)")
    if entry.alias != entry.alias.lower():
        out.append(f"entry {entry.alias!r}: written as {entry.alias.lower()!r} "
                   "(Java keystore aliases are lower-case)")
    if isinstance(entry, TrustedCertEntry) and not entry.trusted:
        out.append(f"entry {entry.alias!r}: written as a trusted certificate "
                   f"({_NAMES[fmt]} has no untrusted certificate entries)")
    return out


def _dump_key(entry: KeyEntry, fmt: str, key_password: Password, iterations: int) -> bytes:
    if isinstance(entry.key, LockedKey):
        if entry.key.format != fmt:
            hint = Hint("key_passwords", alias=entry.alias)
            raise PasswordError(
                f"the key of entry {entry.alias!r} is still locked under its own password (read "
                f"from {entry.key.format.upper()}); it can be written back only to "
                f"{entry.key.format.upper()}. Pass {hint.api} when loading to convert it",
                alias=entry.alias, missing=True,
            ).with_hint(hint)
        return entry.key.data
    return _protect(entry.key.encoded, entry.alias, fmt, key_password, iterations)


def _protect(plain: bytes, alias: str, fmt: str, key_password: Password, iterations: int) -> bytes:
    """Encrypt a key entry's content (PKCS#8, as read) with the format's key protector."""
    if key_password is None:
        raise PasswordError(f"no key password for entry {alias!r}; {_NAMES[fmt]} "
                            "encrypts every private key", alias=alias, missing=True)
    text = _javakeys.java_password(key_password, what="key password")
    if fmt == "jks":
        return _javakeys.protect_jks(plain, text)
    try:
        return _javakeys.protect_jce(plain, text, iterations)
    except PasswordError as err:
        raise PasswordError(f"entry {alias!r}: {err}", alias=alias) from err


def _dump_secret(entry: SecretKeyEntry, fmt: str, key_password: Password,
                 iterations: int) -> bytes:
    if isinstance(entry.key, LockedSecret) and entry.key.format == fmt:
        return entry.key.data  # still sealed under its own password, byte for byte as read
    if isinstance(entry.key, LockedSecret) or entry.algorithm is None:
        origin = entry.key.format if isinstance(entry.key, LockedSecret) else "another format"
        hint = Hint("key_passwords", alias=entry.alias)
        raise PasswordError(
            f"the secret key {entry.alias!r} is still locked under its own password (read from "
            f"{_NAMES.get(origin, origin)}); it can be written back only to that format. Pass "
            f"{hint.api} when loading to convert it",
            alias=entry.alias, missing=True).with_hint(hint)
    if key_password is None:
        raise PasswordError(f"no key password for secret key {entry.alias!r}",
                            alias=entry.alias, missing=True)
    try:
        return _javakeys.seal_secret_key(entry.algorithm, entry.key,
                                         _javakeys.java_password(key_password), iterations)
    except PasswordError as err:
        raise PasswordError(f"entry {entry.alias!r}: {err}", alias=entry.alias) from err


def _dump_java(store: KeyStore, options: DumpOptions, fmt: str) -> Dumped:
    allowed: dict[str, object] = {"key_password": None, "key_passwords": {}}
    if fmt == "jceks":
        allowed["iterations"] = _javakeys.DEFAULT_JCEKS_ITERATIONS
    extra = options.take(allowed, fmt)
    iterations = int(extra.get("iterations", _javakeys.DEFAULT_JCEKS_ITERATIONS))
    if not 1 <= iterations <= _javakeys.MAX_JCEKS_ITERATIONS:
        raise UnsupportedFormatError(
            f"iterations={iterations} is outside 1…{_javakeys.MAX_JCEKS_ITERATIONS}, "
            "the range Java accepts for JCEKS keys", format=fmt)
    if options.password is None:
        hint = Hint("password", output=True)
        raise PasswordError(f"a {_NAMES[fmt]} keystore needs a store password (pass {hint.api})",
                            missing=True).with_hint(hint)
    store_password = _javakeys.java_password(options.password, what="store password")
    default_key_password: Password = extra["key_password"]
    if default_key_password is None:
        default_key_password = options.password  # what Tomcat and keytool expect
    key_passwords: Mapping[str, Password] = extra["key_passwords"] or {}
    unknown = sorted(set(key_passwords) - set(store.aliases))
    if unknown:
        raise AliasError(f"key_passwords names no entry of this store: {', '.join(unknown)}",
                         alias=unknown[0])
    _check_aliases(store)

    lost: list[str] = [f"certificate request for {r.subject}" for r in store.requests]
    not_kept: list[str] = []
    body: list[bytes] = []
    for entry in store.entries:
        alias = _javakeys.modified_utf8_encode(entry.alias.lower())
        created = _datetime_to_ms(entry.created).to_bytes(8, "big", signed=True)
        if isinstance(entry, KeyEntry):
            if not entry.chain:
                lost.append(f"entry {entry.alias!r}: a private key without a certificate "
                            f"({_NAMES[fmt]} requires a certificate chain for every key)")
                continue
            blob = _dump_key(entry, fmt, key_passwords.get(entry.alias, default_key_password),
                             iterations)
            chain = b"".join(_write_certificate(c.der) for c in entry.chain)
            body.append(_TAG_KEY.to_bytes(4, "big") + alias + created
                        + len(blob).to_bytes(4, "big") + blob
                        + len(entry.chain).to_bytes(4, "big") + chain)
        elif isinstance(entry, TrustedCertEntry):
            body.append(_TAG_TRUSTED.to_bytes(4, "big") + alias + created
                        + _write_certificate(entry.certificate.der))
        elif isinstance(entry, OpaqueEntry):
            if entry.kind == "certificate":
                body.append(_TAG_TRUSTED.to_bytes(4, "big") + alias + created
                            + _write_certificate(entry.data))
            elif not entry.chain and (entry.kind == "private key" or fmt == "jceks"):
                lost.append(f"{opaque_label(entry)}: {_NAMES[fmt]} requires a certificate "
                            "chain for every private key" + (
                                "; only JKS keeps a key entry without one" if fmt == "jceks"
                                else ""))
                continue
            else:  # a key with its chain, or a JDK key entry that never had one: as read
                blob = _protect(entry.data, entry.alias, fmt,
                                key_passwords.get(entry.alias, default_key_password), iterations)
                chain = b"".join(_write_certificate(c.der) for c in entry.chain)
                body.append(_TAG_KEY.to_bytes(4, "big") + alias + created
                            + len(blob).to_bytes(4, "big") + blob
                            + len(entry.chain).to_bytes(4, "big") + chain)
        else:
            if fmt == "jks":
                lost.append(f"entry {entry.alias!r}: a {entry.algorithm or 'locked'} secret key "
                            "(JKS cannot hold secret keys: use JCEKS or PKCS#12)")
                continue
            sealed = _dump_secret(entry, fmt, key_passwords.get(entry.alias, default_key_password),
                                  iterations)
            body.append(_TAG_SECRET.to_bytes(4, "big") + alias + created + sealed)
        not_kept.extend(_not_kept(entry, fmt))
    if lost and not options.allow_loss:
        raise UnrepresentableError(
            f"{_NAMES[fmt]} cannot hold: {'; '.join(lost)}. Choose another format or pass "
            "allow_loss=True to leave these out",
            format=fmt, lost=lost,
        ).with_hint(Hint("allow_loss"))
    data = (_MAGIC[fmt] + (2).to_bytes(4, "big") + len(body).to_bytes(4, "big") + b"".join(body))
    return Dumped(data + _javakeys.store_digest(store_password, data), tuple(lost), tuple(not_kept))


class JavaKeyStoreCodec:
    """The JKS or JCEKS codec: ``load`` reads, ``dump`` writes (options ``key_password``,
    ``key_passwords`` and, for JCEKS, ``iterations``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"JavaKeyStoreCodec({self.name!r})"

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Read a JKS or JCEKS keystore; see the module docstring for locked keys and aliases."""
        return _load_java(data, self.name, options)

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Write ``store``; keys are encrypted under ``key_password`` (default: store password)."""
        return _dump_java(store, options, self.name)


# --- Bouncy Castle BKS / UBER -------------------------------------------------------------


def _bks_header(data: bytes, source: str | None) -> tuple[int, int, int]:
    """Return (version, iteration count, offset of the entries) of a BKS or UBER file."""
    if len(data) < 12:
        raise DecodeError("not a BKS/UBER keystore: the file is too short", source=source,
                          format="bks")
    version = int.from_bytes(data[:4], "big")
    salt_length = int.from_bytes(data[4:8], "big")
    if version not in (1, 2) or salt_length > 1024 or len(data) < 12 + salt_length:
        raise DecodeError("not a BKS/UBER keystore: unknown version or damaged header",
                          source=source, format="bks")
    iterations = int.from_bytes(data[8 + salt_length : 12 + salt_length], "big")
    if not 1 <= iterations <= _MAX_BKS_ITERATIONS:
        raise DecodeError(
            f"BKS/UBER iteration count {iterations} is outside 1…{_MAX_BKS_ITERATIONS}; "
            "the file is damaged or hostile", source=source, format="bks")
    return version, iterations, 12 + salt_length


def _pyjks_error(err: Exception, what: str, source: str | None) -> CertkitError:
    name = type(err).__name__
    if name in ("KeystoreSignatureException", "DecryptionFailureException"):
        return PasswordError(f"wrong store password for this {what} keystore (or the file is "
                             "damaged)", source=source)
    if name == "DuplicateAliasException":
        return AliasError(f"the {what} keystore holds two entries under one alias ({err})")
    return DecodeError(f"not a valid {what} keystore: {err or name}", source=source, format="bks")


def _uber_password(password: str) -> bytes:
    """The password as Bouncy Castle's PKCS#12 KDF takes it (``PKCS12PasswordToBytes``):
    UTF-16BE and two zero bytes, but no bytes at all for the empty password."""
    return password.encode("utf-16-be", "surrogatepass") + b"\x00\x00" if password else b""


def _uber_decrypt(data: bytes, password: str, source: str | None, budget: WorkBudget) -> bytes:
    """Decrypt an UBER store and check its SHA-1; return the BKS-format entry list inside.

    After BKS v1's header (version, salt, iteration count) comes
    Twofish-256-CBC(entries || SHA-1(entries)), PKCS#7-padded, with key and IV from the
    PKCS#12 KDF (SHA-1) over the password. Padding and digest failures are a
    :class:`PasswordError`: without the right password the two cannot be told apart.
    """
    from certkit._crypto import pbe as _pbe  # noqa: PLC0415 - only UBER stores need them
    from certkit._crypto import twofish as _twofish  # noqa: PLC0415 - only UBER stores need them

    _, iterations, offset = _bks_header(data, source)
    body = data[offset:]
    if not body or len(body) % _twofish.BLOCK_SIZE:
        raise DecodeError("not a valid BKS or UBER keystore: the data after the header is "
                          "neither BKS entries nor whole Twofish blocks (truncated or damaged)",
                          source=source, format="bks")
    if len(body) > _MAX_UBER_BODY:
        raise DecodeError(f"an UBER keystore of {len(body):,} bytes is implausible (real ones "
                          "hold a few kilobytes); the file is damaged or hostile",
                          source=source, format="bks")
    secret = _uber_password(password)
    salt = data[8 : offset - 4]
    key = _pbe.pkcs12_kdf("sha1", secret, salt, 1, iterations, 32, budget=budget,
                          what="the UBER store")
    iv = _pbe.pkcs12_kdf("sha1", secret, salt, 2, iterations, 16, budget=budget,
                         what="the UBER store")
    wrong = PasswordError("wrong store password for this UBER keystore (or the file is "
                          "damaged: it does not decrypt)", source=source)
    # CBC lets the last block decrypt alone: a wrong password almost always shows in its
    # padding before the whole body is decrypted in pure Python.
    last_iv = body[-32:-16] if len(body) > 16 else iv
    pad = _twofish.cbc_decrypt(key, last_iv, body[-16:])[-1]
    plain = _twofish.cbc_decrypt(key, iv, body) if 1 <= pad <= 16 else b""
    if not plain or plain[-pad:] != bytes((pad,)) * pad:
        raise wrong
    entries, digest = plain[: -pad - 20], plain[-pad - 20 : -pad]
    if len(digest) != 20 or hashlib.sha1(entries).digest() != digest:  # noqa: S324 - UBER's own
        raise wrong
    return entries


def _uber_store(data: bytes, password: str, source: str | None, budget: WorkBudget) -> Any:
    entries_data = _uber_decrypt(data, password, source, budget)
    try:
        entries, _ = _pyjks().bks.BksKeyStore._load_bks_entries(entries_data, "uber", password)
    except Exception as err:  # pyjks raises anything on damaged input
        raise _pyjks_error(err, "UBER", source) from err
    return _pyjks().bks.UberKeyStore("uber", entries, version=1)


def _bks_store(data: bytes, password: str | None, source: str | None,
               budget: WorkBudget) -> tuple[Any, str]:
    version, iterations, offset = _bks_header(data, source)
    bks_error: Exception | None = None
    try:
        if password is None:
            # Listing without the HMAC, as keytool -list does without a password.
            entries, _ = _pyjks().bks.BksKeyStore._load_bks_entries(data[offset:], "bks", None)
            return _pyjks().bks.BksKeyStore("bks", entries, version=version), "bks"
        budget.charge(iterations, 1, "the BKS store MAC")  # pyjks derives the HMAC key
        return _pyjks().bks.BksKeyStore.loads(data, password, try_decrypt_keys=False), "bks"
    except WorkLimitError:
        raise
    except Exception as err:  # noqa: BLE001 - pyjks raises anything on damaged input
        bks_error = err
    # An UBER store shares BKS's header (version 1 or, from Bouncy Castle 1.47 on, 2) and
    # fails as BKS: its body is encrypted.
    if type(bks_error).__name__ != "DuplicateAliasException":
        if password is None:
            raise PasswordError("this is not a readable BKS keystore, so most likely an UBER "
                                "keystore, which is encrypted as a whole: it needs the store "
                                "password even to list it", source=source, missing=True)
        if type(bks_error).__name__ != "KeystoreSignatureException":
            try:
                return _uber_store(data, password, source, budget), "uber"
            except PasswordError as err:
                raise PasswordError(
                    "wrong store password for this UBER keystore (or the file is damaged: it "
                    "reads neither as a BKS keystore nor as an UBER keystore this password "
                    "decrypts)", source=source) from err
        # Once in 256, an UBER body starts with a zero byte and reads as an empty BKS entry
        # list whose HMAC fails; only if it does not decrypt as UBER either is it a BKS v1
        # store opened with the wrong password.
        try:
            return _uber_store(data, password, source, budget), "uber"
        except WorkLimitError:
            raise
        except (PasswordError, DecodeError):
            pass
    raise _pyjks_error(bks_error, "BKS", source) from bks_error


def _bks_sealed_iterations(entry: Any) -> int:
    blob = entry._encrypted  # the sealed bytes pyjks has not decrypted yet
    salt_length = int.from_bytes(blob[:4], "big")
    return int.from_bytes(blob[4 + salt_length : 8 + salt_length], "big")


def _bks_decrypt(entry: Any, password: Password, alias: str, budget: WorkBudget) -> bool:
    """Decrypt a sealed BKS entry in place; ``False`` if the password is wrong."""
    if entry.__dict__.get("_nested") is not None:
        return True
    if password is None:
        return False
    iterations = _bks_sealed_iterations(entry)
    if not 1 <= iterations <= _MAX_BKS_ITERATIONS:
        raise DecodeError(f"the sealed entry {alias!r} has an absurd iteration count",
                          format="bks")
    # PBEWithSHAAnd3-KeyTripleDES-CBC: a 24-byte key (2 SHA-1 blocks) and an 8-byte IV (1).
    budget.charge(iterations, 3, f"the sealed entry {alias!r}")
    try:
        entry.decrypt(_javakeys.java_password(password))
    except Exception:  # noqa: BLE001 - see below
        # Sealed entries carry no MAC: a wrong password fails the padding check, or (about
        # once in 256 tries) passes it and yields garbage that pyjks fails to parse. Bouncy
        # Castle reports both as an unrecoverable key; so does certkit, as a wrong password.
        return False
    return True


def _bks_key_entry(entry: Any, alias: str, chain: tuple[Certificate, ...], *,
                   created: dt.datetime | None, notes: list[str],
                   source: str | None) -> Entry | None:
    kind = entry.type
    if kind == _pyjks().bks.KEY_TYPE_PRIVATE:
        key = _private_key(bytes(entry.pkey_pkcs8), alias, source)
        return KeyEntry.unchecked(alias, key, Chain(chain), created=created)
    if kind == _pyjks().bks.KEY_TYPE_SECRET:
        if chain:
            notes.append(f"entry {alias!r}: a secret key ({entry.algorithm}) stored with "
                         f"{len(chain)} certificate(s); certkit keeps secret keys without "
                         "certificates, so those were left out")
        return SecretKeyEntry(alias, str(entry.algorithm), bytes(entry.key), created=created)
    notes.append(f"entry {alias!r} ({entry.algorithm} public key) not loaded: certkit's model "
                 "holds public keys only inside certificates")
    return None


def _bks_locked_unlocker(entry: Any, alias: str, source: str | None, budget: WorkBudget,
                         ) -> Callable[[Password], PrivateKey]:
    def unlock(password: Password) -> PrivateKey:
        if password is None:
            raise PasswordError(f"the key of entry {alias!r} needs its key password",
                                alias=alias, missing=True)
        if not _bks_decrypt(entry, password, alias, budget):
            raise PasswordError(f"wrong key password for entry {alias!r}", alias=alias)
        if entry.type != _pyjks().bks.KEY_TYPE_PRIVATE:
            kind = "secret" if entry.type == _pyjks().bks.KEY_TYPE_SECRET else "public"
            hint = Hint("key_passwords", alias=alias, path=source)
            raise UnsupportedFormatError(
                f"entry {alias!r} holds a {entry.algorithm} {kind} key stored with a certificate "
                f"chain, not a private key; load the store with {hint.api} "
                f"to read it as a {kind} key", source=source, format="bks").with_hint(hint)
        return _private_key(bytes(entry.pkey_pkcs8), alias, source)

    return unlock


def _bks_secret_unlocker(entry: Any, alias: str, source: str | None, budget: WorkBudget,
                         ) -> Callable[[Password], tuple[str, bytes]]:
    def unlock(password: Password) -> tuple[str, bytes]:
        if password is None:
            raise PasswordError(f"the secret key {alias!r} needs its key password",
                                alias=alias, missing=True)
        if not _bks_decrypt(entry, password, alias, budget):
            raise PasswordError(f"wrong key password for entry {alias!r}", alias=alias)
        nested = entry._nested
        if nested.type != _pyjks().bks.KEY_TYPE_SECRET:
            kind = "private" if nested.type == _pyjks().bks.KEY_TYPE_PRIVATE else "public"
            hint = Hint("key_passwords", alias=alias, path=source)
            raise UnsupportedFormatError(
                f"entry {alias!r} holds a {nested.algorithm} {kind} key, not a secret "
                f"key; load the store with {hint.api} to read it as such",
                source=source, format="bks").with_hint(hint)
        return str(nested.algorithm), bytes(nested.key)

    return unlock


def _load_bks(data: bytes, options: LoadOptions) -> KeyStore:
    source = options.source
    password = (None if options.password is None
                else _javakeys.java_password(options.password, what="store password"))
    budget = WorkBudget(options.max_work)
    pystore, fmt = _bks_store(data, password, source, budget)
    entries: list[Entry] = []
    notes: list[str] = []
    if password is None:
        notes.append("BKS integrity not verified: no store password was given")
    for name, item in pystore.entries.items():
        alias = str(name)
        created = _ms_to_datetime(int(item.timestamp))
        chain = _parse_certificates(tuple(bytes(c.cert) for c in item.cert_chain), alias,
                                    source, fmt)
        kind = type(item).__name__
        if kind == "BksTrustedCertEntry":
            (cert,) = _parse_certificates((bytes(item.cert),), alias, source, fmt)
            entries.append(TrustedCertEntry(alias, cert, created=created))
        elif kind == "BksSecretKeyEntry":  # an opaque value stored as-is
            entries.append(SecretKeyEntry(alias, "RAW", bytes(item.key), created=created))
            notes.append(f"entry {alias!r} is an opaque BKS stored value, loaded as a RAW secret")
        elif kind == "BksKeyEntry":
            loaded = _bks_key_entry(item, alias, chain, created=created, notes=notes,
                                    source=source)
            if loaded is not None:
                entries.append(loaded)
        elif not item.__dict__.get("_encrypted"):  # a sealed entry with nothing sealed in it
            notes.append(f"entry {alias!r} is a sealed entry with no content; it was not loaded")
        else:  # BksSealedKeyEntry
            key_password, explicit = _key_password(alias, attrs.evolve(options, password=password))
            if _bks_decrypt(item, key_password, alias, budget):
                loaded = _bks_key_entry(item._nested, alias, chain, created=created,
                                        notes=notes, source=source)
                if loaded is not None:
                    entries.append(loaded)
            elif explicit:
                raise PasswordError(f"wrong key password for entry {alias!r}", alias=alias,
                                    source=source)
            else:
                notes.append(f"entry {alias!r} is sealed under its own key password; its kind "
                             "(private, public or secret key) shows only once unlocked")
                blob = bytes(item._encrypted)  # the sealed bytes, kept for equality
                if chain:  # listed like a locked private key, which always has a chain
                    unlock = _bks_locked_unlocker(item, alias, source, budget)
                    entries.append(KeyEntry.unchecked(alias, LockedKey(fmt, blob, unlock,
                                                             _leaf_fingerprint(chain)),
                                            Chain(chain), created=created))
                else:  # without a chain, most likely a secret key
                    entries.append(SecretKeyEntry(
                        alias, None, LockedSecret(fmt, blob, _bks_secret_unlocker(
                            item, alias, source, budget)),
                        created=created))
    protection = (Protection("store integrity", "HMAC-SHA1" if fmt == "bks" else
                             "PBEWithSHAAndTwofish-CBC", None),)
    return KeyStore(entries, format=fmt, protection=protection, notes=notes)


class BKSCodec:
    """Bouncy Castle BKS (v1, v2) and UBER keystores: read through pyjks, never written."""

    name = "bks"

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Read a BKS or UBER keystore; ``store.format`` says which it was."""
        return _load_bks(data, options)

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Always raise: certkit reads Bouncy Castle keystores but cannot write them."""
        raise UnsupportedFormatError(
            "certkit reads BKS and UBER keystores but cannot write them; write PKCS#12 "
            "(readable by Bouncy Castle and Java alike) or JCEKS instead",
            format="bks",
        )


#: The JKS codec (``certkit.dump(store, "jks", password=…)``).
JKS = JavaKeyStoreCodec("jks")
#: The JCEKS codec (adds secret keys and the ``iterations`` option).
JCEKS = JavaKeyStoreCodec("jceks")
#: The read-only Bouncy Castle codec for BKS v1/v2 and UBER.
BKS = BKSCodec()
