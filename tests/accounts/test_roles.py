import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.views import View
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.models import Centre, Role, User
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from creditbank.navigation import items_for
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


class ReviewerOnlyApi(APIView):
    permission_classes = [HasRole.of(Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN)]

    def get(self, request):
        return Response({"ok": True})


class ReviewerOnlyPage(RoleRequiredMixin, View):
    allowed_roles = (Role.CENTRE_REVIEWER,)

    def get(self, request):
        return HttpResponse("queue")


def call_api(user):
    request = APIRequestFactory().get("/")
    if user is not None:
        force_authenticate(request, user=user)
    return ReviewerOnlyApi.as_view()(request)


def test_the_api_permission_admits_only_the_named_roles(reviewer, centre_admin, learner):
    assert call_api(reviewer).status_code == 200
    assert call_api(centre_admin).status_code == 200
    assert call_api(learner).status_code == 403
    assert call_api(None).status_code == 401


def test_the_api_permission_refuses_a_deactivated_reviewer(reviewer):
    reviewer.is_active = False
    assert call_api(reviewer).status_code == 403


def test_a_page_sends_visitors_to_sign_in_and_refuses_other_roles(reviewer, learner):
    from django.contrib.auth.models import AnonymousUser

    factory = RequestFactory()
    request = factory.get("/queue/")
    request.user = reviewer
    assert ReviewerOnlyPage.as_view()(request).status_code == 200

    request = factory.get("/queue/")
    request.user = AnonymousUser()
    response = ReviewerOnlyPage.as_view()(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")

    request = factory.get("/queue/")
    request.user = learner
    with pytest.raises(PermissionDenied):
        ReviewerOnlyPage.as_view()(request)


def test_the_database_refuses_a_reviewer_without_a_centre(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="x", role=Role.CENTRE_REVIEWER)


def test_the_database_refuses_an_institution_officer_without_an_institution(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="x", role=Role.INSTITUTION_OFFICER)


def test_the_database_refuses_a_branch_centre_without_a_management_centre(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Centre.objects.create(code="B1", name="分中心", kind=Centre.Kind.BRANCH)


def test_an_email_belongs_to_one_user_whatever_its_case(learner):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email=learner.email.upper())


def test_a_phone_number_belongs_to_one_user(learner):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(phone=learner.phone)


def test_users_without_email_or_phone_do_not_collide(db):
    UserFactory(email="", phone="")
    UserFactory(email="", phone="")
    assert User.objects.filter(email="", phone="").count() == 2


def test_the_navigation_follows_the_role(learner, management_admin, reviewer):
    from django.contrib.auth.models import AnonymousUser

    def names(user):
        return {item["url_name"] for item in items_for(user)}

    assert names(AnonymousUser()) == {"home", "catalogue", "register", "collective-apply"}
    assert "admin:index" in names(management_admin)
    assert "admin:index" not in names(reviewer)
    assert "api-docs" in names(reviewer)
    assert "conversion-rules-manage" in names(management_admin)
    assert "conversion-rules-manage" not in names(reviewer)
    assert names(learner) == {
        "home", "catalogue", "learning-file", "outcome-add", "applications", "transfers",
        "ledger-statement", "certificates", "preassessments",
    }  # fmt: skip
