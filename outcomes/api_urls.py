"""The API of outcomes, mounted under ``/api/v1/`` by ``creditbank/urls.py``."""

from django.urls import URLPattern, path

from . import api

urlpatterns: list[URLPattern] = [
    path("outcomes/", api.OutcomeListView.as_view(), name="api-outcomes"),
    path("outcomes/<int:pk>/", api.OutcomeDetailView.as_view(), name="api-outcome"),
    path(
        "outcomes/<int:pk>/withdraw/",
        api.OutcomeWithdrawView.as_view(),
        name="api-outcome-withdraw",
    ),
    path(
        "outcomes/<int:pk>/confirm/", api.OutcomeConfirmView.as_view(), name="api-outcome-confirm"
    ),
    path(
        "outcomes/<int:pk>/decline/", api.OutcomeDeclineView.as_view(), name="api-outcome-decline"
    ),
    path(
        "institutions/<int:pk>/batches/",
        api.BatchListView.as_view(),
        name="api-institution-batches",
    ),
    path("evidence/uploads/", api.EvidenceUploadView.as_view(), name="api-evidence-uploads"),
    path(
        "evidence/<int:pk>/download/",
        api.EvidenceDownloadView.as_view(),
        name="api-evidence-download",
    ),
]
