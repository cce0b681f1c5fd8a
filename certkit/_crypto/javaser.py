"""A bounded reader for the few Java-serialized objects a JCEKS keystore holds.

JCEKS stores each secret key as a serialized ``SealedObjectForKeyProtector`` (a
``javax.crypto.SealedObject``) whose encrypted content is, once decrypted, a second stream
holding a ``javax.crypto.spec.SecretKeySpec`` or a ``java.security.KeyRep``. This module
reads exactly those classes, as the JDK's own filters allow them (JceKeyStore's
``DeserializationChecker`` and the ``jceks.key.serialFilter`` default), and nothing else:

* only the classes in :data:`ALLOWED_CLASSES` (and ``byte[]``), with their declared fields;
* no custom ``writeObject`` data, no externalizable objects, no block data;
* caps on nesting depth, object count, handles, and array and string sizes (never more
  than what is left of the input);
* nothing is instantiated: the result is plain data (:class:`JavaObject`, ``str``,
  ``bytes``, :class:`JavaEnum`).

A general-purpose parser (javaobj) formats nested arrays exponentially while debugging and
accepts any class; keystore bytes from strangers never reach one.
"""

from __future__ import annotations

import attrs

from certkit.errors import DecodeError, UnsupportedFormatError

__all__ = ["ALLOWED_CLASSES", "STREAM_HEADER", "JavaEnum", "JavaObject", "read_object"]

STREAM_HEADER = bytes.fromhex("aced0005")

#: What a JCEKS secret-key entry may contain, outside and inside the sealed content.
ALLOWED_CLASSES = frozenset({
    "com.sun.crypto.provider.SealedObjectForKeyProtector",
    "javax.crypto.SealedObject",
    "javax.crypto.spec.SecretKeySpec",
    "java.security.KeyRep",
    "java.security.KeyRep$Type",
    "java.lang.Enum",
})
_BYTE_ARRAY = "[B"

MAX_DEPTH = 4
MAX_OBJECTS = 32
MAX_HANDLES = 64

_TC_NULL, _TC_REFERENCE, _TC_CLASSDESC, _TC_OBJECT, _TC_STRING = 0x70, 0x71, 0x72, 0x73, 0x74
_TC_ARRAY, _TC_ENDBLOCKDATA, _TC_LONGSTRING, _TC_ENUM = 0x75, 0x78, 0x7C, 0x7E
_BASE_HANDLE = 0x7E0000
_SC_WRITE_METHOD, _SC_SERIALIZABLE, _SC_EXTERNALIZABLE, _SC_ENUM = 0x01, 0x02, 0x04, 0x10
_PRIMITIVE_SIZES = {"B": 1, "C": 2, "D": 8, "F": 4, "I": 4, "J": 8, "S": 2, "Z": 1}


@attrs.frozen
class JavaEnum:
    """An enum constant (``KeyRep$Type.SECRET``): its class and constant name."""

    class_name: str
    constant: str


@attrs.frozen
class JavaObject:
    """A deserialized object as data: its class, superclasses (most derived first), fields."""

    class_name: str
    superclasses: tuple[str, ...]
    fields: dict[str, Value] = attrs.field(eq=False)

    def is_a(self, name: str) -> bool:
        """Whether the object's class is ``name`` or extends it."""
        return name == self.class_name or name in self.superclasses


Value = JavaObject | JavaEnum | str | bytes | int | float | bool | None


@attrs.frozen
class _ClassDesc:
    name: str
    flags: int
    fields: tuple[tuple[str, str], ...]  # (type code, name)
    parent: _ClassDesc | None

    def chain(self) -> list[_ClassDesc]:
        """This class and its superclasses, most distant first (the order values come in)."""
        out: list[_ClassDesc] = []
        desc: _ClassDesc | None = self
        while desc is not None:
            out.append(desc)
            desc = desc.parent
        return out[::-1]


