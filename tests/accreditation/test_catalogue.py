"""The catalogue of accredited learning outcomes: versions, search, recognising a learner's
outcome, the spreadsheet import and export, the API and the pages."""

import csv
import datetime
import io
import itertools
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import load_workbook
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from accreditation.catalogue import (
    CATALOGUE_COLUMNS,
    RowsInvalid,
    catalogue_current,
    catalogue_entry_publish,
    catalogue_entry_retire,
    catalogue_export,
    catalogue_import,
    catalogue_match,
    catalogue_matches,
    catalogue_search,
    pattern_example,
)
from accreditation.catalogue import versions as catalogue
from accreditation.models import CatalogueEntry, CatalogueEntryVersion
from outcomes.models import LearningOutcome
from tests.outcomes import helpers as batches
from tests.outcomes.samples import pdf_bytes
from tests.people import RESIDENT, login_verified, token_for

pytestmark = pytest.mark.django_db

# An institution's collective account and its administrator's client, from the batch tests.
JAN_2024 = datetime.date(2024, 1, 1)
PRINCIPAL = "幼儿园园长任职资格证书"


def publish(**overrides):
    fields = {
        "code": "CQ-ZG-001",
        "name": PRINCIPAL,
        "name_en": "Kindergarten principal qualification certificate",
        "kind": "vocational_qualification",
        "issuing_body": "重庆市教育委员会",
        "hours": Decimal("120"),
        "credits": Decimal("6"),
        "evidence_required": "证书原件扫描件",
        "aliases": ["园长任职资格证"],
        "certificate_number_pattern": r"YZ\d{4}-\d{6}",
        "effective_from": JAN_2024,
        "approving_body": "重庆学分银行管理中心",
        "rationale": "列入2024年版目录",
        "actor": None,
        **overrides,
    }
    return catalogue_entry_publish(**fields)


def teacher(**overrides):
    return publish(
        **{
            "code": "CQ-ZG-002",
            "name": "幼儿园教师资格证书",
            "name_en": "Preschool teacher qualification certificate",
            "hours": Decimal("160"),
            "credits": Decimal("8"),
            "aliases": ["幼儿教师资格证"],
            "certificate_number_pattern": r"\d{17}",
            **overrides,
        }
    )


def cet4(**overrides):
    return publish(
        **{
            "code": "CQ-KS-002",
            "name": "大学英语四级考试成绩报告单",
            "name_en": "College English Test Band 4 (CET-4) score report",
            "kind": "skill_level",
            "issuing_body": "教育部教育考试院",
            "hours": Decimal("64"),
            "credits": Decimal("4"),
            "aliases": ["CET-4", "英语四级"],
            "certificate_number_pattern": "",
            **overrides,
        }
    )


# --- Versions ---------------------------------------------------------------------------------


def test_publishing_a_new_code_creates_the_entry_in_its_first_version(management_admin):
    version = publish(code="cq-zg-001", actor=management_admin)

    assert version.entry.code == "CQ-ZG-001"
    assert version.version == 1
    assert version.effective_to is None
    assert version.created_by == management_admin
    assert version.aliases == "园长任职资格证"


def test_a_change_is_a_new_version_and_never_rewrites_the_past_one():
    first = publish()

    second = publish(hours=Decimal("160"), effective_from=datetime.date(2025, 3, 1))

    first.refresh_from_db()
    assert (second.version, second.hours) == (2, Decimal("160.0"))
    assert first.hours == Decimal("120.0")
    assert first.effective_to == datetime.date(2025, 2, 28)
    assert catalogue_current(on=datetime.date(2025, 2, 28)).get() == first
    assert catalogue_current(on=datetime.date(2025, 3, 1)).get() == second


def test_publishing_what_is_already_in_effect_changes_nothing():
    first = publish()

    again = publish()
    later = publish(effective_from=datetime.date(2025, 6, 1))

    assert again == later == first
    assert CatalogueEntryVersion.objects.count() == 1
    first.refresh_from_db()
    assert first.effective_to is None


def test_a_new_version_must_take_effect_after_the_current_one():
    publish(effective_from=datetime.date(2025, 1, 1))

    with pytest.raises(ValidationError) as caught:
        publish(hours=Decimal("200"), effective_from=datetime.date(2025, 1, 1))

    assert "effective_from" in caught.value.message_dict
    assert CatalogueEntryVersion.objects.get().effective_to is None


