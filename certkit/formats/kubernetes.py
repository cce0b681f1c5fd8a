"""Kubernetes TLS secrets: a ``kubernetes.io/tls`` Secret manifest, in YAML or JSON.

Reading takes what ``kubectl`` writes and what people keep in their repositories: one
Secret (``kubectl get secret NAME -o yaml`` or ``-o json``, ``kubectl create secret tls
… --dry-run=client -o yaml``), a ``kind: List`` of them (``kubectl get secrets -o yaml``),
several YAML documents separated by ``---``, and ``stringData`` (PEM text in the clear)
as well as ``data`` (base64). Each Secret is read on its own: its ``tls.key`` pairs with
the leaf of its ``tls.crt`` into a key entry named after the Secret, its ``ca.crt`` links
into that chain (or stays a trusted certificate); Secrets of other kinds and other objects
in a List are skipped with a note on the store.

The YAML is parsed with PyYAML's safe loader (imported on first use), after a pass over
its events that refuses aliases, so a "billion laughs" document cannot expand; libyaml
bounds nesting, and the text is bounded in size before either runs.

Writing produces one Secret (or a ``kind: List`` of them, one per key entry): ``tls.crt``
is the chain leaf first without its self-signed root, ``tls.key`` the unencrypted PKCS#8
key (what ``kubectl create secret tls`` and ingress controllers read), ``ca.crt`` the
root when the chain has one. The structure is fixed, so it is written without a YAML
library.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from certkit._assemble import Aliases, LooseCertificate, LooseKey, assemble
from certkit._model import (
    Certificate,
    Entry,
    KeyEntry,
    KeyStore,
    LockedKey,
    OpaqueEntry,
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
)
from certkit.formats._base import Dumped, DumpOptions, LoadOptions
from certkit.formats._kubenames import secret_name
from certkit.formats.pem import PEM

__all__ = ["KUBERNETES", "MAX_MANIFEST", "secret_name"]

#: Largest manifest read. The API server keeps each Secret under 1 MiB; a List from a big
#: namespace holds many, and the pure-Python YAML parser (when libyaml is missing) must
#: still finish in seconds.
MAX_MANIFEST = 16 * 1024 * 1024
_TLS_TYPE = "kubernetes.io/tls"
_FIELDS = ("tls.crt", "tls.key", "ca.crt")
_LIST_KINDS = ("List", "SecretList")


def _text(data: bytes, source: str | None) -> str:
    if len(data) > MAX_MANIFEST:
        raise DecodeError(f"the manifest is {len(data)} bytes, more than the {MAX_MANIFEST} a "
                          "Kubernetes Secret list is read up to; split it (one Secret per file)",
                          source=source, format="kubernetes")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell's `>` writes UTF-16
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DecodeError(f"the manifest is not UTF-8 text ({err.reason} at byte {err.start})",
                          source=source, format="kubernetes", offset=err.start) from err


def _yaml_documents(text: str, source: str | None) -> list[Any]:
    import yaml  # noqa: PLC0415 - only manifests need the YAML parser (start-up time)

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                # kubectl never writes aliases; refusing them makes an exponential
                # expansion ("billion laughs") impossible whatever is done with the result.
                mark = event.start_mark
                where = f" (line {mark.line + 1})" if mark is not None else ""
                raise DecodeError(f"the YAML uses an alias (*{event.anchor}){where}; a "
                                  "Kubernetes manifest has none, and aliases are refused so "
                                  "that a document cannot expand without bound",
                                  source=source, format="kubernetes")
        return list(yaml.load_all(text, Loader=loader))
    except RecursionError as err:  # the pure-Python parser, without libyaml's nesting bound
        raise DecodeError("the YAML is nested too deeply for a Kubernetes manifest",
                          source=source, format="kubernetes") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(err, "problem", None) or str(err).splitlines()[0])
        if len(problem) > 60:  # a tag quotes the value, which may be a key
            problem = problem[:60] + "…"
        raise DecodeError(f"not valid YAML{where}: {problem}", source=source,
                          format="kubernetes") from err


def _documents(text: str, source: str | None) -> list[Any]:
    # JSON as kubectl writes it; `{apiVersion: v1, …}` is YAML's flow style, read as YAML.
    if re.match(r'\s*\{\s*"', text):
        try:
            return [json.loads(text)]
        except (ValueError, RecursionError) as err:
            raise DecodeError(f"not valid JSON: {err}", source=source,
                              format="kubernetes") from err
    return _yaml_documents(text, source)


@attrs.frozen
class _Secret:
    name: str
    namespace: str | None
    type: str
    fields: Mapping[str, bytes]


def _field_bytes(secret: str, field: str, value: object, *, encoded: bool,
                 source: str | None) -> bytes:
    where = "data" if encoded else "stringData"
    if not isinstance(value, str):
        raise DecodeError(f"secret {secret!r}: {where}.{field} is not a string",
                          source=source, format="kubernetes")
    if not encoded:
        return value.encode("utf-8")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise DecodeError(f"secret {secret!r}: data.{field} is not valid base64 ({err})",
                          source=source, format="kubernetes") from err


def _secret(obj: Mapping[str, Any], index: int, source: str | None) -> _Secret:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    name = str(metadata.get("name") or f"secret-{index}")
    namespace = metadata.get("namespace")
    fields: dict[str, bytes] = {}
    for key, encoded in (("data", True), ("stringData", False)):
        # The API server lets stringData win over data for the same key; so does certkit.
        section = obj.get(key)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise DecodeError(f"secret {name!r}: {key} is not a mapping of names to values",
                              source=source, format="kubernetes")
        for field in _FIELDS:
            if field in section and section[field] is not None:
                fields[field] = _field_bytes(name, field, section[field], encoded=encoded,
                                             source=source)
    return _Secret(name, str(namespace) if namespace is not None else None,
                   str(obj.get("type") or "Opaque"), fields)


def _objects(documents: list[Any], notes: list[str]) -> Iterator[Mapping[str, Any]]:
    """Every Secret in the documents, Lists opened one level; other objects noted."""
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, Mapping):
            notes.append(f"skipped a YAML document that is a {type(document).__name__}, "
                         "not a Kubernetes object")
            continue
        kind = document.get("kind")
        items = document.get("items")
        if kind in _LIST_KINDS and isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping) and item.get("kind", "Secret") == "Secret":
                    yield item
                else:
                    what = item.get("kind") if isinstance(item, Mapping) else None
                    notes.append(f"skipped a {what or 'non-object'} in the List (not a Secret)")
        elif kind == "Secret":
            yield document
        else:
            notes.append(f"skipped a {kind or 'document without a kind'} (not a Secret)")


def _loose(secret: _Secret, options: LoadOptions) -> tuple[list[LooseCertificate],
                                                           list[LooseKey], set[bytes], list[str]]:
    """The certificates and keys of one Secret's fields, read as the PEM they must be."""
    certs: list[LooseCertificate] = []
    keys: list[LooseKey] = []
    from_ca: set[bytes] = set()
    notes: list[str] = []
    for field in _FIELDS:
        if field not in secret.fields:
            continue
        if field == "tls.key" and b"ENCRYPTED" in secret.fields[field]:
            # Kubernetes hands tls.key to the server as it is, and no Ingress controller
            # asks for a password; not deriving keys also keeps a List of many cheap.
            raise DecodeError(f"secret {secret.name!r}: tls.key is encrypted, and Kubernetes "
                              "needs it unencrypted; re-create the Secret from the key "
                              "decrypted (certkit convert KEY --to pem writes it so)",
                              source=options.source, format="kubernetes")
        inner = LoadOptions(source=options.source, max_work=options.max_work,
                            decrypt_keys=options.decrypt_keys)
        try:
            store = PEM.load(secret.fields[field], inner)
        except CertkitError as err:
            detail = str(err).removeprefix(f"{options.source}: ")
            raise DecodeError(f"secret {secret.name!r}, {field}: {detail}",
                              source=options.source, format="kubernetes") from err
        notes.extend(f"secret {secret.name!r}, {field}: {note}" for note in store.notes)
        for entry in store.entries:
            if isinstance(entry, KeyEntry):
                keys.append(LooseKey(entry.key, position=len(certs) + len(keys)))
                certs.extend(LooseCertificate(c, position=len(certs) + len(keys))
                             for c in entry.chain)
            elif isinstance(entry, TrustedCertEntry):
                certs.append(LooseCertificate(entry.certificate, position=len(certs) + len(keys)))
                if field == "ca.crt":
                    from_ca.add(entry.certificate.der)
    return certs, keys, from_ca, notes


