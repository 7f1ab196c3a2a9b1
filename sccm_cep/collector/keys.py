"""A registered site's pseudonymization key on this host: where it is kept, whether it is here,
loading it, rotating it, carrying it to another collector host (export-key / import-key), the site
pseudonyms of every key version (what a deletion request names), and removing a site together
with every version of its key. The installation's contributor is in ``collector.contributor``.
The site's Ed25519 signing key is derived from its secret (``signing_key``), and a rotation
records the key change the outgoing key signs (``collector.signing_keys``).

A key the tool made is referenced relative to the data folder, so every host sharing the state
store looks for it in its own data folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from sccm_cep import platform
from sccm_cep.collector.signing_keys import record_key_change, signing_key_from
from sccm_cep.collector.sites import SiteView, find_site, view
from sccm_cep.collector.store import Site, SitePseudonym, Store, utcnow
from sccm_cep.errors import ConfigError, OutputError
from sccm_cep.platform import keyfile
from sccm_cep.platform.config import data_dir, load_secret, new_secret, resolve_secret, secrets_dir
from sccm_cep.privacy.anonymize import SiteSecret

__all__ = [
    "deletion_pseudonyms",
    "export_key",
    "held_secrets",
    "import_key",
    "key_path",
    "record_site_pseudonyms",
    "remove_site",
    "rotate_key",
    "signing_key",
    "site_secret",
]


def key_path(site: Site) -> Path | None:
    """Where the site's key file is on this host; None when the key is not in a file.

    A relative reference is under this host's data folder. An absolute one (recorded before
    references were relative) is used where it exists, else looked for in this host's secrets
    folder under the same name.
    """
    kind, _, rest = site.secret_ref.partition(":")
    return _file_path(rest) if kind == "file" else None


def _file_path(rest: str) -> Path:
    path = Path(rest)
    if not path.is_absolute():
        return data_dir() / path
    return path if path.exists() else secrets_dir() / path.name


def _local_ref(site: Site) -> str:
    path = key_path(site)
    return f"file:{path}" if path is not None else site.secret_ref


def _require_key(site: Site) -> None:
    """A one-line error naming the site and the way to bring its key, when this host lacks it."""
    kind, _, rest = site.secret_ref.partition(":")
    path = key_path(site)
    if path is not None:
        missing = not path.exists()
    elif kind == "keyring":
        missing = _keyring_value(rest) is None
    else:
        return  # env: the resolver's own error names the variable
    if missing:
        where = f" ({path})" if path is not None else f" (keyring {rest})"
        raise ConfigError(
            f"site {site.code}: its key (version {site.key_version}) is not on this host{where}",
            hint=f"on the host that has it run 'sccm-cep site export-key {site.code} --out FILE',"
            f" then here 'sccm-cep site import-key {site.code} FILE'",
        )


def _keyring_value(service_user: str) -> str | None:
    service, _, user = service_user.partition("/")
    try:
        import keyring
    except ModuleNotFoundError:
        return "?"  # not installed: let the resolver say which extra to install
    value = keyring.get_password(service, user)
    return None if value is None else str(value)


def site_secret(site: Site) -> SiteSecret:
    _require_key(site)
    return SiteSecret(load_secret(_local_ref(site)), site=site.code)


def signing_key(site: Site) -> Ed25519PrivateKey:
    """The site's Ed25519 signing key: derived from the secret of its current key version
    (``collector.signing_keys``), so it is here exactly when that secret is (``_require_key``
    says how to bring it)."""
    _require_key(site)
    return signing_key_from(load_secret(_local_ref(site)), site.code)


def held_secrets(site: Site) -> dict[int, bytes]:
    """Every key version of the site this host holds: version → secret bytes (never shown)."""
    held = {v: raw for v in range(1, site.key_version + 1) if (raw := _raw_of_version(site, v)) is not None}
    current = _current_secret_bytes(site)
    if current is not None:
        held[site.key_version] = current
    return held


def rotate_key(store: Store, code: str) -> SiteView:
    """A new pseudonymization secret: later submissions cannot be linked to earlier ones.

    The site pseudonyms of the outgoing key are recorded first (when this host has it), so the
    deletion request of a later ``leave`` still names what was sent under it; so is the key
    change its signing key signs, which lets that request delete what the old key sent.
    """
    with store.session() as session:
        site = find_site(session, code)
        outgoing = _secret_of_version(site, site.key_version)
        if outgoing is not None:
            record_site_pseudonyms(session, site, _site_pseudonyms(outgoing), key_version=site.key_version)
        old_raw = _current_secret_bytes(site)
        store_kind = "keyring" if site.secret_ref.startswith("keyring:") else "file"
        site.key_version += 1
        site.secret_ref = new_secret(f"site-{site.code}-v{site.key_version}", store=store_kind)
        if old_raw is not None:
            record_key_change(session, site, old_raw, load_secret(_local_ref(site)))
        store.audit(session, "site.rotate-key", site=site.code, key_version=site.key_version)
        session.commit()
        return view(site)


def record_site_pseudonyms(
    session: Session, site: Site, pseudonyms: Iterable[str], *, key_version: int | None = None
) -> None:
    """Remember that the site's documents carry (or may carry) ``pseudonyms`` (not committed)."""
    have = set(
        session.execute(select(SitePseudonym.pseudonym).where(SitePseudonym.site_id == site.id)).scalars()
    )
    for pseudonym in pseudonyms:
        if pseudonym not in have:
            have.add(pseudonym)
            session.add(
                SitePseudonym(
                    site_id=site.id,
                    key_version=key_version or site.key_version,
                    pseudonym=pseudonym,
                    recorded_at=utcnow(),
                )
            )