def test_a_future_version_leaves_today_s_catalogue_alone_until_its_day():
    today = datetime.date.today()
    publish(effective_from=today - datetime.timedelta(days=10))
    publish(credits=Decimal("7"), effective_from=today + datetime.timedelta(days=30))

    assert catalogue_current().get().credits == Decimal("6.0")
    assert catalogue_current(on=today + datetime.timedelta(days=30)).get().credits == Decimal("7")


def test_bad_fields_are_refused_by_field_and_nothing_is_written():
    with pytest.raises(ValidationError) as caught:
        publish(
            code="CQ ZG 001",
            kind="diploma",
            hours=Decimal("-4"),
            credits=Decimal("1.25"),
            certificate_number_pattern="YZ(\\d{4}",
            evidence_required="",
        )

    assert set(caught.value.message_dict) == {
        "code",
        "kind",
        "hours",
        "credits",
        "certificate_number_pattern",
        "evidence_required",
    }
    assert not CatalogueEntry.objects.exists()


def test_retiring_ends_the_entry_on_its_last_day():
    version = publish()

    catalogue_entry_retire(
        entry=version.entry,
        effective_to=datetime.date(2025, 12, 31),
        actor=None,
        rationale="证书停止颁发",
    )

    assert catalogue_current(on=datetime.date(2025, 12, 31)).exists()
    assert not catalogue_current(on=datetime.date(2026, 1, 1)).exists()
    with pytest.raises(ValidationError) as caught:
        catalogue_entry_retire(
            entry=version.entry, effective_to=datetime.date(2026, 6, 1), actor=None, rationale="再"
        )
    assert "effective_to" in caught.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_two_managers_revising_an_entry_at_once_number_versions_in_turn(postgres, monkeypatch):
    publish()
    # Widen the window between reading the versions and writing the new one.
    compare = catalogue._content_of

    def slowly(version):
        time.sleep(0.2)
        return compare(version)

    monkeypatch.setattr(catalogue, "_content_of", slowly)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def revise(n: int) -> None:
        try:
            barrier.wait()
            publish(hours=Decimal(130 + n), effective_from=datetime.date(2025, 1, 1 + n))
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=revise, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    versions = list(CatalogueEntryVersion.objects.order_by("version"))
    assert len(results) == 4  # each one published or refused with a message; none crashed
    assert len(versions) == 1 + results.count("ok")
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    # The periods follow each other without overlapping, and only the last is open.
    for earlier, later in itertools.pairwise(versions):
        assert earlier.effective_to == later.effective_from - datetime.timedelta(days=1)
    assert versions[-1].effective_to is None


# --- Search and matching -----------------------------------------------------------------------


def test_search_looks_in_codes_names_other_names_and_issuers_ignoring_case():
    principal, _teacher, english = publish(), teacher(), cet4()

    assert list(catalogue_search(q="cet-4")) == [english]
    assert list(catalogue_search(q="Kindergarten PRINCIPAL")) == [principal]
    assert list(catalogue_search(q="园长任职资格证")) == [principal]
    assert list(catalogue_search(q="cq-ks")) == [english]
    assert catalogue_search(q="教育委员会").count() == 2
    assert list(catalogue_search(q="教育委员会", kind="skill_level")) == []
    assert list(catalogue_search(kind="skill_level")) == [english]


@pytest.mark.parametrize(
    "title",
    [
        PRINCIPAL,
        "《幼儿园园长任职资格证书》",
        "幼儿园 园长 任职资格证书（初级）",
        "重庆市幼儿园园长任职资格证书、培训合格",
        "幼儿园园长任职资格证书 ",
        "园长任职资格证",
    ],
)
def test_a_title_with_chinese_punctuation_or_spaces_still_matches(title):
    version = publish()

    assert catalogue_match(kind="vocational_qualification", title=title) == version


def test_a_different_kind_or_an_unrelated_title_matches_nothing():
    publish()

    assert catalogue_match(kind="training", title=PRINCIPAL) is None
    assert catalogue_match(kind="vocational_qualification", title="园长培训") is None


