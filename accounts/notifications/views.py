"""The notification list: pages and API, for every signed-in user.

Each user sees and marks only their own notices; an id of someone else's is a 404 on a page
and is ignored by the API's mark-read. Opening a notice follows its link, which is only ever a
path on this portal (checked when stored and again here), never a redirect to another site.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.core.models import User
from accounts.notifications.models import Notification
from accounts.notifications.services import (
    RenderedNotification,
    is_local_path,
    notification_open,
    notification_render,
    notifications_mark_read,
    notifications_of,
    notifications_unread_count,
)
from common.replicas import replica_reads

PER_PAGE = 20
# Ids marked in one request; more is not a click, and the limit keeps the query bounded.
MAX_IDS = 1_000
MAX_ID = 2**63 - 1


def _ids_from(values: list[str]) -> list[int]:
    return [int(v) for v in values[:MAX_IDS] if v.isascii() and v.isdigit() and len(v) <= 18]


# --- Pages ----------------------------------------------------------------------------------


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notices, newest first, unread ones highlighted."""
    user: User = request.user  # type: ignore[assignment]
    page = Paginator(notifications_of(user=user), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "notices": [notification_render(n) for n in page.object_list],
        "unread": notifications_unread_count(user=user),
    }
    return render(request, "accounts/notifications.html", context)


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark all notices read (``all``), or the ones named by ``ids``."""
    user: User = request.user  # type: ignore[assignment]
    ids = None if request.POST.get("all") else _ids_from(request.POST.getlist("ids"))
    marked = notifications_mark_read(user=user, ids=ids)
    if ids is None and marked:
        messages.success(request, _("All notices are marked as read."))
    target = reverse("notifications")
    page = request.POST.get("page", "")
    if page.isascii() and page.isdigit() and len(page) <= 6:
        target += f"?page={page}"
    return HttpResponseRedirect(target)


@login_required
def notification_follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a notice: it is marked read and its link followed. A link that is not a path on
    this portal is not followed (the list is shown instead)."""
    try:
        notification = notification_open(user=request.user, notification_id=pk)  # type: ignore[arg-type]
    except Notification.DoesNotExist:
        raise Http404 from None
    link = notification.link
    return HttpResponseRedirect(link if link and is_local_path(link) else reverse("notifications"))


# --- API ------------------------------------------------------------------------------------


class NotificationSerializer(serializers.Serializer):
    """A notice as rendered for the caller, in the language of the request."""

    id = serializers.IntegerField(read_only=True)
    # A plain string in the schema: an enum named "kind" would collide with the other "kind"
    # enums in drf-spectacular's naming.
    kind = serializers.CharField(
        read_only=True,
        help_text=format_lazy(
            gettext_lazy("One of: {kinds}."), kinds=", ".join(Notification.Kind.values)
        ),
    )
    title = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    link = serializers.CharField(
        read_only=True, help_text=gettext_lazy("A path on this portal, or empty.")
    )
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    unread = serializers.BooleanField(read_only=True)


class NotificationPagination(PageNumberPagination):
    """Pages of notices that also tell how many of all the caller's notices are unread."""

    page_size = PER_PAGE
    unread = 0

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread"] = self.unread
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread"] = {"type": "integer", "example": 3}
        paginated.setdefault("required", []).append("unread")
        return paginated


class NotificationListView(ListAPIView):
    """The caller's notices, newest first; ``?unread=1`` lists only the unread ones. Every page
    also gives ``unread``, the number of all the caller's unread notices."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination

    def get_queryset(self) -> Any:
        notices = notifications_of(user=self.request.user)  # type: ignore[arg-type]
        if self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}:
            notices = notices.filter(read_at__isnull=True)
        return notices

    @extend_schema(
        parameters=[
            OpenApiParameter("unread", bool, description=gettext_lazy("Only the unread notices."))
        ]
    )
    @replica_reads
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notices = self.paginate_queryset(self.get_queryset()) or []
        rendered: list[RenderedNotification] = [notification_render(n) for n in notices]
        paginator = cast(NotificationPagination, self.paginator)
        paginator.unread = notifications_unread_count(user=request.user)  # type: ignore[arg-type]
        return self.get_paginated_response(self.get_serializer(rendered, many=True).data)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_IDS,
        help_text=gettext_lazy("The notices to mark as read; other users' ids are ignored."),
    )
    all = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("Mark all notices as read.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("all") and "ids" in attrs:
            raise serializers.ValidationError(
                {"all": _("Give either the ids of the notices or all, not both.")}
            )
        if not attrs.get("all") and "ids" not in attrs:
            raise serializers.ValidationError(
                {"ids": _("Give the ids of the notices to mark as read, or all: true.")}
            )
        return attrs


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=gettext_lazy("Notices that were unread."))
    unread = serializers.IntegerField(help_text=gettext_lazy("Notices still unread."))


class NotificationReadView(APIView):
    """Mark the caller's notices as read: ``{"ids": [...]}`` or ``{"all": true}``."""

    @extend_schema(request=MarkReadSerializer, responses=MarkReadResultSerializer)
    def post(self, request: Request) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        ids = None if body.validated_data.get("all") else body.validated_data["ids"]
        marked = notifications_mark_read(user=user, ids=ids)
        result = {"marked": marked, "unread": notifications_unread_count(user=user)}
        return Response(MarkReadResultSerializer(result).data)
