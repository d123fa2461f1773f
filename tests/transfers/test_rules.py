"""Conversion rules: versions, credits, import and export, the API, the pages, and the
examples of the source texts in the demo data."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accreditation.catalogue import RowsInvalid, catalogue_entry_publish
from accreditation.models import CatalogueEntry
from tests.accounts.factories import InstitutionFactory
from tests.people import login_verified, token_for
from transfers.models import ConversionRule, Course, Programme
from transfers.rules import (
    RULE_COLUMNS,
    conversion_rule_publish,
    conversion_rule_retire,
    conversion_rules_current,
    conversion_rules_export,
    conversion_rules_for_entry,
    conversion_rules_import,
)

pytestmark = pytest.mark.django_db

JAN_2024 = datetime.date(2024, 1, 1)


def entry(code: str = "CQ-ZG-001", name: str = "幼儿园园长任职资格证书") -> CatalogueEntry:
    return catalogue_entry_publish(
        code=code,
        name=name,
        name_en="Kindergarten principal qualification certificate",
        kind="vocational_qualification",
        issuing_body="重庆市教育委员会",
        hours=Decimal("120"),
        credits=Decimal("6"),
        evidence_required="证书原件扫描件",
        effective_from=JAN_2024,
        approving_body="重庆学分银行管理中心",
        rationale="列入目录",
        actor=None,
    ).entry


@pytest.fixture
def university(db):
    return InstitutionFactory(name="重庆开放大学", kind="degree_institution")


@pytest.fixture
def preschool(university) -> Programme:
    return Programme.objects.create(
        institution=university,
        code="PRE-ZK",
        name="学前教育（专科）",
        name_en="Preschool Education (associate degree)",
        kind=Programme.Kind.DEGREE,
    )


@pytest.fixture
def research(preschool) -> Course:
    return Course.objects.create(
        programme=preschool,
        code="PRE101",
        name="幼儿园教研工作管理",
        name_en="Teaching and research work management",
        credits=Decimal("3"),
    )


@pytest.fixture
def games(preschool) -> Course:
    return Course.objects.create(
        programme=preschool,
        code="PRE102",
        name="幼儿游戏活动设计与组织",
        name_en="Children's game activity design and organisation",
        credits=Decimal("3"),
    )


def rule(entry, course, **overrides) -> ConversionRule:
    fields = {
        "credits": Decimal("3"),
        "effective_from": JAN_2024,
        "approving_body": "重庆学分银行管理中心",
        "rationale": "课程目标覆盖",
        "actor": None,
        **overrides,
    }
    return conversion_rule_publish(entry=entry, course=course, **fields)


# --- Versions ---------------------------------------------------------------------------------


def test_a_rule_change_is_a_new_version_and_never_rewrites_the_past_one(research):
    principal = entry()
    first = rule(principal, research)

    second = rule(
        principal, research, credits=Decimal("2"), effective_from=datetime.date(2025, 9, 1)
    )

    first.refresh_from_db()
    assert (first.version, first.credits, first.effective_to) == (
        1,
        Decimal("3.0"),
        datetime.date(2025, 8, 31),
    )
    assert (second.version, second.credits, second.effective_to) == (2, Decimal("2.0"), None)
    assert conversion_rules_current(on=datetime.date(2025, 8, 31)).get() == first
    assert conversion_rules_for_entry(entry=principal, on=datetime.date(2025, 9, 1)).get() == second


def test_publishing_a_rule_already_in_effect_changes_nothing(research):
    principal = entry()
    first = rule(principal, research)

    again = rule(principal, research, effective_from=datetime.date(2025, 1, 1))

    assert again == first
    assert ConversionRule.objects.count() == 1


def test_a_rule_gives_at_most_the_course_s_credits_and_takes_effect_in_order(research):
    principal = entry()
    rule(principal, research, effective_from=datetime.date(2025, 1, 1))

    with pytest.raises(ValidationError) as too_many:
        rule(principal, research, credits=Decimal("3.5"), effective_from=datetime.date(2026, 1, 1))
    with pytest.raises(ValidationError) as too_early:
        rule(principal, research, credits=Decimal("2"), effective_from=datetime.date(2024, 6, 1))

    assert list(too_many.value.message_dict) == ["credits"]
    assert list(too_early.value.message_dict) == ["effective_from"]
    assert ConversionRule.objects.count() == 1


def test_retiring_a_rule_ends_it(research):
    principal = entry()
    rule(principal, research)

    conversion_rule_retire(
        entry=principal,
        course=research,
        effective_to=datetime.date(2025, 6, 30),
        actor=None,
        rationale="课程调整",
    )

    assert conversion_rules_for_entry(entry=principal, on=datetime.date(2025, 6, 30)).exists()
    assert not conversion_rules_for_entry(entry=principal, on=datetime.date(2025, 7, 1)).exists()


# --- Import and export -------------------------------------------------------------------------


def csv_file(rows: list[dict[str, str]], headings=RULE_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    for values in rows:
        writer.writerow([values.get(h, "") for h in headings])
    return buffer.getvalue().encode("utf-8")


def rule_row(university, **overrides) -> dict[str, str]:
    return {
        "catalogue_code": "CQ-ZG-001",
        "institution_credit_code": university.credit_code,
        "programme_code": "PRE-ZK",
        "course_code": "PRE101",
        "credits": "3",
        "effective_from": "2024-01-01",
        "approving_body": "重庆学分银行管理中心",
        "rationale": "课程目标覆盖",
        **overrides,
    }


def test_an_import_publishes_rules_naming_the_institution_by_credit_code_or_name(
    university, research, games
):
    entry()
    entry("CQ-ZG-002", "幼儿园教师资格证书")
    data = csv_file(
        [
            rule_row(university),
            rule_row(
                university,
                catalogue_code="cq-zg-002",
                institution_credit_code="",
                institution="重庆开放大学",
                course_code="PRE102",
            ),
        ]
    )

    result = conversion_rules_import(data=data, filename="rules.csv", actor=None)

    assert (result.created, result.revised, result.unchanged) == (2, 0, 0)
    assert {(r.entry.code, r.course.code) for r in conversion_rules_current()} == {
        ("CQ-ZG-001", "PRE101"),
        ("CQ-ZG-002", "PRE102"),
    }


def test_an_import_with_bad_rows_lists_every_problem_and_writes_nothing(university, research):
    entry()
    data = csv_file(
        [
            rule_row(university),
            rule_row(university, catalogue_code="CQ-NOPE"),
            rule_row(university, course_code="PRE999"),
            rule_row(university, credits="4"),
            rule_row(university, institution_credit_code="91500000000000000X"),
            rule_row(university, effective_from="yesterday"),
            rule_row(university),
        ]
    )

    with pytest.raises(RowsInvalid) as caught:
        conversion_rules_import(data=data, filename="rules.csv", actor=None)

    # Rows 5, 7 and 8 also name the pair of row 2 again.
    assert {(e.row, e.column) for e in caught.value.rows} == {
        (3, "catalogue_code"),
        (4, "course_code"),
        (5, "credits"),
        (5, "course_code"),
        (6, "institution_credit_code"),
        (7, "effective_from"),
        (7, "course_code"),
        (8, "course_code"),
    }
    assert not ConversionRule.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_importing_an_export_of_the_rules_changes_nothing(fmt, research, games):
    principal, teacher = entry(), entry("CQ-ZG-002", "幼儿园教师资格证书")
    rule(principal, research)
    rule(teacher, games, credits=Decimal("2.5"), approving_body="=重庆学分银行管理中心")

    exported = conversion_rules_export(fmt=fmt)
    result = conversion_rules_import(data=exported, filename=f"rules.{fmt}", actor=None)

    assert (result.created, result.revised, result.unchanged) == (0, 0, 2)
    assert ConversionRule.objects.count() == 2


# --- API ---------------------------------------------------------------------------------------


def test_anyone_reads_the_rules_and_the_catalogue_shows_them(api_client, research):
    principal = entry()
    rule(principal, research)

    rules = api_client.get("/api/v1/conversion-rules/").json()
    catalogue = api_client.get("/api/v1/catalogue/").json()

    assert rules["count"] == 1
    item = rules["results"][0]
    assert (item["catalogue_code"], item["course_code"], item["credits"]) == (
        "CQ-ZG-001",
        "PRE101",
        "3.0",
    )
    assert item["catalogue_name"] == "Kindergarten principal qualification certificate"
    assert item["course"] == "Teaching and research work management"
    assert catalogue["results"][0]["conversion_rules"] == [
        {
            "course_code": "PRE101",
            "course": "Teaching and research work management",
            "programme_code": "PRE-ZK",
            "programme": "Preschool Education (associate degree)",
            "institution": "重庆开放大学",
            "credits": "3.0",
            "rule_version": 1,
        }
    ]


def test_the_management_administrator_publishes_a_rule_over_the_api(
    api_client, management_admin, university, research
):
    entry()
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "mona"))
    body = {
        "catalogue_code": "CQ-ZG-001",
        "institution_credit_code": university.credit_code,
        "programme_code": "PRE-ZK",
        "course_code": "PRE101",
        "credits": "3",
        "effective_from": "2024-01-01",
        "approving_body": "重庆学分银行管理中心",
        "rationale": "课程目标覆盖",
    }

    created = api_client.post("/api/v1/conversion-rules/", body, format="json")
    again = api_client.post("/api/v1/conversion-rules/", body, format="json")
    too_many = api_client.post(
        "/api/v1/conversion-rules/",
        {**body, "credits": "5", "effective_from": "2026-01-01"},
        format="json",
    )
    no_course = api_client.post(
        "/api/v1/conversion-rules/", {**body, "course_code": "PRE999"}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert again.status_code == 200
    assert too_many.status_code == 400
    assert "credits" in too_many.json()
    assert no_course.status_code == 400
    assert "course_code" in no_course.json()
    assert ConversionRule.objects.get().created_by == management_admin


@pytest.mark.parametrize("who", ["anonymous", "learner", "institution_officer"])
def test_only_the_management_administrator_writes_rules(
    api_client, learner, institution_officer, university, research, who
):
    entry()
    if who != "anonymous":
        username = {"learner": "alice", "institution_officer": "olga"}[who]
        api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, username))
    expected = 401 if who == "anonymous" else 403

    published = api_client.post("/api/v1/conversion-rules/", rule_row(university), format="json")
    imported = api_client.post(
        "/api/v1/conversion-rules/import/",
        {"file": SimpleUploadedFile("r.csv", csv_file([rule_row(university)]))},
        format="multipart",
    )
    exported = api_client.get("/api/v1/conversion-rules/export/", {"format": "csv"})

    assert {published.status_code, imported.status_code, exported.status_code} == {expected}
    assert not ConversionRule.objects.exists()


def test_the_api_imports_rules_and_reports_bad_rows(
    api_client, management_admin, university, research
):
    entry()
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "mona"))

    refused = api_client.post(
        "/api/v1/conversion-rules/import/",
        {"file": SimpleUploadedFile("r.csv", csv_file([rule_row(university, credits="0")]))},
        format="multipart",
    )
    imported = api_client.post(
        "/api/v1/conversion-rules/import/",
        {"file": SimpleUploadedFile("r.csv", csv_file([rule_row(university)]))},
        format="multipart",
    )
    exported = api_client.get("/api/v1/conversion-rules/export/", {"format": "csv"})

    assert refused.status_code == 400
    assert [(r["row"], r["column"]) for r in refused.json()["rows"]] == [(2, "credits")]
    assert imported.status_code == 201
    assert imported.json()["created"] == 1
    assert "PRE101" in exported.content.decode("utf-8-sig")


# --- Pages ---------------------------------------------------------------------------------------


def test_the_rules_page_is_for_the_management_administrator(
    client, learner, management_admin, research
):
    principal = entry()
    rule(principal, research)

    client.force_login(learner)
    forbidden = client.get("/conversion-rules/manage/")
    login_verified(client, management_admin)
    page = client.get("/conversion-rules/manage/")

    assert forbidden.status_code == 403
    assert page.status_code == 200
    assert "幼儿园教研工作管理" in page.content.decode()
    assert 'href="/conversion-rules/manage/"' in page.content.decode()


def test_the_rules_page_publishes_a_rule(client, management_admin, research, games):
    principal = entry()
    login_verified(client, management_admin)
    fields = {
        "action": "publish",
        "entry": principal.pk,
        "credits": "3",
        "effective_from": "2024-01-01",
        "approving_body": "重庆学分银行管理中心",
        "rationale": "课程目标覆盖",
    }

    refused = client.post(
        "/conversion-rules/manage/", {**fields, "course": games.pk, "credits": "9"}
    )
    published = client.post("/conversion-rules/manage/", {**fields, "course": research.pk})

    assert refused.status_code == 200
    assert "field--invalid" in refused.content.decode()
    assert published.status_code == 302
    assert ConversionRule.objects.get().course == research


def test_the_catalogue_pages_show_what_an_entry_converts_to(client, research):
    principal = entry()
    rule(principal, research)

    listing = client.get("/catalogue/").content.decode()
    detail = client.get("/catalogue/CQ-ZG-001/").content.decode()

    assert "幼儿园教研工作管理" in listing
    assert "幼儿园教研工作管理" in detail
    assert "重庆开放大学" in detail


def test_the_catalogue_page_shows_a_new_rule_and_a_renamed_institution_at_once(
    client, research, university
):
    principal = entry()
    without_rule = client.get("/catalogue/").content.decode()

    rule(principal, research)
    with_rule = client.get("/catalogue/").content.decode()
    university.name = "重庆开放大学（重庆工商职业学院）"
    university.save()
    renamed = client.get("/catalogue/").content.decode()

    assert "幼儿园教研工作管理" not in without_rule
    assert "幼儿园教研工作管理" in with_rule
    assert "重庆开放大学（重庆工商职业学院）" not in with_rule
    assert "重庆开放大学（重庆工商职业学院）" in renamed


# --- The demo data ----------------------------------------------------------------------------


def test_the_demo_data_holds_the_source_texts_conversion_examples(db):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    def converts(name: str) -> set[tuple[str, str, str, str]]:
        found = CatalogueEntry.objects.get(versions__name=name)
        return {
            (
                r.course.programme.institution.name,
                r.course.programme.code,
                r.course.code,
                r.course.name,
            )
            for r in conversion_rules_for_entry(entry=found)
        }

    principal = CatalogueEntry.objects.get(versions__name="幼儿园园长任职资格证书")
    version = principal.versions.get()
    assert version.name_en == "Kindergarten principal qualification certificate"
    assert version.kind == "vocational_qualification"
    assert version.certificate_number_pattern
    assert ("重庆开放大学", "PRE-ZK", "PRE101", "幼儿园教研工作管理") in converts(
        "幼儿园园长任职资格证书"
    )
    assert ("重庆开放大学", "PRE-ZK", "PRE102", "幼儿游戏活动设计与组织") in converts(
        "幼儿园教师资格证书"
    )
    assert CatalogueEntry.objects.count() >= 20
    assert all(e.versions.count() == 1 for e in CatalogueEntry.objects.all())
