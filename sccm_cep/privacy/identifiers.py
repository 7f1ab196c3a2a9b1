"""Identifier detection in names: is there an address, account, path or number in this name?

Product, publisher, vendor, model and CPU names are sent as (tidied) text when enough devices
share them. A name that carries an identifier (an e-mail address in an in-house tool's
title, a host name in a model string, a phone number in a publisher) must not leave even
when thousands of devices report it, so the anonymizer asks ``find_identifiers`` first and
sends ``other`` on any finding.

Detection runs twice: on the text as it is, and on a normalized form made for matching
(``normalize_for_detection``): NFKC, format and control characters removed, accents
dropped, common Cyrillic and Greek look-alikes folded to ASCII. A finding in either form
counts, so hiding an address behind a zero-width space ("jdoe\u200b@corp.example"),
full-width letters or a Cyrillic "о" does not get it through, and neither does an address
that only appears once the hidden characters are gone. A NUL is never removed (it becomes a
boundary, so the pieces on either side of it are not joined) and is itself a finding, as is
any bidi override or isolate: names of real software carry neither, and an override can make
a reversed string display as an address.

The detectors err towards finding too much: a false finding costs one name sent as
``other``; a missed one sends an identifier.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from sccm_cep.privacy._confusables import CONFUSABLES

__all__ = [
    "GUID",
    "KINDS",
    "Finding",
    "find_identifiers",
    "has_identifier",
    "identifier_spans",
    "normalize_for_detection",
    "phone_spans",
]

#: Longer names are not scanned but withheld outright: no real product name is this long.
MAX_NAME = 4096
#: Regions whose national number formats the phone detector knows (international numbers
#: with a "+" are found whatever the region).
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "IN", "AU")

_BIDI_CONTROLS = frozenset({*range(0x202A, 0x202F), *range(0x2066, 0x206A)})
_CONFUSABLES = str.maketrans(CONFUSABLES)
_SPACES = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")

# Suffixes used only inside organizations: a name ending in one is a host or a UPN.
_INTERNAL_TLDS = frozenset(
    ("local", "lan", "corp", "internal", "ad", "intra", "intranet", "home", "localdomain",
     "priv", "private", "domain", "example", "test", "invalid", "localhost")
)  # fmt: skip
# Public suffixes common in host names. Not every TLD: ".js", ".py", ".md", ".sh", ".ps",
# ".rs", ".ai", ".app" and the like are far more often file extensions or product names.
_TLDS = _INTERNAL_TLDS | frozenset(
    ("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "us", "uk",
     "de", "fr", "nl", "be", "ch", "at", "it", "es", "se", "no", "dk", "fi", "ie", "ca", "au",
     "nz", "jp", "cn", "kr", "in", "br", "mx", "ru", "cz", "sk", "hu", "ro", "bg", "gr", "tr",
     "za", "il", "ae", "sg", "hk", "tw", "eu", "lu", "pt", "lt", "lv", "ee", "is", "pl", "si",
     "hr", "ua", "ar", "cl", "cloud", "online", "tech", "site", "dev", "xyz", "top", "cc",
     "biz", "name", "pro", "edu")
)  # fmt: skip
#: The suffix tables, shared with the free-text scrubber.
INTERNAL_TLDS = _INTERNAL_TLDS
TLDS = _TLDS

# Dotted product names that read like host names ("ASP.NET" is a framework, not a host).
_NOT_HOSTS = frozenset(("asp.net", "vb.net", "ado.net", "paint.net", "dot.net", "f#.net"))
_VERSION_WORDS = frozenset(("v", "ver", "version", "build", "release", "rev", "update"))
_WELL_KNOWN_DOMAINS = frozenset({"builtin", "nt authority", "nt service", "window manager"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One identifier found in a name: its kind and where (``raw`` or ``normalized``).

    The matched text stays local (tests, a reviewer's explain); it is never written out.
    """

    kind: str
    text: str
    form: str


Check = Callable[[re.Match[str]], bool]


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    check: Check | None = None


def _has_digit(m: re.Match[str]) -> bool:
    return any(c.isdigit() for c in m.group())