class KubernetesCodec:
    """Reads and writes Kubernetes ``kubernetes.io/tls`` Secret manifests."""

    def load(self, data: bytes, options: LoadOptions) -> KeyStore:
        """Read every Secret with a ``tls.crt``, ``tls.key`` or ``ca.crt`` into entries."""
        source = options.source
        notes: list[str] = []
        objects = list(_objects(_documents(_text(data, source), source), notes))
        names = Aliases()
        entries: list[Entry] = []
        for index, obj in enumerate(objects, 1):
            try:
                secret = _secret(obj, index, source)
                if not secret.fields:
                    notes.append(f"skipped secret {secret.name!r} (type {secret.type}): it "
                                 "holds no tls.crt, tls.key or ca.crt")
                    continue
                certs, keys, from_ca, field_notes = _loose(secret, options)
            except DecodeError as err:
                if len(objects) == 1:
                    raise
                # One broken Secret does not hide the others of a List; the note names it.
                notes.append("skipped " + str(err).removeprefix(f"{source}: "))
                continue
            notes.extend(field_notes)
            base = secret.name
            if base in names and secret.namespace:
                base = f"{secret.namespace}/{secret.name}"
            for entry in assemble(certs, keys):
                cert = entry.certificate if isinstance(entry, TrustedCertEntry) else None
                wanted = f"{base}-ca" if cert is not None and cert.der in from_ca else base
                entries.append(attrs.evolve(entry, alias=names.claim(wanted)))
        if not entries:
            seen = "; ".join(notes) or "the document is empty"
            raise DecodeError("not a Kubernetes TLS secret: no Secret with tls.crt, tls.key "
                              f"or ca.crt was found ({seen})", source=source,
                              format="kubernetes")
        return KeyStore(entries=entries, format="kubernetes", notes=tuple(notes))

    def dump(self, store: KeyStore, options: DumpOptions) -> Dumped:
        """Write one Secret per key entry (a ``kind: List`` when there are several)."""
        opts = options.take({"name": None, "namespace": None}, "kubernetes")
        if options.password is not None:
            raise UnsupportedFormatError(
                "a Kubernetes TLS secret holds its key unencrypted (kubectl and ingress "
                "controllers cannot read an encrypted tls.key); leave out the output password "
                "and protect the Secret with RBAC and encryption at rest", format="kubernetes")
        key_entries: list[KeyEntry] = []
        dropped: list[str] = []
        not_kept: set[str] = set()
        for entry in store.entries:
            if isinstance(entry, KeyEntry) and entry.chain:
                key_entries.append(entry)
            elif isinstance(entry, KeyEntry):
                dropped.append(f"private key {entry.alias!r} (it has no certificate)")
            elif isinstance(entry, TrustedCertEntry):
                dropped.append(f"trusted certificate {entry.alias!r}")
            elif isinstance(entry, SecretKeyEntry):
                dropped.append(f"secret key {entry.alias!r}")
            elif isinstance(entry, OpaqueEntry):
                dropped.append(opaque_label(entry))
            if entry.created is not None:
                not_kept.add("entry creation dates")
            if not entry.attributes.is_empty:
                not_kept.add("bag attributes")
        if store.requests:
            dropped.append(f"{len(store.requests)} certificate request(s)")
        if not key_entries:
            raise UnrepresentableError(
                "a Kubernetes TLS secret needs a private key with its certificate, and the "
                "store has none" + (f" (it holds: {'; '.join(dropped)})" if dropped else ""),
                format="kubernetes", lost=dropped)
        if dropped and not options.allow_loss:
            raise UnrepresentableError(
                "a Kubernetes TLS secret cannot hold: " + "; ".join(dropped)
                + " (pass allow_loss=True to leave it out)",
                format="kubernetes", lost=dropped).with_hint(Hint("allow_loss"))
        if opts["name"] is not None and len(key_entries) > 1:
            raise UnsupportedFormatError(
                f"name= names one Secret, and the store has {len(key_entries)} key entries; "
                "leave it out (each Secret is named after its alias) or pick one entry",
                format="kubernetes")
        namespace = opts["namespace"]
        taken = Aliases()
        secrets = []
        for entry in key_entries:
            name = taken.claim(secret_name(str(opts["name"] or entry.alias)))
            if name != entry.alias:
                not_kept.add("aliases that are not valid Secret names (each Secret is named "
                             "after its alias, made lower case with - for other characters)")
            secrets.append(_manifest(entry, name, None if namespace is None else str(namespace)))
        if len(secrets) == 1:
            text = secrets[0]
        else:
            items = "".join("- " + "\n  ".join(s.rstrip("\n").split("\n")) + "\n"
                            for s in secrets)
            text = "apiVersion: v1\nkind: List\nitems:\n" + items
        return Dumped(text.encode("ascii"), tuple(dropped), tuple(sorted(not_kept)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _manifest(entry: KeyEntry, name: str, namespace: str | None) -> str:
    """One Secret, in the field order and form ``kubectl create secret tls -o yaml`` uses."""
    if isinstance(entry.key, LockedKey):
        hint = Hint("key_passwords", alias=entry.alias)
        raise PasswordError(f"the key of entry {entry.alias!r} is still locked; load the store "
                            f"with {hint.api} to write it into a Secret",
                            alias=entry.alias, missing=True).with_hint(hint)
    chain: list[Certificate] = list(entry.chain)
    root = chain.pop() if len(chain) > 1 and chain[-1].is_self_signed else None
    lines = ["apiVersion: v1", "data:"]
    if root is not None:
        lines.append(f"  ca.crt: {_b64(root.to_pem())}")
    lines += [f"  tls.crt: {_b64(b''.join(c.to_pem() for c in chain))}",
              f"  tls.key: {_b64(entry.private_key.to_pem())}"]
    # Names are quoted: a plain `name: true` or `name: 0123` would be read as another type.
    lines += ["kind: Secret", "metadata:", f"  name: {json.dumps(name)}"]
    if namespace is not None:
        lines.append(f"  namespace: {json.dumps(namespace)}")
    lines.append(f"type: {_TLS_TYPE}")
    return "\n".join(lines) + "\n"


KUBERNETES = KubernetesCodec()
