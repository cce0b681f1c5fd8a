"""The PKCS#12 / PFX codec: every bag, every attribute, several keys, modern and legacy crypto.

Reading walks the structure with certkit's bounded BER reader (:class:`certkit._crypto.der.Node`),
because real files use BER that asn1crypto rejects (constructed OCTET STRINGs from NSS,
Java and BoringSSL's tests); writing builds the structure with asn1crypto. Primitives
come from :mod:`certkit._crypto.pbe` and ``cryptography``.

Reading:

* every key bag, shrouded key bag, certificate bag and secret bag (Java's secret keys),
  in plain, password-encrypted or nested safe contents; public-key encrypted safes
  (envelopedData) cannot be opened with a password: they are skipped and reported in
  ``store.notes`` (so OpenSSL's ``nomac_parse.p12`` opens, as OpenSSL opens it);
* integrity: HMAC with SHA-1/SHA-2 via the PKCS#12 KDF, RFC 9579 PBMAC1, or none
  (reported in ``store.protection``);
* keys pair with certificates by localKeyID, then by public key; chains are completed
  from the other certificates, leaf first; certificates with Java's trusted-usage
  attribute become trusted entries (``trusted=True``), other loose certificates
  ``TrustedCertEntry(trusted=False)``;
* aliases are the friendlyName, else the subject's common name, made unique.

Writing (``certkit.dump(store, "pkcs12", password=..., profile=...)``), options:

* ``profile``: ``"modern"`` (default: PBES2 PBKDF2-HMAC-SHA256 AES-256-CBC for keys and
  certificates, HMAC-SHA256 MAC, as OpenSSL 3 and JDK 17 write), ``"legacy"``
  (pbeWithSHA1And3-KeyTripleDES-CBC keys, pbeWithSHA1And40BitRC2-CBC certificates,
  SHA-1 MAC: Windows Server 2016 and older, Java 8 before 8u301) or ``"pbmac1"`` (modern
  with an RFC 9579 PBMAC1 MAC; OpenSSL 3.4+ reads it, OpenSSL 3.0 and JDK 17 do not);
* ``iterations``: 10,000 by default (JDK 17's count; OpenSSL 3 uses 2048) for modern and
  pbmac1, 2048 for legacy; ``mac_iterations`` defaults to ``iterations``;
* ``encrypt_keys``, ``encrypt_certificates``, ``mac``: all true by default; turning
  encryption off is the only way to write without a password (``password=None`` with
  something to encrypt is a :class:`~certkit.errors.PasswordError`).

Every entry's alias is written as its friendlyName (what Java and Windows show as its
name), so an entry read without a friendly name gains one on the way out.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from asn1crypto import core
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from certkit._assemble import Aliases, chain_attributes, link_chain, unique_alias
from certkit._crypto import der as _der
from certkit._crypto import pbe as _pbe
from certkit._crypto import pkcs8 as _pkcs8
from certkit._crypto.budget import WorkBudget
from certkit._crypto.keys import library_message, read_pkcs8
from certkit._model import (
    ANY_EXTENDED_KEY_USAGE,
    JAVA_TRUSTED_USAGE_OID,
    Attributes,
    Certificate,
    Chain,
    Entry,
    KeyEntry,
    KeyStore,
    LockedKey,
    LockedSecret,
    OpaqueEntry,
    PrivateKey,
    Protection,
    RawAttribute,
    SecretKeyEntry,
    TrustedCertEntry,
    opaque_label,
)
from certkit.errors import (
    CertkitError,
    DecodeError,
    Hint,
    PasswordError,
    UnrepresentableError,
    UnsupportedFormatError,
    WorkLimitError,
)
from certkit.formats._base import Dumped, DumpOptions, LoadOptions

__all__ = ["PKCS12", "PKCS12Codec"]

FORMAT = "pkcs12"

DATA = "1.2.840.113549.1.7.1"
SIGNED_DATA = "1.2.840.113549.1.7.2"
ENVELOPED_DATA = "1.2.840.113549.1.7.3"
ENCRYPTED_DATA = "1.2.840.113549.1.7.6"

KEY_BAG = "1.2.840.113549.1.12.10.1.1"
SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
CERT_BAG = "1.2.840.113549.1.12.10.1.3"
CRL_BAG = "1.2.840.113549.1.12.10.1.4"
SECRET_BAG = "1.2.840.113549.1.12.10.1.5"  # noqa: S105 - an OID, not a password
SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"

FRIENDLY_NAME = "1.2.840.113549.1.9.20"
LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
MS_CSP_NAME = "1.3.6.1.4.1.311.17.1"

MAX_SAFE_NESTING = 4

_BAG_NAMES = {KEY_BAG: "key bag", SHROUDED_KEY_BAG: "shrouded key bag", CERT_BAG: "certificate bag",
              CRL_BAG: "CRL bag", SECRET_BAG: "secret bag", SAFE_CONTENTS_BAG: "nested safe"}

#: Java secret-key algorithm names and the OIDs the JDK writes for them.
SECRET_KEY_OIDS = {
    "AES": "2.16.840.1.101.3.4.1",
    "DESede": "1.2.840.113549.3.7",
    "DES": "1.3.14.3.2.7",
    "RC2": "1.2.840.113549.3.2",
    "HmacSHA1": "1.2.840.113549.2.7",
    "HmacSHA224": "1.2.840.113549.2.8",
    "HmacSHA256": "1.2.840.113549.2.9",
    "HmacSHA384": "1.2.840.113549.2.10",
    "HmacSHA512": "1.2.840.113549.2.11",
}
_SECRET_KEY_NAMES = {oid: name for name, oid in SECRET_KEY_OIDS.items()}

# keytool's "Time <ms>"; certkit adds "-2", "-3"… when two entries share a millisecond.
_KEYTOOL_TIME = re.compile(rb"Time (-?[0-9]{1,15})(?:-[0-9]{1,6})?")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)

_PROFILES = {
    # profile: (key scheme, certificate scheme, MAC, default iterations)
    "modern": ("AES-256-CBC", "AES-256-CBC", "sha256", 10_000),
    "pbmac1": ("AES-256-CBC", "AES-256-CBC", "pbmac1", 10_000),
    "legacy": ("3des", "rc2-40", "sha1", 2048),
}

_DATA_ERRORS = (ValueError, TypeError, IndexError, KeyError, OverflowError, UnicodeError,
                RecursionError, AttributeError)


# ---------------------------------------------------------------------------------------
# Reading


@attrs.frozen
class _CertItem:
    certificate: Certificate
    attributes: Attributes
    position: int
    java_trusted: bool


@attrs.frozen
class _KeyItem:
    key: PrivateKey | LockedKey
    attributes: Attributes
    position: int
    protection: _pbe.Scheme | None
    leaf: _CertItem | None = None  # the certificate a still-encrypted key was paired with


@attrs.frozen
class _ShroudedKey:
    """A shrouded key bag left encrypted while listing (``decrypt_keys=False``)."""

    alg: _der.Node
    body: bytes = attrs.field(repr=False)
    data: bytes = attrs.field(repr=False)
    attributes: Attributes
    position: int
    scheme: _pbe.Scheme


@attrs.frozen
class _OpaqueItem:
    """A key or certificate bag certkit cannot parse: its exact bytes and why."""

    kind: str
    data: bytes = attrs.field(repr=False)
    reason: str
    attributes: Attributes
    position: int
    protection: _pbe.Scheme | None


@attrs.frozen
class _SecretItem:
    algorithm: str
    key: bytes = attrs.field(repr=False)
    attributes: Attributes
    position: int
    protection: _pbe.Scheme | None


class _Reader:
    """One load: the password form in use, and everything found so far."""

    def __init__(self, password: Any, source: str | None, budget: WorkBudget,
                 decrypt_keys: bool = True) -> None:
        self.password = password
        self.source = source
        self.budget = budget
        self.decrypt_keys = decrypt_keys
        self.shrouded: list[_ShroudedKey] = []
        self.forms = _pbe.password_forms(password)
        self.form = self.forms[0]
        self.mac_verified = False
        self.certs: list[_CertItem] = []
        self.keys: list[_KeyItem] = []
        self.secrets: list[_SecretItem] = []
        self.opaque: list[_OpaqueItem] = []
        self.protection: list[Protection] = []
        self.notes: list[str] = []
        self.position = 0

    # -- top level ----------------------------------------------------------------------

    def read(self, data: bytes) -> KeyStore:
        pfx = _der.Node.parse(data, what="the PKCS#12 file", whole=False)
        kids = pfx.seq("PFX", 2, 3)
        version = kids[0].integer("PFX version")
        if version != 3:
            raise DecodeError(f"PKCS#12 version {version} is not supported (only version 3 exists)")
        auth_type, auth_content = _content_info(kids[1], "the authenticated safe")
        if auth_type == SIGNED_DATA:
            raise UnsupportedFormatError(
                "this PKCS#12 file uses public-key integrity mode (a signature instead of a "
                "password MAC), which certkit does not support", format=FORMAT)
        if auth_type != DATA:
            raise DecodeError(f"the authenticated safe has content type {auth_type}; expected data")
        if auth_content is None:
            raise DecodeError("the authenticated safe has no content")
        auth_bytes = auth_content.expect(0x04, "authenticated safe").octets()
        if len(kids) == 3:
            self._verify_mac(kids[2], auth_bytes)
        else:
            self.protection.append(Protection("integrity", "none", None,
                                              "no MAC: integrity is not checked"))
        safes = _der.Node.parse(auth_bytes, what="the authenticated safe")
        for index, safe in enumerate(safes.seq("AuthenticatedSafe"), start=1):
            self._read_safe(safe, index)
        self._pair_shrouded()
        return self._assemble()

    def _verify_mac(self, mac_data: _der.Node, auth_bytes: bytes) -> None:
        fields = mac_data.seq("MacData", 2, 3)
        digest_info = fields[0].seq("MAC DigestInfo", 2, 2)
        alg = digest_info[0].seq("MAC algorithm", 1, 2)
        alg_oid = alg[0].oid("MAC algorithm")
        expected = digest_info[1].expect(0x04, "MAC value").octets()
        salt = fields[1].expect(0x04, "MAC salt").octets()
        iterations = fields[2].integer("MAC iteration count") if len(fields) == 3 else 1
        if alg_oid == _pbe.PBMAC1:
            if len(alg) != 2:
                raise DecodeError("PBMAC1 parameters are missing")
            params = _pbe.parse_pbmac1(alg[1])  # checked before any password is tried
            self._mac_scheme = params.scheme

            def compute(form: _pbe.PasswordForm) -> bytes:
                return _pbe.pbmac1(params, form, auth_bytes, budget=self.budget)
        else:
            digest = _pbe.hash_name(alg_oid)
            if not salt:
                raise DecodeError("the MAC salt is empty (no tool writes that; the file is "
                                  "damaged)")
            weak = "SHA-1 MAC" if digest == "sha1" else _pbe._weak_iterations(iterations)
            self._mac_scheme = _pbe.Scheme(f"HMAC-{digest.upper()} (PKCS#12 KDF)", iterations, weak)

            def compute(form: _pbe.PasswordForm) -> bytes:
                return _pbe.pkcs12_mac(digest, form, salt, iterations, auth_bytes,
                                       budget=self.budget)

        for form in self.forms:
            if hmac.compare_digest(compute(form), expected):
                self.form = form
                self.mac_verified = True
                scheme = self._mac_scheme
                self.protection.append(Protection("integrity", scheme.algorithm,
                                                  scheme.iterations, scheme.weak))
                if form is not self.forms[0]:
                    self.notes.append(f"the MAC verified only with the {form.label} form of the "
                                      "password (the file's writer confused them)")
                return
        self._mac_failed(compute, expected, auth_bytes)

    def _mac_failed(self, compute: Any, expected: bytes, auth_bytes: bytes) -> None:
        if self.password is None:
            hint = Hint("password", path=self.source)
            raise PasswordError("this PKCS#12 file is protected by a password and none was given; "
                                f"pass {hint.api}",
                                source=self.source, missing=True).with_hint(hint)
        for form in _pbe.password_forms(None):
            if hmac.compare_digest(compute(form), expected):
                hint = Hint("no_password", path=self.source)
                raise PasswordError("this PKCS#12 file has no password (its MAC verifies without "
                                    f"one); open it with {hint.api}",
                                    source=self.source).with_hint(hint)
        if self._password_decrypts(auth_bytes):
            raise DecodeError("the PKCS#12 integrity check (MAC) does not match although the "
                              "password decrypts the contents: the file was modified or damaged "
                              "after it was written", source=self.source, format=FORMAT)
        raise PasswordError("wrong password for this PKCS#12 file (its MAC does not match)",
                            source=self.source)

    def _password_decrypts(self, auth_bytes: bytes) -> bool:
        """Whether the password opens the first encrypted part (to tell tampering from a typo)."""
        try:
            safes = _der.Node.parse(auth_bytes).seq("AuthenticatedSafe")
            for safe in safes:
                ctype, content = _content_info(safe, "safe")
                if ctype == ENCRYPTED_DATA and content is not None:
                    alg, ciphertext = _encrypted_data(content)
                    plain = _pbe.decrypt(alg, ciphertext, self.forms[0], what="probe",
                                         budget=self.budget)
                    _der.Node.parse(plain)
                    return True
                if ctype == DATA and content is not None:
                    bags = _der.Node.parse(content.octets()).seq("SafeContents")
                    for bag in bags:
                        kids = bag.seq("SafeBag", 2, 3)
                        if kids[0].oid("bag") == SHROUDED_KEY_BAG:
                            enc = kids[1].children()[0]
                            alg, body = enc.seq("EncryptedPrivateKeyInfo", 2, 2)
                            plain = _pbe.decrypt(alg, body.octets(), self.forms[0], what="probe",
                                                 budget=self.budget)
                            return _pbe.looks_like_private_key_info(plain)
        except WorkLimitError:
            raise
        except CertkitError:
            return False
        return False

    # -- safes and bags -----------------------------------------------------------------

    def _read_safe(self, safe: _der.Node, index: int) -> None:
        ctype, content = _content_info(safe, f"safe {index}")
        if ctype == DATA:
            if content is None:
                raise DecodeError(f"safe {index} has no content")
            self._read_bags(content.expect(0x04, f"safe {index}").octets(), None, 0)
        elif ctype == ENCRYPTED_DATA:
            if content is None:
                raise DecodeError(f"encrypted safe {index} has no content")
            alg, body = _encrypted_data(content)
            scheme = _pbe.describe(alg)
            plain = self._decrypt(alg, body, f"encrypted safe {index}")
            self.protection.append(Protection(f"safe {index}", scheme.algorithm,
                                              scheme.iterations, scheme.weak))
            self._read_bags(plain, scheme, 0)
        elif ctype == ENVELOPED_DATA:
            self.protection.append(Protection(f"safe {index}", "public-key (envelopedData)"))
            self.notes.append(f"safe {index} is encrypted to a recipient's public key "
                              "(envelopedData); certkit cannot open it with a password, so its "
                              "contents were not loaded")
        else:
            self.notes.append(f"safe {index} has content type {ctype}, which PKCS#12 does not "
                              "define; it was not loaded")

    def _decrypt(self, alg: _der.Node, body: bytes, what: str) -> bytes:
        forms = [self.form] if self.mac_verified else self.forms
        last: PasswordError | None = None
        for form in forms:
            try:
                plain = _pbe.decrypt(alg, body, form, what=what, budget=self.budget)
            except PasswordError as err:
                last = err
                continue
            if not self.mac_verified and form is not self.form:
                self.form = form
            return plain
        if self.password is None and not self.mac_verified:
            raise PasswordError(f"{what} is encrypted and no password was given",
                                source=self.source, missing=True)
        raise PasswordError(f"wrong password: {what} does not decrypt",
                            source=self.source) from last

    def _read_bags(self, data: bytes, scheme: _pbe.Scheme | None, level: int) -> None:
        if level > MAX_SAFE_NESTING:
            raise DecodeError("safe contents are nested too deeply")
        for bag in _der.Node.parse(data, what="safe contents").seq("SafeContents"):
            kids = bag.seq("SafeBag", 2, 3)
            bag_id = kids[0].oid("bag type")
            value_wrapper = kids[1]
            if value_wrapper.tag != 0xA0:
                raise DecodeError("a SafeBag's value is not tagged [0]")
            values = value_wrapper.children()
            if len(values) != 1:
                raise DecodeError("a SafeBag's [0] value must hold exactly one element")
            value = values[0]
            attributes, java_trusted = _read_attributes(kids[2] if len(kids) == 3 else None)
            self.position += 1
            if bag_id == CERT_BAG:
                self._read_cert_bag(value, attributes, java_trusted)
            elif bag_id == KEY_BAG:
                self._add_key(_der.der(value), attributes, None)
            elif bag_id == SHROUDED_KEY_BAG:
                alg, body = value.seq("EncryptedPrivateKeyInfo", 2, 2)
                key_scheme = _pbe.describe(alg)
                ciphertext = body.expect(0x04, "encrypted key").octets()
                if not self.decrypt_keys and self.mac_verified:
                    # Listing: the MAC proved the password; the key waits until it is used.
                    self.shrouded.append(_ShroudedKey(alg, ciphertext, _der.der(value),
                                                      attributes, self.position, key_scheme))
                    continue
                plain = self._decrypt(alg, ciphertext, "a shrouded private key")
                self._add_key(plain, attributes, key_scheme)
            elif bag_id == SECRET_BAG:
                self._read_secret_bag(value, attributes)
            elif bag_id == SAFE_CONTENTS_BAG:
                self._read_bags(_der.der(value), scheme, level + 1)
            else:
                name = _BAG_NAMES.get(bag_id, bag_id)
                self.notes.append(f"a {name} was skipped: certkit's model has no place for it")

    def _pair_shrouded(self) -> None:
        """Give each key left encrypted its certificate, by localKeyID, else friendlyName.

        A key no certificate names is decrypted after all (its public key is the only way
        to find its certificate).
        """
        loose = [item for item in self.certs if not item.java_trusted]
        by_key_id: dict[bytes, _CertItem] = {}
        by_name: dict[str, list[_CertItem]] = {}
        for item in loose:
            if item.attributes.local_key_id is not None:
                by_key_id.setdefault(item.attributes.local_key_id, item)
            if item.attributes.friendly_name is not None:
                by_name.setdefault(item.attributes.friendly_name, []).append(item)
        for bag in self.shrouded:
            key_id, name = bag.attributes.local_key_id, bag.attributes.friendly_name
            leaf = by_key_id.get(key_id) if key_id is not None else None
            if leaf is None and name is not None and len(by_name.get(name, [])) == 1:
                leaf = by_name[name][0]
            if leaf is not None:
                key = LockedKey(FORMAT, bag.data, self._unlocker(bag), deferred=True)
                self.keys.append(_KeyItem(key, bag.attributes, bag.position, bag.scheme, leaf))
                continue
            saved, self.position = self.position, bag.position
            try:
                plain = self._decrypt(bag.alg, bag.body, "a shrouded private key")
                self._add_key(plain, bag.attributes, bag.scheme)
            finally:
                self.position = saved
        self.keys.sort(key=lambda item: item.position)

    def _unlocker(self, bag: _ShroudedKey) -> Callable[[Any], PrivateKey]:
        """Decrypt ``bag`` later, drawing on this load's work budget."""
        budget, source, verified = self.budget, self.source, (self.password, self.form)

        def unlock(password: Any) -> PrivateKey:
            # The form the MAC verified, for the load password; each form for another.
            forms = ([verified[1]] if password == verified[0]
                     else _pbe.password_forms(password))
            for form in forms:
                try:
                    plain = _pbe.decrypt(bag.alg, bag.body, form, what="a shrouded private key",
                                         budget=budget)
                except PasswordError:
                    continue
                if _pbe.looks_like_private_key_info(plain):
                    return _parse_key(plain, source)
            raise PasswordError("wrong password: the shrouded private key does not decrypt",
                                source=source)

        return unlock

    def _read_cert_bag(self, value: _der.Node, attributes: Attributes, java_trusted: bool) -> None:
        cert_id_node, cert_value = value.seq("CertBag", 2, 2)
        cert_id = cert_id_node.oid("certificate type")
        if cert_id != X509_CERTIFICATE:
            self.notes.append(f"a certificate bag of type {cert_id} (not X.509) was skipped")
            return
        if cert_value.tag != 0xA0 or len(cert_value.children()) != 1:
            raise DecodeError("a certificate bag's value is not an [0] OCTET STRING")
        der = cert_value.children()[0].expect(0x04, "certificate").octets()
        try:
            certificate = Certificate(der)
        except DecodeError as err:
            self.opaque.append(_OpaqueItem("certificate", der, library_message(err), attributes,
                                           self.position, None))
            return
        self.certs.append(_CertItem(certificate, attributes, self.position, java_trusted))

    def _add_key(self, pkcs8: bytes, attributes: Attributes, scheme: _pbe.Scheme | None) -> None:
        unchecked = scheme is not None and not self.mac_verified
        if unchecked and not _pbe.looks_like_private_key_info(pkcs8):
            raise PasswordError("wrong password: a shrouded private key decrypts to garbage",
                                source=self.source)
        try:
            key_obj = serialization.load_der_private_key(
                pkcs8, None, unsafe_skip_rsa_key_validation=True)
        except (UnsupportedAlgorithm, ValueError, TypeError) as err:
            self._salvage_key(pkcs8, attributes, scheme, err)
            return
        self.keys.append(_KeyItem(PrivateKey(key_obj), attributes, self.position, scheme))

    def _salvage_key(self, pkcs8: bytes, attributes: Attributes, scheme: _pbe.Scheme | None,
                     err: Exception) -> None:
        """A key cryptography refused: read it past an encoding quirk, or keep it opaque."""
        try:
            shape = _pkcs8.examine(pkcs8)
        except DecodeError as bad:
            if scheme is not None and not self.mac_verified:
                raise PasswordError("wrong password: a shrouded private key decrypts to garbage",
                                    source=self.source) from bad
            raise DecodeError(f"a private key in this file is malformed: {library_message(err)}",
                              source=self.source, format=FORMAT) from err
        try:
            key_obj, quirk = read_pkcs8(pkcs8)
        except CertkitError as failed:
            self.opaque.append(_OpaqueItem("private key", pkcs8, str(failed), attributes,
                                           self.position, scheme))
            return
        if quirk:
            self.notes.append(f"the {shape.algorithm} private key in bag {self.position} was "
                              f"normalised: {quirk}")
        self.keys.append(_KeyItem(PrivateKey(key_obj), attributes, self.position, scheme))

    def _read_secret_bag(self, value: _der.Node, attributes: Attributes) -> None:
        type_node, secret_value = value.seq("SecretBag", 2, 2)
        secret_type = type_node.oid("secret type")
        if secret_value.tag != 0xA0 or len(secret_value.children()) != 1:
            raise DecodeError("a secret bag's value is not tagged [0]")
        inner = secret_value.children()[0]
        scheme: _pbe.Scheme | None = None
        if secret_type == SHROUDED_KEY_BAG:  # what the JDK writes
            blob = _der.Node.parse(inner.expect(0x04, "secret value").octets(), what="secret")
            alg, body = blob.seq("EncryptedPrivateKeyInfo", 2, 2)
            scheme = _pbe.describe(alg)
            plain = self._decrypt(alg, body.expect(0x04, "encrypted secret").octets(),
                                  "a secret key")
        elif secret_type == KEY_BAG:
            plain = inner.expect(0x04, "secret value").octets()
        else:
            self.notes.append(f"a secret bag of type {secret_type} was skipped: only Java's "
                              "secret keys (PKCS#8-wrapped) are understood")
            return
        info = _der.Node.parse(plain, what="secret key").seq("secret PrivateKeyInfo", 3, 4)
        alg_oid = info[1].seq("secret key algorithm", 1, 2)[0].oid("secret key algorithm")
        key = info[2].expect(0x04, "secret key").octets()
        self.secrets.append(_SecretItem(_SECRET_KEY_NAMES.get(alg_oid, alg_oid), key, attributes,
                                        self.position, scheme))

    # -- entries ------------------------------------------------------------------------

    def _assemble(self) -> KeyStore:
        unique: dict[bytes, _CertItem] = {}
        for item in self.certs:
            existing = unique.get(item.certificate.der)
            if existing is None or (item.java_trusted and not existing.java_trusted):
                unique[item.certificate.der] = item
        pool = [item.certificate for item in unique.values()]
        loose = [i for i in self.certs if not i.java_trusted]
        by_key_id: dict[bytes, _CertItem] = {}
        by_spki: dict[str, list[_CertItem]] = {}
        for item in loose:
            if item.attributes.local_key_id is not None:
                by_key_id.setdefault(item.attributes.local_key_id, item)
            by_spki.setdefault(item.certificate.public_key_fingerprint, []).append(item)

        loose_copies: dict[bytes, list[Attributes]] = {}
        for item in loose:  # a Java trusted bag never places a certificate in a chain
            loose_copies.setdefault(item.certificate.der, []).append(item.attributes)

        used: set[bytes] = set()
        leaf_ids: set[int] = set()
        staged: list[tuple[int, str, Entry, _pbe.Scheme | None, str]] = []
        for key in self.keys:
            leaf: _CertItem | None = None
            if key.leaf is not None:
                leaf = key.leaf
            elif key.attributes.local_key_id is not None:
                leaf = by_key_id.get(key.attributes.local_key_id)
            if leaf is None:
                candidates = by_spki.get(key.key.public_key_fingerprint, [])
                fresh = [c for c in candidates if c.certificate.der not in used]
                leaf = (fresh or candidates)[0] if candidates else None
            chain = Chain()
            cert_attributes: list[Attributes] = []
            position = key.position
            if leaf is not None:
                leaf_ids.add(id(leaf))
                chain = link_chain(leaf.certificate, pool)
                used.update(cert.der for cert in chain)
                position = min(position, leaf.position)
                # What the leaf bag carries beyond the key's name and id, and whatever the
                # other chain bags carry, is kept so that writing reproduces every bag.
                usual = Attributes(friendly_name=key.attributes.friendly_name,
                                   local_key_id=key.attributes.local_key_id)
                cert_attributes = [Attributes() if leaf.attributes == usual else leaf.attributes]
                cert_attributes += [chain_attributes(loose_copies.get(c.der, []))
                                    for c in chain.certificates[1:]]
            wanted = (key.attributes.friendly_name
                      or (leaf.attributes.friendly_name if leaf else None)
                      or (leaf.certificate.common_name if leaf else None) or "private-key")
            # unchecked: a file whose key and certificate disagree loads, flagged and noted
            entry_k = KeyEntry.unchecked("", key.key, chain, key.attributes,
                                         _created(key.attributes),
                                         certificate_attributes=cert_attributes)
            staged.append((position, wanted, entry_k, key.protection, "key"))
        staged.extend(self._opaque_entry(opaque, by_key_id, pool, used, leaf_ids)
                      for opaque in self.opaque)
        # A certificate inside a key's chain is not an entry of its own, unless the file
        # holds it again as a separate, named bag (what a writer does for a CA that is
        # both in a chain and an entry): then that copy is an entry too.
        copies: dict[bytes, int] = {}
        for item in self.certs:
            copies[item.certificate.der] = copies.get(item.certificate.der, 0) + 1
        seen: set[tuple[bytes, str | None, bool]] = set()
        for item in self.certs:
            der = item.certificate.der
            chosen = item if der in used else unique[der]
            if der in used and not item.java_trusted:
                named_copy = (copies[der] > 1 and id(item) not in leaf_ids
                              and item.attributes.friendly_name is not None
                              and not _keytool_chain_name(item))
                if not named_copy:
                    continue
            marker = (der, chosen.attributes.friendly_name if der in used else None,
                      chosen.java_trusted)
            if marker in seen:
                continue
            seen.add(marker)
            wanted = (chosen.attributes.friendly_name or item.certificate.common_name
                      or "certificate")
            entry_t = TrustedCertEntry(alias="", certificate=chosen.certificate,
                                       attributes=chosen.attributes,
                                       created=_created(chosen.attributes),
                                       trusted=chosen.java_trusted)
            staged.append((chosen.position, wanted, entry_t, None, "certificate"))
        for secret in self.secrets:
            entry_s = SecretKeyEntry(alias="", algorithm=secret.algorithm, key=secret.key,
                                     attributes=secret.attributes,
                                     created=_created(secret.attributes))
            staged.append((secret.position, secret.attributes.friendly_name or "secret-key",
                           entry_s, secret.protection, "secret key"))

        if self.opaque:
            self.notes.append(f"{len(self.opaque)} bag(s) kept as bytes certkit cannot parse "
                              "(copied unchanged into PKCS#12, JKS and JCEKS): "
                              + "; ".join(f"{o.kind}: {o.reason}" for o in self.opaque))
        staged.sort(key=lambda row: row[0])
        taken = Aliases(row[2].attributes.friendly_name for row in staged
                        if row[2].attributes.friendly_name)
        claimed: set[str] = set()
        entries: list[Entry] = []
        for _, wanted, entry, scheme, kind in staged:
            name = _alias_text(entry.attributes.friendly_name)
            if name and name not in claimed:
                alias = name
                claimed.add(name)
                taken.reserve(name)
            else:
                alias = unique_alias(_alias_text(wanted) or kind, taken)
            entries.append(attrs.evolve(entry, alias=alias))
            if scheme is not None:
                self.protection.append(Protection(f"{kind} {alias!r}", scheme.algorithm,
                                                  scheme.iterations, scheme.weak))
            elif kind in ("key", "secret key"):
                self.protection.append(Protection(f"{kind} {alias!r}", "none", None,
                                                  "stored without its own encryption"))
        return KeyStore(entries=entries, format=FORMAT, protection=self.protection,
                        notes=self.notes)


    @staticmethod
    def _opaque_entry(item: _OpaqueItem, by_key_id: dict[bytes, _CertItem],
                      pool: list[Certificate], used: set[bytes], leaf_ids: set[int],
                      ) -> tuple[int, str, Entry, _pbe.Scheme | None, str]:
        """Stage an opaque key (with the chain its localKeyID names) or certificate."""
        chain = Chain()
        wanted = item.attributes.friendly_name
        if item.kind == "private key" and item.attributes.local_key_id is not None:
            leaf = by_key_id.get(item.attributes.local_key_id)
            if leaf is not None:
                leaf_ids.add(id(leaf))
                chain = link_chain(leaf.certificate, pool)
                used.update(cert.der for cert in chain)
                wanted = wanted or leaf.attributes.friendly_name or leaf.certificate.common_name
        entry = OpaqueEntry(alias="", kind=item.kind, data=item.data, reason=item.reason,
                            chain=chain, attributes=item.attributes,
                            created=_created(item.attributes))
        kind = "key" if item.kind == "private key" else item.kind
        return (item.position, wanted or item.kind.replace(" ", "-"), entry, item.protection,
                kind)


