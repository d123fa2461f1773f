import os

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accreditation.api import application_api_urlpatterns
from accreditation.catalogue_views import catalogue_api_urlpatterns, catalogue_urlpatterns
from accreditation.deadline_views import deadline_urlpatterns
from accreditation.views import application_urlpatterns
from outcomes.urls import api_urlpatterns as outcome_api_urlpatterns
from outcomes.urls import urlpatterns as outcome_urlpatterns
from transfers.api import LearningGoalDetailView, LearningGoalListView, ProgrammeListView
from transfers.certificate_api import certificate_api_urlpatterns
from transfers.certificate_views import certificate_urlpatterns
from transfers.rule_views import rule_api_urlpatterns, rule_urlpatterns
from transfers.transfer_api import transfer_api_urlpatterns
from transfers.transfer_views import transfer_urlpatterns

from . import views
from .rights_views import rights_api_urlpatterns, rights_urlpatterns
from .statement import statement_api_urlpatterns, statement_urlpatterns

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    *outcome_api_urlpatterns,
    *catalogue_api_urlpatterns,
    *rule_api_urlpatterns,
    *application_api_urlpatterns,
    path("transfers/programmes/", ProgrammeListView.as_view(), name="api-programmes"),
    path("transfers/goals/", LearningGoalListView.as_view(), name="api-goals"),
    path("transfers/goals/<int:pk>/", LearningGoalDetailView.as_view(), name="api-goal"),
    *transfer_api_urlpatterns,
    *certificate_api_urlpatterns,
    *statement_api_urlpatterns,
    *rights_api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
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
    *outcome_urlpatterns,
    *catalogue_urlpatterns,
    *rule_urlpatterns,
    *application_urlpatterns,
    *deadline_urlpatterns,
    *transfer_urlpatterns,
    *certificate_urlpatterns,
    *statement_urlpatterns,
    *rights_urlpatterns,
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

if os.environ.get("CREDITBANK_BENCH_FLOOR") == "1":
    # The benchmarks' floor (bench/web.py); never routed otherwise.
    urlpatterns.insert(0, path("bench/floor/", views.bench_floor, name="bench-floor"))

handler400 = "creditbank.errors.bad_request"
handler404 = "creditbank.errors.not_found"
