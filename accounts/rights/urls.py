"""Pages of the learner's rights: closure, corrections, visits."""

from django.urls import path

from accounts.rights.views import (
    CentreVisitsView,
    CorrectionDecideView,
    CorrectionQueueView,
    closure_cancel_page,
    closure_page,
    corrections_page,
    record_correction_page,
    visits_page,
)

urlpatterns = [
    path("account/visits/", visits_page, name="rights-visits"),
    path("centre/visits/", CentreVisitsView.as_view(), name="rights-centre-visits"),
    path("account/closure/", closure_page, name="rights-closure"),
    path("account/closure/cancel/", closure_cancel_page, name="rights-closure-cancel"),
    path("account/corrections/", corrections_page, name="rights-corrections"),
    path(
        "account/corrections/<str:kind>/<int:pk>/",
        record_correction_page,
        name="rights-record-correction",
    ),
    path("centre/corrections/", CorrectionQueueView.as_view(), name="rights-correction-queue"),
    path(
        "centre/corrections/<int:pk>/decide/",
        CorrectionDecideView.as_view(),
        name="rights-correction-decide",
    ),
]