def _parse_key(pkcs8: bytes, source: str | None) -> PrivateKey:
    """A decrypted PKCS#8 key (past an encoding quirk); :class:`DecodeError` if unreadable."""
    try:
        return PrivateKey(serialization.load_der_private_key(
            pkcs8, None, unsafe_skip_rsa_key_validation=True))
    except (UnsupportedAlgorithm, ValueError, TypeError):
        pass
    try:
        key_obj, _ = read_pkcs8(pkcs8)
    except CertkitError as err:
        raise DecodeError(f"the private key does not parse: {err}", source=source,
                          format=FORMAT) from err
    return PrivateKey(key_obj)


def _keytool_chain_name(item: _CertItem) -> bool:
    """Whether a bag is named the way Java names chain certificates: by its subject DN.

    keytool writes a CA certificate once per chain that holds it, each copy named by its
    subject; those copies are chain members, not entries of their own.
    """
    name = item.attributes.friendly_name
    if name is None:
        return False

    def canonical(text: str) -> str:
        return re.sub(r"\s*([,+=])\s*", r"\1", text).casefold()

    return canonical(name) == canonical(item.certificate.subject)


def _alias_text(name: str | None) -> str | None:
    # Windows writes some friendly names with a terminating NUL; it is not part of the name.
    return name.rstrip("\x00") if name else name