class _Stream:
    def __init__(self, data: bytes, start: int, what: str) -> None:
        self.data = data
        self.pos = start
        self.what = what
        self.handles: list[object] = []
        self.objects = 0

    def fail(self, problem: str) -> DecodeError:
        return DecodeError(f"{self.what}: {problem} (at byte {self.pos} of the Java object)",
                           offset=self.pos)

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise self.fail("the serialized object is truncated")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def utf(self, size_bytes: int = 2) -> str:
        size = self.uint(size_bytes)
        if size > len(self.data) - self.pos:
            raise self.fail(f"a string claims {size} bytes, more than are left")
        body = self.take(size)
        try:
            return body.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as err:
            raise self.fail("a string is not valid Java UTF-8") from err

    def new_handle(self, value: object) -> int:
        if len(self.handles) >= MAX_HANDLES:
            raise self.fail(f"more than {MAX_HANDLES} serialized objects")
        self.handles.append(value)
        return len(self.handles) - 1

    def reference(self) -> object:
        index = self.uint(4) - _BASE_HANDLE
        if not 0 <= index < len(self.handles) or self.handles[index] is None:
            raise self.fail("a back-reference points to no earlier object")
        return self.handles[index]

    # -- grammar ------------------------------------------------------------------------

    def class_desc(self) -> _ClassDesc | None:
        tag = self.uint(1)
        if tag == _TC_NULL:
            return None
        if tag == _TC_REFERENCE:
            found = self.reference()
            if not isinstance(found, _ClassDesc):
                raise self.fail("a class reference points to something that is not a class")
            return found
        if tag != _TC_CLASSDESC:
            raise self.fail(f"expected a class description, found tag 0x{tag:02x} "
                            "(proxy classes and others are not allowed)")
        name = self.utf()
        if name != _BYTE_ARRAY and name not in ALLOWED_CLASSES:
            raise UnsupportedFormatError(
                f"{self.what}: it holds a Java {name}, a class no keystore holds (certkit reads "
                f"only {', '.join(sorted(ALLOWED_CLASSES))} and byte[], as Java's own "
                "jceks.key.serialFilter allows)")
        self.take(8)  # serialVersionUID
        slot = self.new_handle(None)
        flags = self.uint(1)
        if flags & (_SC_WRITE_METHOD | _SC_EXTERNALIZABLE):
            raise self.fail(f"class {name} carries custom serialization data")
        count = self.uint(2)
        if count > 16:
            raise self.fail(f"class {name} declares {count} fields")
        fields: list[tuple[str, str]] = []
        for _ in range(count):
            code = chr(self.uint(1))
            field = self.utf()
            if code in _PRIMITIVE_SIZES:
                fields.append((code, field))
            elif code in "L[":
                self.string_value()  # the field's type name (checked when a value arrives)
                fields.append((code, field))
            else:
                raise self.fail(f"field {field} has unknown type code {code!r}")
        if self.uint(1) != _TC_ENDBLOCKDATA:
            raise self.fail(f"class {name} carries annotations")
        parent = self.class_desc()
        desc = _ClassDesc(name, flags, tuple(fields), parent)
        self.handles[slot] = desc
        return desc

    def string_value(self) -> str:
        tag = self.uint(1)
        if tag == _TC_REFERENCE:
            found = self.reference()
            if not isinstance(found, str):
                raise self.fail("a string reference points to something else")
            return found
        if tag not in (_TC_STRING, _TC_LONGSTRING):
            raise self.fail(f"expected a string, found tag 0x{tag:02x}")
        text = self.utf(2 if tag == _TC_STRING else 8)
        self.new_handle(text)
        return text

    def value(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self.fail(f"objects are nested more than {MAX_DEPTH} deep")
        tag = self.data[self.pos] if self.pos < len(self.data) else -1
        if tag == _TC_NULL:
            self.pos += 1
            return None
        if tag in (_TC_STRING, _TC_LONGSTRING):
            return self.string_value()
        if tag == _TC_REFERENCE:
            self.pos += 1
            found = self.reference()
            if isinstance(found, _ClassDesc):
                raise self.fail("a value refers to a class description")
            return found  # type: ignore[return-value]  # handles hold only values and classes
        self.pos += 1
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise self.fail(f"more than {MAX_OBJECTS} objects")
        if tag == _TC_ARRAY:
            return self.array()
        if tag == _TC_ENUM:
            return self.enum()
        if tag == _TC_OBJECT:
            return self.object(depth)
        raise self.fail(f"unexpected tag 0x{tag & 0xFF:02x}")

    def array(self) -> bytes:
        desc = self.class_desc()
        if desc is None or desc.name != _BYTE_ARRAY:
            raise self.fail("only byte arrays are allowed")
        slot = self.new_handle(None)
        size = self.uint(4)
        if size > len(self.data) - self.pos:
            raise self.fail(f"a byte array claims {size} bytes, more than are left")
        body = self.take(size)
        self.handles[slot] = body
        return body

    def enum(self) -> JavaEnum:
        desc = self.class_desc()
        if desc is None or desc.name != "java.security.KeyRep$Type":
            raise self.fail("only KeyRep$Type enums are allowed")
        slot = self.new_handle(None)
        found = JavaEnum(desc.name, self.string_value())
        self.handles[slot] = found
        return found

    def object(self, depth: int) -> JavaObject:
        desc = self.class_desc()
        if desc is None or desc.name in (_BYTE_ARRAY, "java.security.KeyRep$Type",
                                         "java.lang.Enum"):
            raise self.fail("an object has no class, or the class of an array or enum")
        slot = self.new_handle(None)
        fields: dict[str, Value] = {}
        for level in desc.chain():
            for code, name in level.fields:
                if code in _PRIMITIVE_SIZES:
                    raw = self.take(_PRIMITIVE_SIZES[code])
                    fields[name] = int.from_bytes(raw, "big", signed=code != "C")
                else:
                    fields[name] = self.value(depth + 1)
        supers = tuple(level.name for level in desc.chain()[:-1][::-1])
        found = JavaObject(desc.name, supers, fields)
        self.handles[slot] = found
        return found


def read_object(data: bytes, start: int = 0, *, what: str = "a Java object",
                ) -> tuple[Value, int]:
    """Read one serialized object (stream header included) at ``start``; return it and its end.

    Raises :class:`UnsupportedFormatError` for a class outside :data:`ALLOWED_CLASSES` and
    :class:`DecodeError` for anything else outside the grammar and limits above.
    """
    stream = _Stream(data, start, what)
    if stream.take(4) != STREAM_HEADER:
        raise stream.fail("not a Java serialization stream (wrong magic number)")
    return stream.value(0), stream.pos
