"""Export a key and its chain in the layout a web server expects, with its configuration lines.

Targets: ``apache`` and ``nginx`` (PEM files), ``haproxy`` (one PEM with key and chain),
``tomcat`` (a PKCS#12 or JKS keystore), ``iis`` (a .pfx) and ``kubernetes`` (a
``kubernetes.io/tls`` Secret manifest). Every target gets the leaf
and its intermediates, leaf first; the self-signed root is left out because a client
must already trust it (RFC 8446 §4.4.2 lets the server omit it, and sending it only costs
bytes) — except for IIS, whose .pfx carries the root when the input had it, because
Windows builds the chain from its own certificate stores and the import puts each
certificate in its store, as Windows' own "include all certificates in the certification
path" export does. The Kubernetes Secret carries a root it was given in ``ca.crt``, the
field kept for it, apart from the chain in ``tls.crt``.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import stat
from collections.abc import Iterable, Sequence

import attrs

from certkit._assemble import LooseCertificate, LooseKey, assemble
from certkit._model import (
    Attributes,
    Certificate,
    Chain,
    KeyEntry,
    KeyStore,
    OpaqueEntry,
    Password,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._ops import chains as _chains
from certkit._ops.api import (
    PRIVATE_MODE,
    PUBLIC_MODE,
    _Output,
    _write_set,
    dump,
    load,
    open_regular,
    read_bounded,
)
from certkit.errors import (
    AliasError,
    CertkitError,
    ChainError,
    FileExistsCertkitError,
    Hint,
    PasswordError,
    ReadError,
    UnsupportedFormatError,
)

__all__ = ["TARGETS", "ExportResult", "combine", "export", "export_chain", "select_key_entry"]

#: The export targets, in the order the documentation lists them.
TARGETS = ("apache", "nginx", "haproxy", "tomcat", "iis", "kubernetes")

_PRIVATE = PRIVATE_MODE
_PUBLIC = PUBLIC_MODE
#: Longest file-name stem taken from a certificate: the suffixes (``.fullchain.crt``) and
#: the temporary name around it must stay under the 255 bytes file systems allow.
_MAX_STEM = 100


class ExportResult(list[pathlib.Path]):
    """The files of an :func:`export` (a list of paths), with the server configuration lines.

    ``config`` is the snippet to paste into the server's configuration (also written to
    the last file of the list); ``chain`` is what was exported, leaf first; ``root_left_out``
    names the root certificate when it was known but not exported. ``unchanged`` lists
    the files that already held what the export would write and were left alone;
    ``changed`` is false when that was every file (nothing was written).
    """

    target: str
    config: str
    chain: Chain
    root_left_out: str | None
    unchanged: tuple[pathlib.Path, ...]

    def __init__(self, files: Iterable[pathlib.Path], *, target: str, config: str, chain: Chain,
                 root_left_out: str | None, unchanged: Iterable[pathlib.Path] = ()) -> None:
        super().__init__(files)
        self.target = target
        self.config = config
        self.chain = chain
        self.root_left_out = root_left_out
        self.unchanged = tuple(unchanged)

    @property
    def changed(self) -> bool:
        """Whether the export wrote any file (false when every file was already in place)."""
        return len(self.unchanged) < len(self)

    @property
    def config_lines(self) -> tuple[str, ...]:
        """The configuration snippet, line by line."""
        return tuple(self.config.splitlines())


@attrs.frozen
class _File:
    """One output file; ``keystore`` names the format of an encrypted keystore, whose bytes
    differ on every write (random salts), so an existing one is compared by content."""

    path: pathlib.Path
    data: bytes
    mode: int
    keystore: str | None = None


def combine(stores: Iterable[KeyStore]) -> KeyStore:
    """Merge stores read from separate files (``server.key``, ``server.crt``, ``chain.crt``).

    Keys are paired with the certificates they match and chains linked, leaf first, as if
    everything had been read from one file; identical certificates are kept once.
    """
    certificates: list[LooseCertificate] = []
    keys: list[LooseKey] = []
    secrets: list[SecretKeyEntry | OpaqueEntry] = []
    for store in stores:
        for entry in store.entries:
            if isinstance(entry, KeyEntry):
                keys.append(LooseKey(entry.key, entry.attributes, len(keys) + len(certificates)))
                certificates.extend(LooseCertificate(c, entry.attributes if i == 0
                                                     else Attributes())
                                    for i, c in enumerate(entry.chain))
            elif isinstance(entry, TrustedCertEntry):
                certificates.append(LooseCertificate(entry.certificate, entry.attributes,
                                                     trusted=entry.trusted))
            else:
                secrets.append(entry)
    return KeyStore(assemble(certificates, keys, secrets))


def select_key_entry(store: KeyStore, alias: str | None = None) -> KeyEntry:
    """The key entry named ``alias``, else the only one; :class:`AliasError` when ambiguous."""
    entries = store.key_entries
    if alias is not None:
        entry = store[alias]
        if not isinstance(entry, KeyEntry):
            keys = ", ".join(repr(e.alias) for e in entries) or "none"
            raise AliasError(f"entry {alias!r} holds no private key; entries with a key: {keys}",
                             alias=alias)
        return entry
    if not entries:
        raise AliasError("the input holds no private key, and a server needs the key with its "
                         "certificate: add the .key file (or use the .pfx/.p12/keystore that "
                         "has the key)")
    if len(entries) > 1:
        names = ", ".join(repr(e.alias) for e in entries)
        raise AliasError(f"the input holds {len(entries)} private keys ({names}); choose one "
                         f"with {Hint('alias').api}").with_hint(Hint("alias"))
    return entries[0]


def export_chain(
    store: KeyStore,
    alias: str | None = None,
    *,
    trust: _chains.TrustSource | None = "system",
    allow_incomplete: bool = False,
    fetch: bool = False,
    timeout: float = 10.0,
) -> tuple[KeyEntry, Chain, Certificate | None]:
    """The key entry to export, its chain (leaf first, root left out) and the root if known.

    The entry's chain is completed from the other certificates in ``store`` and then from
    ``trust`` (default: the system trust store, which knows the public roots), and with
    ``fetch`` from the caIssuers (AIA) URLs the certificates name, as
    :func:`~certkit.build_chain` does (http only, ``timeout`` seconds each). A chain
    whose top issuer is found nowhere raises :class:`ChainError` naming that issuer,
    unless ``allow_incomplete`` is true.
    """
    entry = select_key_entry(store, alias)
    leaf = entry.certificate
    if leaf is None:
        raise ChainError(f"entry {entry.alias!r} has a key but no certificate; a server needs "
                         "both: add the certificate file to the input")
    key = entry.private_key  # PasswordError naming the alias when it is still locked
    if not key.matches(leaf):
        raise ChainError(f"the key of entry {entry.alias!r} does not match its certificate "
                         f"{leaf.subject}; the server would refuse to start")
    local = [*entry.chain.certificates[1:], *store.certificates]
    built = _chains.build(leaf, local, trust=trust, fetch=fetch, timeout=timeout)
    certs = list(built.chain.certificates)
    input_ders = {c.der for c in entry.chain} | {c.der for c in store.certificates}
    root: Certificate | None = None
    if certs[-1].is_self_signed:
        if len(certs) > 1:  # a self-signed leaf is its own chain, and is kept
            root = certs.pop()
            if root.der not in input_ders:
                root = None  # found in the trust store only: the clients have it already
    elif not built.trusted and not allow_incomplete:
        # The words of chain_verdict, as inspect, doctor and check-host say them.
        verdict = _chains.chain_verdict(built.chain, trust=trust, pool=local)
        missing = verdict.missing_issuer or verdict.root or certs[-1].issuer
        raise ChainError(
            f"the chain of {entry.alias!r} cannot be exported complete: {verdict.message}. "
            f"To fix: {verdict.fix or 'add the missing certificate to the input'}; or pass "
            f"{Hint('allow_incomplete').api} to export the chain as it is",
            strays=[missing],
        ).with_hint(Hint("allow_incomplete"))
    elif built.trusted and len(certs) > 1 and certs[-1].der not in input_ders:
        # build() ended at a trusted certificate that is not self-signed (a trust store
        # holding an intermediate, or a cross-signed root): keep it only if it was input.
        certs.pop()
    return entry, Chain(certs), root


def _bounded(stem: str) -> str:
    """``stem`` cut to :data:`_MAX_STEM` UTF-8 bytes, a digest of the whole keeping it apart."""
    encoded = stem.encode("utf-8")
    if len(encoded) <= _MAX_STEM:
        return stem
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    return encoded[: _MAX_STEM - 9].decode("utf-8", "ignore") + "-" + digest


def _base_name(entry: KeyEntry) -> str:
    leaf = entry.certificate
    name = (leaf.common_name if leaf is not None else None) or entry.alias or "server"
    name = name.replace("*", "wildcard")
    return _bounded(re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "server")


def _pem(certs: Sequence[Certificate]) -> bytes:
    return b"".join(c.to_pem() for c in certs)


def _path_text(path: pathlib.Path) -> str:
    return str(path.resolve())


def _apache(base: pathlib.Path, entry: KeyEntry, chain: Chain) -> tuple[list[_File], str]:
    key = base.with_name(base.name + ".key")
    crt = base.with_name(base.name + ".crt")
    chain_file = base.with_name(base.name + ".chain.crt")
    full = base.with_name(base.name + ".fullchain.crt")
    files = [_File(key, entry.private_key.to_pem(), _PRIVATE),
             _File(crt, _pem(chain[:1]), _PUBLIC)]
    if len(chain) > 1:
        files.append(_File(chain_file, _pem(chain[1:]), _PUBLIC))
    files.append(_File(full, _pem(chain.certificates), _PUBLIC))
    old = [f"# SSLCertificateFile      {_path_text(crt)}",
           f"# SSLCertificateKeyFile   {_path_text(key)}"]
    if len(chain) > 1:
        old.append(f"# SSLCertificateChainFile {_path_text(chain_file)}")
    config = "\n".join([
        ("# Apache httpd 2.4.8 and later (inside <VirtualHost *:443>): the chain goes in "
        "SSLCertificateFile"),
        "SSLEngine on",
        f"SSLCertificateFile {_path_text(full)}",
        f"SSLCertificateKeyFile {_path_text(key)}",
        "# Apache httpd before 2.4.8 needs the chain in its own file instead:",
        *old,
    ]) + "\n"
    return files, config


def _nginx(base: pathlib.Path, entry: KeyEntry, chain: Chain) -> tuple[list[_File], str]:
    key = base.with_name(base.name + ".key")
    full = base.with_name(base.name + ".fullchain.pem")
    files = [_File(key, entry.private_key.to_pem(), _PRIVATE),
             _File(full, _pem(chain.certificates), _PUBLIC)]
    config = "\n".join([
        ("# nginx (inside server { listen 443 ssl; … }): the certificate file holds the chain, "
        "leaf first"),
        f"ssl_certificate {_path_text(full)};",
        f"ssl_certificate_key {_path_text(key)};",
    ]) + "\n"
    return files, config


def _haproxy(base: pathlib.Path, entry: KeyEntry, chain: Chain) -> tuple[list[_File], str]:
    pem = base.with_name(base.name + ".pem")
    data = _pem(chain.certificates) + entry.private_key.to_pem()
    config = "\n".join([
        "# HAProxy (in a frontend section): one file with the certificate, its chain and the key",
        f"bind :443 ssl crt {_path_text(pem)}",
    ]) + "\n"
    return [_File(pem, data, _PRIVATE)], config


def _xml_attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _tomcat(base: pathlib.Path, entry: KeyEntry, chain: Chain, *, password: Password,
            keystore_type: str, profile: str) -> tuple[list[_File], str]:
    if keystore_type not in ("pkcs12", "jks"):
        raise UnsupportedFormatError(f"unknown Tomcat keystore type {keystore_type!r}; choose "
                                     "pkcs12 or jks", format=keystore_type)
    if password is None:
        hint = Hint("password", output=True)
        raise PasswordError(f"a Tomcat keystore needs a password ({hint.api})",
                            missing=True).with_hint(hint)
    store = KeyStore([attrs.evolve(entry, chain=chain)])
    if keystore_type == "pkcs12":
        path = base.with_name(base.name + ".p12")
        data = dump(store, "pkcs12", password=password, profile=profile)
        java_type = "PKCS12"
    else:
        path = base.with_name(base.name + ".jks")
        data = dump(store, "jks", password=password, key_password=password)
        java_type = "JKS"
    alias = entry.alias.lower() if keystore_type == "jks" else entry.alias
    prop = f"certkit.{base.name}.password"
    config = "\n".join([
        ("<!-- Tomcat 8.5+ conf/server.xml; the password comes from the Java system property "
        f"{prop} (set it in conf/catalina.properties, mode 0600, or type it here) -->"),
        '<Connector port="8443" protocol="org.apache.coyote.http11.Http11NioProtocol"',
        '           SSLEnabled="true" maxThreads="150">',
        "    <SSLHostConfig>",
        f'        <Certificate certificateKeystoreFile="{_xml_attr(_path_text(path))}"',
        f'                     certificateKeystorePassword="${{{prop}}}"',
        f'                     certificateKeyAlias="{_xml_attr(alias)}"',
        f'                     certificateKeystoreType="{java_type}"',
        '                     type="RSA" />' if entry.private_key.algorithm.startswith("RSA")
        else '                     type="EC" />',
        "    </SSLHostConfig>",
        "</Connector>",
    ]) + "\n"
    return [_File(path, data, _PRIVATE, keystore_type)], config


def _iis(base: pathlib.Path, entry: KeyEntry, chain: Chain, *, root: Certificate | None,
         password: Password, profile: str) -> tuple[list[_File], str]:
    if password is None:
        hint = Hint("password", output=True)
        raise PasswordError(f"a .pfx for IIS needs a password ({hint.api})",
                            missing=True).with_hint(hint)
    if profile not in ("modern", "legacy"):
        raise UnsupportedFormatError(f"IIS reads the 'modern' (Windows Server 2019+) or "
                                     f"'legacy' (older Windows) profile, not {profile!r}",
                                     format="pkcs12")
    full = Chain([*chain.certificates, *([root] if root is not None else [])])
    path = base.with_name(base.name + ".pfx")
    data = dump(KeyStore([attrs.evolve(entry, chain=full)]), "pkcs12", password=password,
                profile=profile)
    windows = ("Windows Server 2019 or later" if profile == "modern"
               else "any Windows, including Server 2016 and older")
    config = "\n".join([
        f"# IIS ({windows}): import the .pfx into the machine store, then bind it",
        "$pw = Read-Host -AsSecureString -Prompt 'PFX password'",
        (f"Import-PfxCertificate -FilePath '{path.name}' "
        "-CertStoreLocation Cert:\\LocalMachine\\My -Password $pw"),
        ("# IIS Manager: Site > Bindings > https > SSL certificate: "
        f"{entry.certificate.subject if entry.certificate else entry.alias}"),
        f"# (thumbprint {chain[0].fingerprint('sha1').upper()})",
    ]) + "\n"
    return [_File(path, data, _PRIVATE, "pkcs12")], config


def _kubernetes(base: pathlib.Path, entry: KeyEntry, chain: Chain, *, root: Certificate | None,
                name: str | None) -> tuple[list[_File], str]:
    from certkit.formats._kubenames import secret_name  # noqa: PLC0415 - only this target

    leaf = chain[0]
    secret = secret_name(name or leaf.common_name or entry.alias)
    full = Chain([*chain.certificates, *([root] if root is not None else [])])
    path = base.with_name(base.name + ".secret.yaml")
    data = dump(KeyStore([attrs.evolve(entry, chain=full)]), "kubernetes", name=secret)
    # An Ingress names DNS hosts only: no IP addresses, e-mail or URI names.
    dns = [n for n in leaf.san if re.fullmatch(r"[A-Za-z0-9*][A-Za-z0-9*.-]*", n)
           and not re.fullmatch(r"[0-9.]+", n)]
    hosts = ", ".join(dns) or leaf.common_name or secret
    config = "\n".join([
        ("# Kubernetes: create or update the Secret in the current namespace (add -n NAMESPACE "
         "for another)"),
        f"kubectl apply -f {_path_text(path)}",
        *([f"# (ca.crt holds the root {root.subject}; tls.crt the chain the server sends)"]
          if root is not None else []),
        "# then name it in an Ingress (networking.k8s.io/v1), under spec:",
        "#   tls:",
        f"#   - hosts: [{hosts}]",
        f"#     secretName: {secret}",
    ]) + "\n"
    return [_File(path, data, _PRIVATE)], config


def _read_existing(path: pathlib.Path, limit: int) -> bytes | None:
    """The bytes of the regular file ``path`` if it holds at most ``limit`` of them, else None."""
    try:
        with open_regular(path) as handle:
            return read_bounded(handle, limit, name=str(path))
    except CertkitError:  # not a regular file, unreadable, or larger than ``limit``
        return None


def _comparable(store: KeyStore) -> tuple[object, ...]:
    """What two loads of a keystore must share to hold the same thing, however encrypted.

    The entries (keys, certificates, aliases, attributes) without their creation dates (a
    JKS stamps each write with the time), the format, and how each part is protected (a
    change of profile, say legacy to modern, is a change even if the content is the same).
    """
    entries = tuple(attrs.evolve(e, created=None) if getattr(e, "created", None) is not None
                    else e for e in store.entries)
    return entries, store.format, store.protection


def _same_keystore(existing: bytes, file: _File, password: Password) -> bool:
    """Whether ``existing`` opens with ``password`` and holds what ``file.data`` holds."""
    try:
        old = load(existing, password=password, format=file.keystore)
        new = load(file.data, password=password, format=file.keystore)
    except CertkitError:  # another password, another format, damaged: not the same
        return False
    return _comparable(old) == _comparable(new)


def _in_place(file: _File, password: Password) -> bool | None:
    """Whether ``file`` already exists with the content an export would give it.

    None: the file does not exist. True: it holds the same bytes (for an encrypted
    keystore, the same entries under the same password and protection) and, for a file
    with a private key, no permission for group or others, so leaving it is the same as
    writing it. False: anything else exists there.
    """
    try:
        info = file.path.lstat()
    except OSError:  # missing, or its folder cannot be looked into: writing will tell
        return None
    if not stat.S_ISREG(info.st_mode):
        return False  # a symbolic link or anything else is not what an export writes
    if file.mode == _PRIVATE and stat.S_IMODE(info.st_mode) & 0o077:
        return False  # the content may match, the protection a key needs does not
    if file.keystore is None:
        existing = _read_existing(file.path, len(file.data))
        return existing == file.data
    existing = _read_existing(file.path, max(4 * len(file.data), 1 << 20))
    return existing is not None and _same_keystore(existing, file, password)


def _pending(files: Sequence[_File], *, password: Password,
             overwrite: bool) -> tuple[list[_File], list[pathlib.Path]]:
    """Split ``files`` into those to write and those already in place (left alone).

    A file that exists with other content is to be written with ``overwrite``, else it
    raises :class:`FileExistsCertkitError`, as before any file is written.
    """
    write: list[_File] = []
    keep: list[pathlib.Path] = []
    for file in files:
        state = _in_place(file, password)
        if state:
            keep.append(file.path)
            continue
        if state is False and not overwrite:
            raise FileExistsCertkitError(str(file.path))
        write.append(file)
    return write, keep


def export(
    store: KeyStore,
    target: str,
    directory: str | os.PathLike[str],
    *,
    password: Password = None,
    alias: str | None = None,
    allow_incomplete: bool = False,
    overwrite: bool = False,
    profile: str = "modern",
    keystore_type: str = "pkcs12",
    name: str | None = None,
    trust: _chains.TrustSource | None = "system",
    fetch: bool = False,
    timeout: float = 10.0,
) -> ExportResult:
    """Write one key entry of ``store`` in ``target``'s layout into ``directory``; return the paths.

    The result is a list of the files written (an :class:`ExportResult`, whose ``config``
    holds the lines to paste into the server's configuration; they are also written to a
    ``<name>.<target>.…`` file, the list's last element). File names start with ``name``
    (default: the leaf's common name); so does the Kubernetes Secret's name, made a valid
    one (lower case; :func:`certkit.formats.kubernetes.secret_name`). The chain is leaf
    first and complete up to the root, which is left out except for IIS and a Kubernetes
    Secret's ``ca.crt`` (see the module's documentation); an
    incomplete chain raises :class:`~certkit.errors.ChainError` naming the missing
    issuer unless ``allow_incomplete``. ``password`` protects the Tomcat keystore and the
    IIS .pfx (required for them, unused for the PEM targets, whose key files are
    unencrypted so the server can start unattended, and mode 0600; public files follow
    the umask). Every file is written or none is (a full disk leaves no key without its
    certificate); nothing is overwritten unless ``overwrite``, but a file that already
    holds what would be written is left alone and listed in ``result.unchanged`` (an
    encrypted keystore counts when it opens with ``password`` and holds the same entries
    with the same protection; a key file also needs mode 0600 or stricter), so a second
    export of the same input writes nothing and ``result.changed`` is false; the
    directory is created if needed; a name longer than 100 bytes is shortened (a digest
    of it kept). ``fetch`` downloads missing intermediates from the caIssuers (AIA) URLs,
    as :func:`~certkit.build_chain` does.
    """
    if target not in TARGETS:
        raise UnsupportedFormatError(f"unknown export target {target!r}; choose one of "
                                     f"{', '.join(TARGETS)}", format=target)
    entry, chain, root = export_chain(store, alias, trust=trust,
                                      allow_incomplete=allow_incomplete, fetch=fetch,
                                      timeout=timeout)
    folder = pathlib.Path(directory)
    base = folder / (_bounded(name) if name else _base_name(entry))
    if target == "apache":
        files, config = _apache(base, entry, chain)
        snippet = ".apache.conf"
    elif target == "nginx":
        files, config = _nginx(base, entry, chain)
        snippet = ".nginx.conf"
    elif target == "haproxy":
        files, config = _haproxy(base, entry, chain)
        snippet = ".haproxy.cfg"
    elif target == "tomcat":
        files, config = _tomcat(base, entry, chain, password=password,
                                keystore_type=keystore_type, profile=profile)
        snippet = ".tomcat.xml"
    elif target == "iis":
        files, config = _iis(base, entry, chain, root=root, password=password,
                             profile=profile)
        snippet = ".iis.txt"
    else:
        files, config = _kubernetes(base, entry, chain, root=root, name=name)
        snippet = ".kubernetes.txt"
    files.append(_File(base.with_name(base.name + snippet), config.encode("utf-8"), _PUBLIC))
    try:
        # Files already holding what would be written are left alone, so a second export
        # of the same input writes nothing and says so (what configuration tools need).
        pending, unchanged = _pending(files, password=password, overwrite=overwrite)
        if pending:
            folder.mkdir(parents=True, exist_ok=True)
            # A key without its certificate (or the reverse) is worse than nothing: all or none.
            _write_set([_Output(f.path, f.data, f.mode) for f in pending], overwrite=overwrite)
    except FileExistsCertkitError:
        raise
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        raise ReadError(f"cannot write into {folder}{where}: {err.strerror or err}; nothing "
                        "was exported", path=str(folder)) from err
    return ExportResult([f.path for f in files], target=target, config=config, chain=chain,
                        root_left_out=(root.subject if root is not None
                                       and target not in ("iis", "kubernetes") else None),
                        unchanged=unchanged)
