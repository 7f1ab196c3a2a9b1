"""A reference receiver that can be told to misbehave: the production ``Receiver`` with a fault
injector in its ``middleware`` seam (inside the in-flight limit, so a hung request holds its
slot as a slow one would).

``receiver.fail_next(n, Fault(status=503, retry_after="5"))``, ``Fault(status=429)``,
``Fault(hang=seconds)`` (then answered normally) and ``Fault(drop=True)`` (the answer promises a
body and the connection closes without it: the client sees a network error).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sccm_cep.receiver.app import PostHandler, Receiver
from sccm_cep.receiver.wire import StartResponse, answer

__all__ = ["Fault", "FaultInjector", "FaultyReceiver"]


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do instead of answering one request: ``status`` (503, 429, 500 …) with an optional
    ``retry_after``, ``hang`` seconds before answering, or ``drop`` the connection unanswered."""

    status: int | None = None
    retry_after: str | None = None
    hang: float = 0.0
    drop: bool = False


class FaultInjector:
    """Middleware for ``ReceiverApp``: counts POSTs and applies queued faults to the next ones."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests = 0
        self._lock = threading.Lock()

    def fail_next(self, n: int, fault: Fault) -> None:
        with self._lock:
            self.faults.extend([fault] * n)

    def _next(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None

    def __call__(self, handler: PostHandler) -> PostHandler:
        def faulty(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            fault = self._next()
            if fault is None:
                return handler(environ, start_response)
            if fault.drop:
                # Promise a body and send none: the server closes the connection, the client
                # sees a network error mid-answer.
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "100")])
                return []
            if fault.hang:
                time.sleep(fault.hang)
            if not fault.status:
                return handler(environ, start_response)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            reason = {"status": "unavailable", "reason": "try again later"}
            return answer(start_response, fault.status, reason, headers)

        return faulty


class FaultyReceiver(Receiver):
    """``Receiver`` with a ``FaultInjector``: ``fail_next``, ``faults`` and ``requests`` (POSTs
    that got past the in-flight limit)."""

    def __init__(self, db: str, **options: Any) -> None:
        self.injector = FaultInjector()
        super().__init__(db, middleware=self.injector, **options)

    @property
    def requests(self) -> int:
        return self.injector.requests

    @property
    def faults(self) -> deque[Fault]:
        return self.injector.faults

    def fail_next(self, n: int, fault: Fault) -> None:
        """Apply ``fault`` to the next ``n`` POSTs."""
        self.injector.fail_next(n, fault)

    def __enter__(self) -> FaultyReceiver:
        self.start()
        return self
