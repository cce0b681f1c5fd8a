"""Crafted hostile files end quickly, in bounded memory, with data or a CertkitError.

Each file from tests/hostile.py is loaded in a child process limited to 1.5 GiB of address
space (RLIMIT_AS), one file after another; the child times each ``certkit.load`` call,
whose CPU time must stay under 3 s (CPU rather than wall time: the machine is shared, and
waiting for a CPU is not work the file caused; the subprocess timeout is only a guard
against a hang). The
password-based work budget, the PBMAC1 checks and the bounded Java object reader are what
make each one harmless.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import hostile
import pytest

import certkit
from certkit.errors import CertkitError, DecodeError, PasswordError, WorkLimitError

LIMIT = 3 * 1024**3 // 2  # 1.5 GiB
SECONDS = 3.0

_CHILD = textwrap.dedent(f"""
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
    import certkit
    from certkit.errors import CertkitError
    for line in sys.stdin:
        path, password = json.loads(line)
        data = open(path, "rb").read()
        start = time.process_time()
        try:
            store = certkit.load(data, password=password)
            outcome = "data"
        except CertkitError as err:
            outcome = type(err).__name__
        except BaseException as err:  # the parent's test for this file fails on it
            outcome = f"escaped: {{type(err).__name__}}: {{err}}"
        store = data = None
        print(json.dumps({{"outcome": outcome, "seconds": time.process_time() - start}}),
              flush=True)
""")

_BOUNDED: dict[str, Callable[[], tuple[bytes, str]]] = {
    **hostile.HOSTILE,
    # Within the per-item cap, so the budget is what stops them, after real work.
    "jceks-keytool-like-keys": lambda: hostile.jceks_heavy_keys(count=12, iterations=200_000),
    "pkcs12-pbes1-bags-1M": lambda: hostile.pkcs12_pbes1_bags(iterations=1_000_000),
    "pkcs12-pbmac1-sha512-1.4M": lambda: hostile.pkcs12_pbmac1_iterations(1_400_000),
}
_CASES = [(name, with_password) for name in sorted(_BOUNDED) for with_password in (False, True)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], dict[str, object]]:
    """Every case loaded in turn by one child process: its outcome and CPU seconds.

    One child for all of them, not one each: the limits hold per load all the same (nothing
    of a load outlives it), and twenty-two interpreter start-ups are not what is tested.
    A case the child never answered (it died or hung) is missing, and its test says why.
    """
    folder = tmp_path_factory.mktemp("hostile")
    requests = []
    for index, (name, with_password) in enumerate(_CASES):
        data, password = _BOUNDED[name]()
        path = folder / f"{index}.bin"
        path.write_bytes(data)
        requests.append(json.dumps([str(path), password if with_password else None]))
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD], input="\n".join(requests),
                              capture_output=True, text=True, timeout=300, check=False)
        answers, stderr = done.stdout.splitlines(), done.stderr
    except subprocess.TimeoutExpired as err:
        answers = (err.stdout or b"").decode().splitlines()
        stderr = "the child did not finish within 300 s"
    results: dict[tuple[str, bool], dict[str, object]] = {
        case: json.loads(answer) for case, answer in zip(_CASES, answers, strict=False)}
    for case in _CASES[len(answers):]:
        results[case] = {"outcome": f"no answer; the child's stderr: {stderr[-2000:]}"}
    return results


class TestHostileFiles:
    """Every crafted file, with and without its password."""

    @pytest.mark.parametrize("name", sorted(_BOUNDED))
    @pytest.mark.parametrize("with_password", [False, True], ids=["no-password", "password"])
    def test_load_is_bounded(self, loaded: dict[tuple[str, bool], dict[str, object]],
                             name: str, with_password: bool) -> None:
        """load takes under 3 s of CPU within 1.5 GiB of address space, ending in data or a
        CertkitError."""
        result = loaded[name, with_password]
        assert result["outcome"] == "data" or hasattr(certkit.errors, str(result["outcome"])), \
            result
        assert isinstance(result["seconds"], float)
        assert result["seconds"] < SECONDS, result


class TestPBMAC1:
    """RFC 9579 MACs are checked as OpenSSL and Go check them."""

    def test_one_octet_key_rejected_with_right_password(self) -> None:
        """A MAC keyed by a 1-octet PBKDF2 output is refused although the password is right."""
        data, password = hostile.pkcs12_pbmac1_short_key()
        with pytest.raises(DecodeError, match="1-octet MAC key"):
            certkit.load(data, password=password)

    def test_key_longer_than_hmac_rejected(self) -> None:
        """A PBMAC1 key longer than the HMAC's output (here 4096 octets) is malformed."""
        data, password = hostile.pkcs12_pbmac1_long_key()
        with pytest.raises(DecodeError, match="4096"):
            certkit.load(data, password=password)

    def test_absurd_iterations_rejected_before_work(self) -> None:
        """2**31-1 PBKDF2 iterations are refused by the per-item cap, not computed."""
        data, password = hostile.pkcs12_pbmac1_iterations()
        with pytest.raises(DecodeError, match="2147483647"):
            certkit.load(data, password=password)


