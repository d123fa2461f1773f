"""The transfers layer's addresses: ``urlpatterns`` (pages) and ``api_urlpatterns`` (mounted
under ``/api/v1/``), both included by ``creditbank/urls.py`` without a namespace."""

from django.urls import URLPattern, path

from . import (
    api,
    certificate_api,
    certificate_views,
    preassessment_api,
    preassessment_views,
    programme_rule_views,
    recognition_api,
    recognition_views,
    rule_views,
    transfer_api,
    transfer_views,
    whatif_api,
    whatif_views,
)

urlpatterns: list[URLPattern] = [
    # Conversion rules
    path(
        "conversion-rules/manage/",
        rule_views.ConversionRulesManagePage.as_view(),
        name="conversion-rules-manage",
    ),
    path(
        "conversion-rules/manage/export.<str:fmt>",
        rule_views.ConversionRulesExportPage.as_view(),
        name="conversion-rules-export",
    ),
    # Learning paths and credit transfers
    path(
        "file/goals/<int:programme_id>/",
        transfer_views.LearningPathPage.as_view(),
        name="learning-path",
    ),
    path(
        "file/goals/<int:programme_id>/apply/",
        transfer_views.TransferApplyPage.as_view(),
        name="transfer-apply",
    ),
    # What-if across programmes, and the plan to one
    path("file/what-if/", whatif_views.WhatIfPage.as_view(), name="what-if"),
    path(
        "file/goals/<int:programme_id>/plan/",
        whatif_views.PlanPage.as_view(),
        name="programme-plan",
    ),
    path("transfers/", transfer_views.TransferListPage.as_view(), name="transfers"),
    path(
        "transfers/<int:pk>/", transfer_views.TransferDetailPage.as_view(), name="transfer-detail"
    ),
    path(
        "transfers/<int:pk>/withdraw/",
        transfer_views.TransferWithdrawPage.as_view(),
        name="transfer-withdraw",
    ),
    path(
        "transfers/items/<int:pk>/respond/",
        transfer_views.TransferRespondPage.as_view(),
        name="transfer-item-respond",
    ),
    path(
        "institution/transfers/",
        transfer_views.OfficerQueuePage.as_view(),
        name="institution-transfers",
    ),
    path(
        "institution/transfers/<int:pk>/",
        transfer_views.OfficerDetailPage.as_view(),
        name="institution-transfer",
    ),
    path(
        "institution/transfers/items/<int:pk>/decide/",
        transfer_views.OfficerDecidePage.as_view(),
        name="institution-transfer-decide",
    ),
    path(
        "institution/transfers/items/<int:pk>/rescind/",
        transfer_views.OfficerRescindPage.as_view(),
        name="institution-transfer-rescind",
    ),
    path(
        "institution/transfers/items/<int:pk>/keep/",
        transfer_views.OfficerKeepPage.as_view(),
        name="institution-transfer-keep",
    ),
    # Programme rules (issue 24)
    path(
        "institution/programmes/",
        programme_rule_views.ProgrammeListPage.as_view(),
        name="institution-programmes",
    ),
    path(
        "institution/programmes/<int:programme_id>/rules/",
        programme_rule_views.ProgrammeRulesPage.as_view(),
        name="programme-rules",
    ),
    # Binding pre-assessments (ADR 0028)
    path(
        "preassessments/",
        preassessment_views.PreAssessmentListPage.as_view(),
        name="preassessments",
    ),
    path(
        "preassessments/ask/<int:course_id>/",
        preassessment_views.PreAssessmentAskPage.as_view(),
        name="preassessment-ask",
    ),
    path(
        "preassessments/<int:pk>/",
        preassessment_views.PreAssessmentDetailPage.as_view(),
        name="preassessment-detail",
    ),
    path(
        "preassessments/<int:pk>/withdraw/",
        preassessment_views.PreAssessmentWithdrawPage.as_view(),
        name="preassessment-withdraw",
    ),
    path(
        "institution/preassessments/",
        preassessment_views.OfficerPreAssessmentQueuePage.as_view(),
        name="institution-preassessments",
    ),
    path(
        "institution/preassessments/<int:pk>/",
        preassessment_views.OfficerPreAssessmentPage.as_view(),
        name="institution-preassessment",
    ),
    path(
        "institution/preassessments/<int:pk>/answer/",
        preassessment_views.OfficerPreAssessmentAnswerPage.as_view(),
        name="institution-preassessment-answer",
    ),
    # Certificates and their public verification
    path("certificates/", certificate_views.CertificateListPage.as_view(), name="certificates"),
    path("recognitions/", recognition_views.RecognitionPage.as_view(), name="recognition"),
    path(
        "certificates/<str:serial>/pdf/",
        certificate_views.CertificatePdfDownload.as_view(),
        name="certificate-pdf",
    ),
    path(
        "certificates/<str:serial>/credential.json",
        certificate_views.CertificateCredentialDownload.as_view(),
        name="certificate-credential",
    ),
    path(
        "certificates/<str:serial>/record-address/",
        certificate_views.TransferRecordAddressRenew.as_view(),
        name="transfer-record-address-renew",
    ),
    path(
        ".well-known/did.json",
        certificate_views.controller_document_view,
        name="certificate-issuer-did",
    ),
    path(
        "credentials/status/<int:number>",
        certificate_views.status_list_view,
        name="certificate-status-list",
    ),
    path(
        "credentials/status/decisions/<int:number>",
        certificate_views.decision_status_list_view,
        name="decision-status-list",
    ),
    path(
        "credentials/records/<uuid:token>",
        certificate_views.transfer_record_view,
        name="transfer-record-public",
    ),
    path("verify/", certificate_views.verify_lookup, name="certificate-verify-lookup"),
    path("verify/<str:serial>/", certificate_views.verify_page, name="certificate-verify"),
]

