"""Centre staff's pages: opening an account at the centre, finding a learner."""

from django.urls import path

from accounts.ledger.staff_views import centre_account_open, learner_search

urlpatterns = [
    path("centre/accounts/new/", centre_account_open, name="centre-account-open"),
    path("centre/learners/", learner_search, name="learner-search"),
]
