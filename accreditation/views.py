"""Pages of accreditation applications: the learner's list, submitting an outcome and following
one application; the centre's queue and the page where a reviewer works one application.

Pages only parse the input, call one service of :mod:`accreditation.services` and shape the
answer. Who sees an application is ``application_visible_to``: anything else is a 404, so ids of
other learners' or other centres' applications reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views import View

from accounts.models import LearningAccount, Role, User
from accounts.services import learning_account_required
from accounts.signin.permissions import RoleRequiredMixin
from common.forms import form_errors_apply
from outcomes.models import LearningOutcome
from outcomes.services import evidence_in_upload_order, outcomes_of
from outcomes.storage import uploads_read

from . import services
from .catalogue import catalogue_version_current
from .forms import (
    AccreditForm,
    ApplicationSubmitForm,
    ApproveForm,
    AssignForm,
    ProposeForm,
    QueueFilterForm,
    ReasonForm,
    ResubmitForm,
    StartReviewForm,
    WithdrawForm,
)
from .models import UNDECIDED_STATES, Application, ApplicationEvent, ApplicationState
from .queue_rows import queue_rows
from .workflow import allowed_actions

days_left_set = services.days_left_set

Action = ApplicationEvent.Action
STAFF = (Role.CENTRE_REVIEWER, Role.CENTRE_ADMIN, Role.MANAGEMENT_ADMIN)
PER_PAGE = 50
# Session key: the application this reviewer has just moved (see CentreApplicationPage.get).
JUST_MOVED = "accreditation:just_moved"


# --- Working days left, for lists ---------------------------------------------------------------


# --- The learner's pages ------------------------------------------------------------------------


class LearnerPage(RoleRequiredMixin, View):
    allowed_roles = (Role.LEARNER,)

    def account(self, request: HttpRequest) -> LearningAccount:
        return learning_account_required(user=request.user)  # type: ignore[arg-type]

    def application(self, request: HttpRequest, pk: int) -> Application:
        visible = services.application_visible_to(user=request.user)  # type: ignore[arg-type]
        return get_object_or_404(_detailed(visible), pk=pk)


def _detailed(applications: QuerySet[Application]) -> QuerySet[Application]:
    """What the page of one application shows: its timeline, its decision, the evidence."""
    return applications.select_related(
        "claimed_entry",
        "decision__catalogue_version__entry",
        "decision__decided_by",
        "decision__approved_by",
    ).prefetch_related(
        Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
        Prefetch("outcome__evidence", queryset=evidence_in_upload_order()),
    )


class ApplicationListPage(LearnerPage):
    """The learner's applications, newest first, with due dates and decisions."""

    def get(self, request: HttpRequest) -> HttpResponse:
        applications = services.applications_of(account=self.account(request))
        page = Paginator(applications, PER_PAGE).get_page(request.GET.get("page"))
        days_left_set(page.object_list)
        # The years whose arrangement could still move a date shown on this page (a phone
        # shows no hover text: the page says it under the table).
        provisional_years = sorted(
            {
                a.due_on.year
                for a in page.object_list
                if a.is_open and a.due_is_provisional and a.due_on is not None
            }
        )
        # With nothing applied for yet, the saved outcomes that could be, each one click away.
        saved = (
            list(
                outcomes_of(account=self.account(request))
                .filter(status=LearningOutcome.Status.SAVED)
                .only("pk", "title", "kind")[:10]
            )
            if not page.object_list
            else []
        )
        return render(
            request,
            "accreditation/applications.html",
            {
                "page": page,
                "provisional_years": ", ".join(map(str, provisional_years)),
                "saved": saved,
            },
        )


