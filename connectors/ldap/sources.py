"""Where the directory coverage fields come from in Active Directory, declared for the field catalog.

Only a count is read (``COMPUTER_FILTER`` in ``discovery.py``): no DN, name or attribute value.
"""

from __future__ import annotations

__all__ = ["SOURCES"]

SOURCES: dict[str, dict[str, str]] = {
    "directory_coverage": {
        "directory_computers": "LDAP objectClass=computer without ACCOUNTDISABLE in userAccountControl (count)",
        "coverage": "derived from directory_computers and managed_clients",
    },
}
