"""API of collective accounts (under /api/v1/)."""

from django.urls import path

from accounts.collective.views import (
    DecisionApi,
    InstitutionApi,
    InstitutionsApi,
    InvitationAcceptApi,
    InvitationDeclineApi,
    InvitationsApi,
    MemberExportApi,
    MemberImportApi,
    MembersApi,
)

urlpatterns = [
    path("collective-invitations/", InvitationsApi.as_view(), name="api-collective-invitations"),
    path(
        "collective-invitations/<int:pk>/accept/",
        InvitationAcceptApi.as_view(),
        name="api-collective-invitation-accept",
    ),
    path(
        "collective-invitations/<int:pk>/decline/",
        InvitationDeclineApi.as_view(),
        name="api-collective-invitation-decline",
    ),
    path("institutions/", InstitutionsApi.as_view(), name="api-institutions"),
    path("institutions/<int:pk>/", InstitutionApi.as_view(), name="api-institution"),
    path(
        "institutions/<int:pk>/decision/",
        DecisionApi.as_view(),
        name="api-institution-decision",
    ),
    path(
        "institutions/<int:pk>/members/",
        MembersApi.as_view(),
        name="api-institution-members",
    ),
    path(
        "institutions/<int:pk>/members/import/",
        MemberImportApi.as_view(),
        name="api-institution-members-import",
    ),
    path(
        "institutions/<int:pk>/members/export.<str:file_format>",
        MemberExportApi.as_view(),
        name="api-institution-members-export",
    ),
]
