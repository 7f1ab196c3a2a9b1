"""The installation's contributor: one pseudonym per collector installation (or shared on
purpose by an organization's collectors), which every submission and deletion request carries
so the receiver counts customers, not sites (docs/privacy.md, *Contributors*)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from sccm_cep.collector.store import Setting, Store, utcnow
from sccm_cep.errors import ConfigError
from sccm_cep.platform.config import data_dir, load_secret

__all__ = ["CONTRIBUTOR_PSEUDONYM", "CONTRIBUTOR_SETTING", "contributor_pseudonym", "set_contributor"]

#: The ``settings`` rows holding the reference to the installation's contributor secret, and
#: the pseudonym made with it (public: every document carries it), so that a host sharing the
#: state store needs no copy of the secret.
CONTRIBUTOR_SETTING = "contributor_ref"
#: The ``contributor_ref`` of an installation whose pseudonym was drawn at random (no secret).
GENERATED = "generated"
CONTRIBUTOR_PSEUDONYM = "contributor"
#: What the contributor pseudonym is derived under: no site code, so it is the same for every
#: site of the installation and no ``site rotate-key`` changes it.
_CONTRIBUTOR_INFO = b"sccm-cep/v2/contributor"


def set_contributor(store: Store, ref: str | None = None) -> str:
    """Make sure the installation has a contributor; return its pseudonym.

    With ``ref`` (``env:NAME``, ``file:PATH``, ``keyring:SERVICE/USER``: the same one on every
    collector of one organization) that secret is used; a different one already set is refused,
    since every earlier submission carries the old pseudonym. Without, the one set is kept, or a
    random pseudonym is made: it links nothing but this installation's own documents, so no
    secret needs keeping (and no key file appears where sites keep theirs in the keyring).
    """
    if ref is not None and ref.startswith("file:") and not Path(ref[5:]).is_absolute():
        ref = f"file:{Path(ref[5:]).resolve()}"  # a path given on the command line: from here
    with store.session() as session:
        row = session.get(Setting, CONTRIBUTOR_SETTING)
        done = session.get(Setting, CONTRIBUTOR_PSEUDONYM)
        if row is not None:
            if ref is not None and ref != row.value:
                raise ConfigError(
                    "this installation already has a different contributor secret",
                    hint="leave out --contributor; to change it, every site must leave and join again",
                )
            if done is not None:
                return done.value
            pseudonym = secrets.token_hex(16) if row.value == GENERATED else _contributor_pseudonym(row.value)
            session.add(Setting(name=CONTRIBUTOR_PSEUDONYM, value=pseudonym, updated_at=utcnow()))
            session.commit()
            return pseudonym
    made = ref or GENERATED
    # A given reference must load (it is refused otherwise); without one, a random pseudonym.
    pseudonym = _contributor_pseudonym(ref) if ref else secrets.token_hex(16)
    with store.session() as session:
        for name, value in ((CONTRIBUTOR_SETTING, made), (CONTRIBUTOR_PSEUDONYM, pseudonym)):
            session.add(Setting(name=name, value=value, updated_at=utcnow()))
        store.audit(session, "contributor.set", given=ref is not None, contributor=pseudonym)
        try:
            session.commit()
        except IntegrityError:  # another host set it at the same moment: theirs stands
            session.rollback()
            return set_contributor(store, ref)
    return pseudonym


def contributor_pseudonym(store: Store, *, create: bool = False) -> str | None:
    """The installation's contributor pseudonym, as recorded when it was set (no secret needed);
    None when none is set (before the first ``join``) unless ``create``."""
    with store.session() as session:
        row = session.get(Setting, CONTRIBUTOR_PSEUDONYM)
        if row is not None:
            return row.value
    return set_contributor(store) if create else None


def _contributor_pseudonym(ref: str) -> str:
    try:
        key = load_secret(ref, base=data_dir())
    except ConfigError as exc:
        raise ConfigError(
            f"the contributor secret ({ref}) cannot be loaded: {exc.message}",
            hint="check the reference: env:NAME, file:PATH or keyring:SERVICE/USER",
        ) from exc
    return hmac.new(key, _CONTRIBUTOR_INFO, hashlib.sha256).hexdigest()[:32]