class TestBudget:
    """One budget per load, charged before the work, for every attempt."""

    def test_error_says_what_was_asked_and_how_to_allow_it(self) -> None:
        """Over budget: a WorkLimitError naming the work asked for and max_work=."""
        data, password = hostile.jceks_heavy_keys(count=3, iterations=100_000)
        with pytest.raises(WorkLimitError, match="max_work=") as info:
            certkit.load(data, password=password, max_work=250_000)
        assert info.value.asked == 400_000
        assert info.value.limit == 250_000
        assert "the key of entry 'k1'" in str(info.value)

    def test_raising_the_limit_lets_the_file_load(self) -> None:
        """The same file loads (its keys locked: they do not decrypt) with max_work raised."""
        data, password = hostile.jceks_heavy_keys(count=3, iterations=100_000)
        store = certkit.load(data, password=password, max_work=600_000)
        assert [entry.is_locked for entry in store.entries] == [True, True, True]

    def test_work_limit_context(self) -> None:
        """certkit.work_limit sets the limit for loads that do not pass max_work."""
        data, password = hostile.jceks_heavy_keys(count=3, iterations=100_000)
        with certkit.work_limit(250_000), pytest.raises(WorkLimitError):
            certkit.load(data, password=password)
        with certkit.work_limit(600_000):
            assert len(certkit.load(data, password=password)) == 3

    def test_password_encodings_share_the_budget(self) -> None:
        """No password is tried as both "no" and "empty" password, each attempt charged."""
        data, _ = hostile.pkcs12_pbes1_bags(count=1, iterations=30_000)
        with pytest.raises(WorkLimitError) as info:
            certkit.load(data, password=None, max_work=50_000)
        assert info.value.asked == 60_000

    def test_unlocking_later_draws_on_the_same_budget(self) -> None:
        """A locked key unlocked after the load is charged to the load's budget."""
        data, _ = hostile.jceks_heavy_keys(count=2, iterations=100_000)
        store = certkit.load(data, max_work=300_000)
        first, second = store.entries
        with pytest.raises(PasswordError):
            first.key.unlock("guess")  # type: ignore[union-attr]
        with pytest.raises(WorkLimitError):
            second.key.unlock("guess")  # type: ignore[union-attr]

    def test_per_item_cap(self) -> None:
        """More than Java's 5,000,000 iterations is refused whatever max_work allows."""
        data, password = hostile.jceks_heavy_keys(count=1, iterations=5_000_001)
        with pytest.raises(DecodeError, match="5,000,000"):
            certkit.load(data, password=password, max_work=10**12)

    def test_message_states_the_default(self) -> None:
        """The error's advice quotes the real default budget."""
        from certkit._crypto.budget import DEFAULT_MAX_WORK

        error = WorkLimitError(what="x", asked=2, limit=1)
        assert f"default {DEFAULT_MAX_WORK:,}" in str(error)

    def test_bad_max_work(self) -> None:
        """max_work must be a positive integer."""
        with pytest.raises(TypeError, match="max_work"):
            certkit.load(b"", max_work=0)


