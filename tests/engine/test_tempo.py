"""engine/tempo.py on grooves of known tempo and metre (tests/engine/rhythms.py): the
beat tempo within 4 % (MIREX Accuracy1), never a 3:2 or 2:3 reading, the ternary flag for
6/8 and shuffles, and a runner-up when two levels are close. No timing assertions."""

from __future__ import annotations

import numpy as np
import pytest

from mashup_site.engine import analysis, tempo
from tests import signals
from tests.engine import rhythms, rhythms_heldout, sections

SECONDS = 20.0
TOLERANCE = 0.04  # MIREX Accuracy1
THREE_TWO = (1.5, 2 / 3, 3 / 4, 4 / 3)


def reading(category: str, bpm: float, seed: int = 1) -> tuple[rhythms.Example, tempo.TempoReading]:
    example = rhythms.groove(category, bpm, SECONDS, seed=seed)
    mono = analysis.to_mono(example.audio, example.sr)
    return example, tempo.read_tempo(analysis.spectrogram(mono))


def off_by(read: float, truth: float, ratio: float) -> bool:
    return abs(read / (truth * ratio) - 1) <= TOLERANCE


CASES = [
    ("straight", 96.0),
    ("straight", 172.0),
    ("metal", 182.0),
    ("metal", 194.0),
    ("four_on_floor", 124.0),
    ("funk", 109.0),
    ("shuffle", 100.0),
    ("six_eight", 80.0),
    ("twelve_eight", 74.0),
    ("no_drums", 102.0),
]


@pytest.mark.parametrize(("category", "bpm"), CASES)
def test_reads_the_beat_tempo_and_never_a_three_two_level(category: str, bpm: float) -> None:
    example, read = reading(category, bpm)
    assert not any(off_by(read.bpm, example.bpm, r) for r in THREE_TWO), read
    assert off_by(read.bpm, example.bpm, 1.0), read
    assert read.ternary == example.ternary, read


@pytest.mark.parametrize(("category", "bpm"), [("six_eight", 66.0), ("shuffle", 120.0)])
def test_ternary_feels_are_flagged(category: str, bpm: float) -> None:
    example, read = reading(category, bpm)
    assert example.ternary
    assert read.ternary, read
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_the_reading_reports_its_candidates_best_first_and_a_confidence() -> None:
    _, read = reading("straight", 120.0)
    scores = [score for _, score in read.candidates]
    assert scores == sorted(scores, reverse=True)
    assert read.candidates[0][0] == read.bpm
    assert 0.0 <= read.confidence <= 1.0
    # every level considered is a metrical relative (2^a 3^b) of the reading
    for bpm, _ in read.candidates:
        exponents = np.log(bpm / read.bpm)
        assert any(
            abs(exponents - a * np.log(2) - b * np.log(3)) < 0.06
            for a in range(-3, 4)
            for b in (-1, 0, 1)
        )


def test_a_close_second_level_is_reported_as_the_runner_up() -> None:
    # No drums: the bass's half notes and the arpeggio's quarters are two good readings
    # (at 86 BPM the chords, a bar each, do not settle it); the answer is honest if it
    # names both, the true one among them.
    example, read = reading("no_drums", 86.0)
    (_, best_score), (second, second_score) = read.candidates[:2]
    assert second_score >= tempo.RUNNER_UP * best_score
    assert read.runner_up == second
    assert read.confidence <= 1 - tempo.RUNNER_UP + 1e-9
    assert any(off_by(b, example.bpm, 1.0) for b in (read.bpm, read.runner_up)), read
    assert not any(off_by(read.bpm, example.bpm, r) for r in THREE_TWO), read


def test_a_clear_reading_names_no_runner_up() -> None:
    _, read = reading("straight", 120.0)
    assert read.runner_up is None
    assert read.confidence > 1 - tempo.RUNNER_UP


def test_silence_and_noise_give_a_reading_not_an_error() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, int(10 * analysis.ANALYSIS_SR)).astype(np.float32)
    for signal in (np.zeros_like(noise), noise):
        read = tempo.read_tempo(analysis.spectrogram(signal))
        assert tempo.LO_BPM * 0.9 <= read.bpm <= tempo.HI_BPM * 1.1
        assert 0.0 <= read.confidence <= 1.0


