"""Analysis frames, aggregation jobs and their results.

A wave's *analysis plan* (``WaveAnalysis``) says how it is weighted and whether its data
are synthetic. An ``AggregationJob`` builds the wave's analysis frame (Parquet beside the
job row), rakes weights and computes the standard indicator set; each published table is
an ``IndicatorTable`` row keyed by (wave, indicator, breakdown, weighting), rewritten only
when its content changed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, models
from django.utils.translation import gettext_lazy as _

from config.jobs import Job

__all__ = ["WaveAnalysis", "AggregationJob", "IndicatorTable"]


def default_margins() -> list[dict]:
    return []


class WaveAnalysis(models.Model):
    """How a wave is analysed: the official margins its respondents are weighted to."""

    programme_path = "wave__survey__programme"

    wave = models.OneToOneField("surveys.Wave", on_delete=models.CASCADE, related_name="analysis")
    margins = models.JSONField(
        default=default_margins,
        blank=True,
        help_text=(
            'Raking margins: a list of {"field": "country_residence", "scheme": "destination-4", '
            '"indicator": "OE_5T8", "time_period": "2019"} (the field\'s values grouped by the '
            "country-group scheme, targets from the official series)."
        ),
    )
    weight_bounds = models.JSONField(
        default=list, blank=True, help_text="[low, high] bounds of a weight relative to the mean, e.g. [0.2, 5]."
    )
    synthetic = models.BooleanField(default=False, help_text="The wave's responses are generated demo data.")
    notes = models.TextField(blank=True, help_text="Caveats shown beside every chart of the wave.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("wave analysis plan")

    def __str__(self) -> str:
        return f"{self.wave}"

    def clean(self) -> None:
        from analytics.services.plans import plan_problems

        problems = plan_problems(self)
        if problems:
            raise ValidationError(problems)


class AggregationJob(Job):
    """One build of a wave's frame and indicators; the frame file and its watermark live here."""

    class Trigger(models.TextChoices):
        DEMAND = "demand", _("On demand")
        NIGHTLY = "nightly", _("Nightly")
        CLOSED = "closed", _("Wave closed")

    programme_path = "wave__survey__programme"
    task_name = "analytics.aggregation_run"
    task_module = "analytics.tasks"
    # A dropped database connection is worth a retry; anything else is recorded on the row.
    transient_errors = (OperationalError,)

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="aggregation_jobs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.DEMAND)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    frame_file = models.CharField(max_length=300, blank=True, help_text="Parquet file under MEDIA_ROOT.")
    frame_rows = models.PositiveIntegerField(default=0)
    # Responses changed after this instant (and ids above watermark_id at it) are read
    # by the next incremental build; earlier ones are in frame_file.
    watermark = models.DateTimeField(null=True, blank=True)
    frame_mode = models.CharField(max_length=16, blank=True, help_text="full or incremental")
    inputs_hash = models.CharField(max_length=64, blank=True, help_text="Frame, plan and official data used.")
    tables_written = models.PositiveIntegerField(default=0)
    tables_unchanged = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True, help_text="Weighting convergence, skipped indicators, timings.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["wave", "-created_at"], name="aggjob_by_wave")]

    def __str__(self) -> str:
        return f"{self.wave} {self.status}"


class IndicatorTable(models.Model):
    """A computed table: cells with unweighted n, estimate and interval; published versions per audience."""

    programme_path = "wave__survey__programme"

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="indicator_tables")
    indicator = models.CharField(max_length=80)
    breakdown = models.CharField(max_length=80, help_text="'all' or the variable the rows are grouped by.")
    weighting = models.CharField(max_length=40, help_text="'none' or 'raked'.")
    kind = models.CharField(max_length=20, help_text="distribution, multi or mean")
    label = models.JSONField(default=dict, help_text="Indicator title per language.")
    cells = models.JSONField(default=list, help_text="Unsuppressed cells (never published as such).")
    published = models.JSONField(default=dict, help_text="{audience: cells and margins after suppression}.")
    meta = models.JSONField(default=dict, help_text="n, n_eff, deff, weighting report, sources, caveats.")
    content_hash = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    job = models.ForeignKey(AggregationJob, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "indicator", "breakdown", "weighting"], name="indicator_table_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.indicator} by {self.breakdown} ({self.weighting})"
