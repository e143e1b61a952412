from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def gallery(request: HttpRequest) -> HttpResponse:
    return render(request, "mashups/gallery.html", {})
