"""The pages of the accreditation layer: the catalogue, applications and the deadlines view,
mounted at the site root by ``creditbank/urls.py``. Entry codes are upper case, so the lower-case
words before ``<code>`` never collide with one."""

from django.urls import URLPattern, path

from . import calendar_views, catalogue_views, deadline_views, views
from .recognition import views as recognition_views

urlpatterns: list[URLPattern] = [
    path("catalogue/", catalogue_views.CataloguePage.as_view(), name="catalogue"),
    path(
        "catalogue/manage/", catalogue_views.CatalogueManagePage.as_view(), name="catalogue-manage"
    ),
    path(
        "catalogue/manage/export.<str:fmt>",
        catalogue_views.CatalogueExportPage.as_view(),
        name="catalogue-export",
    ),
    path(
        "catalogue/<str:code>/",
        catalogue_views.CatalogueEntryPage.as_view(),
        name="catalogue-entry",
    ),
    path("applications/", views.ApplicationListPage.as_view(), name="applications"),
    path(
        "applications/new/<int:outcome_id>/",
        views.ApplicationSubmitPage.as_view(),
        name="application-submit",
    ),
    path(
        "applications/<int:pk>/", views.ApplicationDetailPage.as_view(), name="application-detail"
    ),
    path(
        "applications/<int:pk>/resubmit/",
        views.ApplicationResubmitPage.as_view(),
        name="application-resubmit",
    ),
    path(
        "applications/<int:pk>/withdraw/",
        views.ApplicationWithdrawPage.as_view(),
        name="application-withdraw",
    ),
    path("centre/queue/", views.QueuePage.as_view(), name="centre-queue"),
    path(
        "centre/applications/<int:pk>/",
        views.CentreApplicationPage.as_view(),
        name="centre-application",
    ),
    path(
        "centre/applications/<int:pk>/<slug:move>/",
        views.CentreApplicationMovePage.as_view(),
        name="centre-application-move",
    ),
    path("centre/deadlines/", deadline_views.DeadlinesView.as_view(), name="centre-deadlines"),
    # The management admin's pages, like /catalogue/manage/.
    path(
        "calendar/manage/",
        calendar_views.CalendarIndexPage.as_view(),
        name="calendar_arrangements",
    ),
    path(
        "calendar/manage/<int:year>/",
        calendar_views.CalendarEntryPage.as_view(),
        name="calendar_arrangement_entry",
    ),
    # Mutual recognition: the management admin's trust list and agreements.
    path("recognition/banks/", recognition_views.TrustListPage.as_view(), name="recognition-banks"),
    path(
        "recognition/agreements/",
        recognition_views.AgreementsManagePage.as_view(),
        name="recognition-agreements",
    ),
    path(
        "recognition/agreements/export.<str:fmt>",
        recognition_views.AgreementsExportPage.as_view(),
        name="recognition-agreements-export",
    ),
]