def test_a_reading_says_whether_its_beat_stands_out_of_the_onsets() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, int(30 * analysis.ANALYSIS_SR)).astype(np.float32)
    assert not tempo.read_tempo(analysis.spectrogram(noise)).beat_stands_out
    _, groove = reading("straight", 96.0)
    assert groove.beat_stands_out


# Harmonic rhythm (issue 8): chords change on bar lines, so a level at which they change
# every beat or two is too slow, and the level twice as fast wins.


def beat_frames(times: np.ndarray) -> np.ndarray:
    return np.round(times * analysis.ANALYSIS_SR / analysis.HOP).astype(int)


def test_chord_spacing_counts_the_beats_between_chord_changes() -> None:
    # straight 4/4: a chord a bar, so every 4 beats; on a grid at half the tempo, every 2
    example = rhythms.groove("straight", 100.0, SECONDS, seed=1)
    mag = analysis.spectrogram(analysis.to_mono(example.audio, example.sr))
    chroma = analysis.frame_chroma(mag)
    beats = beat_frames(example.beat_times)
    at_tempo, clarity = tempo.chord_spacing(chroma, beats)
    at_half, _ = tempo.chord_spacing(chroma, beats[::2])
    assert 3.0 <= at_tempo <= 6.0, at_tempo
    assert 1.5 <= at_half <= 3.0, at_half
    assert clarity > 0.5


def test_harmony_only_weighs_a_clear_and_fast_harmonic_rhythm() -> None:
    assert tempo.harmony_fit(4.0, 1.0) == 1.0
    assert tempo.harmony_fit(8.0, 1.0) == 1.0
    assert tempo.harmony_fit(2.0, 0.0) == 1.0  # no clear chord changes: no evidence
    assert tempo.harmony_fit(2.0, 1.0) < 0.5
    assert tempo.harmony_fit(1.0, 1.0) < tempo.harmony_fit(2.0, 1.0)


@pytest.mark.parametrize(("bpm", "seed"), [(118.0, 1), (134.0, 0), (150.0, 1)])
def test_without_drums_the_chords_a_bar_keep_the_beat_from_reading_half(
    bpm: float, seed: int
) -> None:
    # The bass's half notes alone make the half tempo a strong level; the chords change
    # every 4 beats of the true tempo, every 2 of the half.
    example, read = reading("no_drums", bpm, seed=seed)
    assert off_by(read.bpm, example.bpm, 1.0), read


# The backbeat (issue 8): a snare on beats 2 and 4 falls between the beats of a reading at
# half the tempo, so a level whose mid band is louder between its beats than on them
# loses to the level twice as fast.


def features(example: rhythms.Example, bpm: float) -> dict[str, float]:
    mag = analysis.spectrogram(analysis.to_mono(example.audio, example.sr))
    bands = tempo.band_envelopes(mag)
    env = bands.mean(axis=0)
    return tempo.level_features(env, tempo.autocorr(env), bpm, bands=bands)


def test_a_backbeat_sits_between_the_beats_of_half_its_tempo() -> None:
    example = rhythms.groove("metal", 190.0, SECONDS, seed=1)
    assert features(example, 190.0)["snare_half"] < tempo.SNARE_LO
    at_half = features(example, 95.0)
    assert at_half["snare_half"] > tempo.SNARE_LO
    assert at_half["kick_half"] >= tempo.KICK_ON  # its double kick does not mark 95's beats


@pytest.mark.parametrize("bpm", [190.0, 195.0])
def test_fast_metal_is_read_at_its_tempo_not_half(bpm: float) -> None:
    # Without the backbeat evidence both read at half (95, 97.5): the slower level's grid
    # is steadier, and the 120-BPM prior leans to it.
    example, read = reading("metal", bpm)
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_a_slow_groove_with_its_snare_on_the_beats_is_not_doubled() -> None:
    example, read = reading("straight", 96.0)
    assert features(example, example.bpm)["snare_half"] < tempo.SNARE_LO
    assert off_by(read.bpm, example.bpm, 1.0), read


