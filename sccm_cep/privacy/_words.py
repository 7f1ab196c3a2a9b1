"""The closed word rule of the free-text scrubber (``closed_words``) and its word list: a
capitalized word outside the list is taken for a name and replaced. The list holds common
English words an admin writes in feedback and the product, IT and Configuration Manager
vocabulary they use; no person, place or company names except public software and hardware
makers. Written by hand for this project; a word missing here costs a ``<name>`` in a comment
the admin confirms, a name wrongly here could leak one.
"""

from __future__ import annotations

import re

__all__ = ["WORDS", "closed_words"]

_ENGLISH = """
a about above across actually add added adding after again against all allow allowed allows
almost alone along already also although always am among an and another answer any anyone
anything anyway app apps are area around as ask asked asking at available away awesome back
bad basic be because become been before being below best better between big bit both bottom
break breaks bug bugs build built but by call called can cannot cant can't case change changed
changes check checked clear clearly click close come comes coming complete completely could
couldn't current currently daily data day days deal default did didn't different difficult do
does doesn't doing done don't down during each early easier easy either else enough even ever
every everything exactly example except expected experience extra fail failed fails failing
fast faster feature features feedback few field fields file files find fine first fix fixed
fixes follow for found free from full fully future get gets getting give given go goes going
good great had happy hard has have having he help helped helpful helps her here high him his
how however i i'm idea if important improve improved improvement in include included including
info information instead interface into is issue issues it it's its itself just keep kept know
known large last later least less let like liked likes little long look looks lot lots love low
made main make makes making manual many may maybe me mean menu might more most much must my
need needed needs never new next nice no none nor not note nothing now number of off often ok
okay old on once one only open option options or order other others our out output over own
page part people per perfect performance please plus point possible pretty previous probably
problem problems process quarter quick quickly quite rather really reason recommend
recommended report reports request required review right run running runs same save saw say
says second see seems seen send sent set setting settings setup several she should show shown
shows simple since slow slower small so solid some something sometimes soon sorry still stop
such suggest support supported sure system take takes team teams than thank thanks that the
their them then there these they thing things think this those though through time times to
today together too tool tools top total tried try trying two under understand unless until up
update updated updates upgrade us use used useful user users uses using usual usually value
very view want wanted wants was way ways we week weekly well went were what when where whether
which while who whole why will wish with within without won't work worked working works would
wouldn't wrong year years yes yet you your
"""

_TECH = """
account accounts active ad admin admins administrator agent alert alerts analytics api
application applications approval approve approved architecture archive audit automation
azure backup bandwidth baseline baselines beta bios bitlocker boot browser bundle cache
certificate certificates client clients cloud cluster cmg co-management collection collections
compliance component components configmgr configuration connector console container cpu
csv dashboard database dcm defender deploy deployed deployment deployments desktop device
devices diff disk disks distribution dns doctor domain download driver drivers edge email
endpoint enhanced enterprise error errors event export exported feature firewall firmware
folder gpu group groups hardware hierarchy host hosts html https hybrid image images import
inventory install installed installer installation installs intune json kernel keyring
laptop laptops ldap license licenses linux local log logs mac machine machines manager
memory migration mobile model models monitor monitoring network notification os outbox package
packages patch patches patching pilot platform policies policy portal powershell preview
primary privacy program programs provider proxy query queries receiver registry release
releases remote reporting restart ring role roles rollout router rule rules schedule scheduled
scheduler schema script scripts secondary security sensor sequence server servers service
services share site sites snapshot software sql storage submission submissions subnet
summary supersedence sync task tasks telemetry template tenant tls token tracking upload uptime
usb vdi vendor version versions virtual vm vms vpn web website wifi win windows wizard
workstation workstations wsus x64 x86 arm64 zip
"""

