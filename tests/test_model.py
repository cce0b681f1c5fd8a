"""The object model: value semantics, fingerprints, names, chains, keystore edits, reprs."""

from __future__ import annotations

import base64
import hashlib
import pathlib
import re

import attrs
import pytest
from conftest import NOT_AFTER, NOT_BEFORE, PKI, issue, make_key
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import certkit
from certkit import (
    Attributes,
    Certificate,
    CertificateRequest,
    Chain,
    KeyEntry,
    KeyStore,
    LockedKey,
    PrivateKey,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit.errors import (
    AliasError,
    CertkitError,
    ChainError,
    DecodeError,
    KeyMismatchError,
    PasswordError,
)
from certkit.formats import DumpOptions, LoadOptions

HEX64 = re.compile(r"[0-9a-f]{64}")


def vector(*parts: str) -> pathlib.Path:
    """A file from the installed ``cryptography-vectors`` package."""
    vectors = pytest.importorskip("cryptography_vectors")
    return pathlib.Path(vectors.__file__).parent.joinpath(*parts)


def pem_der(path: pathlib.Path) -> bytes:
    """The DER inside a one-block PEM file."""
    lines = path.read_text().splitlines()
    return base64.b64decode("".join(ln for ln in lines if not ln.startswith("-----")))


class TestCertificateValue:
    def test_equal_by_der(self, pki: PKI) -> None:
        """Two Certificate objects built from the same DER are equal and hash alike."""
        cert = pki.leaf.certificate
        again = Certificate(bytes(cert.der))
        assert again == cert
        assert hash(again) == hash(cert)
        assert len({cert, again, Certificate.from_x509(cert.x509)}) == 1

    def test_different_certificates_differ(self, pki: PKI) -> None:
        """Certificates with different DER are unequal."""
        assert pki.leaf.certificate != pki.intermediate.certificate
        assert len(set(pki.chain)) == 3

    def test_load_pem_and_der(self, pki: PKI) -> None:
        """Certificate.load reads PEM and DER into the same value."""
        cert = pki.root.certificate
        assert Certificate.load(cert.to_pem()) == cert
        assert Certificate.load(cert.der) == cert

    def test_garbage_is_decode_error(self) -> None:
        """Bytes that are no certificate raise DecodeError, which is also a ValueError."""
        with pytest.raises(DecodeError, match=r"not a valid X\.509 certificate") as info:
            Certificate(b"\x30\x03\x02\x01\x01")
        assert isinstance(info.value, ValueError)

    def test_invalid_version_is_decode_error(self) -> None:
        """A certificate with version 7 (a cryptography-vectors file) raises DecodeError."""
        with pytest.raises(DecodeError):
            Certificate(pem_der(vector("x509", "custom", "invalid_version.pem")))


class TestFingerprints:
    def test_sha256_lower_hex_without_colons(self, pki: PKI) -> None:
        """fingerprint() is the SHA-256 of the DER as 64 lower-case hex digits."""
        cert = pki.leaf.certificate
        assert HEX64.fullmatch(cert.fingerprint())
        assert cert.fingerprint() == hashlib.sha256(cert.der).hexdigest()

    def test_other_algorithms(self, pki: PKI) -> None:
        """fingerprint('sha1') and ('SHA-512') digest the DER with that algorithm."""
        cert = pki.leaf.certificate
        assert cert.fingerprint("sha1") == hashlib.sha1(cert.der).hexdigest()  # noqa: S324
        assert cert.fingerprint("SHA-512") == hashlib.sha512(cert.der).hexdigest()

    def test_unknown_algorithm(self, pki: PKI) -> None:
        """An unknown digest name raises ValueError naming the choices."""
        with pytest.raises(ValueError, match="unknown digest"):
            pki.leaf.certificate.fingerprint("crc32")

    def test_public_key_fingerprint_is_spki_sha256(self, pki: PKI) -> None:
        """Key and certificate public-key fingerprints are the SHA-256 of the same SPKI."""
        spki = pki.leaf.key.key.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        expected = hashlib.sha256(spki).hexdigest()
        assert pki.leaf.certificate.public_key_fingerprint == expected
        assert pki.leaf.key.public_key_fingerprint == expected


class TestCertificateFields:
    def test_subject_is_rfc4514(self, pki: PKI) -> None:
        """subject and issuer are RFC 4514 strings, most specific attribute last-in-first-out."""
        assert pki.leaf.certificate.subject == "O=certkit tests,CN=localhost"
        assert pki.leaf.certificate.issuer == "O=certkit tests,CN=certkit Test Intermediate CA"

    def test_subject_escapes_special_characters(self) -> None:
        """RFC 4514 special characters in a name are backslash-escaped."""
        cert = issue("a,b+c", key=make_key("EC-P256")).certificate
        assert cert.subject == r"O=certkit tests,CN=a\,b\+c"
        assert cert.common_name == "a,b+c"

    def test_fixed_dates_serial_san_ca(self, pki: PKI) -> None:
        """Validity, SANs and the CA flag come straight from the certificate."""
        leaf = pki.leaf.certificate
        assert leaf.not_before == NOT_BEFORE
        assert leaf.not_after == NOT_AFTER
        assert leaf.san == ("localhost", "www.example.test")
        assert not leaf.is_ca
        assert pki.intermediate.certificate.is_ca
        assert leaf.serial_number == leaf.x509.serial_number

    def test_self_signed(self, pki: PKI) -> None:
        """Only the root is self-signed."""
        assert pki.root.certificate.is_self_signed
        assert not pki.intermediate.certificate.is_self_signed
        assert not pki.leaf.certificate.is_self_signed

    def test_overlong_country_renders_without_warning(self) -> None:
        """A subject with an 8-letter country (bad_country.pem) renders with no warning raised."""
        cert = Certificate(pem_der(vector("x509", "custom", "bad_country.pem")))
        assert "C=too long" in cert.subject
        assert cert.common_name is None
        assert "bad_country" not in repr(cert)

    def test_unparseable_extension_is_certkit_error(self) -> None:
        """A SAN with an x400Address raises DecodeError from san, not cryptography's error."""
        data = vector("x509", "san_x400address.der").read_bytes()
        cert = Certificate(data)
        with pytest.raises(DecodeError, match="extension"):
            _ = cert.san

    def test_duplicate_extension_is_certkit_error(self) -> None:
        """A certificate with two basicConstraints raises DecodeError from is_ca."""
        cert = Certificate(pem_der(vector("x509", "custom", "two_basic_constraints.pem")))
        with pytest.raises(DecodeError, match="extension"):
            _ = cert.is_ca


class TestPrivateKey:
    def test_equal_by_pkcs8(self, pki: PKI) -> None:
        """A key re-read from its PKCS#8 equals the original; different keys differ."""
        key = pki.leaf.key
        assert PrivateKey.load(key.pkcs8) == key
        assert hash(PrivateKey.load(key.pkcs8)) == hash(key)
        assert key != pki.root.key

    @pytest.mark.parametrize(("kind", "name"), [
        ("RSA-1024", "RSA-1024"), ("EC-P256", "EC-P256"), ("EC-P384", "EC-P384"),
        ("Ed25519", "Ed25519"),
    ])
    def test_algorithm(self, kind: str, name: str) -> None:
        """algorithm names the key type and size."""
        assert make_key(kind).algorithm == name

    def test_matches(self, pki: PKI, other_pki: PKI) -> None:
        """matches() compares public keys: true for its own certificate only."""
        assert pki.leaf.key.matches(pki.leaf.certificate)
        assert not pki.leaf.key.matches(pki.intermediate.certificate)
        assert not pki.leaf.key.matches(other_pki.leaf.certificate)

    def test_validate_rejects_inconsistent_rsa(self) -> None:
        """An RSA key whose CRT values are wrong loads fast but fails validate()."""
        good = rsa.generate_private_key(65537, 1024).private_numbers()  # noqa: S505 - speed
        bad = rsa.RSAPrivateNumbers(
            good.p, good.q, good.d, good.dmp1, good.dmq1, (good.iqmp + 1) % good.p,
            good.public_numbers)
        key = PrivateKey(bad.private_key(unsafe_skip_rsa_key_validation=True))
        with pytest.raises(DecodeError, match="inconsistent"):
            key.validate()


class TestNoSecretsInRepr:
    def test_private_key_repr(self, pki: PKI) -> None:
        """repr of a key, a key entry and a store shows no key bytes or private numbers."""
        key = pki.leaf.key
        entry = KeyEntry("k", key, pki.chain)
        text = repr(KeyStore([entry])) + repr(entry) + repr(key) + str(key)
        numbers = key.key.private_numbers()  # type: ignore[union-attr]
        assert str(numbers.d) not in text
        assert f"{numbers.d:x}" not in text
        assert f"{numbers.p:x}" not in text
        assert key.pkcs8.hex() not in text
        assert base64.b64encode(key.pkcs8)[20:60].decode() not in text
        assert key.public_key_fingerprint in text

    def test_secret_key_repr(self) -> None:
        """A secret key entry's repr gives its size, never its bytes."""
        secret = bytes(range(16))
        entry = SecretKeyEntry("aes", "AES", secret)
        assert secret.hex() not in repr(entry)
        assert repr(secret) not in repr(entry)
        assert "bits=128" in repr(entry)

    def test_locked_key_repr(self) -> None:
        """A locked key's repr shows neither its encrypted bytes nor anything of the unlocker."""
        locked = LockedKey("jks", b"\x8a\x01secret-bytes", lambda _pw: make_key("EC-P256"))
        assert "secret-bytes" not in repr(locked)

    def test_options_repr_hides_passwords(self) -> None:
        """LoadOptions and DumpOptions never show passwords."""
        text = repr(LoadOptions(password="hunter2", key_passwords={"a": "swordfish"}))
        text += repr(DumpOptions(password=b"hunter2"))
        assert "hunter2" not in text
        assert "swordfish" not in text

    def test_password_error_does_not_echo_password(self, pki: PKI) -> None:
        """A wrong password never appears in the error message."""
        encrypted = pki.leaf.key.to_pem(password="right-one")
        with pytest.raises(PasswordError) as info:
            PrivateKey.load(encrypted, password="Tr0ub4dor&3")
        assert "Tr0ub4dor" not in str(info.value)
        assert "right-one" not in str(info.value)


class TestChain:
    def test_complete(self, pki: PKI) -> None:
        """leaf → intermediate → root is complete, with a root and nothing missing."""
        chain = Chain(pki.chain)
        assert chain.is_complete
        assert chain.leaf == pki.leaf.certificate
        assert chain.root == pki.root.certificate
        assert chain.missing_issuer is None
        assert chain.broken_link is None
        assert len(chain) == 3
        assert list(chain) == list(pki.chain)

    def test_incomplete(self, pki: PKI) -> None:
        """Without the root the chain is incomplete and names the root as missing."""
        chain = Chain(pki.chain[:2])
        assert not chain.is_complete
        assert chain.root is None
        assert chain.missing_issuer == pki.root.certificate.subject
        assert chain.broken_link is None

    def test_broken(self, pki: PKI, other_pki: PKI) -> None:
        """A leaf followed by a foreign intermediate is broken at 0 and names the leaf's issuer."""
        chain = Chain((pki.leaf.certificate, other_pki.intermediate.certificate,
                       other_pki.root.certificate))
        assert chain.broken_link == 0
        assert not chain.is_complete
        assert chain.missing_issuer == pki.leaf.certificate.issuer

    def test_same_name_wrong_key_is_broken(self, pki: PKI) -> None:
        """An issuer with the right name but another key does not complete the chain."""
        impostor = issue("certkit Test Intermediate CA", issuer=pki.root, ca=True,
                         key=make_key("EC-P256"))
        chain = Chain((pki.leaf.certificate, impostor.certificate, pki.root.certificate))
        assert chain.broken_link == 0
        assert not chain.is_complete

    def test_empty_and_single_root(self, pki: PKI) -> None:
        """An empty chain has no leaf, root or missing issuer; a lone root is complete."""
        empty = Chain()
        assert not empty
        assert empty.leaf is None
        assert empty.root is None
        assert empty.missing_issuer is None
        assert not empty.is_complete
        assert Chain([pki.root.certificate]).is_complete

    def test_chain_is_immutable_tuple(self, pki: PKI) -> None:
        """A chain built from a list stores a tuple and cannot be assigned to."""
        chain = Chain(list(pki.chain))
        assert isinstance(chain.certificates, tuple)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            chain.certificates = ()  # type: ignore[misc]


class TestKeyStore:
    @pytest.fixture
    def store(self, pki: PKI) -> KeyStore:
        """A store with a key entry and a trusted root."""
        return KeyStore([
            KeyEntry("server", pki.leaf.key, pki.chain[:2]),
            TrustedCertEntry("root", pki.root.certificate),
        ])

    def test_lookup(self, store: KeyStore, pki: PKI) -> None:
        """Entries are found by alias, listed in order, and grouped by kind."""
        assert store.aliases == ("server", "root")
        assert len(store) == 2
        assert "server" in store
        assert "nobody" not in store
        assert store.get("nobody") is None
        assert store.key_entries == (store["server"],)
        assert store.trusted_entries == (store["root"],)
        assert store.certificates == pki.chain

    def test_unknown_alias(self, store: KeyStore) -> None:
        """An unknown alias raises AliasError (a KeyError) listing the known ones."""
        with pytest.raises(AliasError, match="'server', 'root'") as info:
            store["nobody"]
        assert isinstance(info.value, KeyError)
        assert info.value.alias == "nobody"

    def test_add_returns_new_store(self, store: KeyStore, pki: PKI) -> None:
        """add() returns a new store and leaves the original as it was."""
        bigger = store.add(TrustedCertEntry("int", pki.intermediate.certificate))
        assert bigger.aliases == ("server", "root", "int")
        assert store.aliases == ("server", "root")

    def test_add_duplicate_alias(self, store: KeyStore, pki: PKI) -> None:
        """Adding an entry under a taken alias raises AliasError."""
        with pytest.raises(AliasError, match="already exists"):
            store.add(TrustedCertEntry("root", pki.intermediate.certificate))

    def test_constructor_rejects_duplicate_aliases(self, pki: PKI) -> None:
        """A store cannot be built with two entries under one alias."""
        with pytest.raises(AliasError, match="more than one entry"):
            KeyStore([TrustedCertEntry("x", pki.root.certificate),
                      TrustedCertEntry("x", pki.intermediate.certificate)])

    def test_remove_replace(self, store: KeyStore, pki: PKI) -> None:
        """remove() and replace() return new stores; unknown aliases raise AliasError."""
        assert store.remove("root").aliases == ("server",)
        replaced = store.replace(TrustedCertEntry("root", pki.intermediate.certificate))
        assert replaced["root"].certificate == pki.intermediate.certificate  # type: ignore[union-attr]
        assert store["root"].certificate == pki.root.certificate  # type: ignore[union-attr]
        with pytest.raises(AliasError):
            store.remove("nobody")
        with pytest.raises(AliasError):
            store.replace(TrustedCertEntry("nobody", pki.root.certificate))

    def test_rename(self, pki: PKI) -> None:
        """rename() moves the entry to the new alias, its friendly name following."""
        store = KeyStore([TrustedCertEntry("a", pki.root.certificate,
                                           Attributes(friendly_name="a")),
                          TrustedCertEntry("b", pki.intermediate.certificate)])
        renamed = store.rename("a", "c")
        assert renamed.aliases == ("c", "b")
        assert renamed["c"].attributes.friendly_name == "c"
        with pytest.raises(AliasError):
            store.rename("a", "b")

    def test_equality_ignores_provenance(self, store: KeyStore) -> None:
        """Stores with the same entries are equal whatever format and notes they carry."""
        assert attrs.evolve(store, format="pem", notes=("x",)) == store
        assert store.with_entries(store.entries[:1]) != store

    def test_locked_entry(self, pki: PKI) -> None:
        """A locked key entry raises PasswordError naming the alias until unlocked."""
        key = pki.leaf.key

        def unlocker(password: object) -> PrivateKey:
            if password != "pw":
                raise PasswordError("wrong")
            return key

        store = KeyStore([KeyEntry("srv", LockedKey("jks", b"x", unlocker))])
        with pytest.raises(PasswordError) as info:
            _ = store["srv"].private_key  # type: ignore[union-attr]
        assert info.value.alias == "srv"
        assert info.value.missing
        with pytest.raises(PasswordError, match="srv"):
            store.unlock({"srv": "nope"})
        assert store.unlock({"srv": "pw"})["srv"].key == key  # type: ignore[union-attr]


class TestCertificateRequest:
    def test_request_value(self) -> None:
        """A request from cryptography-vectors has its subject and compares by DER."""
        der = pem_der(vector("x509", "requests", "rsa_sha256.pem"))
        request = CertificateRequest(der)
        assert request == CertificateRequest(bytes(der))
        assert request.subject.startswith("CN=cryptography.io")
        assert HEX64.fullmatch(request.public_key_fingerprint)
        assert request.subject in repr(request)

    def test_bad_version_is_decode_error(self) -> None:
        """A request with version 1 (bad-version.pem) raises DecodeError, a CertkitError."""
        with pytest.raises(CertkitError):
            CertificateRequest(pem_der(vector("x509", "requests", "bad-version.pem")))


class TestIssuedByMemory:
    def test_answers_are_remembered_per_pair(self, pki: PKI, other_pki: PKI,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
        """Each (certificate, issuer) pair is verified once; every answer stays right."""
        from certkit import _model

        monkeypatch.setattr(_model, "_LINKS", {})
        checks: list[tuple[bytes, bytes]] = []
        real = _model._judge_link

        def counting(cert: Certificate, issuer: Certificate) -> _model.Link:
            checks.append((cert.der, issuer.der))
            return real(cert, issuer)

        monkeypatch.setattr(_model, "_judge_link", counting)
        leaf, inter = pki.leaf.certificate, pki.intermediate.certificate
        for _ in range(3):
            assert leaf.is_issued_by(inter)
            assert Certificate(leaf.der).is_issued_by(Certificate(inter.der))
            assert not leaf.is_issued_by(other_pki.intermediate.certificate)
            assert not inter.is_issued_by(leaf)
        assert len(checks) == 3

    def test_memory_is_bounded(self, pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
        """At the limit the memory starts over (answers are recomputed if asked again)."""
        from certkit import _model

        monkeypatch.setattr(_model, "_LINKS", {})
        monkeypatch.setattr(_model, "_LINKS_LIMIT", 2)
        chain = pki.chain
        assert chain[0].is_issued_by(chain[1])
        assert chain[1].is_issued_by(chain[2])
        assert chain[2].is_issued_by(chain[2])
        assert list(_model._LINKS) == [(chain[2].der, chain[2].der)]
        assert chain[0].is_issued_by(chain[1])
        assert len(_model._LINKS) == 2

    def test_threads_can_share_the_memory(self, pki: PKI, other_pki: PKI,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """Threads filling and emptying the memory at once never see an error or wrong answer."""
        import threading

        from certkit import _model

        monkeypatch.setattr(_model, "_LINKS", {})
        monkeypatch.setattr(_model, "_LINKS_LIMIT", 3)
        certs = (*pki.chain, other_pki.leaf.certificate)
        signed = {(0, 1), (1, 2), (2, 2)}  # leaf by intermediate, intermediate by root, root
        pairs = [(cert, issuer, (c, i) in signed)
                 for c, cert in enumerate(certs) for i, issuer in enumerate(pki.chain)]
        failures: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(30):
                    for cert, issuer, expected in pairs:
                        assert cert.is_issued_by(issuer) is expected
            except BaseException as err:  # noqa: BLE001 - reported by the main thread
                failures.append(err)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []


class TestKeyEntryConsistency:
    """A key entry's key belongs to its leaf and its chain is leaf first, or it is not built."""

    def test_mismatched_key_is_refused(self, pki: PKI, other_pki: PKI) -> None:
        """A key that is not the leaf's raises KeyMismatchError naming the alias."""
        with pytest.raises(KeyMismatchError, match="'x'") as info:
            KeyEntry("x", other_pki.leaf.key, pki.chain)
        assert info.value.alias == "x"

    def test_ec_key_with_rsa_leaf_is_refused(self, pki: PKI) -> None:
        """Keys of another algorithm than the certificate's are a mismatch too."""
        with pytest.raises(KeyMismatchError, match=r"localhost"):
            KeyEntry("x", make_key("EC-P256"), [pki.leaf.certificate])

    def test_chain_out_of_order_names_the_link(self, pki: PKI) -> None:
        """Intermediate before leaf: ChainError naming the certificate out of place."""
        with pytest.raises(ChainError, match=r"not leaf first.*certificate 2 \(O=certkit tests,"
                                             r"CN=localhost\).*order_chain"):
            KeyEntry("x", pki.leaf.key, [pki.intermediate.certificate, pki.leaf.certificate])

    def test_root_before_intermediate_is_refused(self, pki: PKI) -> None:
        """An issuer further down the chain than right after its subject is out of order too."""
        shuffled = [pki.leaf.certificate, pki.root.certificate, pki.intermediate.certificate]
        with pytest.raises(ChainError, match="certificate 1"):
            KeyEntry("x", pki.leaf.key, shuffled)

    def test_order_chain_mends_it_in_one_call(self, pki: PKI) -> None:
        """certkit.order_chain puts a shuffled chain leaf first, and the entry builds."""
        shuffled = [pki.root.certificate, pki.intermediate.certificate, pki.leaf.certificate]
        entry = KeyEntry("x", pki.leaf.key, certkit.order_chain(shuffled))
        assert entry.chain.certificates == pki.chain

    def test_incomplete_chain_is_not_disorder(self, pki: PKI) -> None:
        """A leaf with its root but no intermediate is incomplete, which the model allows."""
        entry = KeyEntry("x", pki.leaf.key, [pki.leaf.certificate, pki.root.certificate])
        assert entry.is_consistent

    def test_unchecked_flags_the_entry(self, pki: PKI, other_pki: PKI) -> None:
        """KeyEntry.unchecked builds a mismatched entry for forensics and says what is wrong."""
        entry = KeyEntry.unchecked("x", other_pki.leaf.key, pki.chain)
        assert isinstance(entry.problem, KeyMismatchError)
        assert not entry.is_consistent
        with pytest.raises(KeyMismatchError):
            entry.check()
        good = KeyEntry.unchecked("y", pki.leaf.key, pki.chain)
        assert good.problem is None

    def test_flagged_entry_renamed_names_its_new_alias(self, pki: PKI, other_pki: PKI) -> None:
        """The problem follows the entry through a rename."""
        store = KeyStore([KeyEntry.unchecked("x", other_pki.leaf.key, pki.chain)])
        renamed = store.rename("x", "site")["site"]
        assert isinstance(renamed, KeyEntry)
        assert "'site'" in str(renamed.problem)

    @pytest.mark.parametrize("fmt", ["pem", "pkcs12", "jks", "der"])
    def test_dump_of_a_mismatched_entry_raises(self, pki: PKI, other_pki: PKI,
                                                fmt: str) -> None:
        """dump refuses a flagged entry in every format."""
        store = KeyStore([KeyEntry.unchecked("x", other_pki.leaf.key, pki.chain[:1])])
        with pytest.raises(KeyMismatchError, match="nothing written"):
            certkit.dump(store, fmt, password="changeit")

    def test_save_writes_nothing(self, pki: PKI, other_pki: PKI, tmp_path: pathlib.Path) -> None:
        """save raises before a file exists."""
        store = KeyStore([KeyEntry.unchecked("x", other_pki.leaf.key, pki.chain)])
        target = tmp_path / "t.jks"
        with pytest.raises(KeyMismatchError):
            certkit.save(store, target, password="changeit")
        assert list(tmp_path.iterdir()) == []

    def test_check_parses_nothing_for_kept_bytes(self, pki: PKI, other_pki: PKI) -> None:
        """A key kept as PKCS#8 and a lazy certificate are compared by bytes, unparsed."""
        leaf = Certificate(pki.leaf.certificate.der, lazy=True)
        KeyEntry("x", PrivateKey.from_pkcs8(pki.leaf.key.pkcs8), [leaf])
        assert leaf._parsed is None
        wrong = Certificate(other_pki.leaf.certificate.der, lazy=True)
        with pytest.raises(KeyMismatchError):
            KeyEntry("x", PrivateKey.from_pkcs8(pki.leaf.key.pkcs8), [wrong])

    def test_jdk_style_ec_key_is_checked_when_used(self, pki: PKI) -> None:
        """An EC PKCS#8 without its public point cannot be compared unparsed: checked on use."""
        key = make_key("EC-P256")
        bare = _without_public_point(key.pkcs8)
        entry = KeyEntry("x", PrivateKey.from_pkcs8(bare), [pki.leaf.certificate])
        with pytest.raises(KeyMismatchError):
            _ = entry.private_key
        with pytest.raises(KeyMismatchError):
            certkit.dump(KeyStore([entry]), "pem")

    def test_mismatched_jks_loads_flagged_with_a_note(self, pki: PKI, other_pki: PKI,
                                                       tmp_path: pathlib.Path) -> None:
        """A JKS (written by pyjks) whose key is not its certificate's loads, noted and flagged."""
        jks = pytest.importorskip("jks")
        entry = jks.PrivateKeyEntry.new("odd", [pki.leaf.certificate.der],
                                        other_pki.leaf.key.pkcs8, "pkcs8")
        path = tmp_path / "odd.jks"
        jks.KeyStore.new("jks", [entry]).save(str(path), "changeit")
        store = certkit.load(path, password="changeit")
        loaded = store.get("odd", KeyEntry)
        assert isinstance(loaded.problem, KeyMismatchError)
        assert any("'odd'" in note and "flagged" in note for note in store.notes)
        with pytest.raises(KeyMismatchError):
            certkit.save(store, tmp_path / "odd.p12", password="changeit")
        assert not (tmp_path / "odd.p12").exists()

    def test_unlocking_checks_the_key(self, pki: PKI, other_pki: PKI) -> None:
        """A locked key whose container recorded no fingerprint is checked when unlocked."""
        locked = LockedKey("jks", b"sealed", lambda _pw: other_pki.leaf.key)
        entry = KeyEntry("x", locked, pki.chain)
        with pytest.raises(KeyMismatchError):
            entry.unlock("pw")


def _without_public_point(pkcs8: bytes) -> bytes:
    """Re-encode an EC PKCS#8 key as the JDK does: the private scalar only."""
    from asn1crypto import keys

    info = keys.PrivateKeyInfo.load(pkcs8)
    inner = info["private_key"].parsed
    bare = keys.ECPrivateKey({"version": "ecPrivkeyVer1",
                              "private_key": inner["private_key"].native})
    return keys.PrivateKeyInfo({"version": 0, "private_key_algorithm":
                                info["private_key_algorithm"], "private_key": bare}).dump()


class TestLockedKeySurface:
    """A locked key answers what its certificate can tell; only the secret needs the password."""

    @pytest.fixture
    def locked_store(self, pki: PKI, tmp_path: pathlib.Path) -> KeyStore:
        """A JKS whose one key entry has a key password of its own, loaded without it."""
        path = tmp_path / "locked.jks"
        certkit.save(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain)]), path,
                     password="storepass", key_password="keypass")
        return certkit.load(path, password="storepass")

    def test_answers_from_the_certificate(self, locked_store: KeyStore, pki: PKI) -> None:
        """algorithm, public_key_fingerprint and matches work on the locked key."""
        entry = locked_store.get("site", KeyEntry)
        assert entry.is_locked
        assert entry.key.algorithm == "RSA-2048"
        expected = hashlib.sha256(pki.leaf.certificate.x509.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
        assert entry.key.public_key_fingerprint == expected
        assert entry.key.matches(pki.leaf.certificate)
        assert not entry.key.matches(pki.root.certificate)

    def test_secret_needs_the_password(self, locked_store: KeyStore) -> None:
        """to_pem and pkcs8 raise PasswordError naming the alias."""
        entry = locked_store.get("site", KeyEntry)
        with pytest.raises(PasswordError, match="'site'") as info:
            entry.key.to_pem()
        assert info.value.alias == "site"
        with pytest.raises(PasswordError, match="'site'"):
            _ = entry.key.pkcs8

    def test_unlocked_is_the_key(self, locked_store: KeyStore, pki: PKI) -> None:
        """Unlocking gives the key back, checked against the leaf."""
        entry = locked_store.get("site", KeyEntry).unlock("keypass")
        assert entry.private_key == pki.leaf.key


class TestTypedAccess:
    """store.get(alias, kind) returns that kind or says what the entry is."""

    @pytest.fixture
    def store(self, pki: PKI) -> KeyStore:
        """A key entry, a trusted certificate and a secret key."""
        return KeyStore([KeyEntry("site", pki.leaf.key, pki.chain),
                         TrustedCertEntry("ca", pki.root.certificate),
                         SecretKeyEntry("aes", "AES", bytes(16))])

    def test_right_kind(self, store: KeyStore) -> None:
        """The entry comes back as the kind asked for."""
        assert store.get("site", KeyEntry).alias == "site"
        assert store.get("ca", TrustedCertEntry).certificate.is_ca
        assert store.get("aes", SecretKeyEntry).secret == bytes(16)

    def test_wrong_kind(self, store: KeyStore) -> None:
        """A trusted certificate asked for as a key entry: AliasError saying what it is."""
        with pytest.raises(AliasError, match=r"'ca' is a trusted certificate.*'site'"):
            store.get("ca", KeyEntry)

    def test_missing_alias(self, store: KeyStore) -> None:
        """An unknown alias with a kind raises; without one, get returns None as before."""
        with pytest.raises(AliasError, match="'nope'"):
            store.get("nope", KeyEntry)
        assert store.get("nope") is None


class TestShortReprs:
    """Store and chain reprs are counts and names, not every field."""

    def test_keystore_repr(self, pki: PKI) -> None:
        """Counts by kind and the aliases; long stores are cut."""
        entries = [TrustedCertEntry(f"ca{i}", pki.root.certificate) for i in range(20)]
        text = repr(KeyStore([KeyEntry("site", pki.leaf.key, pki.chain), *entries]))
        assert text.startswith("KeyStore(format=None, key_entries=1, trusted_entries=20, "
                               "secret_entries=0, aliases=['site', 'ca0',")
        assert "13 more" in text
        assert "Certificate(" not in text
        assert len(text) < 300

    def test_chain_repr(self, pki: PKI) -> None:
        """A chain shows its subjects, leaf first."""
        assert repr(Chain(pki.chain)) == (
            "Chain(['O=certkit tests,CN=localhost', "
            "'O=certkit tests,CN=certkit Test Intermediate CA', "
            "'O=certkit tests,CN=certkit Test Root CA'])")


class TestCycleOrder:
    """A chain whose top certificate closes a loop is leaf first, as keytool builds it."""

    def test_cycle_is_not_disorder_but_a_reversed_pair_is(self) -> None:
        """[A, B] where B also names A as issuer is accepted; [B's subject, A] reversed is not."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        key_a, key_b = make_key("EC-P256"), make_key("EC-P256")
        name_a = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loop A")])
        name_b = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loop B")])
        when = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)

        def cert(subject: x509.Name, issuer: x509.Name, public: PrivateKey,
                 signer: PrivateKey) -> Certificate:
            built = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                     .public_key(public.key.public_key())  # type: ignore[arg-type]
                     .serial_number(x509.random_serial_number()).not_valid_before(when)
                     .not_valid_after(when.replace(year=2099))
                     .sign(signer.key, hashes.SHA256()))  # type: ignore[arg-type]
            return Certificate.from_x509(built)

        a = cert(name_a, name_b, key_a, key_b)
        b = cert(name_b, name_a, key_b, key_a)
        assert KeyEntry("loop", key_a, [a, b]).chain == Chain([a, b])
        leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Leaf")]), name_a,
                    make_key("EC-P256"), key_a)
        with pytest.raises(CertkitError):
            KeyEntry("reversed", key_b, [b, leaf, a])
