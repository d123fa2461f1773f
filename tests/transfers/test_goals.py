import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from accounts.models import BusinessTransaction
from tests.worlds import Kept, module_given, module_kept
from transfers.models import LearningGoal, Programme

pytestmark = pytest.mark.django_db


@pytest.fixture
def shao(demo, shao):
    """邵涛涛 registers after the demo data is loaded."""
    return shao


def demo_load() -> None:
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture(scope="module")
def demo_kept(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Kept[None]]:
    """The demo data, loaded once for the module (each test's writes are rolled back)."""
    yield from module_kept(django_db_blocker, tmp_path_factory, demo_load)


@pytest.fixture
def demo(db, demo_kept, settings) -> None:
    module_given(demo_kept, settings)


def preschool() -> Programme:
    return Programme.objects.get(code="PRE-ZK")


def test_the_demo_preschool_major_has_the_courses_of_the_source_texts(api_client, demo):
    programmes = api_client.get("/api/v1/transfers/programmes/").json()["results"]

    major = next(p for p in programmes if p["code"] == "PRE-ZK")
    names = {course["name_en"] for course in major["courses"]}
    assert major["institution"] == "重庆开放大学"
    assert "Teaching and research work management" in names
    assert "Children's game activity design and organisation" in names


def test_a_learner_sets_a_goal_on_the_file_page_and_sees_it(client, shao):
    client.force_login(shao.holder)

    response = client.post("/file/goals/", {"programme": preschool().pk}, follow=True)

    page = response.content.decode()
    assert "学前教育（专科）" in page
    assert "重庆开放大学" in page
    assert LearningGoal.objects.filter(account=shao).count() == 1
    assert shao.transactions.filter(kind=BusinessTransaction.Kind.GOAL_SET).exists()


def test_the_same_goal_twice_is_explained_not_duplicated(client, shao):
    client.force_login(shao.holder)
    client.post("/file/goals/", {"programme": preschool().pk})

    response = client.post("/file/goals/", {"programme": preschool().pk}, follow=True)

    assert "已是您的学习目标" in response.content.decode()
    assert LearningGoal.objects.count() == 1


def test_goals_over_the_api_in_english(api_client, shao):
    api_client.force_authenticate(shao.holder)

    created = api_client.post("/api/v1/transfers/goals/", {"programme": preschool().pk})
    listed = api_client.get("/api/v1/transfers/goals/").json()
    bad = api_client.post("/api/v1/transfers/goals/", {"programme": 999999})
    removed = api_client.delete(f"/api/v1/transfers/goals/{created.json()['id']}/")

    assert created.status_code == 201
    assert listed[0]["programme_name"] == "Preschool Education (associate degree)"
    assert bad.status_code == 400
    assert "programme" in bad.json()
    assert removed.status_code == 204
    assert not LearningGoal.objects.exists()


def test_a_learner_cannot_remove_someone_elses_goal(api_client, shao, learner):
    goal = LearningGoal.objects.create(account=shao, programme=preschool())
    api_client.force_authenticate(learner)

    assert api_client.delete(f"/api/v1/transfers/goals/{goal.pk}/").status_code == 404
    assert LearningGoal.objects.filter(pk=goal.pk).exists()


def test_an_unpublished_programme_cannot_be_a_goal(api_client, shao):
    Programme.objects.filter(code="PRE-ZK").update(is_published=False)
    api_client.force_authenticate(shao.holder)

    response = api_client.post("/api/v1/transfers/goals/", {"programme": preschool().pk})

    assert response.status_code == 400