class ApplicationSubmitPage(LearnerPage):
    """Submit a saved outcome to a centre, claiming the catalogue entry it matches."""

    def get(self, request: HttpRequest, outcome_id: int) -> HttpResponse:
        outcome = self.outcome(request, outcome_id)
        if isinstance(outcome, HttpResponse):
            return outcome
        estimate = services.outcome_estimate(outcome=outcome)
        return self.render(request, outcome, estimate, self.form(outcome, estimate))

    def post(self, request: HttpRequest, outcome_id: int) -> HttpResponse:
        outcome = self.outcome(request, outcome_id)
        if isinstance(outcome, HttpResponse):
            return outcome
        estimate = services.outcome_estimate(outcome=outcome)
        form = self.form(outcome, estimate, request.POST)
        if form.is_valid():
            try:
                application = services.application_submit(
                    outcome=outcome,
                    centre=form.cleaned_data["centre"],
                    actor=request.user,  # type: ignore[arg-type]
                    claimed_entry=form.cleaned_data["claimed_entry"],
                    statement=form.cleaned_data["statement"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "“%(title)s” is submitted to %(centre)s for accreditation. The decision "
                        "is due by %(due_on)s."
                    )
                    % {
                        "title": outcome.title,
                        "centre": application.centre.name,
                        "due_on": f"{application.due_on:%Y-%m-%d}",
                    },
                )
                return redirect("application-detail", pk=application.pk)
        return self.render(request, outcome, estimate, form)

    def outcome(self, request: HttpRequest, outcome_id: int) -> LearningOutcome | HttpResponse:
        """The learner's own outcome, or where to go instead when it cannot be submitted."""
        outcome = get_object_or_404(outcomes_of(account=self.account(request)), pk=outcome_id)
        pending = services.undecided_application_of(outcome=outcome)
        if pending is not None:
            messages.info(request, _("This outcome is already submitted for accreditation."))
            return redirect("application-detail", pk=pending.pk)
        if outcome.status != LearningOutcome.Status.SAVED:
            messages.error(request, _("Only a saved outcome can be submitted for accreditation."))
            return redirect("outcome-detail", pk=outcome.pk)
        return outcome

    @staticmethod
    def form(
        outcome: LearningOutcome, estimate: dict[str, Any], data: Any = None
    ) -> ApplicationSubmitForm:
        matched = estimate["entry"]["code"] if estimate["matched"] else ""
        usual = (
            Application.objects.filter(account_id=outcome.account_id)
            .order_by("-submitted_at", "-pk")
            .values_list("centre_id", flat=True)
            .first()
        )
        return ApplicationSubmitForm(
            data, kind=outcome.kind, matched_code=matched, usual_centre_id=usual
        )

    @staticmethod
    def render(
        request: HttpRequest,
        outcome: LearningOutcome,
        estimate: dict[str, Any],
        form: ApplicationSubmitForm,
    ) -> HttpResponse:
        context = {"outcome": outcome, "estimate": estimate, "form": form}
        return render(request, "accreditation/application_form.html", context)