def _upn(m: re.Match[str]) -> bool:
    domain = m.group("domain")
    last = domain.rsplit(".", 1)[-1]
    # "jdoe@CONTOSO" (a NetBIOS domain in capitals) or "jdoe@corp.local" (an internal suffix).
    if "." not in domain:
        return domain.isupper() and len(domain) >= 2 and m.string[m.start("domain") - 1] == "@"
    return last.casefold() in _INTERNAL_TLDS


def _account(m: re.Match[str]) -> bool:
    domain = m.group("domain").casefold()
    before = m.string[max(0, m.start() - 16) : m.start()].casefold()
    for known in _WELL_KNOWN_DOMAINS:
        head, _, tail = known.rpartition(" ")
        if domain == tail and (not head or before.endswith(head + " ")):
            return False
    return True


def dotted_mac(text: str) -> bool:
    """Three groups of four hex digits are a Cisco-style MAC only with a letter in them;
    digits alone are more often a version."""
    return any(c in "abcdefABCDEF" for c in text)


def ipv6_address(text: str) -> bool:
    """Whether ``text`` (zone index allowed) is an IPv6 address, not a version or a time."""
    address = text.split("%", 1)[0]
    if address.count(":") < 2 or not any(c not in ":." for c in address):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _mac_dotted(m: re.Match[str]) -> bool:
    return dotted_mac(m.group())


def _ipv4(m: re.Match[str]) -> bool:
    # "7.4.1.0" is a version: hosts almost never end in .0, and networks carry a "/prefix".
    if m.group().endswith(".0") and m.string[m.end() : m.end() + 1] != "/":
        return False
    if _DRIVER_DATE.search(m.string, 0, m.start()) and m.string[m.end() : m.end() + 1] == ")":
        return False  # "Windows Driver Package - ... (06/12/2023 12.19.1.32)": date and version
    before = m.string[max(0, m.start() - 10) : m.start()].casefold()
    if before.endswith("v") and not before[-2:-1].isalnum():
        return False  # "v1.2.3.4"
    words = before.split()
    return not (words and before.endswith(" ") and words[-1].rstrip(".:") in _VERSION_WORDS)


_DRIVER_DATE = re.compile(r"\([0-9]{2}/[0-9]{2}/[0-9]{4} \Z")


def _ipv6(m: re.Match[str]) -> bool:
    return ipv6_address(m.group().rstrip(".:"))


def _host(m: re.Match[str]) -> bool:
    text = m.group().rstrip(".-")
    labels = text.split(".")
    if len(labels) < 2 or not all(labels) or len(text) > 253:
        return False
    folded = [label.casefold() for label in labels]
    if ".".join(folded) in _NOT_HOSTS:
        return False
    if _any_tld_host(labels):
        return True
    for end in range(len(labels), 1, -1):
        last = folded[end - 1]
        if last not in _TLDS or folded[end - 2].isdigit():
            continue
        if end == 2 and labels[1] == "NET":
            continue  # "Telerik.NET", "Npgsql.NET", "for .NET": the .NET naming convention
        if end == len(labels) or end >= 3 or last in _INTERNAL_TLDS:
            return True
    return False


def _any_tld_host(labels: list[str]) -> bool:
    """A host under a suffix not in ``_TLDS`` (".shop", ".freight": there are over a thousand):
    written in lower case like DNS names (namespaces such as "System.Net.Http" are not), the
    last label letters only and not a file extension, with three labels or more, or two where
    the first carries a hyphen or a digit ("tms-04.shop")."""
    last = labels[-1]
    if (
        not (2 <= len(last) <= 24 and last.isascii() and last.isalpha())
        or last.casefold() in _FILE_EXTENSIONS
    ):
        return False
    if any(label != label.casefold() for label in labels):
        return False
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return False
    return len(labels) >= 3 or any(c == "-" or c.isdigit() for c in labels[0])


