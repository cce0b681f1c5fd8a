"""Kubernetes TLS secrets: export, kubectl's own reading of them, loading kubectl's output."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import stat
import time
from typing import Any

import pytest
import yaml
from conftest import PKI, certkit_cli, openssl, require_tool, run
from cryptography.hazmat.primitives import serialization

import certkit
from certkit import KeyEntry, KeyStore, TrustedCertEntry, formats
from certkit._ops.export import export
from certkit.errors import (
    DecodeError,
    FileExistsCertkitError,
    UnrepresentableError,
    UnsupportedFormatError,
)
from certkit.formats.kubernetes import MAX_MANIFEST, secret_name

PFX_PASSWORD = "k8s-test"


def _spki(key: certkit.PrivateKey) -> bytes:
    return key.key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def _manifest(path: pathlib.Path) -> dict[str, Any]:
    """The manifest as a YAML parser other than certkit's codec reads it."""
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _field(manifest: dict[str, Any], name: str) -> bytes:
    return base64.b64decode(manifest["data"][name])


def _kubectl(*args: str | os.PathLike[str], home: pathlib.Path, check: bool = True) -> Any:
    """Run kubectl with no cluster: an empty home and no kubeconfig."""
    home.mkdir(exist_ok=True)
    saved = dict(os.environ)
    os.environ.update(HOME=str(home), KUBECONFIG=os.devnull)
    try:
        return run([require_tool("kubectl"), *args], check=check)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _fingerprint(pem: bytes) -> str:
    """The SHA-256 fingerprint as openssl prints it."""
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", input=pem).stdout.decode()
    return out.strip().split("=", 1)[1]


def _pem_blocks(text: bytes) -> list[bytes]:
    marker = b"-----END CERTIFICATE-----\n"
    return [block + marker for block in text.split(marker) if block.strip()]


