"""The what-if across programmes and the plan to one (issue 24): the ranking by the share of
credits covered now, with the learner's other outcomes once accredited, and with the catalogue
entries still obtainable; the filters; refused filters; the plan's steps, order and totals; the
same few queries for one programme as for many.

Every expected figure below is worked out by hand from the rows the test writes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import cast

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Institution, Role
from accreditation.models import CatalogueEntry, CatalogueEntryVersion
from outcomes.models import LearningOutcome
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import SINCE, accredited_outcome
from tests.outcomes.factories import LearningOutcomeFactory
from tests.transfers.factories import rule
from transfers.models import ConversionRule, Course, Programme
from transfers.whatif import programme_plan, what_if

pytestmark = pytest.mark.django_db


def entry(code: str, *, hours: str = "120", name: str = "") -> CatalogueEntryVersion:
    """A catalogue entry's version in effect, of ``hours`` learning hours."""
    return CatalogueEntryVersion.objects.create(
        entry=CatalogueEntry.objects.create(code=code),
        version=1,
        name=name or f"证书{code}",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal(hours),
        credits=Decimal("6"),
        evidence_required="证书",
        effective_from=SINCE,
        approving_body="管理中心",
        rationale="示例",
    )


def programme(
    institution,
    code: str,
    credits: list[str],
    *,
    required: str | None = None,
    level: str = "专科",
    kind: str = Programme.Kind.DEGREE,
) -> tuple[Programme, list[Course]]:
    made = Programme.objects.create(
        institution=institution,
        code=code,
        name=f"专业{code}",
        name_en=f"Programme {code}",
        kind=kind,
        level=level,
        credits_required=Decimal(required) if required else None,
    )
    courses = [
        Course.objects.create(
            programme=made, code=f"{code}-{i}", name=f"课程{code}{i}", credits=Decimal(c)
        )
        for i, c in enumerate(credits, start=1)
    ]
    return made, courses


def saved(account, version: CatalogueEntryVersion) -> LearningOutcome:
    """A saved outcome that matches ``version`` (it would be accredited against it)."""
    return LearningOutcomeFactory(
        account=account,
        kind=version.kind,
        title=version.name,
        issuing_body=version.issuing_body,
        certificate_number="",
        status=LearningOutcome.Status.SAVED,
    )


@pytest.fixture
def world(learner, institution_officer):
    """Five programmes of one university and one learner:

    - D: 12 credits; E1 (accredited) gives 6 to D-1, E4 (obtainable) 3 to D-2:
      now 6/12 = .5, with outcomes .5, obtainable 9/12 = .75.
    - B: no credits required, courses 3 + 3 = 6; E1 gives 3 to B-1: .5, .5, .5.
    - A: 10 credits; E1 gives 3 to A-1, E2 (saved) 3 to A-2, E3 (obtainable) 4 to A-3:
      now .3, with outcomes .6, obtainable 1.
    - E: 5 credits, no rule: 0, 0, 0, 5 still needed.
    - C: 8 credits; a rule from E1 to C-1 that ended last year does not count: 0, 0, 0, 8 still
      needed, so after E.
    """
    account = PersonalAccountFactory(holder=learner)
    university = institution_officer.institution
    e1, e2, e3, e4 = entry("E1"), entry("E2"), entry("E3"), entry("E4")
    accredited_outcome(account, e1, UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory()))
    saved(account, e2)

    d, d_courses = programme(university, "D", ["6", "3", "3"], required="12")
    rule(e1, d_courses[0], credits="6")
    rule(e4, d_courses[1], credits="3")
    b, b_courses = programme(university, "B", ["3", "3"])
    rule(e1, b_courses[0])
    a, a_courses = programme(university, "A", ["3", "3", "4"], required="10", level="本科")
    rule(e1, a_courses[0])
    rule(e2, a_courses[1])
    rule(e3, a_courses[2], credits="4")
    e, _ = programme(university, "E", ["5"], required="5")
    c, c_courses = programme(university, "C", ["4", "4"], required="8")
    ended = rule(e1, c_courses[0])
    ConversionRule.objects.filter(pk=ended.pk).update(
        effective_to=datetime.date.today() - datetime.timedelta(days=365)
    )
    return {"account": account, "programmes": {"A": a, "B": b, "C": c, "D": d, "E": e}}


