"""The main navigation, which every page renders and each process keeps once it is made for a
set of entries, a page and a language (creditbank/navigation.py)."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

CURRENT_CATALOGUE = 'href="/catalogue/" aria-current="page"'


def test_the_navigation_marks_the_page_shown_and_speaks_the_page_s_language(client):
    catalogue = client.get("/catalogue/").content.decode()
    home = client.get("/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    in_english = client.get("/catalogue/").content.decode()

    assert catalogue.count(CURRENT_CATALOGUE) == 2  # the row and the folded menu
    assert CURRENT_CATALOGUE not in home
    assert 'aria-current="page">Catalogue</a>' in in_english
    assert ">Catalogue</a>" not in catalogue


def test_a_learner_s_navigation_is_not_shown_to_a_visitor_after_it(client, learner):
    client.force_login(learner)
    signed_in = client.get("/catalogue/").content.decode()
    client.logout()
    visitor = client.get("/catalogue/").content.decode()

    assert 'href="/file/"' in signed_in
    assert 'href="/file/"' not in visitor
    assert 'href="/register/"' in visitor
