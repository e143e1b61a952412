from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("mashup_site.mashups.urls")),
]

handler404 = "mashup_site.errors.not_found"
handler500 = "mashup_site.errors.server_error"