_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Lower-case dotted names ending in one of these are files, not hosts ("setup-x64.exe").
_FILE_EXTENSIONS = frozenset(
    ("exe", "msi", "msp", "msu", "msix", "appx", "cab", "dll", "sys", "inf", "cat", "ocx", "bat",
     "cmd", "ps", "psm", "vbs", "js", "jse", "wsf", "py", "pl", "rb", "sh", "jar", "war", "zip",
     "rar", "gz", "tgz", "bz", "xz", "iso", "img", "wim", "vhd", "vhdx", "txt", "log", "md",
     "rst", "csv", "json", "xml", "yaml", "yml", "ini", "cfg", "conf", "config", "reg", "pdf",
     "doc", "docx", "xls", "xlsx", "xlsm", "ppt", "pptx", "htm", "html", "css", "png", "jpg",
     "jpeg", "gif", "svg", "ico", "mp", "mp3", "mp4", "avi", "wav", "db", "sqlite", "mdb", "bak",
     "old", "tmp", "dat", "bin", "lnk", "url", "net", "x", "rc", "beta", "alpha", "final", "lts",
     "esr", "dev", "preview", "release", "stable", "core", "app", "exe")
)  # fmt: skip


def _iban(m: re.Match[str]) -> bool:
    text = m.group().replace(" ", "").upper()
    if not 15 <= len(text) <= 34:
        return False
    moved = text[4:] + text[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def _card(m: re.Match[str]) -> bool:
    """A card number (13-19 digits, Luhn) anywhere in a run of digit groups: the groups around it
    ("x64 4111 1111 1111 1111") must not hide it, so every span of whole groups is tried."""
    groups = re.split(r"[\x20-]", m.group())[:64]
    for start in range(len(groups)):
        digits = ""
        for group in groups[start:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _luhn(digits):
                return True
    return False


def _luhn(digits: str) -> bool:
    if digits[0] not in "23456":
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_HEX = "[0-9A-Fa-f]"

_ROLES = (
    "WKS|WS|PC|NB|LT|LAP|DT|DSK|SRV|SVR|SERVER|VDI|DC|SQL|FS|APP|WEB|EXCH|CTX|HV|ESX|VM|TS"
    "|RDS|PRN|KIOSK|MP|DP|SUP|SCCM|CM"
)
_YEAR_SUFFIX = re.compile(r"[-_]?(?:19|20)[0-9]{2}(?:R2)?", re.IGNORECASE)


def netbios_role(m: re.Match[str]) -> bool:
    """A role-style computer name, not a product and year ("SQL2019", "WS2022")."""
    return not _YEAR_SUFFIX.fullmatch(m.group("rest"))


def _street(m: re.Match[str]) -> bool:
    return not any(w in _NOT_STREETS for w in m.group().casefold().split())


_NOT_STREETS = frozenset(("update", "version", "build", "service", "pack", "edition", "release"))

#: Role-style computer names: WKS-0A1B2C, SRV-SQL01, NYC-WKS-0042, KMF-LT-00917, DC01.
NETBIOS_ROLE = re.compile(
    rf"(?<![\w-])(?:[A-Za-z]{{2,6}}[-_])?(?:{_ROLES})"
    r"(?P<rest>[-_][A-Za-z0-9-]*[0-9][A-Za-z0-9-]*|[0-9]{2,}[A-Za-z0-9-]*)(?![\w-])",
    re.IGNORECASE,
)
#: Service-desk tickets: ServiceNow-style numbers, or a number after "ticket", "case" ...
TICKET = re.compile(
    r"(?<![^\W_])(?:INC|REQ|RITM|CHG|PRB|SCTASK|CTASK|TASK|CS|SR|WO)[0-9]{5,10}(?![^\W_])"
    r"|(?<![^\W_])(?:ticket|case|incident|request|issue|call)\s*(?:no\.?|number|nr\.?|id)?\s*[:#]?\s*"
    r"[A-Z]{0,10}-?[0-9]{3,12}(?![0-9])",
    re.IGNORECASE,
)
#: Serial numbers and asset tags named as such ("SN 7XQ4K93", "Service Tag: 5CG2417QXT").
SERIAL = re.compile(
    r"(?<![^\W_])(?:S/?N|serial(?:\s*(?:no\.?|number|nr\.?))?|service\s*tag|asset(?:\s*tag)?|tag)"
    r"(?:\s*[:#]\s*|\s+)(?=[A-Z-]*[0-9])[A-Z0-9-]{5,24}(?![^\W_])",
    re.IGNORECASE,
)
#: Street addresses: a number and a name before a street word, or a German/Dutch street
#: name ending in -straße/-weg/... before a number, or a French "12 rue ...".
STREET = re.compile(
    r"(?<![^\W_])[0-9]{1,5}[A-Za-z]?,?\s{1,3}(?:[^\W\d_][\w'.-]{0,40}\s{1,3}){1,3}"
    r"(?:street|st|road|rd|lane|ln|avenue|ave|boulevard|blvd|drive|dr|way|court|ct|place|pl"
    r"|terrace|close|square|sq|crescent|parkway|pkwy|highway|hwy|row|mews|gardens)\b\.?"
    r"|(?<![^\W_])[^\W\d_]\w{0,40}(?:stra(?:ß|ss)e|str\.|weg|gasse|allee|platz|straat|laan|gracht|plein)"
    r"\s+[0-9]{1,4}[a-z]?(?![0-9])"
    r"|(?<![^\W_])[0-9]{1,4}(?:\s*(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|chemin|allée|place|quai|impasse)"
    r"\s+[^\W\d_]",
    re.IGNORECASE,
)

#: Patterns the free-text scrubber (``scrub``) uses too: one definition for both.
SID = re.compile(r"(?<![\w-])S-1-[0-9]{1,3}(?:-[0-9]{1,14}){1,15}(?![0-9])", re.IGNORECASE)
MAC = re.compile(rf"(?<![0-9A-Fa-f:-]){_HEX}{{2}}([:-]){_HEX}{{2}}(?:\1{_HEX}{{2}}){{4}}(?![0-9A-Fa-f:-])")
MAC_DOTTED = re.compile(rf"(?<![0-9A-Fa-f.]){_HEX}{{4}}\.{_HEX}{{4}}\.{_HEX}{{4}}(?![0-9A-Fa-f.])")
#: A GUID, with or without the braces registry and inventory print around it.
GUID = re.compile(
    rf"(?<![0-9A-Fa-f-])\{{?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}?(?![0-9A-Fa-f-])"
)
IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:.]{2,45}(?:%[0-9A-Za-z]{1,16})?(?![\w:.%])")
_DETECTORS: tuple[_Detector, ...] = (
    _Detector(
        "url",
        re.compile(
            r"\b(?:https?|ftps?|sftp|file|ldaps?|smb|ssh|rdp|wss?)://\S|\bwww\.[^\W_]",
            re.IGNORECASE,
        ),
    ),
    _Detector("unc", re.compile(r"\\\\(?:[?.]\\UNC\\)?[^\W_]")),
    _Detector(
        "path",
        re.compile(
            r"(?<![^\W_])[A-Za-z]:[\\/]"  # C:\ and D:/
            r"|%[A-Za-z_][\w()]{0,40}%"  # %USERPROFILE%, %APPDATA%\...
            r"|(?<!\w)~[\\/]"  # ~/...
        ),
    ),
    _Detector(
        "profile_path",
        re.compile(
            r"(?<!\w)(?:[\\/]|\b)(?:Users|Documents and Settings|home|export/home|profiles)"
            r"[\\/][^\W_]",
            re.IGNORECASE,
        ),
    ),
    _Detector(
        "upn",
        re.compile(r"(?<![\w.%+'-])[\w.%+'-]{1,64}\x20?@\x20?(?P<domain>[^\W_][\w.-]{0,253})(?![\w-])"),
        _upn,
    ),
    _Detector(
        "email",
        # "jdoe@corp.example", also with a space on either side of the "@" (a NUL or a
        # control character turned into a space must not hide the address).
        re.compile(
            r"(?<![\w.%+'-])[\w.%+'-]{1,64}\x20?@\x20?(?:[^\W_][\w-]{0,62}\.){1,10}"
            r"[^\W\d_]{2,24}(?![\w-])"
        ),
    ),
    _Detector("sid", SID),
    _Detector("guid", GUID),
    _Detector(
        "account",
        re.compile(r"(?<![\w\\.-])(?P<domain>[^\W_][\w.-]{0,62})\\[\w$][\w.$-]{0,63}"),
        _account,
    ),
    _Detector("mac", MAC),
    _Detector("mac", MAC_DOTTED, _mac_dotted),
    _Detector(
        "mac",
        # Twelve bare hex digits, as "getmac" and inventory print them: 00155D0A1B2C.
        re.compile(rf"(?<![^\W_]){_HEX}{{12}}(?![^\W_])"),
        _has_digit,
    ),
    _Detector(
        "ipv4",
        re.compile(
            r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
            r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9])"
        ),
        _ipv4,
    ),
    _Detector("ipv6", IPV6, _ipv6),
    _Detector(
        "iban",
        re.compile(
            r"(?<![^\W_])[A-Z]{2}[0-9]{2}(?:\x20?[A-Z0-9]{4}){2,7}(?:\x20?[A-Z0-9]{1,4})?(?![^\W_])", re.I
        ),
        _iban,
    ),
    _Detector(
        "card",
        re.compile(r"(?<![0-9])(?:[0-9]+(?:[\x20-][0-9]+)+|[0-9]{13,19})(?![0-9])"),
        _card,
    ),
    _Detector(
        "host",
        re.compile(r"(?<![\w.@-])[^\W_][\w-]{0,62}(?:\.[\w-]{1,63}){1,127}"),
        _host,
    ),
    _Detector("host", NETBIOS_ROLE, netbios_role),
    _Detector("ticket", TICKET),
    _Detector("serial", SERIAL),
    _Detector("address", STREET, _street),
    _Detector(
        "host",
        # Names Windows and clouds generate: DESKTOP-4K2JR8L, LAPTOP-AB12CD34, WIN-3O8PU6C4ULN.
        re.compile(
            r"(?<![\w-])(?:DESKTOP|LAPTOP|WIN|MININT|EC2AMAZ)-(?=[A-Z]*[0-9])[A-Z0-9]{5,15}(?![\w-])", re.I
        ),
    ),
)