@pytest.fixture(scope="module")
def sources(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The leaf's key, its certificates, and a PFX built from them by openssl."""
    folder = tmp_path_factory.mktemp("k8s-src")
    (folder / "leaf.crt").write_bytes(pki.leaf.certificate.to_pem())
    (folder / "inter.crt").write_bytes(pki.intermediate.certificate.to_pem())
    (folder / "root.crt").write_bytes(pki.root.certificate.to_pem())
    (folder / "leaf.key").write_bytes(pki.leaf.key.to_pem())
    (folder / "cas.crt").write_bytes(pki.intermediate.certificate.to_pem()
                                     + pki.root.certificate.to_pem())
    openssl("pkcs12", "-export", "-in", folder / "leaf.crt", "-inkey", folder / "leaf.key",
            "-certfile", folder / "cas.crt", "-passout", f"pass:{PFX_PASSWORD}",
            "-out", folder / "site.pfx")
    return folder


@pytest.fixture(scope="module")
def exported(sources: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """``certkit export --for kubernetes`` of the PFX, through the command line."""
    out = tmp_path_factory.mktemp("k8s-out")
    result = certkit_cli(["export", "--for", "kubernetes", str(sources / "site.pfx"),
                          "--out-dir", str(out), "--password-env", "PFX_PASS"],
                         cwd=out, env={"PFX_PASS": PFX_PASSWORD})
    assert result.returncode == 0, result.stderr
    return out / "localhost.secret.yaml"


@pytest.fixture(scope="module")
def kubectl_secret(sources: pathlib.Path, tmp_path_factory: pytest.TempPathFactory,
                   ) -> pathlib.Path:
    """What ``kubectl create secret tls --dry-run=client`` makes of the PEM files, as YAML."""
    folder = tmp_path_factory.mktemp("kubectl")
    (folder / "tls.crt").write_bytes((sources / "leaf.crt").read_bytes()
                                     + (sources / "inter.crt").read_bytes())
    result = _kubectl("create", "secret", "tls", "web", "--cert", folder / "tls.crt",
                      "--key", sources / "leaf.key", "--dry-run=client", "-o", "yaml",
                      home=folder / "home")
    (folder / "web.yaml").write_bytes(result.stdout)
    result = _kubectl("create", "secret", "tls", "web", "--cert", folder / "tls.crt",
                      "--key", sources / "leaf.key", "--dry-run=client", "-o", "json",
                      home=folder / "home")
    (folder / "web.json").write_bytes(result.stdout)
    return folder / "web.yaml"


class TestExport:
    """``export --for kubernetes`` writes a kubernetes.io/tls Secret."""

    def test_the_manifest_is_a_tls_secret(self, exported: pathlib.Path) -> None:
        """apiVersion v1, kind Secret, type kubernetes.io/tls, named after the leaf's CN."""
        manifest = _manifest(exported)
        assert manifest["apiVersion"] == "v1"
        assert manifest["kind"] == "Secret"
        assert manifest["type"] == "kubernetes.io/tls"
        assert manifest["metadata"] == {"name": "localhost"}
        assert set(manifest["data"]) == {"tls.crt", "tls.key", "ca.crt"}

    def test_the_file_is_private(self, exported: pathlib.Path) -> None:
        """The manifest holds the key, so it is mode 0600."""
        assert stat.S_IMODE(exported.stat().st_mode) == 0o600

    def test_tls_crt_is_leaf_then_intermediate(self, exported: pathlib.Path,
                                               sources: pathlib.Path) -> None:
        """openssl sees the leaf then the intermediate in tls.crt, and the root in ca.crt."""
        manifest = _manifest(exported)
        served = [_fingerprint(block) for block in _pem_blocks(_field(manifest, "tls.crt"))]
        expected = [_fingerprint((sources / name).read_bytes())
                    for name in ("leaf.crt", "inter.crt")]
        assert served == expected
        assert _fingerprint(_field(manifest, "ca.crt")) == _fingerprint(
            (sources / "root.crt").read_bytes())

    def test_tls_key_is_unencrypted_pkcs8_of_the_leaf(self, exported: pathlib.Path,
                                                      sources: pathlib.Path) -> None:
        """tls.key is a PKCS#8 PRIVATE KEY whose public half openssl matches to the leaf."""
        key = _field(_manifest(exported), "tls.key")
        assert key.startswith(b"-----BEGIN PRIVATE KEY-----\n")
        from_key = openssl("pkey", "-pubout", input=key).stdout
        from_cert = openssl("x509", "-noout", "-pubkey", "-in", sources / "leaf.crt").stdout
        assert from_key == from_cert

    def test_the_config_says_how_to_apply_it(self, sources: pathlib.Path,
                                             tmp_path: pathlib.Path) -> None:
        """The printed lines name kubectl apply and the Ingress's secretName and hosts."""
        store = certkit.load(sources / "site.pfx", password=PFX_PASSWORD)
        result = export(store, "kubernetes", tmp_path, trust=None)
        assert f"kubectl apply -f {result[0].resolve()}" in result.config
        assert "secretName: localhost" in result.config
        assert "hosts: [localhost, www.example.test]" in result.config
        assert result.root_left_out is None

    def test_a_second_export_changes_nothing(self, sources: pathlib.Path,
                                             tmp_path: pathlib.Path) -> None:
        """The manifest is the same bytes every time, so a rerun leaves it (changed false)
        and a manifest with another key in it still needs force."""
        store = certkit.load(sources / "site.pfx", password=PFX_PASSWORD)
        first = export(store, "kubernetes", tmp_path, trust=None)
        written = first[0].stat().st_mtime_ns
        again = export(store, "kubernetes", tmp_path, trust=None)
        assert first.changed
        assert not again.changed
        assert first[0].stat().st_mtime_ns == written
        first[0].write_bytes(first[0].read_bytes().replace(b"tls.key", b"tls.kez"))
        first[0].chmod(0o600)
        with pytest.raises(FileExistsCertkitError):
            export(store, "kubernetes", tmp_path, trust=None)

    def test_name_sets_the_secret_name(self, sources: pathlib.Path,
                                       tmp_path: pathlib.Path) -> None:
        """--name gives the file stem and the Secret's name, made a valid one."""
        result = certkit_cli(["export", "--for", "kubernetes", str(sources / "site.pfx"),
                              "--out-dir", "out", "--name", "Web_TLS", "--password-env", "P"],
                             cwd=tmp_path, env={"P": PFX_PASSWORD})
        assert result.returncode == 0, result.stderr
        manifest = _manifest(tmp_path / "out" / "Web_TLS.secret.yaml")
        assert manifest["metadata"]["name"] == "web-tls"
        assert "secretName: web-tls" in result.stdout


class TestSecretName:
    """Secret names are RFC 1123 subdomains."""

    @pytest.mark.parametrize(("text", "name"), [
        ("www.example.com", "www.example.com"),
        ("*.Example.COM", "wildcard.example.com"),
        ("My Site (2024)", "my-site-2024"),
        ("-a..b-", "a.b"),
        ("", "tls"),
        ("ünïcode", "n-code"),
    ])
    def test_names_are_made_valid(self, text: str, name: str) -> None:
        """Upper case is lowered, other characters become hyphens, labels are trimmed."""
        assert secret_name(text) == name

    def test_long_names_are_cut(self) -> None:
        """A name longer than 253 characters is cut and does not end in a hyphen or dot."""
        name = secret_name("a-" * 200)
        assert len(name) <= 253
        assert name[-1].isalnum()


class TestKubectl:
    """kubectl reads certkit's Secret, and certkit reads kubectl's."""

    def test_kubectl_reads_the_manifest_offline(self, exported: pathlib.Path,
                                                tmp_path: pathlib.Path) -> None:
        """``kubectl label --local`` parses the manifest with no cluster and sees our data."""
        result = _kubectl("label", "--local", "-f", exported, "checked=yes", "-o", "json",
                          home=tmp_path / "home")
        seen = json.loads(result.stdout)
        assert seen["kind"] == "Secret"
        assert seen["type"] == "kubernetes.io/tls"
        assert seen["data"] == _manifest(exported)["data"]

    def test_kubectl_accepts_the_key_pair_and_encodes_it_identically(
            self, exported: pathlib.Path, tmp_path: pathlib.Path) -> None:
        """kubectl create secret tls, given our decoded files, checks the pair and agrees."""
        manifest = _manifest(exported)
        (tmp_path / "tls.crt").write_bytes(_field(manifest, "tls.crt"))
        (tmp_path / "tls.key").write_bytes(_field(manifest, "tls.key"))
        result = _kubectl("create", "secret", "tls", "localhost", "--cert", tmp_path / "tls.crt",
                          "--key", tmp_path / "tls.key", "--dry-run=client", "-o", "json",
                          home=tmp_path / "home")
        theirs = json.loads(result.stdout)
        assert theirs["type"] == manifest["type"]
        assert theirs["metadata"]["name"] == manifest["metadata"]["name"]
        assert theirs["data"] == {k: v for k, v in manifest["data"].items() if k != "ca.crt"}

    def test_kubectl_refuses_a_key_of_another_certificate(
            self, exported: pathlib.Path, other_pki: PKI, tmp_path: pathlib.Path) -> None:
        """The check above can fail: kubectl rejects a tls.crt with someone else's key."""
        (tmp_path / "tls.crt").write_bytes(_field(_manifest(exported), "tls.crt"))
        (tmp_path / "tls.key").write_bytes(other_pki.leaf.key.to_pem())
        result = _kubectl("create", "secret", "tls", "x", "--cert", tmp_path / "tls.crt",
                          "--key", tmp_path / "tls.key", "--dry-run=client", "-o", "json",
                          home=tmp_path / "home", check=False)
        assert result.returncode != 0
        assert b"private key does not match public key" in result.stderr

    @pytest.mark.parametrize("name", ["web.yaml", "web.json"])
    def test_certkit_loads_kubectls_secret(self, kubectl_secret: pathlib.Path, name: str,
                                           pki: PKI) -> None:
        """kubectl's YAML and JSON load into one key entry named after the Secret."""
        store = certkit.load(kubectl_secret.with_name(name))
        assert store.format == "kubernetes"
        (entry,) = store.entries
        assert isinstance(entry, KeyEntry)
        assert entry.alias == "web"
        assert _spki(entry.private_key) == _spki(pki.leaf.key)
        assert [c.der for c in entry.chain] == [pki.leaf.certificate.der,
                                                pki.intermediate.certificate.der]

    def test_kubectl_reads_a_list_certkit_writes(self, pki: PKI, other_pki: PKI,
                                                 tmp_path: pathlib.Path) -> None:
        """Two key entries become a List that kubectl unpacks into two Secrets."""
        store = KeyStore([KeyEntry("Site One", pki.leaf.key, pki.chain),
                          KeyEntry("site-two", other_pki.leaf.key, other_pki.chain)])
        path = tmp_path / "list.yaml"
        path.write_bytes(certkit.dump(store, "kubernetes"))
        result = _kubectl("label", "--local", "-f", path, "a=b", "-o", "name",
                          home=tmp_path / "home")
        assert result.stdout.decode().split() == ["secret/site-one", "secret/site-two"]
        assert certkit.load(path).aliases == ("site-one", "site-two")


class TestRoundTrip:
    """What certkit writes, it reads back unchanged."""

    def test_export_loads_back_to_the_source(self, exported: pathlib.Path, pki: PKI) -> None:
        """The key (public key bytes) and the chain (DER, root from ca.crt) come back."""
        store = certkit.load(exported)
        (entry,) = store.entries
        assert isinstance(entry, KeyEntry)
        assert entry.alias == "localhost"
        assert _spki(entry.private_key) == _spki(pki.leaf.key)
        assert [c.der for c in entry.chain] == [c.der for c in pki.chain]

    def test_names_that_yaml_would_retype_stay_strings(self, pki: PKI) -> None:
        """An alias like 'true' or '0123' is quoted, so it loads back as the same name."""
        for alias in ("true", "0123", "null"):
            data = certkit.dump(KeyStore([KeyEntry(alias, pki.leaf.key, pki.chain)]),
                                "kubernetes")
            assert certkit.load(data).aliases == (alias,)

    def test_namespace_is_written_when_asked(self, pki: PKI) -> None:
        """namespace= puts metadata.namespace in the manifest."""
        data = certkit.dump(KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)]),
                            "kubernetes", namespace="prod")
        assert yaml.safe_load(data)["metadata"] == {"name": "web", "namespace": "prod"}

    def test_convert_needs_to_kubernetes(self, sources: pathlib.Path,
                                         tmp_path: pathlib.Path) -> None:
        """A .yaml name alone chooses no format; --to kubernetes writes the Secret."""
        pfx = str(sources / "site.pfx")
        env = {"P": PFX_PASSWORD}
        refused = certkit_cli(["convert", pfx, "s.yaml", "--password-env", "P"],
                              cwd=tmp_path, env=env)
        assert refused.returncode == 2
        assert "kubernetes" in refused.stderr
        written = certkit_cli(["convert", pfx, "s.yaml", "--to", "kubernetes",
                               "--password-env", "P"], cwd=tmp_path, env=env)
        assert written.returncode == 0, written.stderr
        assert stat.S_IMODE((tmp_path / "s.yaml").stat().st_mode) == 0o600
        assert certkit.load(tmp_path / "s.yaml").key_entries[0].chain.leaf is not None


