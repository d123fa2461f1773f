"""Pages and API of the catalogue of accredited learning outcomes."""

from __future__ import annotations

from django.urls import URLPattern

catalogue_urlpatterns: list[URLPattern] = []
catalogue_api_urlpatterns: list[URLPattern] = []