@pytest.mark.parametrize(("bpm", "seconds"), [(118.0, 40.0), (142.0, 30.0), (166.0, 30.0)])
def test_a_kick_and_snare_taking_turns_are_beats_not_half_of_one(
    bpm: float, seconds: float
) -> None:
    # Kick on 1 and 3, snare on 2 and 4, hats on the offbeats only (the drum loop of
    # tests/signals.py): half the tempo put its beats on the snares, the kicks between
    # them, and read 59 for 118 (over 40 s), 71 for 142 and 83 for 166.
    drums = analysis.to_mono(signals.drum_loop(bpm, seconds), signals.SR)
    read = tempo.read_tempo(analysis.spectrogram(drums))
    assert off_by(read.bpm, bpm, 1.0), read


@pytest.mark.parametrize(("bpm", "seconds"), [(93.0, 30.0), (99.0, 20.0)])
def test_a_funk_kick_between_the_beats_under_a_backbeat_is_not_half_of_a_faster_beat(
    bpm: float, seconds: float
) -> None:
    # The held-out generator's funk: its kick falls between the beats, as it does at half
    # a kick and snare taking turns, but its snare plays every other beat, not every one;
    # without telling them apart 93 read 185.9, and with too loose a test (SNARE_STEADY
    # 0.6) 99 read 198.3.
    example = rhythms_heldout.groove("funk", bpm, seconds, seed=0)
    found = features(example, example.bpm)
    assert found["kick_half"] > tempo.SNARE_LO + tempo.SNARE_SPAN
    assert found["snare_steady"] < tempo.SNARE_STEADY
    mono = analysis.to_mono(example.audio, example.sr)
    read = tempo.read_tempo(analysis.spectrogram(mono))
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_claps_and_hats_between_kicks_on_every_beat_are_not_a_backbeat() -> None:
    # Four on the floor at 104: its off-beat hats, bass and stabs fill the mid band
    # between the beats, but the kick marks each beat, so 208 does not win.
    example, read = reading("four_on_floor", 104.0)
    found = features(example, example.bpm)
    assert found["snare_half"] > tempo.SNARE_LO
    assert found["kick_half"] < tempo.KICK_ON
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_dense_eighths_under_a_fast_beat_do_not_mark_it_down_as_weak() -> None:
    # The two levels of a rock band at 190 (sectoid's "Escape from chaosland" played
    # faster; the features as level_features measured them). Its guitars and hats fill
    # the beat's profile, so the 190 beats stand only ~2× the mean envelope above their
    # floor: a real level, not a spurious one. Salience is a floor under spurious
    # levels (theirs measure 0.1–0.5), not a ranking of real ones: weighed down by it, the
    # 120-BPM prior read the song at 95.
    common = {"chord_clarity": 0.95, "third": -0.1, "h1": 0.5}
    # (measured before stop 55: no level here has its kicks between snares on every
    # beat, so the mirror of the backbeat test does not apply whatever snare_steady is)
    common["snare_steady"] = 0.0
    levels = {
        94.9: {
            **common,
            "harm": 0.58,
            "cons": 0.97,
            "cons3": 0.97,
            "half": 0.84,
            "salience": 3.00,
            "chord_spacing": 4.34,
            "kick_half": 1.36,
            "snare_half": 0.88,
        },
        190.3: {
            **common,
            "harm": 0.53,
            "cons": 0.92,
            "cons3": 0.92,
            "half": 0.34,
            "salience": 2.12,
            "chord_spacing": 7.05,
            "kick_half": 2.25,
            "snare_half": 0.49,
        },
        152.0: {
            **common,
            "harm": 0.29,
            "cons": 0.32,
            "cons3": 0.32,
            "half": 9.58,
            "salience": 0.14,
            "chord_spacing": 4.89,
            "kick_half": 1.29,
            "snare_half": 1.43,
        },
    }
    scores = {bpm: tempo._score(bpm, levels) for bpm in levels}
    assert max(scores, key=scores.__getitem__) == 190.3, scores
    assert scores[152.0] < 0.1 * scores[190.3]  # the spurious level stays far behind


