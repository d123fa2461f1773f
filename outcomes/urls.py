from django.urls import URLPattern, path

from . import api, views

urlpatterns: list[URLPattern] = [
    path("outcomes/add/", views.outcome_add, name="outcome-add"),
    path("outcomes/<int:pk>/", views.outcome_detail, name="outcome-detail"),
    path("outcomes/<int:pk>/edit/", views.outcome_edit, name="outcome-edit"),
    path("outcomes/<int:pk>/withdraw/", views.outcome_withdraw_view, name="outcome-withdraw"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
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
        "evidence/<int:pk>/download/",
        api.EvidenceDownloadView.as_view(),
        name="api-evidence-download",
    ),
]
