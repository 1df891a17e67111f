from django.conf import settings
from django.db import OperationalError, models

from config.jobs import Job


class InvitationSendJob(Job):
    """One "send invitations" of a wave: its run creates an invitation and the letters for each
    panel member not invited yet (surveys.services.invitations.wave_invite), then wakes the sender.

    Running it twice is harmless: wave_invite skips members already invited.
    """

    programme_path = "wave__survey__programme"
    task_name = "surveys.invitation_send_run"
    task_module = "surveys.tasks"
    # A dropped database connection is worth a retry; anything else is recorded on the row.
    transient_errors = (OperationalError,)

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="invitation_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.PositiveIntegerField(default=0, help_text="Panel members when the run started.")
    invited = models.PositiveIntegerField(default=0, help_text="Invitations this run created.")
    already_invited = models.PositiveIntegerField(default=0)
    opted_out = models.PositiveIntegerField(default=0, help_text="Members skipped: they opted out of all mail.")
    emails = models.PositiveIntegerField(default=0, help_text="Letters scheduled (invitations and reminders).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["wave", "-created_at"], name="invitesend_by_wave")]

    def __str__(self) -> str:
        return f"{self.wave} {self.status}"
