"""Errors at API addresses answer in the API's JSON shape (found by the API fuzzer, issue 9)."""

import pytest


@pytest.mark.django_db
def test_an_api_address_no_route_matches_answers_a_json_404(api_client):
    # An identifier that is not a number matches no route: /api/v1/transfers/goals/<int:pk>/.
    response = api_client.delete("/api/v1/transfers/goals/%F0%9F%8F%BB/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_a_page_address_no_route_matches_still_gets_the_html_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_an_api_request_django_refuses_to_read_answers_a_json_400(api_client, learner):
    # More form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django refuses the body before the
    # view sees it; the API client still gets the API's shape, not an HTML page.
    api_client.force_authenticate(learner)
    body = "&".join(f"field{i}=x" for i in range(1500))

    response = api_client.post(
        "/api/v1/notifications/read/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request could not be read."}


@pytest.mark.django_db
def test_a_page_request_django_refuses_to_read_still_gets_the_html_400_page(client):
    body = "&".join(f"field{i}=x" for i in range(1500))

    response = client.post("/login/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- Deeply nested JSON (issue 17) ---------------------------------------------------------------


def deeply_nested(levels: int = 5000) -> str:
    return '{"name": ' + "[" * levels + "]" * levels + ', "password": "x"}'


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True], ids=["token endpoint", "outcome update"])
def test_deeply_nested_json_answers_a_field_keyed_400_not_a_500(
    api_client, shao, settings, signed_in
):
    # Thousands of levels used to overflow the parser's recursion (RecursionError: HTML 500).
    settings.DEBUG = False
    api_client.raise_request_exception = False
    if signed_in:
        api_client.force_authenticate(shao.holder)
        address = "/api/v1/outcomes/"
    else:
        address = "/api/v1/auth/token/"

    response = api_client.post(address, deeply_nested(), content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == ["name"]
    assert "nested" in response.json()["name"][0]


@pytest.mark.django_db
def test_a_deeply_nested_top_level_list_is_refused_as_a_whole(api_client, learner):
    api_client.raise_request_exception = False
    api_client.force_authenticate(learner)
    body = "[" * 5000 + "]" * 5000

    response = api_client.post("/api/v1/notifications/read/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


@pytest.mark.django_db
def test_json_nested_within_the_limit_still_reaches_the_view(api_client):
    body = '{"username": "nobody", "password": "x", "extra": ' + "[" * 60 + "]" * 60 + "}"

    response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert "name" not in response.json()
    assert "extra" not in response.json()
