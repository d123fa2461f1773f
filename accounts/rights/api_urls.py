"""API of the learner's rights (under /api/v1/)."""

from django.urls import path

from accounts.rights.views import (
    CentreVisitsApiView,
    CorrectionDecisionApiView,
    CorrectionQueueApiView,
    MyClosureView,
    MyCorrectableRecordsView,
    MyCorrectionsView,
    MyVisitsView,
    VisitCopyApiView,
)

urlpatterns = [
    path("accounts/me/visits/", MyVisitsView.as_view(), name="api-my-visits"),
    path("visits/", CentreVisitsApiView.as_view(), name="api-centre-visits"),
    path("visits/<int:pk>/copy/", VisitCopyApiView.as_view(), name="api-visit-copy"),
    path("accounts/me/closure/", MyClosureView.as_view(), name="api-my-closure"),
    path("accounts/me/corrections/", MyCorrectionsView.as_view(), name="api-my-corrections"),
    path(
        "accounts/me/correctable-records/",
        MyCorrectableRecordsView.as_view(),
        name="api-my-correctable-records",
    ),
    path("corrections/", CorrectionQueueApiView.as_view(), name="api-correction-queue"),
    path(
        "corrections/<int:pk>/decision/",
        CorrectionDecisionApiView.as_view(),
        name="api-correction-decision",
    ),
]
