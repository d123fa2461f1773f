"""Pages of the what-if across programmes and of the plan to one programme (see
``transfers.whatif``)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View

from accounts.models import Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import RoleRequiredMixin
from common.http import SignedInRequest
from common.replicas import replica_reads

from .forms import WhatIfFilterForm
from .models import Programme
from .whatif import programme_plan, what_if

PER_PAGE = 20


class WhatIfPage(RoleRequiredMixin, View):
    """Every published programme ranked by what the learner's outcomes cover, filterable by
    institution, level and kind; each row links to the programme's path and plan."""

    allowed_roles = (Role.LEARNER,)

    @replica_reads
    def get(self, request: SignedInRequest[User]) -> HttpResponse:
        form = WhatIfFilterForm(request.GET or None)
        rows = what_if(account=learning_account_required(user=request.user), **form.valid_filters())
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "transfers/what_if.html",
            {"form": form, "page": page, "query": query.urlencode()},
        )


class PlanPage(RoleRequiredMixin, View):
    """The plan to one programme: what is done, what waits for an accreditation, and the
    catalogue entries that would cover the missing courses, with hours and credits."""

    allowed_roles = (Role.LEARNER,)

    def get(self, request: SignedInRequest[User], programme_id: int) -> HttpResponse:
        programme = get_object_or_404(
            Programme.objects.select_related("institution").filter(is_published=True),
            pk=programme_id,
        )
        plan = programme_plan(
            account=learning_account_required(user=request.user), programme=programme
        )
        return render(request, "transfers/plan.html", {"plan": plan})
