"""Programme participants, their work obligations and the episodes that show time served.

A programme's obligation rules are versioned: a participant keeps the version of their cohort.
What a participation has served is derived (``diaspora.obligation_time``) from its episodes,
deferrals, exemptions and waivers, by ``diaspora.services.obligations``; every status change is
kept as a history row.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, models
from django.utils.translation import gettext_lazy as _

from config.jobs import Job

from ..obligation_time import (
    BREACHED,
    DEFERRED,
    EXEMPT,
    FULFILLED,
    IN_SERVICE,
    PENDING_RETURN,
    TIER_ADMINISTRATIVE,
    TIER_DOCUMENT,
    TIER_EMPLOYER,
    TIER_SELF_REPORT,
    WAIVED,
)


class ObligationStatus(models.TextChoices):
    PENDING_RETURN = PENDING_RETURN, _("Pending return")
    IN_SERVICE = IN_SERVICE, _("In service")
    FULFILLED = FULFILLED, _("Fulfilled")
    BREACHED = BREACHED, _("Breached")
    DEFERRED = DEFERRED, _("Deferred")
    EXEMPT = EXEMPT, _("Exempt")
    WAIVED = WAIVED, _("Waived")


class ObligationRule(models.Model):
    """One version of a programme's work obligation, for the cohorts it names."""

    programme = models.ForeignKey("accounts.Programme", on_delete=models.CASCADE, related_name="obligation_rules")
    version = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    adopted_on = models.DateField(help_text="Region codes are read as they stood on this date.")
    cohorts_from = models.PositiveSmallIntegerField(help_text="First cohort (year) under this version.")
    cohorts_to = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Last cohort; empty: open.")
    months_required = models.PositiveSmallIntegerField(help_text="Months of qualifying work owed.")
    window_months = models.PositiveSmallIntegerField(help_text="Months from the obligation's start to serve them.")
    grace_months = models.PositiveSmallIntegerField(default=6, help_text="Months to come back before it is a risk.")
    countries = models.JSONField(default=list, help_text="ISO 3166-1 alpha-3 codes where work counts.")
    regions = models.JSONField(
        default=list, blank=True, help_text="ISO 3166-2:KZ codes where work counts; empty: anywhere in the countries."
    )
    specialty_required = models.BooleanField(default=False, help_text="Only work in the specialty counts.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "programme"

    class Meta:
        ordering = ["programme", "-version"]
        constraints = [models.UniqueConstraint(fields=["programme", "version"], name="obligation_rule_version")]

    def __str__(self) -> str:
        return f"{self.programme} v{self.version}: {self.name}"

    def clean(self) -> None:
        from ..services.obligations import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)