# Public software and hardware makers and products (one word each) and common acronyms.
_NAMES = """
microsoft windows office outlook excel word powerpoint teams onedrive sharepoint exchange azure
intune entra defender edge bing skype visio project access sccm mecm configmgr ccm wsus wmi
winrm psrp ldap ldaps kerberos ntlm adobe acrobat reader google chrome mozilla firefox oracle
java apple macos ios android linux ubuntu debian redhat vmware citrix hyper-v hyperv dell hp
hpe lenovo asus acer fujitsu toshiba samsung intel amd nvidia qualcomm arm cisco juniper zoom
slack webex python node powershell git github gitlab jira confluence servicenow splunk sap
salesforce sophos symantec mcafee trend kaspersky eset crowdstrike sentinelone tanium ivanti
7-zip notepad vlc putty winscp firefox thunderbird libreoffice openoffice visual studio code
redistributable runtime framework net .net asp.net dotnet core sdk jdk jre acrobat reader
creative cloud photoshop teamviewer anydesk greenshot paint system cumulative servicing stack
quality defender endpoint sentinel autopilot tunnel bitlocker wim wds mdt adk winpe pxe dp mp
sup smsts cmtrace cis stig benchmark deadline maintenance required available command nt
authority builtin administrators administrator trustedinstaller localsystem networkservice
based systems node js v app-v tel fax phone mobile call wi-fi bluetooth usb-c r tm dc dcs mp3 pdf gb tb mb ghz
it pc pcs os cpu gpu ram ssd hdd usb ui ux api cli gui csv pdf html json xml yaml sql tls ssl
http https dns dhcp ip ipv4 ipv6 mac nic vpn vm vms vdi ad aad gpo ou upn sid guid nps kb
faq fyi asap eta mfa sso pki tpm uefi bios oem sla slas q1 q2 q3 q4 ok thx ty
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday
"""

#: Every allowed word, case-folded.
WORDS: frozenset[str] = frozenset(" ".join((_ENGLISH, _TECH, _NAMES)).split())


# A word: letters and digits, with inner apostrophes, hyphens and dots ("o'neil", "x-ray").
_TOKEN = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
# Letters-and-digits tokens that are product vocabulary, not identifiers.
_PRODUCT_TOKEN = re.compile(
    r"(?:kb|q|ms|cve|w|win|windows|sql|ws|office|o|m|v|x|arm|ipv|tls|ssl|http|h|fy|r)[0-9]{1,8}[a-z]?"
    r"|[0-9]{2}h[0-9]|[0-9]{1,5}(?:st|nd|rd|th|gb|tb|mb|kb|ghz|mhz|hz|bit|x|k|p|ms|s|h|d|m|min)"
    r"|v?[0-9]{1,5}(?:\.[0-9]{1,5}){1,3}",
    re.IGNORECASE,
)
# After one of these words a bare lower-case token is taken for an account name.
_ACCOUNT_CUES = frozenset(
    ("user", "username", "account", "login", "logon", "uid", "sam", "owner", "contact", "cc")
)


def closed_words(text: str, counts: dict[str, int]) -> str:
    """The closed word rule: a capitalized word not in the word list becomes ``<name>`` (runs
    of them one ``<name>``), a long letters-and-digits token ``<id>``, seven digits or more
    ``<number>``, and a lower-case word after "user", "account", ... ``<account>``."""
    out: list[str] = []
    done = 0
    previous = ""
    for m in _TOKEN.finditer(text):
        word = m.group()
        if text[m.start() - 1 : m.start()] == "<" and text[m.end() : m.end() + 1] == ">":
            previous = ""
            continue  # a placeholder
        kind = _word_kind(word, previous)
        previous = word.casefold()
        if kind is None:
            continue
        gap = text[done : m.start()]
        if kind == "name" and out and out[-1] == "<name>" and gap.strip() == "":
            done = m.end()  # "Horatio Blackmere": one name
            continue
        out += [gap, f"<{kind}>"]
        counts[kind] = counts.get(kind, 0) + 1
        done = m.end()
    out.append(text[done:])
    return "".join(out)


def _word_kind(word: str, previous: str) -> str | None:
    if word.isdigit():
        return "number" if len(word) >= 7 else None
    folded = word.casefold()
    if folded in WORDS or _LANGUAGE_TAG.fullmatch(word):
        return None
    parts = [p for p in _PARTS.split(folded) if p]
    if any(c.isdigit() for c in word):
        if _PRODUCT_TOKEN.fullmatch(word) or len(word) <= 4 or all(_known_part(p) for p in parts):
            return None
        return "id"
    if any(c.isupper() for c in word):
        if (len(word) <= 2 and word.isupper()) or (parts and all(p in WORDS for p in parts)):
            return None
        return "name"
    if previous in _ACCOUNT_CUES:
        return "account"
    return None


def _known_part(part: str) -> bool:
    return part.isdigit() or part in WORDS or bool(_PRODUCT_TOKEN.fullmatch(part))


_PARTS = re.compile(r"[-.'’]")
_LANGUAGE_TAG = re.compile(r"[a-z]{2}-[A-Z]{2}")
