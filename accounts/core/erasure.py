"""The marker the closure's erasers write in place of free text a row must keep non-empty, and
how a page shows it (in the reader's language). Here, low in ``accounts``, so that models can
show it too; ``accounts.services`` names it for the apps above."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# The same in every layer (see ``accounts.rights.services``, the closure).
ERASED = "[erased]"
# What a page shows in its place.
ERASED_SHOWN = _("(erased when the learner's account was closed)")


def erased_shown(text: str) -> str:
    """``text`` as a page shows it: the marker ``ERASED`` said in words."""
    return str(ERASED_SHOWN) if text == ERASED else text
