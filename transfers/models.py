"""Programmes and courses that institutions publish, and the learning goals learners set.

Conversion rules, transfer applications and certificates join these as the credit transfer
flow is built.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution, LearningAccount, User
from accreditation.models import CatalogueEntry


class BilingualName(models.Model):
    """Names are data in Chinese; an English name, where the institution gives one, is shown
    to readers of the English portal."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def display_name(self) -> str:
        if self.name_en and translation.get_language() == "en":
            return self.name_en
        return self.name


class Programme(BilingualName):
    """A degree programme (a major) or a vocational certificate an institution offers."""

    class Kind(models.TextChoices):
        DEGREE = "degree", _("Degree programme")
        VOCATIONAL_CERTIFICATE = "vocational_certificate", _("Vocational certificate")

    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="programmes",
    )
    code = models.CharField(_("code"), max_length=30)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    level = models.CharField(_("level"), max_length=50, blank=True)
    credits_required = models.DecimalField(
        _("credits required"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["institution__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="programme_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.institution})"


class Course(BilingualName):
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="courses"
    )
    code = models.CharField(_("code"), max_length=30)
    credits = models.DecimalField(_("credits"), max_digits=4, decimal_places=1)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["programme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="course_code_unique"),
            models.CheckConstraint(condition=Q(credits__gt=0), name="course_credits_positive"),
        ]

    def __str__(self) -> str:
        return self.display_name


class ConversionRule(models.Model):
    """A catalogue entry counts for a course of a programme, with credits.

    Each row is one version of the rule for its (entry, course) pair. Versions are never edited:
    a change is a new version, and the previous one gets its ``effective_to``; a transfer
    decision points at the version it used."""

    entry = models.ForeignKey(
        CatalogueEntry,
        verbose_name=_("catalogue entry"),
        on_delete=models.PROTECT,
        related_name="conversion_rules",
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="conversion_rules"
    )
    version = models.PositiveIntegerField(_("version"))
    credits = models.DecimalField(_("credits"), max_digits=4, decimal_places=1)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    approving_body = models.CharField(_("approved by"), max_length=200)
    rationale = models.TextField(_("rationale"))
    created_by = models.ForeignKey(
        User, verbose_name=_("entered by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("entered at"), default=timezone.now)

    class Meta:
        verbose_name = _("conversion rule")
        verbose_name_plural = _("conversion rules")
        ordering = ["entry__code", "course__code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "course", "version"], name="conversion_rule_version_once"
            ),
            models.CheckConstraint(condition=Q(credits__gt=0), name="conversion_credits_positive"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="conversion_period_in_order",
            ),
        ]
        indexes = [models.Index(fields=["course", "entry"], name="conversion_course_entry")]

    def __str__(self) -> str:
        return f"{self.entry.code} -> {self.course} v{self.version}"


class LearningGoal(models.Model):
    """A programme the learner aims at; the learning path compares it with their outcomes."""

    account = models.ForeignKey(
        LearningAccount, on_delete=models.PROTECT, related_name="learning_goals"
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="goals"
    )
    created_at = models.DateTimeField(_("set on"), default=timezone.now)

    class Meta:
        verbose_name = _("learning goal")
        verbose_name_plural = _("learning goals")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "programme"], name="goal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.programme}"
