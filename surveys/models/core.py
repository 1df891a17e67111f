import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..instrument import Instrument, instrument_for


def content_digest(content: Any) -> str:
    """A stable hash of JSON content (key order and spacing do not matter)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _in_language(texts: dict[str, str] | None, language: str | None, fallback: str) -> str:
    """The text in `language` (default: the active one), else `fallback`."""
    code = (language or get_language() or "").replace("_", "-").split("-")[0]
    return (texts or {}).get(code) or fallback


class Survey(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    titles = models.JSONField(
        default=dict,
        blank=True,
        help_text='The title per language, {"kk": "...", "ru": "...", "en": "..."}: the published '
        "version's form_title::<language> settings, copied on publishing.",
    )
    description = models.TextField(blank=True)
    programme = models.ForeignKey(
        "accounts.Programme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="surveys",
        help_text="Administrators of this programme manage the survey; none: superusers only.",
    )
    direct_responses = models.BooleanField(
        default=True,
        help_text="Anyone signed in may answer through the API without naming a wave. Off: answers come only "
        "through a wave (its public link or an invitation), under the wave's rules.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title or self.slug

    def title_in(self, language: str | None = None) -> str:
        return _in_language(self.titles, language, self.title or self.slug)

    @property
    def local_title(self) -> str:
        """The title in the active language (what pages, letters and exports show)."""
        return self.title_in()

    def current_version(self) -> "SurveyVersion | None":
        return self.versions.filter(status=SurveyVersion.Status.PUBLISHED).order_by("-number").first()


class SurveyVersion(models.Model):
    """One version of a survey's form. Published versions never change."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=100, blank=True, help_text="The XLSForm settings 'version'.")
    title = models.CharField(max_length=200)
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, editable=False)
    languages = models.JSONField(default=list)
    default_language = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    source_filename = models.CharField(max_length=255, blank=True)
    import_notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["survey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="surveyversion_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.survey.slug} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.content_hash = content_digest(self.content)
        if self.pk:
            stored = SurveyVersion.objects.filter(pk=self.pk).values("status", "content_hash").first()
            if stored and stored["status"] == self.Status.PUBLISHED and stored["content_hash"] != self.content_hash:
                raise ValidationError("A published version cannot be changed; publish a new version instead.")
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def instrument(self) -> Instrument:
        return instrument_for(self.content_hash, self.content)


def default_reminder_days() -> list[int]:
    return [3, 7, 14]


