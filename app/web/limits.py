"""A per-client request rate limit in front of the Gradio app (ASGI middleware).

Gradio's queue bounds how much work waits, not who sends it: one client could fill the queue
or guess passwords as fast as it likes. Only requests that start work or try a login count;
page assets and the streams of already admitted jobs do not.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

WINDOW_SECONDS = 60.0
# POST routes that start a job (queue, API calls, chat completions), store an upload, or
# check a password
_COUNTED = ("/queue/join", "/call/", "/run/", "/api/", "/upload", "/login", "/v1/chat/")


def counts(method: str, path: str) -> bool:
    return method == "POST" and any(part in path for part in _COUNTED)


class SlidingWindow:
    """At most `limit` events per client in any `window` seconds; thread-safe."""

    def __init__(self, limit: int, window: float = WINDOW_SECONDS):
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str, now: float | None = None) -> float:
        """Record an event; 0 if admitted, else the seconds until the client may try again."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(client, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return events[0] + self.window - now
            events.append(now)
            self._forget_idle(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose last event left the window, so memory follows active clients."""
        if len(self._events) > 1024:
            idle = [c for c, e in self._events.items() if not e or e[-1] <= now - self.window]
            for client in idle:
                del self._events[client]


class RateLimit:
    """Answer 429 with Retry-After once a client passes `per_minute` counted requests."""

    def __init__(self, app: ASGIApp, per_minute: int):
        self.app = app
        self.per_minute = per_minute
        self.window = SlidingWindow(per_minute)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and counts(scope["method"], scope["path"]):
            client = (scope.get("client") or ("unknown",))[0]
            wait = self.window.admit(client)
            if wait > 0:
                response = JSONResponse(
                    {
                        "detail": f"too many requests: the limit is {self.per_minute} a minute "
                        "per client (web.requests_per_minute)"
                    },
                    status_code=429,
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
