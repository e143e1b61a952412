"""Measuring a mashup from its layers: beat offset, keys, loudness, silence (engine/measure.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mashup_site.engine import analysis, arrange, measure
from tests import signals
from tests.engine import instruments, rhythms, rhythms_heldout

SR = signals.SR


def mono(audio: np.ndarray) -> np.ndarray:
    return analysis.to_mono(audio, SR)


def test_it_reports_two_different_grooves_on_the_same_grid_as_aligned() -> None:
    clicks = signals.click_track(100, 20, start=0.0)
    offset = measure.layer_offset(mono(clicks), mono(signals.drum_loop(100, 20) * 0.5))
    print(f"clicks against drums on the same grid: {offset.as_text()}")
    assert offset.median_ms is not None and offset.median_ms < 5
    assert offset.within_20ms == 1.0 and offset.aligned


@pytest.mark.parametrize("shift_ms", [-45, 30, 60, 150])
def test_it_measures_a_known_misalignment_without_a_beat_grid(shift_ms: int) -> None:
    drums = signals.drum_loop(100, 20)
    late = (
        signals.shifted(drums, shift_ms / 1000)
        if shift_ms > 0
        else drums[:, -shift_ms * SR // 1000 :]
    )
    offset = measure.layer_offset(mono(drums), mono(late))
    assert offset.median_ms == pytest.approx(abs(shift_ms), abs=3)
    assert np.sign(np.median(offset.offsets_ms)) == np.sign(shift_ms)
    assert not offset.aligned


@pytest.mark.parametrize("bpm", [90, 120, 170])
def test_it_catches_a_backing_a_third_of_a_beat_off(bpm: int) -> None:
    # What a 2:3 tempo reading does to a mashup: the backing's beats land between the
    # lead's. A check built on the engine's own beat grid called this "aligned".
    lead = instruments.song(bpm, 0, "major", 24)["mix"]
    backing = signals.shifted(signals.drum_loop(bpm, 24, seed=3), 60 / bpm / 3)
    offset = measure.layer_offset(mono(lead), mono(backing))
    print(f"{bpm} BPM, a third of a beat off: {offset.as_text()}")
    assert offset.median_ms is not None and offset.median_ms > 40
    assert offset.within_20ms < 0.2 and not offset.aligned


@pytest.mark.parametrize(("lead_gain", "backing_gain"), [(0.01, 1.0), (1.0, 0.01), (0.003, 0.003)])
def test_a_layer_quieter_or_louder_measures_the_same_offset(
    lead_gain: float, backing_gain: float
) -> None:
    # The reference is the lead song as it was given, at its own level; the onset
    # functions' log compression weighed a quiet song's onsets otherwise (stop 54): the
    # lead 40 dB down read a backing 30 ms late as 23 ms.
    lead = mono(instruments.song(120, 0, "major", 24)["mix"])
    backing = mono(signals.shifted(signals.drum_loop(120, 24, seed=3), 0.03))
    as_given = measure.layer_offset(lead, backing)
    offset = measure.layer_offset(lead * lead_gain, backing * backing_gain)
    assert as_given.median_ms == pytest.approx(30, abs=3)
    assert offset.median_ms == pytest.approx(as_given.median_ms, abs=1)
    assert offset.windows == as_given.windows
    assert offset.rhythm == pytest.approx(as_given.rhythm, abs=0.02)


def test_it_leaves_out_windows_where_a_layer_is_silent() -> None:
    drums = signals.drum_loop(100, 30)
    backing = drums.copy()
    backing[:, 10 * SR : 20 * SR] = 0  # a break
    offset = measure.layer_offset(mono(drums), mono(backing))
    assert offset.median_ms == pytest.approx(0, abs=3)
    assert offset.windows < measure.layer_offset(mono(drums), mono(drums)).windows


def test_it_cannot_measure_layers_without_onsets() -> None:
    offset = measure.layer_offset(mono(signals.pad(20)), mono(signals.pad(20)))
    assert offset.median_ms is None and offset.windows == 0
    assert "not measurable" in offset.as_text()


def test_it_finds_the_longest_silence_inside_the_mix_not_in_the_fades() -> None:
    mix = signals.song(120, 0, "major", 20)["mix"]
    mix[:, 8 * SR : 11 * SR] = 0
    assert measure.longest_silence(mix, SR) == pytest.approx(3.0, abs=0.1)


def test_it_reports_keys_as_camelot_codes_and_their_distance() -> None:
    c_major = signals.chord_progression(0, "major", 100, 12)
    a_minor = signals.chord_progression(9, "minor", 100, 12)
    report = measure.measure_layers({"reference": c_major, "backing": a_minor}, SR)
    assert report.keys == ("8B", "8A")
    assert report.camelot_distance == 1
    assert "Camelot distance 1" in report.as_text()


def test_it_measures_a_minor_song_over_its_relative_major_as_compatible() -> None:
    # The benchmark's pair: a song in C minor; a backing in E major shifted down to Eb major.
    c_minor = instruments.song(100, 0, "minor", 12)["mix"]
    e_major = instruments.song(100, 4, "major", 14)["backing"]
    eb_major = arrange.pitch_resample(e_major, -1)[0][:, : c_minor.shape[1]]
    report = measure.measure_layers({"reference": c_minor, "backing": eb_major}, SR)
    assert report.keys == ("5A", "5B")
    assert report.camelot_distance == 1


def test_it_measures_a_minor_song_over_its_parallel_major_as_a_clash() -> None:
    c_minor = instruments.song(100, 0, "minor", 12)["mix"]
    c_major = instruments.song(100, 0, "major", 12)["backing"]
    report = measure.measure_layers({"reference": c_minor, "backing": c_major}, SR)
    assert report.keys == ("5A", "8B")
    assert report.camelot_distance == 4
    assert not report.passes()


def test_a_layer_with_no_key_heard_has_no_key_or_tuning_to_compare() -> None:
    # A drum loop's key reading is chance: the engine moved nothing for it, and the report
    # does not call the mashup a clash (or sour) by it.
    c_major = signals.chord_progression(0, "major", 100, 12)
    drums = signals.drum_loop(100, 12)
    report = measure.measure_layers({"reference": c_major, "backing": drums}, SR)
    assert report.keys == ("8B", None)
    assert report.camelot_distance is None and report.tuning_cents is None
    assert "keys 8B/no key heard (not compared)" in report.as_text()
    # every other figure good: it passes (keys that cannot be compared fail nothing)
    aligned = measure.LayerOffset(median_ms=4.0, within_20ms=1.0, windows=10, rhythm=0.9)
    assert replace(report, offset=aligned, lufs=-14.0, true_peak_db=-1.5).passes()


def test_it_measures_how_far_apart_the_layers_are_tuned() -> None:
    # A C-major band at A=432 Hz over the same band at A=440: a perfect key match, 32
    # cents sour.
    a432 = 12 * np.log2(432 / 440)
    lead = instruments.song(100, 0, "major", 12, tuning=a432)["mix"]
    backing = instruments.song(100, 0, "major", 12)["backing"]
    report = measure.measure_layers({"reference": lead, "backing": backing}, SR)
    assert report.camelot_distance == 0
    assert report.tuning_cents == pytest.approx(31.8, abs=1)
    assert "tunings 32 cents apart" in report.as_text()
    assert not report.passes()
    tuned = instruments.song(100, 0, "major", 12, tuning=a432)["backing"]
    report = measure.measure_layers({"reference": lead, "backing": tuned}, SR)
    assert abs(report.tuning_cents) < 1


@pytest.mark.parametrize(
    ("backing_bpm", "agree"), [(120, True), (60, True), (160, False), (180, False)]
)
def test_it_hears_layers_whose_beats_run_at_an_unmusical_rate(backing_bpm, agree) -> None:
    # 4:3 and 3:2 meet on a slower shared pulse, so their offset can read small: the
    # rhythm match (the layers' beat spectra) tells them from 1:1 and 1:2.
    lead = rhythms.groove("straight", 120, 30, seed=3).audio
    backing = rhythms.groove("straight", backing_bpm, 30, seed=4).audio
    offset = measure.layer_offset(mono(lead), mono(backing))
    print(f"120 against {backing_bpm}: {offset.as_text()} rhythm {offset.rhythm}")
    assert offset.rhythms_agree is agree
    if not agree:
        assert not offset.aligned and "different rates" in offset.as_text()


def test_a_figure_from_too_few_windows_says_it_is_too_few_to_be_sure() -> None:
    # A guitar-led "vocal" layer met the lead's onsets in 2 windows of a whole mashup; the
    # page said "100% of 2 windows within 20 ms", surer than two windows are.
    assert measure.LayerOffset(4.0, 1.0, 1).as_text() == (
        "layers 4 ms apart, measured on only 1 stretch of 6 s where both have onsets: "
        "too few to be sure"
    )
    few = measure.LayerOffset(4.0, 1.0, measure.FEW_WINDOWS - 1).as_text()
    assert "only 3 stretches" in few and "%" not in few
    enough = measure.LayerOffset(4.0, 0.75, measure.FEW_WINDOWS).as_text()
    assert enough == "layers 4 ms apart (75% of 4 windows within 20 ms)"


def test_a_swung_layer_over_a_straight_one_is_not_judged_by_its_onsets() -> None:
    # Swung eighths fall a sixth of a beat from straight ones: laid right, a shuffle over
    # rock measured 80 ms apart, and laid a third of a beat off, 4 ms (benchmarks/
    # engine_accuracy.py, sequenced pairs, by the MIDI files' beats). A person is not
    # shown the figure (it stays in the summary's data); the matcher's warning says the
    # feels differ.
    offset = measure.LayerOffset(80.0, 0.0, 20, feels_differ=True)
    assert offset.aligned
    assert offset.as_dict()["median_ms"] == 80.0
    assert offset.as_text() == (
        "layer offset not judged: the onsets cannot tell where a swung or 6/8 song sits "
        "over a straight one"
    )


@pytest.mark.xfail(
    strict=True,
    reason="known blind spot (issue 8, stop 10): half a beat at these tempi lies past the "
    "±0.2 s looked within, where the neighbouring eighth wins; looking as far as half a beat "
    "catches these but called two sectoid layings the charts put within 13 and 6 ms 152 and "
    "93 ms apart (stop 28)",
)
@pytest.mark.parametrize("bpm", [100.0, 120.0, 140.0])
def test_it_catches_a_backing_half_a_beat_off(bpm: float) -> None:
    # The tempo is right but the backing's grid sits on its off-beats, which the beat
    # tracker does on real songs whose hats and guitars play the "and"s. Its kicks then
    # land on the lead's "and"s; the onsets' cross-correlation calls it 1 ms apart.
    lead, other = (rhythms.groove("straight", bpm, 40.0, seed=k) for k in (3, 4))
    late = (60 / bpm / 2 + lead.beat_times[0] - other.beat_times[0]) % (60 / bpm)
    backing = signals.shifted(other.audio, late)
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"rock {bpm:g} BPM, half a beat off: {offset.as_text()}")
    assert not offset.aligned


@pytest.mark.xfail(
    strict=True,
    reason="known blind spot (issue 8, stop 35): a backing whose off-beats are as loud as its "
    "beats or louder, laid right at 2:1, meets the lead's notes as well or better half its "
    "beat over (a sixteenth of the lead's); onsets alone cannot tell it from a backing laid "
    "so. Two of the four sectoid layings (Feelings and Metal madness, 2 and 10 ms apart by "
    "the charts; Metal madness's onsets as strong on its off-beats as on its beats) measure "
    "155 and 187 ms apart (benchmarks/engine_accuracy.py --only real --pairs)",
)
@pytest.mark.parametrize(("lead_bpm", "category"), [(95.0, "straight"), (100.0, "four_on_floor")])
def test_a_backing_accented_on_its_off_beats_laid_right_at_two_to_one_is_aligned(
    lead_bpm: float, category: str
) -> None:
    # At 1:1 its off-beats fall on the lead's "and"s, where the lead's hats play, and it
    # measures 5-8 ms. At 2:1 they fall on the lead's sixteenths, and the lead's notes are
    # met by them a sixteenth over rather than by its quiet kicks on the beat.
    lead = rhythms.groove(category, lead_bpm, 40.0, seed=3)
    backing = signals.shifted(
        signals.offbeat_loop(2 * lead_bpm, 40.0), lead.beat_times[0] % (60 / lead_bpm)
    )
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"a skank at {2 * lead_bpm:g} over {category} at {lead_bpm:g}: {offset.as_text()}")
    assert offset.aligned


def _laid_on(lead: rhythms.Example, other: rhythms.Example, beats_late: float) -> np.ndarray:
    """``other`` moved so that its downbeats fall ``beats_late`` beats after ``lead``'s."""
    late = (lead.downbeat_times[0] - other.downbeat_times[0]) % (60 / lead.bpm * 4)
    return signals.shifted(other.audio, late + beats_late * 60 / lead.bpm)


