"""PLACEHOLDER: replaced by the page's own module (issue 6 work in progress)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


@login_required
def page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"title": "Care team"})


urlpatterns = [path("care-team/", page, name="care_team")]
