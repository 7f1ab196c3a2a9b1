"""The state store: where sites, enrollments, runs, the outbox, approvals and audit events live.

SQLite in the user's data folder by default, or any SQLAlchemy URL (``--state`` /
``SCCM_CEP_STATE``), e.g. a PostgreSQL database shared by several collector hosts. Alembic
migrations run automatically when a store is opened; an older store is upgraded, never
reset, and a store written by a newer version is refused. A store already at the newest schema
(the head the migration files name) is only read: alembic is imported when there is work for it.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
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
    Setting,
    Site,
    SiteKeyChange,
    SitePseudonym,
)
from sccm_cep.errors import ConfigError, StoreDamaged
from sccm_cep.platform.config import data_dir

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "Approval",
    "AuditEvent",
    "Base",
    "Enrollment",
    "Feedback",
    "Outbox",
    "OutboxState",
    "Run",
    "Setting",
    "Site",
    "SiteKeyChange",
    "SitePseudonym",
    "Store",
    "default_state_url",
    "migration_head",
    "utcnow",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """Naive UTC: what every datetime column of the store holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def default_state_url() -> str:
    """The data folder's ``state.db`` as a URL, quoted so that a folder name holding ``?``,
    ``#`` or ``%`` stays a folder name (a plain f-string made them URL parts)."""
    return URL.create("sqlite", database=str(data_dir() / "state.db")).render_as_string(hide_password=False)


#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"
_RECOVER = (
    "restore state.db from a backup; to start over instead, move it aside (every site must then join again)"
)


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
        if self.url.password is not None:
            raise ConfigError(
                "the state store URL must not carry a password",
                hint="use a password file (PGPASSFILE), a service file or a trusted login instead",
            )
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        created = False
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            created = self._prepare_sqlite_file(Path(self.url.database or ""))
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
        try:
            self._migrate(created=created)
        except BaseException:
            if created:  # a store made just now and not finished: leave nothing half made
                self.engine.dispose()
                Path(self.url.database or "").unlink(missing_ok=True)
            raise

    def _prepare_sqlite_file(self, database: Path) -> bool:
        """Make the folder and an empty private file for a new store; refuse an existing file
        that is empty or not a SQLite database. Returns whether the file was made now."""
        folder = database.parent
        if str(self.url.database).startswith("file:"):
            return False
        try:
            # Made private (0700 / 0600, an ACL on Windows); SQLite's -wal and -shm files
            # take the database file's mode. An existing folder or file is left as it is.
            platform.make_private_folder(folder)
            if not database.exists():
                with contextlib.suppress(FileExistsError):
                    platform.write_private_file(database, b"", exclusive=True)
                    return True
            with database.open("rb") as f:
                header = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise ConfigError(
                f"cannot create or read the state store {database}",
                hint="point --state / --data-dir at a folder this account can write",
            ) from exc
        if not header:
            raise StoreDamaged(f"the state store {database} is empty (0 bytes)", hint=_RECOVER)
        if header != SQLITE_HEADER:
            raise StoreDamaged(f"the state store {database} is not a SQLite database", hint=_RECOVER)
        return False

    # -- migrations ---------------------------------------------------------------------

    def _alembic(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def _migrate(self, *, created: bool = False) -> None:
        try:
            # A store already at the newest schema is only read: alembic (a third of a second
            # to import) is loaded only when there is something to upgrade or to refuse.
            if not created and self._at_head():
                return
            self._upgrade(created=created)
        except OperationalError as exc:
            if self.is_sqlite and _damaged(exc):
                raise StoreDamaged(
                    f"the state store at {self.display_url} cannot be read: it is damaged", hint=_RECOVER
                ) from exc
            raise ConfigError(
                f"cannot open the state store at {self.display_url}",
                hint="check --state / SCCM_CEP_STATE and that the database is reachable and writable",
            ) from exc
        except (DatabaseError, UnicodeDecodeError) as exc:
            # SQLite hands back undecodable text from a damaged page as UnicodeDecodeError.
            raise StoreDamaged(
                f"the state store at {self.display_url} cannot be read: it is damaged", hint=_RECOVER
            ) from exc

    def _at_head(self) -> bool:
        """Whether the store holds exactly the newest schema and every table: then there is
        nothing to migrate. Anything else (no version, another one, a table missing, a head
        the migration files do not name plainly) goes the full way through alembic."""
        head = migration_head()
        if head is None:
            return False
        with self.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables or set(Base.metadata.tables) - tables:
                return False
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return current == [head]

    def _upgrade(self, *, created: bool) -> None:
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = self._alembic()
        head = ScriptDirectory.from_config(cfg).get_current_head()
        lock = self._file_lock("migrate") if self.is_sqlite else contextlib.nullcontext()
        with lock, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # One migrator at a time across hosts; released at commit.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262726)")
            current = MigrationContext.configure(conn).get_current_revision()
            tables = set(inspect(conn).get_table_names())
            if current is None and tables - {"alembic_version"} and not created:
                raise StoreDamaged(
                    f"the state store at {self.display_url} holds tables but is not an sccm-cep store",
                    hint="point --state at the right database, or " + _RECOVER,
                )
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
                tables = set(inspect(conn).get_table_names())
            missing = sorted(set(Base.metadata.tables) - tables)
            if missing:
                raise StoreDamaged(
                    f"the state store at {self.display_url} is damaged: table {missing[0]} is missing",
                    hint=_RECOVER,
                )

    def head_revision(self) -> str | None:
        """The newest schema this sccm-cep knows (what opening a store upgrades it to)."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic()).get_current_head()

    def schema_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # -- sessions and locks ---------------------------------------------------------------

    def session(self) -> Session:
        return self._sessions()

    def _file_lock(self, name: str) -> FileLock:
        base = Path(self.url.database or data_dir() / "state.db")
        return FileLock(str(base) + f".{name}.lock", mode=0o600)

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


#: ``revision = "0006"`` / ``down_revision = "0005"`` lines of a migration file.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def migration_head() -> str | None:
    """The newest revision of the shipped migrations, read from the files' text (importing them
    would import alembic). None when the files do not name one head plainly (no source files, a
    branch, an unreadable line): the caller then asks alembic itself."""
    revisions: dict[str, set[str]] = {}
    try:
        for path in (MIGRATIONS / "versions").glob("*.py"):
            found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
            if "revision" not in found:
                continue
            down = ast.literal_eval(found.get("down_revision", "None"))
            downs = {down} if isinstance(down, str) else set(down or ())
            revisions[ast.literal_eval(found["revision"])] = downs
    except (OSError, ValueError, SyntaxError, TypeError):
        return None
    heads = set(revisions) - set().union(*revisions.values())
    return heads.pop() if len(heads) == 1 and all(isinstance(h, str) for h in heads) else None


def current_actor() -> str:
    """The operating-system account running the command, with the host (who joined, who ran)."""
    try:
        user = os.getlogin()
    except OSError:
        import getpass

        user = getpass.getuser()
    return f"{user}@{socket.gethostname()}"


def _damaged(exc: DatabaseError) -> bool:
    """Whether SQLite says the file itself is bad (rather than locked or unreachable)."""
    text = str(exc.orig).lower()
    return any(word in text for word in ("malformed", "not a database", "corrupt", "disk image"))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()