def test_a_lead_whose_notes_run_in_even_sixteenths_is_not_judged_rather_than_called_apart() -> None:
    # No drums, an arpeggio on every sixteenth: its onsets line up with a rock backing as
    # well a sixteenth over as on the beat. Laid right, it measured 137 ms apart, and the
    # mashup was laid again and said to be out of step.
    lead = rhythms.groove("no_drums", 110, 40.0, seed=0)
    backing = _laid_on(lead, rhythms.groove("straight", 110, 40.0, seed=5), 0.0)
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"sixteenths without drums over rock, laid right: {offset.as_text()}")
    assert offset.repeats and offset.aligned
    assert offset.as_text() == (
        "layer offset not judged: a song's notes run so evenly that the onsets line up as "
        "well a note over as on the beat"
    )


@pytest.mark.parametrize("beats_late", [1 / 3, 1 / 2])
def test_eighths_that_repeat_do_not_hide_a_backing_laid_off_the_beat(beats_late: float) -> None:
    # Metal's double kick plays every eighth, so its onsets repeat every half beat; their
    # accents still tell where the beat is, and the offset is measured, not waved through.
    lead = rhythms.groove("metal", 180, 40.0, seed=0)
    backing = _laid_on(lead, rhythms.groove("straight", 180, 40.0, seed=5), beats_late)
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"rock {beats_late:.2f} of a beat late over metal: {offset.as_text()}")
    assert not offset.repeats and not offset.aligned
    assert offset.median_ms == pytest.approx(beats_late * 60000 / 180, abs=10)