api_urlpatterns: list[URLPattern] = [
    # Conversion rules
    path("conversion-rules/", rule_views.ConversionRulesApi.as_view(), name="api-conversion-rules"),
    path(
        "conversion-rules/import/",
        rule_views.ConversionRulesImportApi.as_view(),
        name="api-conversion-rules-import",
    ),
    path(
        "conversion-rules/export/",
        rule_views.ConversionRulesExportApi.as_view(),
        name="api-conversion-rules-export",
    ),
    # Programmes and learning goals
    path("transfers/programmes/", api.ProgrammeListView.as_view(), name="api-programmes"),
    path(
        "transfers/programmes/<int:programme_id>/rules/",
        programme_rule_views.ProgrammeRulesApi.as_view(),
        name="api-programme-rules",
    ),
    path("transfers/goals/", api.LearningGoalListView.as_view(), name="api-goals"),
    path("transfers/goals/<int:pk>/", api.LearningGoalDetailView.as_view(), name="api-goal"),
    # Credit transfers and learning paths
    path("transfers/", transfer_api.TransferListView.as_view(), name="api-transfers"),
    path("transfers/<int:pk>/", transfer_api.TransferDetailView.as_view(), name="api-transfer"),
    path(
        "transfers/<int:pk>/withdraw/",
        transfer_api.TransferWithdrawView.as_view(),
        name="api-transfer-withdraw",
    ),
    path(
        "transfers/items/<int:pk>/decide/",
        transfer_api.TransferItemDecideView.as_view(),
        name="api-transfer-item-decide",
    ),
    path(
        "transfers/items/<int:pk>/rescind/",
        transfer_api.TransferItemRescindView.as_view(),
        name="api-transfer-item-rescind",
    ),
    path(
        "transfers/items/<int:pk>/keep/",
        transfer_api.TransferItemKeepView.as_view(),
        name="api-transfer-item-keep",
    ),
    path(
        "transfers/items/<int:pk>/respond/",
        transfer_api.TransferItemRespondView.as_view(),
        name="api-transfer-item-respond",
    ),
    path(
        "transfers/paths/<int:programme_id>/",
        transfer_api.LearningPathView.as_view(),
        name="api-learning-path",
    ),
    # What-if across programmes, and the plan to one
    path("transfers/what-if/", whatif_api.WhatIfView.as_view(), name="api-what-if"),
    path(
        "transfers/plans/<int:programme_id>/",
        whatif_api.PlanView.as_view(),
        name="api-programme-plan",
    ),
    # Certificates
    path(
        "preassessments/",
        preassessment_api.PreAssessmentListView.as_view(),
        name="api-preassessments",
    ),
    path(
        "preassessments/<int:pk>/",
        preassessment_api.PreAssessmentDetailView.as_view(),
        name="api-preassessment",
    ),
    path(
        "preassessments/<int:pk>/answer/",
        preassessment_api.PreAssessmentAnswerView.as_view(),
        name="api-preassessment-answer",
    ),
    path(
        "preassessments/<int:pk>/withdraw/",
        preassessment_api.PreAssessmentWithdrawView.as_view(),
        name="api-preassessment-withdraw",
    ),
    path("certificates/", certificate_api.CertificateListView.as_view(), name="api-certificates"),
    path("recognitions/", recognition_api.RecognitionImportView.as_view(), name="api-recognitions"),
    path(
        "certificates/signing-key/",
        certificate_api.SigningKeyView.as_view(),
        name="api-certificate-signing-key",
    ),
    path(
        "certificates/verify/<str:serial>/",
        certificate_api.CertificateVerifyView.as_view(),
        name="api-certificate-verify",
    ),
    path(
        "certificates/<str:serial>/",
        certificate_api.CertificateDetailView.as_view(),
        name="api-certificate",
    ),
    path(
        "certificates/<str:serial>/pdf/",
        certificate_api.CertificatePdfView.as_view(),
        name="api-certificate-pdf",
    ),
    path(
        "certificates/<str:serial>/credential.json",
        certificate_api.CertificateCredentialView.as_view(),
        name="api-certificate-credential",
    ),
]