def test_a_three_two_level_whose_third_points_are_a_backbeat_grid_loses_to_it() -> None:
    # The levels of a house track at 125 with no kick (Simutrans's "House in the
    # station", benchmarks/simutrans.py; the features as level_features measured them):
    # pedal hats on the beats, a snare on 2 and 4, a lead in groups of three sixteenths.
    # The snare makes 125's beats strong and weak in twos (cons 0.50, under CONS_OK), so
    # 83.3, whose third-points hold onsets as strong as its beats (those are 125's beats),
    # went unpunished and was read: a 3:2 reading. In threes 125's grid is even (0.99).
    common = {"chord_clarity": 0.9, "chord_spacing": 4.4}
    common["snare_steady"] = 0.0  # as in the test above: it changes nothing here
    levels = {
        62.5: {
            **common,
            "h1": 0.62,
            "harm": 0.73,
            "cons": 0.69,
            "cons3": 0.96,
            "half": 0.35,
            "third": -0.01,
            "salience": 5.43,
            "chord_spacing": 6.5,
            "kick_half": 0.48,
            "snare_half": 0.47,
        },
        83.3: {
            **common,
            "h1": 0.62,
            "harm": 0.62,
            "cons": 0.79,
            "cons3": 0.94,
            "half": 0.24,
            "third": 1.00,
            "salience": 3.31,
            "kick_half": 0.99,
            "snare_half": 0.40,
        },
        124.9: {
            **common,
            "h1": 0.46,
            "harm": 0.62,
            "cons": 0.50,
            "cons3": 0.99,
            "half": 0.70,
            "third": -0.13,
            "salience": 3.70,
            "kick_half": 0.71,
            "snare_half": 0.61,
        },
    }
    scores = {bpm: tempo._score(bpm, levels) for bpm in levels}
    assert max(scores, key=scores.__getitem__) == 124.9, scores


@pytest.mark.parametrize("bpm", [100.0, 130.0])
def test_a_backbeat_grid_is_steady_in_threes(bpm: float) -> None:
    # Kick on 1 and 3, snare on 2 and 4: the true beat alternates in twos, as music does;
    # in threes each phase holds both kinds of beat in turn, so the phases mod 3 are alike.
    found = features(rhythms.groove("straight", bpm, SECONDS, seed=1), bpm)
    print(f"straight {bpm:g}: cons {found['cons']:.2f}, in threes {found['cons3']:.2f}")
    assert found["cons3"] >= tempo.CONS_OK


@pytest.mark.parametrize(
    ("bpm", "seed"), [(90.0, 0), (90.0, 1), (100.0, 2), (110.0, 2), (122.0, 2), (140.0, 2)]
)
def test_a_waltz_is_read_at_its_quarter_note_not_at_a_level_that_never_repeats(
    bpm: float, seed: int
) -> None:
    # A waltz's beats are unequal by nature (the 1 loud, the 2 a hat), so its grid is as
    # "inconsistent" as a 3:2 grid and every level scored near zero; the prior then chose
    # 60 (2:3), 118 and 144 (4:3), 81 (2:3): levels whose own period the onsets never
    # repeat at (the tempogram has no peak there), carried only by the bar's periodicity.
    example, read = reading("waltz", bpm, seed)
    assert off_by(read.bpm, example.bpm, 1.0), read
    assert not read.ternary, read


@pytest.mark.parametrize(("bpm", "seed"), [(154.0, 0), (154.0, 2), (170.0, 2)])
def test_a_fast_waltz_is_read_at_its_quarter_note_not_in_one(bpm: float, seed: int) -> None:
    # The tempogram's beat, half bar and bar (1, 2 and 4 periods) are a bar of two or
    # four's; a waltz's quarter repeats at 1, 3 and 6. Weighed only on 2 and 4, its bar
    # ("in one": 51.3, 56.7) outscored it.
    example, read = reading("waltz", bpm, seed)
    assert off_by(read.bpm, example.bpm, 1.0), read


def heldout_reading(category: str, bpm: float, seed: int, seconds: float = SECONDS):
    example = rhythms_heldout.groove(category, bpm, seconds, seed=seed)
    mono = analysis.to_mono(example.audio, example.sr)
    return example, tempo.read_tempo(analysis.spectrogram(mono))