def test_a_swung_layer_whose_notes_repeat_is_said_to_differ_in_feel() -> None:
    offset = measure.LayerOffset(None, 0.0, 0, repeats=True, feels_differ=True)
    assert offset.aligned and "swung or 6/8" in offset.as_text()


def _under_a_change(second: float, backing_category: str, *, follows: bool) -> tuple:
    """A lead at 100 BPM that changes to ``second`` on a bar line at about 0:30, and a
    backing laid on its downbeats that keeps 100 BPM (or, ``follows``, changes with it)."""
    lead = rhythms_heldout.tempo_changes("straight", (100.0, second), 30.0, seed=0)
    if follows:
        other = rhythms_heldout.tempo_changes(backing_category, (100.0, second), 30.0, seed=5)
    else:
        other = rhythms.groove(backing_category, 100.0, 70.0, seed=5)
    backing = _laid_on(lead, other, 0.0)[:, : lead.audio.shape[1]]
    return lead, backing


@pytest.mark.parametrize("second", [96.0, 104.0, 120.0])
def test_a_backing_that_keeps_its_tempo_under_a_lead_that_changes_is_apart_from_the_change(
    second: float,
) -> None:
    # Pooled over the whole mashup, the first half's windows (together) outvoted the
    # second's, whose onsets meet only by chance, at lags near 0 or anywhere: the check
    # said "layers 8 ms apart (67% of 18 windows within 20 ms)" and the mashup was
    # written without a word while half of it galloped.
    lead, backing = _under_a_change(second, "four_on_floor", follows=False)
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"100 → {second:g} over a steady 100: {offset.as_text()}")
    assert not offset.aligned and offset.mostly_together  # the first half is together
    assert len(offset.apart) == 1
    start, end = offset.apart[0]
    # The change is on the bar line at 0:28.8; the windows step 3 s and last 6 s.
    assert 22.0 <= start <= 34.0 and end >= lead.duration - 8.0
    assert "run at different speeds from 0:" in offset.as_text()


