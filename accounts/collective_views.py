"""Collective accounts: an institution applies, a centre administrator decides, the
institution's administrator imports members and follows their progress."""

from django.urls import URLPattern

# Pages (mounted at the site root) and API views (mounted under /api/v1/).
collective_urlpatterns: list[URLPattern] = []
collective_api_urlpatterns: list[URLPattern] = []