def test_a_number_of_the_wrong_format_does_not_match_an_entry_that_has_one():
    version = publish()

    matches = {
        number: catalogue_match(
            kind="vocational_qualification", title=PRINCIPAL, certificate_number=number
        )
        for number in ("YZ2019-000123", "YZ2019-000123 ", "12345", "")
    }

    assert matches == {
        "YZ2019-000123": version,
        "YZ2019-000123 ": version,
        "12345": None,
        "": version,
    }


def test_the_longest_matching_name_wins():
    generic = publish(
        code="CQ-ZG-009", name="教师资格证书", aliases=[], certificate_number_pattern=""
    )
    preschool = teacher()

    assert catalogue_match(kind="vocational_qualification", title="幼儿园教师资格证书") == preschool
    assert catalogue_match(kind="vocational_qualification", title="高级中学教师资格证书") == generic


def test_many_outcomes_are_matched_in_one_query(django_assert_max_num_queries):
    principal, preschool = publish(), teacher()
    outcomes = [
        LearningOutcome(
            pk=n,
            kind="vocational_qualification",
            title=title,
            issuing_body="",
            certificate_number=number,
        )
        for n, (title, number) in enumerate(
            [
                ("《幼儿园园长任职资格证书》", "YZ2019-000123"),
                ("幼儿教师资格证", ""),
                ("幼儿园园长任职资格证书", "wrong"),
                ("电工证", ""),
            ],
            start=1,
        )
    ]

    with django_assert_max_num_queries(2):
        found = catalogue_matches(outcomes)

    assert found == {1: principal, 2: preschool}


def test_an_example_number_is_made_from_the_format():
    assert pattern_example(r"YZ\d{4}-\d{6}") == "YZ1234-567890"
    assert pattern_example(r"(19|20)\d{2}[A-Z]{2}") == "1912AA"
    assert pattern_example(r"(\d)\1") == ""


# --- The certificate number check when saving an outcome ---------------------------------------


def outcome_body(number: str, evidence: str = "幼儿园园长任职资格证书") -> dict:
    return {
        "kind": "vocational_qualification",
        "title": "幼儿园园长任职资格证书（初级）",
        "issuing_body": "重庆市教育委员会",
        "certificate_number": number,
        "achieved_on": "2019-06-30",
        "result": "合格",
        # Each outcome its own file: the same file twice is refused.
        "files": [
            SimpleUploadedFile("zs.pdf", pdf_bytes(evidence), content_type="application/pdf")
        ],
    }


def test_saving_an_outcome_with_a_number_of_the_wrong_format_is_refused_on_that_field(
    api_client, shao
):
    publish()
    api_client.force_authenticate(shao.holder)

    refused = api_client.post("/api/v1/outcomes/", outcome_body("2019-123"), format="multipart")

    assert refused.status_code == 400
    assert list(refused.json()) == ["certificate_number"]
    message = refused.json()["certificate_number"][0]
    assert "Kindergarten principal qualification certificate" in message
    assert "YZ1234-567890" in message
    assert not LearningOutcome.objects.exists()


def test_a_number_of_the_right_format_or_an_entry_without_a_format_is_accepted(api_client, shao):
    publish()
    api_client.force_authenticate(shao.holder)

    saved = api_client.post("/api/v1/outcomes/", outcome_body("YZ2019-000123"), format="multipart")
    unknown = api_client.post(
        "/api/v1/outcomes/",
        {
            **outcome_body("whatever-42", evidence="保育员职业资格证书"),
            "title": "保育员职业资格证书",
        },
        format="multipart",
    )

    assert saved.status_code == 201, saved.json()
    assert unknown.status_code == 201, unknown.json()


def test_the_number_check_speaks_chinese_by_default(client, shao):
    publish()
    api = APIClient()
    api.force_authenticate(shao.holder)

    refused = api.post("/api/v1/outcomes/", outcome_body("2019-123"), format="multipart")

    assert PRINCIPAL in refused.json()["certificate_number"][0]