def deletion_pseudonyms(session: Session, site: Site) -> tuple[str, tuple[str, ...]]:
    """The site pseudonym of the current key, and every other one its documents may carry: those
    recorded (at runs and key rotations), and those of every key version still on this host,
    under this release's derivation and the one before per-site keys. The current key must be
    here (``site_secret`` says how to bring it)."""
    current = site_secret(site).pseudonym("site", site.code)
    names = set(
        session.execute(select(SitePseudonym.pseudonym).where(SitePseudonym.site_id == site.id)).scalars()
    )
    for version in range(1, site.key_version + 1):
        secret = _secret_of_version(site, version)
        if secret is not None:
            names.update(_site_pseudonyms(secret))
    names.discard(current)
    return current, tuple(sorted(names))


def _site_pseudonyms(secret: SiteSecret) -> tuple[str, str]:
    """The site's pseudonym under ``secret``: as sent now, and as releases before per-site keys sent it."""
    return secret.pseudonym("site", secret.site), secret.legacy_pseudonym("site", secret.site)


def _current_secret_bytes(site: Site) -> bytes | None:
    """The bytes of the site's current secret when this host holds them, else None."""
    try:
        _require_key(site)
        return load_secret(_local_ref(site))
    except ConfigError:
        return None


def _secret_of_version(site: Site, version: int) -> SiteSecret | None:
    """Key ``version`` of the site when this host holds it (in the file or keyring entry named
    like the current one), else None."""
    raw = _raw_of_version(site, version)
    return None if raw is None else SiteSecret(raw, site=site.code)


def _raw_of_version(site: Site, version: int) -> bytes | None:
    """The bytes of key ``version`` when this host holds it, else None."""
    current = f"site-{site.code}-v{site.key_version}"
    kind, _, rest = site.secret_ref.partition(":")
    if current not in rest:
        return None
    rest = rest.replace(current, f"site-{site.code}-v{version}")
    if kind == "file":
        path = _file_path(rest)
        if not path.exists():
            return None
        ref = f"file:{path}"
    elif kind == "keyring":
        if _keyring_value(rest) in (None, "?"):
            return None
        ref = f"keyring:{rest}"
    else:
        return None
    try:
        return load_secret(ref)
    except ConfigError:
        return None


def export_key(store: Store, code: str, out: Path, passphrase: str) -> SiteView:
    """Write the site's current key to ``out``, encrypted under ``passphrase`` (keyfile format)."""
    with store.session() as session:
        site = find_site(session, code)
        _require_key(site)
        data = keyfile.seal_key(
            resolve_secret(_local_ref(site)).strip(),
            site=site.code,
            key_version=site.key_version,
            passphrase=passphrase,
        )
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            platform.write_private_file(out, data)
        except OSError as exc:
            raise OutputError(
                f"cannot write the key file {out}: {exc.strerror or type(exc).__name__}",
                hint="check the folder exists and is writable",
            ) from exc
        store.audit(session, "site.export-key", site=site.code, key_version=site.key_version)
        session.commit()
        return view(site)


