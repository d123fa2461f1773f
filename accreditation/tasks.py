from celery import shared_task
from django.db import OperationalError

from .calendar import calendar_load
from .calendar_watch import calendar_unpublished_notify, provisional_deadlines_refresh
from .catalogue.notices import catalogue_match_notify
from .deadlines import deadline_sweep


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def deadline_sweep_task() -> dict[str, int]:
    """Periodic (beat, every 15 minutes): reminders before the due date, escalations after it.
    Retried while the database is unreachable; a retry sends nothing twice (see the service)."""
    result = deadline_sweep()
    return {"reminded": result.reminded, "escalated": result.escalated}


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def catalogue_match_notify_task(version_id: int) -> int:
    """After a catalogue entry is published: tell learners whose saved outcomes it matches.
    Safe to run twice: each notice is keyed by outcome and entry."""
    return catalogue_match_notify(version_id=version_id)


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def calendar_load_task() -> int:
    """Periodic (beat, daily): take every year the installed chinesecalendar package holds that
    was not entered by hand, so a newer package's new year is published the day it is deployed
    (due dates recomputed, the sweep re-armed, the people whose due date moved told). Run again,
    it changes nothing."""
    return calendar_load()


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def calendar_unpublished_notify_task() -> dict[str, int]:
    """Periodic (beat, daily): while this year's or, from 1 October, next year's working-day
    arrangement is not entered, bring the provisional due dates up to date and tell the
    management admins once a week. Safe to retry (notices are keyed by year and ISO week)."""
    refreshed = provisional_deadlines_refresh()
    return {"refreshed": refreshed, "notified": calendar_unpublished_notify()}