def test_programmes_rank_by_the_share_covered_now_then_with_outcomes_then_obtainable(
    world, api_client
):
    api_client.force_authenticate(world["account"].holder)

    answer = api_client.get("/api/v1/transfers/what-if/")

    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert [r["programme_code"] for r in rows] == ["D", "B", "A", "E", "C"]
    shares = {
        r["programme_code"]: (r["share_now"], r["share_with_outcomes"], r["share_obtainable"])
        for r in rows
    }
    assert shares == {
        "D": ("0.5000", "0.5000", "0.7500"),
        "B": ("0.5000", "0.5000", "0.5000"),
        "A": ("0.3000", "0.6000", "1.0000"),
        "E": ("0.0000", "0.0000", "0.0000"),
        "C": ("0.0000", "0.0000", "0.0000"),
    }
    a = next(r for r in rows if r["programme_code"] == "A")
    assert (a["credits_required"], a["credits_covered"]) == ("10.0", "3.0")
    assert (a["credits_with_outcomes"], a["credits_obtainable"]) == ("6.0", "10.0")
    assert a["hours_to_obtain"] == "120.0"
    assert a["plan"] == f"/api/v1/transfers/plans/{world['programmes']['A'].pk}/"


def test_the_page_ranks_the_same_and_links_each_programme_to_its_path_and_plan(world, client):
    client.force_login(world["account"].holder)

    chinese = client.get("/file/what-if/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/file/what-if/").content.decode()

    ids = {code: p.pk for code, p in world["programmes"].items()}
    positions = [chinese.index(f'data-testid="programme-{ids[code]}"') for code in "DBAEC"]
    assert positions == sorted(positions)
    row_a = chinese.split(f'data-testid="programme-{ids["A"]}"', 1)[1].split("</tr>", 1)[0]
    assert ">30%" in row_a
    assert ">60%" in row_a
    assert ">100%" in row_a
    assert f'href="/file/goals/{ids["A"]}/"' in row_a
    assert f'href="/file/goals/{ids["A"]}/plan/"' in row_a
    assert "假如：我的成果能覆盖哪些专业" in chinese
    assert "What if: programmes my outcomes cover" in english


def test_the_filters_keep_an_institutions_a_levels_or_a_kinds_programmes(world, api_client):
    other = cast(
        Institution, InstitutionFactory(name="重庆职业技能鉴定中心", kind="certificate_body")
    )
    programme(other, "V", ["2"], kind=Programme.Kind.VOCATIONAL_CERTIFICATE, level="")
    api_client.force_authenticate(world["account"].holder)
    university = world["programmes"]["A"].institution_id

    def codes(query: str) -> list[str]:
        answer = api_client.get(f"/api/v1/transfers/what-if/?{query}")
        assert answer.status_code == 200, answer.json()
        return [r["programme_code"] for r in answer.json()["results"]]

    # V needs 2 credits more, E 5 and C 8: with no share, the nearer goes first.
    assert codes("") == ["D", "B", "A", "V", "E", "C"]
    assert codes(f"institution={other.pk}") == ["V"]
    assert codes(f"institution={university}") == ["D", "B", "A", "E", "C"]
    assert codes("level=本科") == ["A"]
    assert codes("kind=vocational_certificate") == ["V"]
    assert codes(f"kind=degree&level=专科&institution={university}") == ["D", "B", "E", "C"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("institution=abc", "institution"),
        ("institution=999999", "institution"),
        ("kind=phd", "kind"),
        ("level=博士", "level"),
        ("level=" + "x" * 51, "level"),
    ],
)
def test_a_bad_filter_is_a_field_keyed_400(world, api_client, query, field):
    api_client.force_authenticate(world["account"].holder)

    answer = api_client.get(f"/api/v1/transfers/what-if/?{query}")

    assert answer.status_code == 400
    assert field in answer.json()


def test_the_page_shows_a_bad_filter_next_to_its_field_and_ranks_without_it(world, client):
    client.force_login(world["account"].holder)

    page = client.get("/file/what-if/?kind=phd&level=本科")

    assert page.status_code == 200
    html = page.content.decode()
    kind_field = html.split('id="id_kind"', 1)[1].split("</div>", 1)[0]
    assert "field__errors" in kind_field
    # The valid filter still applies: only A is of that level.
    assert f'data-testid="programme-{world["programmes"]["A"].pk}"' in html
    assert f'data-testid="programme-{world["programmes"]["D"].pk}"' not in html