class Participation(models.Model):
    """A person's place in a programme: their cohort, study abroad and the obligation it brings."""

    programme = models.ForeignKey("accounts.Programme", on_delete=models.CASCADE, related_name="participations")
    rule = models.ForeignKey(ObligationRule, on_delete=models.PROTECT, related_name="participations")
    cohort = models.PositiveSmallIntegerField(help_text="Year of the award.")
    external_id = models.CharField(max_length=64, help_text="The programme's own id for the participant.")
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    host_country = models.CharField(max_length=3, blank=True, help_text="ISO 3166-1 alpha-3")
    host_institution = models.CharField(max_length=200, blank=True)
    field_of_study = models.CharField(max_length=4, blank=True, help_text="ISCED-F 2013 code")
    graduation_date = models.DateField()
    obligation_start = models.DateField(help_text="Normally the graduation date.")
    person = models.ForeignKey(
        "diaspora.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="participations"
    )
    respondent = models.ForeignKey(
        "surveys.Respondent", null=True, blank=True, on_delete=models.SET_NULL, related_name="participations"
    )
    link_candidates = models.JSONField(
        default=list, blank=True, help_text="Several registry people or respondents matched: an administrator picks."
    )
    synthetic = models.BooleanField(default=False, help_text="Generated demo data.")
    # Derived (services.obligations.participation_recompute); never edited.
    status = models.CharField(max_length=16, choices=ObligationStatus.choices, default=ObligationStatus.PENDING_RETURN)
    status_reason = models.CharField(max_length=300, blank=True)
    months_served = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    months_owed = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    window_end = models.DateField(null=True, blank=True)
    deadline = models.DateField(null=True, blank=True, help_text="Last day qualifying work can start and still do.")
    returned_on = models.DateField(null=True, blank=True)
    fulfilled_on = models.DateField(null=True, blank=True, help_text="The day the months required were reached.")
    basis_tier = models.PositiveSmallIntegerField(default=0, help_text="Strongest verification behind the status.")
    last_verified_on = models.DateField(null=True, blank=True)
    at_risk = models.BooleanField(default=False)
    risks = models.JSONField(default=list, blank=True)
    # The reason and risks as [template, values] pairs, shown in the reader's language.
    explanation = models.JSONField(default=dict, blank=True)
    computed_on = models.DateField(null=True, blank=True)
    computed_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "programme"

    class Meta:
        ordering = ["programme", "cohort", "full_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "external_id"], name="participation_external_id"),
        ]
        indexes = [
            models.Index(fields=["programme", "cohort", "status"], name="participation_listing"),
            models.Index(fields=["programme", "at_risk"], name="participation_at_risk"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.programme}, {self.cohort})"

    @property
    def reason_text(self) -> str:
        from ..obligation_time import translated

        pair = (self.explanation or {}).get("reason")
        return translated(pair) if pair else self.status_reason

    @property
    def risk_texts(self) -> list[str]:
        from ..obligation_time import translated

        pairs = (self.explanation or {}).get("risks")
        return [translated(pair) for pair in pairs] if pairs is not None else list(self.risks)


class Episode(models.Model):
    """A period of residence or work, with where it comes from (and so how far it is verified)."""

    class Kind(models.TextChoices):
        EMPLOYMENT = "employment", _("Employment")
        RESIDENCE = "residence", _("Residence")

    class Source(models.TextChoices):
        SURVEY = "survey", _("Survey self-report")
        PARTICIPANT = "participant", _("The participant")
        EMPLOYER = "employer", _("Employer confirmation")
        ADMINISTRATIVE = "administrative", _("Administrative record")

    class Review(models.TextChoices):
        NONE = "", _("No document")
        PENDING = "pending", _("Document awaiting review")
        ACCEPTED = "accepted", _("Document accepted")
        REJECTED = "rejected", _("Document rejected")

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="episodes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Last day; empty while it lasts.")
    country = models.CharField(max_length=3, help_text="ISO 3166-1 alpha-3")
    region = models.CharField(max_length=6, blank=True, help_text="ISO 3166-2:KZ")
    employer = models.CharField(max_length=200, blank=True)
    occupation = models.CharField(max_length=1, blank=True, help_text="ISCO-08 major group")
    specialty_related = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    document = models.FileField(upload_to="obligations/documents/%Y/%m/", blank=True)
    review = models.CharField(max_length=8, choices=Review.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes"
    )
    conflict = models.CharField(max_length=300, blank=True, help_text="A contradiction found on import.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    programme_path = "participation__programme"

    class Meta:
        ordering = ["participation", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")), name="episode_ends_after"
            ),
            # One self-reported episode per survey response (a resubmission updates it).
            models.UniqueConstraint(fields=["participation", "response", "kind"], name="episode_per_response"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}–{self.end or '…'} {self.country} {self.region}".strip()

    @property
    def tier(self) -> int:
        return tier_of(self.source, self.review)


def tier_of(source: str, review: str) -> int:
    """How far an episode is verified, from where it comes (a document counts once accepted)."""
    if source == Episode.Source.ADMINISTRATIVE:
        return TIER_ADMINISTRATIVE
    if source == Episode.Source.EMPLOYER:
        return TIER_EMPLOYER
    if source == Episode.Source.PARTICIPANT and review == Episode.Review.ACCEPTED:
        return TIER_DOCUMENT
    return TIER_SELF_REPORT


class ObligationPause(models.Model):
    """A deferral (the clock stops and the window lengthens), an exemption or a waiver, with its evidence."""

    class Kind(models.TextChoices):
        DEFERRAL = "deferral", _("Deferral")
        EXEMPTION = "exemption", _("Exemption")
        WAIVER = "waiver", _("Waiver")

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="pauses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Deferrals end; exemptions and waivers may not.")
    reason = models.CharField(max_length=300)
    evidence = models.FileField(upload_to="obligations/evidence/%Y/%m/", blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "participation__programme"

    class Meta:
        ordering = ["participation", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")), name="pause_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.start}"


class StatusChange(models.Model):
    """One change of a participation's status (written only when the status changes)."""

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="history")
    old_status = models.CharField(max_length=16, choices=ObligationStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=ObligationStatus.choices)
    reason = models.CharField(max_length=300)
    explanation = models.JSONField(default=list, blank=True, help_text="The reason as a [template, values] pair.")
    months_served = models.DecimalField(max_digits=6, decimal_places=2)
    changed_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "participation__programme"

    class Meta:
        ordering = ["participation", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.old_status or '—'} → {self.new_status} on {self.changed_on}"

    @property
    def reason_text(self) -> str:
        from ..obligation_time import translated

        return translated(self.explanation) if self.explanation else self.reason


