from django.conf import settings
from django.urls import path
from django.views.generic import RedirectView

from . import callbacks, views

app_name = "mashups"
urlpatterns = [
    path("", views.gallery, name="gallery"),
    # /mashups/1/ is a mashup and /mashups/new/ makes one: /mashups/ is the list of them.
    path("mashups/", RedirectView.as_view(pattern_name="mashups:gallery", query_string=True)),
    path("mashups/new/", views.create, name="create"),
    path("mashups/<int:pk>/card/", views.card, name="card"),
    path("mashups/<int:pk>/delete/", views.delete, name="delete"),
    path("mashups/<int:pk>/retry/", views.retry, name="retry"),
    path("mashups/<int:pk>/offbeat/", views.offbeat, name="offbeat"),
    path("mashups/<int:pk>/given/", views.given, name="given"),
    # Its name until December 2026: a page opened before then still posts its form here.
    path("mashups/<int:pk>/tempo/", views.given),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("mashups/<int:pk>/", views.detail, name="detail"),
    # Before the track's files: "follow-ups" is not one of their kinds.
    path(
        "mashups/<int:pk>/tracks/<int:position>/follow-ups/",
        views.follow_ups,
        name="follow_ups",
    ),
    path(
        "mashups/<int:pk>/tracks/<int:position>/follow-ups/<str:kind>/",
        views.ask_follow_up,
        name="ask_follow_up",
    ),
    path(
        "mashups/<int:pk>/tracks/<int:position>/<str:kind>/",
        views.track_file,
        name="track_file",
    ),
    path("callbacks/<str:token>/", callbacks.callback, name="callback"),
    path(
        "callbacks/follow-ups/<str:token>/",
        callbacks.follow_up_callback,
        name="follow_up_callback",
    ),
    path("sources/<str:token>/", callbacks.source_file, name="source_file"),
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", views.stored_file, name="stored_file"),
]
