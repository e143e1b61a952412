"""Small factories for the models, and htmx's request headers; personas live in conftest.py."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from mashup_site.mashups.models import Mashup, Source, Status, Track

PASSWORD = "correct horse battery staple"
# The header htmx sends with its requests: ``client.get(url, headers=HTMX)``.
HTMX = {"HX-Request": "true"}
# The create form's smallest valid post (simple mode, two song links): a job the limits
# count. ``{**SIMPLE_POST, "prompt": ...}`` for a variation.
SIMPLE_POST = {
    "model": "V5",
    "prompt": "Rock meets reggae",
    "url1": "https://example.com/one.mp3",
    "url2": "https://example.com/two.mp3",
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"musician{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MashupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mashup

    owner = factory.SubFactory(UserFactory)
    custom_mode = False
    instrumental = False
    model = "V5"
    prompt = factory.Sequence(lambda n: f"Idea number {n}: a summer dance floor")
    payload = factory.LazyAttribute(
        lambda o: {
            "customMode": o.custom_mode,
            "model": o.model,
            "instrumental": o.instrumental,
            "prompt": o.prompt,
        }
    )


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    mashup = factory.SubFactory(MashupFactory)
    position = 1
    url = factory.Sequence(lambda n: f"https://example.com/song-{n}.mp3")


def mashup_with_sources(**kwargs: object) -> Mashup:
    mashup = MashupFactory(**kwargs)
    SourceFactory(mashup=mashup, position=1)
    SourceFactory(mashup=mashup, position=2)
    return mashup


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    mashup = factory.SubFactory(MashupFactory)
    position = 1
    title = factory.LazyAttribute(lambda o: f"{o.mashup.display_title} ({o.position})")
    duration = 95.0


def finished_mashup(*, files: bool = True, **kwargs: object) -> Mashup:
    """A complete mashup with two tracks; with ``files``, small stored audio and covers.
    Made by the local engine, its songs keep the tempo and key it heard them at."""
    kwargs.setdefault("status", Status.COMPLETE)
    mashup = mashup_with_sources(**kwargs)
    if mashup.provider == "local":  # our engine heard a beat and a key in each song
        mashup.sources.update(tempo_heard=120.0, beat_heard=True, key_heard="A minor")
    for position in (1, 2):
        track = TrackFactory(mashup=mashup, position=position)
        if files:
            track.audio.save(f"track-{position}.mp3", ContentFile(b"ID3 fake"), save=False)
            track.image.save(f"track-{position}.jpeg", ContentFile(b"\xff\xd8"), save=False)
            track.save()
    return mashup
