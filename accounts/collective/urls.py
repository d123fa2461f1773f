"""Pages of collective accounts."""

from django.urls import path

from accounts.collective.views import (
    ApplicationPage,
    ApplicationsPage,
    ApplyPage,
    CollectiveHomePage,
    ImportTemplatePage,
    MemberExportPage,
    MemberImportPage,
    MembersPage,
    invitation_accept_view,
    invitation_decline_view,
)

urlpatterns = [
    path(
        "collective-invitations/<int:pk>/accept/",
        invitation_accept_view,
        name="collective-invitation-accept",
    ),
    path(
        "collective-invitations/<int:pk>/decline/",
        invitation_decline_view,
        name="collective-invitation-decline",
    ),
    path("institutions/apply/", ApplyPage.as_view(), name="collective-apply"),
    path("centre/institutions/", ApplicationsPage.as_view(), name="collective-applications"),
    path(
        "centre/institutions/<int:pk>/",
        ApplicationPage.as_view(),
        name="collective-application",
    ),
    path("institution/", CollectiveHomePage.as_view(), name="collective-home"),
    path("institutions/<int:pk>/members/", MembersPage.as_view(), name="collective-members"),
    path(
        "institutions/<int:pk>/members/import/",
        MemberImportPage.as_view(),
        name="collective-import",
    ),
    path(
        "institutions/<int:pk>/members/export.<str:file_format>",
        MemberExportPage.as_view(),
        name="collective-members-export",
    ),
    path(
        "institutions/import-template.<str:file_format>",
        ImportTemplatePage.as_view(),
        name="collective-import-template",
    ),
]
