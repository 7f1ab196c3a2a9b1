"""Reading the state store's rows one at a time, each checked against its column's declared type,
so one damaged row (a wrong type, a NUL byte, an over-long string, a value no code writes) is
reported in one line and skipped while every other row is read as usual.

The store is written only by sccm-cep, so a value of the wrong shape means the file was changed
or damaged: the reader says which table, row and column, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Date, DateTime, Integer, LargeBinary, Select, String, TypeDecorator, select
from sqlalchemy.orm import Session

from sccm_cep.errors import StoreDamaged
from sccm_cep.model import Level

from .models import Base, OutboxState

__all__ = ["MAX_TEXT", "SITE_CODE", "DamagedRow", "check_row", "checked", "first_checked", "readable"]

T = TypeVar("T", bound=Base)
R = TypeVar("R")

#: The longest TEXT value any command writes is far below this (a long list of WinRM clients).
MAX_TEXT = 4 * 1024 * 1024
_INT64 = 2**63
#: A site code as registration writes it; it names files (key files, lock files), so nothing
#: else is ever used.
SITE_CODE = re.compile(r"[A-Z0-9]{3}")

#: Values the code writes, per (table, column), beyond the column's type.
_DOMAINS: dict[tuple[str, str], Callable[[Any], bool]] = {
    ("sites", "code"): lambda v: SITE_CODE.fullmatch(v) is not None,
    ("outbox", "state"): lambda v: v in {s.value for s in OutboxState},
    ("enrollments", "level"): lambda v: v in {level.value for level in Level},
    # The cadence module sits beside the store (it may not be imported here): its two values.
    ("enrollments", "cadence"): lambda v: v in ("quarterly", "biweekly"),
    ("sites", "key_version"): lambda v: v >= 1,
}
# Errors SQLAlchemy's result processors raise for a value they cannot convert.
_LOAD_ERRORS = (ValueError, TypeError, LookupError, OverflowError, UnicodeError)


class DamagedRow(StoreDamaged):
    """One row of the store holds a value of the wrong shape; that row was skipped."""

    def __init__(self, table: str, row_id: Any, column: str | None = None) -> None:
        where = f"column {column} of " if column else ""
        super().__init__(
            f"{where}row {row_id} of table {table} is damaged and cannot be read",
            hint="the other rows are read as usual; restore state.db from a backup,"
            " or remove what the row belongs to and add it again",
        )
        self.table = table
        self.row_id = row_id
        self.column = column


def check_row(row: Base, domains: Mapping[str, Collection[Any]] | None = None) -> None:
    """DamagedRow naming the first column whose value is not of its declared type (or, with
    ``domains``, not one of the values given for it)."""
    name: str = row.__tablename__
    for column in row.__table__.columns:
        value = getattr(row, column.key, None)
        ok = _fits(column.type, value, column.nullable) and (
            value is None or _DOMAINS.get((name, column.name), _any)(value)
        )
        if ok and domains and column.name in domains and value is not None:
            ok = value in domains[column.name]
        if not ok:
            raise DamagedRow(name, _row_id(row), column.name)


def _any(value: Any) -> bool:
    return True


def _row_id(row: Base) -> Any:
    value = getattr(row, "id", None)
    return value if type(value) is int else "?"


def _fits(kind: Any, value: Any, nullable: bool | None) -> bool:
    if value is None:
        return bool(nullable)
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    if isinstance(kind, String):  # Text is a String without a length
        limit = kind.length or MAX_TEXT
        return isinstance(value, str) and len(value) <= limit and "\x00" not in value
    if isinstance(kind, Integer):
        return type(value) is int and -_INT64 <= value < _INT64
    if isinstance(kind, DateTime):
        return isinstance(value, datetime)
    if isinstance(kind, Date):
        return isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(kind, LargeBinary):
        return isinstance(value, bytes)
    return True


def checked(
    session: Session,
    entity: type[T],
    query: Select[Any],
    domains: Mapping[str, Collection[Any]] | None = None,
) -> Iterator[T | DamagedRow]:
    """The rows of ``query`` (a select of ``entity``) in its order, each checked; a row that
    cannot be loaded or fails ``check_row`` comes out as its DamagedRow.

    One query loads them all; only when a value cannot even be converted does it fall back to
    loading row by row, to name the damaged one and keep the others."""
    try:
        rows = session.execute(query).scalars().all()
    except _LOAD_ERRORS:
        ids = session.execute(query.with_only_columns(entity.id)).scalars().all()  # type: ignore[attr-defined]
        for row_id in ids:
            yield _one(session, entity, row_id, domains)
        return
    for row in rows:
        yield _checked(session, row, domains)


def readable(rows: Iterable[T | DamagedRow], build: Callable[[T], R]) -> tuple[list[R], list[DamagedRow]]:
    """``build`` of every readable row (it may raise DamagedRow too), and the damaged rows."""
    out: list[R] = []
    damaged: list[DamagedRow] = []
    for row in rows:
        try:
            if isinstance(row, DamagedRow):
                raise row
            out.append(build(row))
        except DamagedRow as exc:
            damaged.append(exc)
    return out, damaged


def first_checked(
    session: Session,
    entity: type[T],
    query: Select[Any],
    domains: Mapping[str, Collection[Any]] | None = None,
) -> T | None:
    """The first row of ``query`` (a select of ``entity``), checked; DamagedRow is raised for a
    damaged one."""
    for row in checked(session, entity, query.limit(1), domains):
        if isinstance(row, DamagedRow):
            raise row
        return row
    return None


def _unreadable(session: Session, entity: type[Base], row_id: Any) -> str | None:
    """The first column of the row that cannot be converted (read one column at a time)."""
    key = entity.id  # type: ignore[attr-defined]
    for column in entity.__table__.columns:
        try:
            session.execute(select(column).where(key == row_id)).scalar()
        except _LOAD_ERRORS:
            return str(column.name)
    return None


def _one(
    session: Session, entity: type[T], row_id: Any, domains: Mapping[str, Collection[Any]] | None
) -> T | DamagedRow:
    table = entity.__table__.name  # type: ignore[attr-defined]
    key = entity.id  # type: ignore[attr-defined]
    try:
        row = session.execute(select(entity).where(key == row_id)).scalar_one()
    except _LOAD_ERRORS:
        return DamagedRow(table, row_id if type(row_id) is int else "?", _unreadable(session, entity, row_id))
    return _checked(session, row, domains)


def _checked(session: Session, row: T, domains: Mapping[str, Collection[Any]] | None) -> T | DamagedRow:
    try:
        check_row(row, domains)
    except DamagedRow as exc:
        session.expunge(row)  # never written back, nor seen again from the identity map
        return exc
    return row
