"""Pages and API of the conversion rules."""

from __future__ import annotations

from django.urls import URLPattern

rule_urlpatterns: list[URLPattern] = []
rule_api_urlpatterns: list[URLPattern] = []
