import os

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from transfers.urls import api_urlpatterns as transfer_api_urlpatterns

from . import rights_views, schema_views, statement, views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    path("", include("outcomes.api_urls")),
    path("", include("accreditation.api_urls")),
    path("", include(transfer_api_urlpatterns)),
    path("accounts/me/ledger/", statement.StatementApiView.as_view(), name="api-ledger-statement"),
    path(
        "accounts/me/outcomes/search/",
        rights_views.InquiryApiView.as_view(),
        name="api-outcome-search",
    ),
    path(
        "accounts/me/exports/",
        rights_views.DataExportListApiView.as_view(),
        name="api-data-exports",
    ),
    path(
        "accounts/me/exports/<str:token>/",
        rights_views.DataExportDownloadApiView.as_view(),
        name="api-data-export-download",
    ),
    path("schema/", schema_views.SchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    # First: no page route starts with api/, and Django tries the patterns one by one (the API
    # behind the ~100 page routes took 0.3 ms of every API call to resolve).
    path("api/v1/", include(api_v1)),
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    re_path(r"^readyz/?$", views.readyz, name="readyz"),
    path("", views.home, name="home"),
    path("favicon.ico", RedirectView.as_view(url="/static/img/emblem.svg", permanent=True)),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    # The admin site signs in through the portal's own sign-in, second factor included.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("file/", views.LearningFileView.as_view(), name="learning-file"),
    path("file/pdf/", views.learning_file_pdf_download, name="learning-file-pdf"),
    path("file/goals/", views.learning_goal_add, name="learning-goal-add"),
    path("file/goals/<int:pk>/remove/", views.learning_goal_drop, name="learning-goal-remove"),
    path(
        "centre/learners/<str:number>/",
        views.StaffLearningFileView.as_view(),
        name="staff-learning-file",
    ),
    path(
        "centre/learners/<str:number>/reveal/",
        views.StaffIdentityRevealView.as_view(),
        name="staff-identity-reveal",
    ),
    path("", include("outcomes.urls")),
    path("", include("accreditation.urls")),
    path("", include("transfers.urls")),
    path("file/statement/", statement.StatementPage.as_view(), name="ledger-statement"),
    path("file/inquiry/", rights_views.InquiryPage.as_view(), name="file-inquiry"),
    path("file/export/", rights_views.ExportPage.as_view(), name="file-export"),
    path(
        "file/export/<str:token>/",
        rights_views.ExportDownloadPage.as_view(),
        name="file-export-download",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if os.environ.get("CREDITBANK_BENCH_FLOOR") == "1":
    # The benchmarks' floor (bench/web.py); never routed otherwise.
    urlpatterns.insert(0, path("bench/floor/", views.bench_floor, name="bench-floor"))

handler400 = "creditbank.errors.bad_request"
handler404 = "creditbank.errors.not_found"
