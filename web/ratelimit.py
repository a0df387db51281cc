"""Sign-in rate limit: failed attempts per client address and per username in a sliding window.

In memory, per process: the engine is one process. A limit hit is refused before the password
is checked, so guessing costs the attacker the window, not our CPU (argon2 is deliberately slow).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(
        self, *, max_failures: int = 5, window_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[key]
            return deque()
        return q

    def retry_after(self, *keys: str) -> float:
        """Seconds until an attempt for these keys is allowed again; 0 when allowed now."""
        waits = [
            q[0] + self.window_s - self.clock()
            for q in (self._recent(k) for k in keys)
            if len(q) >= self.max_failures
        ]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for k in keys:
            self._failures.setdefault(k, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        for k in keys:
            self._failures.pop(k, None)