class ApplicationDetailPage(LearnerPage):
    """One application: where it stands, its timeline, the decision; and, when the reviewer
    asks for more material, the form to provide it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.application(request, pk), ResubmitForm())

    def render(
        self, request: HttpRequest, application: Application, resubmit_form: ResubmitForm
    ) -> HttpResponse:
        days_left_set([application])
        # The centre's internal deliberation on a proposal is not the learner's to read.
        events = [e for e in application.events.all() if e.action not in services.INTERNAL_ACTIONS]
        context = {
            "application": application,
            "events": events,
            "supplement_reason": _supplement_reason(application, events),
            "resubmit_form": resubmit_form,
            "can_withdraw": application.state in UNDECIDED_STATES,
        }
        return render(request, "accreditation/application_detail.html", context)


def _supplement_reason(application: Application, events: list[ApplicationEvent]) -> str:
    """What the reviewer asked for, while the learner still has to provide it."""
    if application.state != ApplicationState.SUPPLEMENT_REQUESTED:
        return ""
    asked = [e for e in events if e.action == Action.REQUEST_SUPPLEMENT]
    return asked[-1].reason if asked else ""


class ApplicationResubmitPage(ApplicationDetailPage):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        application = self.application(request, pk)
        form = ResubmitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.application_resubmit(
                    application=application,
                    actor=request.user,  # type: ignore[arg-type]
                    uploads=uploads_read(form.cleaned_data["evidence"]),
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("Your material is sent to the reviewer. The clock runs again."),
                )
                return redirect("application-detail", pk=pk)
        return self.render(request, application, form)


class ApplicationWithdrawPage(LearnerPage):
    """Asks first; withdrawing puts the outcome back in the file as saved."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(request, self.application(request, pk), WithdrawForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        application = self.application(request, pk)
        form = WithdrawForm(request.POST)
        if form.is_valid():
            try:
                services.application_withdraw(
                    application=application,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(
                    request,
                    _("The application is withdrawn. “%(title)s” is saved in your file again.")
                    % {"title": application.outcome.title},
                )
                return redirect("application-detail", pk=pk)
        return self.render(request, application, form)

    @staticmethod
    def render(request: HttpRequest, application: Application, form: WithdrawForm) -> HttpResponse:
        context = {"application": application, "form": form}
        return render(request, "accreditation/application_withdraw.html", context)


# --- The centre's pages -------------------------------------------------------------------------


class QueuePage(RoleRequiredMixin, View):
    """The centre's applications still owing a decision (or in another state), by due date;
    the management admin sees every centre, or one."""

    allowed_roles = STAFF

    def get(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        is_management = user.role == Role.MANAGEMENT_ADMIN
        centres = list(services.submission_centres()) if is_management else None
        wanted = request.GET.get("centre", "")
        centre = (
            next((c for c in centres or [] if c.code == wanted), None)
            if is_management
            else user.centre
        )
        reviewers = list(services.reviewers_of(centre=centre)) if centre else []
        form = QueueFilterForm(request.GET, reviewers=reviewers, centres=centres)
        filters = form.filters()
        applications = services.application_queue(
            user=user,
            state=filters.get("state", ""),
            kind=filters.get("kind", ""),
            reviewer=filters.get("reviewer", ""),
            centre=centre if is_management else None,
            ordering=filters.get("ordering", "due_on"),
        )
        page = Paginator(applications, PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "form": form,
            "page": page,
            "query": urlencode(filters),
            "is_management": is_management,
            # Made in Python (queue_rows.py); each links to "<prefix><pk>/": one reverse for
            # the page, none per row.
            "rows": queue_rows(
                days_left_set(page.object_list),
                prefix=reverse("centre-application", args=[0]).removesuffix("0/"),
                is_management=is_management,
            ),
        }
        return render(request, "accreditation/queue.html", context)


@dataclass(frozen=True)
class Move:
    """One move a reviewer makes from the application's page."""

    slug: str
    action: str
    title: Promise
    button: Promise
    form_class: type[forms.Form]
    call: Callable[[Application, User, dict[str, Any]], object]
    done: Promise


MOVES: dict[str, Move] = {
    move.slug: move
    for move in [
        Move(
            "start-review",
            Action.START_REVIEW,
            gettext_lazy("Start the review"),
            gettext_lazy("Start the review"),
            StartReviewForm,
            lambda a, u, d: services.review_start(application=a, actor=u),
            gettext_lazy("You are reviewing this application."),
        ),
        Move(
            "assign",
            Action.ASSIGN,
            gettext_lazy("Assign to a reviewer"),
            gettext_lazy("Assign"),
            AssignForm,
            lambda a, u, d: services.application_assign(
                application=a, actor=u, reviewer=d["reviewer"]
            ),
            gettext_lazy("The application is assigned."),
        ),
        Move(
            "accredit",
            Action.ACCREDIT,
            gettext_lazy("Accredit against the catalogue"),
            gettext_lazy("Accredit"),
            AccreditForm,
            lambda a, u, d: services.accredit_against_catalogue(
                application=a, actor=u, entry=d["entry"], reason=d["reason"]
            ),
            gettext_lazy("The outcome is accredited; the learner is told."),
        ),
        Move(
            "propose",
            Action.PROPOSE_INDIVIDUAL,
            gettext_lazy("Propose individual accreditation"),
            gettext_lazy("Propose"),
            ProposeForm,
            lambda a, u, d: services.individual_propose(
                application=a, actor=u, hours=d["hours"], credits=d["credits"], reason=d["reason"]
            ),
            gettext_lazy("The proposal waits for a second reviewer's approval."),
        ),
        Move(
            "approve",
            Action.APPROVE_INDIVIDUAL,
            gettext_lazy("Approve the proposal"),
            gettext_lazy("Approve"),
            ApproveForm,
            lambda a, u, d: services.individual_approve(application=a, actor=u),
            gettext_lazy("The proposal is approved and the outcome accredited."),
        ),
        Move(
            "return-proposal",
            Action.RETURN_PROPOSAL,
            gettext_lazy("Do not approve the proposal"),
            gettext_lazy("Return the proposal"),
            ReasonForm,
            lambda a, u, d: services.individual_return(application=a, actor=u, reason=d["reason"]),
            gettext_lazy("The proposal is returned; the review goes on."),
        ),
        Move(
            "request-supplement",
            Action.REQUEST_SUPPLEMENT,
            gettext_lazy("Ask for supplementary material"),
            gettext_lazy("Ask the learner"),
            ReasonForm,
            lambda a, u, d: services.supplement_request(application=a, actor=u, reason=d["reason"]),
            gettext_lazy("The learner is asked for more material; the clock stops."),
        ),
        Move(
            "reject",
            Action.REJECT,
            pgettext_lazy("accreditation application", "Reject"),
            pgettext_lazy("accreditation application", "Reject"),
            ReasonForm,
            lambda a, u, d: services.application_reject(application=a, actor=u, reason=d["reason"]),
            gettext_lazy("The application is rejected; the learner is told why."),
        ),
    ]
}


def moves_for(application: Application, user: User) -> list[str]:
    """The moves the workflow allows now that this user may make (the services have the last
    word; this decides which forms the page offers)."""
    if (
        user.role not in services.REVIEWER_ROLES
        or user.centre_id != application.centre_id
        or application.account.holder_id == user.pk
    ):
        return []
    allowed = set(allowed_actions(application.state))
    mine = application.assigned_to_id == user.pk
    proposal_to_judge = application.has_proposal and application.proposed_by_id != user.pk
    wanted: dict[str, bool] = {
        Action.START_REVIEW: application.assigned_to_id in (None, user.pk),
        Action.ASSIGN: user.role == Role.CENTRE_ADMIN,
        Action.ACCREDIT: mine,
        Action.PROPOSE_INDIVIDUAL: mine and not application.has_proposal,
        Action.APPROVE_INDIVIDUAL: proposal_to_judge,
        Action.RETURN_PROPOSAL: proposal_to_judge,
        Action.REQUEST_SUPPLEMENT: mine,
        Action.REJECT: mine,
    }
    return [slug for slug, move in MOVES.items() if move.action in allowed and wanted[move.action]]


class CentreApplicationPage(RoleRequiredMixin, View):
    """The reviewer's page of one application: the outcome and its evidence, the learner's
    statement and claim, what the catalogue gives, the timeline, and a form for each move this
    reviewer may make now. Opening it is recorded as a look into the learner's file."""

    allowed_roles = STAFF

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        application = self.application(request, pk)
        # The page shown again after this reviewer's own move is not a new look into the file:
        # the look before the move was recorded, and the move is in the timeline.
        if request.session.pop(JUST_MOVED, None) != pk:
            services.application_opened_by_staff(application=application, staff=request.user)  # type: ignore[arg-type]
        return self.render(request, application)

    @staticmethod
    def application(request: HttpRequest, pk: int) -> Application:
        visible = services.application_visible_to(user=request.user)  # type: ignore[arg-type]
        return get_object_or_404(_detailed(visible), pk=pk)

    def render(
        self,
        request: HttpRequest,
        application: Application,
        bound: tuple[str, forms.Form] | None = None,
        page_errors: list[str] | None = None,
    ) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        days_left_set([application])
        estimate = services.outcome_estimate(outcome=application.outcome)
        claimed = (
            catalogue_version_current(entry=application.claimed_entry)
            if application.claimed_entry
            else None
        )
        default_code = (
            application.claimed_entry.code
            if application.claimed_entry
            else (estimate["entry"]["code"] if estimate["matched"] else "")
        )
        moves = []
        for slug in moves_for(application, user):
            move = MOVES[slug]
            form = (
                bound[1]
                if bound and bound[0] == slug
                else _move_form(slug, application, default_code)
            )
            moves.append({"slug": slug, "move": move, "form": form})
        context = {
            "application": application,
            "outcome": application.outcome,
            "events": list(application.events.all()),
            "estimate": estimate,
            "claimed": claimed,
            "moves": moves,
            "page_errors": page_errors or [],
        }
        return render(request, "accreditation/centre_application.html", context)


def _move_form(
    slug: str, application: Application, default_code: str, data: Any = None
) -> forms.Form:
    form_class = MOVES[slug].form_class
    kwargs: dict[str, Any] = {"prefix": slug}
    if form_class is AssignForm:
        kwargs["centre"] = application.centre
    elif form_class is AccreditForm:
        kwargs |= {"kind": application.kind, "default_code": default_code}
    return form_class(data, **kwargs)


class CentreApplicationMovePage(CentreApplicationPage):
    """``POST /centre/applications/<id>/<move>/``: one view for every move, dispatching by
    the move's name. A refused move shows the page again with the errors beside the fields of
    that move's form."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, move: str) -> HttpResponse:
        if move not in MOVES:
            raise Http404
        application = self.application(request, pk)
        form = _move_form(move, application, "", request.POST)
        if form.is_valid():
            try:
                MOVES[move].call(application, request.user, form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, str(MOVES[move].done))
                request.session[JUST_MOVED] = pk
                return redirect("centre-application", pk=pk)
        # The application may have moved meanwhile: read it again for the page.
        application = self.application(request, pk)
        page_errors: list[str] = []
        if move not in moves_for(application, request.user):  # type: ignore[arg-type]
            # The form is not offered any more (another reviewer was quicker): say why above.
            page_errors = [str(e) for errors in form.errors.values() for e in errors]
        return self.render(request, application, (move, form), page_errors)