def _created(attributes: Attributes) -> _dt.datetime | None:
    key_id = attributes.local_key_id
    if key_id is None:
        return None
    match = _KEYTOOL_TIME.fullmatch(key_id)
    if match is None:
        return None
    try:  # integer milliseconds: a float would round some dates
        return _EPOCH + _dt.timedelta(milliseconds=int(match.group(1)))
    except (OverflowError, ValueError):
        return None


def _content_info(node: _der.Node, what: str) -> tuple[str, _der.Node | None]:
    kids = node.seq(f"{what} ContentInfo", 1, 2)
    ctype = kids[0].oid(f"{what} content type")
    if len(kids) == 1:
        return ctype, None
    wrapper = kids[1]
    if wrapper.tag != 0xA0:
        raise DecodeError(f"{what}: content is not tagged [0]")
    inner = wrapper.children()
    if len(inner) != 1:
        raise DecodeError(f"{what}: [0] content must hold exactly one element")
    if inner[0].tag == 0x05:  # NULL where content should be (CVE-2025-69421 test files)
        return ctype, None
    return ctype, inner[0]


def _encrypted_data(content: _der.Node) -> tuple[_der.Node, bytes]:
    kids = content.seq("EncryptedData", 2, 3)
    kids[0].integer("EncryptedData version")
    info = kids[1].seq("EncryptedContentInfo", 2, 3)
    if len(info) != 3:
        raise DecodeError("an encrypted safe has no encrypted content")
    body = info[2]
    if body.tag not in (0x80, 0xA0):
        raise DecodeError("an encrypted safe's content is not tagged [0]")
    return info[1], body.octets("encrypted content")


