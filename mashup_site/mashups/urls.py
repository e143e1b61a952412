from django.urls import path

from . import views

app_name = "mashups"
urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("mashups/new/", views.create, name="create"),
    path("mashups/<int:pk>/", views.detail, name="detail"),
]
