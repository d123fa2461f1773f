"""Pages of accreditation applications: the learner's, the centre queue, decisions, reports."""

from __future__ import annotations

from django.urls import URLPattern

application_urlpatterns: list[URLPattern] = []