def _read_attributes(node: _der.Node | None) -> tuple[Attributes, bool]:
    if node is None:
        return Attributes(), False
    if node.tag != 0x31:
        raise DecodeError("bag attributes are not a SET")
    fields: dict[str, Any] = {}
    other: list[RawAttribute] = []
    java_trusted = False
    for attribute in node.children():
        type_node, values_node = attribute.seq("bag attribute", 2, 2)
        oid = type_node.oid("attribute type")
        if values_node.tag != 0x31:
            raise DecodeError(f"attribute {oid}: values are not a SET")
        values = values_node.children()
        raw = tuple(_der.der(v) for v in values)
        if oid in {FRIENDLY_NAME, MS_CSP_NAME}:
            key = "friendly_name" if oid == FRIENDLY_NAME else "csp_name"
            if len(values) != 1 or values[0].tag not in (0x1E, 0x3E):
                raise DecodeError(f"the {key.replace('_', ' ')} attribute is not one BMPString "
                                  "(OpenSSL and Java reject such files too)")
            text = _bmp_text(values[0].octets())
            if text is None or key in fields:
                other.append(RawAttribute(oid, raw))
            else:
                fields[key] = text
        elif oid == LOCAL_KEY_ID:
            if len(values) != 1 or values[0].tag not in (0x04, 0x24):
                raise DecodeError("the localKeyID attribute is not one OCTET STRING "
                                  "(OpenSSL and Java reject such files too)")
            if "local_key_id" in fields:
                other.append(RawAttribute(oid, raw))
            else:
                fields["local_key_id"] = values[0].octets()
        elif oid == JAVA_TRUSTED_USAGE_OID and all(v.tag == 0x06 for v in values) and values:
            fields["trusted_usage"] = tuple(v.oid("trusted usage") for v in values)
            java_trusted = True
        else:
            other.append(RawAttribute(oid, raw))
    return Attributes(other=tuple(other), **fields), java_trusted


