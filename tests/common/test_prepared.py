"""A query whose SQL is built once per process answers each call for that call's values."""

from __future__ import annotations

import threading

import pytest
from django.db.models import F
from knox.models import AuthToken

from accounts.models import User
from common.prepared import PreparedQuery
from tests.accounts.factories import UserFactory


def _user(name: str) -> User:
    user = UserFactory(name=name)
    assert isinstance(user, User)
    return user


@pytest.mark.django_db
def test_each_call_gets_the_rows_of_its_own_values():
    ann, bob = _user("安"), _user("鲍")
    by_id = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-1)

    assert [u.name for u in by_id.list(pk=ann.pk)] == ["安"]
    assert [u.name for u in by_id.list(pk=bob.pk)] == ["鲍"]
    assert by_id.first(pk=ann.pk + bob.pk + 1000) is None


@pytest.mark.django_db
def test_related_objects_annotations_and_values_come_out_as_the_orm_gives_them():
    ann, bob = _user("安"), _user("鲍")
    _, key_ann = AuthToken.objects.create(user=ann)
    _, key_bob = AuthToken.objects.create(user=bob)
    tokens = PreparedQuery(
        lambda key: (
            AuthToken.objects.filter(token_key=key)
            .select_related("user")
            .annotate(holder=F("user__name"))
        ),
        key="stand-in",
    )
    names = PreparedQuery(
        lambda first, second: (
            User.objects.filter(pk__in=[first, second])
            .order_by("name")
            .values_list("name", flat=True)
        ),
        first=-1,
        second=-2,
    )

    for key, name in ((key_ann, "安"), (key_bob, "鲍")):
        (token,) = tokens.list(key=key[:15])
        assert (token.user.name, token.holder) == (name, name)
    assert names.list(first=bob.pk, second=ann.pk) == ["安", "鲍"]


@pytest.mark.django_db(transaction=True)
def test_another_thread_runs_it_on_its_own_connection():
    ann = _user("安")
    by_id = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-1)
    assert by_id.first(pk=ann.pk) is not None  # built here
    seen: list[str] = []

    def look() -> None:
        from django.db import connection

        try:
            seen.extend(u.name for u in by_id.list(pk=ann.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()

    assert seen == ["安"]


@pytest.mark.django_db
def test_a_stand_in_the_query_changes_is_refused():
    contains = PreparedQuery(lambda text: User.objects.filter(name__icontains=text), text="x")

    with pytest.raises(ValueError, match="stand-ins not among"):
        contains.list(text="安")
