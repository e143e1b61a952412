"""The submission throttle: at most so many submissions per window, across processes.

docs/api-contract.md, "Rate limits": about 20 generation requests per 10 s per account, and
excess requests are rejected, not queued; so the client waits for a slot before it submits.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


def default_sleep(seconds: float) -> None:
    """The one place the throttle waits (tests replace it: no test sleeps)."""
    time.sleep(seconds)


def default_clock() -> float:
    """The throttle's clock, in seconds since the epoch (time-machine moves it in tests)."""
    return time.time()


class SlotStore(Protocol):
    """Where the throttle keeps its window; the app's store is the database (shared by
    every worker process), see ``SubmitSlot.objects`` in ``mashups/models.py``."""

    def take(self, now: float, per: float, rate: int) -> float:
        """Take a slot at ``now``: 0 when taken, else seconds until one is free."""
        ...


class MemorySlots:
    """A window in this process only (for one-process use and tests)."""

    def __init__(self) -> None:
        self.taken: deque[float] = deque()

    def take(self, now: float, per: float, rate: int) -> float:
        while self.taken and self.taken[0] <= now - per:
            self.taken.popleft()
        if len(self.taken) >= rate:
            return self.taken[0] + per - now
        self.taken.append(now)
        return 0.0


class Throttle:
    """At most ``rate`` submissions per ``per`` seconds (docs/api-contract.md, "Rate
    limits": excess requests are rejected, not queued). It waits instead of failing."""

    def __init__(
        self,
        rate: int,
        per: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        store: SlotStore | None = None,
    ) -> None:
        self.rate, self.per = rate, per
        self.clock = clock or default_clock
        self.sleep = sleep or default_sleep
        self.store = store or MemorySlots()

    def wait(self) -> float:
        """Block until a submission may go; returns the seconds waited."""
        waited = 0.0
        while (delay := self.store.take(self.clock(), self.per, self.rate)) > 0:
            self.sleep(delay)
            waited += delay
        return waited
