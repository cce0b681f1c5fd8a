"""One chain vocabulary: chain_verdict's outcomes, and every command saying the same of one chain.

A private CA's server (leaf + intermediate, root not in the trust store) is the case that
used to get three different answers; here nginx serves it and check-host, doctor --host,
inspect and verify must print one verdict, worded the same.
"""

from __future__ import annotations

import io
import json
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import servers
from conftest import PKI

from certkit import Certificate, Chain, chain_verdict
from certkit.cli import main
from certkit.errors import ChainError

HOST = servers.HOST


@pytest.fixture(scope="module")
def root_pem(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The test hierarchy's private root, as a trust file."""
    path = tmp_path_factory.mktemp("verdict-trust") / "root.pem"
    path.write_bytes(pki.root.certificate.to_pem())
    return path


class TestOutcomes:
    """chain_verdict: each outcome, its code and its words."""

    def test_complete_and_trusted(self, pki: PKI) -> None:
        """Leaf → intermediate → root with the root trusted: trusted, and ok."""
        verdict = chain_verdict(pki.chain, trust=[pki.root.certificate])
        assert verdict.code == "trusted"
        assert verdict.ok
        assert not verdict.problem
        assert verdict.message == ("complete and trusted: it ends at "
                                   f"{pki.root.certificate.subject}, a root in the trust store")

    def test_server_ready(self, pki: PKI) -> None:
        """Leaf + intermediate whose root is trusted: server-ready, trusted, and ok."""
        verdict = chain_verdict(pki.chain[:2], trust=[pki.root.certificate])
        assert verdict.code == "server-ready"
        assert verdict.ok
        assert verdict.trusted
        assert verdict.root == pki.root.certificate.subject
        assert verdict.message.startswith("server-ready: leaf and intermediates, the root left "
                                          "out as servers should")

    def test_private_root_included(self, pki: PKI) -> None:
        """The whole chain with a root nobody trusts: names the root and how to trust it."""
        verdict = chain_verdict(pki.chain, trust=None)
        assert verdict.code == "untrusted-root"
        assert not verdict.ok
        assert not verdict.problem
        assert verdict.root == pki.root.certificate.subject
        assert verdict.message.startswith("complete to a root that is not trusted (a private "
                                          "CA): it ends at " + pki.root.certificate.subject)
        assert verdict.fix is not None
        assert "--trust ROOT.pem" in verdict.fix

    def test_private_root_left_out(self, pki: PKI) -> None:
        """Leaf + intermediate, root unknown: a private root named, not a missing intermediate."""
        verdict = chain_verdict(pki.chain[:2], trust=None)
        assert verdict.code == "untrusted-root"
        assert verdict.root == pki.root.certificate.subject
        assert verdict.missing_issuer is None
        assert "missing intermediate" not in verdict.message

    def test_private_root_known_but_not_trusted(self, pki: PKI) -> None:
        """A root given as a known (pool) certificate is named but still not trusted."""
        verdict = chain_verdict(pki.chain[:2], trust=None, pool=[pki.root.certificate])
        assert verdict.code == "untrusted-root"
        assert not verdict.trusted
        assert "a root that is not in the trust store" in verdict.message

    def test_missing_intermediate(self, pki: PKI) -> None:
        """The leaf alone: missing intermediate, naming the issuer."""
        verdict = chain_verdict([pki.leaf.certificate], trust=[pki.root.certificate])
        assert verdict.code == "missing-intermediate"
        assert verdict.problem
        assert verdict.missing_issuer == pki.intermediate.certificate.subject
        assert verdict.message.startswith(
            f"missing intermediate: {pki.intermediate.certificate.subject} (the issuer of "
            f"{pki.leaf.certificate.subject})")

    def test_intermediate_known_but_not_in_the_chain(self, pki: PKI) -> None:
        """An intermediate among the known certificates is still missing from the chain."""
        verdict = chain_verdict([pki.leaf.certificate], trust=[pki.root.certificate],
                                pool=[pki.intermediate.certificate])
        assert verdict.code == "missing-intermediate"
        assert verdict.message.endswith("is not in the chain")

    def test_broken(self, pki: PKI, other_pki: PKI) -> None:
        """A leaf followed by another hierarchy's intermediate: broken at 0."""
        verdict = chain_verdict([pki.leaf.certificate, other_pki.intermediate.certificate],
                                trust=[pki.root.certificate])
        assert verdict.code == "broken"
        assert verdict.broken_at == 0
        assert verdict.message.startswith(f"broken: {pki.leaf.certificate.subject} is not "
                                          "issued by the next certificate")

    def test_empty_chain_is_an_error(self) -> None:
        """There is nothing to judge in an empty chain."""
        with pytest.raises(ChainError):
            chain_verdict(Chain(), trust=None)


def _run(argv: Sequence[str | pathlib.Path]) -> tuple[int, Any]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, json.loads(out.getvalue())


def _verdicts(port: int, served: pathlib.Path, trust: Sequence[str | pathlib.Path]
              ) -> dict[str, str | None]:
    """The chain verdict each command prints for one server and the file it serves."""
    where = f"{HOST}:{port}"
    _, host = _run(["check-host", where, "--servername", "localhost", *trust, "--json"])
    _, doctor = _run(["doctor", served, "--host", where, "--servername", "localhost", *trust,
                      "--json"])
    _, inspect = _run(["inspect", served, *trust, "--json"])
    _, verify = _run(["verify", served, *trust, "--json"])
    told = [f["message"] for f in doctor["findings"]
            if f["code"].startswith("chain-") and f["files"] == [where]]
    return {
        "check-host": host["verdict"]["message"],
        "doctor --host": told[0].removeprefix(f"{where}: ") if told else None,
        "inspect": inspect["files"][0]["chain"]["verdict"]["message"],
        "verify": verify["verdict"]["message"],
    }


@pytest.fixture
def nginx_serving(pki: PKI, tmp_path: pathlib.Path) -> Iterator[Any]:
    """A function starting nginx on 127.0.0.1 with a chain file (leaf first) and the leaf key."""
    key = tmp_path / "key.pem"
    key.write_bytes(pki.leaf.key.to_pem())
    running: list[Any] = []

    def serve(certs: Sequence[Certificate]) -> tuple[int, pathlib.Path]:
        served = tmp_path / "served.pem"
        served.write_bytes(b"".join(c.to_pem() for c in certs))
        manager = servers.nginx(tmp_path / "nginx",
                                f"ssl_certificate {served};\nssl_certificate_key {key};")
        server = manager.__enter__()
        running.append(manager)
        return server.port, served

    yield serve
    for manager in running:
        manager.__exit__(None, None, None)


@pytest.mark.interop
class TestOneVerdictEverywhere:
    """check-host, doctor --host, inspect and verify agree on the chain a real server sends."""

    def test_private_ca_server(self, pki: PKI, nginx_serving: Any) -> None:
        """Leaf + intermediate, private root not trusted: one verdict, worded the same by all
        four commands, and none of them says "missing intermediate"."""
        port, served = nginx_serving(pki.chain[:2])
        said = _verdicts(port, served, [])
        expected = chain_verdict(pki.chain[:2], trust="system").message
        assert expected.startswith("complete to a root that is not trusted (a private CA)")
        assert said == dict.fromkeys(said, expected)
        assert all("missing intermediate" not in text for text in said.values() if text)

    def test_private_ca_server_trusted(self, pki: PKI, nginx_serving: Any,
                                       root_pem: pathlib.Path) -> None:
        """The same server with its root as a trust file: server-ready everywhere (doctor,
        having nothing to fix, says nothing about the chain)."""
        port, served = nginx_serving(pki.chain[:2])
        said = _verdicts(port, served, ["--trust", root_pem])
        expected = chain_verdict(pki.chain[:2], trust=root_pem).message
        assert expected.startswith("server-ready:")
        assert said.pop("doctor --host") is None
        assert said == dict.fromkeys(said, expected)

    def test_leaf_only_server(self, pki: PKI, nginx_serving: Any,
                              root_pem: pathlib.Path) -> None:
        """Only the leaf served: missing intermediate, naming it, in all four."""
        port, served = nginx_serving([pki.leaf.certificate])
        said = _verdicts(port, served, ["--trust", root_pem])
        expected = chain_verdict([pki.leaf.certificate], trust=root_pem).message
        assert pki.intermediate.certificate.subject in expected
        assert said == dict.fromkeys(said, expected)

    def test_broken_chain_server(self, pki: PKI, other_pki: PKI, nginx_serving: Any,
                                 root_pem: pathlib.Path) -> None:
        """A foreign intermediate after the leaf: broken, in all four."""
        sent = [pki.leaf.certificate, other_pki.intermediate.certificate]
        port, served = nginx_serving(sent)
        said = _verdicts(port, served, ["--trust", root_pem])
        expected = chain_verdict(sent, trust=root_pem).message
        assert expected.startswith("broken:")
        assert said == dict.fromkeys(said, expected)


class TestLibrarySpeaksTheVerdict:
    """verify_chain, export, scan and doctor on files carry the same verdict as the commands."""

    def test_verify_chain_carries_the_verdict(self, pki: PKI) -> None:
        """A private-CA chain fails verification with the verdict's words as its reason."""
        from certkit import verify_chain

        result = verify_chain(pki.chain[:2], trust=[pki.leaf.certificate])
        assert result.verdict is not None
        assert result.verdict.code == "untrusted-root"
        assert [r.message for r in result.reasons if r.code == "untrusted-root"] == [
            result.verdict.message]

    def test_export_refusal_quotes_the_verdict(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """export refuses a leaf without its intermediate in the verdict's words."""
        from certkit import KeyEntry, KeyStore, export

        store = KeyStore([KeyEntry("site", pki.leaf.key, [pki.leaf.certificate])])
        expected = chain_verdict([pki.leaf.certificate], trust=[pki.root.certificate]).message
        with pytest.raises(ChainError) as info:
            export(store, "nginx", tmp_path, trust=[pki.root.certificate])
        assert expected in str(info.value)

    def test_scan_and_doctor_judge_a_file_alike(self, pki: PKI, tmp_path: pathlib.Path) -> None:
        """A key + leaf + intermediate file of a private CA: scan and doctor word it as
        chain_verdict does."""
        from certkit import diagnose, scan

        folder = tmp_path / "site"
        folder.mkdir()
        (folder / "site.pem").write_bytes(pki.leaf.key.to_pem()
                                          + b"".join(c.to_pem() for c in pki.chain[:2]))
        expected = chain_verdict(pki.chain[:2], trust="system").message
        report = scan(folder)
        assert [(c.code, c.message) for c in report.chains] == [("untrusted-root", expected)]
        assert not report.has_problems
        found = [f for f in diagnose(folder / "site.pem") if f.code.startswith("chain-")]
        assert [f.data["message"] for f in found] == [expected]