#: Every kind of finding, in a stable order.
KINDS: tuple[str, ...] = ("nul", "bidi", "oversize", *dict.fromkeys(d.kind for d in _DETECTORS), "phone")


def normalize_for_detection(text: str) -> str:
    """The form of ``text`` the detectors see besides the raw one: NUL and line breaks as
    spaces, other control and format characters (zero-width, bidi, soft hyphen) removed,
    NFKC, accents dropped, Cyrillic/Greek look-alikes folded to ASCII, spaces collapsed."""
    kept: list[str] = []
    for ch in text:
        if ch == "\x00" or ch in _SPACES:
            kept.append(" ")  # a boundary: the pieces on either side are never joined
        elif unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs"):
            continue
        else:
            kept.append(ch)
    folded = unicodedata.normalize("NFKC", "".join(kept)).translate(_CONFUSABLES)
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    bare = unicodedata.normalize("NFKC", bare).translate(_CONFUSABLES)
    return " ".join(bare.split())


def _scan(text: str, form: str) -> Iterator[Finding]:
    for detector in _DETECTORS:
        for m in detector.pattern.finditer(text):
            if detector.check is None or detector.check(m):
                yield Finding(detector.kind, m.group(), form)
                break
    if sum(c.isdigit() for c in text) >= 7:
        phone = _phone(text)
        if phone is not None:
            yield Finding("phone", phone, form)