def test_only_learners_see_the_what_if(api_client, institution_officer):
    api_client.force_authenticate(institution_officer)

    assert api_client.get("/api/v1/transfers/what-if/").status_code == 403


def test_the_plan_picks_an_entry_per_missing_course_best_value_first(learner, institution_officer):
    """Programme P (20 credits): P-1 covered (E1, accredited), P-2 waiting (E2, saved). P-3 is
    covered by E3 (120 h, 4 credits) or E5 (40 h, 2 credits): E3 gives more. P-4 by E3 too
    (3 credits) or E6 (60 h, 3 credits): E3 is taken, so E6. P-5 has no rule. Steps by credits
    per hour: E6 (3/60 = .05) before E3 (4/120 = .033); 180 hours and 7 credits in all."""
    account = PersonalAccountFactory(holder=learner)
    e1, e2, e3 = entry("E1"), entry("E2"), entry("E3", hours="120")
    e5, e6 = entry("E5", hours="40"), entry("E6", hours="60")
    accredited_outcome(account, e1, UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory()))
    saved(account, e2)
    p, courses = programme(
        institution_officer.institution, "P", ["3", "3", "4", "3", "5"], required="20"
    )
    rule(e1, courses[0])
    rule(e2, courses[1])
    rule(e3, courses[2], credits="4")
    rule(e5, courses[2], credits="2")
    rule(e3, courses[3], credits="3")
    rule(e6, courses[3], credits="3")

    plan = programme_plan(account=account, programme=p)

    assert [line.course.code for line in plan.done] == ["P-1"]
    assert [line.course.code for line in plan.waiting] == ["P-2"]
    assert [(s.version.entry.code, s.course.code) for s in plan.steps] == [
        ("E6", "P-4"),
        ("E3", "P-3"),
    ]
    assert [line.course.code for line in plan.uncovered] == ["P-5"]
    assert (plan.hours_planned, plan.credits_planned) == (Decimal("180"), Decimal("7"))
    assert plan.credits_after == Decimal("13")  # 3 done + 3 waiting + 7
    assert plan.credits_still_needed_after == Decimal("7")


def test_the_plan_page_and_api_show_the_steps_totals_and_what_is_done(world, client, api_client):
    a = world["programmes"]["A"]
    client.force_login(world["account"].holder)
    api_client.force_authenticate(world["account"].holder)

    html = client.get(f"/file/goals/{a.pk}/plan/").content.decode()
    answer = api_client.get(f"/api/v1/transfers/plans/{a.pk}/").json()

    assert 'data-testid="done-A-1"' in html
    assert 'data-testid="waiting-A-2"' in html
    assert 'data-testid="step-E3"' in html
    assert 'data-testid="hours-planned">120.0<' in html
    assert 'data-testid="still-needed-after">0.0<' in html
    assert [s["entry_code"] for s in answer["steps"]] == ["E3"]
    assert (answer["hours_planned"], answer["credits_planned"]) == ("120.0", "4.0")
    assert [c["course_code"] for c in answer["done"]] == ["A-1"]
    assert answer["credits_still_needed_after"] == "0.0"
    assert "完成“专业A”的学习计划" in html


def test_the_plan_of_an_unpublished_programme_is_not_found(world, client):
    hidden = world["programmes"]["E"]
    Programme.objects.filter(pk=hidden.pk).update(is_published=False)
    client.force_login(world["account"].holder)

    assert client.get(f"/file/goals/{hidden.pk}/plan/").status_code == 404
    assert client.get(f"/file/goals/{hidden.pk}/").status_code == 404


def test_the_what_if_reads_as_many_queries_for_40_programmes_as_for_one(
    learner, institution_officer
):
    account = PersonalAccountFactory(holder=learner)
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    one = cast(Institution, InstitutionFactory(name="一所大学", kind="degree_institution"))
    many = cast(Institution, InstitutionFactory(name="许多大学", kind="degree_institution"))
    for i in range(41):
        version = entry(f"Q{i}")
        _, courses = programme(one if i == 0 else many, f"P{i}", ["3", "3"], required="6")
        rule(version, courses[0])
        rule(version, courses[1], credits="2")
        if i % 2:
            accredited_outcome(account, version, decider)
        else:
            saved(account, version)

    with CaptureQueriesContext(connection) as few:
        small = what_if(account=account, institution=one)
    with CaptureQueriesContext(connection) as lots:
        large = what_if(account=account, institution=many)

    assert (len(small), len(large)) == (1, 40)
    assert len(lots) == len(few)
