from django.db import models
from django.utils.translation import gettext_lazy as _


class Invitation(models.Model):
    """One respondent invited to one wave; the link's secret is stored only as a hash."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent")
        OPENED = "opened", _("Opened")
        PARTIAL = "partial", _("Partly answered")
        COMPLETE = "complete", _("Complete")
        BOUNCED = "bounced", _("Bounced")
        OPTED_OUT = "opted_out", _("Opted out")

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="invitations")
    respondent = models.ForeignKey("surveys.Respondent", on_delete=models.CASCADE, related_name="invitations")
    # The link's secret is HMAC(SECRET_KEY, token_nonce) (see surveys.tokens): the
    # sender can rebuild it for every reminder, a copy of the database alone cannot,
    # and only its hash is stored for the lookup.
    token_nonce = models.CharField(max_length=32, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    response = models.OneToOneField(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["wave", "id"]
        constraints = [models.UniqueConstraint(fields=["wave", "respondent"], name="invitation_unique_per_wave")]
        indexes = [models.Index(fields=["wave", "status"], name="invitation_wave_status")]

    def __str__(self) -> str:
        return f"{self.wave.slug}: {self.respondent.email}"


class OutgoingEmail(models.Model):
    """One message to send: the invitation (sequence 0) or its n-th reminder.

    The unique (invitation, sequence) row is what makes sending idempotent: a
    sender claims a pending row with a conditional UPDATE before it talks to the
    mail server and marks it sent afterwards, so two workers never send one row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="emails")
    sequence = models.PositiveSmallIntegerField(help_text="0: the invitation; 1, 2, ...: reminders.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["invitation", "sequence"], name="outgoingemail_unique")]
        indexes = [models.Index(fields=["status", "due_at"], name="outgoingemail_due")]

    def __str__(self) -> str:
        return f"{self.invitation} #{self.sequence} {self.status}"


class Quota(models.Model):
    """A cap on complete responses for one answer combination, e.g. country=DEU and programme=bolashak."""

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="quotas")
    name = models.CharField(max_length=200)
    conditions = models.JSONField(help_text='{"country_residence": "DEU", "programme": "bolashak"}')
    cap = models.PositiveIntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["wave", "name"]

    def __str__(self) -> str:
        return f"{self.wave.slug}: {self.name}"
