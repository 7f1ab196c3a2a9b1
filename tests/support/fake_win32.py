"""Stand-ins for the pywin32 modules sccm_cep.platform.windows calls, for tests on any OS.

The fakes keep an access list per path, apply folder inheritance the way Windows does for a
new file, and start every other path with what C:\\ProgramData hands down: Users may read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sccm_cep.platform import Platform
from sccm_cep.platform.posix import PosixPlatform
from sccm_cep.platform.windows import WindowsPlatform

READ_EXECUTE = 0x1200A9  # FILE_GENERIC_READ | FILE_EXECUTE
FULL = 0x1F01FF


@dataclass(frozen=True)
class FakeSid:
    name: str
    domain: str


ME = FakeSid("svc-cep", "HOST")
SYSTEM = FakeSid("SYSTEM", "NT AUTHORITY")
ADMINS = FakeSid("Administrators", "BUILTIN")
USERS = FakeSid("Users", "BUILTIN")
ORPHAN = FakeSid("", "")


class FakeWinError(Exception):
    """Like pywintypes.error: winerror, funcname, strerror."""

    def __init__(self, winerror: int, funcname: str, strerror: str) -> None:
        super().__init__(winerror, funcname, strerror)
        self.winerror, self.funcname, self.strerror = winerror, funcname, strerror


@dataclass
class FakeAcl:
    aces: list[tuple[tuple[int, int], int, FakeSid]] = field(default_factory=list)

    def AddAccessAllowedAceEx(self, revision: int, flags: int, mask: int, sid: FakeSid) -> None:
        assert revision == 2
        self.aces.append(((0, flags), mask, sid))

    def GetAceCount(self) -> int:
        return len(self.aces)

    def GetAce(self, index: int) -> tuple[tuple[int, int], int, FakeSid]:
        return self.aces[index]


@dataclass
class FakeDescriptor:
    dacl: FakeAcl | None
    owner: FakeSid

    def GetSecurityDescriptorDacl(self) -> FakeAcl | None:
        return self.dacl

    def GetSecurityDescriptorOwner(self) -> FakeSid:
        return self.owner


class FakeWin32Security:
    """The win32security calls WindowsPlatform makes, over an in-memory table of ACLs."""

    def __init__(self) -> None:
        self.acls: dict[str, FakeAcl | None] = {}
        self.protected: set[str] = set()
        self.fail_next: FakeWinError | None = None

    def OpenProcessToken(self, handle: int, access: int) -> str:
        assert handle == -1 and access == 0x8
        return "token"

    def GetTokenInformation(self, token: str, kind: int) -> tuple[FakeSid, int]:
        assert token == "token" and kind == 1
        return ME, 0

    def CreateWellKnownSid(self, kind: int) -> FakeSid:
        return {22: SYSTEM, 26: ADMINS}[kind]

    def ACL(self) -> FakeAcl:
        return FakeAcl()

    def SetNamedSecurityInfo(
        self, name: str, kind: int, info: int, owner: Any, group: Any, dacl: FakeAcl, sacl: Any
    ) -> None:
        assert kind == 1 and owner is None and group is None and sacl is None
        if self.fail_next:
            error, self.fail_next = self.fail_next, None
            raise error
        self.acls[name] = dacl
        if info & 0x80000000:
            self.protected.add(name)

    def GetNamedSecurityInfo(self, name: str, kind: int, info: int) -> FakeDescriptor:
        assert kind == 1 and info & 0x4
        return FakeDescriptor(self.effective(name), ME)

    def effective(self, name: str) -> FakeAcl | None:
        if name in self.acls:
            return self.acls[name]
        for parent in Path(name).parents:
            acl = self.acls.get(str(parent))
            if acl is not None:  # what a new object inherits from its nearest explicit parent
                inherited = [((0, 0x10), mask, sid) for (_t, flags), mask, sid in acl.aces if flags & 0x1]
                if inherited:
                    return FakeAcl(inherited)
        return FakeAcl([((0, 0x10), FULL, ME), ((0, 0x10), FULL, SYSTEM), ((0, 0x10), READ_EXECUTE, USERS)])

    def share(self, name: str, sid: FakeSid = USERS, mask: int = READ_EXECUTE) -> None:
        acl = self.effective(name)
        assert acl is not None
        self.acls[name] = FakeAcl([*acl.aces, ((0, 0), mask, sid)])

    def LookupAccountSid(self, system: Any, sid: FakeSid) -> tuple[str, str, int]:
        if sid is ORPHAN:
            raise FakeWinError(1332, "LookupAccountSid", "No mapping between account names and security IDs")
        return sid.name, sid.domain, 1

    def ConvertSidToStringSid(self, sid: FakeSid) -> str:
        return "S-1-5-21-1-2-3-1105"


class FakeWin32Crypt:
    """DPAPI bound to one account: another account cannot unseal."""

    def __init__(self, account: str = "HOST\\svc-cep") -> None:
        self.account = account

    def CryptProtectData(
        self, data: bytes, description: str, entropy: Any, reserved: Any, prompt: Any, flags: int
    ) -> bytes:
        assert flags == 0x1
        return b"DPAPI|" + self.account.encode() + b"|" + bytes(b ^ 0x5A for b in data)

    def CryptUnprotectData(
        self, blob: bytes, entropy: Any, reserved: Any, prompt: Any, flags: int
    ) -> tuple[str, bytes]:
        magic, account, body = blob.split(b"|", 2)
        if magic != b"DPAPI" or account.decode() != self.account:
            raise FakeWinError(-2146893813, "CryptUnprotectData", "Key not valid for use in specified state.")
        return "sccm-cep secret", bytes(b ^ 0x5A for b in body)


class FakeWin32Api:
    def GetCurrentProcess(self) -> int:
        return -1


@dataclass
class Host:
    """A platform under test, and how to let someone else read a path on it."""

    platform: Platform
    share: Callable[[Path], None]
    security: FakeWin32Security | None = None


def windows_host(crypt: FakeWin32Crypt | None = None) -> Host:
    security = FakeWin32Security()
    win = WindowsPlatform(
        win32security=security, win32crypt=crypt or FakeWin32Crypt(), win32api=FakeWin32Api()
    )
    return Host(win, lambda path: security.share(str(path)), security)


def posix_host() -> Host:
    return Host(PosixPlatform(), lambda path: os.chmod(path, 0o755 if path.is_dir() else 0o644))
