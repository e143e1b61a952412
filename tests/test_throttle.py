"""The submission throttle (providers/throttle.py): a window of slots, in memory or shared
through the database (docs/api-contract.md, "Rate limits")."""

from __future__ import annotations

import pytest

from mashup_site.mashups.models import SubmitSlot
from mashup_site.providers.throttle import MemorySlots, Throttle


def test_the_throttle_lets_20_through_then_waits_for_the_window(fake_clock) -> None:
    throttle = Throttle(20, 10, clock=fake_clock, sleep=fake_clock.sleep, store=MemorySlots())
    assert [throttle.wait() for _ in range(20)] == [0.0] * 20
    assert throttle.wait() == 10.0
    assert fake_clock.slept == [10.0]


@pytest.mark.django_db
def test_the_throttle_window_is_shared_through_the_database(fake_clock) -> None:
    """Two throttles (two worker processes) over one database share the same 20 slots."""
    first = Throttle(20, 10, clock=fake_clock, sleep=fake_clock.sleep, store=SubmitSlot.objects)
    second = Throttle(20, 10, clock=fake_clock, sleep=fake_clock.sleep, store=SubmitSlot.objects)
    for _ in range(10):
        first.wait()
        fake_clock.now += 0.5
        second.wait()
    assert fake_clock.slept == []
    fake_clock.now = 1_000_000.0 + 9.5  # 21st submission inside the first window
    assert second.wait() == pytest.approx(0.5)
    assert first.wait() == pytest.approx(0.5)  # the next slot frees half a second later
