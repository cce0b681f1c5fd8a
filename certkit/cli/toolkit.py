"""The installer's toolkit commands: match, modulus, find-key, chain, verify, request.

Each command reads its files, makes one library call and writes the answer; exit codes
follow :mod:`certkit.cli` (0 ok, 1 problem found, 2 usage or input error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from certkit._model import (
    Certificate,
    KeyStore,
    PrivateKey,
)
from certkit.cli._shell import (
    EXIT_OK,
    EXIT_PROBLEM,
    UsageError,
    passwords_from,
    print_json,
    read_password,
    trust_from,
    with_prompt,
)
from certkit.errors import ChainError, FileExistsCertkitError

if TYPE_CHECKING:
    from certkit._ops.api import Passwords

__all__ = ["register"]


def _load(path: str, password: str | Passwords | None) -> KeyStore:
    import certkit  # noqa: PLC0415 - keep `certkit --help` fast

    return with_prompt(lambda pw: certkit.load(path, password=pw), password, path)


def _password(args: argparse.Namespace) -> str | Passwords | None:
    return passwords_from(args)


# -- match -------------------------------------------------------------------------------


def cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit match KEY CERT``: does the private key belong to the certificate (or CSR)?"""
    import certkit  # noqa: PLC0415 - keep `certkit --help` fast

    result = with_prompt(lambda pw: certkit.match_key(args.key, args.cert, password=pw),
                         _password(args), f"{args.key} and {args.cert}")
    key_info = {"path": args.key, "algorithm": result.key_fingerprints.algorithm,
                **result.key_fingerprints.as_dict()}
    cert_info = {"path": args.cert, "subject": result.target.subject,
                 "algorithm": result.target_fingerprints.algorithm,
                 **result.target_fingerprints.as_dict()}
    if args.json:
        print_json({"match": result.matched, "key": key_info, "certificate": cert_info}, out)
        return EXIT_OK if result.matched else EXIT_PROBLEM
    what = "certificate" if isinstance(result.target, Certificate) else "request"
    width = max(len(args.key), len(args.cert))
    for label, info in (("key", key_info), (what, cert_info)):
        if "modulus_md5" in info:
            value = f"modulus md5  {info['modulus_md5']}"
        else:
            value = f"public key sha256  {info['spki_sha256']}"
        out.write(f"{label:<11} {info['path']:<{width}}  {info['algorithm']:<9} {value}\n")
    if result.matched:
        out.write(f"MATCH: the key belongs to {result.target.subject}\n")
        return EXIT_OK
    out.write(f"MISMATCH: this key does not belong to {result.target.subject}; "
              f"find the right one with `certkit find-key {args.cert} FOLDER`\n")
    return EXIT_PROBLEM


# -- modulus -----------------------------------------------------------------------------


