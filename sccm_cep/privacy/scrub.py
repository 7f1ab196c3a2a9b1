"""Free-text scrubbing: replaces personal data in text such as the feedback comment with
typed placeholders, in three passes over the text normalized as names are (NFKC, look-alikes
folded, invisible characters and combining marks gone).

1. Its own patterns, most specific first (URL and UNC before paths, e-mail before host names,
   SIDs before anything numeric), after checksummed numbers and phone numbers.
2. The identifier detectors the anonymizer uses on names (``identifiers``): IBAN, card,
   ticket, serial, street address, host under any suffix, role-style computer names, ...
3. The closed word rule (``_words``): a capitalized word outside a closed list of common
   English and product words is a ``<name>``; a long token of letters and digits an ``<id>``.

Every pattern has bounded or unambiguous repetition and the input is cut to a bound first.
The scrubber errs towards removing too much ("Greenshot 1.2.10.6" becomes "<name> <ip>"):
the admin sees the result and confirms it before it is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sccm_cep.privacy._words import closed_words
from sccm_cep.privacy.identifiers import (
    GUID,
    INTERNAL_TLDS,
    IPV6,
    MAC,
    MAC_DOTTED,
    NETBIOS_ROLE,
    SID,
    TLDS,
    dotted_mac,
    identifier_spans,
    ipv6_address,
    netbios_role,
    normalize_for_detection,
)

__all__ = ["KINDS", "scrub", "scrub_findings"]

# Hard cap on the text any pattern sees, whatever the caller passes.
_INPUT_BOUND = 64 * 1024
# For scrub() the text beyond what can reach the output is not worth scanning: a window of
# a few times max_length (replacements shrink text) plus slack is enough.
_WINDOW_FACTOR = 4
_WINDOW_SLACK = 1024

# Controls become spaces; zero-width and soft-hyphen characters vanish (they would
# otherwise split "jdoe@con\u200btoso.com" into pieces no pattern recognizes).
_TRANSLATE: dict[int, str | None] = {c: " " for c in range(0x20)}
_TRANSLATE[0x7F] = " "
for _zw in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
    _TRANSLATE[_zw] = None

# A path segment: no separators, whitespace or characters Windows forbids in names.
_SEG_CHAR = r'[^\\/\s<>"|?*:]'
_SEG = rf"{_SEG_CHAR}+"
# A path ends at the first space, except that up to two capitalized words may follow the
# last segment: "C:\Users\John Smith" must not leave "Smith" behind.
_PATH_TAIL = rf"(?:{_SEG}(?:\x20[A-Z\u00C0-\u00DE]{_SEG_CHAR}*){{0,2}})?"
_PATH_BODY = rf"(?:{_SEG}(?:\x20{_SEG})*[\\/])*{_PATH_TAIL}"

# Host suffixes: the identifier detector's tables (internal-only ones, and public suffixes
# common in host names; ".md", ".sh", ".py" and the like are more often file extensions).
_INTERNAL_TLDS = INTERNAL_TLDS
_TLDS = TLDS
# Dotted product and vendor names that look like host names but are not personal.
_NOT_HOSTS = frozenset(
    ("asp.net", "vb.net", "ado.net", "paint.net", "dot.net", "amazon.com", "salesforce.com")
)
_VERSION_WORDS = ("v", "version", "ver", "ver.", "build", "release", "rev", "rev.")
_WELL_KNOWN_DOMAINS = frozenset({"builtin"})
_NT_DOMAINS = frozenset({"authority", "service"})  # NT AUTHORITY\SYSTEM, NT SERVICE\...


@dataclass(frozen=True, slots=True)
class _Scrubber:
    kind: str
    pattern: re.Pattern[str]
    # Decides on a match: the replacement text, or None to leave the match as it is.
    check: Callable[[re.Match[str], str], str | None] | None = None


def _plain(_m: re.Match[str], placeholder: str) -> str | None:
    return placeholder


def _ipv6(m: re.Match[str], placeholder: str) -> str | None:
    text = m.group()
    # "fe80::1:" at the end of a sentence: try without trailing punctuation too.
    for end in range(len(text), max(len(text) - 3, 1), -1):
        candidate, rest = text[:end], text[end:]
        if rest.strip(".:") != "":
            break
        if ipv6_address(candidate):
            return placeholder + rest
    return None


def _ipv4(m: re.Match[str], placeholder: str) -> str | None:
    # "7.4.1.0" is a version: hosts almost never end in .0, and networks carry a "/prefix".
    if m.group().endswith(".0") and m.string[m.end() : m.end() + 1] != "/":
        return None
    before = m.string[max(0, m.start() - 9) : m.start()].casefold()
    if before.endswith("v") and not before[-2:-1].isalnum():
        return None  # "v1.2.3.4"
    words = before.split()
    if words and before.endswith(" ") and words[-1] in _VERSION_WORDS:
        return None  # "version 1.2.3.4", "Build 10.0.0.1"
    return placeholder


def _phone_international(m: re.Match[str], placeholder: str) -> str | None:
    text = m.group()
    # The run may have swallowed numbers after the phone number: drop trailing groups
    # until at most 15 digits (the ITU maximum) remain.
    while sum(c.isdigit() for c in text) > 15:
        cut = max(text.rfind(" "), text.rfind("-"), text.rfind("."), text.rfind("/"))
        if cut <= 1:
            return None
        text = text[:cut]
    if sum(c.isdigit() for c in text) < 7:
        return None
    return placeholder + m.group()[len(text) :]


_DIGIT_GROUPS = re.compile(r"[0-9]+")


def _phone_trunk(m: re.Match[str], placeholder: str) -> str | None:
    groups = _DIGIT_GROUPS.findall(m.group())
    lengths = [len(g) for g in groups]
    if lengths == [2, 2, 4]:
        return None  # a date: 05-01-2024
    if lengths == [4, 4] and all(int(g[:2]) <= 24 and int(g[2:]) <= 59 for g in groups):
        return None  # a time window: 0200-0400
    return placeholder if 8 <= sum(lengths) <= 12 else None


def _mac_dotted(m: re.Match[str], placeholder: str) -> str | None:
    return placeholder if dotted_mac(m.group()) else None


def _account(m: re.Match[str], placeholder: str) -> str | None:
    domain = m.group(1).casefold()
    if domain in _WELL_KNOWN_DOMAINS:
        return None
    if domain in _NT_DOMAINS and m.string[max(0, m.start() - 3) : m.start()].casefold() == "nt ":
        return None
    return placeholder


def _host_name(name: str) -> bool:
    labels = name.casefold().split(".")
    return (
        len(labels) >= 2
        and labels[-1] in _TLDS
        and all(labels)
        and name.casefold() not in _NOT_HOSTS
        and not labels[-2].isdigit()
    )


def _fqdn(m: re.Match[str], placeholder: str) -> str | None:
    text = m.group()
    if len(text) > _MAX_HOST_NAME:  # longer than DNS allows: not a host name
        return None
    if _host_name(text):
        return placeholder
    # "srv01.contoso.com.bak": the host is a prefix. Only trusted for three or more labels
    # or an internal suffix, so "System.Net.Http" is left alone.
    labels = text.split(".")
    for end in range(len(labels) - 1, 1, -1):
        prefix = ".".join(labels[:end])
        last = labels[end - 1].casefold()
        if _host_name(prefix) and (end >= 3 or last in _INTERNAL_TLDS):
            return placeholder + text[len(prefix) :]
    return None


_MAX_HOST_NAME = 253


_SCRUBBERS: tuple[_Scrubber, ...] = (
    _Scrubber(
        "url",
        re.compile(
            r"\b(?:https?|ftps?|sftp|file|ldaps?|smb|ssh|rdp|wss?|tcp)://"
            r"[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]"
            r"|\bwww\.[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]",
            re.IGNORECASE,
        ),
    ),
    _Scrubber(
        "unc",
        # "\\?\UNC\srv\share" is the long form of "\\srv\share"; "\\?\C:\..." is a path.
        re.compile(rf'\\\\(?:[?.]\\UNC\\)?(?![?.]\\)[^\\/\s<>"|*]+(?:[\\/]{_PATH_BODY})?'),
    ),
    _Scrubber(
        "path",
        re.compile(
            rf"(?:\\\\[?.]\\)?(?<![A-Za-z0-9])[A-Za-z]:[\\/]{_PATH_BODY}"
            rf"|%[A-Za-z_][A-Za-z0-9_()]{{0,40}}%[\\/]{_PATH_BODY}"
            rf"|(?<![\w\\])\\?(?:Users|Documents and Settings)\\{_PATH_BODY}"
            r'|(?<![\w/.-])/(?:home|Users|export/home)/[^\s/<>"]+(?:/[^\s<>"]*)?'
        ),
    ),
    _Scrubber(
        "email",
        re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[^\W_][\w-]{0,62}(?:\.[\w-]{1,63})*"),
    ),
    _Scrubber("sid", SID),
    _Scrubber("guid", GUID),
    _Scrubber(
        "account",
        re.compile(r"(?<![\w\\.-])([^\W_][\w.-]{0,62})\\[\w$-](?:[\w.$-]{0,62}[\w$-])?(?![\w$-])"),
        _account,
    ),
    _Scrubber("mac", MAC),
    _Scrubber("mac", MAC_DOTTED, _mac_dotted),
    _Scrubber("ip", IPV6, _ipv6),
    _Scrubber(
        "ip",
        re.compile(
            r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
            r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9])"
        ),
        _ipv4,
    ),
    _Scrubber(
        "phone",
        re.compile(r"(?<![\w+])\+[0-9][0-9 ().\-/]{5,24}[0-9](?![0-9])"),
        _phone_international,
    ),
    _Scrubber(
        "phone",
        re.compile(
            # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-555-123-4567
            r"(?<![\w+.-])(?:1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
            r"(?![0-9]|[.-][0-9])"
            # local seven digits: 555-1234
            r"|(?<![\w+.-])[0-9]{3}-[0-9]{4}(?![0-9]|[.-][0-9])"
            # two-digit groups with a trunk zero: 06 12 34 56 78, 06.12.34.56.78
            r"|(?<![\w+.-])0[1-9](?:[ .-][0-9]{2}){4}(?![0-9]|[.-][0-9])"
        ),
    ),
    _Scrubber(
        "phone",
        # Trunk-zero national numbers: 030 1234567, (030) 123 4567, 0171/1234567
        re.compile(
            r"(?<![\w+./-])(?:\(0[0-9]{1,4}\)|0[0-9]{1,4})(?:/[0-9]{3,8}|(?:[ -]?[0-9]{2,8}){1,4})"
            r"(?![0-9]|[./-][0-9])"
        ),
        _phone_trunk,
    ),
    _Scrubber(
        "host",
        re.compile(r"(?<![\w.@-])[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){1,127}"),
        _fqdn,
    ),
    _Scrubber(
        "host",
        # Names Windows and clouds generate: DESKTOP-4K2JR8L, LAPTOP-AB12CD34, WIN-3O8PU6C4ULN.
        re.compile(r"(?<![\w-])(?:DESKTOP|LAPTOP|WIN|MININT|EC2AMAZ)-[A-Z0-9]{5,15}(?![\w-])"),
    ),
    _Scrubber("host", NETBIOS_ROLE, lambda m, placeholder: placeholder if netbios_role(m) else None),
)

# The identifier detectors' kinds as the scrubber names them.
_DETECTED_AS = {"ipv4": "ip", "ipv6": "ip", "upn": "email", "profile_path": "path"}
_DETECTED_KINDS = ("iban", "card", "ticket", "serial", "address")
#: Every kind of personal data the scrubber recognizes, in the order it runs: its own patterns,
#: then the identifier detectors the anonymizer uses on names, then the closed word rule
#: (``name``: a capitalized word not in the word list; ``id``: a long token of letters and
#: digits; ``number``: seven digits or more).
KINDS: tuple[str, ...] = (
    *dict.fromkeys(s.kind for s in _SCRUBBERS),
    *_DETECTED_KINDS,
    "name",
    "id",
    "number",
)
_PLACEHOLDERS = frozenset(f"<{kind}>" for kind in KINDS)


def _prepare(text: str, bound: int) -> str:
    """``text`` cut to ``bound`` (at a space where possible), normalized and collapsed."""
    if len(text) > bound:
        cut = text[:bound]
        # Do not split a token at the cut: half an e-mail address would not be recognized.
        space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        text = cut[:space] if space > bound // 2 else cut
    # NFKC folds full-width "＠" and digits into what the patterns expect; the detectors' own
    # normalization also folds Cyrillic and Greek look-alikes and drops combining marks.
    text = unicodedata.normalize("NFKC", text.translate(_TRANSLATE))
    return normalize_for_detection(text)


def _run(text: str, counts: dict[str, int]) -> str:
    # Checksummed numbers and phone numbers first: the patterns below would take a card's
    # last groups for a phone number and leave the rest.
    text = _detected(text, counts, only=_NUMBERS_FIRST)
    for scrubber in _SCRUBBERS:
        placeholder = f"<{scrubber.kind}>"
        check = scrubber.check or _plain

        def replace(
            m: re.Match[str],
            kind: str = scrubber.kind,
            placeholder: str = placeholder,
            check: Callable[[re.Match[str], str], str | None] = check,
        ) -> str:
            result = check(m, placeholder)
            if result is None:
                return m.group()
            counts[kind] = counts.get(kind, 0) + 1
            return result

        text = scrubber.pattern.sub(replace, text)
    return closed_words(_detected(text, counts), counts)


_PLACEHOLDER = re.compile(r"<[a-z]+>")


_NUMBERS_FIRST = frozenset(("iban", "card", "phone"))


def _detected(text: str, counts: dict[str, int], only: frozenset[str] | None = None) -> str:
    """``text`` with what the identifier detectors find (of the kinds in ``only``, default all)
    replaced, longest first where spans overlap; a span touching a placeholder takes all of
    it, so none is left half."""
    holders = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    spans = []
    for start, end, kind in identifier_spans(text):
        if only is not None and kind not in only:
            continue
        for h_start, h_end in holders:
            if h_start < end and start < h_end:
                start, end = min(start, h_start), max(end, h_end)
        spans.append((start, end, _DETECTED_AS.get(kind, kind)))
    out: list[str] = []
    done = 0
    for start, end, kind in sorted(spans, key=lambda s: (s[0], s[0] - s[1])):
        if start < done:
            continue
        out += [text[done:start], f"<{kind}>"]
        counts[kind] = counts.get(kind, 0) + 1
        done = end
    out.append(text[done:])
    return "".join(out)


def _truncate(text: str, max_length: int) -> str:
    if len(text) <= max_length:
        return text
    cut = text[:max_length]
    # Never end on half a placeholder ("<pa"): a reader could take it for real text.
    opening = cut.rfind("<")
    if opening != -1 and ">" not in cut[opening:]:
        closing = text.find(">", opening)
        if closing != -1 and text[opening : closing + 1] in _PLACEHOLDERS:
            cut = cut[:opening]
    return cut.rstrip()


def scrub(text: str | None, *, max_length: int = 256) -> str | None:
    """``text`` with personal data replaced by placeholders, whitespace collapsed, cut to
    ``max_length`` characters; None when nothing is left (or ``text`` is not a string).

    "Installed by CONTOSO\\jdoe from \\\\fs01\\apps\\x.msi" →
    "Installed by <account> from <unc>".
    """
    if not isinstance(text, str) or max_length <= 0:
        return None
    window = min(_INPUT_BOUND, max_length * _WINDOW_FACTOR + _WINDOW_SLACK)
    result = _truncate(_run(_prepare(text, window), {}), max_length)
    result = " ".join(result.split())
    return result or None


def scrub_findings(text: str | None) -> dict[str, int]:
    """How many items of each kind ``scrub`` removes from ``text`` (first 64 KiB), for
    reports: e.g. {"email": 1, "path": 2}. Kinds with no finding are left out."""
    if not isinstance(text, str):
        return {}
    counts: dict[str, int] = {}
    _run(_prepare(text, _INPUT_BOUND), counts)
    return {kind: counts[kind] for kind in KINDS if kind in counts}
