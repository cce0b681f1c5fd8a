"""Coverage-guided fuzzing of certkit's readers and writers, with atheris (libFuzzer).

    python fuzz/fuzz_certkit.py FORMAT [CORPUS_DIR ...] [libFuzzer options]

FORMAT is a registered format (``pem``, ``der``, ``pkcs7``, ``pkcs12``, ``jks``, ``jceks``,
``bks``) or ``any`` (content detection first, as ``certkit.load`` does). Each input is
loaded without a password and with the seed corpus's password; whatever loads is dumped
into every writable format and the output loaded again. An exception that is not a
:class:`~certkit.errors.CertkitError` is a finding: atheris stops, prints the traceback and
writes the input as ``crash-…``; libFuzzer's ``-timeout`` turns a hang into a finding too.
``nox -s fuzz`` runs every target with a time limit (see docs/untrusted-input.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["certkit"]):
    import certkit
    import certkit._assemble
    import certkit._crypto.der
    import certkit._crypto.javakeys
    import certkit._crypto.javaser
    import certkit._crypto.keys
    import certkit._crypto.pbe
    import certkit._crypto.pem
    import certkit._crypto.twofish
    import certkit._model
    import certkit._ops.api
    import certkit.formats.der
    import certkit.formats.jks
    import certkit.formats.pem
    import certkit.formats.pkcs7
    import certkit.formats.pkcs12
    from certkit import formats
    from certkit.errors import CertkitError
    from certkit.formats import DumpOptions, LoadOptions

#: The password every seed is written with (pyjks's test keystores use it too).
PASSWORD = "12345678"  # noqa: S105 - a test password, written into the seeds
#: Small, so that an input asking for heavy key derivation fails fast instead of slowing
#: the run; the budget itself is what such inputs exercise.
MAX_WORK = 200_000
_DUMP_OPTIONS = {"pkcs12": {"iterations": 1}, "jceks": {"iterations": 1}}
_WRITABLE = [spec.name for spec in formats.FORMATS if spec.writable]


def _load(data: bytes, fmt: str, password: str | None) -> certkit.KeyStore:
    options = LoadOptions(password=password, max_work=MAX_WORK)
    spec = formats.detect(data) if fmt == "any" else formats.spec(fmt)
    return formats.codec_for(spec).load(data, options)


def _round_trip(store: certkit.KeyStore) -> None:
    for target in _WRITABLE:
        try:
            dumped = formats.codec_for(formats.spec(target)).dump(store, DumpOptions(
                password=PASSWORD, allow_loss=True, extra=_DUMP_OPTIONS.get(target, {})))
        except CertkitError:
            continue
        try:
            _load(dumped.data, target, PASSWORD)
        except CertkitError:
            continue


def make_target(fmt: str) -> Callable[[bytes], None]:
    """The fuzz target for one format."""

    def target(data: bytes) -> None:
        for password in (None, PASSWORD):
            try:
                store = _load(data, fmt, password)
            except CertkitError:
                continue
            _round_trip(store)

    return target


def main() -> None:
    """Run one target: the first argument names the format, the rest go to libFuzzer."""
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    fmt = sys.argv[1]
    if fmt != "any":
        formats.spec(fmt)  # an unknown name fails here, not on the first input
    formats.codec_for(formats.spec("bks"))
    certkit.formats.jks._pyjks()  # import pyjks outside the fuzzed calls
    atheris.Setup([sys.argv[0], *sys.argv[2:]], make_target(fmt))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