class Wave(models.Model):
    """One fielding of a published version, to a panel or by public link."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="waves")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="waves")
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    names = models.JSONField(
        default=dict,
        blank=True,
        help_text='The name per language, {"kk": "...", "ru": "...", "en": "..."}; the name where one is missing.',
    )
    opens_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField(null=True, blank=True)
    is_public = models.BooleanField(default=False, help_text="Anyone with the link may answer.")
    panel = models.ForeignKey(
        "surveys.Panel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waves",
        help_text="Invited respondents; none for a public-link-only wave.",
    )
    reminder_days = models.JSONField(
        default=default_reminder_days, blank=True, help_text="Days after the invitation to remind, e.g. [3, 7, 14]."
    )
    email_templates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per language: {"kk": {"subject": "...", "body": "..."}}; the platform\'s text where missing.',
    )
    prefill_fields = models.JSONField(
        default=list, blank=True, help_text="Fields carried forward from the respondent's last complete response."
    )
    send_rate_per_minute = models.PositiveIntegerField(default=600, help_text="Throttle for invitation mail.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at"]

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str | None = None) -> str:
        return _in_language(self.names, language, self.name)

    @property
    def local_name(self) -> str:
        """The name in the active language (what staff screens and exports show)."""
        return self.name_in()

    def clean(self) -> None:
        if self.version_id and self.survey_id and self.version.survey_id != self.survey_id:
            raise ValidationError({"version": "The version belongs to another survey."})
        if self.version_id and not self.version.is_published:
            raise ValidationError({"version": "Only a published version can be fielded."})
        if self.panel_id and self.survey_id and self.panel.programme_id != self.survey.programme_id:
            raise ValidationError({"panel": "The panel belongs to another programme than the survey."})
        if self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "A wave must close after it opens."})

    def is_open(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.opens_at <= at and (self.closes_at is None or at < self.closes_at)


class Response(models.Model):
    """A respondent's answers to one version, identified by a client-made instance_id."""

    class Status(models.TextChoices):
        PARTIAL = "partial", _("Partial")
        COMPLETE = "complete", _("Complete")

    # survey and respondent need no index of their own: the unique (survey,
    # instance_id) constraint and the (respondent, -created_at) index lead with
    # them, and every index is one more write per submission.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses", db_index=False)
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.PROTECT, related_name="responses")
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        db_index=False,
    )
    instance_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=Status.choices)
    answers = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64)
    language = models.CharField(max_length=16, blank=True)
    # Where the respondent stopped (a page index) and, for answers given through a
    # link rather than an account, the hash of the secret that reopens them.
    last_page = models.PositiveIntegerField(default=0)
    resume_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The wave's data version (``WaveDataVersion``) that last changed this response's answers,
    # status or wave: set by a database trigger (migration 0010), never by Python.
    data_version = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Duplicate resends are stopped here, not by a check-then-insert
            # that two concurrent requests could both pass.
            models.UniqueConstraint(fields=["survey", "instance_id"], name="response_unique_instance_per_survey"),
        ]
        indexes = [
            models.Index(fields=["respondent", "-created_at"], name="response_by_respondent"),
            # A wave's responses changed since a time (incremental analysis frames), and its
            # complete responses counted without reading the rows (PostgreSQL covering index).
            models.Index(fields=["wave", "updated_at"], include=["status", "id"], name="response_wave_changes"),
            # A wave's responses changed after a data version (the staff summaries' increments).
            models.Index(fields=["wave", "data_version"], include=["status"], name="response_wave_data_version"),
            # A wave's responses table, newest first: its page read from the index, not by
            # sorting every response of the wave.
            models.Index(fields=["wave", "-created_at", "-id"], name="response_wave_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.survey.slug} {self.instance_id}"


class ResponseRemoval(models.Model):
    """A complete response that left its wave: deleted, no longer complete, or moved.

    Written by database triggers (migration 0006), so every path counts: the admin, cascades,
    queryset updates and raw SQL alike. An incremental analysis frame compares the latest
    entry of its wave with the one its previous build saw and reads the wave in full when
    they differ. Only ids are kept (no foreign keys: the entries outlive a deleted wave).
    """

    wave_id = models.BigIntegerField(db_index=True)
    response_id = models.BigIntegerField()
    removed_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"response {self.response_id} left wave {self.wave_id}"


class WaveDataVersion(models.Model):
    """A wave's data version: a number that grows with every change to its responses' answers.

    Kept by database triggers (migration 0010) on every path (services, the admin, cascades,
    queryset updates, COPY and raw SQL alike). Each writing transaction takes the next number
    once per statement and wave and writes it on the responses it changes (``Response.data_version``); the
    row stays locked until that transaction commits, so the numbers are handed out in commit
    order: once a reader sees `version` = V, every response written at V or before is
    committed. ``resets`` grows when a response that was complete changes or leaves the wave
    (what was counted from it no longer holds), so summaries kept from complete responses can
    be brought up to date by adding the responses written after their version, unless
    ``resets`` moved. The row also counts the wave's complete and partial responses, so pages
    that show those numbers read one row instead of counting every response. Read by
    ``surveys.selectors_summaries``.
    """

    wave_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)
    resets = models.BigIntegerField(default=0)
    # The wave's responses by status, counted as they change (the counts pages show).
    complete = models.BigIntegerField(default=0)
    partial = models.BigIntegerField(default=0)
    # The statement that took `version` last (PostgreSQL: its transaction and start time): its
    # further rows reuse the number, so a COPY or a bulk insert takes one, not one per row.
    last_xid = models.BigIntegerField(null=True, blank=True)
    last_statement = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"wave {self.wave_id} data version {self.version}"
