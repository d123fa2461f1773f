"""The pages of outcomes, mounted at the site root by ``creditbank/urls.py``."""

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("outcomes/add/", views.outcome_add, name="outcome-add"),
    path("outcomes/<int:pk>/", views.outcome_detail, name="outcome-detail"),
    path("outcomes/<int:pk>/edit/", views.outcome_edit, name="outcome-edit"),
    path("outcomes/<int:pk>/withdraw/", views.outcome_withdraw_view, name="outcome-withdraw"),
    path("outcomes/<int:pk>/confirm/", views.outcome_confirm_view, name="outcome-confirm"),
    path("outcomes/<int:pk>/decline/", views.outcome_decline_view, name="outcome-decline"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
    path("institutions/<int:pk>/batches/", views.BatchListPage.as_view(), name="outcome-batches"),
    path(
        "institutions/<int:pk>/batches/new/",
        views.BatchAddPage.as_view(),
        name="outcome-batch-add",
    ),
    path(
        "institutions/batch-template.<str:file_format>",
        views.BatchTemplatePage.as_view(),
        name="outcome-batch-template",
    ),
]
