from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]


class Respondent(models.Model):
    """Someone who can be invited: one address, shared by every panel that lists it.

    What a programme knows about the person (the name as given, language, ids from
    its systems, attributes) is kept on its panel membership, so one programme's
    import never changes what another holds. Only the address, the link to an
    account and the person's own opt-out live here.
    """

    email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="respondents"
    )
    # Before memberships held them, imports merged every programme's name and ids here; where a
    # person was on several programmes' panels those merged values are kept for superusers only.
    legacy_details = models.JSONField(
        default=dict, blank=True, help_text="Details earlier imports merged from several programmes (superusers only)."
    )
    # One-click opt-out: honoured for every wave from then on.
    opted_out_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="respondent_unique_email")]

    def __str__(self) -> str:
        return self.email


class Panel(models.Model):
    """A list of respondents (a cohort, a programme's alumni) that waves invite."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    programme = models.ForeignKey(
        "accounts.Programme", null=True, blank=True, on_delete=models.PROTECT, related_name="panels"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class PanelMember(models.Model):
    """A respondent on one panel, with what that panel's programme holds about them."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="members")
    respondent = models.ForeignKey(Respondent, on_delete=models.CASCADE, related_name="memberships")
    name = models.CharField(max_length=200, blank=True, help_text="The name as this panel's import gave it.")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, default="kk")
    external_ids = models.JSONField(default=dict, blank=True, help_text='e.g. {"bolashak": "B-2014-0031"}')
    attributes = models.JSONField(default=dict, blank=True, help_text="Columns of the import, for breakdowns.")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["panel", "respondent"], name="panelmember_unique")]

    def __str__(self) -> str:
        return f"{self.panel.slug}: {self.respondent.email}"


class PanelImport(models.Model):
    """One upload of respondents into a panel, with its per-row report."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, help_text='[{"row": 7, "status": "skipped", "reason": "bad email"}]')

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.panel.slug} {self.filename}"