def test_a_change_early_in_the_mashup_is_named_and_the_rest_judged_on_its_own() -> None:
    # Pooled with the stretch apart, the first 19 s measured 41 % of windows within 20 ms
    # and a rhythm match of 0.48: "at different rates", with no word of where.
    lead = rhythms_heldout.tempo_changes("straight", (100.0, 104.0, 104.0), 20.0, seed=0)
    other = rhythms.groove("four_on_floor", 100.0, 70.0, seed=5)
    backing = _laid_on(lead, other, 0.0)[:, : lead.audio.shape[1]]
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"100 → 104 at 0:19 over a steady 100: {offset.as_text()}")
    assert offset.mostly_together and not offset.aligned
    assert len(offset.apart) == 1 and 12.0 <= offset.apart[0][0] <= 22.0
    assert offset.apart[0][1] == pytest.approx(lead.duration, abs=0.1)  # to the very end
    assert offset.within_20ms == 1.0 and "but their beats run at different speeds" in (
        offset.as_text()
    )


def test_windows_not_measured_neither_end_a_stretch_apart_nor_count_in_it() -> None:
    apart, together, unmeasured = False, True, None
    statuses = [together, apart, unmeasured, apart, apart, unmeasured, apart, together]
    seen = [(300 * k, 300 * k + 600, status) for k, status in enumerate(statuses)]
    assert measure._runs_apart(seen) == [(300, 1800, 2400)]
    three = [together, apart, apart, unmeasured, apart, together]
    assert measure._runs_apart([(300 * k, 300 * k + 600, x) for k, x in enumerate(three)]) == []


@pytest.mark.parametrize("second", [96.0, 120.0])
def test_a_backing_that_changes_tempo_with_the_lead_keeps_together(second: float) -> None:
    lead, backing = _under_a_change(second, "four_on_floor", follows=True)
    offset = measure.layer_offset(mono(lead.audio), mono(backing))
    print(f"100 → {second:g} over the same change: {offset.as_text()}")
    assert offset.apart == () and offset.aligned


def test_stretches_apart_are_named_in_the_mashups_time() -> None:
    offset = measure.LayerOffset(6.0, 0.7, 30, rhythm=0.8, apart=((31.5, 58.0), (95.0, 125.0)))
    assert not offset.aligned
    assert offset.as_text() == (
        "layers 6 ms apart (70% of 30 windows within 20 ms), but their beats run at "
        "different speeds from 0:31 to 0:58 and 1:35 to 2:05"
    )