_GET_SECRET = """\
apiVersion: v1
data:
  ca.crt: {ca}
  tls.crt: {crt}
  tls.key: {key}
kind: Secret
metadata:
  annotations:
    cert-manager.io/common-name: localhost
    kubectl.kubernetes.io/last-applied-configuration: |
      {{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{name}"}}}}
  creationTimestamp: "2026-01-02T03:04:05Z"
  name: {name}
  namespace: {namespace}
  resourceVersion: "4242"
  uid: 0b7c1a2e-1111-2222-3333-444455556666
type: kubernetes.io/tls
"""


def _get_secret(pki: PKI, name: str = "web-tls", namespace: str = "default") -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return _GET_SECRET.format(
        ca=b64(pki.root.certificate.to_pem()),
        crt=b64(pki.leaf.certificate.to_pem() + pki.intermediate.certificate.to_pem()),
        key=b64(pki.leaf.key.to_pem()), name=name, namespace=namespace)


def _indented(text: str, prefix: str) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join([prefix + lines[0], *("  " + line for line in lines[1:])]) + "\n"


class TestReading:
    """The shapes a Secret comes in from a cluster or a repository."""

    def test_get_secret_output_loads(self, pki: PKI) -> None:
        """``kubectl get secret -o yaml`` (metadata, annotations, ca.crt) gives one key entry."""
        store = certkit.load(_get_secret(pki).encode())
        assert store.aliases == ("web-tls",)
        assert [c.der for c in store.key_entries[0].chain] == [c.der for c in pki.chain]

    def test_a_list_of_secrets_loads(self, pki: PKI, other_pki: PKI) -> None:
        """``kubectl get secrets -o yaml`` (kind List) gives one entry per TLS Secret."""
        opaque = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-password\n"
                  "type: Opaque\ndata:\n  password: aHVudGVyMg==\n")
        text = ("apiVersion: v1\nitems:\n" + _indented(_get_secret(pki), "- ")
                + _indented(opaque, "- ")
                + _indented(_get_secret(other_pki, "other-tls"), "- ")
                + 'kind: List\nmetadata:\n  resourceVersion: ""\n')
        store = certkit.load(text.encode())
        assert store.aliases == ("web-tls", "other-tls")
        assert any("db-password" in note and "Opaque" in note for note in store.notes)

    def test_a_json_list_loads(self, pki: PKI, other_pki: PKI) -> None:
        """``kubectl get secrets -o json`` (a JSON List) gives one entry per Secret."""
        items = [yaml.safe_load(_get_secret(pki)), yaml.safe_load(_get_secret(other_pki, "o"))]
        text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List",
                           "metadata": {"resourceVersion": ""}}, indent=4)
        assert certkit.load(text.encode()).aliases == ("web-tls", "o")

    def test_the_same_name_in_two_namespaces(self, pki: PKI) -> None:
        """A second Secret of the same name is told apart by its namespace."""
        text = _get_secret(pki) + "---\n" + _get_secret(pki, namespace="staging")
        assert certkit.load(text.encode()).aliases == ("web-tls", "staging/web-tls")

    def test_string_data_loads_as_kubernetes(self, pki: PKI) -> None:
        """stringData (PEM in the clear) is read as a Secret, not mistaken for PEM text."""
        def block(pem: bytes) -> str:
            return "".join("    " + line + "\n" for line in pem.decode().splitlines())

        text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n"
                "type: kubernetes.io/tls\nstringData:\n  tls.crt: |\n"
                + block(pki.leaf.certificate.to_pem() + pki.intermediate.certificate.to_pem())
                + "  tls.key: |\n" + block(pki.leaf.key.to_pem()))
        store = certkit.load(text.encode())
        assert store.format == "kubernetes"
        assert store.aliases == ("plain",)
        assert _spki(store.key_entries[0].private_key) == _spki(pki.leaf.key)

    def test_other_objects_are_skipped_with_a_note(self, pki: PKI) -> None:
        """A ConfigMap beside the Secret in a multi-document file is named in a note."""
        text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n---\n"
                + _get_secret(pki))
        store = certkit.load(text.encode())
        assert store.aliases == ("web-tls",)
        assert any("ConfigMap" in note for note in store.notes)

    def test_an_unrelated_ca_crt_is_a_trusted_entry(self, pki: PKI, other_pki: PKI) -> None:
        """A ca.crt that is not the chain's root (a client CA) stays, named after the Secret."""
        text = _get_secret(pki).replace(
            base64.b64encode(pki.root.certificate.to_pem()).decode(),
            base64.b64encode(other_pki.root.certificate.to_pem()).decode())
        store = certkit.load(text.encode())
        assert store.aliases == ("web-tls", "web-tls-ca")
        assert isinstance(store["web-tls-ca"], TrustedCertEntry)

    def test_utf16_from_powershell_loads(self, pki: PKI) -> None:
        """``kubectl get secret -o yaml > s.yaml`` in Windows PowerShell writes UTF-16."""
        store = certkit.load(b"\xff\xfe" + _get_secret(pki).encode("utf-16-le"))
        assert store.aliases == ("web-tls",)

    def test_one_broken_secret_does_not_hide_the_others(self, pki: PKI) -> None:
        """In a List, a Secret with bad base64 is skipped with a note naming it."""
        broken = _get_secret(pki, "broken").replace("tls.key: ", "tls.key: $$")
        text = ("apiVersion: v1\nkind: List\nitems:\n" + _indented(broken, "- ")
                + _indented(_get_secret(pki), "- "))
        store = certkit.load(text.encode())
        assert store.aliases == ("web-tls",)
        assert any("'broken'" in note and "base64" in note for note in store.notes)

    def test_inspect_and_doctor_read_a_secret(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """The command line's inspect and doctor take a saved Secret."""
        (tmp_path / "s.yaml").write_text(_get_secret(pki))
        inspected = certkit_cli(["inspect", "s.yaml"], cwd=tmp_path)
        assert inspected.returncode == 0, inspected.stderr
        assert "[key] web-tls" in inspected.stdout
        (tmp_path / "root.pem").write_bytes(pki.root.certificate.to_pem())
        doctored = certkit_cli(["doctor", "s.yaml", "--trust", "root.pem"], cwd=tmp_path)
        assert doctored.returncode == 0, doctored.stdout + doctored.stderr
        assert "no problems found" in doctored.stdout

    def test_doctor_finds_the_missing_intermediate(self, pki: PKI,
                                                   tmp_path: pathlib.Path) -> None:
        """A Secret whose tls.crt is the leaf alone is the missing-intermediate mistake."""
        leaf_only = _get_secret(pki).replace(
            base64.b64encode(pki.leaf.certificate.to_pem()
                             + pki.intermediate.certificate.to_pem()).decode(),
            base64.b64encode(pki.leaf.certificate.to_pem()).decode())
        (tmp_path / "s.yaml").write_text(leaf_only.replace("  ca.crt:", "  unused.crt:"))
        doctored = certkit_cli(["doctor", "s.yaml", "--trust", "none"], cwd=tmp_path)
        assert doctored.returncode == 1
        assert "[missing-intermediate]" in doctored.stdout

    def test_scan_finds_a_secret(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """scan reads a Secret although it holds no -----BEGIN line."""
        (tmp_path / "s.yaml").write_text(_get_secret(pki))
        (tmp_path / "cfg.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
        result = certkit_cli(["scan", ".", "--json"], cwd=tmp_path)
        assert "s.yaml" in result.stdout
        assert "cfg.yaml" not in result.stdout


_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True))


class TestHostile:
    """Hostile or foreign input gives a clean error, fast."""

    def test_billion_laughs_is_refused(self) -> None:
        """Aliases are refused before anything expands."""
        text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n" + _LAUGHS
        start = time.perf_counter()
        with pytest.raises(DecodeError, match="alias"):
            certkit.load(text.encode())
        assert time.perf_counter() - start < 1

    @pytest.mark.parametrize("nested", ["[" * 100_000 + "]" * 100_000,
                                        "\n  " + "- " * 50_000 + "x"])
    def test_deep_nesting_is_refused(self, nested: str) -> None:
        """A document nested fifty thousand levels deep (flow or block) is a DecodeError."""
        text = "apiVersion: v1\nkind: Secret\ndata: " + nested + "\n"
        start = time.perf_counter()
        with pytest.raises(DecodeError):
            certkit.load(text.encode())
        assert time.perf_counter() - start < 2

    def test_deep_json_is_refused(self) -> None:
        """The same in JSON."""
        text = '{"apiVersion": "v1", "kind": "Secret", "data": ' + "[" * 100_000
        with pytest.raises(DecodeError, match="JSON"):
            certkit.load(text.encode())

    def test_a_huge_manifest_is_refused_unparsed(self) -> None:
        """More than the bound is refused before the YAML parser runs."""
        text = b"apiVersion: v1\nkind: Secret\n" + b"# padding\n" * (MAX_MANIFEST // 10 + 1)
        start = time.perf_counter()
        with pytest.raises(DecodeError, match="split it"):
            certkit.load(text)
        assert time.perf_counter() - start < 2

    def test_python_tags_are_refused(self) -> None:
        """The safe loader refuses object-constructing tags."""
        text = ("apiVersion: v1\nkind: Secret\nmetadata: !!python/object/apply:os.system "
                "['true']\n")
        with pytest.raises(DecodeError, match="YAML"):
            certkit.load(text.encode())

    def test_an_opaque_secret_is_not_a_tls_secret(self) -> None:
        """A Secret without tls.crt, tls.key or ca.crt says so."""
        text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n"
                "data:\n  password: aHVudGVyMg==\n")
        with pytest.raises(DecodeError, match=r"not a Kubernetes TLS secret.*'db'.*Opaque"):
            certkit.load(text.encode())

    def test_bad_base64_names_the_secret_and_field(self, pki: PKI) -> None:
        """A corrupt data value is a DecodeError naming where it is."""
        text = _get_secret(pki).replace("tls.crt: ", "tls.crt: $$")
        with pytest.raises(DecodeError, match=r"'web-tls'.*data\.tls\.crt.*base64"):
            certkit.load(text.encode())

    def test_an_encrypted_key_is_refused_without_deriving(self, pki: PKI) -> None:
        """An encrypted tls.key is named as the problem; no password is asked for."""
        encrypted = base64.b64encode(pki.leaf.key.to_pem("secret")).decode()
        text = _get_secret(pki).replace(base64.b64encode(pki.leaf.key.to_pem()).decode(),
                                        encrypted)
        with pytest.raises(DecodeError, match=r"'web-tls': tls\.key is encrypted"):
            certkit.load(text.encode(), password="secret")

    def test_yaml_flow_style_is_yaml(self, pki: PKI) -> None:
        """``{apiVersion: v1, …}`` is read as YAML, not refused as broken JSON."""
        crt = base64.b64encode(pki.leaf.certificate.to_pem()).decode()
        text = ("{apiVersion: v1, kind: Secret, metadata: {name: flow}, "
                f"data: {{tls.crt: {crt}}}}}\n")
        assert certkit.load(text.encode()).aliases == ("flow",)

    def test_a_deployment_is_not_mistaken(self) -> None:
        """Another Kubernetes object is not claimed, and the error says what it looks like."""
        text = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
        with pytest.raises(UnsupportedFormatError, match="Kubernetes manifest, but not a Secret"):
            certkit.load(text)

    def test_a_random_config_is_not_a_secret(self) -> None:
        """An ordinary YAML file named as a Secret gives the codec's clear refusal."""
        text = b"server:\n  port: 8080\n  hosts: [a, b]\n"
        with pytest.raises(UnsupportedFormatError):
            certkit.load(text)
        with pytest.raises(DecodeError, match="not a Kubernetes TLS secret"):
            certkit.load(text, format="kubernetes")

    @pytest.mark.parametrize("data", [
        b'{"apiVersion": "v1", "kind": "Secret"}',
        b"apiVersion: v1\nkind: Secret\n",
        b"apiVersion: v1\nkind: List\nitems: []\n",
    ])
    def test_manifests_are_sniffed(self, data: bytes) -> None:
        """Secrets and Lists, YAML or JSON, are recognised by content."""
        assert formats.detect(data).name == "kubernetes"

    def test_pem_and_json_are_not_claimed(self, pki: PKI) -> None:
        """PEM (even mentioning a Secret) and other JSON are left to their own formats."""
        pem = b"kind: Secret\n" + pki.leaf.certificate.to_pem()
        assert formats.detect(pem).name == "pem"
        assert formats.detect(pki.leaf.certificate.to_pem()).name == "pem"
        with pytest.raises(UnsupportedFormatError):
            formats.detect(b'{"kind": "Secret", "data": {}}')


class TestWriting:
    """What the codec refuses to write."""

    def test_an_output_password_is_refused(self, pki: PKI) -> None:
        """A Secret's key cannot be encrypted; the error says so."""
        with pytest.raises(UnsupportedFormatError, match="unencrypted"):
            certkit.dump(KeyStore([KeyEntry("web", pki.leaf.key, pki.chain)]), "kubernetes",
                         password="x")

    def test_certificates_alone_are_refused(self, pki: PKI) -> None:
        """A store with no key entry cannot become a TLS Secret."""
        store = KeyStore([TrustedCertEntry("root", pki.root.certificate)])
        with pytest.raises(UnrepresentableError, match="needs a private key"):
            certkit.dump(store, "kubernetes")

    def test_extra_trusted_certificates_need_allow_loss(self, pki: PKI, other_pki: PKI) -> None:
        """A trusted certificate besides the key entry is named, and dropped only if allowed."""
        store = KeyStore([KeyEntry("web", pki.leaf.key, pki.chain),
                          TrustedCertEntry("other", other_pki.root.certificate)])
        with pytest.raises(UnrepresentableError, match="'other'"):
            certkit.dump(store, "kubernetes")
        assert certkit.load(certkit.dump(store, "kubernetes", allow_loss=True)).aliases == (
            "web",)


class TestSniffingLongLists:
    """A List longer than the sniffer's window is still recognised."""

    def test_a_list_whose_own_kind_is_far_away(self, pki: PKI) -> None:
        """kubectl writes a List's ``kind: List`` after its items: the items' kind counts."""
        item = _indented(_get_secret(pki), "- ")
        text = "apiVersion: v1\nitems:\n" + item * 300 + "kind: List\n"
        assert len(text) > 1 << 20
        assert formats.detect(text.encode()).name == "kubernetes"
        assert len(certkit.load(text.encode())) == 300
