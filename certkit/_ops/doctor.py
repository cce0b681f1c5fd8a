# ruff: noqa: RUF001 - the Traditional Chinese texts use full-width punctuation
"""Diagnose a set of certificate files (and optionally a live host) in plain words.

:func:`diagnose` loads every source it is given, never raising for a problem it can
describe (a file it cannot read is itself a finding), and returns :class:`Finding`\\ s
with a stable ``code``, a severity, the files and aliases concerned, and a message and a
fix in English and in Traditional Chinese. The checks follow the problems of the
certificate authority's support handbook: a certificate whose key is elsewhere, a key
that does not match, a keystore entry with a chain of one, a CA reply for another
alias, a missing intermediate, a misordered bundle, dates, host names, weak PKCS#12
protection, DER where PEM is expected, and a server still serving the old certificate.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from certkit import formats
from certkit._model import (
    Certificate,
    Chain,
    KeyEntry,
    KeyStore,
    LockedKey,
    Password,
    PrivateKey,
    SecretKeyEntry,
    TrustedCertEntry,
)
from certkit._ops import chains as _chains
from certkit._ops.api import Passwords, load, password_for, read_file
from certkit.errors import (
    CertkitError,
    ChainError,
    DecodeError,
    NetworkError,
    PasswordError,
    ReadError,
    UnsupportedFormatError,
    UnsupportedKeyError,
)

if TYPE_CHECKING:
    from certkit._ops.chains import CertificatePool

__all__ = ["CODES", "SEVERITIES", "DiagnoseSource", "Finding", "diagnose"]

#: What :func:`diagnose` takes: paths, raw bytes, or stores already loaded.
DiagnoseSource: TypeAlias = "str | os.PathLike[str] | bytes | KeyStore"

#: The severities, most serious first; ``error`` and ``warning`` make ``certkit doctor`` exit 1.
SEVERITIES = ("error", "warning", "info")

_CONTAINERS = frozenset({"pkcs12", "jks", "jceks", "bks"})
_PEM_NAMES = (".pem", ".crt", ".cer", ".key")
_PEM_CERT = re.compile(rb"-----BEGIN (?:TRUSTED )?CERTIFICATE-----.*?-----END (?:TRUSTED )?"
                       rb"CERTIFICATE-----", re.DOTALL)


@attrs.frozen
class _Text:
    severity: str
    message: str
    fix: str
    message_zh: str
    fix_zh: str


#: Every finding code with its default severity and its English and Traditional Chinese
#: message and fix templates (``str.format`` fields are filled per finding).
CODES: Mapping[str, _Text] = {
    "unreadable": _Text(
        "error",
        "{file} cannot be read: {reason}",
        "Check that the file exists, that the path is right and that you may read it "
        "(a broken symbolic link points at nothing).",
        "無法讀取 {file}：{reason}",
        "請確認檔案存在、路徑正確，而且您有讀取權限（失效的符號連結指向不存在的檔案）。"),
    "unrecognised": _Text(
        "error",
        "{file} is not a certificate, key or keystore certkit recognises: {reason}",
        "Check that this is the file the CA or the server produced; a ZIP must be unpacked, "
        "and an HTML page saved from a browser is not a certificate.",
        "{file} 不是可辨識的憑證、金鑰或金鑰庫格式：{reason}",
        "請確認這是憑證機構或伺服器產生的檔案；ZIP 壓縮檔須先解壓縮，從瀏覽器另存的 HTML 網頁並不"
        "是憑證。"),
    "damaged": _Text(
        "error",
        "{file} looks like {format} but cannot be decoded: {reason}",
        "The file is truncated or was changed on the way (e-mail, copy and paste, FTP in "
        "text mode); get it again from its source.",
        "{file} 看似 {format} 格式，但內容無法解碼：{reason}",
        "檔案可能被截斷，或在傳送過程中被修改（電子郵件、複製貼上、FTP 文字模式），請從來源重新取"
        "得。"),
    "password-needed": _Text(
        "error",
        "{file} is protected by a password and none was given",
        "Give the password with --password-file or --password-env.",
        "{file} 受密碼保護，但未提供密碼",
        "請以 --password-file 或 --password-env 提供密碼。"),
    "wrong-password": _Text(
        "error",
        "the password given does not open {file}",
        "Use the password set when the file was exported; for a Java keystore it is the "
        "store password (Tomcat's certificateKeystorePassword).",
        "提供的密碼無法開啟 {file}",
        "請使用匯出檔案時設定的密碼；Java 金鑰庫請使用金鑰庫密碼（Tomcat 的 certificateKeystorePa"
        "ssword）。"),
    "key-locked": _Text(
        "warning",
        "the key of entry {alias} in {file} has its own key password, different from the "
        "store password",
        "Tomcat and most Java servers expect the key password to equal the store password: "
        "`certkit keystore passwd {file} --password-file pass.txt --alias {alias} "
        "--key-password-file keypass.txt --new-key-password-file pass.txt` (pass.txt holds "
        "the store password, keypass.txt the key's).",
        "{file} 中別名 {alias} 的私密金鑰有自己的金鑰密碼，與金鑰庫密碼不同",
        "Tomcat 與多數 Java 伺服器要求金鑰密碼與金鑰庫密碼相同：`certkit keystore passwd {file} "
        "--password-file pass.txt --alias {alias} --key-password-file keypass.txt "
        "--new-key-password-file pass.txt`（pass.txt 為金鑰庫密碼，keypass.txt 為金鑰密碼）。"),
    "der-not-pem": _Text(
        "warning",
        "{file} holds binary DER although its name ({extension}) suggests PEM text; Apache "
        "and nginx read only PEM",
        "Convert it: `certkit convert {file} {stem}.pem` (or `openssl x509 -inform der -in "
        "{file} -out {stem}.pem`). IIS and Java read either form.",
        "{file} 的內容是二進位 DER，但副檔名（{extension}）看起來應是 PEM 文字；Apache 與 nginx "
        "只能讀取 PEM",
        "請轉換格式：certkit convert {file} {stem}.pem（或 openssl x509 -inform der -in {file} -o"
        "ut {stem}.pem）。IIS 與 Java 兩種格式皆可讀取。"),
    "pem-not-der": _Text(
        "warning",
        "{file} holds PEM text although its name (.der) promises binary DER",
        "Convert it with certkit convert {file} {stem}-bin.der --to der, or rename it to "
        "{stem}.pem.",
        "{file} 的內容是 PEM 文字，但副檔名（.der）表示應為二進位 DER",
        "請以 certkit convert {file} {stem}-bin.der --to der 轉換，或將檔名改為 {stem}.pem。"),
    "no-private-key": _Text(
        "warning",
        "no private key for {subject} among the files given",
        "A certificate works only with the key its CSR was made with. If the CSR was made on "
        "another machine, or a second CSR replaced the key (IIS: the certificate vanishes "
        "after import), find the key with certkit find-key {file} FOLDER; if it is lost, "
        "make a new key and CSR and have the certificate re-issued.",
        "提供的檔案中找不到 {subject} 的私密金鑰",
        "憑證只能搭配產生 CSR 時的私密金鑰使用。若 CSR 是在別台電腦產生，或第二次產生的 CSR 覆蓋"
        "了金鑰（IIS：匯入後憑證消失），請以 certkit find-key {file} 資料夾 尋找金鑰；若金鑰已遺"
        "失，請重新產生金鑰與 CSR 並申請重發憑證。"),
    "key-mismatch": _Text(
        "error",
        "the private key in {key_file} does not belong to the certificate {subject} in "
        "{file} (certificate {hash_name} {certificate_hash}, key {hash_name} {key_hash})",
        "Apache says X509_check_private_key:key values mismatch. Find the key of this "
        "certificate with certkit find-key {file} FOLDER (a second CSR may have replaced it), "
        "or the certificate issued for this key.",
        "{key_file} 中的私密金鑰與 {file} 中的憑證 {subject} 不相符"
        "（憑證 {hash_name} {certificate_hash}，金鑰 {hash_name} {key_hash}）",
        "Apache 會顯示 X509_check_private_key:key values mismatch。請以 certkit find-key {file} "
        "資料夾 找出此憑證的金鑰（可能已被第二次產生的 CSR 覆蓋），或找出為此金鑰簽發的憑證。"),
    "orphan-key": _Text(
        "info",
        "no certificate among the files given belongs to the private key in {file} "
        "({hash_name} {key_hash})",
        "Give the certificate issued for this key too; keep the key while a CSR made "
        "with it is still pending at the CA.",
        "提供的檔案中沒有任何憑證屬於 {file} 中的私密金鑰（{hash_name} {key_hash}）",
        "請一併提供為此金鑰簽發的憑證；若以此金鑰產生的 CSR 仍在憑證機構審核中，請保留此金鑰。"),
    "keystore-chain-incomplete": _Text(
        "error",
        "entry {alias} in {file} has a certificate chain of {length} (keytool -list -v "
        "shows 'Certificate chain length: {length}'): {missing} is not in it",
        "Install the CA's chain (the reply with its intermediate, as .p7b or PEM) in the "
        "entry: `certkit keystore import-reply {file} chain.p7b --password-file pass.txt`; "
        "it goes to the entry whose key matches, completed from the keystore and the trust "
        "store.",
        "{file} 中別名 {alias} 的憑證鏈長度為 {length}（keytool -list -v 顯示「Certificate chain "
        "length: {length}」）：缺少 {missing}",
        "請將憑證機構的憑證鏈（含中繼憑證的回覆，.p7b 或 PEM）安裝到此項目：`certkit keystore "
        "import-reply {file} chain.p7b --password-file pass.txt`；會安裝到金鑰相符的項目，並以"
        "金鑰庫與信任的憑證庫補齊憑證鏈。"),
    "self-signed-entry": _Text(
        "warning",
        "entry {alias} in {file} still holds the self-signed certificate keytool made; the "
        "certificate the CA issued was never imported",
        "Import the CA's reply into it: `certkit keystore import-reply {file} reply.cer "
        "--password-file pass.txt` (it finds the entry whose key the reply certifies).",
        "{file} 中別名 {alias} 仍是 keytool 產生的自簽憑證；憑證機構簽發的憑證尚未匯入",
        "請匯入憑證機構的回覆：`certkit keystore import-reply {file} reply.cer --password-file "
        "pass.txt`（會找出回覆所憑證的金鑰所在的項目）。"),
    "reply-no-key": _Text(
        "error",
        "the certificate {subject} in {file} matches no key in {keystores} (keytool: "
        "'Public keys in reply and keystore don't match')",
        "The CSR was made from another keystore or another key: find it with certkit "
        "find-key {file} FOLDER; if it is lost, make a new key and CSR and have the "
        "certificate re-issued.",
        "{file} 中的憑證 {subject} 與 {keystores} 中的任何金鑰都不相符（keytool：「Public keys in"
        " reply and keystore don't match」）",
        "CSR 是由另一個金鑰庫或另一把金鑰產生的：請以 certkit find-key {file} 資料夾 尋找；若已遺"
        "失，請重新產生金鑰與 CSR 並申請重發憑證。"),
    "reply-wrong-alias": _Text(
        "error",
        "the certificate {subject} in {file} belongs to entry {matching_alias} of "
        "{keystore}, not to {alias}",
        "Import it into the alias whose key matches: `certkit keystore import-reply "
        "{keystore} {file} --alias {matching_alias} --password-file pass.txt`.",
        "{file} 中的憑證 {subject} 屬於 {keystore} 的別名 {matching_alias}，而不是 {alias}",
        "請匯入金鑰相符的別名：`certkit keystore import-reply {keystore} {file} --alias "
        "{matching_alias} --password-file pass.txt`。"),
    "reply-not-imported": _Text(
        "info",
        "the certificate {subject} in {file} belongs to entry {matching_alias} of "
        "{keystore}, which does not hold it yet",
        "Import it into that alias: `certkit keystore import-reply {keystore} {file} "
        "--alias {matching_alias} --password-file pass.txt`.",
        "{file} 中的憑證 {subject} 屬於 {keystore} 的別名 {matching_alias}，但尚未匯入",
        "請匯入該別名：`certkit keystore import-reply {keystore} {file} --alias "
        "{matching_alias} --password-file pass.txt`。"),
    "missing-intermediate": _Text(
        "error",
        "missing intermediate: {issuer} (the issuer of {subject}) is neither among the files "
        "given nor in the system trust store",
        "Get the intermediate certificate from your CA (certkit chain {file} --complete "
        "--fetch follows its caIssuers URL) and install it with the certificate: a full-chain "
        "file, leaf first, for nginx and Apache, the Intermediate Certification Authorities "
        "store for IIS, the keystore entry's chain for Tomcat.",
        "缺少中繼憑證：{issuer}（{subject} 的簽發者）不在提供的檔案中，也不在系統信任的憑證庫中",
        "請向憑證機構取得中繼憑證（certkit chain {file} --complete --fetch 會依 caIssuers 網址下"
        "載），並與憑證一起安裝：nginx 與 Apache 使用伺服器憑證在前的完整憑證鏈檔案，IIS 匯入「中"
        "繼憑證授權單位」，Tomcat 匯入金鑰庫項目的憑證鏈。"),
    "chain-untrusted-root": _Text(
        "info",
        "{where}: {verdict}",
        "Nothing to change on a server whose clients hold this private root; to check the "
        "chain from here, {fix}.",
        "{where}：憑證鏈完整，但最後的根憑證 {root} 不在信任的憑證庫中（私有 CA）",
        "用戶端若已信任此私有根憑證，伺服器無須更改；若要在此檢查憑證鏈，請以信任檔提供其根憑證："
        "--trust ROOT.pem。"),
    "chain-unverifiable": _Text(
        "warning",
        "{where}: {verdict}",
        "The certificates link by name and key identifier only; {fix}: clients that refuse "
        "weak signatures will reject this chain.",
        "{where}：憑證鏈中有無法驗證的簽章（{reason}）；憑證僅依名稱與金鑰識別碼相連",
        "請憑證機構以 SHA-256 簽章重新簽發憑證：拒絕弱簽章的用戶端將不接受此憑證鏈。"),
    "chain-broken": _Text(
        "error",
        "{where}: {verdict}",
        "Put the certificates in order, leaf first, and remove the one that does not belong "
        "(certkit chain orders them).",
        "{where}：憑證鏈斷裂：{subject} 不是由下一張憑證簽發",
        "請依伺服器憑證在前的順序排列憑證，並移除不屬於此憑證鏈的憑證（certkit chain 會排序）。"),
    "chain-missing-intermediate": _Text(
        "error",
        "{where}: {verdict}",
        "Add the intermediate certificate your CA sent to the server's chain file (leaf "
        "first) and reload the server.",
        "{where}：缺少中繼憑證：{issuer}",
        "請將憑證機構提供的中繼憑證加入伺服器的憑證鏈檔案（伺服器憑證在前）並重新載入伺服器。"),
    "misordered-chain": _Text(
        "error",
        "the certificates in {file} are not leaf first (in the file: {found}); servers send "
        "them in file order",
        "Put the server certificate first, then each issuer in turn: `certkit chain {file} "
        "--out ordered.pem` writes them in order ({expected}).",
        "{file} 中的憑證順序不是伺服器憑證在前（檔案中的順序：{found}）；伺服器會依檔案順序傳送",
        "請將伺服器憑證放在最前面，其後依序為各層簽發者：certkit chain {file} --out ordered.pem "
        "會依正確順序寫出（{expected}）。"),
    "expired": _Text(
        "error",
        "{subject} expired on {date}",
        "Renew the certificate, install the new one and reload the service.",
        "{subject} 已於 {date} 到期",
        "請更新憑證、安裝新憑證並重新載入服務。"),
    "not-yet-valid": _Text(
        "error",
        "{subject} is valid only from {date}",
        "Check the clocks of the server and the clients, or wait until that date.",
        "{subject} 要到 {date} 才生效",
        "請檢查伺服器與用戶端的時鐘，或等到生效日期。"),
    "expiring-soon": _Text(
        "warning",
        "{subject} expires on {date}, in {days} days",
        "Renew now: request the new certificate and plan its installation before {date}.",
        "{subject} 將於 {date} 到期，剩餘 {days} 天",
        "請立即更新：申請新憑證，並在 {date} 之前完成安裝。"),
    "name-not-in-san": _Text(
        "error",
        "{subject} is not valid for {name}: {why}",
        "Browsers look only at the subject alternative names (a name in the CN alone is "
        "ignored): have the certificate re-issued with {name} in its SAN, or install the "
        "certificate meant for this name.",
        "{subject} 不適用於 {name}：{why_zh}",
        "瀏覽器只檢查主體別名 SAN（僅寫在 CN 的名稱會被忽略）：請重新申請 SAN 包含 {name} 的憑證，"
        "或安裝此名稱專用的憑證。"),
    "weak-pkcs12": _Text(
        "warning",
        "{file} is protected with weak algorithms: {weak}",
        "Re-export it with modern protection: `certkit convert {file} {stem}-modern.pfx "
        "--profile modern --password-file pass.txt` (pass.txt holds its password, which the "
        "new file keeps; keep the legacy profile only for Windows Server 2016 and older or "
        "Java before 8u301).",
        "{file} 使用強度不足的加密演算法：{weak}",
        "請以現代的加密設定重新匯出：`certkit convert {file} {stem}-modern.pfx --profile modern "
        "--password-file pass.txt`（pass.txt 為其密碼，新檔沿用；僅 Windows Server 2016 以前或 "
        "Java 8u301 以前需要保留 legacy 設定）。"),
    "served-differs": _Text(
        "error",
        "{host} serves {served_subject} (serial {served_serial}, valid until {served_until}), "
        "not the certificate in the files given ({local_subject}, valid until {local_until})",
        "The old certificate is still served: reload or restart the service after "
        "installing, check that the binding, virtual host or connector for this name uses the "
        "new files, and that no load balancer or CDN in front still holds the old one.",
        "{host} 提供的是 {served_subject}（序號 {served_serial}，有效至 {served_until}），而不是"
        "提供的檔案中的憑證（{local_subject}，有效至 {local_until}）",
        "伺服器仍在使用舊憑證：安裝後請重新載入或重新啟動服務，確認此名稱的站台繫結、虛擬主機或連"
        "接器使用新檔案，並確認前端的負載平衡器或 CDN 沒有保留舊憑證。"),
    "served-chain-differs": _Text(
        "warning",
        "{host} serves the certificate of the files given but another chain: it sends "
        "{served}; the files give {local}",
        "Install the same intermediate certificates on the server (a full-chain file, leaf "
        "first) and reload it.",
        "{host} 提供的憑證與檔案相同，但憑證鏈不同：伺服器傳送 {served}；檔案中為 {local}",
        "請在伺服器上安裝相同的中繼憑證（伺服器憑證在前的完整憑證鏈檔案）並重新載入。"),
    "host-unreachable": _Text(
        "error",
        "cannot check {host}: {reason}",
        "Check the host name, the port and the firewall; with name-based virtual hosting "
        "give the site name with --servername.",
        "無法檢查 {host}：{reason}",
        "請檢查主機名稱、連接埠與防火牆；若使用名稱型虛擬主機，請以 --servername 指定網站名稱。"),
}


def _to_str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _to_data(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class Finding:
    """One thing wrong (or worth knowing), said in English and in Traditional Chinese.

    ``code`` is stable (see :data:`CODES`); ``severity`` is ``error``, ``warning`` or
    ``info``; ``files`` and ``aliases`` name what it concerns; ``data`` holds the facts
    behind the message (modulus hashes, fingerprints, the missing issuer, the right
    alias) for scripts.
    """

    code: str
    severity: str
    message: str
    fix: str
    message_zh: str
    fix_zh: str
    files: tuple[str, ...] = attrs.field(default=(), converter=_to_str_tuple)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_to_str_tuple)
    data: dict[str, str] = attrs.field(factory=dict, converter=_to_data, hash=False)

    def text(self, lang: str = "en") -> tuple[str, str]:
        """The message and the fix in ``lang`` (``en`` or ``zh-TW``)."""
        if _is_chinese(lang):
            return self.message_zh, self.fix_zh
        return self.message, self.fix


def _is_chinese(lang: str) -> bool:
    normal = lang.replace("_", "-").lower()
    return normal.startswith(("zh-tw", "zh-hant", "zh-hk", "zh-mo")) or normal == "zh"


def _finding(code: str, *, files: Iterable[str] = (), aliases: Iterable[str] = (),
             severity: str | None = None, data: Mapping[str, str] | None = None,
             **fields: Any) -> Finding:
    template = CODES[code]
    return Finding(
        code=code,
        severity=severity or template.severity,
        message=template.message.format(**fields),
        fix=template.fix.format(**fields),
        message_zh=template.message_zh.format(**fields),
        fix_zh=template.fix_zh.format(**fields),
        files=files,
        aliases=aliases,
        data=data or {},
    )


# -- loading -------------------------------------------------------------------------------


@attrs.define
class _Input:
    label: str
    store: KeyStore
    data: bytes | None = None
    password_given: bool = False

    @property
    def is_container(self) -> bool:
        return self.store.format in _CONTAINERS


def _stem(label: str) -> str:
    return os.path.splitext(label)[0]


def _load_one(source: DiagnoseSource, index: int,
              passwords: Password | Passwords | Mapping[str, Password] | None,
              findings: list[Finding]) -> _Input | None:
    if isinstance(source, KeyStore):
        return _Input(f"<store {index}>", source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        label, data = f"<input {index}>", bytes(source)
    else:
        label = os.fspath(source)
        data = None
    password = password_for(label, passwords)
    try:
        if data is None:
            data = _read_bytes(label)
        store = load(data, password=password)
    except PasswordError as err:
        code = "password-needed" if err.missing and password is None else "wrong-password"
        findings.append(_finding(code, files=[label], file=label))
        return None
    except ReadError as err:
        reason = str(err).removeprefix(f"cannot read {label}: ")
        findings.append(_finding("unreadable", files=[label], file=label, reason=reason))
        return None
    except UnsupportedFormatError as err:
        findings.append(_finding("unrecognised", files=[label], file=label,
                                 reason=_reason(err, label)))
        return None
    except CertkitError as err:
        fmt = getattr(err, "format", None) or _sniffed(data)
        spec_name = formats.spec(fmt).description if fmt else "a certificate file"
        findings.append(_finding("damaged", files=[label], file=label, format=spec_name,
                                 reason=_reason(err, label)))
        return None
    _check_extension(label, data, source, findings)
    return _Input(label, store, data, password_given=password is not None)


def _read_bytes(path: str) -> bytes:
    """Read a file as :func:`certkit.load` would (regular files only, bounded)."""
    return read_file(path)


def _reason(err: Exception, label: str) -> str:
    return str(err).removeprefix(f"{label}: ")


def _sniffed(data: bytes | None) -> str | None:
    if not data:
        return None
    try:
        return formats.detect(data).name
    except CertkitError:
        return None


def _check_extension(label: str, data: bytes, source: object, findings: list[Finding]) -> None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return
    extension = os.path.splitext(label)[1].lower()
    detected = _sniffed(data)
    if extension in _PEM_NAMES and detected == "der":
        findings.append(_finding("der-not-pem", files=[label], file=label, extension=extension,
                                 stem=_stem(label)))
    elif extension == ".der" and detected == "pem":
        findings.append(_finding("pem-not-der", files=[label], file=label, stem=_stem(label)))


# -- helpers -------------------------------------------------------------------------------


def _is_ca(cert: Certificate) -> bool:
    try:
        return cert.is_ca
    except CertkitError:
        return False


def _key_hash(obj: Certificate | PrivateKey) -> tuple[str, str]:
    """``("modulus md5", hash)`` for RSA (openssl's), else ``("public key sha256", …)``."""
    from certkit._ops.match import modulus_hash  # noqa: PLC0415 - keeps import order one-way

    try:
        return "modulus md5", modulus_hash(obj)
    except (UnsupportedKeyError, ValueError):
        return "public key sha256", obj.public_key_fingerprint


@attrs.frozen
class _Leaf:
    certificate: Certificate
    label: str
    container: bool
    alias: str | None
    entry_chain: Chain | None


def _day(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


# -- the checks ----------------------------------------------------------------------------


class _Doctor:
    def __init__(self, inputs: list[_Input], *, at: _dt.datetime, expiring: _dt.timedelta,
                 alias: str | None, trust: _chains.TrustSource | None = "system") -> None:
        self.trust_source = trust
        self.trust: CertificatePool | None = None
        self.inputs = inputs
        self.at = at
        self.expiring = expiring
        self.alias = alias
        self.findings: list[Finding] = []
        self.certificates: dict[bytes, tuple[Certificate, list[str]]] = {}
        self.keys: list[tuple[PrivateKey | LockedKey, KeyEntry, _Input]] = []
        self.leaves: list[_Leaf] = []
        for item in inputs:
            for cert in item.store.certificates:
                self.certificates.setdefault(cert.der, (cert, []))[1].append(item.label)
            for entry in item.store.key_entries:
                self.keys.append((entry.key, entry, item))
        seen: set[bytes] = set()
        for item in inputs:
            for any_entry in item.store.entries:
                chain: Chain | None = None
                if isinstance(any_entry, KeyEntry) and any_entry.certificate is not None:
                    subject, chain = any_entry.certificate, any_entry.chain
                elif isinstance(any_entry, TrustedCertEntry):
                    subject = any_entry.certificate
                else:
                    continue
                if subject.der in seen or _is_ca(subject):
                    continue
                if chain is None and self._issues_another(subject):
                    continue
                seen.add(subject.der)
                self.leaves.append(_Leaf(subject, item.label, item.is_container,
                                         any_entry.alias, chain))
        self.pool = _chains.CertificatePool(c for c, _ in self.certificates.values())

    def _issues_another(self, cert: Certificate) -> bool:
        # Same key on both sides is a re-issue (keytool's self-signed placeholder and the
        # CA reply share key and name), not an issuer and its subject.
        return any(other.der != cert.der and other.issuer == cert.subject
                   and other.spki != cert.spki and other.is_issued_by(cert)
                   for other, _ in self.certificates.values())

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def key_fingerprints(self) -> dict[str, tuple[KeyEntry, _Input]]:
        found: dict[str, tuple[KeyEntry, _Input]] = {}
        for key, entry, item in self.keys:
            fingerprint = key.known_fingerprint
            if fingerprint is not None:
                found.setdefault(fingerprint, (entry, item))
        return found

    # keys and replies

    def check_keys(self) -> None:
        """Pairing, mismatches and CA replies."""
        keyed = self.key_fingerprints()
        cert_fingerprints = {c.public_key_fingerprint for c, _ in self.certificates.values()}
        for key, entry, item in self.keys:
            own = entry.certificate
            if isinstance(key, PrivateKey) and own is not None and not key.matches(own):
                self._mismatch(own, item.label, key, item.label, entry.alias)
        replies = self._check_replies(keyed)
        orphan_keys = [(key, entry, item) for key, entry, item in self.keys
                       if isinstance(key, PrivateKey) and entry.certificate is None
                       and key.public_key_fingerprint not in cert_fingerprints]
        orphan_leaves = [leaf for leaf in self.leaves
                         if leaf.certificate.public_key_fingerprint not in keyed
                         and leaf.certificate.der not in replies]
        has_keys = bool(self.keys) or any(i.is_container for i in self.inputs)
        for leaf in orphan_leaves:
            if orphan_keys:
                for key, entry, item in orphan_keys:
                    self._mismatch(leaf.certificate, leaf.label, key, item.label, entry.alias)
            else:
                self.add(_finding("no-private-key", files=[leaf.label],
                                  aliases=[leaf.alias] if leaf.container and leaf.alias else [],
                                  severity="warning" if has_keys else "info",
                                  data={"public_key_sha256":
                                        leaf.certificate.public_key_fingerprint},
                                  subject=leaf.certificate.subject, file=leaf.label))
        if not orphan_leaves:
            for key, _, item in orphan_keys:
                name, value = _key_hash(key)
                self.add(_finding("orphan-key", files=[item.label], file=item.label,
                                  hash_name=name, key_hash=value,
                                  data={"key_" + name.replace(" ", "_"): value}))

    def _mismatch(self, cert: Certificate, cert_file: str, key: PrivateKey, key_file: str,
                  alias: str | None) -> None:
        cert_name, cert_hash = _key_hash(cert)
        key_name, key_hash = _key_hash(key)
        if cert_name != key_name:  # an RSA certificate and an EC key: compare SPKI hashes
            cert_name = key_name = "public key sha256"
            cert_hash, key_hash = cert.public_key_fingerprint, key.public_key_fingerprint
        field = cert_name.replace(" ", "_")
        self.add(_finding(
            "key-mismatch", files=dict.fromkeys([cert_file, key_file]),
            aliases=[alias] if alias and cert_file == key_file else [],
            data={f"certificate_{field}": cert_hash, f"key_{field}": key_hash},
            subject=cert.subject, file=cert_file, key_file=key_file, hash_name=cert_name,
            certificate_hash=cert_hash, key_hash=key_hash))

    def _check_replies(self, keyed: dict[str, tuple[KeyEntry, _Input]]) -> set[bytes]:
        stores = [item for item in self.inputs if item.is_container and item.store.key_entries]
        answered: set[bytes] = set()
        if not stores:
            return answered
        loose = [leaf for leaf in self.leaves if not leaf.container]
        for leaf in loose:
            cert = leaf.certificate
            match = keyed.get(cert.public_key_fingerprint)
            if match is not None and match[1].is_container:
                entry, item = match
                if entry.certificate is not None and entry.certificate.der == cert.der:
                    continue
                answered.add(cert.der)
                code = ("reply-wrong-alias" if self.alias is not None
                        and self.alias != entry.alias else "reply-not-imported")
                self.add(_finding(code, files=[leaf.label, item.label],
                                  aliases=[entry.alias], subject=cert.subject, file=leaf.label,
                                  keystore=item.label, matching_alias=entry.alias,
                                  alias=self.alias or entry.alias,
                                  data={"matching_alias": entry.alias}))
            elif match is None:
                answered.add(cert.der)
                names = ", ".join(item.label for item in stores)
                self.add(_finding("reply-no-key", files=[leaf.label, *(i.label for i in stores)],
                                  subject=cert.subject, file=leaf.label, keystores=names,
                                  data={"public_key_sha256": cert.public_key_fingerprint}))
        return answered

    # chains

    def anchors(self) -> CertificatePool:
        """The trust store the verdicts are judged against (read once)."""
        if self.trust is None:
            try:
                self.trust = _chains.trust_pool(self.trust_source) or _chains.CertificatePool()
            except CertkitError:
                self.trust = _chains.CertificatePool()
        return self.trust

    def add_verdict(self, verdict: _chains.ChainVerdict, where: str, files: Iterable[str],
                    aliases: Iterable[str] = ()) -> None:
        """A finding for a verdict worth telling (``chain_verdict``'s words, unchanged)."""
        code = {"untrusted-root": "chain-untrusted-root", "unverifiable": "chain-unverifiable",
                "broken": "chain-broken",
                "missing-intermediate": "chain-missing-intermediate"}.get(verdict.code)
        if code is None:
            return
        broken = verdict.broken_at
        self.add(_finding(
            code, files=files, aliases=aliases, where=where, verdict=verdict.message,
            fix=(verdict.fix or "").replace("trust=ROOT.pem (--trust ROOT.pem)",
                                            "--trust ROOT.pem"),
            root=verdict.root or "", issuer=verdict.missing_issuer or "",
            reason=verdict.unverified[0] if verdict.unverified else "",
            subject=verdict.chain[broken].subject if broken is not None else "",
            data={"verdict": verdict.code, "message": verdict.message,
                  **({"root": verdict.root} if verdict.root else {}),
                  **({"missing_issuer": verdict.missing_issuer}
                     if verdict.missing_issuer else {})}))

    def check_chains(self) -> None:
        fresh_replies = {f.data.get("matching_alias") for f in self.findings
                         if f.code in ("reply-not-imported", "reply-wrong-alias")}
        for leaf in self.leaves:
            cert = leaf.certificate
            if leaf.container and leaf.entry_chain is not None:
                self._keystore_chain(leaf, leaf.entry_chain, fresh_replies)
                continue
            if cert.is_self_signed:
                continue
            verdict = _chains.chain_verdict(_chains.build_chain(cert, self.pool),
                                            trust=self.anchors())
            if verdict.code == "missing-intermediate":
                top = verdict.chain.certificates[-1]
                self.add(_finding("missing-intermediate", files=[leaf.label],
                                  issuer=verdict.missing_issuer, subject=top.subject,
                                  file=leaf.label,
                                  data={"missing_issuer": verdict.missing_issuer or ""}))
            else:
                self.add_verdict(verdict, leaf.label, [leaf.label])

    def _keystore_chain(self, leaf: _Leaf, chain: Chain, fresh_replies: set[str | None]) -> None:
        cert = chain.certificates[0]
        alias = leaf.alias or ""
        if len(chain) == 1 and cert.is_self_signed:
            if alias not in fresh_replies:
                self.add(_finding("self-signed-entry", files=[leaf.label], aliases=[alias],
                                  alias=alias, file=leaf.label))
            return
        verdict = _chains.chain_verdict(chain, trust=self.anchors())
        if verdict.code != "missing-intermediate":
            self.add_verdict(verdict, f"{leaf.label}, entry {alias}", [leaf.label], [alias])
            return
        missing = verdict.missing_issuer or cert.issuer
        self.add(_finding("keystore-chain-incomplete", files=[leaf.label], aliases=[alias],
                          alias=alias, file=leaf.label, length=len(chain), missing=missing,
                          data={"missing_issuer": missing, "chain_length": str(len(chain))}))

    def check_order(self) -> None:
        for item in self.inputs:
            if item.data is None or _sniffed(item.data) != "pem":
                continue
            try:
                certs = [Certificate.load(block) for block in _PEM_CERT.findall(item.data)]
            except CertkitError:
                continue
            if len(certs) < 2 or Chain(certs).broken_link is None:
                continue
            try:
                ordered = _chains.order_chain(certs)
            except ChainError:
                continue
            found = " → ".join(_short(c) for c in certs)
            expected = " → ".join(_short(c) for c in ordered)
            self.add(_finding("misordered-chain", files=[item.label], file=item.label,
                              found=found, expected=expected,
                              data={"found": found, "expected": expected}))

    # dates, names, protection

    def check_dates(self, extra: Iterable[tuple[Certificate, str]] = ()) -> None:
        everything = dict(self.certificates)
        for cert, label in extra:
            everything.setdefault(cert.der, (cert, []))[1].append(label)
        for cert, labels in everything.values():
            files = dict.fromkeys(labels)
            data = {"not_before": cert.not_before.isoformat(),
                    "not_after": cert.not_after.isoformat(), "sha256": cert.fingerprint()}
            if cert.not_after < self.at:
                self.add(_finding("expired", files=files, subject=cert.subject,
                                  date=_day(cert.not_after), data=data))
            elif cert.not_before > self.at:
                self.add(_finding("not-yet-valid", files=files, subject=cert.subject,
                                  date=_day(cert.not_before), data=data))
            elif cert.not_after - self.at < self.expiring:
                days = (cert.not_after - self.at).days
                self.add(_finding("expiring-soon", files=files, subject=cert.subject,
                                  date=_day(cert.not_after), days=days, data=data))

    def check_name(self, name: str, extra: Iterable[tuple[Certificate, str]] = ()) -> None:
        leaves = [(leaf.certificate, leaf.label) for leaf in self.leaves]
        known = {cert.der for cert, _ in leaves}
        leaves += [(cert, label) for cert, label in extra if cert.der not in known]
        for cert, label in leaves:
            if cert.matches_hostname(name):
                continue
            try:
                sans = cert.san
            except CertkitError:
                sans = ()
            if not sans and (cert.common_name or "").lower() == name.lower():
                why = ("the name is only in the CN and the certificate has no subject "
                       "alternative names")
                why_zh = "此名稱只寫在 CN，憑證沒有主體別名 SAN"
            else:
                listed = ", ".join(sans) or "none"
                why = f"its subject alternative names are {listed}"
                why_zh = f"它的主體別名為 {listed if sans else '（無）'}"
            self.add(_finding("name-not-in-san", files=[label], subject=cert.subject, name=name,
                              why=why, why_zh=why_zh, data={"san": ", ".join(sans)}))

    def check_protection(self) -> None:
        for item in self.inputs:
            if item.store.format == "pkcs12":
                weak = sorted({f"{p.part}: {p.algorithm} ({p.weak})"
                               for p in item.store.protection if p.weak})
                if weak:
                    self.add(_finding("weak-pkcs12", files=[item.label], file=item.label,
                                      weak="; ".join(weak), stem=_stem(item.label),
                                      data={"weak": "; ".join(weak)}))
            if item.is_container and item.password_given:
                for entry in item.store.entries:
                    # A secret key under its own password is reported like a private key.
                    if isinstance(entry, (KeyEntry, SecretKeyEntry)) and entry.is_locked:
                        self.add(_finding("key-locked", files=[item.label],
                                          aliases=[entry.alias], alias=entry.alias,
                                          file=item.label))

    # the live host

    def check_host(self, host: str, port: int, servername: str | None,
                   timeout: float) -> list[tuple[Certificate, str]]:
        from certkit._ops.remote import fetch_chain  # noqa: PLC0415 - network code only when asked

        where = f"{host}:{port}"
        try:
            served = fetch_chain(host, port, servername=servername, timeout=timeout)
        except (NetworkError, DecodeError) as err:
            self.add(_finding("host-unreachable", files=[where], host=where, reason=str(err)))
            return []
        links = served
        if served.broken_link is not None:
            try:  # a misordered chain is judged in order (misordering is told apart)
                links = _chains.order_chain(served)
            except ChainError:
                links = served
        self.add_verdict(_chains.chain_verdict(links, trust=self.anchors(), pool=self.pool),
                         where, [where])
        leaf = served.certificates[0]
        locals_ = self.leaves
        if locals_ and all(item.certificate.der != leaf.der for item in locals_):
            local = locals_[0].certificate
            self.add(_finding(
                "served-differs", files=[where, locals_[0].label], host=where,
                served_subject=leaf.subject, served_serial=format(leaf.serial_number, "x"),
                served_until=_day(leaf.not_after), local_subject=local.subject,
                local_until=_day(local.not_after),
                data={"served_sha256": leaf.fingerprint(), "local_sha256": local.fingerprint()}))
        elif locals_:
            local_chain = _chains.build_chain(leaf, self.pool)
            wanted = [c for c in local_chain.certificates if not c.is_self_signed]
            sent = [c for c in served.certificates if not c.is_self_signed]
            if [c.der for c in wanted] != [c.der for c in sent]:
                self.add(_finding(
                    "served-chain-differs", files=[where, *self.certificates[leaf.der][1]],
                    host=where, served=" → ".join(_short(c) for c in served.certificates),
                    local=" → ".join(_short(c) for c in local_chain.certificates)))
        return [(cert, where) for cert in served.certificates]


def _short(cert: Certificate) -> str:
    return f"CN={cert.common_name}" if cert.common_name else cert.subject


_RANK = {severity: index for index, severity in enumerate(SEVERITIES)}


def diagnose(
    *sources: DiagnoseSource,
    host: str | None = None,
    port: int = 443,
    servername: str | None = None,
    passwords: Password | Passwords | Mapping[str, Password] | None = None,
    at: _dt.datetime | None = None,
    expiring: _dt.timedelta = _dt.timedelta(days=30),
    alias: str | None = None,
    timeout: float = 10.0,
    trust: _chains.TrustSource | None = "system",
) -> list[Finding]:
    """Look at ``sources`` together (and at ``host`` if given) and say what is wrong.

    Sources are paths, bytes or loaded stores; ``passwords`` is one password for all or a
    mapping from path to password. ``host`` fetches the chain ``host:port`` serves and
    compares it with the files; ``servername`` (else ``host``) is the name the leaf must
    cover. ``alias`` is the keystore alias a CA reply is meant for. ``at`` is the moment
    for date checks (default now); certificates ending within ``expiring`` are reported.
    Chains (of the files and of the host) are judged by :func:`~certkit.chain_verdict`
    against ``trust`` (default the system store; a PEM path for a private CA).
    Problems are findings, never exceptions; the list is sorted errors first, then
    warnings, then notes.
    """
    moment = at or _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    early: list[Finding] = []
    inputs = [item for index, source in enumerate(sources, 1)
              if (item := _load_one(source, index, passwords, early)) is not None]
    doctor = _Doctor(inputs, at=moment, expiring=expiring, alias=alias, trust=trust)
    doctor.findings.extend(early)
    doctor.check_keys()
    doctor.check_chains()
    doctor.check_order()
    doctor.check_protection()
    served: list[tuple[Certificate, str]] = []
    if host is not None:
        served = doctor.check_host(host, port, servername, timeout)
    doctor.check_dates(served)
    name = servername or host
    if name is not None:
        doctor.check_name(name, served[:1])
    return sorted(doctor.findings, key=lambda f: _RANK.get(f.severity, len(_RANK)))
