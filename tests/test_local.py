"""The local provider: the real engine on short synthetic songs, run by the job's task."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from mashup_site.engine import KEY_NAMES, measure
from mashup_site.mashups import jobs, runner, storage, tasks
from mashup_site.mashups.models import Mashup, Status
from mashup_site.mashups.storage import store_content_addressed
from mashup_site.providers.base import Job, ProviderError, Song
from mashup_site.providers.local import LocalProvider, params_from_payload
from tests.audiofiles import write_audio, write_tone
from tests.factories import MashupFactory, SourceFactory
from tests.signals import SR, pad, song

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> tuple[Path, Path]:
    """Two 16-second songs in different tempi and keys (the shortest the engine lines up)."""
    folder = tmp_path_factory.mktemp("songs")
    first = write_audio(folder / "first.wav", "wav", song(120, 0, "major", 16.0)["mix"], SR)
    second = write_audio(folder / "second.wav", "wav", song(100, 2, "minor", 16.0)["mix"], SR)
    return first, second


def local_job(owner, paths: tuple[Path, ...], **kwargs: object) -> Mashup:
    mashup = MashupFactory(owner=owner, provider="local", **kwargs)
    for position, path in enumerate(paths, start=1):
        source = SourceFactory.build(mashup=mashup, position=position, url="")
        # Stored as the create form stores uploads: in the transaction that records it.
        with path.open("rb") as handle, transaction.atomic():
            stored = store_content_addressed(File(handle), prefix="sources")
            source.file.name, source.original_name = stored.name, path.name
            source.save()
    return mashup


def test_a_local_job_makes_two_tracks_through_every_stage(owner, songs) -> None:
    mashup = local_job(owner, songs)
    tasks.run_mashup(mashup.pk)
    done = Mashup.objects.get(pk=mashup.pk)
    assert done.status == Status.COMPLETE, done.error_message
    assert done.submitted_at <= done.text_at <= done.first_at <= done.completed_at
    assert "BPM" in done.analysis_text or "bpm" in done.analysis_text.lower()
    # The songs by the names their owner gave them, not by their storage (hash) names.
    assert "first.wav" in done.analysis_text and "second.wav" in done.analysis_text
    stored_name = Path(done.sources.get(position=1).file.name).name
    assert stored_name != "first.wav" and stored_name not in done.analysis_text
    tracks = list(done.tracks.order_by("position"))
    assert [t.position for t in tracks] == [1, 2]
    # Track n is "Mashup n" of the analysis, whichever of the two was written first.
    assert "Mashup 1: vocals of first.wav over second.wav" in done.analysis_text
    # The text as made: each track's layers measured against its lead, without a grid.
    assert done.analysis_text.count("ms apart") == 2, done.analysis_text
    assert [t.title for t in tracks] == ["first × second", "second × first"]
    for track in tracks:
        assert track.audio.name.endswith(".mp3") and track.image
        assert track.duration and track.duration > 5
        assert track.model_name == "local engine (V5)"
    assert done.provider_requests == 0  # no remote API involved
    # Each song's tempo as the engine heard it, for the form that makes it again.
    heard = [s.tempo_heard for s in done.sources.order_by("position")]
    assert heard == [pytest.approx(120, abs=1.5), pytest.approx(100, abs=1.5)]
    assert [s.beat_heard for s in done.sources.order_by("position")] == [True, True]
    # ...and its key, named as the analysis names it.
    keys = [s.key_heard for s in done.sources.order_by("position")]
    assert all(key in KEY_NAMES and f"{key} (" in done.analysis_text for key in keys), keys


def test_a_song_heard_without_a_beat_keeps_no_tempo_heard(owner, songs, tmp_path) -> None:
    # The tempo form's placeholder says "heard 86.4" from the tempo heard: for a song the
    # engine heard no steady beat in, that reading is no beat anyone could hear.
    held = write_audio(tmp_path / "held.wav", "wav", pad(16.0), SR)
    done = local_job(owner, (songs[0], held))
    tasks.run_mashup(done.pk)
    done.refresh_from_db()
    assert done.status == Status.COMPLETE, done.error_message
    assert "no steady beat" in done.analysis_text
    heard = [s.tempo_heard for s in done.sources.order_by("position")]
    assert heard == [pytest.approx(120, abs=1.5), None]
    assert [s.beat_heard for s in done.sources.order_by("position")] == [True, False]


def test_made_again_half_a_beat_over_it_shares_the_uploads_and_says_so(
    owner, songs, django_capture_on_commit_callbacks
) -> None:
    first = local_job(owner, songs)
    tasks.run_mashup(first.pk)
    remade, _ = tasks.enqueue_offbeat_remake(Mashup.objects.get(pk=first.pk))
    tasks.run_mashup(remade.pk)
    remade.refresh_from_db()
    assert remade.status == Status.COMPLETE, remade.error_message
    assert remade.analysis_text.count("the backing half a beat over") == 2
    assert "half a beat over" not in Mashup.objects.get(pk=first.pk).analysis_text
    # The songs are shared, not copied; deleting the first version spares them.
    names = [s.file.name for s in remade.sources.all()]
    assert names == [s.file.name for s in first.sources.all()]
    with django_capture_on_commit_callbacks(execute=True):
        storage.delete_mashup(Mashup.objects.get(pk=first.pk))
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        storage.delete_mashup(remade)  # the last mashup that used them
    assert not any(default_storage.exists(name) for name in names)


def test_made_again_with_a_tempo_and_a_key_given_it_reads_that_song_so(owner, songs) -> None:
    first = local_job(owner, songs)
    tasks.run_mashup(first.pk)
    given = (jobs.Given(), jobs.Given(50.0, "E minor"))
    remade, _ = tasks.enqueue_given_remake(Mashup.objects.get(pk=first.pk), given)
    tasks.run_mashup(remade.pk)
    remade.refresh_from_db()
    assert remade.status == Status.COMPLETE, remade.error_message
    second = next(line for line in remade.analysis_text.splitlines() if line.startswith("second"))
    assert second.startswith("second.wav: 50.0 BPM as you gave it, E minor (9A) as you gave it")
    # What was heard stays the engine's: the form's "heard" must not name what was given.
    sources = Mashup.objects.get(pk=first.pk).sources.order_by("position")
    heard = [(s.tempo_heard, s.key_heard) for s in sources]
    assert [(s.tempo_heard, s.key_heard) for s in remade.sources.order_by("position")] == heard
    assert heard[1][0] != 50.0 and heard[1][1] != "E minor" and heard[1][1] in KEY_NAMES
    assert "as you gave it" not in Mashup.objects.get(pk=first.pk).analysis_text
    first_song, second_song = runner.job_of(remade).songs
    assert (second_song.tempo, second_song.key) == (50.0, "E minor")
    assert (first_song.tempo, first_song.key) == (None, "")


def test_it_reports_text_then_first_then_complete(songs, tmp_path, monkeypatch) -> None:
    def not_for_the_web(*args: object, **kwargs: object) -> None:
        raise AssertionError("the quality figures are for the command line; nobody waits")

    monkeypatch.setattr(measure, "measure_layers", not_for_the_web)
    seen: list[tuple[Status, list[int | None]]] = []
    LocalProvider().run(
        task_id="local-1",
        sources=list(songs),
        payload={"model": "V5", "instrumental": True},
        out_dir=tmp_path,
        on_snapshot=lambda s: seen.append((s.status, sorted(t.position for t in s.tracks))),
    )
    assert [status for status, _ in seen] == [Status.ANALYSED, Status.FIRST, Status.COMPLETE]
    assert len(seen[1][1]) == 1 and seen[2][1] == [1, 2]  # each track knows which it is


def test_a_second_delivery_of_a_running_job_does_not_run_it_again(owner, songs) -> None:
    mashup = local_job(owner, songs)
    assert jobs.claim(mashup.pk, lease=timedelta(minutes=10))
    tasks.run_mashup(mashup.pk)  # the duplicate: the lease is held
    assert Mashup.objects.get(pk=mashup.pk).status == Status.SUBMITTED


def test_songs_too_short_fail_with_the_engines_reason(owner, tmp_path) -> None:
    short = tuple(
        write_tone(tmp_path / f"{n}.wav", "wav", seconds=2, freq=f)
        for n, f in (("a", 440), ("b", 330))
    )
    mashup = local_job(owner, short)
    tasks.run_mashup(mashup.pk)
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED
    assert "a mashup needs at least" in failed.error_message


def test_a_silent_song_fails_saying_so_and_that_trying_again_would_fail_the_same_way(
    owner, songs, tmp_path
) -> None:
    silent = write_audio(tmp_path / "quiet.wav", "wav", np.zeros((2, 20 * SR), np.float32), SR)
    mashup = local_job(owner, (songs[0], silent))
    tasks.run_mashup(mashup.pk)
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED
    assert "quiet.wav" in failed.error_message and "silent" in failed.error_message
    assert failed.error_final


def test_a_song_from_a_link_is_never_judged_for_good_as_what_it_serves_may_change(
    owner, songs, tmp_path, monkeypatch
) -> None:
    silent = write_audio(tmp_path / "quiet.wav", "wav", np.zeros((2, 20 * SR), np.float32), SR)
    served = {1: songs[0], 2: silent}  # what the link serves today (the fetch is not tested here)
    monkeypatch.setattr(
        "mashup_site.providers.local.local_copy", lambda song, work: served[song.position]
    )
    job = Job(
        pk=1,
        payload={"model": "V5", "prompt": "x"},
        songs=(Song(1, "first.wav", path=str(songs[0])), Song(2, "q.mp3", link="https://e.com/q")),
        callback_url="",
    )
    with pytest.raises(ProviderError, match="silent") as caught:
        LocalProvider().start(job, lambda snapshot: None)
    assert caught.value.permanent and not caught.value.final


def test_a_failure_that_may_pass_next_time_may_be_tried_again(owner, songs, settings) -> None:
    mashup = local_job(owner, songs)
    settings.MEDIA_ROOT = settings.MEDIA_ROOT / "elsewhere"  # a worker that cannot see them
    tasks.run_mashup(mashup.pk)
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED
    assert not failed.error_final


def test_a_job_whose_upload_this_worker_cannot_see_fails_saying_so(
    owner, songs, settings, caplog
) -> None:
    """Another machine's worker with STORAGE=local: the upload is on the disk of the
    machine that received it, not this one (here: not in this worker's MEDIA_ROOT)."""
    mashup = local_job(owner, songs)
    settings.MEDIA_ROOT = settings.MEDIA_ROOT.parent / "another-machine"
    tasks.run_mashup(mashup.pk)
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED
    assert failed.error_message == (
        "The worker that took this mashup cannot read the uploaded “first.wav”, “second.wav”, "
        "so it was stopped. Staff have been told; try again later."
    )
    assert "more than one machine needs STORAGE=s3" in caplog.text  # for staff


def test_a_url_source_on_a_private_address_is_refused(owner, tmp_path) -> None:
    """The engine fetches URL sources itself; one pointing into our network is refused."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mashup = MashupFactory(owner=owner, provider="local")
        for position in (1, 2):
            url = f"http://127.0.0.1:{server.server_address[1]}/{position}.mp3"
            SourceFactory(mashup=mashup, position=position, url=url)
        tasks.run_mashup(mashup.pk)
    finally:
        server.shutdown()
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED
    assert failed.error_message.startswith("Song 1's link could not be used: the link points")
    assert "private or local address" in failed.error_message


def test_a_local_job_whose_worker_died_is_failed_at_the_give_up_time(
    owner, songs, clock, settings
) -> None:
    mashup = local_job(owner, songs)
    assert jobs.claim(mashup.pk, lease=timedelta(minutes=10))
    clock.advance(settings.MASHUP_GIVE_UP_MINUTES * 60 + 2)
    tasks.reconcile()  # the reconciler's schedule, every minute
    failed = Mashup.objects.get(pk=mashup.pk)
    assert failed.status == Status.FAILED and failed.error_message.startswith("Timed out")


def test_a_finished_local_job_leaves_no_schedule_behind(owner, songs) -> None:
    from django_q.models import Schedule

    mashup = local_job(owner, songs)
    tasks.run_mashup(mashup.pk)
    assert Mashup.objects.get(pk=mashup.pk).status == Status.COMPLETE
    assert not Schedule.objects.filter(name__startswith=f"mashup-{mashup.pk}-").exists()


def test_the_api_fields_become_engine_parameters() -> None:
    params = params_from_payload(
        {
            "model": "V4",
            "instrumental": False,
            "audioWeight": 0.8,
            "styleWeight": 0.3,
            "weirdnessConstraint": 0.65,
            "vocalGender": "f",
            "style": "lofi",
            "title": "Night",
        }
    )
    assert (params.audio_weight, params.style_weight, params.weirdness) == (0.8, 0.3, 0.65)
    assert (params.vocal_gender, params.style, params.title) == ("f", "lofi", "Night")
    assert params.max_seconds == 240  # V4's limit: four minutes


@pytest.mark.parametrize(
    ("original_name", "url", "expected"),
    [
        ("My Song (live).mp3", "", "My Song (live).mp3"),
        ("", "https://example.com/music/Caf%C3%A9%20del%20Mar.ogg?x=1", "Café del Mar.ogg"),
        ("", "https://example.com/", "song-2"),
        ("..", "", "song-2"),
        ("a/../b.mp3", "", "a_.._b.mp3"),
        ("x" * 300 + ".flac", "", "x" * 192 + "…" + ".flac"),
        ("é" * 150 + ".mp3", "", "é" * 96 + "…" + ".mp3"),  # 200 bytes of UTF-8 at most
        # the start is what the person reads first: it is kept, and the cut marked
        (
            "日本語の曲 " + "très long " * 30 + ".wav",
            "",
            "日本語の曲 " + "très long " * 16 + "t…" + ".wav",
        ),
        ("a" * 250, "", "a" * 197 + "…"),
        # a dot in the name is no suffix: the cut mark ends the name
        ("x" * 250 + ".final mix", "", "x" * 197 + "…"),
        ("x" * 250 + ".", "", "x" * 197 + "…"),
    ],
)
def test_it_hands_the_engine_each_song_under_a_safe_form_of_its_own_name(
    original_name: str, url: str, expected: str
) -> None:
    source = SourceFactory.build(position=2, original_name=original_name, url=url)
    assert runner.song_file_name(source) == expected


def test_a_local_job_keeps_stems_wav_and_a_waveform_with_the_render(owner, songs) -> None:
    """What follow-ups give at once: the layers as mixed (summing to about the track), the
    master as 16-bit WAV, and the master's waveform."""
    import wave

    import numpy as np

    from mashup_site.engine.decode import load
    from mashup_site.engine.pipeline import WAVEFORM_POINTS

    mashup = local_job(owner, songs)
    tasks.run_mashup(mashup.pk)
    for track in Mashup.objects.get(pk=mashup.pk).tracks.all():
        assert track.kept == {"vocals", "instrumental", "wav"}
        with wave.open(track.wav.path, "rb") as handle:
            assert handle.getsampwidth() == 2  # 16-bit
            assert handle.getframerate() == SR
        wav, vocals, backing = (
            load(Path(f.path), SR) for f in (track.wav, track.vocals, track.instrumental)
        )
        assert wav.shape == vocals.shape == backing.shape
        assert abs(wav.shape[1] / SR - track.duration) < 0.05
        mix, master = (vocals + backing).mean(axis=0), wav.mean(axis=0)
        assert np.corrcoef(mix, master)[0, 1] > 0.9  # the stems line up with the track
        assert len(track.waveform) == WAVEFORM_POINTS
        assert all(0 <= v <= 1 for v in track.waveform) and max(track.waveform) > 0.5


def test_an_instrumental_local_job_keeps_no_vocals(owner, songs) -> None:
    mashup = local_job(owner, songs, instrumental=True)
    tasks.run_mashup(mashup.pk)
    track = Mashup.objects.get(pk=mashup.pk).tracks.get(position=1)
    assert track.kept == {"wav"}