class TestCLI:
    """--max-work on the command line."""

    def test_error_names_the_flag(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Over budget, the CLI names --max-work, not the API's keyword."""
        from certkit.cli import main

        data, password = hostile.jceks_heavy_keys(count=3, iterations=100_000)
        path = tmp_path / "heavy.jceks"
        path.write_bytes(data)
        (tmp_path / "pw").write_text(password)
        args = ["inspect", str(path), "--password-file", str(tmp_path / "pw")]
        assert main([*args, "--max-work", "250000"]) != 0
        err = capsys.readouterr().err
        assert "--max-work 500000" in err
        assert "max_work=" not in err
        assert main([*args, "--max-work", "600000"]) == 0


class TestJavaObjects:
    """JCEKS secret keys go through certkit's bounded Java object reader."""

    def test_serialization_bomb(self) -> None:
        """Nested Object[] arrays (exponential for javaobj) are refused by class, at once."""
        data, password = hostile.jceks_serialization_bomb()
        for pw in (None, password):
            with pytest.raises(DecodeError, match=r"\[Ljava.lang.Object;"):
                certkit.load(data, password=pw)

    def test_javaobj_never_imported_for_jceks(self) -> None:
        """Reading JCEKS secret keys imports neither pyjks nor javaobj."""
        code = textwrap.dedent("""
            import sys
            sys.path.insert(0, sys.argv[1])
            import hostile, certkit
            from certkit.errors import CertkitError
            for data, pw in (hostile.jceks_heavy_secrets(2, 1000),
                             hostile.jceks_serialization_bomb()):
                try:
                    certkit.load(data, password=pw)
                except CertkitError:
                    pass
            print(sorted(m for m in sys.modules if m.split(".")[0] in ("jks", "javaobj")))
        """)
        done = subprocess.run(
            [sys.executable, "-c", code, str(Path(__file__).parent)],
            capture_output=True, text=True, timeout=120, check=True)
        assert done.stdout.strip() == "[]"


class TestBKS:
    """Bouncy Castle stores."""

    def test_empty_sealed_entry(self) -> None:
        """A sealed entry with nothing sealed in it is noted, not an AttributeError."""
        password = "changeit"
        entries = (b"\x04" + b"\x00\x01e" + bytes(8) + bytes(4) + bytes(4)) + b"\x00"
        salt = b"\x02" * 20
        header = (2).to_bytes(4, "big") + (20).to_bytes(4, "big") + salt + (1024).to_bytes(4, "big")
        import hmac

        key = hostile._pkcs12_kdf(password, salt, 1024, 20)
        data = header + entries + hmac.new(key, entries, "sha1").digest()
        for pw in (None, password):
            try:
                store = certkit.load(data, password=pw)
            except CertkitError:
                continue
            assert len(store) == 0
            assert any("no content" in note for note in store.notes)


class TestFuzzFindings:
    """Inputs the fuzzing harness found, kept as regression tests."""

    def test_bit_string_name_attribute(self) -> None:
        """A subject attribute typed BIT STRING (allowed only for x500UniqueIdentifier) makes
        the name unrenderable, not a TypeError from cryptography (found by the jceks target)."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz-cn")])
        when = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
        der = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(7).not_valid_before(when)
               .not_valid_after(when + dt.timedelta(days=1)).sign(key, hashes.SHA256())
               .public_bytes(Encoding.DER))
        assert der.count(b"\x0c\x07fuzz-cn") == 2
        patched = der.replace(b"\x0c\x07fuzz-cn", b"\x03\x07\x00fuzzcn")
        certificate = certkit.Certificate(patched)
        assert certificate.subject == "<unrenderable name>"
        assert certificate.common_name is None
        store = certkit.KeyStore([certkit.TrustedCertEntry("c", certificate)])
        assert certkit.load(certkit.dump(store, "pem")).certificates[0].der == patched

    def test_bit_string_name_attribute_in_chains(self) -> None:
        """The same certificate goes through chain building and the verdict without escaping."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz-cn")])
        when = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
        der = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(7).not_valid_before(when)
               .not_valid_after(when + dt.timedelta(days=1)).sign(key, hashes.SHA256())
               .public_bytes(Encoding.DER))
        certificate = certkit.Certificate(der.replace(b"\x0c\x07fuzz-cn", b"\x03\x07\x00fuzzcn"))
        chain = certkit.build_chain(certificate, [], trust=None)
        assert chain.leaf == certificate
        assert certkit.chain_verdict(chain, trust=None).code
