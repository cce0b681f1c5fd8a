"""A scan as Prometheus metrics: the text exposition format (0.0.4) node_exporter's textfile
collector reads.

:func:`scan_metrics` renders a :class:`~certkit._ops.scan.ScanReport`; :func:`save_scan_metrics`
writes it where the collector looks, atomically (a half-written file would be read as a
scrape error, or worse, as fewer certificates) and readable by the collector's user.

One series per place: each distinct certificate (by SHA-256) gets one series per file and
alias it was found in, so the ``path`` and ``alias`` labels tell where to fix it and no two
series share a label set (node_exporter reports a duplicate as a gathering error and drops
it). Names follow the Prometheus conventions: a ``certkit_`` prefix, base units (seconds),
``_timestamp_seconds`` for points in time, and no ``_total`` (nothing here is a counter:
every value is what the last scan saw).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import pathlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from certkit._ops.api import _create_temp, _put_in_place, _sync_directories, _write_error
from certkit._ops.scan import chains_by_place
from certkit.errors import FileExistsCertkitError

if TYPE_CHECKING:
    from certkit._ops.scan import InventoryItem, Place, ScanReport

__all__ = ["METRICS_MODE", "save_scan_metrics", "scan_metrics"]

#: The metrics file's mode, whatever the umask: node_exporter runs as its own user and must
#: read it, and it holds nothing secret (names, dates and fingerprints).
METRICS_MODE = 0o644


_LABELS = ("sha256", "subject_cn", "issuer_cn", "serial_number", "path", "alias", "role")

#: Each per-certificate family: name, help text.
_CERTIFICATE_FAMILIES = (
    ("certkit_certificate_not_after_timestamp_seconds",
     "When the certificate expires (its NotAfter), as a Unix time."),
    ("certkit_certificate_not_before_timestamp_seconds",
     "When the certificate becomes valid (its NotBefore), as a Unix time."),
    ("certkit_certificate_expires_in_seconds",
     "Seconds from the scan to the certificate's NotAfter; negative once expired."),
    ("certkit_certificate_expired",
     "1 when the certificate had expired at the time of the scan, else 0."),
    ("certkit_certificate_key_found",
     "1 when the certificate's private key was found anywhere in the scan, else 0."),
    ("certkit_certificate_chain_ok",
     ("1 when the chain of the certificate at this place is complete and trusted, else 0 "
     "(always 1 for CA certificates: their problems show on the leaves they issue).")),
)


def _escape_label(value: str) -> str:
    """A label value as the exposition format quotes it: backslash, double quote, newline."""
    # Undecodable bytes in file names arrive as lone surrogates, which UTF-8 cannot carry.
    text = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    """A sample value: integers without a fraction, other floats as Python writes them."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _timestamp(moment: _dt.datetime) -> float:
    if moment.tzinfo is None:  # certkit's dates are UTC; a naive one means UTC too
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _common_name(name: str) -> str:
    """The first commonName of an RFC 4514 name, or ``""`` (none, or not parseable)."""
    from cryptography import x509  # noqa: PLC0415 - only when metrics are rendered
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    try:
        found = x509.Name.from_rfc4514_string(name).get_attributes_for_oid(
            NameOID.COMMON_NAME)
    except (ValueError, TypeError, KeyError):
        return ""
    if not found:
        return ""
    value = found[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _family(name: str, help_text: str,
            samples: Iterable[tuple[str, float]]) -> Iterator[str]:
    """HELP and TYPE lines, then one line per ``(labels, value)`` sample."""
    yield f"# HELP {name} {_escape_help(help_text)}\n"
    yield f"# TYPE {name} gauge\n"
    for labels, value in samples:
        yield f"{name}{labels} {_number(value)}\n"


class _ChainJudge:
    """Whether the chain of a certificate at a place is complete and trusted, as far as the
    scan can tell (the scan's verdicts indexed once: a big scan has thousands of places).

    A leaf in a key entry (a keystore entry, a PFX, a PEM file with its key) has the scan's
    verdict on that entry's own chain: what a server given that file would send. A leaf
    found without its key has no chain of its own: it is good when its issuer is among the
    files scanned or in the trust store (the scan's ``incomplete`` list says when not). A
    CA certificate is always good: its problems show on the leaves it issues.
    """

    def __init__(self, report: ScanReport) -> None:
        self.verdicts = chains_by_place(report)
        self.incomplete = {cert.sha256 for cert, _ in report.incomplete}

    def ok(self, item: InventoryItem, place: Place) -> bool:
        """The verdict for ``item`` found at ``place``."""
        if item.role != "leaf":
            return True
        chain = self.verdicts.get((place.path, place.alias, item.subject))
        if chain is not None:
            return chain.ok
        return item.sha256 not in self.incomplete


def _certificate_samples(report: ScanReport) -> list[tuple[str, tuple[float | None, ...]]]:
    """One ``(labels, values)`` per distinct certificate and place, values in family order
    (``None`` where the item does not know: no sample)."""
    at = _timestamp(report.at)
    chains = _ChainJudge(report)
    names: dict[str, str] = {}
    samples: list[tuple[str, tuple[float | None, ...]]] = []
    seen: set[str] = set()
    for item in report.inventory:
        # Issuer names repeat across thousands of leaves: parse each name once.
        subject_cn = names.get(item.subject) or names.setdefault(
            item.subject, _common_name(item.subject))
        issuer_cn = names.get(item.issuer) or names.setdefault(
            item.issuer, _common_name(item.issuer))
        not_after = _timestamp(item.not_after)
        not_before = _timestamp(item.not_before) if item.not_before is not None else None
        for place in item.places:
            values = (item.sha256, subject_cn, issuer_cn, item.serial_number, place.path,
                      place.alias or "", item.role)
            labels = "{" + ",".join(f'{name}="{_escape_label(value)}"'
                                    for name, value in zip(_LABELS, values, strict=True)) + "}"
            if labels in seen:  # two places that only differ by None and "" as alias
                continue
            seen.add(labels)
            samples.append((labels, (
                not_after,
                not_before,
                not_after - at,
                float(not_after < at),
                float(bool(item.keys)),
                float(chains.ok(item, place)))))
    return samples


def scan_metrics(report: ScanReport, *, duration: float | None = None) -> str:
    """``report`` as Prometheus metrics, in the text exposition format (version 0.0.4).

    Per distinct certificate and place found (labels ``sha256``, ``subject_cn``,
    ``issuer_cn``, ``serial_number``, ``path``, ``alias`` — empty when none — and
    ``role``): ``certkit_certificate_not_after_timestamp_seconds``,
    ``…_not_before_timestamp_seconds``, ``…_expires_in_seconds`` (at the scan's time),
    ``…_expired``, ``…_key_found`` and ``…_chain_ok`` (0 or 1). For the whole scan:
    ``certkit_scan_files_seen``, ``…_files_unreadable``, ``…_orphaned_keys``,
    ``…_timestamp_seconds`` and, when ``duration`` (seconds) is given,
    ``…_duration_seconds``. Every family is a gauge with HELP and TYPE lines; samples carry
    no timestamps (the textfile collector refuses them).
    """
    samples = _certificate_samples(report)
    lines: list[str] = []
    for index, (name, help_text) in enumerate(_CERTIFICATE_FAMILIES):
        lines.extend(_family(name, help_text, [(labels, value) for labels, values in samples
                                               if (value := values[index]) is not None]))
    scan_wide: list[tuple[str, str, float]] = [
        ("certkit_scan_files_seen", "Files the last scan looked at.", report.files_seen),
        ("certkit_scan_files_unreadable",
         ("Files the last scan could not read (damaged, a password needed or wrong, broken "
         "links, too large)."), len(report.unreadable)),
        ("certkit_scan_orphaned_keys",
         "Private keys the last scan found without any certificate.",
         len(report.orphaned_keys)),
        ("certkit_scan_timestamp_seconds", "When the last scan ran, as a Unix time.",
         _timestamp(report.at)),
    ]
    if duration is not None:
        scan_wide.append(("certkit_scan_duration_seconds", "How long the last scan took.",
                          duration))
    for name, help_text, value in scan_wide:
        lines.extend(_family(name, help_text, [("", value)]))
    return "".join(lines)


def save_scan_metrics(
    report: ScanReport,
    path: str | os.PathLike[str],
    *,
    duration: float | None = None,
    overwrite: bool = False,
) -> pathlib.Path:
    """Write :func:`scan_metrics` to ``path`` atomically, mode 0644, and return the path.

    The file is written and synced under a temporary name in the same folder (``.NAME.….tmp``,
    which the textfile collector ignores: it reads ``*.prom`` only), then renamed into
    place, so a scrape sees the old file or the new one, never half of one. An existing
    file is replaced only with ``overwrite=True`` (a timer's job passes it), else
    :class:`~certkit.errors.FileExistsCertkitError`.
    """
    target = pathlib.Path(path)
    data = scan_metrics(report, duration=duration).encode("utf-8")
    if not overwrite and target.exists():
        raise FileExistsCertkitError(str(target))
    directory = target.parent if str(target.parent) else pathlib.Path()
    try:
        fd, tmp = _create_temp(directory, target.name, METRICS_MODE)
    except OSError as err:
        raise _write_error(target, err) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), METRICS_MODE)  # the umask must not hide it
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _put_in_place(tmp, target, overwrite=overwrite)
    except OSError as err:
        raise _write_error(target, err) from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _sync_directories([directory])
    return target