def cmd_modulus(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit modulus FILE…``: the openssl modulus hash of every key, certificate and CSR."""
    import certkit  # noqa: PLC0415

    password = _password(args)
    rows: list[dict[str, Any]] = []
    for path in args.files:
        for kind, obj, found in certkit.identify(_load(path, password), args.digest):
            name = obj.subject if not isinstance(obj, PrivateKey) else None
            rows.append({"path": path, "type": kind, "subject": name,
                         "algorithm": found.algorithm, **found.as_dict()})
    if args.json:
        print_json({"objects": rows}, out)
        return EXIT_OK
    key = f"modulus_{args.digest}"
    for row in rows:
        value = (f"{args.digest} {row[key]}" if key in row
                 else f"public key sha256 {row['spki_sha256']} (not RSA: no modulus)")
        label = f"{row['type']} {row['subject']}" if row["subject"] else row["type"]
        out.write(f"{row['path']}: {label} ({row['algorithm']})\n    {value}\n")
        if args.full and "modulus" in row:
            out.write(f"    {row['modulus']}\n")
    return EXIT_OK


# -- find-key ----------------------------------------------------------------------------


def cmd_find_key(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit find-key CERT PLACE…``: which key file (or keystore entry) belongs to CERT."""
    from certkit._ops.match import KeyIndex, subject_of  # noqa: PLC0415

    password = _password(args)
    target = subject_of(_load(args.cert, password))
    if target is None:
        raise UsageError(f"{args.cert} holds no certificate or certificate request")
    for place in args.places:
        if not os.path.exists(place):
            raise UsageError(f"{place} does not exist")
    index = KeyIndex(args.places, password=password)
    found = index.locate(target)
    result: dict[str, Any] = {
        "certificate": target.subject, "spki_sha256": target.public_key_fingerprint,
        "found": None, "keys_searched": len(index), "files_read": index.files_read,
        "skipped": [{"path": p, "reason": r} for p, r in index.skipped]}
    every = index.locate_all(target)
    if found is not None:
        result["found"] = {"path": found.source, "alias": found.alias,
                           "algorithm": found.key.algorithm}
        result["also"] = [{"path": f.source, "alias": f.alias} for f in every[1:]]
    if args.json:
        print_json(result, out)
        return EXIT_OK if found else EXIT_PROBLEM
    if found is not None:
        out.write(f"the private key of {target.subject} ({found.key.algorithm}) is in:\n")
        for place in every:
            alias = f" (entry {place.alias!r})" if place.alias else ""
            out.write(f"  found: {place.source}{alias}\n")
        for path, reason in index.skipped:
            out.write(f"  skipped {path}: {reason}\n")
        return EXIT_OK
    keys = len(index)
    out.write(f"no private key for {target.subject} among {keys} key{'s' * (keys != 1)} in "
              f"{index.files_read} files read\n")
    for path, reason in index.skipped:
        out.write(f"  skipped {path}: {reason}\n")
    out.write("If the key was made on another machine (or overwritten by a second CSR), the "
              "certificate cannot be used without it: make a new key and CSR "
              "(`certkit request`) and ask the CA to re-issue.\n")
    return EXIT_PROBLEM


# -- chain -------------------------------------------------------------------------------


def _describe_chain(certs: list[Certificate], origins: Sequence[str], out: TextIO) -> None:
    for index, cert in enumerate(certs):
        origin = f"  [{origins[index]}]" if origins else ""
        out.write(f"  {index}: {cert.subject}{origin}\n")
        out.write(f"     issuer {cert.issuer}, valid until {cert.not_after:%Y-%m-%d}\n")


def _cert_json(cert: Certificate, origin: str | None = None) -> dict[str, Any]:
    info = {"subject": cert.subject, "issuer": cert.issuer,
            "not_after": cert.not_after.isoformat(), "sha256": cert.fingerprint()}
    if origin is not None:
        info["origin"] = origin
    return info


def cmd_chain(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit chain FILE…``: order certificates leaf first, or complete a leaf's chain."""
    import certkit  # noqa: PLC0415
    from certkit._ops.inspect import describe_verdict  # noqa: PLC0415

    password = _password(args)
    stores = {path: _load(path, password) for path in args.files}
    try:
        report = certkit.chain_report(
            stores, complete=bool(args.complete or args.trust or args.fetch),
            trust=trust_from(args.trust), fetch=args.fetch, timeout=args.timeout)
    except ChainError as err:
        if not err.strays:
            raise
        # Not one chain (two leaves, a stray certificate) is a problem found in the input,
        # like an incomplete chain: exit 1, not the exit 2 of an error.
        text = f"{err} (or pass --complete to build the chain of the leaf and leave the rest out)"
        if args.json:
            print_json({"chain": None, "complete": None, "problem": text,
                        "strays": list(err.strays)}, out)
        else:
            out.write(f"NOT ONE CHAIN: {text}\n")
        return EXIT_PROBLEM
    certs, origins, complete = list(report.chain), report.origins, report.complete
    written = None
    if args.out:
        written = certkit.save_chain(certs, args.out, include_root=not args.no_root,
                                     overwrite=args.force)
    code = EXIT_PROBLEM if complete is False else EXIT_OK
    if args.json:
        print_json({
            "chain": [_cert_json(c, origins[i] if origins else None)
                      for i, c in enumerate(certs)],
            "complete": complete, "missing_issuer": report.chain.missing_issuer
            if report.completed else None, "notes": list(report.notes),
            "verdict": describe_verdict(report.verdict) if report.verdict else None,
            "written": str(written) if written else None}, out)
        return code
    out.write(f"chain of {len(certs)} certificate(s), leaf first:\n")
    _describe_chain(certs, origins, out)
    for note in report.notes:
        out.write(f"  note: {note}\n")
    if report.verdict is not None:
        out.write(f"chain: {report.verdict.message}\n")
    if complete is True:
        out.write("complete: ends at a self-signed root\n")
    elif complete is False:
        out.write(f"INCOMPLETE: missing issuer {report.chain.missing_issuer}; add the file "
                  "that holds it, --trust system, or --fetch\n")
    if written:
        out.write(f"wrote {written}\n")
    return code


# -- verify ------------------------------------------------------------------------------


def _parse_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise UsageError(f"--at {value!r} is not an ISO date or time (2030-01-31 or "
                         "2030-01-31T12:00:00+00:00)") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit verify FILE``: is the chain in FILE valid (trusted, in date, for the host)?"""
    from certkit._ops.chains import chain_of, verify_chain  # noqa: PLC0415
    from certkit._ops.inspect import describe_verdict  # noqa: PLC0415

    chain = chain_of(_load(args.file, _password(args)))
    if not chain:
        raise UsageError(f"{args.file} holds no certificate")
    trust = trust_from(args.trust, required=True)
    at = _parse_time(args.at) if args.at else None
    result = verify_chain(chain, trust=trust, host=args.servername, at=at)
    if args.json:
        print_json({
            "ok": result.ok, "host": args.servername,
            "chain": [_cert_json(c) for c in chain],
            "path": [_cert_json(c) for c in result.path] if result.path else None,
            "reasons": [{"code": r.code, "message": r.message, "subject": r.subject}
                        for r in result.reasons],
            "detail": result.detail,
            "verdict": describe_verdict(result.verdict) if result.verdict else None}, out)
        return EXIT_OK if result.ok else EXIT_PROBLEM
    leaf_subject = chain[0].subject
    if result.ok:
        host = f" for {args.servername}" if args.servername else ""
        out.write(f"OK: {leaf_subject} is valid{host}; verified path:\n")
        _describe_chain(list(result.path or ()), (), out)
        if result.verdict is not None:
            out.write(f"chain: {result.verdict.message}\n")
        return EXIT_OK
    out.write(f"INVALID: {leaf_subject}\n")
    if result.verdict is not None:
        out.write(f"chain: {result.verdict.message}\n")
    for reason in result.reasons:
        if result.verdict is None or reason.message != result.verdict.message:  # said above
            out.write(f"  {reason.code}: {reason.message}\n")
    if result.verdict is not None and result.verdict.fix:
        out.write(f"  fix: {result.verdict.fix}\n")
    return EXIT_PROBLEM


# -- request -----------------------------------------------------------------------------


def _renewal_inputs(args: argparse.Namespace, password: str | None
                    ) -> tuple[Certificate | None, PrivateKey | None, str | None]:
    """``--from`` and ``--key``: the certificate to renew and the key to reuse (each optional)."""
    from certkit._ops.request import (  # noqa: PLC0415
        renewal_key,
        renewal_source,
        split_store_alias,
    )

    certificate = key = None
    where = None
    if args.renew_from:
        path, alias = split_store_alias(args.renew_from)
        found = with_prompt(lambda pw: renewal_source(path, alias, password=pw), password, path)
        certificate = found.certificate
    if args.key:
        path, alias = split_store_alias(args.key)
        key, entry = with_prompt(lambda pw: renewal_key(path, alias, password=pw), password,
                                  path)
        where = f"{path}:{entry}" if alias else path
    return certificate, key, where


def cmd_request(args: argparse.Namespace, out: TextIO) -> int:
    """``certkit request``: a new private key and CSR, the key saved first (mode 0600); or,
    with ``--from``, the renewal request of a certificate or keystore entry."""
    import certkit  # noqa: PLC0415

    if args.cn is None and not args.renew_from:
        raise UsageError("give --cn NAME for a new request, or --from CERT|STORE[:ALIAS] to "
                         "renew a certificate")
    if args.out_key is None and not args.key:
        raise UsageError("give --out-key FILE for the new key, or --key FILE|STORE:ALIAS to "
                         "reuse a key")
    if args.out_key is not None and args.key:
        raise UsageError("--out-key writes a new key and --key reuses one: give only one")
    key_password = read_password(args.new_password_file, args.new_password_env,
                                  "key password")
    password = read_password(args.password_file, args.password_env, "password")
    for path in (args.out_key, args.out_csr):  # before a password prompt, not after it
        if path is not None and os.path.lexists(path):
            raise FileExistsCertkitError(path, replaceable=False)
    if args.out_key is not None and os.path.abspath(args.out_key) == os.path.abspath(
            args.out_csr):
        raise UsageError("--out-key and --out-csr must be different files")
    old, reused, key_source = _renewal_inputs(args, password)
    if old is not None and (args.cn is not None or args.subject is not None):
        raise UsageError("--from copies the subject of the certificate; leave out --cn "
                         "and --subject (add names with --san)")
    made = certkit.request_files(
        args.out_csr, key_path=args.out_key if reused is None else None, key=reused,
        common_name=args.cn, subject=args.subject, sans=args.san or (), renew=old,
        key_type=args.key_type, key_password=key_password)
    key, csr, csr_path, key_path = made.key, made.csr, made.csr_path, made.key_path
    if reused is not None:
        info = {"key": key_source, "csr": str(csr_path), "algorithm": key.algorithm,
                "subject": csr.subject, "san": list(csr.san), "reused_key": True,
                **certkit.fingerprints(key).as_dict()}
        if args.json:
            print_json(info, out)
            return EXIT_OK
        out.write(f"reused the {key.algorithm} private key of {key_source}\n")
        out.write(f"wrote {csr_path} (request for {csr.subject}"
                  f"{'; SANs ' + ', '.join(csr.san) if csr.san else ''})\n")
        return EXIT_OK
    info = {"key": str(key_path), "csr": str(csr_path), "algorithm": key.algorithm,
            "subject": csr.subject, "san": list(csr.san), "encrypted": key_password is not None,
            **certkit.fingerprints(key).as_dict()}
    if args.json:
        print_json(info, out)
        return EXIT_OK
    out.write(f"wrote {key_path} ({key.algorithm} private key, mode 0600"
              f"{', encrypted' if key_password is not None else ''}) — keep it, and back it "
              "up: the certificate will only work with this key\n")
    out.write(f"wrote {csr_path} (request for {csr.subject}"
              f"{'; SANs ' + ', '.join(csr.san) if csr.san else ''})\n")
    if "modulus_md5" in info:
        out.write(f"key modulus md5 {info['modulus_md5']} (the issued certificate will show "
                  "the same; check with `certkit match`)\n")
    else:
        out.write(f"public key sha256 {info['spki_sha256']} (the issued certificate will show "
                  "the same; check with `certkit match`)\n")
    return EXIT_OK


# -- registration ------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the toolkit commands to the ``certkit`` sub-command parser."""
    match = sub.add_parser(
        "match", help="does a private key belong to a certificate or CSR? (MATCH/MISMATCH)",
        description="Compare a private key with a certificate (or CSR): both modulus md5 "
                    "hashes, as `openssl x509 -noout -modulus | openssl md5` prints them, for "
                    "RSA, the public key SHA-256 for other keys. Exit 0 on MATCH, 1 on "
                    "MISMATCH.",
        epilog="example:\n  certkit match server.key server.crt")
    match.add_argument("key", metavar="KEY")
    match.add_argument("cert", metavar="CERT")
    match.set_defaults(func=cmd_match)

    mod = sub.add_parser(
        "modulus", help="openssl-compatible modulus hashes of keys, certificates and CSRs",
        description="Print, for every key, certificate and request in the files, the hash "
                    "`openssl x509|rsa|req -noout -modulus | openssl md5` prints (RSA), or "
                    "the public key SHA-256 (other keys).",
        epilog="example:\n  certkit modulus server.key server.crt")
    mod.add_argument("files", nargs="+", metavar="FILE")
    mod.add_argument("--digest", default="md5", choices=("md5", "sha1", "sha256"),
                     help="hash of the Modulus= line (default md5, like `openssl md5`)")
    mod.add_argument("--full", action="store_true", help="also print the Modulus= line")
    mod.set_defaults(func=cmd_modulus)

    find = sub.add_parser(
        "find-key", help="find the private key of a certificate among files and folders",
        description="Search key files, keystores and folders (recursively) for the private "
                    "key of CERT. Exit 0 when found, 1 when not.",
        epilog="example:\n  certkit find-key server.crt /etc/ssl/private ~/old-keys")
    find.add_argument("cert", metavar="CERT")
    find.add_argument("places", nargs="+", metavar="PLACE", help="key file, keystore or folder")
    find.set_defaults(func=cmd_find_key)

    chain = sub.add_parser(
        "chain", help="order certificates leaf first, or complete a leaf's chain",
        description="Without --complete: put the certificates of the files in order, leaf "
                    "first, and say which do not belong (exit 1 when they are not one chain, "
                    "two leaves say). With --complete (or --trust/--fetch): "
                    "build the leaf's chain from the files, the trust store and, with --fetch, "
                    "the issuer URLs in the certificates; exit 1 if it stays incomplete.",
        epilog="examples:\n  certkit chain intermediate.crt server.crt root.crt --out chain.pem\n"
               "  certkit chain server.crt --complete --trust system --fetch")
    chain.add_argument("files", nargs="+", metavar="FILE")
    chain.add_argument("--complete", action="store_true", help="complete the leaf's chain")
    chain.add_argument("--no-root", action="store_true",
                       help="leave the self-signed root out of --out (servers need not send it)")
    chain.set_defaults(func=cmd_chain)

    verify = sub.add_parser(
        "verify", help="verify a certificate chain (trust, dates, host name)",
        description="Verify the chain in FILE as a TLS client would (web PKI rules). Exit 0 "
                    "when valid, 1 with the reasons when not.",
        epilog="example:\n  certkit verify fullchain.pem --host www.example.com --trust system")
    verify.add_argument("file", metavar="FILE")
    verify.add_argument("--host", dest="servername", help=argparse.SUPPRESS)  # the old name
    verify.add_argument("--at", metavar="TIME", help="verify at this ISO date/time (default now)")
    verify.set_defaults(func=cmd_verify)

    request = sub.add_parser(
        "request", help="make a private key and a CSR (no openssl.cnf needed)",
        description="Generate a private key and a certificate signing request. The key is "
                    "written first, with mode 0600, and neither file is ever overwritten.",
        epilog="examples:\n  certkit request --cn www.example.com --san example.com "
               "--out-key www.key --out-csr www.csr\n"
               "  certkit request --from www.crt --out-key www-2027.key --out-csr www-2027.csr\n"
               "  certkit request --from tomcat.jks:tomcat --key tomcat.jks:tomcat "
               "--out-csr tomcat.csr --password-env STOREPASS")
    request.add_argument("--cn", metavar="NAME", help="common name (host name)")
    request.add_argument("--from", dest="renew_from", metavar="CERT|STORE[:ALIAS]",
                         help="renew this certificate (or keystore entry): copy its subject "
                              "and SANs")
    request.add_argument("--key", metavar="FILE|STORE:ALIAS",
                         help="reuse this private key (a key file or a keystore entry) "
                              "instead of writing a new one")
    request.add_argument("--san", action="append", metavar="NAME",
                         help="extra DNS name or IP address; repeatable")
    request.add_argument("--subject", metavar="RFC4514",
                         help="other subject attributes, e.g. 'O=Example Ltd,L=Taipei,C=TW'")
    request.add_argument("--key-type", default="RSA-2048",
                         help="RSA-2048 (default), RSA-3072, RSA-4096, EC-P256, EC-P384, Ed25519")
    request.add_argument("--out-key", metavar="FILE", help="where the new key goes (mode 0600)")
    request.add_argument("--out-csr", required=True, metavar="FILE")
    for old in ("file", "env"):  # the old names of --new-password-file/-env
        request.add_argument(f"--key-password-{old}", dest=f"new_password_{old}",
                             action="append", help=argparse.SUPPRESS)
    request.set_defaults(func=cmd_request)
