from django.urls import URLPattern, path

from . import api, views

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

api_urlpatterns: list[URLPattern] = [
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
    path(
        "evidence/<int:pk>/download/",
        api.EvidenceDownloadView.as_view(),
        name="api-evidence-download",
    ),
]
