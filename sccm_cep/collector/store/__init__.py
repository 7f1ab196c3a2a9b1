"""The state store: where sites, enrollments, runs, the outbox, approvals and audit events live.

SQLite in the user's data folder by default, or any SQLAlchemy URL (``--state`` /
``SCCM_CEP_STATE``), e.g. a PostgreSQL database shared by several collector hosts. Alembic
migrations run automatically when a store is opened; an older store is upgraded, never
reset, and a store written by a newer version is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sccm_cep import platform
from sccm_cep.collector.store.models import (
    Approval,
    AuditEvent,
    Base,
    Enrollment,
    Feedback,
    Outbox,
    OutboxState,
    Run,
    Site,
    SitePseudonym,
)
from sccm_cep.errors import ConfigError
from sccm_cep.platform.config import data_dir

__all__ = [
    "Approval",
    "AuditEvent",
    "Base",
    "Enrollment",
    "Feedback",
    "Outbox",
    "OutboxState",
    "Run",
    "Site",
    "SitePseudonym",
    "Store",
    "default_state_url",
    "utcnow",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """Naive UTC: what every datetime column of the store holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def default_state_url() -> str:
    return f"sqlite:///{data_dir() / 'state.db'}"


class Store:
    """An opened, migrated state store."""

    def __init__(self, url: str | None = None) -> None:
        raw = url or os.environ.get("SCCM_CEP_STATE") or default_state_url()
        try:
            self.url = make_url(raw)
        except ArgumentError as exc:
            raise ConfigError(
                "the state store URL is not valid", hint="use sqlite:///PATH or postgresql+psycopg://..."
            ) from exc
        self.display_url = self.url.render_as_string(hide_password=True)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            database = Path(self.url.database or "")
            folder = database.parent
            try:
                # Made private (0700 / 0600, an ACL on Windows); SQLite's -wal and -shm files
                # take the database file's mode. An existing folder or file is left as it is.
                platform.make_private_folder(folder)
                if not str(self.url.database).startswith("file:") and not database.exists():
                    with contextlib.suppress(FileExistsError):
                        platform.write_private_file(database, b"", exclusive=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the state store's folder {folder}",
                    hint="point --state / --data-dir at a folder this account can write",
                ) from exc
        try:
            self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise ConfigError(
                f"no driver for the state store URL {self.display_url}",
                hint="pip install 'sccm-cep[postgres]' for PostgreSQL",
            ) from exc
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()

    # -- migrations ---------------------------------------------------------------------

    def _alembic(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def _migrate(self) -> None:
        cfg = self._alembic()
        head = ScriptDirectory.from_config(cfg).get_current_head()
        lock = self._file_lock("migrate") if self.is_sqlite else contextlib.nullcontext()
        try:
            with lock, self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # One migrator at a time across hosts; released at commit.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262726)")
                current = MigrationContext.configure(conn).get_current_revision()
                known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
                if current is not None and current not in known:
                    raise ConfigError(
                        f"the state store at {self.display_url} was written by a newer sccm-cep"
                        f" (schema {current})",
                        hint="upgrade sccm-cep on this host; the store was left as it is",
                    )
                if current != head:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise ConfigError(
                f"cannot open the state store at {self.display_url}",
                hint="check --state / SCCM_CEP_STATE and that the database is reachable and writable",
            ) from exc

    def head_revision(self) -> str | None:
        """The newest schema this sccm-cep knows (what opening a store upgrades it to)."""
        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # -- sessions and locks ---------------------------------------------------------------

    def session(self) -> Session:
        return self._sessions()

    def _file_lock(self, name: str) -> FileLock:
        base = Path(self.url.database or data_dir() / "state.db")
        return FileLock(str(base) + f".{name}.lock")

    @contextlib.contextmanager
    def site_lock(self, site_id: int, code: str) -> Iterator[Session | None]:
        """A session holding the site's lock, or None when another run holds it.

        SQLite: a file lock next to the store. PostgreSQL: ``SELECT ... FOR NO KEY UPDATE
        SKIP LOCKED`` on the site row, held by the yielded session's transaction, so
        several hosts split the sites between them.
        """
        if self.is_sqlite:
            lock = self._file_lock(f"site-{code}")
            try:
                lock.acquire(timeout=0)
            except Timeout:
                yield None
                return
            try:
                with self.session() as session:
                    yield session
            finally:
                lock.release()
            return
        with self.session() as session:
            got = session.execute(
                select(Site.id).where(Site.id == site_id).with_for_update(skip_locked=True, key_share=True)
            ).scalar_one_or_none()
            if got is None:
                session.rollback()
                yield None
                return
            yield session

    # -- audit ----------------------------------------------------------------------------

    @staticmethod
    def audit(
        session: Session, action: str, *, site: str | None = None, actor: str | None = None, **detail: Any
    ) -> None:
        """Record who did what; ``detail`` must never hold a secret or a value read from a site."""
        session.add(
            AuditEvent(
                at=utcnow(),
                actor=actor or current_actor(),
                action=action,
                site_code=site,
                detail=json.dumps(detail, sort_keys=True, default=str),
            )
        )

    def dispose(self) -> None:
        self.engine.dispose()


def current_actor() -> str:
    """The operating-system account running the command, with the host (who joined, who ran)."""
    try:
        user = os.getlogin()
    except OSError:
        import getpass

        user = getpass.getuser()
    return f"{user}@{socket.gethostname()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()
