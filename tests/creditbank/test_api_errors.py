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