class ObligationImport(models.Model):
    """One upload of a programme's list (participants or employment records) and its per-row report.

    A file with any bad row changes nothing: the report says which rows and why.
    """

    class Kind(models.TextChoices):
        PARTICIPANTS = "participants", _("Participants")
        EPISODES = "episodes", _("Employment records")

    programme = models.ForeignKey("accounts.Programme", on_delete=models.CASCADE, related_name="obligation_imports")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    applied = models.BooleanField(default=False, help_text="False: refused, nothing was changed.")
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, help_text='[{"row": 7, "status": "error", "reason": "..."}]')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "programme"

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename}"


class ObligationDigest(models.Model):
    """The weekly digest of one programme, sent once (the row is the claim)."""

    programme = models.ForeignKey("accounts.Programme", on_delete=models.CASCADE, related_name="+")
    week_of = models.DateField(help_text="The Monday of the week it covers up to.")
    sent_to = models.JSONField(default=list)
    changes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "programme"

    class Meta:
        ordering = ["-week_of"]
        constraints = [models.UniqueConstraint(fields=["programme", "week_of"], name="obligation_digest_once")]

    def __str__(self) -> str:
        return f"{self.programme} digest {self.week_of}"


class EmployerConfirmation(models.Model):
    """A signed link sent to an employer to confirm (or correct) one episode, without an account.

    Only the hash of the link's secret is stored; the link opens this episode only, until it
    expires or is used once.
    """

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        CORRECTED = "corrected", _("Corrected")

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="confirmations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    corrections = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    programme_path = "episode__participation__programme"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"confirmation of {self.episode} by {self.email}"


class ObligationRecompute(Job):
    """One recompute of every participation's standing (the nightly one, or one asked for): a job
    row with a lease, so that a worker killed mid-way is taken over and the night is not lost."""

    task_name = "diaspora.obligations_recompute_run"
    task_module = "diaspora.tasks"
    transient_errors = (OperationalError,)

    key = models.CharField(max_length=64, unique=True, help_text="nightly-YYYY-MM-DD, or one asked for.")
    on = models.DateField(help_text="The day standings are computed as of.")
    result = models.JSONField(default=dict, blank=True, help_text="Participations seen, changed, history rows.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} {self.status}"
