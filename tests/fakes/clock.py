"""An injected clock in seconds since the epoch, with a sleep that only records and moves it:
what the remote client and the throttle take as ``clock``/``sleep``. (The app's one clock,
``timezone.now``, is moved by conftest's ``clock`` fixture, through time-machine.)"""

from __future__ import annotations


class FakeClock:
    """The throttle's clock and the client's sleep, injected: seconds since the epoch."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