def _bmp_text(body: bytes) -> str | None:
    if len(body) % 2:
        return None
    try:
        return body.decode("utf-16-be")
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------------------------------
# Writing (asn1crypto builds the structure)


# asn1crypto specs are declared as mutable class attributes by design.
# ruff: noqa: RUF012














class _CertBag(core.Sequence):  # type: ignore[misc]
    _fields = [("cert_id", core.ObjectIdentifier),
               ("cert_value", core.OctetString, {"explicit": 0})]


class _SecretBag(core.Sequence):  # type: ignore[misc]
    _fields = [("secret_type_id", core.ObjectIdentifier),
               ("secret_value", core.OctetString, {"explicit": 0})]


class _EncryptedContentInfo(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("content_type", core.ObjectIdentifier),
        ("content_encryption_algorithm", core.Any),
        ("encrypted_content", core.OctetString, {"implicit": 0}),
    ]


class _EncryptedData(core.Sequence):  # type: ignore[misc]
    _fields = [("version", core.Integer), ("encrypted_content_info", _EncryptedContentInfo)]


class _ContentInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("content_type", core.ObjectIdentifier),
               ("content", core.OctetString, {"explicit": 0})]






class _DigestInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("digest_algorithm", core.Any), ("digest", core.OctetString)]


