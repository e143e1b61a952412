"""Tempo ratio, key shift and tuning: the least stretch, a key compatible with every
plausible reading, the lead's tuning (engine/matching.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mashup_site.engine import analysis, matching
from mashup_site.engine.analysis import Analysis, camelot, camelot_distance


def song(tempo: float, tonic: int = 0, mode: str = "major", *, has_beat: bool = True) -> Analysis:
    beats = np.arange(0, 60, 60 / tempo)
    return Analysis(60.0, tempo, beats, beats[::4], tonic, mode, -14.0, 0.9, has_beat)


def test_it_stretches_by_the_tempo_ratio_when_tempi_are_close() -> None:
    fit = matching.match(song(100), song(120))
    assert (fit.ratio, fit.stretch) == (1.0, pytest.approx(1.2))
    assert fit.warnings == ()


def test_it_meets_a_double_time_song_at_half_speed_instead_of_stretching_it() -> None:
    fit = matching.match(song(85), song(170))
    assert fit.ratio == 0.5
    assert fit.stretch == pytest.approx(1.0)


def test_it_meets_a_half_time_song_at_double_speed() -> None:
    fit = matching.match(song(170), song(86))
    assert fit.ratio == 2.0
    assert fit.stretch == pytest.approx(172 / 170)


def test_it_says_so_when_the_tempi_are_too_far_apart_for_a_clean_stretch() -> None:
    fit = matching.match(song(70), song(190))
    assert not 0.8 <= fit.stretch <= 1.25
    assert any("far apart" in warning for warning in fit.warnings)


@pytest.mark.parametrize(("lead", "backing"), [(100, 150), (150, 100), (120, 80), (90, 135)])
def test_it_never_layers_tempi_three_against_two(lead: float, backing: float) -> None:
    # 3:2 would gallop; the least damaging of 1:1, 1:2 and 2:1 is taken and said plainly.
    fit = matching.match(song(lead), song(backing))
    assert fit.ratio in (0.5, 1.0, 2.0)
    assert fit.stretch == pytest.approx(backing * fit.ratio / lead)
    assert not 0.8 <= fit.stretch <= 1.25
    [warning] = fit.warnings
    assert "closest musical relation" in warning and "may sound processed" in warning


@pytest.mark.parametrize(
    ("stretch", "words"),
    [
        (1.36, "slowed by 26%, past the 20%"),
        (0.7, "sped up by 43%, past the 25%"),
        (0.799, "sped up by 25.2%, past the 25%"),
    ],
)
def test_it_says_how_far_past_a_clean_stretch_it_went(stretch: float, words: str) -> None:
    assert words in matching.stretch_warning(100, 100 * stretch, 1.0, stretch)


@pytest.mark.parametrize(
    ("vocal", "backing", "shift"),
    [
        ((0, "major"), (0, "major"), 0),
        ((0, "major"), (2, "major"), -2),  # D major down to C major
        ((0, "major"), (9, "minor"), 0),  # relative minor: already compatible
        ((9, "minor"), (11, "minor"), -2),
        ((4, "major"), (1, "major"), 3),
        ((0, "major"), (6, "major"), -1),  # F# to F or G: one step each; down sounds natural
    ],
)
def test_it_shifts_the_backing_to_a_compatible_key_within_three_semitones(
    vocal: tuple[int, str], backing: tuple[int, str], shift: int
) -> None:
    fit = matching.match(song(100, *vocal), song(100, *backing))
    assert fit.shift == shift
    assert abs(fit.shift) <= 3
    assert fit.key_distance <= 1
    shifted = replace(song(100, *backing), tonic=(backing[0] + fit.shift) % 12)
    assert camelot_distance(song(100, *vocal).camelot, shifted.camelot) == fit.key_distance


def test_it_lays_a_song_without_a_beat_by_its_own_timing_and_says_so() -> None:
    fit = matching.match(song(100), song(143, has_beat=False))
    assert fit.stretch == pytest.approx(1.0)
    assert any("no steady beat" in warning for warning in fit.warnings)
    _, backing = matching.common_grid(song(100), song(143, has_beat=False))
    assert backing.tempo == 100
    assert np.allclose(np.diff(backing.beats), 0.6)


@pytest.mark.parametrize("keyless", ["lead", "backing"])
def test_a_song_without_a_key_heard_moves_no_other_song_and_it_says_so(keyless) -> None:
    # A drum loop's "key" is chance: neither song is transposed or retuned for it.
    drums = replace(song(100, 3, "minor"), has_key=False, tuning=-0.37)
    keyed = replace(song(100, 9, "minor"), tuning=0.1)
    lead, backing = (drums, keyed) if keyless == "lead" else (keyed, drums)
    fit = matching.match(lead, backing)
    assert (fit.shift, fit.tuning, fit.semitones) == (0, 0.0, 0.0)
    assert fit.key_distance is None  # nothing to compare
    [words] = [w for w in fit.warnings if "key" in w]
    assert f"no key was heard in the {keyless}" in words
    assert "neither transposed nor retuned" in words


def tuned(tonic: int, mode: str, tuning: float) -> Analysis:
    return replace(song(100, tonic, mode), tuning=tuning)


A432 = 12 * np.log2(432 / 440)  # -0.318 semitones


def test_it_moves_the_backing_onto_the_leads_tuning_as_well_as_its_key() -> None:
    # C major at A=432 Hz sung over D major at A=440: two semitones down for the key,
    # and 32 cents more, or the "perfect" key match is a third of a semitone sour.
    fit = matching.match(tuned(0, "major", A432), tuned(2, "major", 0.0))
    assert (fit.shift, fit.key_distance) == (-2, 0)
    assert fit.tuning == pytest.approx(-0.32)
    assert fit.semitones == pytest.approx(-2.32)
    back = matching.match(tuned(2, "major", 0.0), tuned(0, "major", A432))
    assert (back.shift, back.tuning) == (2, pytest.approx(0.32))


def test_the_tuning_correction_adds_up_whichever_semitone_a_quarter_tone_was_read_as() -> None:
    # C +49 cents and C# -49 cents are two cents apart: the key plan says one semitone
    # down, the tuning 98 cents up; together the backing moves by those two cents.
    fit = matching.match(tuned(0, "major", 0.49), tuned(1, "major", -0.49))
    assert (fit.shift, fit.key_distance) == (-1, 0)
    assert fit.semitones == pytest.approx(-0.02)


def test_a_tuning_difference_under_half_a_cent_is_no_correction() -> None:
    # Whole cents only: an unshifted backing is then not resampled at all.
    fit = matching.match(tuned(0, "major", 0.003), tuned(0, "major", 0.0))
    assert fit.semitones == 0


# Measured key readings (analysis.key_scores) of the benchmark's two songs: War of freedom
# has three within 0.046 (its quarters disagree on which is first); Escape from chaosland
# reads C minor, its parallel major 0.069 under it.
WAR = {(4, "major"): 0.745, (9, "major"): 0.701, (6, "minor"): 0.699, (11, "major"): 0.520}
ESCAPE = {(0, "minor"): 0.712, (0, "major"): 0.643, (5, "major"): 0.529, (10, "major"): 0.326}


def read(scores: dict[tuple[int, str], float]) -> Analysis:
    tonic, mode = max(scores, key=scores.__getitem__)
    return replace(song(100, tonic, mode), key_scores=scores)


def clear(tonic: int, mode: str) -> Analysis:
    return read({(tonic, mode): 0.93, ((tonic + 9) % 12, "minor"): 0.76})


@pytest.mark.parametrize(
    ("backing", "alone", "robust"),
    [
        (7, -3, 2),  # G major: to E (top reading) or to A major
        (6, -2, 3),  # F# major: the robust plan may be the larger shift
    ],
)
def test_a_nearly_tied_lead_key_is_met_by_a_backing_compatible_with_every_reading(
    backing: int, alone: int, robust: int
) -> None:
    # The top reading alone lands the backing on E major: right for E major, one step
    # from A major, two (a clash) from F# minor. Landing on A major is one step or none
    # from all three.
    plain_backing = song(100, backing, "major")
    assert matching.match(song(100, 4, "major"), plain_backing).shift == alone
    fit = matching.match(read(WAR), clear(backing, "major"))
    assert fit.shift == robust
    landed = camelot((backing + fit.shift) % 12, "major")
    assert landed == "11B"  # A major
    assert all(camelot_distance(camelot(*key), landed) <= 1 for key in list(WAR)[:3])
    assert fit.key_distance == 1  # of the top readings, E major and A major


def test_a_nearly_tied_backing_key_is_shifted_to_suit_every_reading() -> None:
    # Backing read E major / A major / F# minor under a G major lead. Alone: up 3 to G
    # major, which puts the A major reading on C and the F# minor one on A minor (a
    # clash). Down 2 puts them on D major, G major and E minor: one step or none.
    assert matching.match(song(100, 7, "major"), song(100, 4, "major")).shift == 3
    fit = matching.match(clear(7, "major"), read(WAR))
    assert (fit.shift, fit.key_distance) == (-2, 1)


def test_a_key_given_for_the_backing_is_the_one_shifted_from_alone() -> None:
    # The same nearly tied backing, which its owner says is in E major: up 3 to G major,
    # the lead's own key, as a backing read E major and nothing else would be (with its
    # other readings still weighed it goes down 2, as above).
    given = analysis.with_key(read(WAR), "E major")
    fit = matching.match(clear(7, "major"), given)
    assert (fit.shift, fit.key_distance) == (3, 0)
    assert matching.match(clear(7, "major"), read(WAR)).shift == -2


def test_the_benchmark_songs_keep_their_plan() -> None:
    # Escape's parallel major lies outside the margin: counted, it would pull the plan to
    # a shift that is three steps off for the C minor the song is in.
    assert matching.match(read(ESCAPE), read(WAR)).shift == -1
    assert matching.match(read(WAR), read(ESCAPE)).shift == 1


def test_a_tie_with_the_relative_key_leaves_the_plan_as_it_was() -> None:
    # A minor or C major: the same notes, the same Camelot number; D major goes to C.
    lead = read({(9, "minor"): 0.90, (0, "major"): 0.89})
    fit = matching.match(lead, clear(2, "major"))
    assert (fit.shift, fit.key_distance) == (-2, 1)
    assert matching.readings(lead) == {(9, "minor"): 0.90, (0, "major"): 0.89}


def test_without_scores_only_the_top_reading_counts() -> None:
    assert matching.readings(song(100, 4, "major")) == {(4, "major"): 1.0}


def test_it_says_so_when_a_shuffle_meets_a_straight_groove() -> None:
    fit = matching.match(replace(song(100), ternary=True), song(100))
    assert any("ternary feel" in warning and "lead" in warning for warning in fit.warnings)
    both = matching.match(replace(song(100), ternary=True), replace(song(98), ternary=True))
    assert both.warnings == ()


def test_an_unsure_key_is_planned_for_its_close_readings_not_its_runner_ups() -> None:
    # Escape's other readings lie outside the margin, sure or unsure.
    sure, unsure = read(ESCAPE), replace(read(ESCAPE), key_confidence=0.2)
    assert matching.readings(unsure) == matching.readings(sure) == {(0, "minor"): 0.712}


def test_two_songs_in_one_key_stay_in_it_when_the_leads_reading_is_unsure() -> None:
    # Planned over its top three readings (C minor, C major, F major), an unsure C minor
    # lead had a C minor backing moved up two semitones to D minor: a clash where nothing
    # needed to move.
    unsure = replace(read(ESCAPE), key_confidence=0.2)
    fit = matching.match(unsure, clear(0, "minor"))
    assert (fit.shift, fit.key_distance) == (0, 0)


def test_the_key_of_a_songs_notes_is_planned_for_as_a_close_reading() -> None:
    # Read E major, its notes in B major (scored outside the margin): both count, B major
    # as much as a reading at the margin's edge; one inside the margin keeps its score.
    heard = replace(read(WAR), key_by_notes=(11, "major"))
    assert matching.readings(heard)[11, "major"] == pytest.approx(0.745 - matching.KEY_MARGIN)
    inside = replace(read(WAR), key_by_notes=(9, "major"))
    assert matching.readings(inside)[9, "major"] == 0.701
    far = replace(read(WAR), key_by_notes=(1, "major"))  # a key the scores put nowhere
    assert matching.readings(far)[1, "major"] == pytest.approx(0.745 - matching.KEY_MARGIN)


def test_the_doubt_adds_the_notes_key_and_not_the_runner_ups() -> None:
    # Escape's other readings lie outside the margin: a reading doubted by its notes is
    # planned for those notes' key alone.
    doubted = replace(read(ESCAPE), key_by_notes=(7, "minor"))
    assert matching.readings(doubted) == {(0, "minor"): 0.712, (7, "minor"): pytest.approx(0.652)}
    # Eb major has C minor's notes: they put nothing in doubt, nothing is added
    assert set(matching.readings(replace(read(ESCAPE), key_by_notes=(3, "major")))) == {
        (0, "minor")
    }


def test_without_scores_the_notes_key_is_as_likely_as_the_reading() -> None:
    # No scores to weigh: the reading and the notes' key count alike, as the words say.
    doubted = replace(song(100, 4, "major"), key_by_notes=(9, "major"))
    assert matching.readings(doubted) == {(4, "major"): 1.0, (9, "major"): 1.0}


def test_a_backing_is_shifted_to_suit_the_key_of_the_leads_notes_too() -> None:
    # Lead read C major (8B), its notes in D major (10B); backing clearly F major (7B).
    # Alone, the backing stays where it is, three steps from D major; planned for both, it
    # goes up 2 to G major (9B), one step from each.
    lead = clear(0, "major")
    assert matching.match(lead, clear(5, "major")).shift == 0
    fit = matching.match(replace(lead, key_by_notes=(2, "major")), clear(5, "major"))
    assert camelot((5 + fit.shift) % 12, "major") == "9B"


def test_a_song_in_three_over_one_in_four_is_said_to_meet_on_the_beat_not_the_bar() -> None:
    waltz = replace(song(120), beats_per_bar=3)
    fit = matching.match(waltz, song(120))
    assert fit.warnings == (
        "the lead counts three beats a bar and the backing four: their beats meet, but "
        "their bar lines meet only every 12 of the lead's beats",
    )
    assert matching.match(waltz, waltz).warnings == ()
    # at half and double time, counted in the lead's beats
    slow = matching.match(waltz, song(60))  # a backing bar is 8 of the lead's beats
    assert slow.ratio == 2 and "every 24 of the lead's beats" in slow.warnings[0]
    fast = matching.match(replace(song(60), beats_per_bar=3), song(120))
    assert fast.ratio == 0.5 and "every 6 of the lead's beats" in fast.warnings[0]


def test_a_beatless_song_takes_the_bars_of_the_song_with_a_beat() -> None:
    waltz = replace(song(120), beats_per_bar=3)
    vocal, _ = matching.common_grid(song(90, has_beat=False), waltz)
    assert vocal.beats_per_bar == 3
    assert np.allclose(np.diff(vocal.downbeats), 1.5)
    assert matching.match(song(90, has_beat=False), waltz).warnings[1:] == ()