@pytest.mark.parametrize(("bpm", "seed"), [(154.0, 0), (170.0, 1)])
def test_a_waltz_whose_kick_plays_a_six_eight_pattern_is_not_read_two_to_the_bar(
    bpm: float, seed: int
) -> None:
    # The held-out generator's waltz whose kick plays the 1 and the "and" of 2: at two
    # beats a bar (102.6, 113.4: 3:2) its 2 and 4 periods are the bar and two bars.
    example, read = heldout_reading("waltz", bpm, seed)
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_a_bar_of_three_lifts_no_level_whose_beat_its_subdivisions_split_evenly() -> None:
    # 12/8 at 67: its eighths in pairs (100.4) repeat at 3 and 6 periods too (half bar and
    # bar) and ring as loud halfway through as on the beat (its midpoints 0.98): a bar of
    # three for that level would read it at 3:2.
    example, read = heldout_reading("twelve_eight", 67.0, 1, seconds=30.0)
    assert off_by(read.bpm, example.bpm, 1.0), read


def test_a_bar_of_three_lifts_no_level_without_a_beat_of_its_own() -> None:
    # Chords and an arpeggio at 70 with no drums, whose onsets hardly repeat at any level:
    # 201.4 has no tempogram peak of its own (h1 0.00) but one at 6 periods (two bars).
    example, read = heldout_reading("no_drums", 70.0, 0, seconds=30.0)
    assert any(off_by(read.bpm, example.bpm, r) for r in (0.5, 1.0, 2.0)), (
        read
    )  # an octave at worst


def test_a_level_at_whose_period_the_onsets_never_repeat_loses_to_one_they_do() -> None:
    common = {"half": 0.0, "third": 0.0, "chord_spacing": 4.0, "chord_clarity": 0.9}
    common |= {"kick_half": 0.05, "snare_half": 0.05, "snare_steady": 0.0}
    levels = {
        90.0: {**common, "h1": 0.31, "harm": 0.30, "cons": 0.05, "cons3": 0.05, "salience": 13.8},
        118.2: {**common, "h1": 0.0, "harm": 0.30, "cons": 0.05, "cons3": 0.05, "salience": 4.4},
    }
    assert tempo._score(118.2, levels) < tempo._score(90.0, levels)
    # ... and where no level repeats (a pad, a drone), they are ranked as before
    alike = {bpm: {**ft, "h1": 0.0} for bpm, ft in levels.items()}
    ratio = tempo._score(90.0, alike) / tempo._score(118.2, alike)
    stripped = {bpm: {**ft, "h1": tempo.H1_OK} for bpm, ft in levels.items()}
    assert ratio == pytest.approx(tempo._score(90.0, stripped) / tempo._score(118.2, stripped))


@pytest.mark.parametrize(
    ("category", "bpm", "divides"),
    [("twelve_eight", 80.0, True), ("six_eight", 70.0, True), ("waltz", 154.0, False),
     ("straight", 120.0, False), ("waltz", 154.0 / 3, True)],
    ids=["12/8", "6/8", "waltz by the quarter", "rock", "waltz by the bar"],
)  # fmt: skip
def test_a_beat_divides_in_three_where_its_third_points_hold_the_notes(
    category: str, bpm: float, divides: bool
) -> None:
    _, read = reading(category, 154.0 if category == "waltz" else bpm, 0)
    assert tempo.ternary_at(read.envelope, bpm) is divides


def test_a_level_with_no_peak_of_its_own_keeps_its_period() -> None:
    # An autocorrelation with one peak at lag 50 (52 BPM) and its octave at 25: a level
    # asked for at lag 18.75 (8/3 of the peak) sits on a slope. The parabola through the
    # window's highest point there is a minimum; its vertex put that level at 110 BPM,
    # next to the song's 104, where the prior preferred it (an MMA bluegrass at 104).
    lags = np.arange(200, dtype=float)
    ac = np.exp(-0.5 * ((lags - 50) / 3) ** 2) + 0.7 * np.exp(-0.5 * ((lags - 25) / 2) ** 2)
    ac -= 0.1 * lags / 200
    where, height, found = tempo._peak(ac, 18.75)
    assert where == 18.75 and height == pytest.approx(ac[18:21].max()) and not found
    assert tempo._refine(ac, 18.75) == 18.75
    # a true peak is still found to a fraction of a frame
    assert tempo._peak(ac, 24.0)[0] == pytest.approx(25.0, abs=0.1)
    assert tempo._refine(ac, 50.5) == pytest.approx(50.0, abs=0.2)