class _MacData(core.Sequence):  # type: ignore[misc]
    _fields = [("mac", _DigestInfo), ("mac_salt", core.OctetString),
               ("iterations", core.Integer)]


class _Pfx(core.Sequence):  # type: ignore[misc]
    _fields = [("version", core.Integer), ("auth_safe", _ContentInfo),
               ("mac_data", _MacData, {"optional": True})]


def _attribute_set(attributes: Attributes) -> bytes | None:
    """Bag attributes in DER order (a SET OF is sorted by encoding)."""
    encoded: list[bytes] = []

    def add(oid: str, values: Sequence[bytes]) -> None:
        encoded.append(_der.encode(0x30, _der.encode_oid(oid)
                                + _der.encode(0x31, b"".join(sorted(values)))))

    if attributes.friendly_name is not None:
        add(FRIENDLY_NAME, [_der.encode(0x1E, attributes.friendly_name.encode("utf-16-be"))])
    if attributes.local_key_id is not None:
        add(LOCAL_KEY_ID, [_der.encode(0x04, attributes.local_key_id)])
    if attributes.csp_name is not None:
        add(MS_CSP_NAME, [_der.encode(0x1E, attributes.csp_name.encode("utf-16-be"))])
    if attributes.trusted_usage is not None:
        add(JAVA_TRUSTED_USAGE_OID, [_der.encode_oid(oid) for oid in attributes.trusted_usage])
    for raw in attributes.other:
        add(raw.oid, raw.values)
    if not encoded:
        return None
    return _der.encode(0x31, b"".join(sorted(encoded)))


def _bag(bag_id: str, value_der: bytes, attributes: Attributes) -> bytes:
    # Encoded by hand: asn1crypto may re-serialise an untyped [0] value as an empty SEQUENCE.
    attribute_set = _attribute_set(attributes)
    return _der.encode(0x30, _der.encode_oid(bag_id) + _der.encode(0xA0, value_der)
                    + (attribute_set or b""))


