"""Presentation filters of the mashup pages (mashups/templatetags/mashups.py)."""

from __future__ import annotations

from mashup_site.engine.pipeline import NOTE_MARK
from mashup_site.mashups.templatetags.mashups import analysis_lines


def test_the_analysis_is_a_line_a_song_and_a_mashup_with_each_note_apart() -> None:
    text = (
        "a.mp3: 120.0 BPM, C major (8B; close: A minor), -14.0 LUFS, 30 s\n"
        "b.mp3: 154.1 BPM, three beats a bar, Bb minor (3A), -17.5 LUFS, 45 s\n"
        f"Mashup 1: vocals of a.mp3 over b.mp3, Camelot distance 2{NOTE_MARK}the keys are "
        f"only loosely compatible{NOTE_MARK}little or no voice was found in a.mp3, so this "
        "mashup is mostly the backing of b.mp3; instrumental mode may suit these songs better"
    )
    lines = analysis_lines(text)
    assert [line["text"] for line in lines][:2] == text.splitlines()[:2]
    assert lines[0]["notes"] == [] and lines[1]["notes"] == []
    assert lines[2]["text"] == "Mashup 1: vocals of a.mp3 over b.mp3, Camelot distance 2"
    # A note that holds a semicolon of its own stays one note.
    assert lines[2]["notes"] == [
        "the keys are only loosely compatible",
        "little or no voice was found in a.mp3, so this mashup is mostly the backing of "
        "b.mp3; instrumental mode may suit these songs better",
    ]


def test_no_analysis_or_blank_lines_make_no_lines() -> None:
    assert analysis_lines(None) == [] and analysis_lines("") == []
    assert analysis_lines("one line\n\n  \n") == [{"text": "one line", "notes": []}]