def import_key(store: Store, code: str, source: Path, passphrase: str, *, replace: bool = False) -> str:
    """Keep the key from an export-key file where this host looks for the site's key.

    Returns ``imported``, ``replaced`` or ``unchanged``. A different key already here is kept
    unless ``replace``.
    """
    with store.session() as session:
        site = find_site(session, code)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the key file {source} ({exc.strerror or type(exc).__name__})",
                hint="check the path",
            ) from exc
        value, version = keyfile.open_key(data, site=site.code, passphrase=passphrase)
        if version != site.key_version:
            raise ConfigError(
                f"the key file holds key version {version} of site {site.code}, but the site uses"
                f" version {site.key_version}",
                hint=f"export the current key again: sccm-cep site export-key {site.code} --out FILE",
            )
        kind, _, rest = site.secret_ref.partition(":")
        if kind not in ("file", "keyring"):
            raise ConfigError(
                f"site {site.code}'s key comes from {site.secret_ref}, not from a file or the keyring",
                hint="provide that reference on this host instead",
            )
        existing = _existing_key(site)
        if existing == value:
            return "unchanged"
        if existing is not None and not replace:
            raise ConfigError(
                f"site {site.code} already has a different key on this host",
                hint="give --replace to overwrite it (its pseudonyms will no longer match earlier ones)",
            )
        path = key_path(site)
        if path is not None:
            try:
                platform.make_private_folder(data_dir())
                platform.make_private_folder(path.parent)
                platform.write_private_file(path, (platform.seal_text(value) + "\n").encode())
            except OSError as exc:
                raise ConfigError(
                    f"cannot keep the site key under {path.parent} ({exc.strerror or type(exc).__name__})",
                    hint="point --data-dir / SCCM_CEP_DATA_DIR at a folder this account can write",
                ) from exc
        else:
            service, _, user = rest.partition("/")
            try:
                import keyring

                keyring.set_password(service, user, value)
            except Exception as exc:  # keyring backends raise their own types
                raise ConfigError(
                    "the keyring could not store the site key", hint="run 'sccm-cep doctor'"
                ) from exc
        outcome = "imported" if existing is None else "replaced"
        store.audit(session, "site.import-key", site=site.code, key_version=version, outcome=outcome)
        session.commit()
        return outcome


def _existing_key(site: Site) -> str | None:
    """The key this host already holds for the site, or "" when one is there but unreadable."""
    path = key_path(site)
    if path is not None and not path.exists():
        return None
    if path is None and _keyring_value(site.secret_ref.partition(":")[2]) is None:
        return None
    try:
        return resolve_secret(_local_ref(site)).strip()
    except ConfigError:
        return ""


def remove_site(store: Store, code: str) -> list[str]:
    """Remove the site from the store, then every key version this host holds for it.

    Returns what could not be removed (e.g. a keyring entry the backend refused to delete).
    """
    with store.session() as session:
        site = find_site(session, code)
        kind, _, rest = site.secret_ref.partition(":")
        names = [f"site-{site.code}-v{n}" for n in range(1, site.key_version + 1)]
        store.audit(session, "site.remove", site=site.code)
        session.delete(site)
        session.commit()
    left: list[str] = []
    if kind == "file":
        folders = {secrets_dir()}
        if Path(rest).is_absolute():
            folders.add(Path(rest).parent)
        for folder in folders:
            for name in names:
                try:
                    (folder / f"{name}.key").unlink(missing_ok=True)
                except OSError:
                    left.append(str(folder / f"{name}.key"))
    elif kind == "keyring":
        service = rest.partition("/")[0]
        for name in names:
            if _keyring_value(f"{service}/{name}") in (None, "?"):
                continue
            try:
                import keyring

                keyring.delete_password(service, name)
            except Exception:  # keyring backends raise their own types
                left.append(f"keyring entry {service}/{name}")
    return left