def _cert_bag(certificate: Certificate, attributes: Attributes) -> bytes:
    return _der_cert_bag(certificate.der, attributes)


def _der_cert_bag(der: bytes, attributes: Attributes) -> bytes:
    value = _CertBag({"cert_id": X509_CERTIFICATE, "cert_value": der}).dump()
    return _bag(CERT_BAG, value, attributes)


def _keytool_key_id(created: _dt.datetime) -> bytes:
    milliseconds = (created - _EPOCH) // _dt.timedelta(milliseconds=1)
    return f"Time {milliseconds}".encode("ascii")


@attrs.frozen
class _Settings:
    key_scheme: str
    cert_scheme: str
    mac: str
    iterations: int
    mac_iterations: int
    encrypt_keys: bool
    encrypt_certificates: bool
    write_mac: bool


def _settings(options: DumpOptions) -> _Settings:
    opts = options.take({"profile": "modern", "iterations": None, "mac_iterations": None,
                         "encrypt_certificates": True, "encrypt_keys": True, "mac": True}, FORMAT)
    profile = opts["profile"]
    if profile not in _PROFILES:
        raise UnsupportedFormatError(f"unknown PKCS#12 profile {profile!r}; choose modern, legacy "
                                     "or pbmac1", format=FORMAT)
    key_scheme, cert_scheme, mac, default_iterations = _PROFILES[profile]
    iterations = opts["iterations"] if opts["iterations"] is not None else default_iterations
    mac_iterations = opts["mac_iterations"] if opts["mac_iterations"] is not None else iterations
    for name, value in (("iterations", iterations), ("mac_iterations", mac_iterations)):
        valid = isinstance(value, int) and not isinstance(value, bool)
        if not valid or not 1 <= value <= _pbe.MAX_ITERATIONS:
            raise UnsupportedFormatError(f"{name} must be an integer from 1 to "
                                         f"{_pbe.MAX_ITERATIONS:,}, not {value!r}", format=FORMAT)
    return _Settings(key_scheme, cert_scheme, mac, iterations, mac_iterations,
                     bool(opts["encrypt_keys"]), bool(opts["encrypt_certificates"]),
                     bool(opts["mac"]))


