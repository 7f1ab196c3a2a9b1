"""Windows file protection: an explicit, protected ACL; secrets sealed with DPAPI.

A protected file or folder gets a DACL with three entries (this account, SYSTEM, the
Administrators group; full control) and inherits nothing from its parent, so a key under
C:\\ProgramData is not readable by Users. pywin32 is imported here only, on first use; tests
pass stand-ins for its modules.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sccm_cep.errors import ConfigError
from sccm_cep.platform import Exposure

__all__ = ["WindowsPlatform"]

# Values from the Windows SDK (winnt.h, accctrl.h, wincrypt.h).
SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
ACL_REVISION = 2
ACCESS_ALLOWED_ACE_TYPE = 0
OBJECT_INHERIT_ACE, CONTAINER_INHERIT_ACE, INHERIT_ONLY_ACE = 0x1, 0x2, 0x8
FILE_ALL_ACCESS = 0x1F01FF
READ_RIGHTS = 0x0001 | 0x80000000 | 0x10000000  # FILE_READ_DATA, GENERIC_READ, GENERIC_ALL
WRITE_RIGHTS = (
    0x0002 | 0x0004 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000
)  # FILE_WRITE_DATA, FILE_APPEND_DATA, WRITE_DAC, WRITE_OWNER, GENERIC_WRITE, GENERIC_ALL
TOKEN_QUERY = 0x0008
TOKEN_USER = 1  # TOKEN_INFORMATION_CLASS.TokenUser
WIN_LOCAL_SYSTEM_SID, WIN_BUILTIN_ADMINISTRATORS_SID = 22, 26
CRYPTPROTECT_UI_FORBIDDEN = 0x1
DPAPI_DESCRIPTION = "sccm-cep secret"


class WindowsPlatform:
    """ACLs through win32security, DPAPI through win32crypt (pywin32)."""

    name = "windows"
    seals_secrets = True

    def __init__(self, *, win32security: Any = None, win32crypt: Any = None, win32api: Any = None) -> None:
        self._security = win32security
        self._crypt = win32crypt
        self._api = win32api

    def _module(self, name: str) -> Any:
        attr = "_" + name.removeprefix("win32")
        found = getattr(self, attr)
        if found is None:
            try:
                found = importlib.import_module(name)
            except ImportError as exc:
                raise ConfigError(
                    f"pywin32 is missing ({name})", hint="pip install 'pywin32>=306' or reinstall sccm-cep"
                ) from exc
            setattr(self, attr, found)
        return found

    # -- ACLs ---------------------------------------------------------------------------------

    def _trusted(self) -> list[Any]:
        sec = self._module("win32security")
        token = sec.OpenProcessToken(self._module("win32api").GetCurrentProcess(), TOKEN_QUERY)
        me = sec.GetTokenInformation(token, TOKEN_USER)[0]
        return [
            me,
            sec.CreateWellKnownSid(WIN_LOCAL_SYSTEM_SID),
            sec.CreateWellKnownSid(WIN_BUILTIN_ADMINISTRATORS_SID),
        ]

    def _protect(self, path: Path, inherit: int) -> None:
        sec = self._module("win32security")
        try:
            dacl = sec.ACL()
            for sid in self._trusted():
                dacl.AddAccessAllowedAceEx(ACL_REVISION, inherit, FILE_ALL_ACCESS, sid)
            sec.SetNamedSecurityInfo(
                str(path),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                None,
                None,
                dacl,
                None,
            )
        except Exception as exc:  # pywintypes.error: translated once, here
            raise _os_error(exc, path) from exc

    def protect_file(self, path: Path) -> None:
        self._protect(path, 0)

    def protect_folder(self, path: Path) -> None:
        # Inheritable entries: files made in the folder later get the same three entries.
        self._protect(path, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)

    def exposure(self, path: Path) -> Exposure:
        if not path.exists():
            raise FileNotFoundError(2, "not found", str(path))
        sec = self._module("win32security")
        try:
            sd = sec.GetNamedSecurityInfo(
                str(path), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION
            )
            dacl = sd.GetSecurityDescriptorDacl()
            trusted = [*self._trusted(), sd.GetSecurityDescriptorOwner()]
        except Exception as exc:
            raise _os_error(exc, path) from exc
        if dacl is None:  # a NULL DACL grants everyone everything
            everyone = ("Everyone (no access list)",)
            return Exposure(found="no access list", readers=everyone, writers=everyone)
        readers: list[str] = []
        writers: list[str] = []
        for index in range(dacl.GetAceCount()):
            (ace_type, ace_flags), mask, sid = dacl.GetAce(index)[:3]
            if ace_type != ACCESS_ALLOWED_ACE_TYPE or ace_flags & INHERIT_ONLY_ACE or sid in trusted:
                continue
            who = self._account(sid)
            if mask & READ_RIGHTS and who not in readers:
                readers.append(who)
            if mask & WRITE_RIGHTS and who not in writers:
                writers.append(who)
        return Exposure(
            found=f"access list of {dacl.GetAceCount()} entries",
            readers=tuple(readers),
            writers=tuple(writers),
        )

    def _account(self, sid: Any) -> str:
        sec = self._module("win32security")
        try:
            name, domain, _kind = sec.LookupAccountSid(None, sid)
            return f"{domain}\\{name}" if domain else str(name)
        except Exception:  # an orphaned SID (a deleted account) has no name
            return str(sec.ConvertSidToStringSid(sid))

    def fix_hint(self, path: Path) -> str:
        grant = "(OI)(CI)F" if path.is_dir() else "F"
        return (
            f'icacls "{path}" /inheritance:r /grant:r "%USERNAME%:{grant}" "SYSTEM:{grant}" '
            f'"Administrators:{grant}"'
        )

    # -- DPAPI --------------------------------------------------------------------------------

    def seal(self, data: bytes) -> bytes:
        crypt = self._module("win32crypt")
        try:
            return bytes(
                crypt.CryptProtectData(data, DPAPI_DESCRIPTION, None, None, None, CRYPTPROTECT_UI_FORBIDDEN)
            )
        except Exception as exc:
            raise ConfigError(
                "Windows DPAPI could not seal the secret", hint="run 'sccm-cep doctor' as this account"
            ) from exc

    def unseal(self, data: bytes) -> bytes:
        crypt = self._module("win32crypt")
        try:
            _description, plain = crypt.CryptUnprotectData(data, None, None, None, CRYPTPROTECT_UI_FORBIDDEN)
        except Exception as exc:
            raise ConfigError(
                "the secret was sealed by another Windows account (DPAPI) and cannot be opened by this one",
                hint="run as the account that made it, or import the key again as this account"
                " (sccm-cep site import-key CODE FILE)",
            ) from exc
        return bytes(plain)


def _os_error(exc: Exception, path: Path) -> OSError:
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return OSError(getattr(exc, "winerror", 0) or 0, str(reason), str(path))
