"""A programme's rules (issue 24): caps refuse a transfer that would go past them, with a message
naming the rule and the figures, on both paths of an application and on acceptance, also when
two arrive at once; minimums are states on the path; versions never rewrite the past.

The world: a programme of 10 credits with four courses of 3 credits each; the learner holds
four accredited outcomes, each converting to one course. Figures below are worked by hand."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation

from accounts.models import Role
from accreditation.catalogue import beijing_today
from accreditation.models import CatalogueEntryVersion, Decision, Revocation
from accreditation.services import accreditation_revoke
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.locks import until_another_waits_on_a_lock
from tests.people import login_verified
from tests.transfers.factories import programme_with_courses, rule
from transfers import services as transfer_services
from transfers.models import ProgrammeRules, TransferApplication, TransferItem
from transfers.paths import learning_path
from transfers.programme_rules import (
    CategorySpec,
    programme_rules_in_force,
    programme_rules_publish,
)
from transfers.services import transfer_apply, transfer_item_decide, transfer_item_keep

pytestmark = pytest.mark.django_db

# The issuing bodies of the four outcomes' catalogue entries: the first two share one.
BODIES = ("重庆市教育委员会", "重庆市教育委员会", "重庆市人力资源和社会保障局", "重庆开放大学")


@pytest.fixture
def world(learner, institution_officer) -> dict[str, Any]:
    account = PersonalAccountFactory(holder=learner)
    programme, courses = programme_with_courses(institution_officer.institution, n=4)
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    outcomes = []
    for index, (course, body) in enumerate(zip(courses, BODIES, strict=True)):
        version = catalogue_version(code=f"CQ-ZG-00{index + 1}", name=f"证书{index + 1}")
        CatalogueEntryVersion.objects.filter(pk=version.pk).update(issuing_body=body)
        rule(version, course)
        outcomes.append(accredited_outcome(account, version, decider))
    return {
        "account": account,
        "programme": programme,
        "courses": courses,
        "outcomes": outcomes,
        "officer": institution_officer,
        "learner": learner,
    }


@pytest.fixture(params=["set", "python"])
def either_path(request, monkeypatch) -> str:
    """Run on the set-based path (PostgreSQL) and on the Python path."""
    if request.param == "set" and connection.vendor != "postgresql":
        pytest.skip("the set-based path needs PostgreSQL: set DATABASE_URL")
    if request.param == "python":
        monkeypatch.setattr(transfer_services, "_transfer_apply_set", lambda **kwargs: None)
    return str(request.param)


def publish(world: dict[str, Any], **caps: Any) -> ProgrammeRules:
    return programme_rules_publish(
        programme=world["programme"],
        actor=world["officer"],
        effective_from=beijing_today(),
        approving_body="开放大学教务处",
        rationale="学分银行转换规定",
        **caps,
    )


def apply(world: dict[str, Any], *indexes: int) -> TransferApplication:
    return transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][i], world["outcomes"][i]) for i in indexes],
        actor=world["learner"],
    )


def refusal(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Caps on applying -----------------------------------------------------------------------------


def test_an_application_past_the_yearly_cap_is_refused_naming_the_rule_and_figures(
    world, either_path
):
    publish(world, max_credits_per_year="5")
    apply(world, 0)  # 3 credits, waiting: counts this year

    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        apply(world, 1)  # 3 + 3 = 6 > 5

    assert refusal(excinfo) == {
        "items[0].course": [
            "每年认可学分上限：本年度已认可 3.0 学分，本次 3.0 学分，上限 5.0 学分。"
        ]
    }
    assert TransferApplication.objects.count() == 1


def test_the_course_that_goes_past_the_cap_is_the_one_named(world):
    publish(world, max_credits_per_year="7")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        apply(world, 0, 1, 2)  # 3, 6, then 9 > 7: the third

    assert list(refusal(excinfo)) == ["items[2].course"]
    assert TransferItem.objects.count() == 0


def test_credits_accepted_in_an_earlier_year_do_not_count_against_this_years_cap(world):
    publish(world, max_credits_per_year="5")
    item = apply(world, 0).items.get()
    transfer_item_decide(item=item, actor=world["officer"], decision="accept")
    TransferItem.objects.filter(pk=item.pk).update(
        decided_at=timezone.now() - datetime.timedelta(days=400)
    )

    second = apply(world, 1)  # 0 this year + 3 <= 5

    assert second.items.count() == 1


def test_the_cap_per_source_counts_the_issuing_body_of_the_outcomes_catalogue_entry(world):
    publish(world, max_credits_per_source="5")
    apply(world, 0)  # 重庆市教育委员会: 3

    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        apply(world, 1)  # 重庆市教育委员会 again: 6 > 5
    assert refusal(excinfo) == {
        "items[0].course": [
            "同一来源学分上限（重庆市教育委员会）：已认可 3.0 学分，本次 3.0 学分，上限 5.0 学分。"
        ]
    }

    assert apply(world, 2).items.count() == 1  # another body: 3 <= 5


def test_the_largest_share_from_the_bank_is_a_percentage_of_the_programmes_credits(world):
    publish(world, max_bank_share_percent=50)  # 50% of 10 = 5.0 credits
    apply(world, 0)

    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        apply(world, 2)
    assert refusal(excinfo) == {
        "items[0].course": [
            "学分银行学分占比上限：已认可 3.0 学分，本次 3.0 学分，上限 5.0 学分"
            "（10.0 学分的 50%）。"
        ]
    }


def test_a_rejected_course_frees_its_room_under_the_cap(world):
    publish(world, max_credits_per_year="5")
    item = apply(world, 0).items.get()
    transfer_item_decide(item=item, actor=world["officer"], decision="reject", reason="不符")

    assert apply(world, 1).items.count() == 1


# --- Caps on accepting ----------------------------------------------------------------------------


def test_an_acceptance_past_a_cap_set_after_the_application_is_refused(world):
    first, second = apply(world, 0, 1).items.order_by("pk")
    publish(world, max_credits_per_year="5")

    transfer_item_decide(item=first, actor=world["officer"], decision="accept")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        transfer_item_decide(item=second, actor=world["officer"], decision="accept")

    assert refusal(excinfo) == {
        "decision": ["每年认可学分上限：本年度已认可 3.0 学分，本次 3.0 学分，上限 5.0 学分。"]
    }
    second.refresh_from_db()
    assert second.state == "pending"
    # Rejecting is never refused by a cap.
    transfer_item_decide(item=second, actor=world["officer"], decision="reject", reason="超限")


def test_a_source_past_its_cap_does_not_refuse_a_course_from_another_source(world):
    """Two sources: 重庆市教育委员会 took 6 credits before a cap of 5 per source was set; a
    course from 重庆市人力资源和社会保障局 adds 3 to a source at 0, and is accepted."""
    first, second, third = apply(world, 0, 1, 2).items.order_by("pk")
    transfer_item_decide(item=first, actor=world["officer"], decision="accept")
    transfer_item_decide(item=second, actor=world["officer"], decision="accept")
    publish(world, max_credits_per_source="5")

    transfer_item_decide(item=third, actor=world["officer"], decision="accept")

    third.refresh_from_db()
    assert third.state == "accepted"


def test_a_course_kept_after_its_accreditation_was_revoked_still_counts_for_its_source(
    world, management_admin
):
    item = apply(world, 0).items.get()
    transfer_item_decide(item=item, actor=world["officer"], decision="accept")
    accreditation_revoke(
        decision=Decision.objects.get(application__outcome=world["outcomes"][0]),
        actor=management_admin,
        reason_code=Revocation.ReasonCode.CERTIFICATE_CANCELLED,
        reason="证书被注销",
    )
    item.refresh_from_db()
    transfer_item_keep(item=item, actor=world["officer"], reason="已核实学习经历")
    publish(world, max_credits_per_source="5")

    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        apply(world, 1)  # 重庆市教育委员会 again: 3 kept + 3 = 6 > 5

    assert refusal(excinfo) == {
        "items[0].course": [
            "同一来源学分上限（重庆市教育委员会）：已认可 3.0 学分，本次 3.0 学分，上限 5.0 学分。"
        ]
    }


def test_accepting_a_course_accepted_already_is_refused_as_a_move_not_by_a_cap(world):
    first, second = apply(world, 0, 1).items.order_by("pk")
    transfer_item_decide(item=first, actor=world["officer"], decision="accept")
    transfer_item_decide(item=second, actor=world["officer"], decision="accept")
    publish(world, max_credits_per_year="5")  # 3 + 3 already: a cap would refuse it too

    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        transfer_item_decide(item=first, actor=world["officer"], decision="accept")

    assert list(refusal(excinfo).values()) == [["处于“已同意”状态的课程不能执行“已同意”操作。"]]


# --- Versions -------------------------------------------------------------------------------------


def test_a_new_version_ends_the_previous_one_and_the_past_is_not_rewritten(world):
    today = beijing_today()
    first = publish(world, max_credits_per_year="42")
    second = programme_rules_publish(
        programme=world["programme"],
        actor=world["officer"],
        effective_from=today + datetime.timedelta(days=30),
        approving_body="开放大学教务处",
        rationale="调整",
        max_credits_per_year="36",
        categories=[
            CategorySpec(name="专业核心课", min_credits=Decimal(6), course_codes=("PRE-ZK-1",))
        ],
    )

    first.refresh_from_db()
    assert first.effective_to == today + datetime.timedelta(days=29)
    assert programme_rules_in_force(world["programme"]) == first
    assert (
        programme_rules_in_force(world["programme"], today + datetime.timedelta(days=30)) == second
    )
    assert first.max_credits_per_year == Decimal("42.0")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        programme_rules_publish(
            programme=world["programme"],
            actor=world["officer"],
            effective_from=today - datetime.timedelta(days=1),
            approving_body="开放大学教务处",
            rationale="补登",
        )
    assert list(refusal(excinfo)) == ["effective_from"]


def test_bad_rules_are_refused_by_field_and_nothing_is_written(world):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        publish(
            world,
            max_credits_per_year="-1",
            max_bank_share_percent=150,
            categories=[
                CategorySpec(name="专业核心课", min_credits=Decimal(6), course_codes=("PRE-ZK-1",)),
                CategorySpec(
                    name="专业选修课", min_credits=Decimal(3), course_codes=("PRE-ZK-1", "NOPE")
                ),
            ],
        )

    errors = refusal(excinfo)
    assert set(errors) == {"max_credits_per_year", "max_bank_share_percent", "categories"}
    assert "“NOPE”不是本专业的课程。" in errors["categories"]
    assert "“PRE-ZK-1”已在“专业核心课”中：一门课程只能属于一个类别。" in errors["categories"]
    assert not ProgrammeRules.objects.exists()


def test_another_institutions_officer_cannot_publish(world):
    stranger = UserFactory(role=Role.INSTITUTION_OFFICER, institution=InstitutionFactory())
    with pytest.raises(ValidationError) as excinfo:
        programme_rules_publish(
            programme=world["programme"],
            actor=stranger,  # type: ignore[arg-type]
            effective_from=beijing_today(),
            approving_body="x",
            rationale="y",
        )
    assert list(refusal(excinfo)) == ["programme"]
    assert not ProgrammeRules.objects.exists()


# --- The path -------------------------------------------------------------------------------------


def test_the_path_shows_each_rules_state_with_figures(world, client):
    item = apply(world, 0).items.get()
    transfer_item_decide(item=item, actor=world["officer"], decision="accept")
    publish(
        world,
        max_credits_per_year="5",
        residency_credits="5",
        categories=[
            CategorySpec(
                name="专业核心课", min_credits=Decimal(6), course_codes=("PRE-ZK-1", "PRE-ZK-2")
            ),
            CategorySpec(name="通识课", min_credits=Decimal(3), course_codes=("PRE-ZK-3",)),
        ],
    )

    with translation.override("zh-hans"):
        path = learning_path(account=world["account"], programme=world["programme"])
        states = {(s.rule, s.message): s.state for s in path.rule_states}
    # Accepted 3 this year; courses 2, 3 and 4 can be applied for: 3 + 9 > 5.
    # 专业核心课: 3 of 6 transferred; 通识课: 0 of 3. Residency: 10 - (3 + 9) leaves 0 < 5.
    assert states == {
        ("per_year", "每年认可学分上限：本年度已认可 3.0 学分，本次 9.0 学分，上限 5.0 学分。"): (
            "would_exceed"
        ),
        ("category", "专业核心课还需 3.0 学分（已有 3.0 学分，最低 6.0 学分）。"): "not_yet",
        ("category", "通识课还需 3.0 学分（已有 0 学分，最低 3.0 学分）。"): "not_yet",
        ("residency", "至少 5.0 学分须在本校修读；本次转换后仅剩 0 学分。"): "would_exceed",
    }

    client.force_login(world["learner"])
    page = client.get(f"/file/goals/{world['programme'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert 'data-testid="rule-per_year" data-state="would_exceed"' in html
    assert "专业核心课还需 3.0 学分" in html
    api = client.get(f"/api/v1/transfers/paths/{world['programme'].pk}/").json()
    assert api["rules_version"] == 1
    assert [(s["rule"], s["state"]) for s in api["rule_states"]] == [
        ("per_year", "would_exceed"),
        ("category", "not_yet"),
        ("category", "not_yet"),
        ("residency", "would_exceed"),
    ]


# --- The institution's page and API ---------------------------------------------------------------


def test_the_officer_publishes_rules_on_the_page_and_sees_the_history(world, client):
    login_verified(client, world["officer"])
    url = f"/institution/programmes/{world['programme'].pk}/rules/"
    assert "发布新版本" in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    form = {
        "effective_from": beijing_today().isoformat(),
        "max_credits_per_year": "42",
        "max_credits_per_source": "",
        "max_bank_share_percent": "",
        "residency_credits": "",
        "categories": "专业核心课 | 6 | PRE-ZK-1 PRE-ZK-2",
        "approving_body": "开放大学教务处",
        "rationale": "学分银行转换规定",
    }
    bad = client.post(
        url, {**form, "categories": "专业核心课 | 6 | NOPE"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert bad.status_code == 400
    assert "“NOPE”不是本专业的课程。" in bad.content.decode()
    assert not ProgrammeRules.objects.exists()

    done = client.post(url, form, HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True)
    assert 'data-testid="rules-v1" data-in-force="true"' in done.content.decode()
    rules = ProgrammeRules.objects.get()
    assert rules.max_credits_per_year == Decimal("42.0")
    assert [
        (c.name, c.min_credits, [m.course.code for m in c.members.all()])
        for c in rules.categories.all()
    ] == [("专业核心课", Decimal("6.0"), ["PRE-ZK-1", "PRE-ZK-2"])]


def test_the_api_publishes_a_version_and_anyone_reads_the_history(world, api_client):
    url = f"/api/v1/transfers/programmes/{world['programme'].pk}/rules/"
    body = {
        "effective_from": beijing_today().isoformat(),
        "max_credits_per_year": "42",
        "max_credits_per_source": "105",
        "categories": [{"name": "专业核心课", "min_credits": "6", "course_codes": ["PRE-ZK-1"]}],
        "approving_body": "开放大学教务处",
        "rationale": "学分银行转换规定",
    }
    api_client.force_authenticate(world["learner"])
    assert api_client.post(url, body, format="json").status_code == 403

    api_client.force_authenticate(world["officer"])
    bad = api_client.post(url, {**body, "max_bank_share_percent": 0}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()) == ["max_bank_share_percent"]
    created = api_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rules-1")
    again = api_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rules-1")
    assert created.status_code == 201
    assert again.json() == created.json()
    assert ProgrammeRules.objects.count() == 1

    api_client.force_authenticate(None)
    read = api_client.get(url).json()
    assert [
        (r["version"], r["in_force"], r["max_credits_per_year"], r["categories"]) for r in read
    ] == [
        (
            1,
            True,
            "42.0",
            [
                {
                    "name": "专业核心课",
                    "name_en": "",
                    "min_credits": "6.0",
                    "course_codes": ["PRE-ZK-1"],
                }
            ],
        )
    ]


# --- Two at once, on PostgreSQL -------------------------------------------------------------------


def _race(hook_name: str, monkeypatch: Any, first: Any, second: Any) -> list[BaseException]:
    """Run ``first`` and ``second`` on two connections: the second starts once the first is
    inside its cap check (holding the learner's account lock), and the first goes on only once
    the second waits on a lock; the errors they raised."""
    inside = threading.Event()
    errors: list[BaseException] = []
    hooked = getattr(transfer_services, hook_name)

    def check(**kwargs: Any) -> Any:
        if not inside.is_set():
            inside.set()
            until_another_waits_on_a_lock()
        return hooked(**kwargs)

    monkeypatch.setattr(transfer_services, hook_name, check)

    def run(work: Any, wait: bool) -> None:
        try:
            if wait:
                inside.wait(timeout=10)
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(first, False)),
        threading.Thread(target=run, args=(second, True)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_applications_racing_against_the_yearly_cap_only_one_passes(
    postgres, world, either_path, monkeypatch
):
    publish(world, max_credits_per_year="5")

    errors = _race(
        "transfer_caps_refusals",
        monkeypatch,
        lambda: apply(world, 0),
        lambda: apply(world, 1),
    )

    assert TransferItem.objects.count() == 1
    assert [type(e).__name__ for e in errors] == ["ValidationError"]
    with translation.override("zh-hans"):
        assert "上限 5.0 学分" in " ".join(errors[0].messages)  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_two_acceptances_racing_against_the_yearly_cap_only_one_passes(
    postgres, world, monkeypatch
):
    first, second = apply(world, 0, 1).items.order_by("pk")
    publish(world, max_credits_per_year="5")
    other_officer = UserFactory(
        role=Role.INSTITUTION_OFFICER, institution=world["officer"].institution
    )

    errors = _race(
        "acceptance_caps_refusals",
        monkeypatch,
        lambda: transfer_item_decide(item=first, actor=world["officer"], decision="accept"),
        lambda: transfer_item_decide(item=second, actor=other_officer, decision="accept"),  # type: ignore[arg-type]
    )

    assert sorted(TransferItem.objects.values_list("state", flat=True)) == ["accepted", "pending"]
    assert [type(e).__name__ for e in errors] == ["ValidationError"]
