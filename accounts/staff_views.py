"""What centre staff do with learning accounts: open one for a person at the centre, find a
learner, view their file and reveal their identity number, each with a recorded reason."""

from django.urls import URLPattern

staff_urlpatterns: list[URLPattern] = []
staff_api_urlpatterns: list[URLPattern] = []