class _Writer:
    """Collect bags from a store, then encrypt, MAC and encode them."""

    def __init__(self, store: KeyStore, options: DumpOptions) -> None:
        self.store = store
        self.settings = _settings(options)
        self.password = options.password
        self.form = _pbe.password_forms(options.password)[0]
        self.cert_bags: list[bytes] = []
        self.key_bags: list[bytes] = []
        self.lost: list[str] = []

    def write(self) -> bytes:
        self._check_password()
        used_ids: set[bytes] = set()
        for entry in self.store.entries:
            if isinstance(entry, KeyEntry):
                self._key_entry(entry, used_ids)
            elif isinstance(entry, OpaqueEntry):
                self._opaque_entry(entry, used_ids)
            elif isinstance(entry, TrustedCertEntry):
                attributes = entry.attributes.evolve(friendly_name=entry.alias)
                if entry.trusted:
                    attributes = attributes.evolve(
                        trusted_usage=entry.attributes.trusted_usage or (ANY_EXTENDED_KEY_USAGE,))
                else:
                    attributes = attributes.evolve(trusted_usage=None)
                if attributes.local_key_id is None and entry.created is not None:
                    attributes = attributes.evolve(local_key_id=_keytool_key_id(entry.created))
                self.cert_bags.append(_cert_bag(entry.certificate, attributes))
            else:
                self._secret_entry(entry, used_ids)
        safes = []
        if self.cert_bags:
            safes.append(self._safe(self.cert_bags, encrypt=self.settings.encrypt_certificates,
                                    scheme=self.settings.cert_scheme))
        if self.key_bags:
            safes.append(self._safe(self.key_bags, encrypt=False, scheme=""))
        auth_safe = _der.encode(0x30, b"".join(safes))
        pfx = _Pfx({"version": 3, "auth_safe": _ContentInfo({
            "content_type": DATA, "content": auth_safe})})
        if self.settings.write_mac:
            pfx["mac_data"] = self._mac(auth_safe)
        data: bytes = pfx.dump()
        return data

    def _opaque_entry(self, entry: OpaqueEntry, used: set[bytes]) -> None:
        """Copy an opaque key or certificate into its bags byte for byte; refuse anything else."""
        if entry.kind == "certificate":
            attributes = entry.attributes.evolve(friendly_name=entry.alias)
            self.cert_bags.append(_der_cert_bag(entry.data, attributes))
            return
        if entry.kind != "private key":
            self.lost.append(f"{opaque_label(entry)}: PKCS#12 has no bag for it")
            return
        key_id = self._key_id(entry, used)
        attributes = entry.attributes.evolve(friendly_name=entry.alias, local_key_id=key_id)
        if self.settings.encrypt_keys:
            self.key_bags.append(_bag(SHROUDED_KEY_BAG, self._shroud(entry.data), attributes))
        else:
            self.key_bags.append(_bag(KEY_BAG, entry.data, attributes))
        for index, certificate in enumerate(entry.chain):
            cert_attributes = (Attributes(friendly_name=entry.alias, local_key_id=key_id)
                               if index == 0 else Attributes())
            self.cert_bags.append(_cert_bag(certificate, cert_attributes))

    def _check_password(self) -> None:
        needs = []
        if self.settings.encrypt_keys and any(
                isinstance(e, (KeyEntry, SecretKeyEntry))
                or (isinstance(e, OpaqueEntry) and e.kind != "certificate")
                for e in self.store.entries):
            needs.append("private or secret keys")
        if self.settings.encrypt_certificates and self.store.certificates:
            needs.append("certificates")
        if self.password is None and needs:
            hint = Hint("password", output=True)
            raise PasswordError("writing a PKCS#12 file needs a password to encrypt its "
                                + " and ".join(needs) + f": pass {hint.api}",
                                missing=True).with_hint(hint)

    def _key_id(self, entry: KeyEntry | SecretKeyEntry | OpaqueEntry, used: set[bytes]) -> bytes:
        key_id = entry.attributes.local_key_id
        if key_id is None and entry.created is not None:
            key_id = _keytool_key_id(entry.created)
        if key_id is None:
            seed = (entry.key.spki if isinstance(entry, KeyEntry)
                    and isinstance(entry.key, PrivateKey) else entry.alias.encode("utf-8"))
            key_id = hashlib.sha1(seed, usedforsecurity=False).digest()
        base, counter = key_id, 2
        while key_id in used:
            key_id = base + f"-{counter}".encode()
            counter += 1
        used.add(key_id)
        return key_id

    def _key_entry(self, entry: KeyEntry, used: set[bytes]) -> None:
        if isinstance(entry.key, LockedKey):
            hint = Hint("key_passwords", alias=entry.alias)
            raise PasswordError(f"the key of entry {entry.alias!r} is still locked under its own "
                                f"password; unlock it ({hint.api}) before "
                                "writing PKCS#12", alias=entry.alias, missing=True).with_hint(hint)
        key_id = self._key_id(entry, used)
        attributes = entry.attributes.evolve(friendly_name=entry.alias, local_key_id=key_id)
        pkcs8 = entry.key.pkcs8
        if self.settings.encrypt_keys:
            self.key_bags.append(_bag(SHROUDED_KEY_BAG, self._shroud(pkcs8), attributes))
        else:
            self.key_bags.append(_bag(KEY_BAG, pkcs8, attributes))
        recorded = entry.certificate_attributes or (Attributes(),) * len(entry.chain)
        for index, (certificate, kept) in enumerate(zip(entry.chain, recorded, strict=True)):
            cert_attributes = kept
            if index == 0 and kept.is_empty:
                cert_attributes = Attributes(friendly_name=entry.alias, local_key_id=key_id)
            self.cert_bags.append(_cert_bag(certificate, cert_attributes))

    def _secret_entry(self, entry: SecretKeyEntry, used: set[bytes]) -> None:
        if isinstance(entry.key, LockedSecret) or entry.algorithm is None:
            hint = Hint("key_passwords", alias=entry.alias)
            raise PasswordError(f"the secret key {entry.alias!r} is still locked under its own "
                                f"password; unlock it ({hint.api}) before "
                                "writing PKCS#12", alias=entry.alias, missing=True).with_hint(hint)
        oid = SECRET_KEY_OIDS.get(entry.algorithm)
        if oid is None:
            if not re.fullmatch(r"[0-2](\.\d+)+", entry.algorithm):
                # A BKS "stored value" (algorithm RAW) is such a key: dropped only if allowed.
                self.lost.append(
                    f"secret key {entry.alias!r} (algorithm {entry.algorithm!r} has no PKCS#12 "
                    f"object identifier certkit knows: {', '.join(SECRET_KEY_OIDS)})")
                return
            oid = entry.algorithm
        key_id = self._key_id(entry, used)
        attributes = entry.attributes.evolve(friendly_name=entry.alias, local_key_id=key_id)
        info = _der.encode(0x30, _der.integer(0) + _der.encode(0x30, _der.encode_oid(oid))
                        + _der.encode(0x04, entry.key))
        if self.settings.encrypt_keys:
            value = _SecretBag({"secret_type_id": SHROUDED_KEY_BAG,
                                "secret_value": self._shroud(info)}).dump()
        else:
            value = _SecretBag({"secret_type_id": KEY_BAG, "secret_value": info}).dump()
        self.key_bags.append(_bag(SECRET_BAG, value, attributes))

    def _shroud(self, plain: bytes) -> bytes:
        alg, ciphertext = _pbe.encrypt(self.settings.key_scheme, plain, self.form,
                                       self.settings.iterations)
        return _der.encode(0x30, alg + _der.encode(0x04, ciphertext))

    def _safe(self, bags: list[bytes], *, encrypt: bool, scheme: str) -> bytes:
        contents = _der.encode(0x30, b"".join(bags))
        if not encrypt:
            info: bytes = _ContentInfo({"content_type": DATA, "content": contents}).dump()
            return info
        alg, ciphertext = _pbe.encrypt(scheme, contents, self.form, self.settings.iterations)
        encrypted = _EncryptedData({"version": 0, "encrypted_content_info": {
            "content_type": DATA,
            "content_encryption_algorithm": core.Any.load(alg),
            "encrypted_content": ciphertext}})
        return _der.encode(0x30, _der.encode_oid(ENCRYPTED_DATA)
                        + _der.encode(0xA0, encrypted.dump()))

    def _mac(self, auth_safe: bytes) -> Any:
        iterations = self.settings.mac_iterations
        if self.settings.mac == "pbmac1":
            salt = os.urandom(16)
            key = _pbe.pbmac1_key(self.form, salt, iterations)
            digest = hmac.new(key, auth_safe, "sha256").digest()
            algorithm = _pbe.pbmac1_params(iterations, salt)
            # RFC 9579: macSalt and iterations are ignored; write them as OpenSSL does.
            return _MacData({"mac": {"digest_algorithm": core.Any.load(algorithm),
                                     "digest": digest},
                             "mac_salt": b"NOT USED", "iterations": 1})
        digest_name = self.settings.mac
        salt = os.urandom(8 if digest_name == "sha1" else 16)
        value = _pbe.pkcs12_mac(digest_name, self.form, salt, iterations, auth_safe)
        algorithm = _der.encode(0x30, _der.encode_oid(_pbe.HASH_OIDS[digest_name]) + b"\x05\x00")
        return _MacData({"mac": {"digest_algorithm": core.Any.load(algorithm), "digest": value},
                         "mac_salt": salt, "iterations": iterations})


# ---------------------------------------------------------------------------------------


class PKCS12Codec:
    """Reads and writes PKCS#12 / PFX files; see the module documentation for the options."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Decode a PKCS#12 file into a store; raise only :class:`~certkit.errors.CertkitError`."""
        reader = _Reader(options.password, options.source, WorkBudget(options.max_work),
                         options.decrypt_keys)
        try:
            return reader.read(data)
        except CertkitError as err:
            if getattr(err, "source", None) is None and options.source is not None:
                err.source = options.source  # type: ignore[attr-defined]
            raise
        except _DATA_ERRORS as err:
            raise DecodeError(f"not a valid PKCS#12 file ({type(err).__name__}: {err})",
                              source=options.source, format=FORMAT) from err

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Encode ``store`` as PKCS#12; aliases become friendly names."""
        try:
            writer = _Writer(store, options)
            data = writer.write()
        except CertkitError:
            raise
        except _DATA_ERRORS as err:
            raise DecodeError(f"cannot encode this store as PKCS#12 ({type(err).__name__}: {err})",
                              format=FORMAT) from err
        if writer.lost and not options.allow_loss:
            raise UnrepresentableError(
                f"PKCS#12 cannot hold: {'; '.join(writer.lost)}. Choose another format or pass "
                "allow_loss=True to leave these out", format=FORMAT,
                lost=writer.lost).with_hint(Hint("allow_loss"))
        return Dumped(data, tuple(writer.lost))


#: The codec object the registry loads.
PKCS12 = PKCS12Codec()
