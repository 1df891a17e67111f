"""Official statistics: datasets, imports, vintages, observations, country groups.

Observations use the long format of `shared/data/official/README.md`: one column per
dimension (indicator, reference area, counterpart area, flow, period, sex, age,
education, specialty, scope), then the value and its attributes. The columns map
one to one onto SDMX-CSV, so an export to SDMX is a rename.

Official data is public and platform-wide: it belongs to no programme. Only the
country groupings an administrator uploads may belong to a programme.

An import (one file) writes one or more vintages of one dataset. The first value a
file gives for a key goes into the import's first vintage (rank 1); a second value
for the same key in the same file (two reports of the same figure) goes into a
vintage of rank 2, and so on, so both are kept, each with its status. A later file
that revises a figure writes a later vintage: nothing is overwritten.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "DIMENSIONS",
    "CountryGroupMember",
    "CountryGroupScheme",
    "Dataset",
    "Observation",
    "OfficialImport",
    "SourceType",
    "Vintage",
]

# The dimensions of an observation's key, in SDMX-CSV column order (without the vintage).
DIMENSIONS = (
    "indicator_code",
    "ref_area",
    "counterpart_area",
    "flow",
    "time_period",
    "sex",
    "age",
    "education",
    "specialty",
    "scope",
)


class SourceType(models.TextChoices):
    OFFICIAL_API = "official_api", _("Official API")
    OFFICIAL_PUBLICATION = "official_publication", _("Official publication")
    SECONDARY_PUBLICATION = "secondary_publication", _("Secondary publication (a paper quoting it)")
    SECONDARY_PRESS = "secondary_press", _("Secondary press (a news report quoting it)")


class Dataset(models.Model):
    """A named collection of series from one source (the seed file, a UIS extract, an SDMX dataflow)."""

    code = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    source_org = models.CharField(max_length=120, blank=True)
    source_type = models.CharField(max_length=32, choices=SourceType.choices, blank=True)
    source = models.TextField(blank=True, help_text=_("Citation or URL."))
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class OfficialImport(models.Model):
    """One file imported into a dataset: who, when, which format, and the per-row report.

    Only files that passed validation are recorded (a rejected file writes nothing);
    `status` says whether the import carried warnings (components that do not add up,
    conflicting values). `sha256` makes a second import of the same file a no-op.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        SDMX_CSV = "sdmx_csv", "SDMX-CSV"
        SDMX_ML = "sdmx_ml", "SDMX-ML"

    class Status(models.TextChoices):
        COMPLETE = "complete", _("Complete")
        WARNINGS = "warnings", _("Complete with warnings")

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(max_length=16, choices=Format.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    rows = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.dataset.code}: {self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


class Vintage(models.Model):
    """A set of values published together: one import, or the second value of a key within it."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="vintages")
    source_import = models.ForeignKey(OfficialImport, on_delete=models.CASCADE, related_name="vintages")
    rank = models.PositiveSmallIntegerField(
        default=1, help_text=_("1: the file's first value for a key; 2 and on: another value for the same key.")
    )
    label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-source_import_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["source_import", "rank"], name="vintage_rank_once_per_import")]

    def __str__(self) -> str:
        return self.label


class Observation(models.Model):
    """One value of one series at one period, in one vintage."""

    vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="observations")
    indicator_code = models.CharField(max_length=64)
    indicator_name = models.CharField(max_length=255, blank=True)
    ref_area = models.CharField(max_length=16)
    counterpart_area = models.CharField(max_length=16, default="_T")
    flow = models.CharField(max_length=8, default="_Z")
    time_period = models.CharField(max_length=16)
    sex = models.CharField(max_length=16, default="_T")
    age = models.CharField(max_length=32, default="_T")
    education = models.CharField(max_length=32, default="_T")
    specialty = models.CharField(max_length=32, default="_T")
    scope = models.CharField(max_length=32, default="_T")
    obs_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    unit_measure = models.CharField(max_length=16, default="PS")
    unit_mult = models.SmallIntegerField(default=0)
    obs_status = models.CharField(max_length=4, default="A")
    source_org = models.CharField(max_length=120, blank=True)
    source_type = models.CharField(max_length=32, choices=SourceType.choices, blank=True)
    source = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    row_number = models.PositiveIntegerField(null=True, blank=True, help_text=_("Line or row in the file."))
    flags = models.JSONField(default=list, blank=True, help_text=_("Validation warnings: [{code, message}]."))

    class Meta:
        ordering = ["indicator_code", "time_period", "pk"]
        constraints = [
            models.UniqueConstraint(fields=[*DIMENSIONS, "vintage"], name="observation_key_once_per_vintage"),
        ]
        indexes = [models.Index(fields=["indicator_code", "time_period"], name="obs_indicator_period")]

    def __str__(self) -> str:
        return f"{self.indicator_code} {self.ref_area} {self.counterpart_area} {self.time_period} = {self.obs_value}"


class CountryGroupScheme(models.Model):
    """A way of grouping countries (UN region, CIS / non-CIS, HDI tier, an uploaded list).

    A scheme is a partition: each country is in at most one of its groups. Schemes the
    platform ships have no programme; an administrator's upload may belong to one.
    """

    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    source = models.TextField(blank=True)
    description = models.TextField(blank=True)
    programme = models.ForeignKey(
        "accounts.Programme", null=True, blank=True, on_delete=models.CASCADE, related_name="country_group_schemes"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "slug"], name="group_scheme_slug_per_programme"),
            models.UniqueConstraint(
                fields=["slug"], condition=models.Q(programme__isnull=True), name="group_scheme_slug_platform"
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class CountryGroupMember(models.Model):
    """One country (ISO 3166-1 alpha-3) in one group of a scheme."""

    scheme = models.ForeignKey(CountryGroupScheme, on_delete=models.CASCADE, related_name="members")
    group_code = models.CharField(max_length=64)
    group_label = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=3)

    class Meta:
        ordering = ["scheme", "group_code", "country"]
        constraints = [models.UniqueConstraint(fields=["scheme", "country"], name="country_once_per_group_scheme")]

    def __str__(self) -> str:
        return f"{self.scheme.slug}: {self.country} -> {self.group_code}"