def test_a_level_with_no_peak_is_not_moved_by_a_peak_near_its_double() -> None:
    # No peak at lag 30 (a slope of the peak at 10), a true one at 61: the level's 2× is
    # no reason to move it to 30.5 (a review found the refinement still did).
    lags = np.arange(200, dtype=float)
    ac = np.exp(-0.5 * ((lags - 61) / 3) ** 2) + 0.3 * np.exp(-0.5 * ((lags - 10) / 8) ** 2)
    assert not tempo._peak(ac, 30.0)[2]
    assert tempo._refine(ac, 30.0) == 30.0


def test_a_peak_inside_the_window_is_found_below_a_neighbours_slope() -> None:
    # A small peak at 19.5 within ±4 % of 20.5, and a large one at 25 whose slope rises
    # higher at the window's edge: the level is the small peak, at its own height.
    lags = np.arange(200, dtype=float)
    ac = 0.1 * np.exp(-0.5 * ((lags - 19.5) / 0.7) ** 2) + np.exp(-0.5 * ((lags - 25) / 1.5) ** 2)
    where, height, found = tempo._peak(ac, 20.5)
    assert found and where == pytest.approx(19.5, abs=0.15)
    assert height == pytest.approx(ac[19:21].max()) and height < ac[22]


def test_a_candidate_off_the_beat_does_not_read_steady_on_the_whole_period_clock() -> None:
    # The level features track each candidate on the song's own frames, as they were
    # chosen (analysis.track_beats(whole=False)). On the beat grid's whole-period clock a
    # candidate 7 % off this half-time groove's felt 70 BPM slid evenly over its beats,
    # looked steady, and won: 74.9, neither the tempo nor an octave of it.
    example = rhythms.groove("halftime", 140.0, 60.0, seed=1)
    read = tempo.read_tempo(analysis.spectrogram(analysis.to_mono(example.audio, example.sr)))
    assert any(off_by(read.bpm, example.bpm, r) for r in (1.0, 0.5)), read


def changing(
    tempi: tuple[float, ...], seconds: float = 30.0, category: str = "straight", seed: int = 2
):
    """Grooves of the held-out generator at each of ``tempi`` in turn, ``seconds`` each (cut
    where the next performance begins): (audio, true beat times)."""
    parts = [
        rhythms_heldout.groove(category, bpm, seconds, seed=seed + k) for k, bpm in enumerate(tempi)
    ]
    audio = np.concatenate([p.audio for p in parts], axis=1)
    beats = np.concatenate([k * seconds + p.beat_times for k, p in enumerate(parts)])
    return audio, beats


def sections_of(audio: np.ndarray) -> list[tempo.TempoSection]:
    mag = analysis.spectrogram(analysis.to_mono(audio, rhythms.SR))
    return tempo.tempo_sections(mag, tempo.read_tempo(mag))


def section_tempi(found: list[tempo.TempoSection]) -> list[float]:
    return [s.reading.bpm for s in found]


@pytest.mark.parametrize(
    ("category", "tempi"),
    [("straight", (100.0, 120.0)), ("shuffle", (126.0, 104.0)), ("four_on_floor", (124.0, 130.0))],
)
def test_a_tempo_that_changes_is_read_in_sections_each_at_its_own(
    category: str, tempi: tuple[float, float]
) -> None:
    audio, _ = changing(tempi, category=category)
    found = sections_of(audio)
    assert len(found) == 2, section_tempi(found)
    for section, bpm in zip(found, tempi, strict=True):
        assert off_by(section.reading.bpm, bpm, 1.0) or off_by(section.reading.bpm, bpm, 2.0)
    cut = found[1].start / tempo.FPS
    assert abs(cut - 30.0) <= 1.5, cut  # the curve's 12 s windows alone placed it 3 s off
    assert sum(s.main for s in found) == 1


def test_a_tempo_that_moves_and_comes_back_is_three_sections_and_keeps_the_one_held_longest():
    audio, _ = changing((120.0, 150.0, 120.0), seconds=24.0)
    found = sections_of(audio)
    assert [round(b / 10) for b in section_tempi(found)] == [12, 15, 12], section_tempi(found)
    assert off_by(next(s for s in found if s.main).reading.bpm, 120.0, 1.0)


@pytest.mark.parametrize("bpm", [100.0, 145.0, 175.0])
def test_a_song_of_one_tempo_whose_drums_change_is_one_section(bpm: float) -> None:
    """A rock verse, a punk chorus with the snare on every "and", a disco bridge: the
    onsets repeat at other periods section by section, and the tempo holds."""
    example = sections.song(bpm, 60.0, seed=1)
    assert sections_of(example.audio) == []


