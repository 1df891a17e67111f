"""Home institutions, what they ask for, and the proposals matching makes."""

from __future__ import annotations

from django.conf import settings
from django.db import OperationalError, models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.jobs import Job

from .registry import Mode


class Institution(models.Model):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        COMPANY = "company", _("Company")
        AGENCY = "agency", _("Government agency")
        OTHER = "other", _("Other")

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.UNIVERSITY)
    region = models.CharField(max_length=6, help_text="ISO 3166-2:KZ")
    city = models.CharField(max_length=120, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="institutions")
    programmes = models.ManyToManyField(
        "accounts.Programme",
        blank=True,
        related_name="institutions",
        help_text="Programmes the institution takes part in: its requests may belong to these only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExpertiseRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FILLED = "filled", _("Filled")
        CLOSED = "closed", _("Closed")

    class Format(models.TextChoices):
        REMOTE = "remote", _("Remote")
        ONSITE = "onsite", _("On site")
        EITHER = "either", _("Remote or on site")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="requests")
    programme = models.ForeignKey(
        "accounts.Programme",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expertise_requests",
        help_text="Administrators of this programme oversee the request; none: superusers only.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    topic = models.TextField(max_length=4000)
    mode = models.CharField(max_length=24, choices=Mode.choices)
    field_of_study = models.CharField(max_length=3, blank=True)
    skills = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    region = models.CharField(max_length=6, blank=True, help_text="ISO 3166-2:KZ; the institution's by default")
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.EITHER)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    experts_needed = models.PositiveSmallIntegerField(default=1)
    hours_per_expert = models.PositiveSmallIntegerField(default=8, help_text="What one engagement takes")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "mode"], name="request_open_mode")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(experts_needed__gte=1, experts_needed__lte=50), name="request_experts_needed_range"
            ),
            models.CheckConstraint(condition=models.Q(hours_per_expert__gte=1), name="request_hours_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (
            self.programme_id
            and self.institution_id
            and not self.institution.programmes.filter(pk=self.programme_id).exists()
        ):
            raise ValidationError({"programme": "The institution does not take part in this programme."})


class MatchingSettings(models.Model):
    """Per-programme weights of the score components and the offer expiry (the default has no programme)."""

    programme = models.OneToOneField(
        "accounts.Programme",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="matching_settings",
        verbose_name=_("Programme"),
    )
    weights = models.JSONField(default=dict, blank=True)
    skills_first = models.BooleanField(
        _("Skills first"),
        default=True,
        help_text=_("Experts who have every requested skill rank above all others, whatever the weights."),
    )
    offer_days = models.PositiveSmallIntegerField(
        _("Days to answer an offer"), default=7, help_text=_("An offer not answered by then expires.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["programme"], condition=models.Q(programme__isnull=True), name="matching_one_default"
            )
        ]
        verbose_name = _("matching settings")
        verbose_name_plural = _("matching settings")

    def __str__(self) -> str:
        return _("Matching settings: %(programme)s") % {"programme": self.programme or _("default")}


class MatchRun(Job):
    """One matching job (the nightly batch or an administrator's run): a row claimed, run, reported.

    It stands on the common job row (claim, lease renewed by its worker, sweep) and keeps the
    words its API and pages have always shown for the statuses."""

    class Kind(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly batch")
        MANUAL = "manual", _("Run by an administrator")

    class Status(models.TextChoices):
        QUEUED = "created", _("Created")
        RUNNING = "running", _("Running")
        # A run (запуск, masculine in Russian), beside Создан: not the feminine Завершена of other statuses.
        COMPLETE = "complete", pgettext_lazy("matching run status", "Complete")
        ERROR = "error", _("Error")

    task_name = "diaspora.matching_run"
    task_module = "diaspora.tasks"
    # A dropped database connection is worth a retry; anything else is recorded on the row.
    transient_errors = (OperationalError,)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=64, unique=True, help_text="Idempotency key: nightly-YYYY-MM-DD, ...")
    programme = models.ForeignKey("accounts.Programme", null=True, blank=True, on_delete=models.SET_NULL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key


class Match(models.Model):
    """A proposal pairing one person's offer with one request, and its life from proposal to feedback."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    request = models.ForeignKey(ExpertiseRequest, on_delete=models.CASCADE, related_name="matches")
    person = models.ForeignKey("diaspora.Person", on_delete=models.CASCADE, related_name="matches")
    offer = models.ForeignKey("diaspora.Offer", null=True, on_delete=models.SET_NULL, related_name="matches")
    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    score = models.FloatField()
    rank = models.PositiveIntegerField(default=1)
    # The score's parts (unweighted, 0..1), the weights used and the facts behind them:
    # the explanation is rebuilt from these in the reader's language.
    components = models.JSONField(default=dict)
    weights = models.JSONField(default=dict)
    details = models.JSONField(default=dict)
    load = models.PositiveSmallIntegerField(default=1, help_text="What the engagement takes from the offer")
    created_at = models.DateTimeField(auto_now_add=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=300, blank=True)
    institution_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    institution_feedback = models.TextField(max_length=2000, blank=True)
    expert_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    expert_feedback = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["request", "rank", "id"]
        constraints = [
            # A person is asked about a request once: a re-run or a cascade skips whoever was asked.
            models.UniqueConstraint(fields=["request", "person"], name="match_once_per_request"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="match_status_expiry"),
            models.Index(fields=["offer", "status"], name="match_offer_status"),
        ]

    def __str__(self) -> str:
        return f"{self.request} ↔ {self.person} ({self.status})"