def test_an_institution_s_batch_is_checked_row_by_row_against_the_number_format(
    admin_client, collective
):
    publish(
        code="CQ-PX-009",
        name="幼儿园安全管理培训",
        kind="training",
        aliases=[],
        certificate_number_pattern=r"AQ-\d+",
    )
    first, second = batches.members_of(admin_client, collective, 2)
    rows = [
        batches.row(first, certificate_number="AQ-1"),
        batches.row(second, certificate_number="X9"),
    ]

    refused = batches.report(admin_client, collective.institution_id, batches.results_csv(rows))
    rows[1] = batches.row(second)
    accepted = batches.report(admin_client, collective.institution_id, batches.results_csv(rows))

    assert refused.status_code == 400
    assert [(r["row"], r["column"]) for r in refused.json()["rows"]] == [(3, "certificate_number")]
    assert accepted.status_code == 201, accepted.content


# --- Import and export ---------------------------------------------------------------------------


def csv_file(rows: list[list[str]], headings=CATALOGUE_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def row(**overrides) -> list[str]:
    values = {
        "code": "CQ-JN-001",
        "name": "保育师职业技能等级证书（四级/中级工）",
        "name_en": "Childcare worker vocational skill level certificate (level 4)",
        "kind": "skill_level",
        "issuing_body": "重庆市职业技能鉴定指导中心",
        "level": "四级/中级工",
        "hours": "80",
        "credits": "4",
        "validity_months": "",
        "evidence_required": "职业技能等级证书扫描件",
        "aliases": "保育员证|保育师证书",
        "certificate_number_pattern": "",
        "effective_from": "2024-01-01",
        "approving_body": "重庆学分银行管理中心",
        "rationale": "列入2024年版目录",
        **overrides,
    }
    return [values[column] for column in CATALOGUE_COLUMNS]


def test_an_import_publishes_every_row_and_counts_what_it_did():
    publish()
    data = csv_file(
        [
            row(),
            row(code="CQ-PX-001", name="幼儿园教师全员培训", kind="培训经历", hours="72"),
            row(
                code="CQ-ZG-001",
                name=PRINCIPAL,
                kind="Vocational qualification certificate",
                hours="150",
                effective_from="2025年3月1日",
            ),
        ]
    )

    result = catalogue_import(data=data, filename="catalogue.csv", actor=None)

    assert (result.created, result.revised, result.unchanged) == (2, 1, 0)
    training = CatalogueEntry.objects.get(code="CQ-PX-001").versions.get()
    assert training.kind == "training"
    assert training.aliases.splitlines() == ["保育员证", "保育师证书"]
    assert CatalogueEntry.objects.get(code="CQ-ZG-001").versions.count() == 2


def test_an_import_with_bad_rows_lists_every_problem_and_writes_nothing():
    data = csv_file(
        [
            row(),
            row(code="CQ-A", kind="diploma"),
            row(code="CQ-B", hours="-8"),
            row(code="CQ-C", effective_from="2024-13-45"),
            row(code="CQ-D", certificate_number_pattern="([A-Z]"),
            row(code="CQ-JN-001"),
        ]
    )

    with pytest.raises(RowsInvalid) as caught:
        catalogue_import(data=data, filename="catalogue.csv", actor=None)

    problems = {(e.row, e.column) for e in caught.value.rows}
    assert problems == {
        (3, "kind"),
        (4, "hours"),
        (5, "effective_from"),
        (6, "certificate_number_pattern"),
        (7, "code"),
    }
    assert not CatalogueEntry.objects.exists()


def test_a_row_refused_by_the_versions_rolls_back_the_whole_file():
    publish(effective_from=datetime.date(2025, 1, 1))
    data = csv_file(
        [
            row(),
            row(code="CQ-ZG-001", name=PRINCIPAL, hours="200", effective_from="2024-06-01"),
        ]
    )

    with pytest.raises(RowsInvalid) as caught:
        catalogue_import(data=data, filename="catalogue.csv", actor=None)

    assert [(e.row, e.column) for e in caught.value.rows] == [(3, "effective_from")]
    assert not CatalogueEntry.objects.filter(code="CQ-JN-001").exists()


def test_a_file_without_the_required_columns_is_refused_as_a_whole():
    data = csv_file([["CQ-1", "名称"]], headings=["code", "name"])

    with pytest.raises(ValidationError) as caught:
        catalogue_import(data=data, filename="catalogue.csv", actor=None)

    assert "kind" in caught.value.message_dict["file"][0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_importing_an_export_changes_nothing(fmt):
    publish(name="=幼儿园园长任职资格证书（初级）", validity_months=60)
    teacher()
    cet4(effective_from=datetime.date(2024, 9, 1))
    before = list(CatalogueEntryVersion.objects.values_list("pk", "effective_to"))

    exported = catalogue_export(fmt=fmt)
    result = catalogue_import(data=exported, filename=f"catalogue.{fmt}", actor=None)

    assert (result.created, result.revised, result.unchanged) == (0, 0, 3)
    assert list(CatalogueEntryVersion.objects.values_list("pk", "effective_to")) == before


def test_the_export_defuses_cells_a_spreadsheet_would_run_as_formulas():
    publish(name='=HYPERLINK("http://evil.example","证书")', aliases=["+1", "@SUM(A1)"])

    rows = list(csv.reader(io.StringIO(catalogue_export(fmt="csv").decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(catalogue_export(fmt="xlsx"))).active

    assert rows[0] == list(CATALOGUE_COLUMNS)
    assert rows[1][1].startswith("'=HYPERLINK")
    assert rows[1][10] == "'+1|@SUM(A1)"
    assert sheet is not None
    assert str(sheet.cell(row=2, column=2).value).startswith("'=")


# --- API ---------------------------------------------------------------------------------------


def test_anyone_reads_the_catalogue_in_english(api_client):
    publish()
    cet4()

    response = api_client.get("/api/v1/catalogue/", {"q": "园长"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["code"] == "CQ-ZG-001"
    assert item["name"] == "Kindergarten principal qualification certificate"
    assert item["name_zh"] == PRINCIPAL
    assert item["hours"] == "120.0"
    assert item["credits"] == "6.0"
    assert item["evidence_required"] == "证书原件扫描件"
    assert item["effective_from"] == "2024-01-01"
    assert item["conversion_rules"] == []


def test_the_catalogue_speaks_chinese_by_default(db):
    publish()

    response = APIClient().get("/api/v1/catalogue/")

    assert response.json()["results"][0]["name"] == PRINCIPAL


def test_the_catalogue_filters_by_kind_and_refuses_an_unknown_kind(api_client):
    publish()
    cet4()

    skills = api_client.get("/api/v1/catalogue/", {"kind": "skill_level"}).json()
    refused = api_client.get("/api/v1/catalogue/", {"kind": "diploma", "on": "soon"})

    assert [item["code"] for item in skills["results"]] == ["CQ-KS-002"]
    assert refused.status_code == 400
    assert set(refused.json()) == {"kind", "on"}


def test_an_entry_is_read_with_its_history(api_client):
    publish()
    publish(hours=Decimal("160"), effective_from=datetime.date(2025, 3, 1))

    response = api_client.get("/api/v1/catalogue/cq-zg-001/")
    missing = api_client.get("/api/v1/catalogue/NOPE/")

    body = response.json()
    assert (body["version"], body["hours"], body["in_effect"]) == (2, "160.0", True)
    assert [(v["version"], v["effective_to"]) for v in body["versions"]] == [
        (2, None),
        (1, "2025-02-28"),
    ]
    assert missing.status_code == 404


def publish_body(**overrides) -> dict:
    return {
        "code": "CQ-ZG-001",
        "name": PRINCIPAL,
        "name_en": "Kindergarten principal qualification certificate",
        "kind": "vocational_qualification",
        "issuing_body": "重庆市教育委员会",
        "hours": "120",
        "credits": "6",
        "evidence_required": "证书原件扫描件",
        "aliases": ["园长任职资格证"],
        "certificate_number_pattern": r"YZ\d{4}-\d{6}",
        "effective_from": "2024-01-01",
        "approving_body": "重庆学分银行管理中心",
        "rationale": "列入2024年版目录",
        **overrides,
    }


def test_the_management_administrator_publishes_over_the_api(api_client, management_admin):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "mona"))

    created = api_client.post("/api/v1/catalogue/", publish_body(), format="json")
    again = api_client.post("/api/v1/catalogue/", publish_body(), format="json")
    bad = api_client.post(
        "/api/v1/catalogue/",
        publish_body(code="X2", certificate_number_pattern="([", hours="-1"),
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["version"] == 1
    assert again.status_code == 200
    assert bad.status_code == 400
    assert set(bad.json()) == {"certificate_number_pattern", "hours"}
    assert CatalogueEntryVersion.objects.get().created_by == management_admin


@pytest.mark.parametrize("who", ["anonymous", "learner", "reviewer"])
def test_only_the_management_administrator_writes(api_client, learner, reviewer, who):
    if who != "anonymous":
        username = {"learner": "alice", "reviewer": "rita"}[who]
        api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, username))
    expected = 401 if who == "anonymous" else 403

    published = api_client.post("/api/v1/catalogue/", publish_body(), format="json")
    imported = api_client.post(
        "/api/v1/catalogue/import/",
        {"file": SimpleUploadedFile("c.csv", csv_file([row()]))},
        format="multipart",
    )
    exported = api_client.get("/api/v1/catalogue/export/", {"format": "csv"})

    assert (published.status_code, imported.status_code, exported.status_code) == (
        expected,
        expected,
        expected,
    )
    assert not CatalogueEntry.objects.exists()


def test_the_api_imports_and_exports_files(api_client, management_admin):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + token_for(api_client, "mona"))

    imported = api_client.post(
        "/api/v1/catalogue/import/",
        {"file": SimpleUploadedFile("c.csv", csv_file([row()]))},
        format="multipart",
    )
    refused = api_client.post(
        "/api/v1/catalogue/import/",
        {"file": SimpleUploadedFile("c.csv", csv_file([row(code="CQ-9", hours="lots")]))},
        format="multipart",
    )
    exported = api_client.get("/api/v1/catalogue/export/", {"format": "xlsx"})
    bad_format = api_client.get("/api/v1/catalogue/export/", {"format": "pdf"})

    assert imported.status_code == 201
    assert imported.json() == {"rows": 1, "created": 1, "revised": 0, "unchanged": 0}
    assert refused.status_code == 400
    assert refused.json()["rows"][0]["row"] == 2
    assert refused.json()["rows"][0]["column"] == "hours"
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    assert exported.content.startswith(b"PK")
    assert bad_format.status_code == 400
    assert "format" in bad_format.json()


def test_anonymous_readers_are_throttled(db, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    client = APIClient()

    codes = [client.get("/api/v1/catalogue/").status_code for _ in range(3)]

    assert codes == [200, 200, 429]


# --- Pages ---------------------------------------------------------------------------------------


def test_the_catalogue_page_searches_and_shows_hours_credits_and_evidence(client):
    publish()
    cet4()

    page = client.get("/catalogue/", {"q": "园长", "kind": "vocational_qualification"})

    html = page.content.decode()
    assert page.status_code == 200
    assert PRINCIPAL in html
    assert "大学英语四级" not in html
    assert "120.0" in html
    assert "证书原件扫描件" in html
    assert 'href="/catalogue/CQ-ZG-001/"' in html


def test_the_catalogue_page_is_paginated(client):
    for n in range(25):
        publish(code=f"CQ-T-{n:02d}", name=f"培训{n:02d}", aliases=[], kind="training")

    first = client.get("/catalogue/", {"kind": "training"}).content.decode()
    second = client.get("/catalogue/", {"kind": "training", "page": 2}).content.decode()

    assert "培训19" in first
    assert "培训20" not in first
    assert "培训24" in second
    assert "kind=training&amp;page=2" in first


def test_the_catalogue_page_shows_a_new_version_at_once_though_its_results_are_cached(client):
    publish()
    before = client.get("/catalogue/", {"q": "园长"}).content.decode()

    publish(
        hours=Decimal("150"),
        evidence_required="证书及聘书扫描件",
        effective_from=datetime.date(2025, 3, 1),
        rationale="学时增加",
    )
    after = client.get("/catalogue/", {"q": "园长"}).content.decode()

    assert "证书原件扫描件" in before
    assert "150.0" in after
    assert "证书及聘书扫描件" in after
    assert "证书原件扫描件" not in after


def test_the_catalogue_page_shows_each_search_and_language_its_own_results(client):
    publish()
    cet4()

    principal = client.get("/catalogue/", {"q": "园长"}).content.decode()
    english_test = client.get("/catalogue/", {"q": "四级"}).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    in_english = client.get("/catalogue/", {"q": "园长"}).content.decode()

    assert PRINCIPAL in principal
    assert "大学英语四级" not in principal
    assert "大学英语四级" in english_test
    assert PRINCIPAL not in english_test
    assert "1 entry" in in_english
    assert "1 entry" not in principal


def test_an_entry_page_shows_its_version_history(client):
    publish()
    publish(hours=Decimal("160"), effective_from=datetime.date(2025, 3, 1), rationale="学时增加")

    page = client.get("/catalogue/CQ-ZG-001/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "学时增加" in html
    assert "2025-02-28" in html
    assert client.get("/catalogue/NOPE/").status_code == 404


def test_the_manage_page_is_for_the_management_administrator(client, learner, management_admin):
    anonymous = client.get("/catalogue/manage/")
    client.force_login(learner)
    forbidden = client.get("/catalogue/manage/")
    login_verified(client, management_admin)
    allowed = client.get("/catalogue/manage/")

    assert anonymous.status_code == 302
    assert forbidden.status_code == 403
    assert allowed.status_code == 200


def test_the_manage_page_publishes_a_version_and_shows_import_problems(client, management_admin):
    login_verified(client, management_admin)
    fields = publish_body(aliases="园长任职资格证\n园长证")

    published = client.post("/catalogue/manage/", {"action": "publish", **fields})
    refused = client.post(
        "/catalogue/manage/",
        {
            "action": "import",
            "file": SimpleUploadedFile("c.csv", csv_file([row(kind="diploma")])),
        },
    )
    exported = client.get("/catalogue/manage/export.csv")

    assert published.status_code == 302
    assert published["Location"] == "/catalogue/CQ-ZG-001/"
    assert CatalogueEntryVersion.objects.get().aliases == "园长任职资格证\n园长证"
    assert 'data-testid="row-errors"' in refused.content.decode()
    assert "diploma" in refused.content.decode()
    assert exported.status_code == 200
    assert PRINCIPAL in exported.content.decode("utf-8-sig")


def test_everyone_finds_the_catalogue_in_the_navigation(client, db):
    assert 'href="/catalogue/"' in client.get("/").content.decode()


def test_a_new_catalogue_entry_tells_each_matching_learner_once(
    management_admin, django_capture_on_commit_callbacks
):
    from accounts.models import Notification
    from tests.outcomes.factories import certificate_save
    from tests.people import learner_register, with_check

    shao = learner_register("邵涛涛", RESIDENT, "13912345678")
    wang = learner_register("王另一", with_check("50010619900101234"), "13911110000")
    saved = certificate_save(shao, title="育婴员五级证书")
    certificate_save(wang, title="电工证")  # matches nothing

    def publish(hours: str, effective_from: datetime.date) -> None:
        catalogue_entry_publish(
            code="JN-YY-5",
            name="育婴员",
            kind="vocational_qualification",
            issuing_body="重庆市人力资源和社会保障局",
            hours=Decimal(hours),
            credits=Decimal("2"),
            evidence_required="证书",
            effective_from=effective_from,
            approving_body="重庆学分银行管理中心",
            rationale="新增",
            actor=management_admin,
        )

    with django_capture_on_commit_callbacks(execute=True):
        publish("60", datetime.date(2024, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        publish("80", datetime.date(2025, 1, 1))  # a new version tells nobody again

    notices = Notification.objects.filter(kind=Notification.Kind.CATALOGUE_MATCH)
    assert [(n.recipient, n.params["outcome"]) for n in notices] == [(shao.holder, saved.title)]
    assert notices.get().link == f"/applications/new/{saved.pk}/"


def test_publishing_succeeds_when_the_broker_is_down_after_the_commit(
    client, management_admin, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from accreditation import tasks

    def broker_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.catalogue_match_notify_task, "delay", broker_down)
    login_verified(client, management_admin)

    with django_capture_on_commit_callbacks(execute=True):
        published = client.post("/catalogue/manage/", {"action": "publish", **publish_body()})

    assert published.status_code == 302
    assert CatalogueEntryVersion.objects.count() == 1
