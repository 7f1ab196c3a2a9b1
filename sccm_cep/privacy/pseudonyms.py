"""Keyed pseudonyms: one site's secret, one derived key per site and namespace.

The secret never leaves the site; a pseudonym is HMAC-SHA256 of the folded value under the key
of its namespace, truncated to 128 bits. See docs/privacy.md ("Keys per site").
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SiteSecret"]


class SiteSecret:
    """One site's pseudonymization key (256 bits). Never printed, never leaves the site.

    The key of each namespace is derived from the secret *and the site code*, so two sites given
    the same secret (one ``SCCM_CEP_SITE_SECRET`` for several exports) share no pseudonym.
    """

    __slots__ = ("_key", "_site", "_subkeys")

    def __init__(self, key: bytes, *, site: str) -> None:
        if len(key) < 32:
            raise ValueError("a site secret has at least 256 bits")
        label = site.strip().upper()
        if not label or not label.isalnum():
            raise ValueError("a site secret belongs to a site code (letters and digits)")
        self._key = key
        self._site = label
        self._subkeys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "SiteSecret(<hidden>)"

    __str__ = __repr__

    @property
    def site(self) -> str:
        """The site code this secret derives its keys for (upper case)."""
        return self._site

    def _subkey(self, namespace: str) -> bytes:
        subkey = self._subkeys.get(namespace)
        if subkey is None:
            if "\x00" in namespace:
                raise ValueError("a pseudonym namespace holds no NUL")
            # HMAC as the key-derivation function: the info names the derivation version, the
            # site and the namespace, NUL-separated (neither a site code nor a namespace holds one).
            info = b"\x00".join((_DERIVATION, self._site.encode(), namespace.encode()))
            subkey = hmac.new(self._key, info, hashlib.sha256).digest()
            self._subkeys[namespace] = subkey
        return subkey

    def pseudonym(self, namespace: str, value: object) -> str:
        """Keyed pseudonym of ``value`` in ``namespace``: same input, same output, per site."""
        return _mac(self._subkey(namespace), value)

    def legacy_pseudonym(self, namespace: str, value: object) -> str:
        """The pseudonym releases before per-site keys gave ``value`` under this secret (the site
        code was not part of the key). Only for naming what those releases sent in a deletion
        request; nothing new is ever sent under it."""
        subkey = hmac.new(self._key, b"sccm-cep/v1/" + namespace.encode(), hashlib.sha256).digest()
        return _mac(subkey, value)


#: The key derivation of ``SiteSecret``; "sccm-cep/v1/<namespace>" (no site) came before it.
_DERIVATION = b"sccm-cep/v2/site-namespace"


def _mac(subkey: bytes, value: object) -> str:
    text = str(value).strip().casefold().encode("utf-8", "surrogatepass")
    return hmac.new(subkey, text, hashlib.sha256).hexdigest()[:32]
