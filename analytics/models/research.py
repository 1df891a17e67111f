"""Anonymised research exports: variable roles, requests, and the export jobs that build the files.

A researcher's ``ResearchRequest`` names a survey, its waves, the variables, the formats,
the label language and the licence; its dry run (a ``ResearchExport`` of kind ``dry_run``)
shows the reviewing administrator what disclosure control would do. On approval an export
job builds one zip; its download link serves the requester only, until it expires.
``VariableRole`` rows hold an administrator's decisions on a survey's variables (a role
differing from the default read from the instrument, free text marked as reviewed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import OperationalError, models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.jobs import Job

__all__ = ["VariableRole", "ResearchRequest", "ResearchExport"]


class VariableRole(models.Model):
    class Role(models.TextChoices):
        DIRECT = "direct", _("Direct identifier")
        QUASI = "quasi", _("Quasi-identifier")
        SENSITIVE = "sensitive", _("Sensitive")
        FREE_TEXT = "free_text", _("Free text")
        OTHER = "other", _("Other")

    class Hierarchy(models.TextChoices):
        AGE = "age", _("Age: 5-year, then 10-year bands")
        YEAR = "year", _("Year: 5-year, then 10-year bands")
        DATE = "date", _("Date: month, then year")
        COUNTRY = "country", _("Country: world sub-region, region, human-development tier")
        FIELD = "field", _("Field of study: broad ISCED-F field")
        CATEGORY = "category", _("Category: value or suppressed")
        TEXT = "text", _("Text: value or suppressed")
        INCOME = "income", _("Income: top-coded")
        NONE = "none", _("None")

    programme_path = "survey__programme"

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="variable_roles")
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=16, choices=Role.choices)
    hierarchy = models.CharField(max_length=16, choices=Hierarchy.choices, default=Hierarchy.NONE)
    reviewed = models.BooleanField(
        default=False, help_text="Free text read by an administrator and found free of identifying details."
    )
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "name"], name="variable_role_unique")]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.name} {self.role}"


class ResearchRequest(models.Model):
    class Licence(models.TextChoices):
        PUBLIC = "public", _("Public use (k = 5)")
        LICENSED = "licensed", _("Licensed researchers (k = 3)")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    programme_path = "survey__programme"

    survey = models.ForeignKey("surveys.Survey", on_delete=models.PROTECT, related_name="research_requests")
    waves = models.ManyToManyField("surveys.Wave", related_name="research_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="research_requests"
    )
    variables = models.JSONField(default=list, help_text="Variables asked for (field names).")
    formats = models.JSONField(default=list, help_text="csv, xlsx, sav, dta, parquet.")
    language = models.CharField(max_length=8, default="en", help_text="Language of labels.")
    purpose = models.TextField()
    institution = models.CharField(max_length=200)
    licence = models.CharField(max_length=16, choices=Licence.choices, default=Licence.LICENSED)
    terms_accepted_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    approved_variables = models.JSONField(default=list, blank=True, help_text="What the reviewer approved.")
    k = models.PositiveSmallIntegerField(default=3)
    l_diversity = models.PositiveSmallIntegerField(default=2)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.survey} ({self.status})"

    @property
    def programme_id(self) -> int | None:
        return self.survey.programme_id


class ResearchExport(Job):
    """One build of a request's files (or its dry run): a zip, a report, a link that expires."""

    class Kind(models.TextChoices):
        DRY_RUN = "dry_run", _("Dry run")
        EXPORT = "export", pgettext_lazy("a research file", "Export")

    programme_path = "request__survey__programme"
    task_name = "analytics.research_export_run"
    task_module = "analytics.tasks"
    transient_errors = (OperationalError,)

    request = models.ForeignKey(ResearchRequest, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EXPORT)
    params_hash = models.CharField(max_length=64, db_index=True, help_text="Parameters and data it was built from.")
    file = models.FileField(upload_to="research/%Y/%m/", blank=True, max_length=300)
    row_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True, help_text="The disclosure-control report.")
    expires_at = models.DateTimeField(null=True, blank=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.status}"
