"""The API of the accreditation layer, mounted under ``/api/v1/`` by ``creditbank/urls.py``."""

from django.urls import URLPattern, path

from . import api, calendar_api, catalogue_views
from .recognition import views as recognition

urlpatterns: list[URLPattern] = [
    path("catalogue/", catalogue_views.CatalogueListApi.as_view(), name="api-catalogue"),
    path(
        "catalogue/import/",
        catalogue_views.CatalogueImportApi.as_view(),
        name="api-catalogue-import",
    ),
    path(
        "catalogue/export/",
        catalogue_views.CatalogueExportApi.as_view(),
        name="api-catalogue-export",
    ),
    path(
        "catalogue/<str:code>/",
        catalogue_views.CatalogueEntryApi.as_view(),
        name="api-catalogue-entry",
    ),
    path("applications/", api.ApplicationListView.as_view(), name="api-applications"),
    path("applications/<int:pk>/", api.ApplicationDetailView.as_view(), name="api-application"),
    *[
        path(
            f"applications/<int:pk>/{slug}/",
            api.move_view(slug).as_view(),
            name=f"api-application-{slug}",
        )
        for slug in api.MOVES
    ],
    path(
        "applications/<int:pk>/revoke/",
        api.ApplicationRevokeView.as_view(),
        name="api-application-revoke",
    ),
    path("calendar/<int:year>/", calendar_api.CalendarYearApi.as_view(), name="api-calendar-year"),
    path(
        "outcomes/<int:pk>/estimate/",
        api.CatalogueEstimateView.as_view(),
        name="api-outcome-estimate",
    ),
    path(
        "recognition/banks/", recognition.TrustedBankListApi.as_view(), name="api-recognition-banks"
    ),
    path(
        "recognition/banks/<int:pk>/",
        recognition.TrustedBankApi.as_view(),
        name="api-recognition-bank",
    ),
    path(
        "recognition/banks/<int:pk>/remove/",
        recognition.TrustedBankRemoveApi.as_view(),
        name="api-recognition-bank-remove",
    ),
    path(
        "recognition/banks/<int:pk>/keys/",
        recognition.TrustedBankKeysApi.as_view(),
        name="api-recognition-bank-keys",
    ),
    path(
        "recognition/agreements/",
        recognition.AgreementListApi.as_view(),
        name="api-recognition-agreements",
    ),
    path(
        "recognition/agreements/import/",
        recognition.AgreementImportApi.as_view(),
        name="api-recognition-agreements-import",
    ),
    path(
        "recognition/agreements/export/",
        recognition.AgreementExportApi.as_view(),
        name="api-recognition-agreements-export",
    ),
]
