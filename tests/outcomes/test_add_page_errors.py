"""'Add results' names every problem of one submission at once (tester's walk at 390 px)."""

import pytest

from outcomes.models import LearningOutcome

pytestmark = pytest.mark.django_db


def test_one_save_flags_the_kinds_required_fields_beside_the_missing_name_and_date(client, shao):
    client.force_login(shao.holder)

    response = client.post("/outcomes/add/", {"kind": "training"})

    errors = response.context["form"].errors
    assert {"title", "achieved_on", "provider", "started_on", "hours"} <= set(errors)
    page = response.content.decode()
    assert page.count("此类学习成果须填写此项。") >= 3 * 2  # beside each field and in the summary
    assert not LearningOutcome.objects.exists()


def test_an_overlong_hours_figure_says_what_fits_and_hides_no_other_problem(client, shao):
    client.force_login(shao.holder)

    response = client.post("/outcomes/add/", {"kind": "training", "hours": "12345678"})

    errors = response.context["form"].errors
    assert {"title", "achieved_on", "provider", "started_on"} <= set(errors)
    assert errors["hours"] == ["学时最多 6 位整数、1 位小数。"]
    assert "确认总共不超过" not in response.content.decode()
    assert not LearningOutcome.objects.exists()
