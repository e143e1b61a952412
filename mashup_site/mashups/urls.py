from django.urls import path

from . import views

app_name = "mashups"
urlpatterns = [
    path("", views.gallery, name="gallery"),
]
