"""Reading the receiver's answer: its JSON, whether it says duplicate, the refusal reason we may
show (never one quoting the document), and ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sccm_cep.contract.submission import ENVELOPE

__all__ = ["answer_json", "is_duplicate", "refusal_reason", "retry_after", "seconds_until"]


def answer_json(response: httpx.Response) -> dict[str, Any]:
    if "json" not in response.headers.get("Content-Type", ""):
        return {}
    try:
        value = json.loads(response.content[:65536])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def is_duplicate(answer: dict[str, Any], document_id: str) -> bool:
    return answer.get("status") == "duplicate" and answer.get("document_id") == document_id


_SAFE = re.compile(r"[^\w .,:;/()'#=<>+-]")
_ENVELOPE = frozenset((*ENVELOPE, "supersedes"))


def refusal_reason(response: httpx.Response, answer: dict[str, Any], text: Callable[[], bytes]) -> str:
    """The server's short reason: only a JSON ``reason``, cleaned, truncated, and withheld when
    it quotes a value of the document (a server could echo what it refused)."""
    raw = answer.get("reason")
    if not isinstance(raw, str) or not raw.strip():
        return response.reason_phrase or "no reason given"
    clean = " ".join(_SAFE.sub(" ", raw).split())[:200]
    lowered = " ".join(raw.split()).lower()
    try:
        body = text()
    except (OSError, EOFError, ValueError):  # a body that does not unpack: quote nothing of it
        return "refused (the document could not be read back to check the reason, so it is not shown)"
    if any(value.lower() in lowered for value in _content_values(body)):
        return "refused (the reason quoted the document, so it is not shown)"
    return clean


def _content_values(body: bytes) -> set[str]:
    """The document's string values outside the envelope (the envelope holds no site data)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return set()
    out: set[str] = set()
    stack: list[Any] = [v for k, v in doc.items() if k not in _ENVELOPE] if isinstance(doc, dict) else [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item.strip()) >= 4:
            out.add(" ".join(item.split()))
    return out


def retry_after(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return max(when, now)


def seconds_until(retry_at: datetime | None, now: datetime) -> float | None:
    return None if retry_at is None else max(0.0, (retry_at - now).total_seconds())