def test_a_change_shorter_than_a_section_is_no_section() -> None:
    audio, _ = changing((110.0, 125.0, 110.0), seconds=12.0)
    longer = np.concatenate([audio, changing((110.0,), seconds=20.0, seed=9)[0]], axis=1)
    assert sections_of(longer) == []


@pytest.mark.parametrize("tempi", [(120.0, 160.0), (90.0, 135.0)])
def test_a_change_by_a_third_or_a_half_is_not_followed(tempi: tuple[float, float]) -> None:
    """A dotted figure over a steady beat repeats 4:3 or 3:2 from it; laid at such a
    grid, a backing plays a third of a beat off. Such a change is not taken for one."""
    audio, _ = changing(tempi)
    assert sections_of(audio) == []


def test_the_curve_follows_the_tempo_from_window_to_window() -> None:
    audio, _ = changing((100.0, 112.0))
    mag = analysis.spectrogram(analysis.to_mono(audio, rhythms.SR))
    curve = tempo.tempo_curve(tempo.band_envelopes(mag), 100.0)
    seconds = curve.frames / tempo.FPS
    before, after = curve.tempi[seconds < 24], curve.tempi[seconds > 36]
    level = tempo.curve_level(100.0) / 100.0
    assert np.all(np.abs(before / level / 100.0 - 1) <= TOLERANCE), before
    assert np.all(np.abs(after / level / 112.0 - 1) <= TOLERANCE), after


def test_one_tempo_octaves_aside_and_the_nearest_octave() -> None:
    assert tempo.same_tempo(100.0, 201.0) and tempo.same_tempo(100.0, 49.0)
    assert not tempo.same_tempo(100.0, 105.0) and not tempo.same_tempo(100.0, 150.0)
    assert tempo.nearest_octave(199.7, 120.0) == pytest.approx(99.85)
    assert tempo.nearest_octave(60.0, 100.0) == 120.0
    assert [tempo.curve_level(b) for b in (45.0, 90.0, 179.0, 180.0, 240.0)] == [
        90.0,
        90.0,
        179.0,
        90.0,
        120.0,
    ]


@pytest.mark.parametrize(
    ("category", "tempi", "seed"),
    [("straight", (100.0, 120.0), 3), ("straight", (110.0, 92.0), 5), ("waltz", (100.0, 120.0), 5)],
)
def test_a_change_on_a_bar_line_is_cut_within_half_a_beat_of_it(category, tempi, seed) -> None:
    """Looking one way either side of the cut, the products straddling the change counted
    against the earlier tempo and the cut came up to a beat early (a review of stop 50:
    0.48 and 0.56 s early on the last two)."""
    example = rhythms_heldout.tempo_changes(category, tempi, 30.0, seed=seed)
    bar = example.beats_per_bar * 60.0 / tempi[0]
    truth = np.floor(30.0 / bar) * bar
    found = sections_of(example.audio)
    assert len(found) == 2
    cut = float(analysis.frames_to_seconds(found[1].start))
    assert abs(cut - truth) <= 0.5 * 60.0 / min(tempi), (cut, truth)


def test_a_section_of_twenty_seconds_at_the_start_is_followed() -> None:
    example = rhythms_heldout.tempo_changes("straight", (120.0, 150.0, 120.0), 20.0, seed=2)
    assert [round(b / 10) for b in section_tempi(sections_of(example.audio))] == [12, 15, 12]


def test_the_cut_falls_after_the_old_tempos_last_onset_and_by_the_new_ones_first() -> None:
    """The gain summed up to and including a frame: its best frame was the old tempo's
    last click, which the new section then took for its own first beat (a review)."""
    env = np.zeros(3000)
    old = np.arange(100, 1300, 60 * tempo.FPS / 100).round().astype(int)
    new = np.arange(old[-1] + 60 * tempo.FPS / 120, 2900, 60 * tempo.FPS / 120)
    env[old] = 1.0
    env[new.round().astype(int)] = 1.0
    cut = tempo._refine_cut(env, 1250, 100.0, 120.0, 0, len(env))
    assert old[-1] < cut <= round(new[0])
