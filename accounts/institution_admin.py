"""What the institution administrator's own tools (service accounts, webhooks) share: the lookup
of the institution and of one of its objects, answering 404 to anyone but the institution's own
administrators; the bases of their pages and API views; and a new secret answered once (in the
API's response, or kept in the session for the next page and then forgotten)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.core.models import Institution, Role
from accounts.signin.permissions import HasRole, RoleRequiredMixin
from common.forms import form_errors_apply

# The API's bases carry no docstring: the OpenAPI schema would take it for the description of
# every operation of a view that has none of its own.


# ``institution_of``: the service answering the institution if the user administers it.
class InstitutionAdminLookups:
    def institution_of(self, *, user: Any, institution_id: int) -> Institution | None:
        raise NotImplementedError

    def institution(self, request: Any, pk: int) -> Institution:
        institution = self.institution_of(user=request.user, institution_id=pk)
        if institution is None:
            raise Http404
        return institution

    def owned(
        self, objects: type[Model] | QuerySet[Any], request: Any, pk: int, object_id: int
    ) -> Any:
        """The institution's object ``object_id`` (404 if it is another's, or none)."""
        return get_object_or_404(objects, pk=object_id, institution=self.institution(request, pk))


@dataclass(frozen=True)
class SecretShownOnce:
    """A secret just made, kept in the session under ``session_key`` with the pk of what it
    belongs to (under ``owner``), shown once on that object's next page and then forgotten."""

    session_key: str
    owner: str

    def keep(self, request: HttpRequest, owner_pk: int, secret: str) -> None:
        request.session[self.session_key] = {self.owner: owner_pk, "secret": secret}

    def take(self, request: HttpRequest, owner_pk: int) -> str | None:
        shown = request.session.pop(self.session_key, None)
        if isinstance(shown, dict) and shown.get(self.owner) == owner_pk:
            return str(shown.get("secret"))
        return None


class InstitutionAdminPage(InstitutionAdminLookups, RoleRequiredMixin, View):
    allowed_roles = (Role.INSTITUTION_ADMIN,)
    secret_once: ClassVar[SecretShownOnce]


class InstitutionAdminListPage(InstitutionAdminPage):
    """The institution's objects with a form for a new one (``form_class``); once made, the new
    one's page (``detail_url_name``) shows its secret this once."""

    form_class: ClassVar[type[forms.Form]]
    detail_url_name: ClassVar[str]

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        """The new object and its secret, from the form's cleaned data."""
        raise NotImplementedError

    def render(
        self, request: HttpRequest, institution: Institution, form: Any, status: int = 200
    ) -> HttpResponse:
        raise NotImplementedError

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.institution(request, pk), self.form_class())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        institution = self.institution(request, pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                made, secret = self.create(
                    institution=institution, actor=request.user, data=form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                self.secret_once.keep(request, made.pk, secret)
                return redirect(self.detail_url_name, institution.pk, made.pk)
        return self.render(request, institution, form, status=400)


# ``secret_field``: the name a new secret is answered under, this once.
class InstitutionAdminApi(InstitutionAdminLookups, APIView):
    permission_classes = [HasRole.of(Role.INSTITUTION_ADMIN)]
    secret_field: ClassVar[str]

    def secret_answer(self, secret: str) -> Response:
        return Response({self.secret_field: secret})


# ``GET``: the institution's objects; ``POST``: a new one from ``request_serializer``, answered
# (201) with its secret this once. Subclasses describe both with ``extend_schema_view``.
class InstitutionAdminCollectionApi(InstitutionAdminApi):
    listed_serializer: ClassVar[type[serializers.Serializer]]
    created_serializer: ClassVar[type[serializers.Serializer]]
    request_serializer: ClassVar[type[serializers.Serializer]]

    def listed(self, institution: Institution) -> Any:
        raise NotImplementedError

    def create(
        self, *, institution: Institution, actor: Any, data: dict[str, Any]
    ) -> tuple[Any, str]:
        raise NotImplementedError

    def get(self, request: Request, pk: int) -> Response:
        return Response(
            self.listed_serializer(self.listed(self.institution(request, pk)), many=True).data
        )

    def post(self, request: Request, pk: int) -> Response:
        institution = self.institution(request, pk)
        body = self.request_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        made, secret = self.create(
            institution=institution, actor=request.user, data=body.validated_data
        )
        setattr(made, self.secret_field, secret)
        return Response(self.created_serializer(made).data, status=status.HTTP_201_CREATED)
