"""Issue 22, "four kinds of identifier": the rule of docs/decisions/0014 held over the live
schema. Each resource has one identifier: the integer ``id`` of a record the bank keeps, or, for
the four things people read off paper or type, the printed code (a learning account's
``account_number``, a certificate's ``serial``, a catalogue entry's ``code``, a centre's
``code``). It names the resource in its URL, under the same name, and in every body that refers
to it."""

import datetime

import pytest
from django.utils import timezone

from accounts.rights.models import CentreVisit
from tests.security.fuzzing import openapi_document

pytestmark = pytest.mark.django_db

# A path parameter names what it holds: a resource's identifier (its field's name), a second
# integer id in the same path as ``<resource>_id``, or a value that is no identifier.
IDENTIFIERS = {"id", "account_number", "serial", "code"}
NOT_IDENTIFIERS = {
    "year",  # a calendar year is named by itself
    "file_format",  # a representation, not a resource
    "token",  # a secret download link the API hands out (a data export's ``download``)
}

# The identifier's type of each resource a request body may refer to by its name.
REFERENCES = {
    "outcome": "integer",
    "application": "integer",
    "programme": "integer",
    "course": "integer",
    "transfer": "integer",
    "reviewer": "integer",
    "subscription": "integer",
    "institution": "integer",
    "centre": "string",
    "entry": "string",
    "claimed_entry": "string",
    "account_number": "string",
    "serial": "string",
}

# Fields named after a resource that hold its display name, not its identifier: kept for the
# clients that read them (docs/decisions/0014); the identifier is beside them, or in the URL.
# Centres and users' centres show a name too, a string as the code is: listed for the reader.
DISPLAY_NAMES = {
    ("Conversion", "institution"),
    ("Conversion", "programme"),
    ("Conversion", "course"),
    ("ConversionRule", "institution"),
    ("ConversionRule", "programme"),
    ("ConversionRule", "course"),
    ("ConversionRulePublishRequest", "institution"),
    ("Invitation", "institution"),
    ("LearningGoal", "institution"),
    ("Programme", "institution"),
    ("Transfer", "institution"),
    ("User", "institution"),
    ("User", "centre"),
    ("StaffAccess", "centre"),
}


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def resolved(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_path_parameters_are_named_after_the_identifier_they_hold(document):
    for path, method, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "path":
                continue
            name = parameter["name"]
            assert name in IDENTIFIERS | NOT_IDENTIFIERS or name.endswith("_id"), (
                f"{method.upper()} {path}: {{{name}}}"
            )


def test_a_resource_read_at_its_url_shows_the_identifier_its_url_uses(document):
    checked = 0
    for path, method, operation in operations(document):
        if method != "get" or not path.endswith("}/"):
            continue
        name = path.rstrip("/").rsplit("{", 1)[-1].rstrip("}")
        answer = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if name in NOT_IDENTIFIERS or answer is None:
            continue
        properties = resolved(document, answer["schema"]).get("properties", {})
        shown = {name, "id"} if name.endswith("_id") else {name}
        if name.endswith("_id"):
            shown.add(name.removesuffix("_id"))
        assert shown & set(properties), f"GET {path} shows none of {shown}"
        checked += 1
    assert checked >= 8


def test_a_body_refers_to_a_resource_by_its_identifier(document):
    checked = set()
    for component, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field not in REFERENCES or (component, field) in DISPLAY_NAMES:
                continue
            prop = resolved(document, prop)
            if prop.get("type") in (None, "object"):
                continue  # the resource itself, nested
            assert prop["type"] == REFERENCES[field], f"{component}.{field}: {prop['type']}"
            checked.add(field)
    assert {"outcome", "centre", "programme", "course", "entry"} <= checked
    # The exceptions are real fields, and only those.
    for component, field in DISPLAY_NAMES:
        assert field in document["components"]["schemas"][component]["properties"]


def test_a_centre_is_named_by_the_code_the_public_list_gives(api_client, closure_world, centre):
    listed = api_client.get("/api/v1/centres/").json()
    code = next(c["code"] for c in listed if c["name"] == centre.name)
    api_client.force_authenticate(closure_world["account"].holder)
    day = (timezone.localdate() + datetime.timedelta(days=4)).isoformat()

    booked = api_client.post(
        "/api/v1/accounts/me/visits/",
        {"centre": code, "visit_on": day, "purpose": "copy"},
        format="json",
    )
    # A client written before the rule sent the centre's database id: still read.
    older = api_client.post(
        "/api/v1/accounts/me/visits/",
        {"centre": centre.pk, "visit_on": day, "purpose": "review"},
        format="json",
    )
    unknown = api_client.post(
        "/api/v1/accounts/me/visits/",
        {"centre": "NOPE", "visit_on": day, "purpose": "copy"},
        format="json",
    )

    assert booked.status_code == 201, booked.json()
    assert booked.json()["centre"] == code
    assert older.status_code == 201, older.json()
    assert unknown.status_code == 400
    assert list(unknown.json()) == ["centre"]
    assert CentreVisit.objects.filter(centre=centre).count() == 2