def _phone(text: str) -> str | None:
    spans = phone_spans(text, first=True)
    return text[spans[0][0] : spans[0][1]] if spans else None


def phone_spans(text: str, *, first: bool = False) -> list[tuple[int, int]]:
    """Where ``text`` has a phone number: one valid in a known region, or one that merely could
    be a number but is written like one (with a "+" country code, or NANP-grouped).

    The matcher runs only on candidate runs of digits and separators (bounded length), so a
    long text of digits costs time in proportion to its length."""
    found: list[tuple[int, int]] = []
    checked = 0
    for candidate in _PHONE_CANDIDATE.finditer(text):
        if sum(c.isdigit() for c in candidate.group()) < 7:
            continue
        # The matcher sees a little context too: "2024-03-15 18:00" is a time, not a number.
        offset = max(0, candidate.start() - _PHONE_CONTEXT)
        window = text[offset : candidate.end() + _PHONE_CONTEXT]
        checked += 1
        if checked > PHONE_BUDGET:
            # Past the budget a text is hostile or a dump of numbers: fail closed.
            found.append((candidate.start(), candidate.end()))
            continue
        for start, end in _phones_in(window):
            found.append((offset + start, offset + end))
            if first:
                return found
    return found


#: Candidate runs checked with the phone number matcher per text; any further one with seven
#: digits or more counts as a phone number unchecked (the matcher costs about a millisecond).
PHONE_BUDGET = 128
_PHONE_CONTEXT = 8


