"""certkit's bounded Java object reader (certkit._crypto.javaser)."""

from __future__ import annotations

import pytest

from certkit._crypto import javaser
from certkit.errors import DecodeError, UnsupportedFormatError

HEADER = bytes.fromhex("aced0005")
# new javax.crypto.spec.SecretKeySpec(key, "AES") as JDK 17 serializes it.
SPEC_DESC = bytes.fromhex(
    "7372001f6a617661782e63727970746f2e737065632e5365637265744b6579537065635b470b66e230614d02"
    "00024c0009616c676f726974686d7400124c6a6176612f6c616e672f537472696e673b5b00036b657974000"
    "25b427870")
BYTE_ARRAY = bytes.fromhex("757200025b42acf317f8060854e00200007870")


def _spec(key: bytes) -> bytes:
    return SPEC_DESC + b"\x74\x00\x03AES" + BYTE_ARRAY + len(key).to_bytes(4, "big") + key


class TestReads:
    """What keystores hold is read as plain data."""

    def test_secret_key_spec(self) -> None:
        """A SecretKeySpec becomes its class name and fields; the end offset is exact."""
        data = HEADER + _spec(b"k" * 16) + b"trailing"
        value, end = javaser.read_object(data)
        assert isinstance(value, javaser.JavaObject)
        assert value.class_name == "javax.crypto.spec.SecretKeySpec"
        assert value.fields == {"algorithm": "AES", "key": b"k" * 16}
        assert data[end:] == b"trailing"


class TestRefuses:
    """Anything outside the allowed classes and limits is an error, at once."""

    def test_other_class(self) -> None:
        """A class no keystore holds is an UnsupportedFormatError naming it."""
        data = HEADER + b"\x73\x72\x00\x11java.util.HashMap" + bytes(8) + b"\x02\x00\x00\x78\x70"
        with pytest.raises(UnsupportedFormatError, match=r"java\.util\.HashMap"):
            javaser.read_object(data)

    def test_array_longer_than_input(self) -> None:
        """A byte array claiming more bytes than remain is refused before allocation."""
        data = HEADER + SPEC_DESC + b"\x74\x00\x03AES" + BYTE_ARRAY + b"\x7f\xff\xff\xff"
        with pytest.raises(DecodeError, match="more than are left"):
            javaser.read_object(data)

    def test_every_truncation(self) -> None:
        """Every prefix of a valid stream is a DecodeError, never another exception."""
        data = HEADER + _spec(b"k" * 16)
        for end in range(len(data)):
            with pytest.raises(DecodeError):
                javaser.read_object(data[:end])

    def test_dangling_reference(self) -> None:
        """A back-reference to a handle never assigned is refused."""
        with pytest.raises(DecodeError, match="back-reference"):
            javaser.read_object(HEADER + b"\x71\x00\x7e\x00\x09")

    def test_custom_serialization_data(self) -> None:
        """A class description with SC_WRITE_METHOD (custom data) is refused."""
        data = HEADER + SPEC_DESC.replace(bytes.fromhex("4d0200"), bytes.fromhex("4d0300"), 1)
        with pytest.raises(DecodeError, match="custom serialization"):
            javaser.read_object(data + b"\x74\x00\x03AES")
