"""The key and how sure of it the engine is, on pieces whose key the tests wrote
(engine/key.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import numpy as np
import pytest

from mashup_site.engine import analysis, key, matching, pipeline
from tests import signals
from tests.engine import instruments

SR = signals.SR


def read(audio: np.ndarray) -> key.KeyReading:
    return key.read(analysis.to_mono(audio, SR))


@pytest.mark.parametrize(
    ("tonic", "mode"), [(0, "minor"), (9, "minor"), (4, "major"), (10, "major")]
)
def test_a_clear_progression_is_read_right_and_sure(tonic: int, mode: str) -> None:
    found = read(instruments.band(tonic, mode, 110, 12))
    assert (found.tonic, found.mode) == (tonic, mode)
    assert found.confidence >= key.UNCERTAIN


def test_the_bass_tells_a_minor_key_from_its_relative_major() -> None:
    # A minor's i–iv–v–i and C major share every note but the G#-less v; with the bass on
    # A, D and E the tonic is A.
    found = read(instruments.band(9, "minor", 110, 12, bass_octave=1))
    assert (found.tonic, found.mode) == (9, "minor")


def test_an_open_fifth_has_no_mode_and_the_reading_says_it_is_unsure() -> None:
    t = np.arange(12 * SR) / SR
    tone = sum(np.sin(2 * np.pi * f * t) for f in (130.81, 196.0, 261.63)) * 0.2
    found = read(np.stack([tone, tone]).astype(np.float32))
    assert found.tonic == 0
    assert found.confidence < key.UNCERTAIN


def test_a_song_in_two_keys_is_less_sure_than_either_half() -> None:
    first, second = instruments.band(0, "major", 110, 12), instruments.band(6, "major", 110, 12)
    both = read(np.concatenate([first, second], axis=1))
    assert both.confidence < min(read(first).confidence, read(second).confidence) - 0.2


def test_the_analysis_carries_the_confidence_and_every_keys_score() -> None:
    found = analysis.analyse(instruments.song(110, 2, "major", 12)["mix"], SR)
    assert found.key_name == "D major"
    assert len(found.key_scores) == 24
    assert found.key_confidence >= key.UNCERTAIN


def test_a_band_tuned_a_third_of_a_semitone_flat_still_reads_its_key() -> None:
    found = read(instruments.band(7, "major", 110, 12, tuning=-0.318))
    assert (found.tonic, found.mode) == (7, "major")
    assert found.tuning == pytest.approx(-0.318, abs=0.03)


def test_the_summary_says_when_the_key_is_uncertain() -> None:
    def song(confidence: float) -> analysis.Analysis:
        return analysis.Analysis(
            duration=60.0,
            tempo=120.0,
            beats=np.zeros(0),
            downbeats=np.zeros(0),
            tonic=0,
            mode="major",
            lufs=-14.0,
            beat_confidence=1.0,
            key_confidence=confidence,
        )

    assert pipeline.key_doubt_words(song(0.2)) == ", key uncertain"
    assert pipeline.key_doubt_words(song(0.9)) == ""


def test_an_unsure_key_names_the_next_keys_it_may_be_that_are_not_already_close() -> None:
    # Not planned for (matching), but named: a person who knows the song may recognise
    # one and give it on the remake form.
    scores = {(0, "minor"): 0.712, (0, "major"): 0.643, (5, "major"): 0.529, (10, "major"): 0.3}
    sure = replace(
        analysis.Analysis(60.0, 120.0, np.zeros(0), np.zeros(0), 0, "minor", -14.0, 1.0),
        key_scores=scores,
    )
    assert "C minor (5A)," in page_of(sure)
    unsure = replace(sure, key_confidence=0.2)
    assert "C minor (5A; it may also be C major 8B or F major 7B), key uncertain" in page_of(unsure)
    tied = replace(unsure, key_scores={**scores, (0, "major"): 0.70})  # within the margin
    assert "(5A; close: C major 8B; it may also be F major 7B or Bb major 6B)" in page_of(tied)
    assert "may also be" not in page_of(replace(unsure, key_scores={}))
    # scores too weak to weigh (a drum loop fits no key) name nothing either
    weak = replace(unsure, key_scores={key: r / 20 for key, r in scores.items()})
    assert "C minor (5A), key uncertain" in page_of(weak)


# The mode from the tonic chord's third (issue 13): borrowed chords (iv, bVI in a major
# key) lend the profiles the minor key's notes; the tonic chord still has its major third.


def chord_loop(
    chords: list[tuple[int, int]], tonic: int = 60, *, chord: float = 0.15, bass: float = 0.3
) -> np.ndarray:
    """(root above the tonic, third: 3 or 4) triads over their root two octaves down,
    1.5 s each, four times round; bright tones (six partials at 1/k), fading; ``chord``
    and ``bass``: each chord tone's amplitude and the bass note's."""
    t = np.arange(int(1.5 * SR)) / SR

    def note(midi: int) -> np.ndarray:
        f = 440 * 2 ** ((midi - 69) / 12)
        return sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 7)) * np.exp(-t / 1.5)

    bars = [
        chord * sum(note(tonic + root + i) for i in (0, third, 7)) + bass * note(tonic + root - 24)
        for root, third in chords
    ]
    mono = np.concatenate(bars * 4).astype(np.float32)
    return np.stack([mono, mono])


def test_the_tonic_chords_third_names_the_mode() -> None:
    for third, mode in ((4, "major"), (3, "minor")):
        mono = analysis.to_mono(chord_loop([(0, third)]), SR)
        upper, bass, *_ = key.chromas(mono)
        ratio = key.tonic_third(upper, bass, 0)
        assert ratio >= key.THIRD_CLEAR if mode == "major" else ratio <= 1 / key.THIRD_CLEAR


def test_silent_frames_are_not_the_tonic_chord_of_a_song_in_c() -> None:
    # A silent frame's bass is all zeros, whose argmax is 0: C. Where no frame that sounds
    # has its bass on the tonic, the third is read over every frame, for C as for D.
    for tonic in (0, 2):
        upper = np.zeros((12, 4))
        bass = np.zeros((12, 4))
        upper[(tonic + 4) % 12, :2] = 1.0  # the major third sounds...
        bass[(tonic + 7) % 12, :2] = 1.0  # ...over the fifth; two frames of silence
        assert key.tonic_third(upper, bass, tonic) >= key.THIRD_CLEAR, tonic


def test_a_major_key_with_borrowed_minor_chords_is_read_major_by_its_chords() -> None:
    # C – Fm – Ab – C: the profiles alone read C minor (Ab and Eb outweigh E); the tonic
    # chord's major third reads it C major.
    mono = analysis.to_mono(chord_loop([(0, 4), (5, 3), (8, 4), (0, 4)]), SR)
    upper, bass, *_ = key.chromas(mono)
    assert key.best_key(key.scores_of(upper.sum(axis=1), bass.sum(axis=1))) == (0, "minor")
    found = key.read(mono)
    assert found.by_chords == (0, "major")
    assert key.best_key(found.scores) == (0, "major")  # the scores are the chords' reading
    # not a tie broken: the bass is at home on C
    assert not key.notes_break_tie(found.scores, (0, "major"), (5, "minor"), bass)
    # Its notes are F minor's (the C major chord its dominant), nearly tied with C major
    # in the scores, and the reading hardly leads: the notes name the key, which is
    # uncertain, and both are planned for (``notes_overrule``; the bass at home on C held
    # C major until December 2026, and does so still for a surer reading).
    assert (found.tonic, found.mode) == (5, "minor") and found.confidence == 0.0


def test_a_surer_reading_with_the_bass_at_home_keeps_its_name_in_a_near_tie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # C – Fm – Ab – C read with more confidence than NOTES_OVERRULE: the tie-break's
    # guard holds, and the chords name the key.
    monkeypatch.setattr(key, "confidence_of", lambda *args, **kwargs: key.NOTES_OVERRULE + 0.1)
    found = read(chord_loop([(0, 4), (5, 3), (8, 4), (0, 4)]))
    assert ((found.tonic, found.mode), found.by_chords) == ((0, "major"), None)


def test_a_minor_key_keeps_its_mode() -> None:
    found = read(chord_loop([(0, 3), (5, 3), (7, 3), (0, 3)]))
    assert (found.tonic, found.mode) == (0, "minor")


def test_a_bass_partial_is_no_third_the_notes_heard_must_hear_it_too() -> None:
    # C minor (i VII VI v) over a loud bass, the tonic chord's third played softly: the
    # bass's fifth partial is E, a major third two octaves up, in the chord's register.
    t = np.arange(int(1.5 * SR)) / SR

    def note(midi: int, level: float) -> np.ndarray:  # partials as the templates have them
        f = 440 * 2 ** ((midi - 69) / 12)
        partials = sum(0.6 ** (k - 1) * np.sin(2 * np.pi * k * f * t) for k in range(1, 9))
        return level * partials * np.exp(-t / 1.5)

    bars = [
        note(60 + root, 0.1)
        + note(67 + root, 0.1)
        + note(60 + root + third, 0.02 if root == 0 else 0.1)
        + note(36 + root, 0.7)
        for root, third in ((0, 3), (10, 4), (8, 4), (7, 3))
    ]
    loop = np.concatenate(bars * 4).astype(np.float32)
    mono = analysis.to_mono(np.stack([loop, loop]), SR)
    upper, bass, *_ = key.chromas(mono)
    # The semitones' tonic chord has a clear major third; the notes heard have none.
    assert key.tonic_third(upper, bass, 0) >= key.THIRD_CLEAR
    found = key.read(mono)
    assert (found.tonic, found.mode) == (0, "minor")


@pytest.mark.parametrize(
    ("hearings", "agreed"),
    [
        ((2.0, 1.6), 1.6),
        ((3.0, 4.0), 3.0),
        ((0.5, 0.2), 0.5),
        ((2.0, 0.5), 1.0),
        ((0.4, 1.8), 1.0),
        ((2.0, 1.6, 3.0), 1.6),
        ((0.5, 0.2, 0.8), 0.8),
        ((2.0, 1.6, 0.5), 1.0),
        ((1.0, 2.0), 1.0),
    ],
)
def test_the_third_counts_as_the_mildest_hearing_and_not_at_all_when_they_disagree(
    hearings: tuple[float, ...], agreed: float
) -> None:
    assert key.agreed_third(*hearings) == pytest.approx(agreed)


def test_an_overdriven_power_chords_partials_are_no_third() -> None:
    # E minor (i VII VI v) as a metal band plays it: power chords (root, fifth, octave) on
    # an overdriven guitar, whose 5th partial (the major third two octaves up) is louder
    # than its fundamental, and the tonic chord's minor third sung softly above.
    t = np.arange(int(2.0 * SR)) / SR
    overdriven = (1.0, 2.0, 1.75, 3.5, 2.2, 3.2, 3.0, 4.8, 2.9, 1.0)  # GM's, measured

    def note(midi: int, level: float, partials: tuple[float, ...]) -> np.ndarray:
        f = 440 * 2 ** ((midi - 69) / 12)
        tone = sum(a * np.sin(2 * np.pi * k * f * t) for k, a in enumerate(partials, 1))
        return level * tone * np.exp(-t / 3)

    bars = [
        sum(note(40 + root + i, 0.05, overdriven) for i in (0, 7, 12))
        + note(64 + root + third, 0.02, (1.0, 0.3, 0.1))
        for root, third in ((0, 3), (10, 4), (8, 4), (7, 3))
    ]
    loop = np.concatenate(bars * 4).astype(np.float32)
    mono = analysis.to_mono(np.stack([loop, loop]), SR)
    notes, _ = key.note_spectra(mono)
    upper, bass, *_ = key.chromas(mono)
    # The semitones and the notes heard as the templates model partials hear a major third.
    assert key.tonic_third(upper, bass, 4) >= key.THIRD_CLEAR
    assert key._third_heard(key.notes_heard(notes), 4) >= key.THIRD_CLEAR
    found = key.read(mono)
    assert (found.tonic, found.mode) == (4, "minor")


# The key of the notes heard (issue 13): the notes transcribed, partials taken off, read by
# their pitch classes alone, as a key is read from a score. Where it is another key than
# the reading and not its relative, the key is called uncertain and the matcher plans for
# both.


def bright(midi: int, seconds: float = 6.0) -> np.ndarray:
    """One steady note with six partials at 1/k, at the analysis rate."""
    t = np.arange(int(seconds * SR)) / SR
    f = 440 * 2 ** ((midi - 69) / 12)
    tone = 0.1 * sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 7))
    return analysis.to_mono(np.stack([tone, tone]).astype(np.float32), SR)


def test_the_notes_heard_are_the_notes_played_not_their_partials() -> None:
    notes, _ = key.note_spectra(bright(57))  # A3: partials on A4, E5, A5, C#6, E6
    heard = key.notes_heard(notes).sum(axis=1)
    a3, e5 = 57 - key.KEY_NOTES[0], 76 - key.KEY_NOTES[0]
    assert heard.argmax() == a3
    assert notes.sum(axis=1)[e5] > 0.2 * notes.sum(axis=1)[a3]  # the spectrum has it...
    assert heard[e5] < 0.05 * heard[a3]  # ...the notes heard do not


@pytest.mark.parametrize(
    ("chords", "tonic", "expected"),
    [
        ([(0, 4), (5, 4), (7, 4), (0, 4)], 65, (5, "major")),  # F: I IV V I
        ([(0, 3), (5, 3), (7, 4), (0, 3)], 57, (9, "minor")),  # A minor: i iv V i
    ],
)
def test_the_key_of_the_notes_is_the_key_of_their_pitch_classes(
    chords: list[tuple[int, int]], tonic: int, expected: tuple[int, str]
) -> None:
    notes, _ = key.note_spectra(analysis.to_mono(chord_loop(chords, tonic), SR))
    assert key.key_of_notes(notes) == expected


@pytest.mark.parametrize("what", ["silence", "white noise", "a drum loop"])
def test_no_notes_in_a_key_name_no_key(what: str) -> None:
    # No notes stand out of silence or noise; a drum loop's drums ring at pitches of no
    # key. Their pitch classes still correlate with some key's profile (noise up to 0.8):
    # that is no key to doubt a reading with.
    rng = np.random.default_rng(0)
    mono = {
        "silence": np.zeros(30 * SR, dtype=np.float32),
        "white noise": (0.1 * rng.standard_normal(30 * SR)).astype(np.float32),
        "a drum loop": analysis.to_mono(signals.drum_loop(120, 30, SR, seed=1), SR),
    }[what]
    notes, _ = key.note_spectra(mono)
    assert key.key_of_notes(notes) is None
    assert key.read(mono).by_notes is None


def test_a_clear_key_is_the_key_of_its_notes_too() -> None:
    found = read(instruments.band(4, "major", 110, 12))
    assert found.by_notes == (found.tonic, found.mode) == (4, "major")
    assert found.confidence >= key.UNCERTAIN


def test_a_reading_its_notes_disagree_with_is_called_uncertain_and_planned_for_both() -> None:
    # C – Ab – Bb – C: the tonic chord is major (the reading: C major), but the borrowed
    # chords' notes (Ab, Eb, Bb) are C minor's.
    song = analysis.analyse(chord_loop([(0, 4), (8, 4), (10, 4), (0, 4)]), SR)
    assert (song.tonic, song.mode) == (0, "major")
    assert song.key_by_notes == (0, "minor") and song.key_doubted
    assert {(0, "major"), (0, "minor")} <= set(matching.readings(song))
    # the doubt is said, and leaves the reading's own confidence alone
    assert song.key_confidence >= key.UNCERTAIN
    assert pipeline.key_uncertain(song)
    assert pipeline.key_doubt_words(song) == ", key uncertain"
    assert pipeline.key_doubt_words(replace(song, key_by_notes=(0, "major"))) == ""
    assert "C major (8B; close: C minor 5A by its notes" in page_of(song)


def page_of(song: analysis.Analysis) -> str:
    """The analysis a person reads for ``song`` alone."""
    loop = pipeline.Song("Loop", np.zeros((2, 1)), song, cast(Any, None), None, 0.0, np.zeros(1))
    return pipeline.describe([loop], [], pipeline.MashupParams())


def test_only_notes_in_another_key_than_the_relative_put_a_reading_in_doubt() -> None:
    # A minor and C major have the same notes: their pitch classes cannot tell them apart.
    assert not key.notes_doubt(9, "minor", (0, "major"))
    assert not key.notes_doubt(0, "major", (9, "minor"))
    assert not key.notes_doubt(0, "major", (0, "major"))
    assert key.notes_doubt(0, "major", (5, "major"))
    assert key.notes_doubt(0, "major", (0, "minor"))


def test_the_notes_key_is_named_only_when_it_doubts_the_reading() -> None:
    # A minor within the margin of C major is a close reading of its own; the notes saying
    # A minor put nothing in doubt, so they are not named.
    song = replace(
        analysis.Analysis(60.0, 120.0, np.zeros(0), np.zeros(0), 0, "major", -14.0, 1.0),
        key_scores={(0, "major"): 0.9, (9, "minor"): 0.88},
        key_by_notes=(9, "minor"),
    )
    page = page_of(song)
    assert "C major (8B; close: A minor 8A)" in page and "by its notes" not in page


def bass_on(*dwell: tuple[int, int]) -> np.ndarray:
    """A bass chroma (12, frames) whose lowest note is each pitch class for so many frames."""
    frames = [pc for pc, n in dwell for _ in range(n)]
    bass = np.full((12, len(frames)), 0.1)
    bass[frames, np.arange(len(frames))] = 1.0
    return bass


NEAR = {(0, "major"): 0.80, (7, "major"): 0.80 - 0.9 * key.NEAR_TIE, (9, "minor"): 0.6}


def test_the_notes_break_a_near_tie_when_the_bass_sits_on_their_tonic_as_long() -> None:
    assert key.notes_break_tie(NEAR, (0, "major"), (7, "major"), bass_on((7, 30), (0, 30)))
    assert key.notes_break_tie(NEAR, (0, "major"), (7, "major"), bass_on((7, 40), (0, 20)))


def test_the_notes_do_not_break_the_tie_of_a_clear_lead_or_a_bass_at_home() -> None:
    far = {**NEAR, (7, "major"): 0.80 - 1.1 * key.NEAR_TIE}
    assert not key.notes_break_tie(far, (0, "major"), (7, "major"), bass_on((7, 40), (0, 20)))
    # C - Fm - Ab - C: the notes of F minor, the bass at home on C (a reading that hardly
    # leads gives way all the same: ``notes_overrule``)
    assert not key.notes_break_tie(NEAR, (0, "major"), (7, "major"), bass_on((0, 40), (7, 20)))
    assert not key.notes_break_tie(NEAR, (0, "major"), (0, "major"), bass_on((0, 40)))


def test_a_key_the_notes_chose_is_called_uncertain_and_both_are_planned_for() -> None:
    song = replace(
        analysis.Analysis(60.0, 120.0, np.zeros(0), np.zeros(0), 7, "major", -14.0, 1.0),
        key_scores=NEAR,
        key_by_notes=(7, "major"),
        key_by_chords=(0, "major"),
    )
    assert song.key_doubted and pipeline.key_uncertain(song)
    assert {(0, "major"), (7, "major")} <= set(matching.readings(song))
    page = page_of(song)
    assert "G major (9B, by its notes; close: C major 8B by its chords" in page
    assert pipeline.key_doubt_words(song) == ", key uncertain"


def test_the_chords_key_is_planned_for_even_when_the_scores_are_unknown() -> None:
    song = replace(
        analysis.Analysis(60.0, 120.0, np.zeros(0), np.zeros(0), 7, "major", -14.0, 1.0),
        key_scores={},
        key_by_notes=(7, "major"),
        key_by_chords=(0, "major"),
    )
    assert set(matching.readings(song)) == {(7, "major"), (0, "major")}


def test_i_vi_ii_v_is_read_in_its_home_key_the_notes_breaking_the_chords_near_tie() -> None:
    # C – Am – Dm – G: by chords and bass G major comes out just ahead (the loop ends on
    # its dominant); its notes (no F#, an F) are C major's, and the bass is on C as long.
    found = read(chord_loop([(0, 4), (9, 3), (2, 3), (7, 4)]))
    assert (found.tonic, found.mode) == (0, "major")
    assert found.by_chords == (7, "major") and found.by_notes == (0, "major")


def test_a_key_the_notes_chose_has_no_confidence_from_scores_that_put_another_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The confidence measures the top score's lead and the windows reading the top key:
    # both belong to the chords' key once the notes have broken the tie, however sure.
    monkeypatch.setattr(key, "confidence_of", lambda *args, **kwargs: 0.9)
    found = read(chord_loop([(0, 4), (9, 3), (2, 3), (7, 4)]))
    assert found.by_chords is not None and found.confidence == 0.0


def test_the_notes_overrule_a_reading_that_hardly_leads_when_they_name_a_far_key() -> None:
    # openmsx's busy_schedule: B major by its MIDI file's notes, read E minor (confidence
    # 0.15) by 0.22 over B major, its notes heard B major: five Camelot steps apart.
    apart = {(4, "minor"): 0.80, (11, "major"): 0.58}
    assert key.notes_overrule(apart, 0.15, (4, "minor"), (11, "major"))
    assert not key.notes_overrule(apart, key.NOTES_OVERRULE + 0.01, (4, "minor"), (11, "major"))
    two_steps = {(0, "major"): 0.80, (2, "major"): 0.60}  # C major and D major
    assert key.notes_overrule(two_steps, key.NOTES_OVERRULE, (0, "major"), (2, "major"))


def test_the_notes_never_overrule_a_neighbouring_reading_well_ahead_or_a_parallel_one() -> None:
    # A fifth away or the relative key lie a step from the reading: where the scores put
    # the notes' key well behind, a plan for the reading suits both; the parallel key's
    # mode is the tonic chord's third's to name, however close its score.
    for near in ((7, "major"), (5, "major"), (9, "minor"), (0, "minor")):
        assert not key.notes_overrule({(0, "major"): 0.9, near: 0.5}, 0.0, (0, "major"), near)
    just_behind = {(0, "major"): 0.80, (7, "major"): 0.80 - 1.1 * key.NEAR_TIE}
    assert not key.notes_overrule(just_behind, 0.0, (0, "major"), (7, "major"))
    tied_parallel = {(0, "major"): 0.80, (0, "minor"): 0.80 - 0.9 * key.NEAR_TIE}
    assert not key.notes_overrule(tied_parallel, 0.0, (0, "major"), (0, "minor"))


def test_an_unsure_reading_nearly_tied_with_its_notes_key_gives_way_bass_at_home_or_not() -> None:
    # Within NEAR_TIE the chords and the bass cannot choose. A reading that also hardly
    # leads (its confidence at most NOTES_OVERRULE) gives way to the notes, however near
    # on the wheel (a fifth, the relative) and wherever the bass dwells: the tie-break's
    # guard (a bass at home on the reading's tonic) holds only a surer reading.
    for near in ((5, "minor"), (7, "major"), (5, "major"), (9, "minor")):
        tied = {(0, "major"): 0.80, near: 0.80 - 0.9 * key.NEAR_TIE}
        assert key.notes_overrule(tied, key.NOTES_OVERRULE, (0, "major"), near), near
        assert not key.notes_overrule(tied, key.NOTES_OVERRULE + 0.01, (0, "major"), near), near


def test_an_unsure_reading_gives_way_to_its_notes_far_key_and_is_kept_as_the_chords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # I – IV – V – I in C, its notes heard (here, made to be heard) in F# major.
    loop = chord_loop([(0, 4), (5, 4), (7, 4), (0, 4)])
    monkeypatch.setattr(key, "key_of_notes", lambda *args, **kwargs: (6, "major"))
    monkeypatch.setattr(key, "confidence_of", lambda *args, **kwargs: 0.1)
    found = read(loop)
    assert ((found.tonic, found.mode), found.by_chords) == ((6, "major"), (0, "major"))
    assert found.confidence == 0.0
    monkeypatch.setattr(key, "confidence_of", lambda *args, **kwargs: 0.3)
    found = read(loop)
    assert ((found.tonic, found.mode), found.by_chords) == ((0, "major"), None)


def test_the_notes_never_break_a_tie_with_the_relative_key_whose_notes_are_theirs() -> None:
    # (an unsure reading gives way to the relative key all the same: ``notes_overrule``)
    tied = {(0, "major"): 0.80, (9, "minor"): 0.79}
    assert not key.notes_break_tie(tied, (0, "major"), (9, "minor"), bass_on((9, 40), (0, 20)))


def test_the_24_key_names_are_read_back_as_their_keys() -> None:
    keys = [(tonic, mode) for mode in ("major", "minor") for tonic in range(12)]
    assert [key.parse_key_name(key.key_name(*k)) for k in keys] == keys
    assert tuple(key.key_name(*k) for k in keys) == key.KEY_NAMES
    with pytest.raises(ValueError, match="C major or F# minor"):
        key.parse_key_name("Gb major")  # the engine names it F# major