@lru_cache(maxsize=4096)
def _phones_in(text: str) -> tuple[tuple[int, int], ...]:
    found: list[tuple[int, int]] = []
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            if not _version_like(str(match.raw_string)):
                found.append((match.start, match.end))
    for match in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE):
        raw = str(match.raw_string)
        if _PLUS_NUMBER.match(raw) or _NANP.fullmatch(raw):
            found.append((match.start, match.end))
    return tuple(found)


# A run that could hold a phone number: an optional "+" or "(", then digits and separators.
_PHONE_CANDIDATE = re.compile(r"(?<![0-9])[+(]?[0-9][0-9 ().\-/]{5,28}[0-9](?![0-9])")


def identifier_spans(text: str) -> list[tuple[int, int, str]]:
    """Every identifier in ``text`` as (start, end, kind), all matches of every detector (they
    may overlap), for the free-text scrubber: the same detectors as for names."""
    spans: list[tuple[int, int, str]] = []
    for detector in _DETECTORS:
        for m in detector.pattern.finditer(text):
            if detector.check is None or detector.check(m):
                spans.append((m.start(), m.end(), detector.kind))
    if sum(c.isdigit() for c in text) >= 7:
        spans.extend((start, end, "phone") for start, end in phone_spans(text))
    return spans


def _version_like(raw: str) -> bool:
    """ "16.0.4266.1001" is a version, "555.123.4567" and "06.12.34.56.78" are numbers."""
    return bool(_DOTTED.fullmatch(raw)) and not (_NANP.fullmatch(raw) or _TWO_DIGIT_GROUPS.fullmatch(raw))


_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_TWO_DIGIT_GROUPS = re.compile(r"0[0-9](?:\.[0-9]{2}){4}")
_PLUS_NUMBER = re.compile(r"\+[0-9]")


# "(555) 123-4567", "555-123-4567", "555.123.4567": written like a North American number.
_NANP = re.compile(r"(?:1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}")


def find_identifiers(name: str) -> tuple[Finding, ...]:
    """Every kind of identifier found in ``name`` (raw or normalized), at most one finding
    per kind and form; empty when the name carries none."""
    if len(name) > MAX_NAME:
        return (Finding("oversize", "", "raw"),)
    findings: list[Finding] = []
    if "\x00" in name:
        findings.append(Finding("nul", "\x00", "raw"))
    if any(ord(c) in _BIDI_CONTROLS for c in name):
        findings.append(Finding("bidi", "", "raw"))
    findings.extend(_scan(name, "raw"))
    normalized = normalize_for_detection(name)
    if normalized != name:
        findings.extend(_scan(normalized, "normalized"))
    # Upstream tidying turns a NUL or a control character into a space before a name
    # reaches the anonymizer: "jdoe@corp\x00.example" arrives as "jdoe@corp .example".
    # The pieces are never joined for sending, but a third form with the spaces next to
    # address punctuation closed finds what they still spell.
    squeezed = _AROUND_PUNCTUATION.sub(lambda m: m.group().strip(), normalized)
    if squeezed != normalized:
        findings.extend(_scan(squeezed, "squeezed"))
    return tuple(findings)


_AROUND_PUNCTUATION = re.compile(r"\s*[.:\\/]\s*|\s+@")


@lru_cache(maxsize=65536)
def has_identifier(name: str) -> bool:
    """Whether ``name`` carries any identifier (see ``find_identifiers``)."""
    return bool(find_identifiers(name))
