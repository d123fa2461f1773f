"""``/api/v1/applications/``."""

from __future__ import annotations

from django.urls import URLPattern

application_api_urlpatterns: list[URLPattern] = []
