"""The register of a separated voice, for vocalGender (engine/voice.py)."""

from __future__ import annotations

import pytest

from mashup_site.engine.voice import median_pitch
from tests import signals


@pytest.mark.parametrize("f0", [110.0, 262.0])
def test_it_finds_the_register_of_a_sung_line(f0: float) -> None:
    pitch = median_pitch(signals.voice_like(6, f0=f0), signals.SR)
    # The line walks the triad and scale above f0: its median note is at most a fifth up.
    assert pitch is not None
    assert f0 * 0.97 <= pitch <= f0 * 1.55


def test_it_has_no_pitch_for_silence() -> None:
    assert median_pitch(signals.voice_like(3) * 0, signals.SR) is None
